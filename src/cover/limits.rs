//! What drawing an SVG may take, checked before it is drawn: an SVG cover comes from the book, and a few
//! lines of it can ask for billions of elements, a blur over a region of gigapixels, or an embedded PNG
//! of ten billion pixels.
//!
//! 1. [`check_source`], on the SVG's text before resvg parses it: no entity declarations (their
//!    expansion is unbounded), at most [`MAX_ELEMENTS`] elements once every `<use>` is expanded as resvg
//!    would, and no chain of nesting and references (`<use>`, `href`, `url(#…)`) deeper than
//!    [`MAX_DEPTH`], which parsing and drawing follow by recursion.
//! 2. Images the SVG embeds as `data:` URLs pass [`budget::decode_cost`] as they are parsed
//!    ([`Embedded`]); nested SVG images are drawn [`MAX_NESTED_SVG`] deep at most.
//! 3. [`Work::of`], on the parsed tree: every layer, filter primitive, mask, clip path, pattern tile,
//!    image and path is costed as resvg would draw it, in pixels touched ([`MAX_WORK`]), and the layers
//!    alive at once in bytes ([`budget::MAX_DECODE_BYTES`]). Counting work rather than timing it keeps
//!    the outcome the same on every machine.
//!
//! Drawing then holds a [`budget::Permit`] for its memory.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use resvg::tiny_skia::{IntRect, NonZeroRect, Transform};
use resvg::usvg;

use crate::package::images::budget;

/// The most elements an SVG drawn by folio may have, `<use>` expanded.
pub const MAX_ELEMENTS: u64 = 100_000;

/// The deepest chain of nested elements and references an SVG drawn by folio may have: as deep as any
/// SVG folio packages may nest its elements.
pub const MAX_DEPTH: usize = crate::sanitize::svg::MAX_DEPTH;

/// How deep SVG images embedded in an SVG are drawn.
pub const MAX_NESTED_SVG: usize = 2;

/// The most work drawing may take, in units of drawing one pixel of a path, summed over every operation:
/// a hundred times a cover's area, a second or two.
pub const MAX_WORK: u64 = 100 * super::WIDTH as u64 * super::HEIGHT as u64;

/// Checks an SVG's text before it is parsed for drawing; says what is wrong.
pub fn check_source(svg: &[u8]) -> Result<(), String> {
    // Compressed SVG (svgz) is refused here too: usvg would inflate it without a limit.
    let text = std::str::from_utf8(svg).map_err(|_| "it is not UTF-8 text".to_string())?;
    if declares_entities(text) {
        return Err("it declares entities, which folio does not expand".into());
    }
    let options = roxmltree::ParsingOptions { allow_dtd: true, ..roxmltree::ParsingOptions::default() };
    // What does not parse is left for usvg, which parses with the same reader, to report.
    let Ok(document) = roxmltree::Document::parse_with_options(text, options) else { return Ok(()) };
    let ids: HashMap<&str, roxmltree::Node<'_, '_>> = document
        .descendants()
        .filter(roxmltree::Node::is_element)
        .filter_map(|node| node.attribute("id").map(|id| (id, node)))
        .collect();
    let mut census = Census { ids, memo: HashMap::new() };
    let (elements, depth) = census.measure(document.root_element(), 0)?;
    if elements > MAX_ELEMENTS {
        return Err(format!(
            "it has {elements} elements once `<use>` is expanded, more than folio draws ({MAX_ELEMENTS})"
        ));
    }
    if depth > MAX_DEPTH {
        return Err(format!("its elements and references nest deeper than folio draws ({MAX_DEPTH})"));
    }
    Ok(())
}

/// True when the document's DOCTYPE declares an entity (read with an XML reader, up to the first element).
fn declares_entities(text: &str) -> bool {
    let mut reader = quick_xml::Reader::from_str(text);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::DocType(doctype)) => {
                return doctype[..].contains("<!ENTITY");
            }
            Ok(quick_xml::events::Event::Start(_) | quick_xml::events::Event::Empty(_))
            | Ok(quick_xml::events::Event::Eof)
            | Err(_) => return false,
            Ok(_) => {}
        }
    }
}

