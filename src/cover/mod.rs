//! Covers: the typographic cover folio draws for a book that gives none, and SVG covers rasterised
//! for readers that want a raster image (Kindle).
//!
//! Procedure for a generated cover:
//! 1. [`CoverText::of`] takes title, subtitle, authors and publisher from `book.toml` and keeps the
//!    fields the bundled fonts can set; a title they cannot set means no cover.
//! 2. The layout measures the text with the fonts' advance widths, picks the largest size at which
//!    each field fits its lines, and balances the lines, as a typesetter would.
//! 3. It writes the cover as SVG and [`rasterize_svg`] renders it to a PNG of [`WIDTH`] × [`HEIGHT`].
//!
//! Text is set only in the fonts folio bundles (`styles/fonts/`), never in the machine's, so the same
//! book gives the same PNG bytes everywhere, offline.

mod fonts;
mod layout;
pub mod limits;

use std::sync::Arc;

use resvg::{tiny_skia, usvg};

use crate::config::BookConfig;

/// Width of a generated or rasterised cover, in pixels.
pub const WIDTH: u32 = 1600;
/// Height of a generated or rasterised cover: the 1:1.6 ratio Kindle and the stores ask for.
pub const HEIGHT: u32 = 2560;

/// A field of `book.toml` that a generated cover shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// `[book] title`.
    Title,
    /// `[epub] subtitle`.
    Subtitle,
    /// `[book] authors`.
    Authors,
    /// `[epub] publisher`.
    Publisher,
}

/// A field the bundled fonts cannot set, with the characters they lack (each once, in order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsettable {
    /// The field.
    pub field: Field,
    /// Characters no bundled font has.
    pub missing: Vec<char>,
}

/// The text a generated cover shows, cleaned up for setting.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CoverText {
    /// The title.
    pub title: String,
    /// The subtitle.
    pub subtitle: Option<String>,
    /// The authors, each as written.
    pub authors: Vec<String>,
    /// The publisher.
    pub publisher: Option<String>,
    /// Lines are set right to left.
    pub right_to_left: bool,
    /// The book's language, for its capitals (Turkish İ).
    pub language: String,
}

impl CoverText {
    /// What a generated cover for this book shows, and the fields left off it because the bundled fonts
    /// lack some of their characters. `None` when the title is one of them: a cover without its title
    /// would mislead.
    pub fn of(config: &BookConfig) -> (Option<Self>, Vec<Unsettable>) {
        let clean = |text: &str| {
            let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
            let text: String = text.chars().filter(|c| !c.is_control() && *c != '\u{ad}').collect();
            if config.smart_punctuation { crate::text::smart_quotes(&text, false) } else { text }
        };
        let mut unsettable = Vec::new();
        let mut settable = |field: Field, text: &str| {
            let missing = fonts::missing_glyphs(text);
            let ok = missing.is_empty();
            if !ok {
                unsettable.push(Unsettable { field, missing });
            }
            ok
        };
        let title = clean(&config.title);
        if title.is_empty() || !settable(Field::Title, &title) {
            return (None, unsettable);
        }
        let subtitle = config.subtitle.as_deref().map(clean).filter(|s| !s.is_empty());
        let subtitle = subtitle.filter(|s| settable(Field::Subtitle, s));
        let authors: Vec<String> = config.authors.iter().map(|a| clean(a)).filter(|a| !a.is_empty()).collect();
        // All the authors or none: a cover that names some of them would misrepresent the book.
        let authors = if settable(Field::Authors, &authors.concat()) { authors } else { Vec::new() };
        let publisher = config.publisher.as_deref().map(clean).filter(|p| !p.is_empty());
        let publisher = publisher.filter(|p| settable(Field::Publisher, p));
        let text = CoverText {
            title,
            subtitle,
            authors,
            publisher,
            right_to_left: config.right_to_left,
            language: config.language.clone(),
        };
        (Some(text), unsettable)
    }

    /// What the cover shows, in reading order, for its alt text: "Title: Subtitle. Authors. Publisher."
    pub fn description(&self) -> String {
        let mut out = self.title.clone();
        if let Some(subtitle) = &self.subtitle {
            out.push_str(if ends_in_punctuation(&out) { " " } else { ": " });
            out.push_str(subtitle);
        }
        let rest = [(!self.authors.is_empty()).then(|| self.authors.join(", ")), self.publisher.clone()];
        for part in rest.into_iter().flatten() {
            if !ends_in_punctuation(&out) {
                out.push('.');
            }
            out.push(' ');
            out.push_str(&part);
        }
        if !ends_in_punctuation(&out) {
            out.push('.');
        }
        out
    }

    /// The cover as a PNG of [`WIDTH`] × [`HEIGHT`].
    pub fn render(&self) -> Result<Vec<u8>, String> {
        rasterize_svg(self.svg().as_bytes())
    }

    /// The cover as SVG, laid out.
    pub fn svg(&self) -> String {
        layout::Layout::new(self).svg()
    }
}

/// The generated cover of a book as a PNG, or `None` when the bundled fonts cannot set its title (or,
/// never expected, drawing it fails). [`CoverText::of`] says which fields were left off and why.
pub fn generate(config: &BookConfig) -> Option<Vec<u8>> {
    CoverText::of(config).0?.render().ok()
}

