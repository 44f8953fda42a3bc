//! Raw HTML in Markdown → well-formed, safe XHTML.
//!
//! Two passes share one policy. `scan` tokenizes each raw HTML fragment where the author wrote it,
//! to report what will be removed at its Markdown position and to find the images and links it
//! uses. `sanitize` parses a whole chapter body with html5ever's tree builder (so misnested and
//! unclosed tags are repaired as a browser would) and serializes it as XHTML, applying the policy.
//! Chapters without raw HTML never come here.

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt::Write as _;

use html5ever::tendril::{StrTendril, TendrilSink};
use html5ever::tokenizer::{BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts};
use html5ever::tree_builder::{ElemName, ElementFlags, NodeOrText, QuirksMode, TreeSink};
use html5ever::{Attribute, LocalName, Namespace, QualName, local_name, ns};

use crate::sanitize::{self, css, mathml, svg};
use crate::text::{escape, without_forbidden, xml_id};

/// What happens to an element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    Keep,
    /// An obsolete element replaced by its modern equivalent.
    Rename(&'static str),
    /// The element goes, its content stays.
    Unwrap,
    /// The element and its content go.
    Drop,
}

const ALLOWED: &[&str] = &[
    "a",
    "abbr",
    "address",
    "article",
    "aside",
    "b",
    "bdi",
    "bdo",
    "blockquote",
    "br",
    "caption",
    "cite",
    "code",
    "col",
    "colgroup",
    "data",
    "dd",
    "del",
    "details",
    "dfn",
    "div",
    "dl",
    "dt",
    "em",
    "figcaption",
    "figure",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "i",
    "img",
    "ins",
    "kbd",
    "li",
    "main",
    "mark",
    "nav",
    "ol",
    "p",
    "pre",
    "q",
    "rp",
    "rt",
    "ruby",
    "s",
    "samp",
    "section",
    "small",
    "span",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "time",
    "tr",
    "u",
    "ul",
    "var",
    "wbr",
];

fn html_rule(name: &str) -> Rule {
    match name {
        _ if ALLOWED.contains(&name) => Rule::Keep,
        "center" => Rule::Rename("div"),
        "font" | "big" | "blink" | "marquee" | "nobr" => Rule::Rename("span"),
        "tt" => Rule::Rename("code"),
        "strike" => Rule::Rename("s"),
        "acronym" => Rule::Rename("abbr"),
        "script" | "style" | "template" | "noscript" | "iframe" | "frame" | "frameset" | "object" | "embed"
        | "applet" | "input" | "button" | "select" | "textarea" | "option" | "optgroup" | "datalist" | "output"
        | "canvas" | "audio" | "video" | "source" | "track" | "map" | "area" | "title" | "meta" | "link" | "base"
        | "head" | "param" | "dialog" => Rule::Drop,
        _ => Rule::Unwrap,
    }
}

/// Why an element is reported when it is removed; `None` for silent repairs.
fn removal_message(name: &str, rule: Rule) -> Option<String> {
    match (name, rule) {
        ("script" | "noscript", _) => Some(format!("<{name}> removed: e-books carry no scripts")),
        ("style", _) => Some("<style> removed: put CSS in a stylesheet listed in [epub] stylesheets".to_string()),
        (_, Rule::Drop) => Some(format!("<{name}> is not supported in the EPUB and is removed with its content")),
        ("html" | "body" | "tbody" | "thead", Rule::Unwrap) => None,
        ("form" | "label" | "fieldset" | "legend", Rule::Unwrap) => {
            Some(format!("<{name}> is not supported in the EPUB and is removed (its content is kept)"))
        }
        (_, Rule::Unwrap) => Some(format!("unknown element <{name}> removed (its content is kept)")),
        _ => None,
    }
}

/// Attributes allowed on every HTML element (besides `aria-*` and `data-*`).
const GLOBAL_ATTRS: &[&str] =
    &["id", "class", "title", "lang", "xml:lang", "dir", "role", "epub:type", "hidden", "style", "translate"];

