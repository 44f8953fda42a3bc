//! The allow-list policy for raw HTML, as data: which elements stay, are renamed, lose their tag or go
//! with their content; which attributes and values each may keep; which URLs are refused. Both the scan
//! and the writer read it, so what is reported and what is written cannot drift apart.

use html5ever::{QualName, ns};

/// What happens to an element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Rule {
    Keep,
    /// An obsolete element replaced by its modern equivalent.
    Rename(&'static str),
    /// The element goes, its content stays.
    Unwrap,
    /// The element and its content go.
    Drop,
}

/// HTML elements kept as they are.
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

/// Obsolete elements and the modern ones they are written as.
const RENAMED: &[(&str, &str)] = &[
    ("center", "div"),
    ("font", "span"),
    ("big", "span"),
    ("blink", "span"),
    ("marquee", "span"),
    ("nobr", "span"),
    ("tt", "code"),
    ("strike", "s"),
    ("acronym", "abbr"),
];

/// Elements that go with their content: scripts, styles, embedded and interactive content, document
/// metadata. Any other element off the lists loses its tag and keeps its content.
const DROPPED: &[&str] = &[
    "script", "style", "template", "noscript", "iframe", "frame", "frameset", "object", "embed", "applet", "input",
    "button", "select", "textarea", "option", "optgroup", "datalist", "output", "canvas", "audio", "video", "source",
    "track", "map", "area", "title", "meta", "link", "base", "head", "param", "dialog",
];

/// What happens to the HTML element `name`.
pub(super) fn html_rule(name: &str) -> Rule {
    if ALLOWED.contains(&name) {
        Rule::Keep
    } else if let Some(&(_, new)) = RENAMED.iter().find(|(old, _)| *old == name) {
        Rule::Rename(new)
    } else if DROPPED.contains(&name) {
        Rule::Drop
    } else {
        Rule::Unwrap
    }
}

/// Why an element is reported when it is removed; `None` for silent repairs.
pub(super) fn removal_message(name: &str, rule: Rule) -> Option<String> {
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

/// Attributes allowed on particular HTML elements, besides the global ones.
const ELEMENT_ATTRS: &[(&str, &[&str])] = &[
    ("a", &["href", "hreflang", "rel"]),
    ("img", &["src", "alt", "width", "height"]),
    ("ol", &["start", "reversed", "type"]),
    ("li", &["value"]),
    ("td", &["colspan", "rowspan", "headers"]),
    ("th", &["colspan", "rowspan", "headers", "scope", "abbr"]),
    ("col", &["span"]),
    ("colgroup", &["span"]),
    ("blockquote", &["cite"]),
    ("q", &["cite"]),
    ("del", &["cite", "datetime"]),
    ("ins", &["cite", "datetime"]),
    ("time", &["datetime"]),
    ("data", &["value"]),
    ("details", &["open"]),
    ("bdo", &["dir"]),
];

/// Whether the HTML element `element` may keep the attribute `attr` (its qualified name).
pub(super) fn element_attr_allowed(element: &str, attr: &str) -> bool {
    GLOBAL_ATTRS.contains(&attr)
        || attr.starts_with("aria-")
        || (attr.starts_with("data-")
            && attr.len() > 5
            && attr[5..].bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'))
        || ELEMENT_ATTRS.iter().any(|(e, attrs)| *e == element && attrs.contains(&attr))
}

/// True for URLs that could run code or smuggle content: `javascript:`, `vbscript:`, `data:`.
pub fn is_active_url(url: &str) -> bool {
    let compact: String =
        url.chars().filter(|c| !c.is_whitespace() && !c.is_control()).take(12).collect::<String>().to_ascii_lowercase();
    compact.starts_with("javascript:") || compact.starts_with("vbscript:") || compact.starts_with("data:")
}

/// Whether `name` may stand as an XML element or attribute name (without a prefix).
pub(crate) fn is_xml_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Phrasing elements that may appear in a fast-path tag (not `a` or `img`, whose URLs need resolving).
pub(super) const INLINE: &[&str] = &[
    "abbr", "b", "bdi", "bdo", "br", "cite", "code", "data", "del", "dfn", "em", "i", "ins", "kbd", "mark", "q", "s",
    "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var", "wbr",
];

/// Elements that never hold others open: void elements, and those whose end tag is optional and
/// usually left out (`<p>a<p>b` is two siblings, not nesting).
pub(super) const NOT_NESTING: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr", "p",
    "li", "dt", "dd", "tr", "td", "th", "thead", "tbody", "tfoot", "colgroup", "caption", "option", "optgroup", "rt",
    "rp",
];

/// HTML elements written as `<br/>`: they hold nothing.
pub(super) const VOID: &[&str] = &["br", "hr", "img", "wbr", "col"];

/// Elements that may hold only inline (phrasing) content.
pub(super) const PHRASING_ONLY: &[&str] = &[
    "a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "del", "dfn", "em", "i", "ins", "kbd", "mark", "q", "s",
    "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var", "p", "pre", "h1", "h2", "h3", "h4", "h5",
    "h6", "dt", "summary",
];

/// Block elements, which may not stand inside an element that holds only inline content.
pub(super) const BLOCK: &[&str] = &[
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
pub(super) fn html_tag(name: &QualName) -> Option<&str> {
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
