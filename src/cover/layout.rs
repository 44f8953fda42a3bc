//! The generated cover's layout: each field set at the largest size at which it fits its space, in
//! balanced lines, and the whole written as SVG.
//!
//! Authors stand at the head and the publisher at the foot, spaced capitals where the script has
//! capitals; title, a short rule and the subtitle are centred as one group between them, a little above
//! the middle. A double rule frames the page.

use std::fmt::Write as _;

use super::fonts::{FAMILY, char_width_in_ems, width_in_ems};
use super::{CoverText, HEIGHT, WIDTH};
use crate::text::escape;

/// How one field is set.
#[derive(Debug, Clone, Copy)]
struct Style {
    /// Largest font size, in pixels.
    max_size: f32,
    /// Smallest font size; below it lines are cut short with an ellipsis.
    min_size: f32,
    /// Most height the lines may take, in pixels.
    max_height: f32,
    /// Distance between baselines, in ems.
    leading: f32,
    /// Letter spacing, in ems, when set in capitals.
    tracking: f32,
    /// Set in spaced capitals, when the script has them.
    capitals: bool,
}

const TITLE: Style =
    Style { max_size: 200.0, min_size: 72.0, max_height: 900.0, leading: 1.1, tracking: 0.0, capitals: false };
const SUBTITLE: Style =
    Style { max_size: 76.0, min_size: 44.0, max_height: 420.0, leading: 1.3, tracking: 0.0, capitals: false };
const AUTHORS: Style =
    Style { max_size: 60.0, min_size: 36.0, max_height: 190.0, leading: 1.45, tracking: 0.12, capitals: true };
const PUBLISHER: Style =
    Style { max_size: 40.0, min_size: 30.0, max_height: 100.0, leading: 1.4, tracking: 0.16, capitals: true };

/// Width of the text column, in pixels.
const MEASURE: f32 = 1160.0;
/// Between authors on one line.
const AUTHOR_SEPARATOR: &str = " \u{b7} ";
/// Characters of a field laid out at most: more than the smallest type holds, so that no input, however
/// long, makes the layout slow.
const MAX_CHARS: usize = 400;
/// Where the authors' block starts and the publisher's ends, from the top and the bottom edge.
const MARGIN: f32 = 330.0;
/// Between the authors or the publisher and the title group.
const GAP: f32 = 120.0;

/// Colours: a dark ground, light text, rules in a muted gold. Text on every ground has a contrast ratio
/// above 10:1, the rules above 6:1. The ground is picked by the title, so that books on one shelf differ.
const GROUNDS: [&str; 6] = ["#1d2b3a", "#1f3d33", "#5a1f25", "#3a2540", "#2d3438", "#173a40"];
const INK: &str = "#f3ecdc";
const RULE: &str = "#cdb27a";

/// A piece of text that stays on one line if it can (a word, or an author's whole name), with its width.
struct Unit {
    text: String,
    /// Width at one pixel per em, without letter spacing.
    ems: f32,
    chars: usize,
}

impl Unit {
    fn new(text: &str) -> Self {
        Unit { text: text.to_string(), ems: width_in_ems(text), chars: text.chars().count() }
    }

    fn width(&self, size: f32, tracking: f32) -> f32 {
        self.ems * size + tracking * self.chars as f32
    }
}

/// One field, set: its size, letter spacing, leading and lines.
#[derive(Debug)]
struct Block {
    size: f32,
    tracking: f32,
    leading: f32,
    lines: Vec<String>,
}

impl Block {
    /// Sets `units`, `joiner` between them on a line, at the largest size at which they fit the style's
    /// height without breaking a word; failing that, at the largest size at which they fit with words
    /// broken; failing that, at the smallest size, cut short with an ellipsis.
    fn set(units: &[Unit], joiner: &str, style: Style) -> Self {
        let joiner = Unit::new(joiner);
        let tracking_at = |size: f32| if style.capitals { style.tracking * size } else { 0.0 };
        let max_lines = |size: f32| 1 + ((style.max_height - size) / (style.leading * size)).max(0.0) as usize;
        let block =
            |size: f32, lines| Block { size, tracking: tracking_at(size), leading: style.leading * size, lines };
        // Words are broken rather than shrunk below about half their largest size.
        for (may_break, smallest) in [(false, style.min_size.max(style.max_size * 0.55)), (true, style.min_size)] {
            let mut size = style.max_size;
            loop {
                let wrap_at = |width| wrap(units, &joiner, width, size, tracking_at(size));
                let (lines, broken) = wrap_at(MEASURE);
                if lines.len() <= max_lines(size) && (may_break || !broken) {
                    return block(size, if broken { lines } else { balance(wrap_at, lines) });
                }
                if size <= smallest {
                    break;
                }
                size = (size * 0.94).max(smallest);
            }
        }
        let size = style.min_size;
        let lines = wrap(units, &joiner, MEASURE, size, tracking_at(size)).0;
        block(size, shorten(lines, max_lines(size), size, tracking_at(size)))
    }