fn element_attr_allowed(element: &str, attr: &str) -> bool {
    GLOBAL_ATTRS.contains(&attr)
        || attr.starts_with("aria-")
        || (attr.starts_with("data-")
            && attr.len() > 5
            && attr[5..].bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'))
        || matches!(
            (element, attr),
            ("a", "href" | "hreflang" | "rel")
                | ("img", "src" | "alt" | "width" | "height")
                | ("ol", "start" | "reversed" | "type")
                | ("li", "value")
                | ("td" | "th", "colspan" | "rowspan" | "headers")
                | ("th", "scope" | "abbr")
                | ("col" | "colgroup", "span")
                | ("blockquote" | "q" | "del" | "ins", "cite")
                | ("del" | "ins" | "time", "datetime")
                | ("data", "value")
                | ("details", "open")
                | ("bdo", "dir")
        )
}

/// True for URLs that could run code or smuggle content: `javascript:`, `vbscript:`, `data:`.
pub fn is_active_url(url: &str) -> bool {
    let compact: String =
        url.chars().filter(|c| !c.is_whitespace() && !c.is_control()).take(12).collect::<String>().to_ascii_lowercase();
    compact.starts_with("javascript:") || compact.starts_with("vbscript:") || compact.starts_with("data:")
}

pub(crate) fn is_xml_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// A URL attribute found while scanning, for the renderer to resolve and check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// `<a href>`.
    Link(String),
    /// `<img src>`.
    Image(String),
}

/// What a scan of one raw HTML fragment found; lines are 1-based within the fragment.
#[derive(Debug, Default)]
pub struct ScanReport {
    /// Warnings about content that will be removed.
    pub warnings: Vec<(u64, String)>,
    /// Accessibility problems (WCAG), as warnings.
    pub accessibility: Vec<(u64, String)>,
    /// Links and images to resolve.
    pub references: Vec<(u64, Reference)>,
    /// When the fragment is one plain inline tag (or a comment) that needs no repair: that tag.
    pub simple: Option<SimpleTag>,
}

/// A raw inline tag folio can write itself, without parsing the chapter as HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimpleTag {
    /// `<b class="x">`, `<br>`: name, attributes, and whether it is void.
    Start(String, Vec<(String, String)>, bool),
    /// `</b>`.
    End(String),
    /// A comment, which folio leaves out.
    Comment,
}

/// Phrasing elements that may appear in a fast-path tag (not `a` or `img`, whose URLs need resolving).
const INLINE: &[&str] = &[
    "abbr", "b", "bdi", "bdo", "br", "cite", "code", "data", "del", "dfn", "em", "i", "ins", "kbd", "mark", "q", "s",
    "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var", "wbr",
];

/// The fragment as a [`SimpleTag`], if it is exactly one inline tag with safe, allowed attributes and no id.
fn simple_tag(fragment: &str) -> Option<SimpleTag> {
    let inner = fragment.trim().strip_prefix('<')?.strip_suffix('>')?;
    if let Some(comment) = inner.strip_prefix("!--") {
        // `<!-->` and `<!--->` are not comments that end where they seem to: leave them to the parser.
        let text = comment.strip_suffix("--")?;
        return (!text.contains("--") && !text.starts_with('-') && !text.starts_with('>'))
            .then_some(SimpleTag::Comment);
    }
    if let Some(name) = inner.strip_prefix('/') {
        let name = name.trim().to_ascii_lowercase();
        return INLINE.contains(&name.as_str()).then_some(SimpleTag::End(name));
    }
    None
}

/// Raw HTML nested deeper than this is refused: no book needs it, and HTML5 tree building costs
/// time quadratic in the depth (Blink caps its parser's depth at 512 for the same reason).
pub const MAX_DEPTH: usize = 1_000;

/// Elements that never hold others open: void elements, and those whose end tag is optional and
/// usually left out (`<p>a<p>b` is two siblings, not nesting).
const NOT_NESTING: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr", "p",
    "li", "dt", "dd", "tr", "td", "th", "thead", "tbody", "tfoot", "colgroup", "caption", "option", "optgroup", "rt",
    "rp",
];

/// What a chapter's scan carries from one raw HTML fragment to the next.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScanState {
    /// Depth inside `<svg>` or `<math>`, whose elements the HTML rules do not cover.
    foreign_depth: usize,
    /// Depth inside `<svg>`, whose elements the SVG rules cover.
    svg_depth: usize,
    /// Elements opened and not yet closed (an estimate: the tree builder closes some implicitly).
    open_depth: usize,
    /// The deepest `open_depth` seen.
    pub max_depth: usize,
    /// Depth inside `<table>`, and whether the outermost open table has a header cell yet.
    table_depth: usize,
    table_has_header: bool,
}

#[derive(Default)]
struct ScanSink {
    report: RefCell<ScanReport>,
    state: std::cell::Cell<ScanState>,
}

impl ScanSink {
    /// A start tag that the fast path may write as it is (after escaping), or `None`.
    fn simple_start(&self, tag: &html5ever::tokenizer::Tag) -> Option<SimpleTag> {
        let name = &*tag.name;
        if !INLINE.contains(&name) || self.state.get().foreign_depth > 0 {
            return None;
        }
        let mut attrs = Vec::with_capacity(tag.attrs.len());
        for attr in &tag.attrs {
            let key = &*attr.name.local;
            let value = &*attr.value;
            let safe = element_attr_allowed(name, key)
                && is_xml_name(key)
                && key != "id"
                && !(key == "style" && css::may_hold_urls(value))
                && !is_active_url(value);
            if !safe {
                return None;
            }
            attrs.push((key.to_string(), value.to_string()));
        }
        Some(SimpleTag::Start(name.to_string(), attrs, VOID.contains(&name)))
    }
}

