//! SVG → SVG that can only draw: parsed as XML (roxmltree), written out again from an allow-list of
//! elements and attributes, with every URL decided on.
//!
//! Procedure for an SVG file (an image or a cover):
//! 1. A DOCTYPE with an internal subset (entity declarations: billion laughs, external entities) is
//!    an error; a plain one (`<!DOCTYPE svg PUBLIC …>`) is dropped, since nothing it names is read.
//!    More than [`MAX_NODES`] nodes, or elements nested deeper than [`MAX_DEPTH`], is an error.
//! 2. The root must be `<svg>`. Elements not on the allow-list go with their content: `<script>`,
//!    `<foreignObject>`, animation (`<set>`/`<animate>` can write `href`), `<handler>`, editors'
//!    elements in other namespaces. Event handlers and attributes not on the list go.
//! 3. `href` (and `xlink:href`) of `<image>` and `<feImage>` may point at a fragment, at a `data:`
//!    raster image of the type it claims, or at a file of the book, which the caller packages; every
//!    other element's may point at a fragment only. `<a>` keeps fragments and web links.
//! 4. CSS in `style` attributes, `<style>` elements and presentation attributes keeps `url(#id)`
//!    only ([`super::css::fragments_only`]).
//!
//! Inline `<svg>` in raw HTML is parsed by html5ever and written by `render::html`, which asks
//! [`element_allowed`], [`attribute_allowed`] and [`href_use`] the same questions.

use super::css;
use super::{Finding, UrlKind, classify};
use crate::text::{escape, escape_text, without_forbidden};

/// The SVG namespace.
pub const SVG_NS: &str = "http://www.w3.org/2000/svg";
const XLINK_NS: &str = "http://www.w3.org/1999/xlink";
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// Elements nested deeper than this make an SVG refused: readers' SVG parsers and drawing follow
/// nesting by recursion. An SVG cover folio draws has the same limit (`cover::limits::MAX_DEPTH`).
pub const MAX_DEPTH: usize = 256;

/// An SVG with more nodes (elements, text, comments) than this is refused: parsing holds them all.
pub const MAX_NODES: u32 = 1_000_000;

/// SVG elements that only draw, sorted.
const ELEMENTS: &[&str] = &[
    "a",
    "circle",
    "clipPath",
    "defs",
    "desc",
    "ellipse",
    "feBlend",
    "feColorMatrix",
    "feComponentTransfer",
    "feComposite",
    "feConvolveMatrix",
    "feDiffuseLighting",
    "feDisplacementMap",
    "feDistantLight",
    "feDropShadow",
    "feFlood",
    "feFuncA",
    "feFuncB",
    "feFuncG",
    "feFuncR",
    "feGaussianBlur",
    "feImage",
    "feMerge",
    "feMergeNode",
    "feMorphology",
    "feOffset",
    "fePointLight",
    "feSpecularLighting",
    "feSpotLight",
    "feTile",
    "feTurbulence",
    "filter",
    "g",
    "image",
    "line",
    "linearGradient",
    "marker",
    "mask",
    "path",
    "pattern",
    "polygon",
    "polyline",
    "radialGradient",
    "rect",
    "stop",
    "style",
    "svg",
    "switch",
    "symbol",
    "text",
    "textPath",
    "title",
    "tspan",
    "use",
    "view",
];

