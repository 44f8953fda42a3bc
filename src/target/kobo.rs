//! Kobo's kepub flavour of a page body, the markup Kobo's own books carry and kepubify and Calibre's
//! KoboTouch driver add (both checked 2026-11):
//!
//! 1. the body's content goes inside `div#book-columns > div#book-inner`, the hooks Kobo's pagination
//!    styles use (a page's head gets the matching `kobostylehacks` rule, [`HEAD`]);
//! 2. every run of text is cut into sentences and each sentence is wrapped in
//!    `<span class="koboSpan" id="kobo.P.S">` (paragraph P, segment S): Kobo's reading position,
//!    highlights, bookmarks and reading statistics address text through these spans;
//! 3. each image gets a span of its own, starting a new paragraph;
//! 4. note references also say `epub:type="endnote"`: Kobo's e-ink readers open a popup for links typed
//!    `footnote` or `endnote`, not `noteref` (Kobo's own answer in kobolabs/epub-spec#45, and what
//!    Standard Ebooks' Kobo build does);
//! 5. the extra backlinks of a note read `←` instead of `↩︎`, a glyph Kobo's reader fonts lack
//!    (Standard Ebooks' Kobo build, checked 2026-11).
//!
//! Text is only ever split between sentences inside one text node, never across or inside markup.
//! Code blocks, SVG, MathML, scripts and styles keep their text as it is; inline code becomes one span,
//! never split at its dots. The ids are unique: ids the page already uses are skipped.
//!
//! The input is a body folio wrote (well-formed XHTML); the scanner still never panics on anything
//! else, and the finished page is checked by [`crate::validate::document`] like any other.

use std::collections::HashSet;
use std::fmt::Write as _;

/// The rule Kobo's books carry in every page's head, without the font and colour overrides
/// kepubify also dropped: only the margins of Kobo's inner wrapper.
pub const HEAD: &str = "<style class=\"kobostylehacks\">div#book-inner { margin-top: 0; margin-bottom: 0; }</style>\n";

const OUTER: &str = "book-columns";
const INNER: &str = "book-inner";

/// Elements that start a new Kobo paragraph (as Calibre's KoboTouch driver counts them).
const PARAGRAPHS: &[&str] = &["p", "ol", "ul", "table", "h1", "h2", "h3", "h4", "h5", "h6"];
/// Elements whose text stays exactly as it is: code blocks, foreign markup, non-text content, and
/// elements that may hold only text (`<time>` without `datetime`, `<rp>`).
const UNTOUCHED: &[&str] = &[
    "pre", "svg", "math", "script", "style", "audio", "video", "textarea", "select", "option", "template", "time", "rp",
];
/// Inline code: one span for the whole text, since a dot in `a.b()` ends no sentence.
const UNSPLIT: &[&str] = &["code", "kbd", "samp"];
/// Elements whose own text may not hold a span (only white space belongs there).
const NO_TEXT: &[&str] =
    &["ul", "ol", "dl", "table", "thead", "tbody", "tfoot", "tr", "colgroup", "hgroup", "picture", "ruby"];

/// How text inside an element is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Split into sentences, a span each.
    Sentences,
    /// One span for each text node.
    Whole,
    /// Left as it is.
    Untouched,
}

#[derive(Debug)]
struct Open<'a> {
    name: &'a str,
    mode: Mode,
    /// The element's own text may not hold spans.
    no_text: bool,
    /// Inside a note's extra backlink.
    backlink: bool,
}

/// Writes the Kobo flavour of a page body.
struct Spanner<'a> {
    out: String,
    /// Ids the body already uses that Kobo's markup could clash with.
    taken: HashSet<&'a str>,
    stack: Vec<Open<'a>>,
    paragraph: u32,
    segment: u32,
    /// The next span starts a new paragraph.
    new_paragraph: bool,
}

/// The Kobo flavour of a page body (the content of `<body>`).
pub fn body(body: &str) -> String {
    let mut spanner = Spanner {
        out: String::with_capacity(body.len() + body.len() / 3 + 128),
        taken: clashing_ids(body),
        stack: Vec::new(),
        paragraph: 0,
        segment: 0,
        new_paragraph: true,
    };
    spanner.wrapper_open(OUTER);
    spanner.wrapper_open(INNER);
    spanner.run(body);
    spanner.out.push_str("</div>\n</div>\n");
    spanner.out
}