    /// From the top of the first line's capitals to the bottom of the last line's descenders.
    fn height(&self) -> f32 {
        self.size + self.leading * (self.lines.len().saturating_sub(1)) as f32
    }
}

/// Greedy line breaking: as many units on a line as fit `width`. A unit too wide for a line is broken
/// into its words, and a word between characters; the flag says that happened.
fn wrap(units: &[Unit], joiner: &Unit, width: f32, size: f32, tracking: f32) -> (Vec<String>, bool) {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    let mut line_width = 0.0;
    let mut broken = false;
    for unit in units {
        let unit_width = unit.width(size, tracking);
        let joined = line_width + joiner.width(size, tracking) + unit_width;
        if !line.is_empty() && joined <= width {
            line.push_str(&joiner.text);
            line.push_str(&unit.text);
            line_width = joined;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        if unit_width <= width {
            line.clone_from(&unit.text);
            line_width = unit_width;
            continue;
        }
        broken = true;
        let mut parts = if unit.text.contains(' ') {
            let words: Vec<Unit> = unit.text.split(' ').map(Unit::new).collect();
            wrap(&words, &Unit::new(" "), width, size, tracking).0
        } else {
            split_word(&unit.text, width, size, tracking)
        };
        line = parts.pop().unwrap_or_default();
        line_width = Unit::new(&line).width(size, tracking);
        lines.extend(parts);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    (lines, broken)
}

/// Breaks a word too wide for a line between characters, with a hyphen in scripts that use one. Each
/// character is measured alone, by its advance width: no kerning or ligature widens a piece, and joined
/// scripts only narrow, so every piece fits.
fn split_word(word: &str, width: f32, size: f32, tracking: f32) -> Vec<String> {
    let hyphen = if has_capitals(word) { "-" } else { "" };
    let room = width - Unit::new(hyphen).width(size, tracking);
    let char_width = |c: char| char_width_in_ems(c) * size + tracking;
    let mut pieces = Vec::new();
    let mut piece = String::new();
    let mut piece_width = 0.0;
    for c in word.chars() {
        let c_width = char_width(c);
        if piece_width + c_width > room && !piece.is_empty() {
            pieces.push(std::mem::take(&mut piece) + hyphen);
            piece_width = 0.0;
        }
        piece.push(c);
        piece_width += c_width;
    }
    pieces.push(piece);
    pieces
}

/// The lines at the narrowest measure that still takes as many lines, so that they come out of similar
/// length: a last word alone on its line looks like an accident on a centred cover.
fn balance(wrap_at: impl Fn(f32) -> (Vec<String>, bool), lines: Vec<String>) -> Vec<String> {
    let count = lines.len();
    let (mut narrow, mut wide) = (MEASURE * 0.3, MEASURE);
    let mut best = lines;
    for _ in 0..12 {
        let middle = (narrow + wide) / 2.0;
        match wrap_at(middle) {
            (lines, false) if lines.len() <= count => {
                best = lines;
                wide = middle;
            }
            _ => narrow = middle,
        }
    }
    best
}

/// The first `max` lines, the last one ending in an ellipsis that fits.
fn shorten(mut lines: Vec<String>, max: usize, size: f32, tracking: f32) -> Vec<String> {
    if lines.len() <= max {
        return lines;
    }
    lines.truncate(max);
    if let Some(last) = lines.last_mut() {
        let mut kept: Vec<char> = last.chars().collect();
        *last = loop {
            let text = format!("{}\u{2026}", kept.iter().collect::<String>().trim_end());
            if kept.is_empty() || Unit::new(&text).width(size, tracking) <= MEASURE {
                break text;
            }
            kept.pop();
        };
    }
    lines
}

/// The cover laid out: every field's block.
pub struct Layout<'a> {
    text: &'a CoverText,
    authors: Option<Block>,
    title: Block,
    subtitle: Option<Block>,
    publisher: Option<Block>,
}

impl<'a> Layout<'a> {
    /// Sets every field of the cover.
    pub fn new(text: &'a CoverText) -> Self {
        // Spaced capitals only for a field all in scripts that have them; lower case without them is set
        // a fifth larger, to stand as tall.
        let style = |style: Style, field: &str| {
            if !style.capitals || has_capitals(field) {
                return style;
            }
            let larger = |x: f32| x * 1.2;
            Style {
                capitals: false,
                max_size: larger(style.max_size),
                min_size: larger(style.min_size),
                max_height: larger(style.max_height),
                ..style
            }
        };
        let shown = |field: &str, style: Style| {
            let field = cut(field);
            if style.capitals { upper_case(&field, &text.language) } else { field }
        };
        let words = |field: &str, style: Style| shown(field, style).split(' ').map(Unit::new).collect::<Vec<_>>();
        let authors = (!text.authors.is_empty()).then(|| {
            let style = style(AUTHORS, &text.authors.join(" "));
            let names: Vec<Unit> =
                text.authors.iter().take(MAX_CHARS / 8).map(|a| Unit::new(&shown(a, style))).collect();
            Block::set(&names, AUTHOR_SEPARATOR, style)
        });
        let publisher = text.publisher.as_deref().map(|p| {
            let style = style(PUBLISHER, p);
            Block::set(&words(p, style), " ", style)
        });
        Layout {
            text,
            authors,
            title: Block::set(&words(&text.title, TITLE), " ", TITLE),
            subtitle: text.subtitle.as_deref().map(|s| Block::set(&words(s, SUBTITLE), " ", SUBTITLE)),
            publisher,
        }
    }

    /// The cover as an SVG document of [`WIDTH`] × [`HEIGHT`].
    pub fn svg(&self) -> String {
        let pick = xxhash_rust::xxh3::xxh3_64(self.text.title.as_bytes()) % GROUNDS.len() as u64;
        let ground = GROUNDS[usize::try_from(pick).unwrap_or_default()];
        let (width, height) = (WIDTH as f32, HEIGHT as f32);
        let mut out = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\">\n\
             <rect width=\"{WIDTH}\" height=\"{HEIGHT}\" fill=\"{ground}\"/>\n\
             <rect x=\"88\" y=\"88\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"{RULE}\" stroke-width=\"4\"/>\n\
             <rect x=\"108\" y=\"108\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"{RULE}\" stroke-width=\"1.5\"/>\n\
             <g font-family=\"{FAMILY}\" fill=\"{INK}\" text-anchor=\"middle\">\n",
            WIDTH - 176,
            HEIGHT - 176,
            WIDTH - 216,
            HEIGHT - 216,
        );
        let top = match &self.authors {
            Some(authors) => {
                self.write_block(&mut out, authors, MARGIN);
                MARGIN + authors.height() + GAP
            }
            None => MARGIN,
        };
        let bottom = match &self.publisher {
            Some(publisher) => {
                let start = height - MARGIN - publisher.height();
                self.write_block(&mut out, publisher, start);
                start - GAP
            }
            None => height - MARGIN,
        };
        let rule_gap = self.title.size * 0.45;
        let subtitle_height = self.subtitle.as_ref().map_or(0.0, |s| 2.0 * rule_gap + s.height());
        let start = top + ((bottom - top - self.title.height() - subtitle_height) * 0.45).max(0.0);
        self.write_block(&mut out, &self.title, start);
        if let Some(subtitle) = &self.subtitle {
            let rule_top = start + self.title.height() + rule_gap;
            let _ = writeln!(
                out,
                "<rect x=\"{:.1}\" y=\"{rule_top:.1}\" width=\"160\" height=\"3\" fill=\"{RULE}\"/>",
                width / 2.0 - 80.0
            );
            self.write_block(&mut out, subtitle, rule_top + rule_gap);
        }
        out.push_str("</g>\n</svg>\n");
        out
    }

    /// Writes a block whose capitals start at `top`, one `<text>` per line.
    fn write_block(&self, out: &mut String, block: &Block, top: f32) {
        for (i, line) in block.lines.iter().enumerate() {
            let baseline = top + block.size * 0.78 + block.leading * i as f32;
            // Letter spacing follows every character, the last one too, which moves the ink left of centre.
            let x = WIDTH as f32 / 2.0 + block.tracking / 2.0;
            let _ = write!(out, "<text x=\"{x:.1}\" y=\"{baseline:.1}\" font-size=\"{:.1}\"", block.size);
            if block.tracking > 0.0 {
                let _ = write!(out, " letter-spacing=\"{:.1}\"", block.tracking);
            }
            out.push('>');
            // A line embedded right to left keeps neutral characters (punctuation, digits) where a
            // right-to-left reader expects them; the renderer's own base direction is left to right.
            if self.text.right_to_left {
                out.push('\u{202b}');
            }
            escape(out, line);
            if self.text.right_to_left {
                out.push('\u{202c}');
            }
            out.push_str("</text>\n");
        }
    }
}