/// Attributes that only describe a drawing, sorted (`href` and `style` are checked besides).
const ATTRIBUTES: &[&str] = &[
    "alignment-baseline",
    "amplitude",
    "aria-hidden",
    "aria-label",
    "azimuth",
    "baseFrequency",
    "baseline-shift",
    "bias",
    "class",
    "clip",
    "clip-path",
    "clip-rule",
    "clipPathUnits",
    "color",
    "color-interpolation",
    "color-interpolation-filters",
    "color-rendering",
    "cx",
    "cy",
    "d",
    "diffuseConstant",
    "direction",
    "display",
    "divisor",
    "dominant-baseline",
    "dx",
    "dy",
    "edgeMode",
    "elevation",
    "exponent",
    "fill",
    "fill-opacity",
    "fill-rule",
    "filter",
    "filterUnits",
    "flood-color",
    "flood-opacity",
    "font-family",
    "font-size",
    "font-size-adjust",
    "font-stretch",
    "font-style",
    "font-variant",
    "font-weight",
    "fr",
    "fx",
    "fy",
    "gradientTransform",
    "gradientUnits",
    "height",
    "href",
    "id",
    "image-rendering",
    "in",
    "in2",
    "intercept",
    "isolation",
    "k1",
    "k2",
    "k3",
    "k4",
    "kernelMatrix",
    "kernelUnitLength",
    "lang",
    "lengthAdjust",
    "letter-spacing",
    "lighting-color",
    "limitingConeAngle",
    "marker",
    "marker-end",
    "marker-mid",
    "marker-start",
    "markerHeight",
    "markerUnits",
    "markerWidth",
    "mask",
    "maskContentUnits",
    "maskUnits",
    "media",
    "method",
    "mix-blend-mode",
    "mode",
    "numOctaves",
    "offset",
    "opacity",
    "operator",
    "order",
    "orient",
    "overflow",
    "paint-order",
    "path",
    "pathLength",
    "patternContentUnits",
    "patternTransform",
    "patternUnits",
    "pointer-events",
    "points",
    "pointsAtX",
    "pointsAtY",
    "pointsAtZ",
    "preserveAlpha",
    "preserveAspectRatio",
    "primitiveUnits",
    "r",
    "radius",
    "refX",
    "refY",
    "result",
    "role",
    "rotate",
    "rx",
    "ry",
    "scale",
    "seed",
    "shape-rendering",
    "side",
    "slope",
    "spacing",
    "specularConstant",
    "specularExponent",
    "spreadMethod",
    "startOffset",
    "stdDeviation",
    "stitchTiles",
    "stop-color",
    "stop-opacity",
    "stroke",
    "stroke-dasharray",
    "stroke-dashoffset",
    "stroke-linecap",
    "stroke-linejoin",
    "stroke-miterlimit",
    "stroke-opacity",
    "stroke-width",
    "style",
    "surfaceScale",
    "systemLanguage",
    "tableValues",
    "targetX",
    "targetY",
    "text-anchor",
    "text-decoration",
    "text-rendering",
    "textLength",
    "transform",
    "transform-origin",
    "type",
    "unicode-bidi",
    "values",
    "vector-effect",
    "version",
    "viewBox",
    "visibility",
    "width",
    "word-spacing",
    "writing-mode",
    "x",
    "x1",
    "x2",
    "xChannelSelector",
    "xlink:href",
    "xlink:title",
    "xml:lang",
    "xml:space",
    "y",
    "y1",
    "y2",
    "yChannelSelector",
    "z",
];

/// True for an SVG element that may stay. Inline SVG (in raw HTML) may also hold `<foreignObject>`,
/// whose HTML content the HTML sanitiser writes under its own policy.
pub fn element_allowed(name: &str, inline: bool) -> bool {
    ELEMENTS.binary_search(&name).is_ok() || (inline && name == "foreignObject")
}

/// True for an attribute (its qualified name: `xlink:href`) that may stay on an SVG element; URLs
/// and CSS in its value are checked besides.
pub fn attribute_allowed(name: &str) -> bool {
    ATTRIBUTES.binary_search(&name).is_ok()
}

/// What the `href` of an element may point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HrefUse {
    /// An image to draw (`<image>`, `<feImage>`).
    Image,
    /// A link to follow (`<a>`).
    Link,
    /// Part of the same document (`<use>`, gradients, `<textPath>`, …).
    Fragment,
}

/// What the `href` of an SVG element may point at (the name in any case: HTML's tokenizer lowers it).
pub fn href_use(element: &str) -> HrefUse {
    if element.eq_ignore_ascii_case("image") || element.eq_ignore_ascii_case("feImage") {
        HrefUse::Image
    } else if element == "a" {
        HrefUse::Link
    } else {
        HrefUse::Fragment
    }
}

/// Why an element that scripts or animates is removed (the name in any case), for a warning.
pub fn scripted_element_message(name: &str) -> Option<String> {
    let is = |names: &[&str]| names.iter().any(|n| n.eq_ignore_ascii_case(name));
    if is(&["script", "handler", "listener"]) {
        Some(format!("<{name}> removed from SVG: e-books carry no scripts"))
    } else if is(&["set", "animate", "animateMotion", "animateTransform", "animateColor", "discard"]) {
        Some(format!("SVG animation <{name}> removed: e-books show SVG as a still image"))
    } else {
        None
    }
}

