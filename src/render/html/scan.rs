//! The scan: tokenizes each raw HTML fragment where the author wrote it (no tree building), to report
//! at its Markdown position what the writer will remove, to find the links and images it uses, and
//! to tell a plain inline tag the Markdown renderer may write itself.

use std::cell::{Cell, RefCell};

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::{BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts};

use super::Reference;
use super::policy::{
    INLINE, NOT_NESTING, VOID, element_attr_allowed, html_rule, is_active_url, is_xml_name, removal_message,
};
use crate::sanitize::{css, svg};

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
    state: Cell<ScanState>,
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
            } else if matches!((name, attr_name), ("img", "src") | ("math", "altimg")) {
                report.references.push((line, Reference::Image(value.to_string())));
            }
        }
        TokenSinkResult::Continue
    }
}

/// Tokenizes one raw HTML fragment (no tree building) to find what `sanitize` will change.
/// `state` carries nesting from one fragment of a chapter to the next.
pub fn scan(fragment: &str, state: &mut ScanState) -> ScanReport {
    let sink = ScanSink { state: Cell::new(*state), ..ScanSink::default() };
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn css_escapes_keep_a_style_off_the_fast_path() {
        let mut state = ScanState::default();
        assert_eq!(scan("<span style=\"background:u\\72l(x)\">", &mut state).simple, None);
        assert!(scan("<span style=\"color:red\">", &mut state).simple.is_some());
    }
}
