//! What folio writes itself besides the chapters: the generated cover, the images of formulas, the other
//! pages (contents, NCX, OPF) finished through the cache, and the stylesheets' package paths.

use std::collections::HashSet;
use std::io;

use crate::config::BookConfig;
use crate::diagnostic::Diagnostic;
use crate::document::{Asset, Bytes};
use crate::load::BookSources;
use crate::render::RenderedChapter;
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
    cached_image(cache, cache::key(&[b"generated cover", &shown]), || text.render())
}

/// An image folio makes (a cover), from the cache when it holds one under `key`, else made and stored.
/// The key starts with folio's version and sources, fonts and dependencies included, so a changed
/// design never reuses old images.
pub(crate) fn cached_image(
    cache: Option<&cache::Cache>,
    key: cache::Key,
    make: impl FnOnce() -> Result<Vec<u8>, String>,
) -> Result<Vec<u8>, String> {
    let made = cache::cached(cache, || key, || make().map(|image| ((), Bytes::from(image))));
    made.map(|((), image)| image.into_vec())
}

/// The images of formulas the chapters drew (`--target kindle`), each once, in the order first used.
pub(crate) fn formula_images(chapters: &[&RenderedChapter]) -> Vec<Asset> {
    let mut packaged = HashSet::new();
    chapters
        .iter()
        .flat_map(|c| &c.formula_images)
        .filter(|formula| packaged.insert(formula.name.as_str()))
        .map(|formula| Asset { href: formula.href(), media_type: "image/png", data: formula.png.clone() })
        .collect()
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
    fn images_folio_makes_are_taken_from_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let cache = cache::Cache::new(dir.path(), 1);
        let drawn = cached_image(Some(&cache), 7, || Ok(b"drawn".to_vec())).unwrap();
        assert_eq!(drawn, b"drawn");
        // What the cache holds is used as it is, without drawing again.
        let again = cached_image(Some(&cache), 7, || panic!("drawn again")).unwrap();
        assert_eq!(again, b"drawn");
        // A failure is reported and nothing is stored.
        assert_eq!(cached_image(Some(&cache), 8, || Err("no".into())), Err("no".to_string()));
        assert_eq!(cached_image(Some(&cache), 8, || Ok(b"now".to_vec())).unwrap(), b"now");
        assert_eq!(cached_image(None, 7, || Ok(b"uncached".to_vec())).unwrap(), b"uncached");
    }
}