/// Why an element is removed from an SVG file, for a warning; `None` to remove it silently (editors'
/// metadata).
fn removal_message(name: &str) -> Option<String> {
    match name {
        "metadata" => None,
        "foreignObject" => Some("<foreignObject> removed from SVG image with its content".to_string()),
        _ => scripted_element_message(name)
            .or_else(|| Some(format!("unknown SVG element <{name}> removed with its content"))),
    }
}

/// What becomes of a URL in an SVG attribute.
enum Href {
    Keep,
    Replace(String),
    /// Dropped, with a warning when there is something to say.
    Drop(Option<String>),
    /// Refused: the SVG cannot be packaged.
    Error(String),
}

/// Decides on an image URL in an SVG file. `Relative` paths go to `resolve`, which gives the href to
/// write or the error to report.
fn image_href(url: &str, offset: usize, resolve: &mut Resolver<'_>) -> Href {
    match classify(url) {
        UrlKind::Fragment => Href::Keep,
        UrlKind::Empty => Href::Drop(None),
        UrlKind::Data if super::data_image(url).is_some() => Href::Keep,
        UrlKind::Data => Href::Drop(Some(
            "SVG image with a `data:` URL that is not a PNG, JPEG, GIF or WebP image of its stated type removed"
                .to_string(),
        )),
        UrlKind::Relative(path) => match resolve(path, offset) {
            Ok(href) => Href::Replace(href),
            Err(message) => Href::Error(message),
        },
        UrlKind::Remote => Href::Drop(Some(format!(
            "remote image '{url}' in SVG is not embedded (folio works offline) and is removed"
        ))),
        UrlKind::Local => Href::Error(format!("image '{url}' in SVG is outside the book folder")),
        UrlKind::Other => Href::Drop(Some(format!("URL '{url}' removed from SVG: e-books carry no scripts"))),
    }
}

/// Decides on an `href` of any SVG element.
fn href(element: &str, url: &str, offset: usize, resolve: &mut Resolver<'_>) -> Href {
    match (href_use(element), classify(url)) {
        (HrefUse::Image, _) => image_href(url, offset, resolve),
        (_, UrlKind::Fragment) => Href::Keep,
        (HrefUse::Link, UrlKind::Remote) => Href::Keep,
        (_, UrlKind::Other) => Href::Drop(Some(format!("URL '{url}' removed from SVG: e-books carry no scripts"))),
        (_, UrlKind::Empty) => Href::Drop(None),
        (HrefUse::Link, _) => {
            Href::Drop(Some(format!("link '{url}' in SVG leads to no part of the EPUB and is removed")))
        }
        (HrefUse::Fragment, _) => {
            Href::Drop(Some(format!("reference '{url}' on SVG <{element}> leaves the SVG and is removed")))
        }
    }
}

/// Resolves the path of an image an SVG file refers to (relative to the SVG), to the href to write in
/// its place, or says why it cannot be packaged.
/// Its arguments are the URL as written and the byte offset of its attribute.
pub type Resolver<'a> = dyn FnMut(&str, usize) -> Result<String, String> + 'a;

/// A sanitised SVG file.
#[derive(Debug)]
pub struct Sanitized {
    /// The SVG to package, when it can be.
    pub svg: Option<String>,
    /// What was removed or refused, at byte offsets of the input.
    pub findings: Vec<Finding>,
}

/// Sanitises an SVG file's bytes.
pub fn sanitize(data: &[u8], resolve: &mut Resolver<'_>) -> Sanitized {
    let refuse = |offset, message: String| Sanitized { svg: None, findings: vec![Finding::error(offset, message)] };
    let Ok(text) = std::str::from_utf8(data) else {
        return refuse(0, "the SVG is not UTF-8 text".into());
    };
    let options = |allow_dtd| roxmltree::ParsingOptions {
        allow_dtd,
        nodes_limit: MAX_NODES,
        ..roxmltree::ParsingOptions::default()
    };
    let mut parsed = roxmltree::Document::parse_with_options(text, options(false));
    if let Err(roxmltree::Error::DtdDetected) = parsed {
        match doctype(text) {
            Some((offset, true)) => {
                return refuse(
                    offset,
                    "the SVG declares entities (a DOCTYPE with an internal subset), which folio does not expand".into(),
                );
            }
            Some((_, false)) => {
                parsed = roxmltree::Document::parse_with_options(text, options(true));
            }
            None => return refuse(0, "the SVG has a DOCTYPE folio cannot read".into()),
        }
    }
    let document = match parsed {
        Ok(document) => document,
        Err(roxmltree::Error::NodesLimitReached) => {
            return refuse(0, format!("the SVG has more than {MAX_NODES} nodes, more than folio reads"));
        }
        Err(e) => return refuse(offset_of(text, e.pos()), format!("the SVG is not well-formed XML ({e})")),
    };
    let root = document.root_element();
    if root.tag_name().name() != "svg" || !is_svg(root) {
        return refuse(root.range().start, format!("the root element is <{}>, not <svg>", root.tag_name().name()));
    }
    let mut writer = Writer {
        out: String::with_capacity(text.len()),
        findings: Vec::new(),
        unlisted: None,
        resolve,
        refused: false,
    };
    writer.out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    writer.write(root);
    if let Some((worst, count)) = writer.unlisted.take() {
        let message = format!("{} (and {} more removals from this SVG)", worst.message, count - 1);
        writer.findings.push(Finding { message, ..worst });
    }
    let svg = (!writer.refused).then_some(writer.out);
    Sanitized { svg, findings: writer.findings }
}