/// Counts elements and measures depth, following references, each element once.
struct Census<'a, 'input> {
    ids: HashMap<&'a str, roxmltree::Node<'a, 'input>>,
    /// Elements and depth below each element measured, by its index; `None` while it is being measured
    /// (a reference back to it is a cycle, which resvg breaks).
    memo: HashMap<usize, Option<(u64, usize)>>,
}

impl<'a, 'input> Census<'a, 'input> {
    /// Elements under `node`, itself included and `<use>` expanded, and the depth of nesting and
    /// references below it; an error once `depth` (where `node` is) passes [`MAX_DEPTH`], before the
    /// recursion could go deeper.
    fn measure(&mut self, node: roxmltree::Node<'a, 'input>, depth: usize) -> Result<(u64, usize), String> {
        if depth > MAX_DEPTH {
            return Err(format!("its elements and references nest deeper than folio draws ({MAX_DEPTH})"));
        }
        match self.memo.get(&node.id().get_usize()) {
            Some(Some(known)) => return Ok(*known),
            Some(None) => return Ok((0, 0)),
            None => {}
        }
        self.memo.insert(node.id().get_usize(), None);
        let mut elements: u64 = 1;
        let mut below = 0;
        for child in node.children().filter(roxmltree::Node::is_element) {
            let (n, d) = self.measure(child, depth + 1)?;
            elements = elements.saturating_add(n);
            below = below.max(d + 1);
        }
        for target in self.references(node) {
            let (n, d) = self.measure(target, depth + 1)?;
            // A `<use>` draws a copy of what it names; other references draw the same element again.
            if node.tag_name().name() == "use" {
                elements = elements.saturating_add(n);
            }
            below = below.max(d + 1);
        }
        self.memo.insert(node.id().get_usize(), Some((elements, below)));
        Ok((elements, below))
    }

    /// The elements `node`'s attributes name: `href="#id"` and every `url(#id)`.
    fn references(&self, node: roxmltree::Node<'a, 'input>) -> Vec<roxmltree::Node<'a, 'input>> {
        let mut found = Vec::new();
        for attribute in node.attributes() {
            let value = attribute.value();
            if attribute.name() == "href" {
                found.extend(value.trim().strip_prefix('#').and_then(|id| self.ids.get(id)));
            }
            let mut rest = value;
            while let Some(at) = rest.find("url(") {
                let inner = rest[at + 4..].trim_start().trim_start_matches(['"', '\'']);
                let id: String = inner
                    .strip_prefix('#')
                    .unwrap_or("")
                    .chars()
                    .take_while(|c| !matches!(c, ')' | '"' | '\''))
                    .collect();
                found.extend(self.ids.get(id.trim()));
                rest = &rest[at + 4..];
            }
        }
        found
    }
}

/// Parses the `data:` URLs of images an SVG embeds, as usvg's own resolver does, refusing any image
/// [`budget::decode_cost`] refuses and SVG images nested deeper than [`MAX_NESTED_SVG`]; remembers the
/// first refusal and the costliest image.
#[derive(Debug, Default)]
pub struct Embedded {
    refused: std::sync::Mutex<Option<String>>,
    /// The most decoding one embedded image may take, in bytes.
    costliest: std::sync::atomic::AtomicU64,
    nested: AtomicUsize,
}

impl Embedded {
    /// The resolver for `usvg::Options::image_href_resolver.resolve_data`.
    pub fn resolver(self: &Arc<Self>) -> usvg::ImageHrefDataResolverFn<'static> {
        let this = Arc::clone(self);
        Box::new(move |_mime: &str, data: Arc<Vec<u8>>, options: &usvg::Options<'_>| this.resolve(data, options))
    }

