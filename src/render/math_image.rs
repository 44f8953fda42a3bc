//! TeX formulas → images, for readers that do not lay out MathML: instead of MathML (`--target
//! kindle`), or as its `altimg` (`--target kobo`).
//!
//! latex-rust (STIX Two Math outlines built in, so no font of the machine's is read) lays a formula out
//! and writes it as SVG; when the book is packaged, resvg draws that as a PNG, black on white, at
//! [`PNG_SCALE`] (the cover's rasteriser, in the build stage). Amazon's guidelines list PNG and SVG among
//! the images Kindle takes, but Enhanced Typesetting refuses books with more than 25 SVG images and
//! SVG transforms other than `translate(0 0)` (KPG 10.4.11), which every glyph of these SVGs has; and
//! Kindle does not keep transparency, so white is drawn where it would put it anyway. Each image is
//! sized in `em` from the formula's own box, so it grows with the text, and sits on the baseline.

use std::fmt::Write as _;
use std::sync::LazyLock;

use latex_rust::{Dim, MathFont, MathStyle, SvgOptions};
use serde::{Deserialize, Serialize};

use crate::diagnostic::Location;
use crate::text::escape;

/// Pixels drawn for each em of the formula: an em of body text is some 40 pixels on a 300 ppi Kindle,
/// and readers enlarge the text.
pub const PIXELS_PER_EM: f32 = 64.0;
/// The longest side of a PNG; a longer formula is drawn with fewer pixels to an em.
pub const MAX_SIDE: u32 = 4096;
/// The em size of the SVG latex-rust writes, in points; usvg reads a point as 4/3 of a CSS pixel.
const SVG_EM_POINTS: i64 = 12;
/// PNG pixels for each CSS pixel of the SVG.
pub const PNG_SCALE: f32 = PIXELS_PER_EM / (SVG_EM_POINTS as f32 * 4.0 / 3.0);

/// The face latex-rust lays formulas out with, parsed once.
static FONT: LazyLock<Result<MathFont, String>> =
    LazyLock::new(|| MathFont::stix_two_math().map_err(|e| e.to_string()));

/// A formula drawn as an image, packaged as `images/formulas/<name>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormulaImage {
    /// A hash of the SVG, so a formula used twice is one file.
    pub name: String,
    /// The formula as latex-rust draws it, to be made a PNG of.
    pub svg: String,
    /// Where it is first used, should the PNG fail.
    pub location: Location,
}

impl FormulaImage {
    /// Its path in the package.
    pub fn href(&self) -> String {
        format!("{}/formulas/{}", super::IMAGE_DIR, self.name)
    }

    /// Its address from a page of the `text/` folder.
    pub fn src(&self) -> String {
        format!("../{}", self.href())
    }
}

/// A formula drawn, with its box in ems: what shows it in a page of the `text/` folder.
#[derive(Debug, Clone)]
pub struct Drawn {
    /// The image to package.
    pub image: FormulaImage,
    display: bool,
    /// Width, and height above and depth below the baseline.
    width: f64,
    height: f64,
    depth: f64,
}

/// Draws one formula (without its delimiters); or says, in lower case, why latex-rust cannot.
pub fn draw(tex: &str, display: bool, location: Location) -> Result<Drawn, String> {
    let font = FONT.as_ref().map_err(Clone::clone)?;
    let ast = latex_rust::parse(tex.trim()).map_err(|e| e.to_string())?;
    let style = if display { MathStyle::Display } else { MathStyle::Text };
    let em_points = Dim::from_i64(SVG_EM_POINTS);
    let laid_out = latex_rust::layout_with_em_size_pt(&ast, font, style, &em_points).map_err(|e| e.to_string())?;
    let (width, height, depth) = (ems(&laid_out.width), ems(&laid_out.height), ems(&laid_out.depth).max(0.0));
    if width <= 0.0 || height + depth <= 0.0 {
        return Err("it draws nothing".to_string());
    }
    let options = SvgOptions { font_size_pt: em_points, ..SvgOptions::new() };
    let svg = latex_rust::render_svg(&laid_out, font, &options).map_err(|e| e.to_string())?;
    let name = format!("{:016x}.png", xxhash_rust::xxh3::xxh3_64(svg.as_bytes()));
    Ok(Drawn { image: FormulaImage { name, svg, location }, display, width, height, depth })
}

impl Drawn {
    /// The `<img>` that shows the formula instead of MathML, with the TeX as its alt text.
    pub fn img(&self, tex: &str) -> String {
        let mut img = format!("<img class=\"{}\" src=\"", if self.display { "math-display" } else { "math" });
        img.push_str(&self.image.src());
        img.push_str("\" alt=\"");
        escape(&mut img, tex.trim());
        // Display formulas get their height from their width (the stylesheet lets them shrink to the
        // page); inline ones sit their baseline on the text's.
        let _ = write!(img, "\" style=\"width: {}em", rounded(self.width));
        if !self.display {
            let (height, valign) = self.height_and_valign();
            let _ = write!(img, "; height: {height}em; vertical-align: {valign}em");
        }
        img.push_str("\"/>");
        img
    }