/// Where the DOCTYPE starts, and whether it has an internal subset.
fn doctype(text: &str) -> Option<(usize, bool)> {
    let mut reader = quick_xml::Reader::from_str(text);
    loop {
        let offset = reader.buffer_position() as usize;
        match reader.read_event().ok()? {
            quick_xml::events::Event::DocType(doctype) => return Some((offset, doctype[..].contains('['))),
            quick_xml::events::Event::Start(_) | quick_xml::events::Event::Empty(_) | quick_xml::events::Event::Eof => {
                return None;
            }
            _ => {}
        }
    }
}

/// The byte offset of a roxmltree position (1-based row and column in characters).
fn offset_of(text: &str, pos: roxmltree::TextPos) -> usize {
    let line_start: usize =
        text.split_inclusive('\n').take(pos.row.saturating_sub(1) as usize).map(str::len).sum::<usize>();
    let line = &text[line_start.min(text.len())..];
    line_start + line.chars().take(pos.col.saturating_sub(1) as usize).map(char::len_utf8).sum::<usize>()
}

/// True for an element in the SVG namespace, or in none (an SVG written without `xmlns` is taken to
/// mean SVG, and gets it).
fn is_svg(node: roxmltree::Node<'_, '_>) -> bool {
    matches!(node.tag_name().namespace(), None | Some(SVG_NS))
}

/// Work items of the iterative walk: deep nesting must not overflow the stack.
enum Step<'a, 'input> {
    Open(roxmltree::Node<'a, 'input>, usize),
    Close(&'input str),
}

struct Writer<'r, 'a> {
    out: String,
    findings: Vec<Finding>,
    /// Findings past the listed ones: the worst, and how many.
    unlisted: Option<(Finding, usize)>,
    resolve: &'r mut Resolver<'a>,
    refused: bool,
}

impl Writer<'_, '_> {
    fn write(&mut self, root: roxmltree::Node<'_, '_>) {
        let mut stack = vec![Step::Open(root, 1)];
        while let Some(step) = stack.pop() {
            let (node, depth) = match step {
                Step::Close(name) => {
                    self.out.push_str("</");
                    self.out.push_str(name);
                    self.out.push('>');
                    continue;
                }
                Step::Open(node, depth) => (node, depth),
            };
            if node.is_text() {
                let text = node.text().unwrap_or_default();
                if node.parent().is_some_and(|p| p.tag_name().name() == "style") {
                    self.style_element(node.range().start, text);
                } else {
                    escape_text(&mut self.out, text);
                }
                continue;
            }
            if !node.is_element() {
                continue;
            }
            let name = node.tag_name().name();
            if !is_svg(node) || !element_allowed(name, false) {
                if is_svg(node)
                    && let Some(message) = removal_message(name)
                {
                    self.note(Finding::warning(node.range().start, message));
                }
                continue;
            }
            if depth > MAX_DEPTH {
                self.refuse(node.range().start, format!("the SVG nests elements deeper than {MAX_DEPTH}"));
                return;
            }
            self.out.push('<');
            self.out.push_str(name);
            if depth == 1 {
                self.out.push_str(" xmlns=\"");
                self.out.push_str(SVG_NS);
                self.out.push_str("\" xmlns:xlink=\"");
                self.out.push_str(XLINK_NS);
                self.out.push('"');
            }
            for attribute in node.attributes() {
                self.attribute(name, &attribute);
            }
            if !node.has_children() {
                self.out.push_str("/>");
                continue;
            }
            self.out.push('>');
            stack.push(Step::Close(name));
            stack.extend(node.children().rev().map(|child| Step::Open(child, depth + 1)));
        }
    }

