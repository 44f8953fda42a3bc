//! What folio writes itself besides the chapters: the generated cover, the images of formulas, the other
//! pages (contents, NCX, OPF) finished through the cache, and the stylesheets' package paths.

use std::collections::HashSet;
use std::io;

use rayon::prelude::*;

use crate::config::BookConfig;
use crate::diagnostic::Diagnostic;
use crate::document::{Asset, Bytes};
use crate::load::BookSources;
use crate::render::RenderedChapter;
use crate::render::math_image::{self, FormulaImage};
use crate::target::Target;
use crate::{cache, cover, package, text};

/// Package paths of the stylesheets, the default first; known before any is read.
pub(crate) fn stylesheet_hrefs(config: &BookConfig) -> Vec<String> {
    let default = config.default_stylesheet.then(|| "css/folio.css".to_string());
    default
        .into_iter()
        .chain(config.stylesheets.iter().map(|css| format!("css/{}", text::asset_name(&css.value))))
        .collect()
}

/// Checks and compresses a generated page (collecting its characters for fonts when asked), or takes the
/// result from the cache.
pub(crate) fn finish_generated(
    cache: Option<&cache::Cache>,
    path: &str,
    data: &[u8],
    modified: i64,
    characters: bool,
) -> io::Result<crate::document::Finished> {
    let text = std::str::from_utf8(data).map_err(io::Error::other)?;
    let key = || cache::key(&[path.as_bytes(), data, &modified.to_le_bytes(), &[u8::from(characters)]]);
    let finish = || package::finish_document(path, text, modified, characters).map(|finished| ((), finished));
    cache::cached(cache, key, finish).map(|((), finished)| finished)
}

/// Where the generated cover goes, relative to the package root.
pub(crate) const GENERATED_COVER: &str = "images/cover.png";

/// Draws the generated cover, or takes it from the cache, keyed by the text it shows.
pub(crate) fn draw_cover(cache: Option<&cache::Cache>, text: &cover::CoverText) -> Result<Vec<u8>, String> {
    let shown = postcard::to_stdvec(text).map_err(|e| e.to_string())?;
    cached_image(cache, || cache::key(&[b"generated cover", &shown]), || text.render())
}

/// An image folio makes (a cover), from the cache when it holds one under `key`, else made and stored;
/// `key` is computed only when there is a cache. The key starts with folio's version and sources, fonts
/// and dependencies included, so a changed design never reuses old images.
pub(crate) fn cached_image(
    cache: Option<&cache::Cache>,
    key: impl FnOnce() -> cache::Key,
    make: impl FnOnce() -> Result<Vec<u8>, String>,
) -> Result<Vec<u8>, String> {
    let made = cache::cached(cache, key, || make().map(|image| ((), Bytes::from(image))));
    made.map(|((), image)| image.into_vec())
}