impl TokenSink for ScanSink {
    type Handle = ();

    fn process_token(&self, token: Token, line: u64) -> TokenSinkResult<()> {
        let Token::TagToken(tag) = token else { return TokenSinkResult::Continue };
        let name = &*tag.name;
        let foreign_root = matches!(name, "svg" | "math");
        let mut state = self.state.get();
        if tag.kind != TagKind::StartTag {
            // WCAG 1.3.1: without header cells, a screen reader cannot say what a cell's column means.
            if name == "table" && state.table_depth > 0 {
                state.table_depth -= 1;
                if state.table_depth == 0 && !state.table_has_header {
                    self.report.borrow_mut().accessibility.push((
                        line,
                        "table has no header cells (`<th>`); screen readers cannot say what its columns hold".into(),
                    ));
                }
            }
            if foreign_root {
                state.foreign_depth = state.foreign_depth.saturating_sub(1);
            }
            if name == "svg" {
                state.svg_depth = state.svg_depth.saturating_sub(1);
            }
            state.open_depth = state.open_depth.saturating_sub(1);
            self.state.set(state);
            return TokenSinkResult::Continue;
        }
        match name {
            "table" if state.foreign_depth == 0 => {
                if state.table_depth == 0 {
                    state.table_has_header = false;
                }
                state.table_depth += 1;
            }
            "th" => state.table_has_header = true,
            _ => {}
        }
        if !tag.self_closing && !NOT_NESTING.contains(&name) {
            state.open_depth += 1;
            state.max_depth = state.max_depth.max(state.open_depth);
        }
        let mut report = self.report.borrow_mut();
        report.simple = self.simple_start(&tag);
        let in_svg = state.svg_depth > 0;
        if foreign_root && !tag.self_closing {
            state.foreign_depth += 1;
            state.svg_depth += usize::from(name == "svg");
            self.state.set(state);
        } else if state.foreign_depth == 0 {
            self.state.set(state);
            if let Some(message) = removal_message(name, html_rule(name)) {
                report.warnings.push((line, message));
            }
        } else if in_svg && let Some(message) = svg::scripted_element_message(name) {
            report.warnings.push((line, message));
        }
        let in_math = state.foreign_depth > 0 && !in_svg && name != "svg";
        for attr in &tag.attrs {
            let attr_name = &*attr.name.local;
            let value = &*attr.value;
            let href = matches!(attr_name, "href" | "xlink:href");
            if attr_name.starts_with("on") {
                report
                    .warnings
                    .push((line, format!("event handler `{attr_name}` on <{name}> removed: e-books carry no scripts")));
            } else if (href || matches!(attr_name, "src" | "action" | "formaction")) && is_active_url(value) {
                report.warnings.push((line, format!("`{attr_name}` with a script or data URL on <{name}> removed")));
            } else if href && in_svg {
                match svg::href_use(name) {
                    svg::HrefUse::Image if !value.trim_start().starts_with('#') => {
                        report.references.push((line, Reference::Image(value.to_string())));
                    }
                    svg::HrefUse::Link => report.references.push((line, Reference::Link(value.to_string()))),
                    svg::HrefUse::Fragment if !value.trim_start().starts_with('#') => report
                        .warnings
                        .push((line, format!("reference '{value}' on SVG <{name}> leaves the SVG and is removed"))),
                    svg::HrefUse::Image | svg::HrefUse::Fragment => {}
                }
            } else if (href && in_math) || (name, attr_name) == ("a", "href") {
                report.references.push((line, Reference::Link(value.to_string())));
            } else if (name, attr_name) == ("img", "src") {
                report.references.push((line, Reference::Image(value.to_string())));
            }
        }
        TokenSinkResult::Continue
    }
}

/// Tokenizes one raw HTML fragment (no tree building) to find what `sanitize` will change.
/// `state` carries nesting from one fragment of a chapter to the next.
pub fn scan(fragment: &str, state: &mut ScanState) -> ScanReport {
    let sink = ScanSink { state: std::cell::Cell::new(*state), ..ScanSink::default() };
    let tokenizer = Tokenizer::new(sink, TokenizerOpts::default());
    let queue = BufferQueue::default();
    queue.push_back(StrTendril::from_slice(fragment));
    let _ = tokenizer.feed(&queue);
    tokenizer.end();
    *state = tokenizer.sink.state.get();
    let mut report = tokenizer.sink.report.into_inner();
    // One token only: the fragment must be exactly that tag (the tokenizer saw a start tag) or an end tag/comment.
    let one_tag = fragment.trim_start().starts_with('<')
        && fragment.trim_end().ends_with('>')
        && fragment.matches('<').count() == 1;
    report.simple = if !one_tag {
        None
    } else if report.simple.is_some() {
        report.simple
    } else {
        simple_tag(fragment)
    };
    report
}