    fn resolve(&self, data: Arc<Vec<u8>>, options: &usvg::Options<'_>) -> Option<usvg::ImageKind> {
        let media_type = crate::media::sniff_image(&data)?;
        if media_type == "image/svg+xml" {
            if self.nested.load(Ordering::Relaxed) >= MAX_NESTED_SVG {
                self.refuse(format!("it nests SVG images more than {MAX_NESTED_SVG} deep"));
                return None;
            }
            if let Err(why) = check_source(&data) {
                self.refuse(format!("an SVG image it embeds cannot be drawn: {why}"));
                return None;
            }
            self.nested.fetch_add(1, Ordering::Relaxed);
            let tree = usvg::Tree::from_data_nested(&data, options);
            self.nested.fetch_sub(1, Ordering::Relaxed);
            return tree.ok().map(usvg::ImageKind::SVG);
        }
        match budget::decode_cost(&data, media_type) {
            Ok(cost) => {
                self.costliest.fetch_max(cost, Ordering::Relaxed);
            }
            Err(budget::Refused::TooLarge((width, height))) => {
                self.refuse(format!("it embeds an image of {width}×{height} pixels, more than folio decodes"));
                return None;
            }
            Err(budget::Refused::Unreadable) => return None,
        }
        Some(match media_type {
            "image/png" => usvg::ImageKind::PNG(data),
            "image/jpeg" => usvg::ImageKind::JPEG(data),
            "image/gif" => usvg::ImageKind::GIF(data),
            _ => usvg::ImageKind::WEBP(data),
        })
    }

    fn refuse(&self, why: String) {
        self.refused.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get_or_insert(why);
    }

    /// Why an embedded image was refused, if one was.
    pub fn refusal(&self) -> Option<String> {
        self.refused.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// The most decoding one embedded raster image takes, in bytes.
    pub fn costliest(&self) -> u64 {
        self.costliest.load(Ordering::Relaxed)
    }
}

/// What drawing a tree takes, as resvg draws it: pixels touched by all operations, and bytes of the
/// layers alive at once.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Work {
    /// Pixels touched, summed.
    pub pixels: u64,
    /// The most bytes of layers, filter results, masks and pattern tiles alive at once.
    pub peak_bytes: u64,
}

/// Bytes of a premultiplied RGBA pixel.
const PIXEL_BYTES: u64 = 4;

impl Work {
    /// Costs drawing `tree` with `transform` onto a canvas of `width` × `height`.
    pub fn of(tree: &usvg::Tree, transform: Transform, width: u32, height: u32) -> Self {
        // resvg lets layers grow to five times the canvas each way (`max_filter_bbox`).
        let bounds = IntRect::from_xywh(-2 * width as i32, -2 * height as i32, 5 * width, 5 * height)
            .expect("a canvas of a few thousand pixels");
        let canvas = u64::from(width) * u64::from(height);
        let mut costing = Costing { bounds, work: Work { pixels: canvas, peak_bytes: canvas * PIXEL_BYTES } };
        costing.group(tree.root(), transform, canvas * PIXEL_BYTES, canvas);
        costing.work
    }

    /// Says what is over the limits, if anything.
    pub fn check(&self) -> Result<(), String> {
        if self.pixels > MAX_WORK {
            return Err(format!(
                "drawing it would take {} million units of work, more than folio allows ({} million)",
                self.pixels / 1_000_000,
                MAX_WORK / 1_000_000
            ));
        }
        if self.peak_bytes > budget::MAX_DECODE_BYTES {
            return Err(format!(
                "drawing it would take {} MiB of memory at once, more than folio allows ({} MiB)",
                self.peak_bytes >> 20,
                budget::MAX_DECODE_BYTES >> 20
            ));
        }
        Ok(())
    }
}

struct Costing {
    /// Where resvg clips layers to.
    bounds: IntRect,
    work: Work,
}

