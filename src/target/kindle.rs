//! What an EPUB for Send to Kindle needs beyond a valid EPUB 3, from Amazon's Kindle Publishing
//! Guidelines (KPG, version 2019.2 onwards; checked 2026-11) and from the books Send to Kindle is
//! known to refuse:
//!
//! - a raster cover (JPEG or PNG) named in the OPF both ways, `properties="cover-image"` and
//!   `<meta name="cover">` (KPG 4.2), and no HTML cover page besides it, which "may result in the cover
//!   appearing twice in the book or cause the book to fail conversion" (KPG 4.2);
//! - a logical table of contents, NCX included, at most two levels deep: "Kindle devices and
//!   applications support two levels of nesting" (KPG 5.2); deeper entries move up to the second level;
//! - `<guide>` references for the contents and the start of the text (KPG 5.3), which Kindle reads
//!   besides the landmarks;
//! - one `dc:title`: Send to Kindle fails with E999 on a package with a second `dc:title` for the
//!   subtitle (reported 2026, grimmory-tools/grimmory#2323); the title page still shows the subtitle;
//! - headings aligned explicitly, since Kindle justifies all text by default (KPG 10.3.1), and left and
//!   right margins in percent rather than em, so they do not grow with the font size (KPG 10.3.5);
//! - images Kindle shows: not WebP (KPG 10.4.1 lists GIF, BMP, JPEG, PNG and SVG), and no inline SVG,
//!   which Enhanced Typesetting does not support (KPG 10.4.1, 10.4.11);
//! - formulas as PNG images, since KPG does not document MathML, and Enhanced Typesetting takes at most
//!   25 SVG images (KPG 10.4.11); drawn in `render::math_image`, styled here.
//!
//! Already true of every folio book, checked against the same guidelines: an XML declaration with the
//! encoding on every document, a `dc:language`, no scripts, no forms, notes as `<aside epub:type="footnote">`
//! with links both ways and the number first (KPG 10.3.12), `text-indent` set on paragraphs, no
//! colours or fonts forced on body text (KPG 10.3.2), negative indents balanced by padding (KPG 6.2).

use std::path::Path;

use crate::diagnostic::{Diagnostic, Location};
use crate::document::Asset;

/// Levels of the table of contents Kindle shows.
pub const TOC_LEVELS: usize = 2;

/// Added after the default stylesheet in a Kindle book.
const STYLESHEET: &str = "
/* ---- Send to Kindle ---------------------------------------------------------
   Kindle justifies all text by default, headings included (KPG 10.3.1), and
   wants left and right margins in percent, which do not grow with the font
   size (KPG 10.3.5). */
h1, h2, h3, h4, h5, h6 { text-align: left; }
.titlepage h1, .part h1 { text-align: center; }
blockquote { margin-left: 5%; padding-left: 3%; }
ul, ol { padding-left: 6%; }
dd { margin-left: 5%; }
ol.toc ol { padding-left: 5%; }
li.bibliography-entry { padding-left: 6%; text-indent: -6%; }
/* Formulas drawn as images: a display formula on a line of its own, shrunk
   to the page when it is wider. */
img.math-display { display: block; margin: 0.5em auto; max-width: 100%; height: auto; }
";

/// The default stylesheet with Kindle's additions; right-to-left books align headings to the right.
pub fn stylesheet(base: &str, right_to_left: bool) -> String {
    let additions = if right_to_left {
        STYLESHEET.replace("text-align: left", "text-align: right")
    } else {
        STYLESHEET.to_string()
    };
    format!("{base}{additions}")
}

/// Why a Kindle book has no raster cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoRasterCover {
    /// The cover the book keeps (an SVG, GIF or WebP image), if it has one.
    pub kept: Option<Asset>,
    /// What is wrong, for the warning: "the cover is an SVG image", "the book has no cover".
    pub reason: String,
}

/// The cover for Send to Kindle: a JPEG or PNG cover as it is; an SVG cover as the PNG `rasterize`
/// makes of it (`Ok` with the PNG); else why there is none (`Err`, the book keeps what it had). A book
/// without a cover at this point asked for none (`cover = false`), as folio generates one otherwise.
pub fn raster_cover(
    given: Option<Asset>,
    rasterize: impl FnOnce(&[u8]) -> Result<Vec<u8>, String>,
) -> Result<Option<Asset>, NoRasterCover> {
    let png: Result<Vec<u8>, String> = match &given {
        Some(cover) if matches!(cover.media_type, "image/jpeg" | "image/png") => return Ok(given),
        Some(cover) if cover.media_type == "image/svg+xml" => {
            rasterize(&cover.data).map_err(|e| format!("folio cannot render the SVG cover: {e}"))
        }
        Some(cover) => Err(format!("the cover is {}", image_kind(cover.media_type))),
        None => Err("the book has no cover".to_string()),
    };
    match png {
        Ok(data) => Ok(Some(Asset { href: "images/cover.png".into(), media_type: "image/png", data })),
        Err(reason) => Err(NoRasterCover { kept: given, reason }),
    }
}