/// Rewrites a URL found in raw HTML, as the Markdown renderer would: `Some(new)` or `None` to drop it.
pub type UrlRewriter<'a> = dyn Fn(&Reference) -> Option<String> + 'a;

/// The result of sanitizing a chapter body.
pub struct Sanitized {
    /// Well-formed XHTML.
    pub xhtml: String,
    /// The body holds inline SVG (manifest property `svg`).
    pub has_svg: bool,
    /// The body holds MathML (manifest property `mathml`).
    pub has_mathml: bool,
}

/// Parses a chapter body as an HTML fragment and writes it back as safe XHTML.
/// Ids already used in the document, shared by the sanitizing passes over one chapter, and the ids
/// of folio's own headings, which only a heading may carry.
#[derive(Debug, Default)]
pub struct Ids {
    /// Every id written so far.
    pub taken: HashSet<String>,
    /// Ids of the chapter's Markdown headings.
    pub headings: HashSet<String>,
}

impl Ids {
    /// Whether an element may carry `id`: the first to claim an id gets it, except that folio's own ids
    /// (notes, note references, headings) belong to the elements folio writes for them.
    fn claim(&mut self, id: &str, tag: &str, class: Option<&str>) -> bool {
        let owner_ok = if id.starts_with("note.") {
            class == Some("footnote")
        } else if id.starts_with("noteref.") {
            class == Some("noteref")
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
    let sink = ArenaSink::default();
    let context = QualName::new(None, ns!(html), local_name!("body"));
    let dom = html5ever::parse_fragment(sink, Default::default(), context, vec![], false).one(body);
    let mut writer = XhtmlWriter {
        dom: &dom,
        out: String::with_capacity(body.len() + body.len() / 8),
        rewrite,
        ids: std::mem::take(ids),
        has_svg: false,
        has_mathml: false,
    };
    // parse_fragment puts the fragment under an <html> element below the document.
    let root = dom.nodes[0].children.first().copied().unwrap_or(0);
    writer.write_children(root);
    *ids = std::mem::take(&mut writer.ids);
    Sanitized { xhtml: writer.out, has_svg: writer.has_svg, has_mathml: writer.has_mathml }
}

#[derive(Debug)]
enum NodeData {
    Document,
    Element {
        name: QualName,
        attrs: Vec<Attribute>,
    },
    Text(StrTendril),
    /// Comments, processing instructions, doctypes: never written out.
    Ignored,
}

#[derive(Debug)]
struct Node {
    data: NodeData,
    parent: Option<usize>,
    children: Vec<usize>,
}

/// A minimal DOM for html5ever: nodes in a vector, handles are indices.
#[derive(Debug)]
struct ArenaSink {
    nodes: RefCell<Vec<Node>>,
}

impl Default for ArenaSink {
    fn default() -> Self {
        Self { nodes: RefCell::new(vec![Node { data: NodeData::Document, parent: None, children: vec![] }]) }
    }
}

/// The finished DOM.
struct Dom {
    nodes: Vec<Node>,
}

#[derive(Debug)]
/// An element name owned by value, so the sink need not hand out borrows of its `RefCell`.
struct OwnedName(QualName);

impl ElemName for OwnedName {
    fn ns(&self) -> &Namespace {
        &self.0.ns
    }
    fn local_name(&self) -> &LocalName {
        &self.0.local
    }
}

impl ArenaSink {
    fn new_node(&self, data: NodeData) -> usize {
        let mut nodes = self.nodes.borrow_mut();
        nodes.push(Node { data, parent: None, children: vec![] });
        nodes.len() - 1
    }

    fn detach(&self, node: usize) {
        let mut nodes = self.nodes.borrow_mut();
        if let Some(parent) = nodes[node].parent.take() {
            nodes[parent].children.retain(|&c| c != node);
        }
    }

    fn insert(&self, parent: usize, index: Option<usize>, child: NodeOrText<usize>) {
        let mut nodes = self.nodes.borrow_mut();
        let position = index.unwrap_or(nodes[parent].children.len());
        match child {
            NodeOrText::AppendText(text) => {
                // Merge with the preceding text node, as the DOM does.
                if position > 0 {
                    let prev = nodes[parent].children[position - 1];
                    if let NodeData::Text(t) = &mut nodes[prev].data {
                        t.push_tendril(&text);
                        return;
                    }
                }
                nodes.push(Node { data: NodeData::Text(text), parent: Some(parent), children: vec![] });
                let id = nodes.len() - 1;
                nodes[parent].children.insert(position, id);
            }
            NodeOrText::AppendNode(node) => {
                drop(nodes);
                self.detach(node);
                let mut nodes = self.nodes.borrow_mut();
                let position = index.unwrap_or(nodes[parent].children.len()).min(nodes[parent].children.len());
                nodes[node].parent = Some(parent);
                nodes[parent].children.insert(position, node);
            }
        }
    }
}

impl TreeSink for ArenaSink {
    type Handle = usize;
    type Output = Dom;
    type ElemName<'a> = OwnedName;

    fn finish(self) -> Dom {
        Dom { nodes: self.nodes.into_inner() }
    }
    fn parse_error(&self, _msg: std::borrow::Cow<'static, str>) {}
    fn get_document(&self) -> usize {
        0
    }
    fn elem_name<'a>(&'a self, target: &'a usize) -> OwnedName {
        match &self.nodes.borrow()[*target].data {
            NodeData::Element { name, .. } => OwnedName(name.clone()),
            _ => OwnedName(QualName::new(None, ns!(html), local_name!(""))),
        }
    }
    fn create_element(&self, name: QualName, attrs: Vec<Attribute>, _flags: ElementFlags) -> usize {
        self.new_node(NodeData::Element { name, attrs })
    }
    fn create_comment(&self, _text: StrTendril) -> usize {
        self.new_node(NodeData::Ignored)
    }
    fn create_pi(&self, _target: StrTendril, _data: StrTendril) -> usize {
        self.new_node(NodeData::Ignored)
    }
    fn append(&self, parent: &usize, child: NodeOrText<usize>) {
        self.insert(*parent, None, child);
    }
    fn append_based_on_parent_node(&self, element: &usize, prev_element: &usize, child: NodeOrText<usize>) {
        if self.nodes.borrow()[*element].parent.is_some() {
            self.append_before_sibling(element, child);
        } else {
            self.append(prev_element, child);
        }
    }
    fn append_doctype_to_document(&self, _name: StrTendril, _public_id: StrTendril, _system_id: StrTendril) {}
    fn get_template_contents(&self, target: &usize) -> usize {
        // Template contents are dropped by the policy; the element itself can hold them.
        *target
    }
    fn same_node(&self, x: &usize, y: &usize) -> bool {
        x == y
    }
    fn set_quirks_mode(&self, _mode: QuirksMode) {}
    fn append_before_sibling(&self, sibling: &usize, new_node: NodeOrText<usize>) {
        let parent = self.nodes.borrow()[*sibling].parent;
        if let Some(parent) = parent {
            let index = self.nodes.borrow()[parent].children.iter().position(|c| c == sibling);
            self.insert(parent, index, new_node);
        }
    }
    fn add_attrs_if_missing(&self, target: &usize, attrs: Vec<Attribute>) {
        if let NodeData::Element { attrs: existing, .. } = &mut self.nodes.borrow_mut()[*target].data {
            for attr in attrs {
                if !existing.iter().any(|a| a.name == attr.name) {
                    existing.push(attr);
                }
            }
        }
    }
    fn remove_from_parent(&self, target: &usize) {
        self.detach(*target);
    }
    fn reparent_children(&self, node: &usize, new_parent: &usize) {
        let children = std::mem::take(&mut self.nodes.borrow_mut()[*node].children);
        let mut nodes = self.nodes.borrow_mut();
        for &c in &children {
            nodes[c].parent = Some(*new_parent);
        }
        nodes[*new_parent].children.extend(children);
    }
}

struct XhtmlWriter<'a> {
    dom: &'a Dom,
    out: String,
    rewrite: &'a UrlRewriter<'a>,
    ids: Ids,
    has_svg: bool,
    has_mathml: bool,
}

/// Work items for the iterative walk: deep nesting must not overflow the stack.
enum Step<'a> {
    Open(usize),
    Close(&'a str),
}

const VOID: &[&str] = &["br", "hr", "img", "wbr", "col"];

/// Elements that may hold only inline (phrasing) content.
const PHRASING_ONLY: &[&str] = &[
    "a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "del", "dfn", "em", "i", "ins", "kbd", "mark", "q", "s",
    "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var", "p", "pre", "h1", "h2", "h3", "h4", "h5",
    "h6", "dt", "summary",
];

/// Block elements, which may not stand inside an element that holds only inline content.
const BLOCK: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "details",
    "div",
    "dl",
    "figure",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "ul",
];