    /// The attributes that make the image a `<math>` element's fallback (MathML 3, 2.2.1), for readers
    /// that cannot lay out MathML: `altimg`, and its size and baseline in ems, as for [`Self::img`].
    /// The TeX is already the element's `alttext`.
    pub fn altimg(&self) -> String {
        let (height, valign) = self.height_and_valign();
        format!(
            " altimg=\"{}\" altimg-width=\"{}em\" altimg-height=\"{height}em\" altimg-valign=\"{valign}em\"",
            self.image.src(),
            rounded(self.width)
        )
    }

    /// The whole height, and how far the image sits below the baseline (negative: its depth).
    fn height_and_valign(&self) -> (String, String) {
        (rounded(self.height + self.depth), rounded(-self.depth))
    }
}

/// A length of latex-rust's box, in ems.
fn ems(length: &Dim) -> f64 {
    length.as_ratio().map_or(0.0, |(num, den)| num as f64 / den as f64)
}

/// Three decimals: a thousandth of an em is less than a pixel at any text size.
fn rounded(ems: f64) -> String {
    let text = format!("{ems:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" { "0".to_string() } else { text.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draw(tex: &str, display: bool) -> Result<Drawn, String> {
        super::draw(tex, display, Location { path: "a.md".into(), position: None })
    }

    #[test]
    fn an_inline_formula_is_sized_in_ems_on_the_baseline() {
        let drawn = draw(r" x^2 + y_1 ", false).unwrap();
        assert!(drawn.image.svg.contains("<path"), "{}", drawn.image.svg);
        let img = &drawn.img(r" x^2 + y_1 ");
        assert!(img.starts_with("<img class=\"math\" src=\"../images/formulas/"), "{img}");
        assert!(img.contains(&format!("/{}\"", drawn.image.name)) && drawn.image.name.ends_with(".png"), "{img}");
        assert!(img.contains(" alt=\"x^2 + y_1\""), "{img}");
        let style = img.split("style=\"").nth(1).unwrap();
        let number =
            |key: &str| -> f32 { style.split(key).nth(1).unwrap().split("em").next().unwrap().parse().unwrap() };
        assert!(number("width: ") > 2.0 && number("height: ") > 1.0, "{img}");
        assert!(number("vertical-align: ") < 0.0, "the subscript reaches below the baseline: {img}");
    }

    #[test]
    fn display_formulas_are_larger_and_scale_with_the_page() {
        let inline = draw(r"\sum_{i=0}^n i", false).unwrap();
        let display = draw(r"\sum_{i=0}^n i", true).unwrap();
        let img = display.img(r"\sum_{i=0}^n i");
        assert!(img.starts_with("<img class=\"math-display\""), "{img}");
        assert!(!img.contains("height") && !img.contains("vertical-align"), "{img}");
        assert_ne!(display.image.name, inline.image.name);
    }

    #[test]
    fn the_same_formula_gives_the_same_file_and_tex_is_escaped_in_alt() {
        let a = draw(r"a < b", false).unwrap();
        assert_eq!(a.image, draw(r"a < b", false).unwrap().image);
        let img = a.img("a < b");
        assert!(img.contains("alt=\"a &lt; b\""), "{img}");
    }

    #[test]
    fn as_altimg_the_image_has_the_size_and_baseline_its_img_has() {
        let drawn = draw(r"x_1", false).unwrap();
        let (img, altimg) = (drawn.img("x_1"), drawn.altimg());
        let href = drawn.image.src();
        assert!(altimg.starts_with(&format!(" altimg=\"{href}\" ")) && img.contains(&href), "{altimg}");
        let value = |text: &str, key: &str| text.split(key).nth(1).unwrap().split("em").next().unwrap().to_string();
        assert_eq!(value(&altimg, "altimg-width=\""), value(&img, "width: "));
        assert_eq!(value(&altimg, "altimg-height=\""), value(&img, "height: "));
        assert_eq!(value(&altimg, "altimg-valign=\""), value(&img, "vertical-align: "));
        assert!(value(&altimg, "altimg-valign=\"").starts_with('-'), "{altimg}");
        // A display formula's image gets its height too: the reader scales to both.
        assert!(draw(r"x_1", true).unwrap().altimg().contains(" altimg-height=\""));
    }

    #[test]
    fn what_latex_rust_cannot_draw_is_an_error() {
        assert!(draw(r"\frac{1}", false).is_err());
        assert!(draw(r"\notacommand x", false).is_err());
        assert_eq!(draw("  ", false).err().as_deref(), Some("it draws nothing"));
    }

    #[test]
    fn lengths_are_written_short() {
        assert_eq!(rounded(1.25), "1.25");
        assert_eq!(rounded(2.0), "2");
        assert_eq!(rounded(-0.0001), "0");
        assert_eq!(rounded(-0.2504), "-0.25");
    }
}