    fn refuse(&mut self, offset: usize, message: String) {
        self.refused = true;
        self.note(Finding::error(offset, message));
    }

    /// Lists a finding, or counts it once [`super::MAX_LISTED`] are listed.
    fn note(&mut self, finding: Finding) {
        if self.findings.len() < super::MAX_LISTED {
            self.findings.push(finding);
            return;
        }
        let (worst, count) = self.unlisted.get_or_insert((finding.clone(), 0));
        *count += 1;
        if finding.severity < worst.severity {
            *worst = finding;
        }
    }

    fn attribute(&mut self, element: &str, attribute: &roxmltree::Attribute<'_, '_>) {
        let local = attribute.name();
        let name = match attribute.namespace() {
            None => local.to_string(),
            Some(XLINK_NS) => format!("xlink:{local}"),
            Some(XML_NS) => format!("xml:{local}"),
            // Editors' own attributes (Inkscape, Illustrator).
            Some(_) => return,
        };
        let offset = attribute.range().start;
        // XML's parser refuses what XML forbids; dropping it after the checks could join tokens.
        let value = &*without_forbidden(attribute.value());
        if local.to_ascii_lowercase().starts_with("on") {
            self.note(Finding::warning(
                offset,
                format!("event handler `{name}` removed from SVG: e-books carry no scripts"),
            ));
            return;
        }
        if !attribute_allowed(&name) {
            return;
        }
        let value = if local == "href" {
            match href(element, value, offset, self.resolve) {
                Href::Keep => super::as_read(value).to_string(),
                Href::Replace(new) => new,
                Href::Drop(message) => {
                    if let Some(message) = message {
                        self.note(Finding::warning(offset, message));
                    }
                    return;
                }
                Href::Error(message) => {
                    self.refuse(offset, message);
                    return;
                }
            }
        } else if name == "style" || css::may_hold_urls(value) {
            let clean = css::fragments_only(value);
            if name != "style" && clean.css != value {
                self.note(Finding::warning(
                    offset,
                    format!("`{name}` removed from SVG: it refers to something outside the SVG"),
                ));
                return;
            }
            if clean.refused || !clean.scripts.is_empty() || clean.css.len() < value.len() {
                self.note(Finding::warning(
                    offset,
                    "CSS in an SVG `style` attribute that refers outside the SVG removed",
                ));
            }
            clean.css
        } else {
            value.to_string()
        };
        if name == "style" && value.trim().is_empty() {
            return;
        }
        self.out.push(' ');
        self.out.push_str(&name);
        self.out.push_str("=\"");
        escape(&mut self.out, &value);
        self.out.push('"');
    }