/// Warns about what Send to Kindle would not show and returns the cover the Kindle book gets, an SVG
/// cover turned into a PNG by `rasterize`:
/// - a cover that is neither JPEG nor PNG nor a renderable SVG, or none, at the `cover` key of book.toml
///   (`cover_key`);
/// - each image of a type Kindle does not show, where it is first used (`images`: type, place);
/// - each chapter with inline SVG (`svg_chapters`: the author's files).
pub fn check<'a>(
    cover: Option<Asset>,
    rasterize: impl FnOnce(&[u8]) -> Result<Vec<u8>, String>,
    cover_key: &Location,
    images: impl Iterator<Item = (&'a str, &'a Location)>,
    svg_chapters: impl Iterator<Item = &'a Path>,
) -> (Option<Asset>, Vec<Diagnostic>) {
    let mut warnings = Vec::new();
    let cover = raster_cover(cover, rasterize).unwrap_or_else(|missing| {
        let message = format!("Send to Kindle wants a JPEG or PNG cover, and {}", missing.reason);
        warnings.push(cover_key.warning(message).with_hint("set `cover` in [epub] to a JPEG or PNG image"));
        missing.kept
    });
    for (media_type, at) in images {
        if let Some(problem) = unshown_image(media_type) {
            warnings.push(at.warning(problem).with_hint("convert the image to PNG or JPEG"));
        }
    }
    for chapter in svg_chapters {
        warnings.push(
            Diagnostic::warning(chapter, "Kindle's Enhanced Typesetting does not show inline SVG")
                .with_hint("use an image file (PNG or JPEG) instead"),
        );
    }
    (cover, warnings)
}

/// "a WebP image", "a GIF image".
fn image_kind(media_type: &str) -> String {
    let kind = media_type.trim_start_matches("image/").trim_end_matches("+xml").to_ascii_uppercase();
    format!("a {} image", if kind == "WEBP" { "WebP" } else { &kind })
}

/// Why Kindle would not show an image of this type, if it would not.
fn unshown_image(media_type: &str) -> Option<String> {
    (media_type == "image/webp").then(|| format!("Kindle does not show {}", image_kind(media_type)))
}

/// The `<guide>` type Kindle reads for a landmark of the book (KPG 5.3), if it reads one.
pub fn guide_type(landmark: &str) -> Option<&'static str> {
    match landmark {
        "toc" => Some("toc"),
        "bodymatter" => Some("text"),
        "titlepage" => Some("title-page"),
        "bibliography" => Some("bibliography"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asset(media_type: &'static str) -> Asset {
        Asset { href: "images/cover.x".into(), media_type, data: vec![1, 2, 3] }
    }

    fn rasterize(svg: &[u8]) -> Result<Vec<u8>, String> {
        if svg == [1, 2, 3] { Ok(b"png".to_vec()) } else { Err("not an SVG".into()) }
    }

    #[test]
    fn raster_covers_stay_svg_covers_are_rasterised_and_others_are_reported() {
        assert_eq!(raster_cover(Some(asset("image/jpeg")), rasterize), Ok(Some(asset("image/jpeg"))));
        assert_eq!(raster_cover(Some(asset("image/png")), rasterize), Ok(Some(asset("image/png"))));
        let png = Asset { href: "images/cover.png".into(), media_type: "image/png", data: b"png".to_vec() };
        assert_eq!(raster_cover(Some(asset("image/svg+xml")), rasterize), Ok(Some(png)));
        let broken = Asset { data: vec![0], ..asset("image/svg+xml") };
        let svg = raster_cover(Some(broken.clone()), rasterize).unwrap_err();
        assert_eq!((svg.kept, svg.reason.as_str()), (Some(broken), "folio cannot render the SVG cover: not an SVG"));
        assert_eq!(raster_cover(Some(asset("image/webp")), rasterize).unwrap_err().reason, "the cover is a WebP image");
        assert_eq!(
            raster_cover(None, rasterize).unwrap_err(),
            NoRasterCover { kept: None, reason: "the book has no cover".into() }
        );
    }

    #[test]
    fn warnings_name_the_place_to_fix() {
        let at = |path: &str| Location { path: path.into(), position: None };
        let (cover, warnings) = check(
            Some(asset("image/gif")),
            rasterize,
            &at("book.toml"),
            [("image/webp", &at("a.md")), ("image/png", &at("b.md"))].into_iter(),
            [Path::new("c.md")].into_iter(),
        );
        assert_eq!(cover, Some(asset("image/gif")), "the GIF cover stays: Kindle shows it inside the book");
        let shown: Vec<String> = warnings.iter().map(|w| w.to_string()).collect();
        assert_eq!(
            shown,
            [
                "book.toml: warning: Send to Kindle wants a JPEG or PNG cover, and the cover is a GIF image\nhint: set `cover` in [epub] to a JPEG or PNG image",
                "a.md: warning: Kindle does not show a WebP image\nhint: convert the image to PNG or JPEG",
                "c.md: warning: Kindle's Enhanced Typesetting does not show inline SVG\nhint: use an image file (PNG or JPEG) instead",
            ]
        );
    }

    #[test]
    fn stylesheet_aligns_headings_with_the_text_direction() {
        let ltr = stylesheet("p {}\n", false);
        assert!(ltr.starts_with("p {}\n") && ltr.contains("h6 { text-align: left; }"), "{ltr}");
        assert!(stylesheet("", true).contains("h6 { text-align: right; }"));
    }

    #[test]
    fn guide_names_contents_and_start() {
        let kinds: Vec<&str> = ["cover", "toc", "bodymatter"].into_iter().filter_map(guide_type).collect();
        assert_eq!(kinds, ["toc", "text"]);
    }
}