/// ARIA 1.2 and DPUB-ARIA roles that EPUB's XHTML schema accepts.
const ROLES: &[&str] = &[
    "alert",
    "alertdialog",
    "application",
    "article",
    "banner",
    "button",
    "cell",
    "checkbox",
    "columnheader",
    "combobox",
    "complementary",
    "contentinfo",
    "definition",
    "dialog",
    "directory",
    "document",
    "feed",
    "figure",
    "form",
    "grid",
    "gridcell",
    "group",
    "heading",
    "img",
    "link",
    "list",
    "listbox",
    "listitem",
    "log",
    "main",
    "marquee",
    "math",
    "menu",
    "menubar",
    "menuitem",
    "menuitemcheckbox",
    "menuitemradio",
    "navigation",
    "none",
    "note",
    "option",
    "presentation",
    "progressbar",
    "radio",
    "radiogroup",
    "region",
    "row",
    "rowgroup",
    "rowheader",
    "scrollbar",
    "search",
    "searchbox",
    "separator",
    "slider",
    "spinbutton",
    "status",
    "switch",
    "tab",
    "table",
    "tablist",
    "tabpanel",
    "term",
    "textbox",
    "timer",
    "toolbar",
    "tooltip",
    "tree",
    "treegrid",
    "treeitem",
    "doc-abstract",
    "doc-acknowledgments",
    "doc-afterword",
    "doc-appendix",
    "doc-backlink",
    "doc-biblioentry",
    "doc-bibliography",
    "doc-biblioref",
    "doc-chapter",
    "doc-colophon",
    "doc-conclusion",
    "doc-cover",
    "doc-credit",
    "doc-credits",
    "doc-dedication",
    "doc-endnote",
    "doc-endnotes",
    "doc-epigraph",
    "doc-epilogue",
    "doc-errata",
    "doc-example",
    "doc-footnote",
    "doc-foreword",
    "doc-glossary",
    "doc-glossref",
    "doc-index",
    "doc-introduction",
    "doc-noteref",
    "doc-notice",
    "doc-pagebreak",
    "doc-pagefooter",
    "doc-pageheader",
    "doc-pagelist",
    "doc-part",
    "doc-preface",
    "doc-prologue",
    "doc-pullquote",
    "doc-qna",
    "doc-subtitle",
    "doc-tip",
    "doc-toc",
];