    /// The text of a `<style>` element.
    fn style_element(&mut self, offset: usize, text: &str) {
        let clean = css::fragments_only(&without_forbidden(text));
        if clean.refused || !clean.scripts.is_empty() || clean.css.len() < text.len() {
            self.findings
                .push(Finding::warning(offset, "CSS in an SVG <style> element that refers outside the SVG removed"));
        }
        escape_text(&mut self.out, &clean.css);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(svg: &str) -> (Option<String>, Vec<String>) {
        let mut resolve = |path: &str, _| match path {
            "pic.png" => Ok("pic-1234.png".to_string()),
            _ => Err(format!("image '{path}' is missing")),
        };
        let out = sanitize(svg.as_bytes(), &mut resolve);
        let body = out.svg.map(|s| s.trim_start_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n").to_string());
        (body, out.findings.into_iter().map(|f| f.message).collect())
    }

    #[test]
    fn lists_are_sorted_for_binary_search() {
        assert!(ELEMENTS.windows(2).all(|w| w[0] < w[1]));
        assert!(ATTRIBUTES.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn scripts_handlers_and_animation_go() {
        let (svg, findings) = clean(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"><script>alert(2)</script>\
             <a href=\"javascript:alert(3)\"><set attributeName=\"href\" to=\"javascript:x\"/>t</a>\
             <handler type=\"application/ecmascript\">x</handler><circle r=\"1\" fill=\"red\"/></svg>",
        );
        assert_eq!(
            svg.unwrap(),
            "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\"><a>t</a><circle r=\"1\" fill=\"red\"/></svg>"
        );
        assert_eq!(findings.len(), 5, "{findings:?}");
    }

    #[test]
    fn references_stay_inside_the_book() {
        let (svg, findings) = clean(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\">\
             <image xlink:href=\"pic.png\"/><image href=\"http://x/y.png\"/><use href=\"other.svg#a\"/>\
             <use href=\"#a\" style=\"fill:u\\72l(http://x)\" fill=\"url(file:///etc/passwd)\"/></svg>",
        );
        assert_eq!(
            svg.unwrap(),
            "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\">\
             <image xlink:href=\"pic-1234.png\"/><image/><use/><use href=\"#a\"/></svg>"
        );
        assert_eq!(findings.len(), 4, "{findings:?}");
        let (svg, findings) =
            clean("<svg xmlns=\"http://www.w3.org/2000/svg\"><image href=\"file:///etc/passwd\"/></svg>");
        assert!(svg.is_none());
        assert_eq!(findings, ["image 'file:///etc/passwd' in SVG is outside the book folder"]);
        let (svg, findings) = clean("<svg xmlns=\"http://www.w3.org/2000/svg\"><image href=\"../../x.png\"/></svg>");
        assert!(svg.is_none());
        assert_eq!(findings, ["image '../../x.png' is missing"]);
    }

    #[test]
    fn kept_fragments_are_written_as_browsers_read_them() {
        // Found by the property test: ` #aVa\tScRiPt:…` is the fragment `#aVa ScRiPt:…`, and must be written
        // so, not with the space a later reader might not strip.
        let (svg, findings) = clean(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" href=\" #aVa\tScRiPt:alert(1)\"><use href=\"\t#a \"/></svg>",
        );
        assert_eq!(
            svg.unwrap(),
            "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" \
             href=\"#aVa ScRiPt:alert(1)\"><use href=\"#a\"/></svg>"
        );
        assert!(findings.is_empty(), "{findings:?}");
    }

    #[test]
    fn entities_are_refused_and_plain_doctypes_dropped() {
        let bomb = "<?xml version=\"1.0\"?>\n<!DOCTYPE svg [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;\">]>\n\
                    <svg xmlns=\"http://www.w3.org/2000/svg\"><text>&b;</text></svg>";
        let out = sanitize(bomb.as_bytes(), &mut |_, _| Err(String::new()));
        assert!(out.svg.is_none());
        assert_eq!(out.findings[0].offset, 22);
        let external = "<!DOCTYPE svg SYSTEM \"file:///etc/passwd\"><svg xmlns=\"http://www.w3.org/2000/svg\"><text>&x;</text></svg>";
        assert!(clean(external).0.is_none());
        let plain = "<!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" \"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd\">\n\
                     <svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1\"><!-- c --><text>a &amp; b</text></svg>";
        assert_eq!(
            clean(plain),
            (
                Some("<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" width=\"1\"><text>a &amp; b</text></svg>".into()),
                vec![]
            )
        );
    }

    #[test]
    fn findings_past_a_hundred_are_counted() {
        let svg = format!("<svg xmlns=\"http://www.w3.org/2000/svg\">{}</svg>", "<g onclick=\"x\"/>".repeat(300));
        let (svg, findings) = clean(&svg);
        assert!(svg.is_some());
        assert_eq!(findings.len(), super::super::MAX_LISTED + 1);
        assert!(findings.last().unwrap().ends_with("(and 199 more removals from this SVG)"), "{findings:?}");
    }

    #[test]
    fn depth_and_roots_are_checked() {
        let deep = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\">{}{}</svg>",
            "<g>".repeat(100_000),
            "</g>".repeat(100_000)
        );
        let (svg, findings) = clean(&deep);
        assert!(svg.is_none());
        assert_eq!(findings, [format!("the SVG nests elements deeper than {MAX_DEPTH}")]);
        assert!(clean("<html/>").0.is_none());
        assert!(clean("<svg").0.is_none());
        // Editors' namespaces go silently; an SVG without xmlns gets it.
        let (svg, findings) = clean(
            "<svg xmlns:i=\"urn:inkscape\" i:version=\"1\"><i:namedview/><metadata>m</metadata><style>a{fill:url(x.png)}b{fill:red}</style></svg>",
        );
        assert_eq!(
            svg.unwrap(),
            "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\"><style>a{}b{fill:red}</style></svg>"
        );
        assert_eq!(findings.len(), 1);
    }
}
