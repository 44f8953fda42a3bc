//! The XHTML writer: walks the repaired tree as a stream of start, end and text events and writes what
//! the policy keeps, as pulldown-cmark's HTML writer walks Markdown events: a small state (the
//! elements open, what each writes when it ends, whether a dropped element's content is being
//! skipped), `start`/`end`/`text` handlers, and escaping in helpers. It records the ids and images
//! it writes, so no later stage searches the XHTML for them.

use std::collections::HashSet;
use std::fmt::Write as _;

use html5ever::tendril::TendrilSink;
use html5ever::{Attribute, QualName, local_name, ns};

use super::Reference;
use super::policy::{
    BLOCK, PHRASING_ONLY, Rule, VOID, element_attr_allowed, html_rule, html_tag, is_active_url, is_xml_name, value_ok,
};
use super::sink::{ArenaSink, Dom, NodeData};
use crate::sanitize::{self, css, mathml, svg};
use crate::text::{escape, without_forbidden, xml_id};

/// Rewrites a URL found in raw HTML, as the Markdown renderer would: `Some(new)` or `None` to drop it.
pub type UrlRewriter<'a> = dyn Fn(&Reference) -> Option<String> + 'a;

/// What a piece of XHTML holds that later stages look up, recorded as it is written.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Written {
    /// Every `id` written, in order.
    pub ids: Vec<String>,
    /// `<img>` elements written whose `alt` is empty or missing.
    pub undescribed: usize,
}

impl Written {
    /// Records an `<img>` written, with alt text or without.
    pub fn image(&mut self, described: bool) {
        self.undescribed += usize::from(!described);
    }

    /// Adds what another piece of XHTML, written into this one, holds.
    pub fn append(&mut self, other: Written) {
        self.ids.extend(other.ids);
        self.undescribed += other.undescribed;
    }
}

/// The result of sanitizing a chapter body.
pub struct Sanitized {
    /// Well-formed XHTML.
    pub xhtml: String,
    /// The body holds inline SVG (manifest property `svg`).
    pub has_svg: bool,
    /// The body holds MathML (manifest property `mathml`).
    pub has_mathml: bool,
    /// The ids and images written.
    pub written: Written,
}

/// Ids already used in the document, shared by the sanitizing passes over one chapter, and the ids
/// of folio's own headings, which only a heading may carry.
#[derive(Debug, Default)]
pub struct Ids {
    /// Every id written so far.
    pub taken: HashSet<String>,
    /// Ids of the chapter's Markdown headings.
    pub headings: HashSet<String>,
    /// The token that marks folio's own note numbers in this chapter (see [`crate::render::notes::Notes`]).
    pub note_token: String,
}

impl Ids {
    /// Whether an element may carry `id`: the first to claim an id gets it, except that folio's own ids
    /// (notes, note references, headings) belong to the elements folio writes for them.
    fn claim(&mut self, id: &str, tag: &str, class: Option<&str>) -> bool {
        // Note ids are folio's alone (an author's `note.3` could meet a note renumbered to 3 when the book
        // numbers notes across chapters): the notes are written after sanitizing, and folio's references
        // carry the chapter's token.
        let owner_ok = if id.starts_with("note.") {
            false
        } else if id.starts_with("noteref.") {
            class == Some("noteref") && !self.note_token.is_empty() && id.contains(self.note_token.as_str())
        } else if self.headings.contains(id) {
            matches!(tag, "h1" | "h2" | "h3" | "h4" | "h5" | "h6")
        } else {
            true
        };
        owner_ok && self.taken.insert(id.to_string())
    }
}

/// Parses a chapter body as an HTML fragment and writes it back as safe XHTML, sharing `ids` with
/// the chapter's other passes.
pub fn sanitize(body: &str, rewrite: &UrlRewriter<'_>, ids: &mut Ids) -> Sanitized {
    write(body, rewrite, Some(ids))
}

/// Like [`sanitize`], for a piece that stands on its own (a converted formula): no id is written,
/// as none could be known unique in the chapter it goes into.
pub fn sanitize_without_ids(body: &str, rewrite: &UrlRewriter<'_>) -> Sanitized {
    write(body, rewrite, None)
}