/// The HTML tag an element is written as, if it is an HTML element that is written at all.
fn html_tag(name: &QualName) -> Option<&str> {
    if name.ns != ns!(html) {
        return None;
    }
    match html_rule(&name.local) {
        Rule::Keep => Some(&name.local),
        Rule::Rename(new) => Some(new),
        Rule::Unwrap | Rule::Drop => None,
    }
}

fn is_integer(value: &str, min: i64) -> bool {
    value.trim().parse::<i64>().is_ok_and(|n| n >= min) && !value.trim().starts_with('+')
}

/// Whether an attribute's value is one the XHTML schema accepts (names were checked before).
pub(crate) fn value_ok(tag: &str, name: &str, value: &str) -> bool {
    match name {
        "dir" => matches!(value, "ltr" | "rtl" | "auto"),
        "lang" | "xml:lang" => value.is_empty() || oxilangtag::LanguageTag::parse(value).is_ok(),
        "translate" => matches!(value, "" | "yes" | "no"),
        "role" => ROLES.contains(&value),
        "aria-hidden" => matches!(value, "true" | "false"),
        "aria-label" => true,
        // Other ARIA attributes have typed values or point at ids; folio keeps only the two above.
        n if n.starts_with("aria-") => false,
        "datetime" => {
            let b = value.as_bytes();
            b.len() >= 10 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[7] == b'-'
        }
        "start" | "value" => is_integer(value, i64::MIN),
        "type" if tag == "ol" => matches!(value, "1" | "a" | "A" | "i" | "I"),
        "colspan" | "span" => is_integer(value, 1),
        "rowspan" | "width" | "height" => is_integer(value, 0),
        "cite" => !value.contains(char::is_whitespace),
        "scope" => matches!(value, "row" | "col" | "rowgroup" | "colgroup"),
        _ => true,
    }
}