/// At most [`MAX_CHARS`] characters of `text`, with an ellipsis when cut.
fn cut(text: &str) -> String {
    match text.char_indices().nth(MAX_CHARS) {
        Some((end, _)) => format!("{}\u{2026}", &text[..end]),
        None => text.to_string(),
    }
}

/// True when the letters of `text` are all of scripts with capitals (Latin, Greek, Cyrillic). Others,
/// such as Arabic, are never spaced out, which would tear their joined letters apart.
fn has_capitals(text: &str) -> bool {
    text.chars().filter(|c| c.is_alphabetic()).all(|c| c.is_uppercase() || c.is_lowercase())
}

/// Capitals as the language writes them (Turkish and Azerbaijani keep the dot on İ).
fn upper_case(text: &str, language: &str) -> String {
    let primary = language.split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
    if matches!(primary.as_str(), "tr" | "az") {
        text.chars().map(|c| if c == 'i' { "\u{130}".to_string() } else { c.to_uppercase().collect() }).collect()
    } else {
        text.to_uppercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<Unit> {
        text.split(' ').map(Unit::new).collect()
    }

    fn widest(block: &Block) -> f32 {
        block.lines.iter().map(|l| Unit::new(l).width(block.size, block.tracking)).fold(0.0, f32::max)
    }

    #[test]
    fn short_titles_are_large_and_long_ones_fit() {
        let short = Block::set(&words("Sent Back"), " ", TITLE);
        assert_eq!((short.size, short.lines.as_slice()), (TITLE.max_size, &["Sent Back".to_string()][..]));
        let long = "The Remarkable and Entirely Unabridged History of Everything That Happened Between the Years \
                    1492 and 1994, Including Several Things That Did Not";
        let block = Block::set(&words(long), " ", TITLE);
        assert!(block.size < TITLE.max_size && block.size >= TITLE.min_size);
        assert!(widest(&block) <= MEASURE && block.height() <= TITLE.max_height);
        assert_eq!(block.lines.join(" "), long, "nothing is lost or broken");
    }

    #[test]
    fn lines_are_balanced() {
        // At a size where five words fill the measure, greedy breaking leaves the sixth alone.
        let units = words("Mmmm Mmmm Mmmm Mmmm Mmmm I");
        let size = MEASURE / width_in_ems("Mmmm Mmmm Mmmm Mmmm Mmmm") * 0.99;
        let wrap_at = |width| wrap(&units, &Unit::new(" "), width, size, 0.0);
        let greedy = wrap_at(MEASURE).0;
        assert_eq!(greedy.last().map(String::as_str), Some("I"));
        assert_eq!(balance(wrap_at, greedy), ["Mmmm Mmmm Mmmm", "Mmmm Mmmm I"]);
    }

    #[test]
    fn long_words_are_broken_with_hyphens_and_overflow_is_cut_short() {
        let word = "Donaudampfschifffahrtsgesellschaftskapitänsmützenabzeichenherstellungsbetrieb";
        let block = Block::set(&words(word), " ", TITLE);
        assert!(block.lines.len() > 1 && block.lines[..block.lines.len() - 1].iter().all(|l| l.ends_with('-')));
        assert_eq!(block.lines.concat().replace('-', ""), word);
        assert!(widest(&block) <= MEASURE);
        // Arabic takes no hyphen.
        assert!(split_word(&"ب".repeat(200), 300.0, 50.0, 0.0).iter().all(|p| !p.ends_with('-')));

        let names: Vec<Unit> = (0..60).map(|i| Unit::new(&format!("AUTHOR {i}"))).collect();
        let block = Block::set(&names, AUTHOR_SEPARATOR, AUTHORS);
        assert_eq!(block.size, AUTHORS.min_size);
        assert!(block.height() <= AUTHORS.max_height && widest(&block) <= MEASURE);
        assert!(block.lines.last().unwrap().ends_with('\u{2026}'));
    }

    #[test]
    fn capitals_where_the_script_has_them() {
        assert!(has_capitals("Ada Example, Ἰλιάς, Война 1984"));
        assert!(!has_capitals("محمد Ada"));
        assert_eq!(upper_case("istanbul", "tr-TR"), "İSTANBUL");
        assert_eq!(upper_case("istanbul straße", "de"), "ISTANBUL STRASSE");
        assert_eq!(cut(&"é".repeat(MAX_CHARS + 1)).chars().count(), MAX_CHARS + 1);
        assert_eq!(cut("short"), "short");
    }

    #[test]
    fn right_to_left_lines_are_embedded() {
        let text = CoverText {
            title: "كتاب (2024)".into(),
            subtitle: None,
            authors: vec![],
            publisher: None,
            right_to_left: true,
            language: "ar".into(),
        };
        let svg = Layout::new(&text).svg();
        assert!(svg.contains(">\u{202b}كتاب (2024)\u{202c}</text>"), "{svg}");
    }
}