fn write(body: &str, rewrite: &UrlRewriter<'_>, ids: Option<&mut Ids>) -> Sanitized {
    let sink = ArenaSink::default();
    let context = QualName::new(None, ns!(html), local_name!("body"));
    let dom = html5ever::parse_fragment(sink, Default::default(), context, vec![], false).one(body);
    // parse_fragment puts the fragment under an <html> element below the document.
    let root = dom.nodes[0].children.first().copied().unwrap_or(0);
    let mut writer = XhtmlWriter {
        dom: &dom,
        out: String::with_capacity(body.len() + body.len() / 8),
        rewrite,
        ids,
        open: Vec::new(),
        ends: Vec::new(),
        skipping: 0,
        written: Written::default(),
        has_svg: false,
        has_mathml: false,
    };
    writer.run(Walk::below(&dom, root));
    Sanitized { xhtml: writer.out, has_svg: writer.has_svg, has_mathml: writer.has_mathml, written: writer.written }
}

/// One step of the walk over the tree, in document order.
enum Event<'a> {
    Start(usize),
    End,
    Text(&'a str),
}

/// The tree below a node as [`Event`]s, walked with a stack of its own: deep nesting must not
/// overflow the thread's.
struct Walk<'a> {
    dom: &'a Dom,
    /// Nodes to enter (`Some`), or `None` where an element entered ends.
    stack: Vec<Option<usize>>,
}

impl<'a> Walk<'a> {
    fn below(dom: &'a Dom, root: usize) -> Self {
        Self { dom, stack: dom.nodes[root].children.iter().rev().map(|&c| Some(c)).collect() }
    }
}

impl<'a> Iterator for Walk<'a> {
    type Item = Event<'a>;

    fn next(&mut self) -> Option<Event<'a>> {
        loop {
            let Some(id) = self.stack.pop()? else { return Some(Event::End) };
            let node = &self.dom.nodes[id];
            match &node.data {
                NodeData::Text(text) => return Some(Event::Text(text)),
                NodeData::Element { .. } => {
                    self.stack.push(None);
                    self.stack.extend(node.children.iter().rev().map(|&c| Some(c)));
                    return Some(Event::Start(id));
                }
                NodeData::Document | NodeData::Ignored => {}
            }
        }
    }
}