impl Costing {
    /// The pixels of `rect` under `transform`, within the bounds resvg draws in.
    fn area(&self, rect: Option<NonZeroRect>, transform: Transform) -> u64 {
        let Some(rect) = rect.and_then(|r| r.transform(transform)) else { return 0 };
        let (left, top) = (rect.left().max(self.bounds.left() as f32), rect.top().max(self.bounds.top() as f32));
        let right = rect.right().min(self.bounds.right() as f32);
        let bottom = rect.bottom().min(self.bounds.bottom() as f32);
        if right <= left || bottom <= top {
            return 0;
        }
        ((right - left).ceil() as u64 + 1) * ((bottom - top).ceil() as u64 + 1)
    }

    /// Adds `pixels` of work and notes `held` bytes alive at once.
    fn add(&mut self, pixels: u64, held: u64) {
        self.work.pixels = self.work.pixels.saturating_add(pixels);
        self.work.peak_bytes = self.work.peak_bytes.max(held);
    }

    /// Costs a group's children drawn with `transform` onto a target of `target` pixels, with `held` bytes
    /// alive already.
    fn group(&mut self, group: &usvg::Group, transform: Transform, held: u64, target: u64) {
        for node in group.children() {
            if self.work.pixels > MAX_WORK {
                return;
            }
            self.node(node, transform, held, target);
        }
    }

    fn node(&mut self, node: &usvg::Node, transform: Transform, held: u64, target: u64) {
        match node {
            usvg::Node::Group(group) => self.isolated(group, transform, held, target),
            usvg::Node::Path(path) => {
                let bbox = path.stroke_bounding_box().to_non_zero_rect();
                self.add(self.area(bbox, transform) + path.data().len() as u64, held);
                let paints =
                    path.fill().map(usvg::Fill::paint).into_iter().chain(path.stroke().map(usvg::Stroke::paint));
                for paint in paints {
                    if let usvg::Paint::Pattern(pattern) = paint {
                        // The tile is drawn anew for each path that uses it.
                        let (sx, sy) = transform.pre_concat(pattern.transform()).get_scale();
                        let tile = (f64::from(pattern.rect().width() * sx).round().max(0.0) as u64)
                            .saturating_mul(f64::from(pattern.rect().height() * sy).round().max(0.0) as u64);
                        let tile_held = held.saturating_add(tile.saturating_mul(PIXEL_BYTES));
                        self.add(tile, tile_held);
                        self.group(pattern.root(), Transform::from_scale(sx, sy), tile_held, tile);
                    }
                }
            }
            usvg::Node::Image(image) => match image.kind() {
                usvg::ImageKind::SVG(tree) => {
                    // resvg draws a nested SVG on a fresh copy of the target.
                    let copy = held.saturating_add(target.saturating_mul(PIXEL_BYTES));
                    self.add(target, copy);
                    self.group(tree.root(), transform, copy, target);
                }
                raster => {
                    let declared = match raster {
                        usvg::ImageKind::PNG(data) => budget::declared(data, "image/png"),
                        usvg::ImageKind::JPEG(data) => budget::declared(data, "image/jpeg"),
                        usvg::ImageKind::GIF(data) => budget::declared(data, "image/gif"),
                        usvg::ImageKind::WEBP(data) => budget::declared(data, "image/webp"),
                        usvg::ImageKind::SVG(_) => None,
                    };
                    let decoded = declared.map_or(0, |((w, h), _)| u64::from(w) * u64::from(h));
                    self.add(decoded + self.area(image.bounding_box().to_non_zero_rect(), transform), held);
                }
            },
            usvg::Node::Text(text) => self.group(text.flattened(), transform, held, target),
        }
    }