/// Ids in `body` that Kobo's own could repeat: `kobo.*` and the wrappers' (double- or single-quoted).
fn clashing_ids(body: &str) -> HashSet<&str> {
    let mut taken = HashSet::new();
    // Almost every page has none; a quick search says so without looking at every id.
    if [&b"kobo."[..], OUTER.as_bytes(), INNER.as_bytes()]
        .iter()
        .all(|p| memchr::memmem::find(body.as_bytes(), p).is_none())
    {
        return taken;
    }
    for at in memchr::memmem::find_iter(body.as_bytes(), b"id=") {
        if !body[..at].ends_with(|c: char| c.is_ascii_whitespace()) {
            continue;
        }
        let rest = &body[at + 3..];
        let Some(quote) = rest.chars().next().filter(|q| *q == '"' || *q == '\'') else { continue };
        let value = &rest[1..];
        let Some(end) = value.find(quote) else { continue };
        let id = &value[..end];
        if id.starts_with("kobo.") || id == OUTER || id == INNER {
            taken.insert(id);
        }
    }
    taken
}

impl<'a> Spanner<'a> {
    fn wrapper_open(&mut self, id: &str) {
        if self.taken.contains(id) {
            self.out.push_str("<div>\n");
        } else {
            let _ = writeln!(self.out, "<div id=\"{id}\">");
        }
    }

    fn run(&mut self, body: &'a str) {
        let mut rest = body;
        while !rest.is_empty() {
            let Some(lt) = rest.find('<') else {
                self.text(rest);
                return;
            };
            self.text(&rest[..lt]);
            rest = &rest[lt..];
            let Some(end) = markup_end(rest) else {
                // Not markup folio writes; keep it as it is.
                self.out.push_str(rest);
                return;
            };
            self.markup(&rest[..end]);
            rest = &rest[end..];
        }
    }

    /// One piece of markup: a start, end or empty tag, a comment, CDATA or a declaration.
    fn markup(&mut self, tag: &'a str) {
        if tag.starts_with("<!") || tag.starts_with("<?") {
            self.out.push_str(tag);
        } else if let Some(name) = tag.strip_prefix("</") {
            let name = name.trim_end_matches('>').trim();
            if let Some(at) = self.stack.iter().rposition(|open| open.name == name) {
                self.stack.truncate(at);
            }
            self.out.push_str(tag);
        } else {
            self.start_tag(tag);
        }
    }

    fn start_tag(&mut self, tag: &'a str) {
        let inner = tag[1..tag.len() - 1].trim_end();
        let empty = inner.ends_with('/');
        let name_end = inner.find(|c: char| c.is_ascii_whitespace() || c == '/').unwrap_or(inner.len());
        let name = &inner[..name_end];
        let parent_mode = self.stack.last().map_or(Mode::Sentences, |open| open.mode);
        let parent_holds_spans = self.stack.last().is_none_or(|open| !open.no_text);
        if parent_mode != Mode::Untouched {
            if name == "img" && parent_holds_spans {
                self.new_paragraph = false;
                self.paragraph += 1;
                self.segment = 0;
                self.span_open();
                self.out.push_str(tag);
                self.out.push_str("</span>");
                return;
            }
            if PARAGRAPHS.contains(&name) {
                self.new_paragraph = true;
            }
        }
        if name == "a" && tag.contains("epub:type=\"noteref\"") {
            self.out.push_str(&tag.replacen("epub:type=\"noteref\"", "epub:type=\"noteref endnote\"", 1));
        } else {
            self.out.push_str(tag);
        }
        if empty {
            return;
        }
        let mode = match parent_mode {
            Mode::Untouched => Mode::Untouched,
            _ if UNTOUCHED.contains(&name) => Mode::Untouched,
            Mode::Whole => Mode::Whole,
            Mode::Sentences if UNSPLIT.contains(&name) => Mode::Whole,
            Mode::Sentences => Mode::Sentences,
        };
        let backlink = self.stack.last().is_some_and(|open| open.backlink)
            || (name == "a" && tag.contains("class=\"footnote-back-more\""));
        self.stack.push(Open { name, mode, no_text: NO_TEXT.contains(&name), backlink });
    }

    fn text(&mut self, text: &str) {
        let (mode, no_text, backlink) =
            self.stack.last().map_or((Mode::Sentences, false, false), |open| (open.mode, open.no_text, open.backlink));
        let content = text.trim_start_matches(is_space);
        if content.is_empty() || no_text || mode == Mode::Untouched {
            self.out.push_str(text);
            return;
        }
        self.out.push_str(&text[..text.len() - content.len()]);
        if self.new_paragraph {
            self.new_paragraph = false;
            self.paragraph += 1;
            self.segment = 0;
        }
        if mode == Mode::Whole {
            self.span(content, backlink);
        } else {
            for sentence in sentences(content) {
                self.span(sentence, backlink);
            }
        }
    }

    /// Writes one span of text.
    fn span(&mut self, text: &str, backlink: bool) {
        self.span_open();
        if backlink {
            self.out.push_str(&text.replace("\u{21a9}\u{fe0e}", "\u{2190}"));
        } else {
            self.out.push_str(text);
        }
        self.out.push_str("</span>");
    }