/// What an element entered writes when it ends.
enum End<'a> {
    /// Nothing: its tag was left out, its content kept.
    Nothing,
    /// Its end tag.
    Tag(&'a str),
    /// Its end tag, then that of the `<mstyle>` written around it.
    TagAndMstyle(&'a str),
}

struct XhtmlWriter<'a, 'i> {
    dom: &'a Dom,
    out: String,
    rewrite: &'a UrlRewriter<'a>,
    /// `None` when no id is written.
    ids: Option<&'i mut Ids>,
    /// The elements written and still open, innermost last.
    open: Vec<&'a str>,
    /// For each element entered and not yet ended (outside skipped content), what its end writes.
    ends: Vec<End<'a>>,
    /// Depth inside an element whose content is not written (dropped, void, or an image replaced by its alt text).
    skipping: usize,
    written: Written,
    has_svg: bool,
    has_mathml: bool,
}

impl<'a> XhtmlWriter<'a, '_> {
    fn run(&mut self, events: Walk<'a>) {
        for event in events {
            match event {
                Event::Start(_) if self.skipping > 0 => self.skipping += 1,
                Event::End if self.skipping > 0 => self.skipping -= 1,
                Event::Text(_) if self.skipping > 0 => {}
                Event::Start(id) => self.start(id),
                Event::End => self.end(),
                Event::Text(text) => self.text(text),
            }
        }
    }

    fn text(&mut self, text: &str) {
        // Lists and definition lists hold only items: loose text gets an item of its own.
        let item = match self.open.last() {
            Some(&("ul" | "ol")) if !text.trim().is_empty() => Some("li"),
            Some(&"dl") if !text.trim().is_empty() => Some("dd"),
            _ => None,
        };
        match item {
            // Only SVG's `<style>` is written (HTML's is dropped): CSS pointing inside the document.
            _ if self.open.last() == Some(&"style") => {
                escape(&mut self.out, &css::fragments_only(&without_forbidden(text)).css);
            }
            Some(item) => {
                let _ = write!(self.out, "<{item}>");
                escape(&mut self.out, text);
                let _ = write!(self.out, "</{item}>");
            }
            None => escape(&mut self.out, text),
        }
    }

    fn start(&mut self, id: usize) {
        let dom: &'a Dom = self.dom;
        let NodeData::Element { name, attrs } = &dom.nodes[id].data else {
            unreachable!("the walk starts elements only")
        };
        let html = name.ns == ns!(html);
        let tag = self.tag_for(id, name, attrs);
        // The HTML parser lets a block sit inside an inline element (`<span><p>`), which
        // XHTML forbids: there the block's tag is left out and its content kept.
        let tag =
            tag.filter(|t| !(html && BLOCK.contains(t) && self.open.last().is_some_and(|o| PHRASING_ONLY.contains(o))));
        let Some(tag) = tag else {
            // An SVG or MathML element off the allow-list goes with its content (a `<script>`'s
            // text, an `<animate>`'s targets); an HTML one as its rule says.
            if html && html_rule(&name.local) != Rule::Drop {
                self.ends.push(End::Nothing);
            } else {
                self.skipping = 1;
            }
            return;
        };
        if html && tag == "img" && !self.has_usable_src(attrs) {
            // An image folio cannot embed (remote, missing) is replaced by its alt text.
            if let Some(alt) = attrs.iter().find(|a| &*a.name.local == "alt") {
                escape(&mut self.out, &alt.value);
            }
            self.skipping = 1;
            return;
        }
        let mstyle = name.ns == ns!(mathml) && self.open_mstyle(tag, attrs);
        if mstyle {
            self.open.push("mstyle");
        }
        self.start_tag(tag, name, attrs, self.inside_foreign(id));
        if html && VOID.contains(&tag) {
            self.skipping = 1;
            return;
        }
        self.open.push(tag);
        self.ends.push(if mstyle { End::TagAndMstyle(tag) } else { End::Tag(tag) });
    }

    fn end(&mut self) {
        let close = |writer: &mut Self, tag: &str| {
            writer.open.pop();
            let _ = write!(writer.out, "</{tag}>");
        };
        match self.ends.pop().expect("every end has its start") {
            End::Nothing => {}
            End::Tag(tag) => close(self, tag),
            End::TagAndMstyle(tag) => {
                close(self, tag);
                close(self, "mstyle");
            }
        }
    }

    /// The tag to write for an element where it stands, or `None` when the element itself is not written.
    ///
    /// Elements that the XHTML schema allows only in one place (`li` in a list, `dd` in a `dl`, …) become
    /// a neutral `div` or `span` anywhere else, as do those missing a required attribute.
    fn tag_for(&self, id: usize, name: &'a QualName, attrs: &[Attribute]) -> Option<&'a str> {
        let open = &self.open;
        if name.ns == ns!(svg) {
            return (svg::element_allowed(&name.local, true) && is_xml_name(&name.local)).then_some(&*name.local);
        }
        if name.ns == ns!(mathml) {
            return mathml::element_allowed(&name.local).then_some(&*name.local);
        }
        let tag = html_tag(name)?;
        let parent = open.last().copied();
        let inside = |names: &[&str]| open.iter().any(|o| names.contains(o));
        let attr = |key: &str| attrs.iter().find(|a| &*a.name.local == key).map(|a| &*a.value);
        let fixed = match tag {
            "li" if !matches!(parent, Some("ul" | "ol")) => "div",
            "dt" | "dd"
                if !(parent == Some("dl") || (parent == Some("div") && open.iter().rev().nth(1) == Some(&"dl"))) =>
            {
                "div"
            }
            // Parts of a table whose table was left out (it stood in inline content) go too; their content stays.
            "tbody" | "thead" | "tfoot" | "caption" | "colgroup" if parent != Some("table") => return None,
            "tr" if !matches!(parent, Some("table" | "tbody" | "thead" | "tfoot")) => return None,
            "td" | "th" if parent != Some("tr") => return None,
            "col" if !matches!(parent, Some("table" | "colgroup")) => return None,
            // Lists and definition lists hold only their items.
            other if matches!(parent, Some("ul" | "ol")) && other != "li" => "li",
            other if parent == Some("dl") && !matches!(other, "dt" | "dd" | "div") => "dd",
            "figcaption" if parent != Some("figure") => "div",
            "summary" if parent != Some("details") => "div",
            "details" if !self.first_element_is(id, "summary") => "div",
            "rt" | "rp" if parent != Some("ruby") => "span",
            "header" | "footer" if inside(&["header", "footer"]) => "div",
            "address" if inside(&["address"]) => "div",
            // A chapter is not the publication's main content: an author's `<main>` would add a landmark.
            "main" => "div",
            // A link or heading without text is a name screen readers cannot announce (WCAG 2.4.4,
            // 1.3.1); the HTML parser leaves such empty ones behind when it splits nested links or headings.
            "a" if attr("href").is_some() && !self.has_text(id) => "span",
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" if !self.has_text(id) => "p",
            "data" if attr("value").is_none() => "span",
            "bdo" if !attr("dir").is_some_and(|d| matches!(d, "ltr" | "rtl")) => "span",
            other => other,
        };
        Some(fixed)
    }

    /// True when the element holds text a screen reader can announce: visible text, an image's alt
    /// text, or inline SVG or MathML.
    fn has_text(&self, id: usize) -> bool {
        let mut stack = vec![id];
        while let Some(node) = stack.pop() {
            for &child in &self.dom.nodes[node].children {
                match &self.dom.nodes[child].data {
                    NodeData::Text(t) if !t.trim().is_empty() => return true,
                    NodeData::Element { name, attrs, .. } => {
                        let alt = || attrs.iter().any(|a| &*a.name.local == "alt" && !a.value.trim().is_empty());
                        if name.ns == ns!(svg) || name.ns == ns!(mathml) || (&*name.local == "img" && alt()) {
                            return true;
                        }
                        stack.push(child);
                    }
                    _ => {}
                }
            }
        }
        false
    }

    /// True when the first element child of `id` is a `<name>` element.
    fn first_element_is(&self, id: usize, name: &str) -> bool {
        self.dom.nodes[id].children.iter().find_map(|&c| match &self.dom.nodes[c].data {
            NodeData::Element { name: n, .. } => Some(&*n.local == name),
            NodeData::Text(t) if t.trim().is_empty() => None,
            NodeData::Text(_) => Some(false),
            _ => None,
        }) == Some(true)
    }

    /// True when the nearest element above `id` is SVG or MathML, so HTML inside must restate its namespace.
    fn inside_foreign(&self, id: usize) -> bool {
        let mut parent = self.dom.nodes[id].parent;
        while let Some(p) = parent {
            if let NodeData::Element { name, .. } = &self.dom.nodes[p].data {
                // Unwrapped HTML elements write no tag, so look through them to a written one.
                if name.ns != ns!(html) {
                    return true;
                }
                if html_tag(name).is_some() {
                    return false;
                }
            }
            parent = self.dom.nodes[p].parent;
        }
        false
    }

    /// Writes a start tag (`<br/>` for void elements) with the attributes that may stay.
    fn start_tag(&mut self, tag: &str, name: &QualName, attrs: &[Attribute], inside_foreign: bool) {
        let html = name.ns == ns!(html);
        if name.ns == ns!(svg) {
            self.has_svg = true;
        } else if name.ns == ns!(mathml) {
            self.has_mathml = true;
        }
        self.out.push('<');
        self.out.push_str(tag);
        if html && inside_foreign {
            self.out.push_str(" xmlns=\"http://www.w3.org/1999/xhtml\"");
        }
        match (&*name.local, name.ns == ns!(svg), name.ns == ns!(mathml)) {
            ("svg", true, _) => {
                self.out.push_str(" xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\"")
            }
            ("math", _, true) => self.out.push_str(" xmlns=\"http://www.w3.org/1998/Math/MathML\""),
            _ => {}
        }
        let has_id = attrs.iter().any(|a| &*a.name.local == "id");
        let class = attrs.iter().find(|a| &*a.name.local == "class").map(|a| a.value.to_string());
        let mut described = false;
        for attr in attrs {
            let wrote_text = self.write_attribute(name, tag, attr, has_id, class.as_deref());
            described |= wrote_text && &*attr.name.local == "alt";
        }
        self.out.push_str(if html && VOID.contains(&tag) { "/>" } else { ">" });
        if html && tag == "img" {
            self.written.image(described);
        }
    }

    /// Writes an `<mstyle>` that sets, for the MathML element `tag`, the style attributes MathML 3 does not
    /// let it set itself; true when it wrote one.
    fn open_mstyle(&mut self, tag: &str, attrs: &[Attribute]) -> bool {
        let mut moved = attrs
            .iter()
            .filter(|a| a.name.prefix.is_none() && mathml::style_moves_to_mstyle(tag, &a.name.local))
            .filter(|a| mathml::style_value_ok(&a.name.local, &a.value))
            .peekable();
        if moved.peek().is_none() || tag == "math" {
            return false;
        }
        self.out.push_str("<mstyle");
        for attr in moved {
            let _ = write!(self.out, " {}=\"{}\"", &*attr.name.local, attr.value.trim());
        }
        self.out.push('>');
        true
    }

    fn has_usable_src(&self, attrs: &[Attribute]) -> bool {
        attrs.iter().find(|a| &*a.name.local == "src").is_some_and(|a| {
            !is_active_url(&a.value) && (self.rewrite)(&Reference::Image(a.value.to_string())).is_some()
        })
    }

    /// Writes one attribute, when the policy lets it stay; true when it wrote a value that is not empty.
    fn write_attribute(
        &mut self,
        tag: &QualName,
        written: &str,
        attr: &Attribute,
        has_id: bool,
        class: Option<&str>,
    ) -> bool {
        let (html, svg, tag_is_mathml, tag) = (tag.ns == ns!(html), tag.ns == ns!(svg), tag.ns == ns!(mathml), written);
        let local = &*attr.name.local;
        let qualified = match &attr.name.prefix {
            Some(prefix) => format!("{prefix}:{local}"),
            None => local.to_string(),
        };
        if local.starts_with("on")
            || (html && !element_attr_allowed(tag, &qualified) && !(tag == "a" && qualified == "name"))
        {
            return false;
        }
        if svg && !svg::attribute_allowed(&qualified) {
            return false;
        }
        // Written on an `<mstyle>` around the element instead (see `open_mstyle`).
        if tag_is_mathml && attr.name.prefix.is_none() && mathml::style_moves_to_mstyle(tag, local) {
            return false;
        }
        let (prefix_ok, name_ok) = match qualified.split_once(':') {
            // `xml:base` would change what every URL below it means.
            Some((p, l)) => (
                matches!((p, l), ("xml", "lang" | "space") | ("xlink", "href" | "title") | ("epub", _)),
                is_xml_name(l),
            ),
            None => (true, is_xml_name(&qualified)),
        };
        if !prefix_ok || !name_ok || (html && !value_ok(tag, &qualified, &attr.value)) {
            return false;
        }
        // What XML forbids goes first: dropped after the checks, it could join `u\x10rl(` into `url(`.
        let mut value = without_forbidden(&attr.value).into_owned();
        let mut name = qualified.as_str();
        // `<math altimg>` names an image shown for the formula by readers without MathML.
        let is_url = matches!(local, "href" | "src") || (tag_is_mathml && local == "altimg");
        if is_url {
            if is_active_url(&value) {
                return false;
            }
            let read = sanitize::as_read(&value);
            if svg && read.starts_with('#') {
                value = read.to_string();
            }
            let reference = match (svg, local) {
                (true, _) => match svg::href_use(tag) {
                    _ if value.starts_with('#') => None,
                    svg::HrefUse::Image => Some(Reference::Image(value.clone())),
                    svg::HrefUse::Link => Some(Reference::Link(value.clone())),
                    // `<use>`, gradients, `<textPath>`: only inside the document.
                    svg::HrefUse::Fragment => return false,
                },
                // MathML may make any element a link; it draws no images but `<math>`'s fallback.
                (false, "src") if !html => return false,
                (false, "altimg") if tag != "math" => return false,
                (false, "src" | "altimg") => Some(Reference::Image(value.clone())),
                _ => Some(Reference::Link(value.clone())),
            };
            if let Some(reference) = reference {
                match (self.rewrite)(&reference) {
                    Some(new) => value = new,
                    None => return false,
                }
            }
        } else if local == "style" || (svg && css::may_hold_urls(&value)) {
            // CSS may point inside the document only; a presentation attribute that points elsewhere goes whole.
            let clean = css::fragments_only(&value);
            if clean.css.trim().is_empty() || (local != "style" && clean.css != value) {
                return false;
            }
            value = clean.css;
        }
        // `<a name>` is obsolete: it becomes the id it stood for.
        if tag == "a" && name == "name" {
            if has_id {
                return false;
            }
            name = "id";
        }
        if name == "id" {
            value = xml_id(&value);
            let Some(ids) = self.ids.as_deref_mut() else { return false };
            if !ids.claim(&value, tag, class) {
                return false;
            }
            self.written.ids.push(value.clone());
        }
        self.out.push(' ');
        self.out.push_str(name);
        self.out.push_str("=\"");
        if is_url {
            crate::text::escape_href(&mut self.out, &value);
        } else {
            escape(&mut self.out, &value);
        }
        self.out.push('"');
        !value.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(html: &str) -> String {
        let rewrite = |r: &Reference| match r {
            Reference::Image(src) if src.starts_with("http") => None,
            Reference::Image(src) | Reference::Link(src) => Some(src.clone()),
        };
        sanitize(html, &rewrite, &mut Ids::default()).xhtml
    }

    #[test]
    fn repairs_and_strips() {
        assert_eq!(clean("<p>a<br>b&nbsp;c<b><i>x</b></i>"), "<p>a<br/>b\u{a0}c<b><i>x</i></b></p>");
        assert_eq!(clean("<p onclick=\"x()\">t<script>alert(1)</script></p>"), "<p>t</p>");
        assert_eq!(clean("<a href=\"javascript:x\">l</a><a href='JaVa\tscript:y'>m</a>"), "<a>l</a><a>m</a>");
        assert_eq!(clean("<!-- a -- b --><center>c</center><font color=red>d</font>"), "<div>c</div><span>d</span>");
        assert_eq!(
            clean("<p id=\"1\">x</p><p id=\"1\">y</p><a name=\"n\">z</a>"),
            "<p id=\"h-1\">x</p><p>y</p><a id=\"n\">z</a>"
        );
        assert_eq!(clean("<div a\"b=1 x:y=2 class=\"c\">q</div>"), "<div class=\"c\">q</div>");
        assert_eq!(clean("<foo-bar>kept</foo-bar><iframe src=x></iframe>"), "kept");
    }

    #[test]
    fn nameless_links_and_headings_and_authors_main_become_plain() {
        assert_eq!(
            clean("<a href=\"#h\"><a href=\"#h\">nested</a></a><h1><h2>inner</h2></h1><main>m</main>"),
            "<span></span><a href=\"#h\">nested</a><p></p><h2>inner</h2><div>m</div>"
        );
        assert_eq!(
            clean("<a href=\"#h\"><img src=\"i.png\" alt=\"Home\"/></a><h3> <svg><title>t</title></svg></h3>"),
            "<a href=\"#h\"><img src=\"i.png\" alt=\"Home\"/></a><h3> <svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\"><title>t</title></svg></h3>"
        );
    }

    #[test]
    fn folios_own_ids_belong_to_folios_elements() {
        let mut ids = Ids { headings: ["intro".to_string()].into(), note_token: "T".into(), ..Ids::default() };
        let body = "<span id=\"note.1\">a</span><p id=\"intro\">b</p><h2 id=\"intro\">c</h2><aside class=\"footnote\" id=\"note.1\">n</aside>\
                    <a class=\"noteref\" id=\"noteref.1\">1</a><a class=\"noteref\" id=\"noteref.T1\">1</a>";
        let out = sanitize(body, &|_| None, &mut ids).xhtml;
        assert_eq!(
            out,
            "<span>a</span><p>b</p><h2 id=\"intro\">c</h2><aside class=\"footnote\">n</aside>\
             <a class=\"noteref\">1</a><a class=\"noteref\" id=\"noteref.T1\">1</a>"
        );
        // A second pass over the same chapter sees the ids the first one wrote.
        assert_eq!(
            sanitize("<b id=\"intro\">x</b><i id=\"fresh\">y</i>", &|_| None, &mut ids).xhtml,
            "<b>x</b><i id=\"fresh\">y</i>"
        );
    }

    #[test]
    fn blocks_never_end_up_inside_inline_elements() {
        assert_eq!(clean("<span class=\"c\"><b>a<p>block</p>b</b></span>"), "<span class=\"c\"><b>ablockb</b></span>");
        assert_eq!(clean("<em><div><h2>x</h2></div></em>"), "<em>x</em>");
        assert_eq!(clean("<dl><dt>t<p>p</p></dt>loose<p>q</p></dl>"), "<dl><dt>tp</dt><dd>loose</dd><dd>q</dd></dl>");
        assert_eq!(
            clean("<ul><p>a</p>b<li>c</li></ul><li>stray</li>"),
            "<ul><li>a</li><li>b</li><li>c</li></ul><div>stray</div>"
        );
    }

    #[test]
    fn html_inside_svg_restates_its_namespace() {
        let s = sanitize("<svg><foreignObject><p>x</p></foreignObject></svg>", &|_| None, &mut Ids::default());
        assert!(
            s.xhtml.contains("<foreignObject><p xmlns=\"http://www.w3.org/1999/xhtml\">x</p></foreignObject>"),
            "{}",
            s.xhtml
        );
    }

    #[test]
    fn mathml_core_style_attributes_move_where_mathml_3_allows_them() {
        assert_eq!(
            clean(
                "<math scriptlevel=\"1\"><mfrac displaystyle=\"true\" scriptlevel=\"+1\"><mi>a</mi><mi>b</mi></mfrac><mtable displaystyle=\"false\" scriptlevel=\"x\"><mtr><mtd><mi>c</mi></mtd></mtr></mtable></math>"
            ),
            "<math xmlns=\"http://www.w3.org/1998/Math/MathML\"><mstyle displaystyle=\"true\" scriptlevel=\"+1\"><mfrac><mi>a</mi><mi>b</mi></mfrac></mstyle><mtable displaystyle=\"false\"><mtr><mtd><mi>c</mi></mtd></mtr></mtable></math>"
        );
    }

    #[test]
    fn keeps_svg_and_mathml_in_their_namespaces() {
        let s = sanitize(
            "<svg viewbox=\"0 0 1 1\"><circle r=\"1\"/></svg><math><mi>x</mi></math>",
            &|_| None,
            &mut Ids::default(),
        );
        assert!(s.has_svg && s.has_mathml);
        assert_eq!(
            s.xhtml,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" viewBox=\"0 0 1 1\"><circle r=\"1\"></circle></svg><math xmlns=\"http://www.w3.org/1998/Math/MathML\"><mi>x</mi></math>"
        );
    }

    #[test]
    fn inline_svg_keeps_drawing_only() {
        let out = clean(
            "<svg><script>alert(1)</script><a href=\"#x\"><set attributeName=\"href\" to=\"javascript:alert(1)\"/>\
             <animate attributeName=\"href\" values=\"javascript:alert(2)\"/>t</a><handler>alert(3)</handler>\
             <use href=\"other.svg#a\" xlink:href=\"file:///etc/passwd\"/><use href=\"#a\"/>\
             <circle r=\"1\" style=\"fill:u\\72l(http://x/y.png);stroke:red\" fill=\"url(http://x)\" stroke=\"url(#g)\"/>\
             <image href=\"pic.png\"/><image href=\"http://x/y.png\"/><image href=\"data:image/png;base64,AA\"/></svg>",
        );
        assert_eq!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\"><a href=\"#x\">t</a>\
             <use></use><use href=\"#a\"></use><circle r=\"1\" style=\"stroke:red\" stroke=\"url(#g)\"></circle>\
             <image href=\"pic.png\"></image><image></image><image></image></svg>"
        );
    }

    #[test]
    fn css_escapes_do_not_hide_urls_in_style_attributes() {
        assert_eq!(
            clean("<p style=\"background:u\\72l(http://x/y.png)\">a</p><p style=\"color:red;b:URL(x)\">b</p>"),
            "<p>a</p><p style=\"color:red;\">b</p>"
        );
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let html = "<div>".repeat(5_000);
        let out = clean(&html);
        assert!(out.starts_with("<div><div>") && out.ends_with("</div></div>"));
    }
}