/// True when `text` ends in a mark that closes a sentence or clause, after which no period is added.
fn ends_in_punctuation(text: &str) -> bool {
    text.chars().last().is_some_and(|c| ".,:;!?\u{2026}\u{61f}\u{6d4}".contains(c))
}

/// Rows of the image drawn at a time. Drawn whole, a 1600 × 2560 cover needs 16 MB of canvas that is
/// touched once and freed: on a virtual machine that first touch cost a third of the drawing's time. Bands
/// of 160 rows need 1 MB, reused.
const BAND_ROWS: u32 = 160;

/// Renders an SVG image to a PNG that fits [`WIDTH`] × [`HEIGHT`], keeping the image's own proportions:
/// an SVG of 1:1.6 comes out exactly that size.
///
/// Text is set in folio's bundled fonts (a family they lack falls back to them); images the SVG embeds as
/// `data:` URLs are drawn, while files it refers to are not read, as folio reads nothing it was not given.
/// Transparent areas come out white, as on paper: stores and readers expect an opaque cover.
///
/// An SVG over the [`limits`] is not drawn: the error says why.
pub fn rasterize_svg(svg: &[u8]) -> Result<Vec<u8>, String> {
    rasterize_svg_within(svg, (WIDTH, HEIGHT), f32::INFINITY)
}

/// Renders an SVG image to a PNG at `max_scale` pixels for each of its own (CSS) pixels, or smaller
/// where that would not fit in `bounds` (width, height); otherwise as [`rasterize_svg`].
pub fn rasterize_svg_within(svg: &[u8], bounds: (u32, u32), max_scale: f32) -> Result<Vec<u8>, String> {
    // Parsing and drawing follow the SVG's nesting by recursion: a thread with room for the deepest
    // nesting `limits` lets through, whatever thread asks.
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .stack_size(RASTERIZE_STACK_BYTES)
            .spawn_scoped(scope, || rasterize_within_limits(svg, bounds, max_scale))
            .map_err(|e| format!("cannot start drawing ({e})"))?
            .join()
            .map_err(|_| "drawing it failed".to_string())?
    })
}

/// The stack of the thread that draws an SVG.
const RASTERIZE_STACK_BYTES: usize = 64 << 20;