    /// Opens the next span of the current paragraph, skipping ids the page already uses.
    fn span_open(&mut self) {
        self.segment += 1;
        while !self.taken.is_empty()
            && self.taken.contains(format!("kobo.{}.{}", self.paragraph, self.segment).as_str())
        {
            self.segment += 1;
        }
        let _ = write!(self.out, "<span class=\"koboSpan\" id=\"kobo.{}.{}\">", self.paragraph, self.segment);
    }
}

/// White space between words; a no-break space binds, so it neither ends a sentence nor is trimmed.
fn is_space(c: char) -> bool {
    c.is_whitespace() && !matches!(c, '\u{a0}' | '\u{202f}' | '\u{2007}' | '\u{2060}')
}

/// The end (exclusive) of the markup starting at `s[0] == '<'`, or `None` when it never ends.
fn markup_end(s: &str) -> Option<usize> {
    let closing = if s.starts_with("<!--") {
        "-->"
    } else if s.starts_with("<![CDATA[") {
        "]]>"
    } else if s.starts_with("<?") {
        "?>"
    } else {
        // A tag: `>` inside a quoted attribute value does not end it.
        let mut quote = None;
        for (i, c) in s.char_indices().skip(1) {
            match (quote, c) {
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), _) if c == q => quote = None,
                (None, '>') => return Some(i + 1),
                _ => {}
            }
        }
        return None;
    };
    s.find(closing).map(|i| i + closing.len())
}

/// Characters that end a sentence when white space follows.
fn ends_sentence(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | ':' | '\u{2026}' | '\u{203c}' | '\u{2047}' | '\u{2048}' | '\u{2049}')
}

/// Characters that end a sentence by themselves (CJK text puts no space after them).
fn ends_sentence_cjk(c: char) -> bool {
    matches!(c, '\u{3002}' | '\u{ff01}' | '\u{ff1f}' | '\u{ff0e}')
}

/// Closing marks that stay with the sentence they close.
fn closes_sentence(c: char) -> bool {
    matches!(c, '"' | '\'' | ')' | ']' | '\u{2019}' | '\u{201d}' | '\u{bb}' | '\u{203a}' | '\u{300d}' | '\u{300f}')
}

/// Escaped closing quotes as folio writes them in text.
const ESCAPED_QUOTES: &[&str] = &["&quot;", "&#39;", "&apos;"];

/// Splits escaped text into sentences: each runs to terminal punctuation, the closing marks after it
/// and the white space after those, so joining them gives the text back.
fn sentences(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = sentence_end(rest).unwrap_or(rest.len());
        let (sentence, after) = rest.split_at(end);
        rest = after;
        Some(sentence)
    })
}