impl<'a> XhtmlWriter<'a> {
    fn write_children(&mut self, root: usize) {
        let mut stack: Vec<Step<'a>> = self.dom.nodes[root].children.iter().rev().map(|&c| Step::Open(c)).collect();
        // The elements written and still open, innermost last.
        let mut open: Vec<&'a str> = Vec::new();
        while let Some(step) = stack.pop() {
            match step {
                Step::Close(name) => {
                    open.pop();
                    self.out.push_str("</");
                    self.out.push_str(name);
                    self.out.push('>');
                }
                Step::Open(id) => {
                    let node = &self.dom.nodes[id];
                    let children = node.children.iter().rev().map(|&c| Step::Open(c));
                    match &node.data {
                        NodeData::Text(t) => {
                            // Lists and definition lists hold only items: loose text gets an item of its own.
                            let item = match open.last() {
                                Some(&("ul" | "ol")) if !t.trim().is_empty() => Some("li"),
                                Some(&"dl") if !t.trim().is_empty() => Some("dd"),
                                _ => None,
                            };
                            match item {
                                // Only SVG's `<style>` is written (HTML's is dropped): CSS pointing inside the document.
                                _ if open.last() == Some(&"style") => {
                                    escape(&mut self.out, &css::fragments_only(&without_forbidden(t)).css);
                                }
                                Some(item) => {
                                    let _ = write!(self.out, "<{item}>");
                                    escape(&mut self.out, t);
                                    let _ = write!(self.out, "</{item}>");
                                }
                                None => escape(&mut self.out, t),
                            }
                        }
                        NodeData::Element { name, attrs } => {
                            let html = name.ns == ns!(html);
                            let tag = self.tag_for(id, name, attrs, &open);
                            // The HTML parser lets a block sit inside an inline element (`<span><p>`), which
                            // XHTML forbids: there the block's tag is left out and its content kept.
                            let tag = tag.filter(|t| {
                                !(html && BLOCK.contains(t) && open.last().is_some_and(|o| PHRASING_ONLY.contains(o)))
                            });
                            let Some(tag) = tag else {
                                // An SVG or MathML element off the allow-list goes with its content (a `<script>`'s
                                // text, an `<animate>`'s targets); an HTML one as its rule says.
                                let keep_content = html && html_rule(&name.local) != Rule::Drop;
                                if keep_content {
                                    stack.extend(children);
                                }
                                continue;
                            };
                            if html && tag == "img" && !self.has_usable_src(attrs) {
                                // An image folio cannot embed (remote, missing) is replaced by its alt text.
                                if let Some(alt) = attrs.iter().find(|a| &*a.name.local == "alt") {
                                    escape(&mut self.out, &alt.value);
                                }
                                continue;
                            }
                            if name.ns == ns!(mathml) && self.open_mstyle(tag, attrs) {
                                open.push("mstyle");
                                stack.push(Step::Close("mstyle"));
                            }
                            self.start_tag(tag, name, attrs, self.inside_foreign(id));
                            if html && VOID.contains(&tag) {
                                continue;
                            }
                            open.push(tag);
                            stack.push(Step::Close(tag));
                            stack.extend(children);
                        }
                        NodeData::Document | NodeData::Ignored => {}
                    }
                }
            }
        }
    }