fn rasterize_within_limits(svg: &[u8], (max_width, max_height): (u32, u32), max_scale: f32) -> Result<Vec<u8>, String> {
    limits::check_source(svg)?;
    let embedded = Arc::new(limits::Embedded::default());
    let options = usvg::Options {
        font_family: fonts::FAMILY.to_string(),
        fontdb: Arc::clone(&fonts::DATABASE),
        image_href_resolver: usvg::ImageHrefResolver {
            resolve_data: embedded.resolver(),
            resolve_string: Box::new(|_, _| None),
        },
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_data(svg, &options).map_err(|e| format!("cannot read the SVG ({e})"))?;
    if let Some(refused) = embedded.refusal() {
        return Err(refused);
    }
    let size = tree.size();
    let scale = (max_width as f32 / size.width()).min(max_height as f32 / size.height()).min(max_scale);
    let width = ((size.width() * scale).round() as u32).clamp(1, max_width);
    let height = ((size.height() * scale).round() as u32).clamp(1, max_height);
    let transform = tiny_skia::Transform::from_scale(scale, scale);
    let work = limits::Work::of(&tree, transform, width, height);
    work.check()?;
    // The work is costed for the whole canvas; drawing it in bands needs less, so this is an upper bound.
    let _permit = crate::package::images::budget::Permit::acquire(work.peak_bytes + embedded.costliest());
    let mut canvas = Canvas {
        tree: &tree,
        scale,
        height,
        band: tiny_skia::Pixmap::new(width, BAND_ROWS.min(height)).ok_or("the image has no area")?,
        row: tiny_skia::Pixmap::new(width, 1).ok_or("the image has no area")?,
        varying: Some(varying_rows(tree.root(), scale)),
    };
    encode_png(&mut canvas)
}

/// Spans of rows (top, bottom, in pixels) where the drawing may differ from one row to the next: outside them
/// every row of a band is the same, as between the rules of a frame, and the band is drawn as one row, which
/// stands for all of them. Only a path of solid colours whose edges run straight across or down keeps its
/// rows alike (they change only near its corners); any other shape, and a group with a filter, clip or mask,
/// may vary over all of its box.
fn varying_rows(group: &usvg::Group, scale: f32) -> Vec<(f32, f32)> {
    let mut spans = Vec::new();
    collect_varying(group, &mut spans);
    // A pixel on either side, for anti-aliasing.
    spans.into_iter().map(|(top, bottom)| (top * scale - 1.0, bottom * scale + 1.0)).collect()
}

/// [`varying_rows`] in the SVG's units.
fn collect_varying(group: &usvg::Group, spans: &mut Vec<(f32, f32)>) {
    let span = |rect: tiny_skia::Rect| (rect.top(), rect.bottom());
    if !group.filters().is_empty() || group.clip_path().is_some() || group.mask().is_some() {
        spans.push(span(group.abs_layer_bounding_box().to_rect()));
        return;
    }
    for node in group.children() {
        match node {
            usvg::Node::Group(inner) => collect_varying(inner, spans),
            usvg::Node::Path(path) => match corner_rows(path) {
                Some(corners) => spans.extend(corners),
                None => spans.push(span(path.abs_stroke_bounding_box())),
            },
            // A nested SVG is drawn unclipped by its viewport: it may reach any row.
            usvg::Node::Image(image) => spans.push(match image.kind() {
                usvg::ImageKind::SVG(_) => (f32::NEG_INFINITY, f32::INFINITY),
                _ => span(image.abs_bounding_box()),
            }),
            usvg::Node::Text(text) => spans.push(span(text.abs_stroke_bounding_box())),
        }
    }
}

/// For a path in solid colours made of lines that run straight across or down, without dashes and not
/// skewed or turned: the spans of rows (in the SVG's units) around its corners, stroke included, outside
/// which its rows are alike. `None` for any other path.
fn corner_rows(path: &usvg::Path) -> Option<Vec<(f32, f32)>> {
    let solid = |paint: &usvg::Paint| matches!(paint, usvg::Paint::Color(_));
    let transform = path.abs_transform();
    if transform.kx != 0.0 || transform.ky != 0.0 || !path.fill().is_none_or(|fill| solid(fill.paint())) {
        return None;
    }
    // Joins and caps reach half the stroke's width from a corner (a miter too long for its limit is
    // bevelled); the whole width leaves a margin. A clipped miter reaches as far as its limit allows.
    let reach = match path.stroke() {
        Some(stroke)
            if !solid(stroke.paint())
                || stroke.dasharray().is_some()
                || stroke.linejoin() == usvg::LineJoin::MiterClip =>
        {
            return None;
        }
        Some(stroke) => stroke.width().get() * transform.sy.abs(),
        None => 0.0,
    };
    let straight = |from: tiny_skia::Point, to: tiny_skia::Point| from.x == to.x || from.y == to.y;
    let mut corners = Vec::new();
    let (mut start, mut last) = (tiny_skia::Point::zero(), tiny_skia::Point::zero());
    for segment in path.data().segments() {
        match segment {
            tiny_skia::PathSegment::MoveTo(to) => (start, last) = (to, to),
            tiny_skia::PathSegment::LineTo(to) if straight(last, to) => last = to,
            tiny_skia::PathSegment::Close if straight(last, start) => last = start,
            _ => return None,
        }
        let y = transform.sy * last.y + transform.ty;
        corners.push((y - reach, y + reach));
    }
    Some(corners)
}

/// An SVG drawn at a scale, band by band, onto white.
struct Canvas<'a> {
    tree: &'a usvg::Tree,
    scale: f32,
    /// Rows of the whole image.
    height: u32,
    /// [`BAND_ROWS`] rows of it at a time.
    band: tiny_skia::Pixmap,
    /// One row, for a band whose rows are alike.
    row: tiny_skia::Pixmap,
    /// Where rows may differ ([`varying_rows`]); `None` draws every band whole.
    varying: Option<Vec<(f32, f32)>>,
}

impl Canvas<'_> {
    /// Draws the bands from the top, handing each one's RGBA rows to `take`, until it returns false;
    /// true when every band was taken. A band whose rows are alike is handed as its one row and how many
    /// times it stands, so that nothing copies or compares its rows.
    fn draw(&mut self, mut take: impl FnMut(&[u8], usize) -> bool) -> bool {
        let row_bytes = self.band.width() as usize * tiny_skia::BYTES_PER_PIXEL;
        for top in (0..self.height).step_by(BAND_ROWS as usize) {
            let rows = (self.height - top).min(BAND_ROWS) as usize;
            let transform = tiny_skia::Transform::from_scale(self.scale, self.scale).post_translate(0.0, -(top as f32));
            let (first, last) = (top as f32, (top as usize + rows) as f32);
            let alike = self.varying.as_ref().is_some_and(|spans| spans.iter().all(|&(a, b)| b < first || a > last));
            let taken = if alike {
                self.row.fill(tiny_skia::Color::WHITE);
                resvg::render(self.tree, transform, &mut self.row.as_mut());
                take(self.row.data(), rows)
            } else {
                self.band.fill(tiny_skia::Color::WHITE);
                resvg::render(self.tree, transform, &mut self.band.as_mut());
                take(&self.band.data()[..rows * row_bytes], 1)
            };
            if !taken {
                return false;
            }
        }
        true
    }
}