    /// Costs a group as resvg draws it: on its own layer when it must be isolated.
    fn isolated(&mut self, group: &usvg::Group, transform: Transform, held: u64, target: u64) {
        let transform = transform.pre_concat(group.transform());
        if !group.should_isolate() {
            return self.group(group, transform, held, target);
        }
        let layer = self.area(Some(group.layer_bounding_box()), transform);
        let layer_bytes = layer.saturating_mul(PIXEL_BYTES);
        let held = held.saturating_add(layer_bytes);
        // Allocated, then drawn onto the target.
        self.add(layer.saturating_mul(2), held);
        self.group(group, transform, held, layer);
        for filter in group.filters() {
            let region = self.area(Some(filter.rect()), transform).min(layer);
            // Every primitive's result is kept until the filter ends.
            let results =
                held.saturating_add(region.saturating_mul(PIXEL_BYTES) * (filter.primitives().len() as u64 + 2));
            for primitive in filter.primitives() {
                self.add(region.saturating_mul(primitive_weight(primitive.kind(), transform)), results);
                if let usvg::filter::Kind::Image(image) = primitive.kind() {
                    self.group(image.root(), transform, results, region);
                }
            }
        }
        let mut clip = group.clip_path();
        while let Some(path) = clip {
            let mask_held = held.saturating_add(layer_bytes);
            self.add(layer.saturating_mul(2), mask_held);
            self.group(path.root(), transform.pre_concat(path.transform()), mask_held, layer);
            clip = path.clip_path();
        }
        let mut mask = group.mask();
        while let Some(m) = mask {
            let mask_held = held.saturating_add(layer_bytes);
            self.add(layer.saturating_mul(2), mask_held);
            self.group(m.root(), transform, mask_held, layer);
            mask = m.mask();
        }
    }
}