    /// The tag to write for an element where it stands, or `None` when the element itself is not written.
    ///
    /// Elements that the XHTML schema allows only in one place (`li` in a list, `dd` in a `dl`, …) become
    /// a neutral `div` or `span` anywhere else, as do those missing a required attribute.
    fn tag_for(&self, id: usize, name: &'a QualName, attrs: &[Attribute], open: &[&'a str]) -> Option<&'a str> {
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
        for attr in attrs {
            self.write_attribute(name, tag, attr, has_id, class.as_deref());
        }
        self.out.push_str(if html && VOID.contains(&tag) { "/>" } else { ">" });
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

    fn write_attribute(&mut self, tag: &QualName, written: &str, attr: &Attribute, has_id: bool, class: Option<&str>) {
        let (html, svg, tag_is_mathml, tag) = (tag.ns == ns!(html), tag.ns == ns!(svg), tag.ns == ns!(mathml), written);
        let local = &*attr.name.local;
        let qualified = match &attr.name.prefix {
            Some(prefix) => format!("{prefix}:{local}"),
            None => local.to_string(),
        };
        if local.starts_with("on")
            || (html && !element_attr_allowed(tag, &qualified) && !(tag == "a" && qualified == "name"))
        {
            return;
        }
        if svg && !svg::attribute_allowed(&qualified) {
            return;
        }
        // Written on an `<mstyle>` around the element instead (see `open_mstyle`).
        if tag_is_mathml && attr.name.prefix.is_none() && mathml::style_moves_to_mstyle(tag, local) {
            return;
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
            return;
        }
        // What XML forbids goes first: dropped after the checks, it could join `u\x10rl(` into `url(`.
        let mut value = without_forbidden(&attr.value).into_owned();
        let mut name = qualified.as_str();
        let is_url = matches!(local, "href" | "src");
        if is_url {
            if is_active_url(&value) {
                return;
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
                    svg::HrefUse::Fragment => return,
                },
                // MathML may make any element a link; it draws no images.
                (false, "src") if !html => return,
                (false, "src") => Some(Reference::Image(value.clone())),
                _ => Some(Reference::Link(value.clone())),
            };
            if let Some(reference) = reference {
                match (self.rewrite)(&reference) {
                    Some(new) => value = new,
                    None => return,
                }
            }
        } else if local == "style" || (svg && css::may_hold_urls(&value)) {
            // CSS may point inside the document only; a presentation attribute that points elsewhere goes whole.
            let clean = css::fragments_only(&value);
            if clean.css.trim().is_empty() || (local != "style" && clean.css != value) {
                return;
            }
            value = clean.css;
        }
        // `<a name>` is obsolete: it becomes the id it stood for.
        if tag == "a" && name == "name" {
            if has_id {
                return;
            }
            name = "id";
        }
        if name == "id" {
            value = xml_id(&value);
            if !self.ids.claim(&value, tag, class) {
                return;
            }
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
        let mut ids = Ids { headings: ["intro".to_string()].into(), ..Ids::default() };
        let body = "<span id=\"note.1\">a</span><p id=\"intro\">b</p><h2 id=\"intro\">c</h2><aside class=\"footnote\" id=\"note.1\">n</aside>";
        let out = sanitize(body, &|_| None, &mut ids).xhtml;
        assert_eq!(
            out,
            "<span>a</span><p>b</p><h2 id=\"intro\">c</h2><aside class=\"footnote\" id=\"note.1\">n</aside>"
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
        let mut state = ScanState::default();
        assert_eq!(scan("<span style=\"background:u\\72l(x)\">", &mut state).simple, None);
    }

    #[test]
    fn scan_reports_what_inline_svg_loses_and_uses() {
        let mut state = ScanState::default();
        let report = scan(
            "<svg><script>x</script>\n<image xlink:href=\"../../out.png\"/><use href=\"a.svg#b\"/><a href=\"c.md\">l</a></svg>",
            &mut state,
        );
        assert_eq!(
            report.warnings,
            [
                (1, "<script> removed from SVG: e-books carry no scripts".to_string()),
                (2, "reference 'a.svg#b' on SVG <use> leaves the SVG and is removed".to_string())
            ]
        );
        assert_eq!(
            report.references,
            [(2, Reference::Image("../../out.png".into())), (2, Reference::Link("c.md".into()))]
        );
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let html = "<div>".repeat(5_000);
        let out = clean(&html);
        assert!(out.starts_with("<div><div>") && out.ends_with("</div></div>"));
    }

    #[test]
    fn simple_inline_tags_are_recognised() {
        let mut state = ScanState::default();
        let start = |f: &str, st: &mut ScanState| scan(f, st).simple;
        assert_eq!(start("<kbd>", &mut state), Some(SimpleTag::Start("kbd".into(), vec![], false)));
        assert_eq!(start("<BR>", &mut state), Some(SimpleTag::Start("br".into(), vec![], true)));
        assert_eq!(start("</kbd>", &mut state), Some(SimpleTag::End("kbd".into())));
        assert_eq!(start("<!-- note -->", &mut state), Some(SimpleTag::Comment));
        assert_eq!(start("<!-->", &mut state), None);
        assert_eq!(start("<!--->", &mut state), None);
        assert_eq!(
            start("<span class=\"x\" title=\"a&amp;b\">", &mut state),
            Some(SimpleTag::Start(
                "span".into(),
                vec![("class".into(), "x".into()), ("title".into(), "a&b".into())],
                false
            ))
        );
        for complex in [
            "<div>",
            "<span onclick=\"x\">",
            "<span id=\"a\">",
            "<a href=\"javascript:x\">",
            "<b>x</b>",
            "<!-- a -- b -->",
            "<img src=x>",
        ] {
            assert_eq!(start(complex, &mut state), None, "{complex}");
        }
    }

    #[test]
    fn scan_reports_with_lines() {
        let mut state = ScanState::default();
        assert!(scan("<svg>", &mut state).warnings.is_empty());
        assert!(scan("<circle/></svg>", &mut state).warnings.is_empty());
        assert_eq!((state.foreign_depth, state.max_depth), (0, 1));
        let report = scan("<p>\n<script>x</script>\n<img src=\"a.png\" onerror=\"y\"><a href=\"b.md#c\">", &mut state);
        assert_eq!(
            report.warnings,
            [
                (2, "<script> removed: e-books carry no scripts".to_string()),
                (3, "event handler `onerror` on <img> removed: e-books carry no scripts".to_string())
            ]
        );
        assert_eq!(report.references, [(3, Reference::Image("a.png".into())), (3, Reference::Link("b.md#c".into()))]);
    }
}