/// Encodes the opaque image as PNG. A cover drawn in a few flat colours has few distinct pixels: up to
/// 256 of them, it is written with a palette, each row as its difference from the row above (PNG's Up
/// filter: a row like the one above is all zeros), deflated by runs alone ([`Palette`]). Other
/// images are drawn again and written as RGB, with adaptive filters.
fn encode_png(canvas: &mut Canvas<'_>) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let (width, height) = (canvas.band.width(), canvas.height);
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_depth(png::BitDepth::Eight);
    let mut palette = Palette::new(width as usize);
    if canvas.draw(|rows, times| palette.add(rows, times)) {
        encoder.set_color(png::ColorType::Indexed);
        encoder.set_palette(palette.colours.concat());
        let compressed = palette.finish()?;
        let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
        writer.write_chunk(png::chunk::IDAT, &compressed).map_err(|e| e.to_string())?;
        writer.finish().map_err(|e| e.to_string())?;
    } else {
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_compression(png::Compression::Balanced);
        let mut rgb = Vec::with_capacity(width as usize * height as usize * 3);
        canvas.draw(|rows, times| {
            for _ in 0..times {
                rgb.extend(rows.chunks_exact(tiny_skia::BYTES_PER_PIXEL).flat_map(|p| [p[0], p[1], p[2]]));
            }
            true
        });
        let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
        writer.write_image_data(&rgb).map_err(|e| e.to_string())?;
        writer.finish().map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// The palette of an opaque image (RGB triples, in order of first appearance) and its rows as a PNG
/// holds them, added band by band while the image has at most 256 colours.
///
/// Each row is its filter type (Up: each index minus the index above) and the differences, deflated as
/// it comes with zlib's run-length strategy: matches only repeat the byte before, which is what rows of
/// flat colour and rows of zeros hold. On a generated cover this gives the size of png's default level
/// (within 3%) in a fifth of its time; streamed, the 4 MB of rows are never held.
struct Palette {
    colours: Vec<[u8; 3]>,
    deflate: zlib_rs::Deflate,
    /// Room for what one call to deflate writes, and all it wrote.
    out: Vec<u8>,
    compressed: Vec<u8>,
    /// The row being written: filter type, then differences.
    row: Vec<u8>,
    /// A row like the one above: filter type and zeros.
    alike_row: Vec<u8>,
    /// The last row added, to tell whether the next band's first row is like it.
    last_row: Vec<u8>,
    /// Colours looked up lately, by a hash of their pixel, with their index: most pixels unlike the one
    /// before them are a glyph's anti-aliased edge, in a few dozen shades, found here without a search.
    /// Empty slots hold a transparent pixel, which an opaque image never has.
    recent: Box<[(u32, u8); 256]>,
    /// Indices of the row above (zeros above the first).
    indices_above: Vec<u8>,
}

/// PNG's filter type for "each byte minus the byte above".
const UP_FILTER: u8 = 2;

impl Palette {
    fn new(width: usize) -> Self {
        let config = zlib_rs::DeflateConfig { strategy: zlib_rs::Strategy::Rle, ..zlib_rs::DeflateConfig::default() };
        let mut alike_row = vec![0; width + 1];
        alike_row[0] = UP_FILTER;
        Self {
            colours: Vec::new(),
            deflate: zlib_rs::Deflate::new_with_config(config),
            out: vec![0; 16 << 10],
            compressed: Vec::new(),
            row: alike_row.clone(),
            alike_row,
            last_row: Vec::new(),
            indices_above: vec![0; width],
            recent: Box::new([(0, 0); 256]),
        }
    }

    /// Adds rows of RGBA pixels, each standing `times` times (a band of alike rows comes as one row);
    /// false once the image has more than 256 colours, or compressing fails. A row like the one above it
    /// (most rows of a flat cover) is compared whole, and is all zeros.
    fn add(&mut self, rows: &[u8], times: usize) -> bool {
        let row_bytes = self.indices_above.len() * tiny_skia::BYTES_PER_PIXEL;
        let last_row = std::mem::take(&mut self.last_row);
        let mut above = last_row.as_slice();
        for row in rows.chunks_exact(row_bytes) {
            let unlike = row != above;
            if unlike && !(self.index(row) && self.compress(Rows::Written)) {
                return false;
            }
            // Every row after the first of a run is like the one above.
            for _ in usize::from(unlike)..times {
                if !self.compress(Rows::Alike) {
                    return false;
                }
            }
            above = row;
        }
        self.last_row = last_row;
        self.last_row.clear();
        self.last_row.extend_from_slice(&rows[rows.len() - row_bytes..]);
        true
    }

    /// Writes one row unlike the row above into `row`; false when it brings the colours over 256.
    fn index(&mut self, row: &[u8]) -> bool {
        // First each pixel's index: a run of one colour costs a comparison a group of pixels, a pixel
        // unlike the one before it a look among the recent colours, rarely a search of the palette. Then
        // the differences from the row above, in a loop the compiler vectorises.
        let indices = &mut self.row[1..];
        let pixel = |p: &[u8]| u32::from_ne_bytes([p[0], p[1], p[2], p[3]]);
        // Unlike the first pixel, so that its colour is looked up. The image is opaque: alpha never tells
        // two colours apart, and a pixel compares as one word.
        let mut last = !row.get(..4).map(pixel).unwrap_or_default();
        let mut run = [0; RUN_PIXELS * tiny_skia::BYTES_PER_PIXEL];
        let mut last_index = 0;
        let group_bytes = run.len();
        for (group, group_indices) in row.chunks(group_bytes).zip(indices.chunks_mut(RUN_PIXELS)) {
            if group == run
                && let Ok(group_indices) = <&mut [u8; RUN_PIXELS]>::try_from(&mut *group_indices)
            {
                *group_indices = [last_index; RUN_PIXELS];
                continue;
            }
            for (p, index) in group.chunks_exact(tiny_skia::BYTES_PER_PIXEL).zip(group_indices) {
                let pixel = pixel(p);
                if pixel != last {
                    // Fibonacci hashing: the top byte of the pixel times 2^32 / φ.
                    let slot = &mut self.recent[(pixel.wrapping_mul(0x9e37_79b9) >> 24) as usize];
                    if slot.0 != pixel {
                        let Some(found) = palette_index(&mut self.colours, [p[0], p[1], p[2]]) else { return false };
                        *slot = (pixel, found);
                    }
                    (last, last_index) = *slot;
                }
                *index = last_index;
            }
            for slot in run.chunks_exact_mut(tiny_skia::BYTES_PER_PIXEL) {
                slot.copy_from_slice(&last.to_ne_bytes());
            }
        }
        for (index, above) in indices.iter_mut().zip(self.indices_above.iter_mut()) {
            (*index, *above) = (index.wrapping_sub(*above), *index);
        }
        true
    }

    /// Deflates a row (or, finishing, nothing more); false if zlib fails.
    fn compress(&mut self, rows: Rows) -> bool {
        let (input, flush) = match rows {
            Rows::Written => (&self.row[..], zlib_rs::DeflateFlush::NoFlush),
            Rows::Alike => (&self.alike_row[..], zlib_rs::DeflateFlush::NoFlush),
            Rows::End => (&[][..], zlib_rs::DeflateFlush::Finish),
        };
        let mut read = 0;
        loop {
            let (before_in, before_out) = (self.deflate.total_in(), self.deflate.total_out());
            let status = self.deflate.compress(&input[read..], &mut self.out, flush);
            read += (self.deflate.total_in() - before_in) as usize;
            self.compressed.extend_from_slice(&self.out[..(self.deflate.total_out() - before_out) as usize]);
            match status {
                Ok(zlib_rs::Status::StreamEnd) => return true,
                Ok(_) if flush == zlib_rs::DeflateFlush::NoFlush && read == input.len() => return true,
                // No progress possible: never expected, as there is always input or room.
                Ok(zlib_rs::Status::BufError) | Err(_) => return false,
                Ok(_) => {}
            }
        }
    }

    /// The deflated rows, once every row is added.
    fn finish(mut self) -> Result<Vec<u8>, String> {
        if self.compress(Rows::End) { Ok(self.compressed) } else { Err("cannot compress the image".to_string()) }
    }
}

/// Pixels compared at once with the colour before them, to find runs.
const RUN_PIXELS: usize = 8;

/// A colour's index in the palette, added when new; `None` when that would make more than 256.
fn palette_index(colours: &mut Vec<[u8; 3]>, colour: [u8; 3]) -> Option<u8> {
    // At most 256 colours, so every index fits.
    match colours.iter().position(|c| *c == colour) {
        Some(i) => Some(i as u8),
        None if colours.len() < 256 => {
            colours.push(colour);
            Some((colours.len() - 1) as u8)
        }
        None => None,
    }
}

/// Which row [`Palette::compress`] deflates.
enum Rows {
    Written,
    Alike,
    /// Nothing more: the stream is finished.
    End,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::SourceText;

    fn config(toml: &str) -> BookConfig {
        let source = SourceText::new("book.toml", toml.to_string());
        let (config, diags) = crate::config::load(&source);
        config.unwrap_or_else(|| panic!("{diags:?}"))
    }

    /// Width and height from a PNG's header.
    fn png_size(png: &[u8]) -> (u32, u32) {
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        let number = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
        (number(16), number(20))
    }

    const XML_SPECIALS: &str = r#"[book]
title = "Tom & Jerry <3 \"quotes\" 'apostrophes' ]]> &amp;"
authors = ["A & B", "<C>", "\"D\""]
[epub]
subtitle = "x < y > z & 'w'"
publisher = "P & <Q> \"R\""
"#;

    #[test]
    fn same_book_same_bytes_at_store_size() {
        let book = config(XML_SPECIALS);
        let first = generate(&book).unwrap();
        assert_eq!(first, generate(&book).unwrap());
        assert_eq!(png_size(&first), (WIDTH, HEIGHT));
        // Flat colours: a palette image, well under the stores' limits and 200 KB.
        assert!(first.len() < 200_000, "{} bytes", first.len());
        assert_eq!(first[25], 3, "colour type 3 is indexed");
        // A different title draws a different cover.
        assert_ne!(first, generate(&config("[book]\ntitle = \"Tom and Jerry\"\n")).unwrap());
    }

    #[test]
    fn xml_special_characters_are_escaped_and_shown() {
        let (text, unsettable) = CoverText::of(&config(XML_SPECIALS));
        let text = text.unwrap();
        assert!(unsettable.is_empty());
        let svg = text.svg();
        assert!(svg.contains("&lt;C&gt;") && svg.contains("A &amp; B"), "{svg}");
        assert!(!svg.contains("<C>") && !svg.contains("]]>"));
        // Straight quotes become typographic ones, as smart punctuation is on by default.
        assert_eq!(text.authors, ["A & B", "<C>", "\u{201c}D\u{201d}"]);
        assert_eq!(
            text.description(),
            "Tom & Jerry <3 \u{201c}quotes\u{201d} \u{2018}apostrophes\u{2019} ]]> &amp; x < y > z & \u{2018}w\u{2019}. \
             A & B, <C>, \u{201c}D\u{201d}. P & <Q> \u{201c}R\u{201d}."
        );
    }

    #[test]
    fn fields_the_fonts_cannot_set_are_left_off() {
        let korean = config("[book]\ntitle = \"돌려보내진 사람들\"\nauthors = [\"Choe\"]\nlanguage = \"ko\"\n");
        let (text, unsettable) = CoverText::of(&korean);
        assert!(text.is_none() && generate(&korean).is_none());
        assert_eq!(unsettable, [Unsettable { field: Field::Title, missing: "돌려보내진사람들".chars().collect() }]);

        let book = config(
            "[book]\ntitle = \"Sent Back\"\nauthors = [\"Choe Sang-Hun\", \"최상훈\"]\n[epub]\nsubtitle = \"🚀 away\"\npublisher = \"folio\"\n",
        );
        let (text, unsettable) = CoverText::of(&book);
        let text = text.unwrap();
        assert_eq!(
            unsettable.iter().map(|u| (u.field, u.missing.clone())).collect::<Vec<_>>(),
            [(Field::Subtitle, vec!['🚀']), (Field::Authors, vec!['최', '상', '훈'])]
        );
        assert_eq!((text.subtitle, text.authors, text.publisher.as_deref()), (None, vec![], Some("folio")));
    }

    #[test]
    fn text_is_cleaned_for_setting() {
        let book = config(
            "[book]\ntitle = \"  A\\ttitle\\nover  lines\\u0007 \"\nauthors = [\"\", \"  \"]\n[epub]\nsubtitle = \" \"\nsmart-punctuation = false\npublisher = \"it's\"\n",
        );
        let text = CoverText::of(&book).0.unwrap();
        assert_eq!(text.title, "A title over lines");
        assert_eq!((&text.subtitle, &text.authors), (&None, &vec![]));
        assert_eq!(text.publisher.as_deref(), Some("it's"));
        assert_eq!(text.description(), "A title over lines. it's.");
    }

    #[test]
    fn extreme_books_are_laid_out_without_panic() {
        let long_title = "Word ".repeat(3000);
        let long_word = "x".repeat(5000);
        let many_authors = (0..500).map(|i| format!("\"Author Number {i}\"")).collect::<Vec<_>>().join(", ");
        let cases = [
            format!("[book]\ntitle = \"{long_title}\"\nauthors = [{many_authors}]\n[epub]\nsubtitle = \"{long_title}\"\npublisher = \"{long_title}\"\n"),
            format!("[book]\ntitle = \"{long_word}\"\nauthors = [\"{long_word}\"]\n[epub]\nsubtitle = \"{long_word}\"\n"),
            "[book]\ntitle = \"W\"\n".to_string(),
            "[book]\ntitle = \"…\"\nauthors = [\"·\"]\n".to_string(),
            "[book]\ntitle = \"كتاب 2024: الجزء الأول (مقدمة)\"\ntext-direction = \"rtl\"\nauthors = [\"محمد\", \"Ada\"]\n".to_string(),
            "[book]\ntitle = \"\u{200f}\u{202e}\u{2067}x\"\n".to_string(),
        ];
        for toml in &cases {
            let text = CoverText::of(&config(toml)).0.unwrap();
            let svg = text.svg();
            let lines = svg.matches("<text").count();
            assert!((1..=40).contains(&lines), "{lines} lines for {}", &toml[..40.min(toml.len())]);
            assert!(rasterize_svg(svg.as_bytes()).is_ok());
        }
    }

    /// The SVG as a PNG, drawn in bands, each band whole, or (`shortcut`) once a row where rows are alike.
    fn drawn(svg: &[u8], shortcut: bool) -> Vec<u8> {
        let options = usvg::Options {
            font_family: fonts::FAMILY.to_string(),
            fontdb: Arc::clone(&fonts::DATABASE),
            ..usvg::Options::default()
        };
        let tree = usvg::Tree::from_data(svg, &options).unwrap();
        let scale = (WIDTH as f32 / tree.size().width()).min(HEIGHT as f32 / tree.size().height());
        let (width, height) =
            ((tree.size().width() * scale).round() as u32, (tree.size().height() * scale).round() as u32);
        let mut canvas = Canvas {
            tree: &tree,
            scale,
            height,
            band: tiny_skia::Pixmap::new(width, BAND_ROWS).unwrap(),
            row: tiny_skia::Pixmap::new(width, 1).unwrap(),
            varying: shortcut.then(|| varying_rows(tree.root(), scale)),
        };
        encode_png(&mut canvas).unwrap()
    }

    #[test]
    fn bands_of_alike_rows_drawn_once_give_the_same_pixels() {
        let generated = CoverText::of(&config(XML_SPECIALS)).0.unwrap().svg();
        // Frames, a dashed rule, a thick stroke, a diagonal, a gradient, a rotated and a blurred box, a
        // curve and a triangle; only the frames' sides cross bands 5 and 6 (rows 80 to 112), while the thick stroke
        // reaches into band 4 and the diagonal crosses bands 8 and 9 from corners outside them.
        let shapes = br##"<svg xmlns="http://www.w3.org/2000/svg" width="160" height="256">
            <defs><linearGradient id="g" x2="0" y2="1"><stop offset="0" stop-color="#fff"/><stop offset="1" stop-color="#036"/></linearGradient>
            <filter id="b"><feGaussianBlur stdDeviation="2"/></filter></defs>
            <rect x="4.3" y="3.7" width="150" height="248" fill="none" stroke="#a00" stroke-width="1.3"/>
            <path d="M20 20 V230 H140 V20" fill="none" stroke="#0a0" stroke-width="3" stroke-linejoin="round"/>
            <line x1="30" y1="40" x2="30" y2="60" stroke="#00a" stroke-dasharray="3 5"/>
            <rect x="100" y="50" width="8" height="12.5" fill="#ccc" stroke="#000" stroke-width="4"/>
            <line x1="40" y1="125" x2="120" y2="165" stroke="#000"/>
            <rect x="50" y="190" width="20" height="60" fill="url(#g)"/>
            <rect x="80" y="170" width="10" height="10" transform="rotate(30 85 175)"/>
            <rect x="100" y="30" width="10" height="10" filter="url(#b)"/>
            <circle cx="130" cy="240" r="6"/>
            <polygon points="60,10 70,10 70,20" fill="#555"/>
        </svg>"##;
        for svg in [generated.as_bytes(), shapes] {
            assert!(drawn(svg, true) == drawn(svg, false));
        }
        let bands = |svg: &[u8]| {
            let tree = usvg::Tree::from_data(svg, &usvg::Options::default()).unwrap();
            let spans = varying_rows(tree.root(), HEIGHT as f32 / tree.size().height());
            (0..HEIGHT)
                .step_by(BAND_ROWS as usize)
                .filter(|&top| {
                    let (first, last) = (top as f32, (top + BAND_ROWS) as f32);
                    spans.iter().all(|&(a, b)| b < first || a > last)
                })
                .count()
        };
        // A cover's text leaves most bands to draw whole, the frame's sides few.
        assert!(bands(generated.as_bytes()) >= 4, "{}", bands(generated.as_bytes()));
        assert_eq!(bands(shapes), 2);
    }

    /// A PNG's pixels as RGB triples, with its width and height.
    fn rgb_pixels(png: &[u8]) -> (u32, u32, Vec<u8>) {
        let mut decoder = png::Decoder::new(std::io::Cursor::new(png));
        decoder.set_transformations(png::Transformations::EXPAND);
        let mut reader = decoder.read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut pixels).unwrap();
        assert_eq!(info.color_type, png::ColorType::Rgb);
        pixels.truncate(info.buffer_size());
        (info.width, info.height, pixels)
    }

    #[test]
    fn the_png_holds_the_pixels_of_the_image_drawn_whole_but_for_edge_rounding() {
        let generated = CoverText::of(&config(XML_SPECIALS)).0.unwrap().svg();
        // 2,500 rows: the last band is short; a frame, a rule and text, in few enough colours for a palette.
        let short_band = br##"<svg xmlns="http://www.w3.org/2000/svg" width="160" height="250">
            <rect width="160" height="250" fill="#1d2b3a"/>
            <rect x="8" y="8" width="144" height="234" fill="none" stroke="#cdb27a"/>
            <text x="80" y="120" font-size="20" text-anchor="middle" fill="#f3ecdc">Short band</text>
            <line x1="40" y1="245" x2="120" y2="245" stroke="#f3ecdc"/>
        </svg>"##;
        for svg in [generated.as_bytes(), short_band] {
            let png = drawn(svg, true);
            assert_eq!(png[25], 3, "written with a palette");
            let (width, height, pixels) = rgb_pixels(&png);
            let options = usvg::Options {
                font_family: fonts::FAMILY.to_string(),
                fontdb: Arc::clone(&fonts::DATABASE),
                ..usvg::Options::default()
            };
            let tree = usvg::Tree::from_data(svg, &options).unwrap();
            let scale = width as f32 / tree.size().width();
            let mut whole = tiny_skia::Pixmap::new(width, height).unwrap();
            whole.fill(tiny_skia::Color::WHITE);
            resvg::render(&tree, tiny_skia::Transform::from_scale(scale, scale), &mut whole.as_mut());
            let expected: Vec<u8> = whole.data().chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
            // Drawn in bands, a glyph's anti-aliased edge can round differently than drawn whole (the
            // rasteriser's fixed point depends on the band's offset): a few edge pixels, never more. A
            // wrong index, filter or row would change most of the image.
            let differing = pixels.iter().zip(&expected).filter(|(a, b)| a != b).count();
            let most = pixels.iter().zip(&expected).map(|(a, b)| a.abs_diff(*b)).max().unwrap_or(0);
            assert!(
                differing * 1000 < pixels.len() && most <= 64,
                "{width} x {height}: {differing} bytes differ, by up to {most}"
            );
        }
    }

    #[test]
    fn shapes_that_reach_past_their_corners_or_box_vary_on_every_row() {
        let varies_at = |svg: &str, row: f32| {
            let tree = usvg::Tree::from_data(svg.as_bytes(), &usvg::Options::default()).unwrap();
            let spans = varying_rows(tree.root(), HEIGHT as f32 / tree.size().height());
            spans.iter().any(|&(a, b)| a <= row && row <= b)
        };
        // A path that turns back on itself at row 1,000: a clipped miter reaches past the corner as far
        // as its limit, so the path's whole span varies; a miter too long for its limit is bevelled and
        // stays by its corners.
        let turning = |join: &str| {
            format!(
                r##"<svg xmlns="http://www.w3.org/2000/svg" width="160" height="256"><path d="M20 20 V200 V100" fill="none" stroke="#000" stroke-width="6" stroke-linejoin="{join}"/></svg>"##
            )
        };
        assert!(varies_at(&turning("miter-clip"), 1500.0));
        assert!(!varies_at(&turning("miter"), 1500.0));
        // A nested SVG image is drawn unclipped by its box: every row may vary.
        let inner = r##"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect y="-100" width="10" height="300"/></svg>"##;
        let nested = format!(
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="160" height="256"><image x="10" y="10" width="10" height="10" href="data:image/svg+xml;base64,{}"/></svg>"##,
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, inner)
        );
        assert!(varies_at(&nested, 2000.0));
    }

    #[test]
    fn palette_rows_hold_the_colours_added_exactly() {
        // 37 pixels: four groups of 8 and a short one. Even rows have runs of three that start and end
        // inside groups, odd rows runs of 17 that cover whole groups and run into the short one; a row
        // stands three times.
        let width = 37;
        let colour = |x: usize, y: usize| {
            let run = if y.is_multiple_of(2) { 3 } else { 17 };
            let c = ((x / run + 7 * y) % 256) as u8;
            [c, c.wrapping_mul(7), !c, u8::MAX]
        };
        let rows = |ys: std::ops::Range<usize>| -> Vec<u8> {
            ys.flat_map(|y| (0..width).flat_map(move |x| colour(x, y))).collect()
        };
        let mut palette = Palette::new(width);
        assert!(palette.add(&rows(0..20), 1) && palette.add(&rows(20..21), 3) && palette.add(&rows(21..40), 1));
        let distinct: std::collections::HashSet<Vec<u8>> = rows(0..40).chunks_exact(4).map(<[u8]>::to_vec).collect();
        assert_eq!(palette.colours.len(), distinct.len());
        let colours = palette.colours.clone();
        let mut filtered = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::ZlibDecoder::new(&palette.finish().unwrap()[..]), &mut filtered)
            .unwrap();
        let mut indices = vec![0u8; width];
        let mut pixels = Vec::new();
        for row in filtered.chunks(width + 1) {
            assert_eq!(row[0], UP_FILTER);
            for (index, difference) in indices.iter_mut().zip(&row[1..]) {
                *index = index.wrapping_add(*difference);
                pixels.extend(colours[usize::from(*index)]);
            }
        }
        let mut expected = rows(0..20);
        expected.extend(rows(20..21).repeat(3));
        expected.extend(rows(21..40));
        let expected: Vec<u8> = expected.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
        assert!(pixels == expected, "the rows decode to other pixels");

        // A 257th colour is refused.
        let many: Vec<u8> = (0..300u32).flat_map(|x| [x as u8, (x >> 8) as u8, 0, u8::MAX]).collect();
        assert!(!Palette::new(300).add(&many, 1));
    }

    #[test]
    fn svg_covers_are_rasterised_at_store_size() {
        let book_cover = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/book/cover.svg")).unwrap();
        let png = rasterize_svg(&book_cover).unwrap();
        assert_eq!(png_size(&png), (WIDTH, HEIGHT));
        assert_eq!(png, rasterize_svg(&book_cover).unwrap());
        // Other proportions are kept, fitted inside the store size; transparency becomes white.
        let square =
            br#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><circle cx="5" cy="5" r="4"/></svg>"#;
        assert_eq!(png_size(&rasterize_svg(square).unwrap()), (WIDTH, WIDTH));
        let wide = br#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 100"><text y="50" font-family="Nonexistent">Hi</text></svg>"#;
        assert_eq!(png_size(&rasterize_svg(wide).unwrap()), (WIDTH, 400));
        // Files the SVG points to are not read; what is not an SVG is an error.
        let external = br#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="16" height="25.6"><image href="/etc/hostname" width="16" height="25.6"/></svg>"#;
        let png = rasterize_svg(external).unwrap();
        assert_eq!(png_size(&png), (WIDTH, HEIGHT));
        assert_eq!(png[25], 3, "one colour: the white page");
        assert!(rasterize_svg(b"not an image").unwrap_err().starts_with("cannot read the SVG"));
        assert!(rasterize_svg(b"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"0\" height=\"5\"/>").is_err());
    }
}