/// Where the first sentence of `text` ends, if something follows it.
fn sentence_end(text: &str) -> Option<usize> {
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let cjk = ends_sentence_cjk(c);
        if !cjk && !ends_sentence(c) {
            continue;
        }
        // Further terminal punctuation and closing marks belong to this sentence.
        let mut end = i + c.len_utf8();
        loop {
            let after = &text[end..];
            if let Some(quote) = ESCAPED_QUOTES.iter().find(|q| after.starts_with(**q)) {
                end += quote.len();
            } else if let Some(next) = after.chars().next().filter(|n| closes_sentence(*n) || ends_sentence(*n)) {
                end += next.len_utf8();
            } else {
                break;
            }
        }
        let spaces = text[end..].len() - text[end..].trim_start_matches(is_space).len();
        if spaces == 0 && !cjk {
            // `3.14`, `a.b`, `10:30`: no sentence ends here.
            while chars.peek().is_some_and(|(j, _)| *j < end) {
                chars.next();
            }
            continue;
        }
        end += spaces;
        return (end < text.len()).then_some(end);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> Vec<&str> {
        sentences(text).collect()
    }

    #[test]
    fn sentences_end_at_punctuation_followed_by_space() {
        assert_eq!(split("One. Two! Three? Four"), ["One. ", "Two! ", "Three? ", "Four"]);
        assert_eq!(split("Pi is 3.14 and a.b() runs at 10:30."), ["Pi is 3.14 and a.b() runs at 10:30."]);
        assert_eq!(split("He said \u{201c}Go.\u{201d} Then left."), ["He said \u{201c}Go.\u{201d} ", "Then left."]);
        assert_eq!(split("Quoted.&quot; Next"), ["Quoted.&quot; ", "Next"]);
        assert_eq!(split("Wait... what?! Yes."), ["Wait... ", "what?! ", "Yes."]);
        assert_eq!(split("Note:\u{a0}bound. Free"), ["Note:\u{a0}bound. ", "Free"]);
        assert_eq!(split("\u{4e00}\u{3002}\u{4e8c}\u{3002}"), ["\u{4e00}\u{3002}", "\u{4e8c}\u{3002}"]);
        assert_eq!(split("Ends with spaces.   "), ["Ends with spaces.   "]);
        assert_eq!(split("Tom &amp; Jerry. Again"), ["Tom &amp; Jerry. ", "Again"]);
    }

    #[test]
    fn spans_wrap_sentences_paragraph_by_paragraph() {
        let out = body("<h1 id=\"t\">Title</h1>\n<p>One. Two <em>three.</em> Four.</p>\n<p>Five</p>\n");
        assert_eq!(
            out,
            "<div id=\"book-columns\">\n<div id=\"book-inner\">\n\
             <h1 id=\"t\"><span class=\"koboSpan\" id=\"kobo.1.1\">Title</span></h1>\n\
             <p><span class=\"koboSpan\" id=\"kobo.2.1\">One. </span><span class=\"koboSpan\" id=\"kobo.2.2\">Two </span>\
             <em><span class=\"koboSpan\" id=\"kobo.2.3\">three.</span></em> <span class=\"koboSpan\" id=\"kobo.2.4\">Four.</span></p>\n\
             <p><span class=\"koboSpan\" id=\"kobo.3.1\">Five</span></p>\n</div>\n</div>\n"
        );
    }

    #[test]
    fn code_svg_and_math_keep_their_text() {
        let out = body(
            "<pre><code>let a = 1. b;</code></pre>\n<p>Use <code>a.b(). c</code> now.</p>\n\
             <svg xmlns=\"http://www.w3.org/2000/svg\"><text>Hi. There</text></svg>\n<math><mi>x</mi></math>",
        );
        assert!(out.contains("<pre><code>let a = 1. b;</code></pre>"), "{out}");
        assert!(out.contains("<code><span class=\"koboSpan\" id=\"kobo.1.2\">a.b(). c</span></code>"), "{out}");
        assert!(out.contains("<text>Hi. There</text>") && out.contains("<mi>x</mi>"), "{out}");
    }

    #[test]
    fn images_get_a_span_and_a_paragraph_of_their_own() {
        let out = body("<figure><img src=\"a.png\" alt=\"A\"/><figcaption>Cap.</figcaption></figure>");
        assert!(
            out.contains(
                "<figure><span class=\"koboSpan\" id=\"kobo.1.1\"><img src=\"a.png\" alt=\"A\"/></span>\
                 <figcaption><span class=\"koboSpan\" id=\"kobo.1.2\">Cap.</span></figcaption>"
            ),
            "{out}"
        );
    }

    #[test]
    fn ids_the_page_uses_are_skipped() {
        let out = body("<h2 id='book-inner'>X</h2><p><span id=\"kobo.2.1\">Taken.</span> Free.</p>");
        assert!(out.starts_with("<div id=\"book-columns\">\n<div>\n"), "{out}");
        assert!(out.contains("<span id=\"kobo.2.1\"><span class=\"koboSpan\" id=\"kobo.2.2\">Taken.</span>"), "{out}");
        assert!(out.contains("<span class=\"koboSpan\" id=\"kobo.2.3\">Free.</span>"), "{out}");
    }

    #[test]
    fn notes_pop_up_and_backlinks_use_an_arrow_kobo_can_show() {
        let out = body(
            "<p>Text.<sup><a class=\"noteref\" epub:type=\"noteref\" href=\"#note.1\">1</a></sup></p>\
             <aside epub:type=\"footnote\"><p>Note. <a class=\"footnote-back-more\" href=\"#noteref.1.2\">\u{21a9}\u{fe0e}2</a></p></aside>",
        );
        assert!(out.contains("epub:type=\"noteref endnote\""), "{out}");
        assert!(out.contains(">\u{2190}2</span></a>"), "{out}");
    }

    #[test]
    fn text_where_a_span_may_not_go_stays_as_it_is() {
        let out = body(
            "<ul>stray<li>Item</li></ul><table><tr><td>Cell</td></tr></table><p><time>2020</time></p>\
             <picture><img src=\"a.png\" alt=\"\"/></picture>",
        );
        assert!(out.contains("<ul>stray<li><span"), "{out}");
        assert!(out.contains("<time>2020</time>") && out.contains("<picture><img"), "{out}");
        assert!(out.contains("<td><span class=\"koboSpan\""), "{out}");
    }

    #[test]
    fn never_panics_on_broken_markup() {
        for input in ["<p>open", "text <", "<a href=\"x>y", "</p></p>", "<!-- x", "<p>\u{e9}.\u{e9}</p>", "<>", "<img"]
        {
            let _ = body(input);
        }
    }
}