/// What a filter primitive costs for each pixel of its region, in units of drawing one pixel of a path:
/// resvg's blur makes ten passes, half of them down columns, which a large layer makes slow (a blur over
/// a layer of 80 million pixels took 20 seconds on one core).
fn primitive_weight(kind: &usvg::filter::Kind, transform: Transform) -> u64 {
    use usvg::filter::Kind;
    let (sx, sy) = transform.get_scale();
    match kind {
        Kind::GaussianBlur(_) | Kind::DropShadow(_) => 64,
        // Every pixel of the window around each pixel.
        Kind::Morphology(m) => {
            let rx = (m.radius_x().get() * sx).abs().ceil() as u64;
            let ry = (m.radius_y().get() * sy).abs().ceil() as u64;
            (2 * rx + 1).saturating_mul(2 * ry + 1).saturating_mul(2)
        }
        Kind::ConvolveMatrix(c) => 2 * u64::from(c.matrix().columns()) * u64::from(c.matrix().rows()),
        // Noise summed over octaves, each several lookups and interpolations.
        Kind::Turbulence(t) => 32 * u64::from(t.num_octaves()).max(1),
        Kind::DiffuseLighting(_) | Kind::SpecularLighting(_) => 32,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cover::{HEIGHT, WIDTH, rasterize_svg};

    fn work(svg: &str) -> Work {
        let tree = usvg::Tree::from_str(svg, &usvg::Options::default()).unwrap();
        let size = tree.size();
        let scale = (WIDTH as f32 / size.width()).min(HEIGHT as f32 / size.height());
        Work::of(&tree, Transform::from_scale(scale, scale), WIDTH, HEIGHT)
    }

    fn svg(body: &str) -> String {
        format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 160 256">{body}</svg>"#
        )
    }

    /// Issue #20, class 5: what resvg would take minutes or gigabytes to draw is refused before it starts.
    #[test]
    fn bombs_are_refused_before_drawing() {
        // `<use>` ten times over, eight levels deep: 10^8 elements.
        let mut uses = String::from(r#"<defs><rect id="l0" width="1" height="1"/>"#);
        for level in 1..=8 {
            uses.push_str(&format!(r#"<g id="l{level}">"#));
            for _ in 0..10 {
                uses.push_str(&format!(r##"<use href="#l{}"/>"##, level - 1));
            }
            uses.push_str("</g>");
        }
        uses.push_str(r##"</defs><use href="#l8"/>"##);
        let nested = "<g>".repeat(5000) + &"</g>".repeat(5000);
        let chain: String = (0..400).map(|i| format!(r##"<g id="c{i}"><use href="#c{}"/></g>"##, i + 1)).collect();
        let cases = [
            (svg(&uses), "elements once `<use>` is expanded"),
            (svg(&nested), "nest deeper"),
            (svg(&format!("<defs>{chain}</defs>")), "nest deeper"),
            (format!("<!DOCTYPE svg [<!ENTITY a \"aaaaaaaaaa\">]>{}", svg("<text>&a;</text>")), "declares entities"),
        ];
        for (bomb, why) in cases {
            let started = std::time::Instant::now();
            let error = rasterize_svg(bomb.as_bytes()).unwrap_err();
            assert!(error.contains(why), "{error}");
            assert!(started.elapsed().as_secs() < 5, "refused in {:?}", started.elapsed());
        }
        // A `<use>` cycle is no bomb: resvg breaks it.
        check_source(svg(r##"<g id="a"><use href="#a"/></g>"##).as_bytes()).unwrap();
    }

    #[test]
    fn costly_drawing_is_refused() {
        let blur = |region: &str, groups: usize| {
            let open = r#"<g filter="url(#f)" opacity="0.5">"#.repeat(groups);
            svg(&format!(
                r#"<filter id="f" {region}><feGaussianBlur stdDeviation="5"/></filter>{open}<rect width="160" height="256"/>{}"#,
                "</g>".repeat(groups)
            ))
        };
        // A blur over the cover is fine; one over a region far past it (80 million pixels, 20 seconds
        // for resvg) is not, nor is a stack of blurs.
        work(&blur("", 1)).check().unwrap();
        let huge = r#"filterUnits="userSpaceOnUse" x="-100000" y="-100000" width="200000" height="200000""#;
        for bomb in [blur(huge, 1), blur("", 40)] {
            let started = std::time::Instant::now();
            let error = rasterize_svg(bomb.as_bytes()).unwrap_err();
            assert!(error.contains("units of work") || error.contains("MiB of memory"), "{error}");
            assert!(started.elapsed().as_secs() < 5, "refused in {:?}", started.elapsed());
        }
        let morphology = svg(
            r#"<filter id="m"><feMorphology radius="200"/></filter><rect width="160" height="256" filter="url(#m)"/>"#,
        );
        assert!(work(&morphology).check().unwrap_err().contains("units of work"));
        let tile = svg(
            r#"<pattern id="p" width="100000" height="100000" patternUnits="userSpaceOnUse"><rect width="5" height="5"/></pattern><rect width="160" height="256" fill="url(#p)"/>"#,
        );
        assert!(work(&tile).check().is_err());
        // The cover of folio's own book is well within.
        let cover = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/book/cover.svg")).unwrap();
        let cover = work(&cover);
        assert!(cover.pixels < MAX_WORK / 10 && cover.peak_bytes < budget::MAX_DECODE_BYTES / 10, "{cover:?}");
    }

    /// Issue #20, class 4: a PNG inside an SVG cover is checked like any other before it is decoded.
    #[test]
    fn embedded_images_over_the_cap_are_refused() {
        use base64::Engine as _;
        let b64 = |data: &[u8]| base64::engine::general_purpose::STANDARD.encode(data);
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&100_000u32.to_be_bytes());
        png.extend_from_slice(&100_000u32.to_be_bytes());
        png.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
        let image = format!(r#"<image width="160" height="256" href="data:image/png;base64,{}"/>"#, b64(&png));
        let error = rasterize_svg(svg(&image).as_bytes()).unwrap_err();
        assert_eq!(error, "it embeds an image of 100000×100000 pixels, more than folio decodes");
        // An SVG image inside an SVG image inside …: drawn two deep, refused deeper.
        let mut nested = svg(r#"<rect width="10" height="10"/>"#);
        for _ in 0..3 {
            nested = svg(&format!(
                r#"<image width="160" height="256" href="data:image/svg+xml;base64,{}"/>"#,
                b64(nested.as_bytes())
            ));
        }
        assert!(rasterize_svg(nested.as_bytes()).unwrap_err().contains("nests SVG images"));
    }
}