/// The images of formulas the chapters drew (`--target kobo` and `kindle`) as PNGs, each once, in the
/// order first used: drawn in parallel, or taken from the cache. One that cannot be drawn is an error
/// where it is first used, as its pages show it already.
pub(crate) fn formula_images(
    chapters: &[&RenderedChapter],
    cache: Option<&cache::Cache>,
    target: Target,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Asset> {
    let mut packaged = HashSet::new();
    let distinct: Vec<&FormulaImage> =
        chapters.iter().flat_map(|c| &c.formula_images).filter(|f| packaged.insert(f.name.as_str())).collect();
    let drawn: Vec<Result<Asset, Diagnostic>> = distinct
        .par_iter()
        .map(|formula| {
            let svg = formula.svg.as_bytes();
            let draw = || {
                cover::rasterize_svg_within(svg, (math_image::MAX_SIDE, math_image::MAX_SIDE), math_image::PNG_SCALE)
            };
            match cached_image(cache, || cache::key(&[b"formula image", svg]), draw) {
                Ok(data) => Ok(Asset { href: formula.href(), media_type: "image/png", data }),
                Err(e) => Err(formula
                    .location
                    .error(format!("formula cannot be drawn as an image for {}: {e}", target.reader()))),
            }
        })
        .collect();
    let mut images = Vec::with_capacity(drawn.len());
    for image in drawn {
        match image {
            Ok(image) => images.push(image),
            Err(error) => diags.push(error),
        }
    }
    images
}

/// A field the generated cover cannot show, at its key in book.toml.
pub(crate) fn unsettable_warning(book: &BookSources, unsettable: &cover::Unsettable) -> Diagnostic {
    let ranges = &book.config.cover_text_ranges;
    let (name, range) = match unsettable.field {
        cover::Field::Title => ("title", Some(&ranges.title)),
        cover::Field::Subtitle => ("subtitle", ranges.subtitle.as_ref()),
        cover::Field::Authors => ("authors", ranges.authors.as_ref()),
        cover::Field::Publisher => ("publisher", ranges.publisher.as_ref()),
    };
    let mut missing: Vec<String> = unsettable.missing.iter().take(5).map(|c| format!("'{c}'")).collect();
    if unsettable.missing.len() > 5 {
        missing.push("…".into());
    }
    let consequence = match unsettable.field {
        cover::Field::Title => "so the book gets no generated cover".to_string(),
        _ => format!("so the generated cover leaves out the {name}"),
    };
    let message = format!("the {name} has characters folio's cover fonts lack ({}), {consequence}", missing.join(", "));
    let source = &book.config_source;
    let warning = match range {
        Some(range) => source.warning(range.clone(), message),
        None => Diagnostic::warning(&source.path, message),
    };
    warning.with_hint("give a cover image with `cover = \"cover.png\"` under [epub], or set `cover = false`")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_drawn_once_each_at_their_size_in_ems() {
        let at = crate::diagnostic::Location { path: "a.md".into(), position: None };
        let drawn = |tex: &str| math_image::draw(tex, false, at.clone()).unwrap();
        let (square, sum) = (drawn("x^2 + y_1"), drawn(r"\sum_i i"));
        let chapter = |formulas: Vec<FormulaImage>| RenderedChapter { formula_images: formulas, ..Default::default() };
        let one = chapter(vec![square.image.clone(), sum.image.clone()]);
        let two = chapter(vec![square.image.clone()]);
        let mut diags = Vec::new();
        let images = formula_images(&[&one, &two], None, Target::Kindle, &mut diags);
        assert!(diags.is_empty(), "{diags:?}");
        let hrefs: Vec<&str> = images.iter().map(|i| i.href.as_str()).collect();
        assert_eq!(hrefs, [square.image.href(), sum.image.href()]);
        let png = &images[0].data;
        assert!(png.starts_with(b"\x89PNG") && images[0].media_type == "image/png");
        let number = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as f32;
        let img = square.img("x^2 + y_1");
        let style = img.split("style=\"").nth(1).unwrap();
        let ems = |key: &str| -> f32 { style.split(key).nth(1).unwrap().split("em").next().unwrap().parse().unwrap() };
        assert!((number(16) / ems("width: ") - math_image::PIXELS_PER_EM).abs() < 2.0, "{} px for {style}", number(16));
        assert!(
            (number(20) / ems("height: ") - math_image::PIXELS_PER_EM).abs() < 2.0,
            "{} px for {style}",
            number(20)
        );
        // An SVG that cannot be drawn is an error at the formula.
        let broken = chapter(vec![FormulaImage { svg: "<svg".into(), ..square.image.clone() }]);
        assert!(formula_images(&[&broken], None, Target::Kindle, &mut diags).is_empty());
        assert_eq!(diags.len(), 1);
        assert!(
            diags[0].to_string().starts_with("a.md: error: formula cannot be drawn as an image for Kindle: "),
            "{}",
            diags[0]
        );
    }

    #[test]
    fn images_folio_makes_are_taken_from_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let cache = cache::Cache::new(dir.path(), 1);
        let drawn = cached_image(Some(&cache), || 7, || Ok(b"drawn".to_vec())).unwrap();
        assert_eq!(drawn, b"drawn");
        // What the cache holds is used as it is, without drawing again.
        let again = cached_image(Some(&cache), || 7, || panic!("drawn again")).unwrap();
        assert_eq!(again, b"drawn");
        // A failure is reported and nothing is stored.
        assert_eq!(cached_image(Some(&cache), || 8, || Err("no".into())), Err("no".to_string()));
        assert_eq!(cached_image(Some(&cache), || 8, || Ok(b"now".to_vec())).unwrap(), b"now");
        // Without a cache, nothing is hashed.
        let uncached = cached_image(None, || panic!("a key made without a cache"), || Ok(b"uncached".to_vec()));
        assert_eq!(uncached.unwrap(), b"uncached");
    }
}
