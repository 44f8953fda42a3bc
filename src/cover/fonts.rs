//! The fonts folio sets covers in, compiled into the binary: what they cover, and how wide text is in them.

use std::sync::{Arc, LazyLock};

use resvg::usvg;
use skrifa::MetadataProvider as _;
use skrifa::instance::{LocationRef, Size};
use skrifa::raw::TableProvider as _;

/// The bundled fonts, in the order a character is looked up: Latin, Greek and Cyrillic, then Arabic.
const FONT_DATA: [&[u8]; 2] = [
    include_bytes!("../../styles/fonts/EBGaramond12-Regular.otf"),
    include_bytes!("../../styles/fonts/NotoNaskhArabic-Regular.ttf"),
];

/// The family covers are set in; the renderer, like [`width_in_ems`], takes a character the family lacks
/// from the next bundled font that has it.
pub const FAMILY: &str = "EB Garamond";

/// A bundled font, parsed once: its character map, advance widths, and what shaping text in it needs.
struct Font {
    charmap: skrifa::charmap::Charmap<'static>,
    /// Advance widths in ems.
    advances: skrifa::metrics::GlyphMetrics<'static>,
    font: harfrust::FontRef<'static>,
    shaper_data: harfrust::ShaperData,
    units_per_em: f32,
}

static FONTS: LazyLock<Vec<Font>> = LazyLock::new(|| {
    FONT_DATA
        .iter()
        .filter_map(|data| {
            let parsed = skrifa::FontRef::new(data).ok()?;
            let units_per_em = f32::from(parsed.head().ok()?.units_per_em());
            let font = harfrust::FontRef::new(data).ok()?;
            let shaper_data = harfrust::ShaperData::new(&font);
            let advances = parsed.glyph_metrics(Size::new(1.0), LocationRef::default());
            Some(Font { charmap: parsed.charmap(), advances, font, shaper_data, units_per_em })
        })
        .collect()
});

/// A font database holding only the bundled fonts, never the machine's: the same SVG gives the same
/// pixels everywhere. Generic families (`serif`, `sans-serif`, …) resolve to [`FAMILY`].
pub static DATABASE: LazyLock<Arc<usvg::fontdb::Database>> = LazyLock::new(|| {
    let mut db = usvg::fontdb::Database::new();
    for data in FONT_DATA {
        db.load_font_source(usvg::fontdb::Source::Binary(Arc::new(data)));
    }
    db.set_serif_family(FAMILY);
    db.set_sans_serif_family(FAMILY);
    db.set_cursive_family(FAMILY);
    db.set_fantasy_family(FAMILY);
    db.set_monospace_family(FAMILY);
    Arc::new(db)
});

/// Characters of `text` that no bundled font has, each once, in order; spaces and invisible format
/// characters (joiners, direction marks) need none.
pub fn missing_glyphs(text: &str) -> Vec<char> {
    let mut missing = Vec::new();
    for c in text.chars() {
        let invisible = c.is_whitespace()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}');
        if !invisible && font_index(c).is_none() && !missing.contains(&c) {
            missing.push(c);
        }
    }
    missing
}

/// The first bundled font that has `c`.
fn font_index(c: char) -> Option<usize> {
    FONTS.iter().position(|font| font.charmap.map(c).is_some())
}

/// Width of `text` at one pixel per em, shaped as the renderer shapes it (kerning, ligatures, Arabic
/// letters joined), each run in the font that has its characters. Widths scale with the size.
pub fn width_in_ems(text: &str) -> f32 {
    let mut width = 0.0;
    let mut run_start = 0;
    let mut run_font = None;
    for (i, c) in text.char_indices() {
        // Spaces stay in the run they stand in.
        let font = if c.is_whitespace() { run_font } else { font_index(c).or(run_font) };
        if font != run_font && i > run_start {
            width += shaped_width(&text[run_start..i], run_font.unwrap_or(0));
            run_start = i;
        }
        run_font = font;
    }
    width + shaped_width(&text[run_start..], run_font.unwrap_or(0))
}

/// Width of `c` alone, in ems: its advance in the first bundled font that has it (none: zero).
pub fn char_width_in_ems(c: char) -> f32 {
    FONTS.iter().find_map(|font| font.advances.advance_width(font.charmap.map(c)?)).unwrap_or(0.0)
}

fn shaped_width(text: &str, font: usize) -> f32 {
    let Some(font) = FONTS.get(font) else { return 0.0 };
    let shaper = font.shaper_data.shaper(&font.font).build();
    let mut buffer = harfrust::UnicodeBuffer::new();
    buffer.push_str(text);
    buffer.guess_segment_properties();
    let glyphs = shaper.shape(buffer, harfrust::ShapeOptions::new());
    glyphs.glyph_positions().iter().map(|p| p.x_advance as f32).sum::<f32>() / font.units_per_em
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_fonts_load_and_cover_their_scripts() {
        assert_eq!(FONTS.len(), FONT_DATA.len());
        assert_eq!(DATABASE.len(), FONT_DATA.len());
        assert!(missing_glyphs("Ἰλιάς, Война и мир, Ærøskøbing “quoted” — 2024 & <…>").is_empty());
        assert!(missing_glyphs("كتاب تجريبي\u{200c}").is_empty());
        assert_eq!(missing_glyphs("돌려 돌 A"), ['돌', '려']);
    }

    #[test]
    fn arabic_is_measured_joined() {
        // Joined forms are narrower than the isolated letters laid side by side.
        let word = "تجريبي";
        let isolated: f32 = word.chars().map(|c| width_in_ems(c.encode_utf8(&mut [0; 4]))).sum();
        assert!(width_in_ems(word) < isolated * 0.9, "{} vs {isolated}", width_in_ems(word));
        // A Latin word with kerning is about its letters' widths.
        let latin = width_in_ems("Sent Back");
        assert!((3.0..4.5).contains(&latin), "{latin}");
    }
}
