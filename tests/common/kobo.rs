//! Reading Kobo's markup back out of a kepub page, to compare it with the standard page it came from.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// One piece of a document, for comparison: a tag as written, or a run of text (unescaped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Tag(String),
    Text(String),
}

/// What Kobo's spans cover: the text of every `koboSpan`, in order, by id.
#[derive(Debug, Default)]
pub struct Spans {
    pub ids: Vec<String>,
    /// Spans opened inside `<pre>`, `<svg>` or `<math>`.
    pub inside_code_or_foreign: usize,
}

fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes().flatten().find(|a| a.key.as_ref() == name).map(|a| a.value.to_string())
}

/// A tag without its `altimg`, `altimg-width`, … attributes.
fn without_altimg(tag: &str) -> String {
    let mut out = String::with_capacity(tag.len());
    let mut rest = tag;
    while let Some(at) = rest.find(" altimg") {
        out.push_str(&rest[..at]);
        let value = &rest[at + rest[at..].find("=\"").expect("a quoted value") + 2..];
        rest = &value[value.find('"').expect("a closing quote") + 1..];
    }
    out.push_str(rest);
    out
}

fn is_kobo_markup(e: &BytesStart<'_>) -> bool {
    match e.name().as_ref() {
        "span" => attr(e, "class").as_deref() == Some("koboSpan"),
        "div" => matches!(attr(e, "id").as_deref(), Some("book-columns" | "book-inner")),
        "style" => attr(e, "class").as_deref() == Some("kobostylehacks"),
        _ => false,
    }
}

/// The document as pieces, Kobo's own markup left out (spans, wrappers, head style) and the three things
/// Kobo's flavour changes undone (`noteref endnote`, `←` in extra backlinks, formula images as `altimg`), so
/// a kepub page and its standard page give the same pieces. Runs of white space only are dropped, since the
/// wrappers bring line breaks of their own.
pub fn without_kobo_markup(xml: &str) -> (Vec<Piece>, Spans) {
    let mut reader = Reader::from_str(xml);
    let mut pieces = Vec::new();
    let mut spans = Spans::default();
    let mut text = String::new();
    // For every open element: is it Kobo's, and is it code or foreign markup?
    let mut open: Vec<(bool, bool)> = Vec::new();
    let mut in_kobo_style = false;
    let flush = |text: &mut String, pieces: &mut Vec<Piece>| {
        if !text.trim().is_empty() {
            pieces.push(Piece::Text(text.clone()));
        }
        text.clear();
    };
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => {
                let kobo = is_kobo_markup(&e);
                let protected = open.iter().any(|(_, p)| *p) || matches!(e.name().as_ref(), "pre" | "svg" | "math");
                if kobo && e.name().as_ref() == "span" {
                    spans.ids.push(attr(&e, "id").unwrap_or_default());
                    if open.iter().any(|(_, p)| *p) {
                        spans.inside_code_or_foreign += 1;
                    }
                }
                in_kobo_style |= kobo && e.name().as_ref() == "style";
                open.push((kobo, protected));
                if !kobo {
                    flush(&mut text, &mut pieces);
                    let tag = e.to_string().replace("epub:type=\"noteref endnote\"", "epub:type=\"noteref\"");
                    let tag = without_altimg(&tag);
                    pieces.push(Piece::Tag(tag));
                }
            }
            Event::End(e) => {
                let (kobo, _) = open.pop().expect("balanced");
                in_kobo_style &= !kobo;
                if !kobo {
                    flush(&mut text, &mut pieces);
                    pieces.push(Piece::Tag(format!("/{}", e.name().as_ref())));
                }
            }
            Event::Empty(e) => {
                flush(&mut text, &mut pieces);
                pieces.push(Piece::Tag(e.to_string()));
            }
            Event::Text(t) if !in_kobo_style => {
                text.push_str(&t.html_content().replace('\u{2190}', "\u{21a9}\u{fe0e}"));
            }
            Event::GeneralRef(r) => {
                text.push('&');
                text.push_str(&r);
                text.push(';');
            }
            Event::Eof => break,
            _ => {}
        }
    }
    flush(&mut text, &mut pieces);
    (pieces, spans)
}
