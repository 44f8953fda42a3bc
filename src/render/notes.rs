//! Footnotes and citation notes of one chapter: numbering by first reference, backlinks to
//! every reference, and the EPUB 3 note markup that pops up in Apple Books, Kobo and Kindle.
//!
//! Rendering numbers each chapter's notes from 1 and records where the numbers stand in the body;
//! the notes stage ([`number`]) shifts them when the book numbers notes across chapters, so chapters
//! render in parallel, and their cache entries do not depend on the notes of the chapters before. It
//! then checks the links within the chapter, to its notes and its other ids alike.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::hash::BuildHasher as _;
use std::ops::Range;

use crate::document::IdList;
use crate::i18n::Strings;
use crate::render::RenderedChapter;
use crate::text::escape;

/// Footnote labels match case-insensitively and ignore runs of white space, as in mdBook.
pub fn label_key(label: &str) -> String {
    label.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// One note of the chapter.
#[derive(Debug)]
enum Content {
    /// A `[^label]` footnote; its text comes from the definition.
    Footnote(String),
    /// A citation note; its text is the formatted reference.
    Citation(String),
}

#[derive(Debug)]
struct Note {
    content: Content,
    references: usize,
}

/// A footnote definition as written.
#[derive(Debug)]
pub struct Definition {
    /// Rendered XHTML of the definition's blocks.
    pub xhtml: String,
    /// Where it is written (expanded-text range).
    pub range: Range<usize>,
    /// The label as written.
    pub label: String,
}

/// The notes of one chapter, in number order.
#[derive(Debug)]
pub struct Notes {
    notes: Vec<Note>,
    by_label: HashMap<String, usize>,
    /// Written before every note number while the chapter renders, and taken out by [`Notes::unmark`],
    /// which records where the numbers stand. Random, so no text of the book can hold it.
    token: String,
    /// Finds the token.
    finder: memchr::memmem::Finder<'static>,
}

/// The ids and number of one reference to a note, marked with the chapter's token.
pub struct Reference {
    /// The number as written while rendering: the token, then the number.
    pub mark: String,
    /// The reference's own id (backlink target).
    pub ref_id: String,
    /// The note's id (link target).
    pub note_id: String,
}

impl Default for Notes {
    fn default() -> Self {
        let token = format!("folio{:016x}n", std::hash::RandomState::new().hash_one(0u8));
        let finder = memchr::memmem::Finder::new(token.as_bytes()).into_owned();
        Self { notes: Vec::new(), by_label: HashMap::new(), token, finder }
    }
}

impl Notes {
    /// No notes yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// What every note number is marked with while the chapter renders.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Number of notes so far.
    pub fn len(&self) -> usize {
        self.notes.len()
    }

    /// True when the chapter has no notes.
    pub fn is_empty(&self) -> bool {
        self.notes.is_empty()
    }

    fn reference(&mut self, index: usize) -> Reference {
        let note = &mut self.notes[index];
        note.references += 1;
        let number = index + 1;
        let mark = format!("{}{number}", self.token);
        let ref_id = if note.references == 1 {
            format!("noteref.{mark}")
        } else {
            format!("noteref.{mark}.{}", note.references)
        };
        Reference { note_id: format!("note.{mark}"), mark, ref_id }
    }

    /// A reference to a `[^label]` footnote.
    pub fn footnote(&mut self, label: &str) -> Reference {
        let key = label_key(label);
        let index = match self.by_label.get(&key) {
            Some(&i) => i,
            None => {
                self.notes.push(Note { content: Content::Footnote(key.clone()), references: 0 });
                self.by_label.insert(key, self.notes.len() - 1);
                self.notes.len() - 1
            }
        };
        self.reference(index)
    }

    /// A new citation note holding `xhtml`.
    pub fn citation(&mut self, xhtml: String) -> Reference {
        self.notes.push(Note { content: Content::Citation(xhtml), references: 0 });
        self.reference(self.notes.len() - 1)
    }

    /// The id of each note (`note.N`, marked), which folio writes, with the label key of the definition
    /// that holds its text when it is a footnote (the notes section leaves out one without a definition).
    pub fn ids_and_labels(&self) -> impl Iterator<Item = (String, Option<&str>)> {
        self.notes.iter().enumerate().map(|(index, note)| {
            let label = match &note.content {
                Content::Footnote(key) => Some(key.as_str()),
                Content::Citation(_) => None,
            };
            (format!("note.{}{}", self.token, index + 1), label)
        })
    }

    /// True if `label` was referenced.
    pub fn is_referenced(&self, label: &str) -> bool {
        self.by_label.contains_key(&label_key(label))
    }

    /// Writes the notes section. Footnotes without a definition were reported already; they are skipped.
    pub fn write_section(&self, out: &mut String, definitions: &HashMap<String, Definition>, strings: &Strings) {
        if self.notes.is_empty() {
            return;
        }
        let _ = writeln!(out, "<section class=\"footnotes\" epub:type=\"footnotes\" aria-label=\"{}\">", strings.notes);
        for (index, note) in self.notes.iter().enumerate() {
            let number = format!("{}{}", self.token, index + 1);
            let body = match &note.content {
                Content::Footnote(key) => match definitions.get(key) {
                    Some(d) => d.xhtml.trim().to_string(),
                    None => continue,
                },
                // The period goes inside a closing quotation mark, as the notes' commas do.
                // A title that ends on its own ! or ? takes no period (Chicago 6.119).
                Content::Citation(xhtml) => match xhtml.strip_suffix('\u{201d}') {
                    Some(quoted) if ends_a_sentence(quoted) => format!("<p>{xhtml}</p>"),
                    Some(quoted) => format!("<p>{quoted}.\u{201d}</p>"),
                    None if ends_a_sentence(xhtml) => format!("<p>{xhtml}</p>"),
                    None => format!("<p>{xhtml}.</p>"),
                },
            };
            let _ = writeln!(
                out,
                "<aside class=\"footnote\" epub:type=\"footnote\" role=\"doc-footnote\" id=\"note.{number}\">"
            );
            let back =
                format!("<a class=\"footnote-back\" role=\"doc-backlink\" href=\"#noteref.{number}\">{number}.</a> ");
            let mut more = String::new();
            for k in 2..=note.references {
                let _ = write!(
                    more,
                    " <a class=\"footnote-back-more\" role=\"doc-backlink\" href=\"#noteref.{number}.{k}\" aria-label=\""
                );
                escape(&mut more, strings.back_to_reference);
                let _ = write!(more, " {k}\">\u{21a9}\u{fe0e}{k}</a>");
            }
            // The number goes into the first paragraph, the extra backlinks into the last, when there are paragraphs.
            let mut body = match body.strip_prefix("<p>") {
                Some(rest) => format!("<p>{back}{rest}"),
                None => format!("<p>{}</p>\n{body}", back.trim_end()),
            };
            if !more.is_empty() {
                match body.rfind("</p>") {
                    Some(i) if i + 4 == body.len() => body.insert_str(i, &more),
                    _ => {
                        let _ = write!(body, "\n<p>{}</p>", more.trim_start());
                    }
                }
            }
            out.push_str(&body);
            out.push_str("\n</aside>\n");
        }
        out.push_str("</section>\n");
    }

    /// `text` without the token, and where each note number it marked now starts.
    pub fn unmark(&self, text: &str) -> (String, Vec<usize>) {
        let mut out = String::with_capacity(text.len());
        let mut starts = Vec::new();
        let mut rest = 0;
        for at in self.finder.find_iter(text.as_bytes()) {
            out.push_str(&text[rest..at]);
            starts.push(out.len());
            rest = at + self.token.len();
        }
        out.push_str(&text[rest..]);
        (out, starts)
    }

    /// Gives `chapter` its body and ids without the token, recording where the note numbers stand, and
    /// takes the token out of the note references its citations name.
    pub fn unmark_chapter(&self, chapter: &mut RenderedChapter, body: String, ids: &HashSet<String>) {
        if self.notes.is_empty() {
            chapter.body = body;
            chapter.ids = IdList::new(ids);
            return;
        }
        (chapter.body, chapter.note_numbers) = self.unmark(&body);
        // Only folio's note ids carry the token.
        chapter.ids =
            IdList::new(ids.iter().map(|id| if id.starts_with("note") { self.unmark(id).0 } else { id.clone() }));
        for (_, ref_id) in &mut chapter.citations {
            *ref_id = self.unmark(ref_id).0;
        }
    }
}

/// The notes stage: numbers a rendered chapter's notes from `offset + 1` (its numbers, ids and back-links,
/// and the note references its citations name), then checks the links within the chapter, to its notes
/// and its other ids alike, pointing those that find nothing at the chapter's top (`file`). Markdown is
/// not read again.
pub fn number(chapter: &mut RenderedChapter, offset: usize, file: &str) {
    // Taken: once shifted, the body's numbers no longer start where they were recorded.
    let note_numbers = std::mem::take(&mut chapter.note_numbers);
    if offset > 0 && !note_numbers.is_empty() {
        chapter.body = shift_numbers(&chapter.body, &note_numbers, offset);
        chapter.ids = IdList::new(chapter.ids.iter().map(|id| shift_id(id, offset)));
        for (_, ref_id) in &mut chapter.citations {
            *ref_id = shift_id(ref_id, offset);
        }
    }
    let mut dangling = HashSet::new();
    for (fragment, written, location) in std::mem::take(&mut chapter.local_links) {
        if !chapter.ids.contains(&fragment) {
            let message = format!("no heading or anchor '#{written}' in this chapter; the link points to its top");
            chapter.diagnostics.push(location.warning(message));
            dangling.insert(fragment);
        }
    }
    if !dangling.is_empty() {
        chapter.body = point_at_top(&chapter.body, &dangling, file);
    }
}

/// `body` with each `href="#fragment"` whose fragment is `dangling` pointing at `file` instead, in one pass
/// however many links dangle. Ids are XML names, written unescaped: the match is exact, and a fragment
/// ends at the first character an id cannot hold, so that text like `href="#` in a code sample neither
/// matches nor hides the link after it.
fn point_at_top(body: &str, dangling: &HashSet<String>, file: &str) -> String {
    const HREF: &str = "href=\"#";
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(at) = rest.find(HREF) {
        let after = &rest[at + HREF.len()..];
        let end = after.find(|c: char| matches!(c, '"' | '<' | '>' | '&') || c.is_whitespace()).unwrap_or(after.len());
        out.push_str(&rest[..at]);
        if after[end..].starts_with('"') && dangling.contains(&after[..end]) {
            let _ = write!(out, "href=\"{file}");
            rest = &after[end..];
        } else {
            out.push_str(HREF);
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// `text` with `offset` added to the number that starts at each of `starts`. A start where no number
/// stands (never expected: rendering recorded them, but a rendering may come from the cache) is left.
fn shift_numbers(text: &str, starts: &[usize], offset: usize) -> String {
    let mut out = String::with_capacity(text.len() + starts.len() * 2);
    let mut rest = 0;
    for &start in starts {
        let digits = text.get(start..).map_or(0, |from| from.bytes().take_while(u8::is_ascii_digit).count());
        let Some(number) = text.get(start..start + digits).and_then(|n| n.parse::<usize>().ok()) else { continue };
        out.push_str(&text[rest..start]);
        let _ = write!(out, "{}", number + offset);
        rest = start + digits;
    }
    out.push_str(&text[rest..]);
    out
}

/// An id with `offset` added to its note's number if it is a note's (`note.N`) or a note reference's
/// (`noteref.N`, `noteref.N.K`): those ids are folio's alone (a heading that takes one is an error).
fn shift_id(id: &str, offset: usize) -> String {
    match ["note.", "noteref."].iter().find(|prefix| id.starts_with(*prefix)) {
        Some(prefix) if id[prefix.len()..].starts_with(|c: char| c.is_ascii_digit()) => {
            shift_numbers(id, &[prefix.len()], offset)
        }
        _ => id.to_string(),
    }
}

/// Whether XHTML text ends with a full stop, question or exclamation mark, closing tags aside.
fn ends_a_sentence(xhtml: &str) -> bool {
    let mut text = xhtml.trim_end();
    while text.ends_with('>') {
        match text.rfind("</") {
            Some(i) if !text[i..].contains(char::is_whitespace) => text = text[..i].trim_end(),
            _ => break,
        }
    }
    text.ends_with(['.', '!', '?'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dangling_links_point_at_the_top_and_only_they() {
        let dangling: HashSet<String> = ["a", "gone"].map(String::from).into();
        let body = r##"<a href="#a">1</a><a href="#ab">2</a><a href="#gone">3</a><a href="#a">4</a><a href="#">5</a>"##;
        assert_eq!(
            point_at_top(body, &dangling, "c01.xhtml"),
            r##"<a href="c01.xhtml">1</a><a href="#ab">2</a><a href="c01.xhtml">3</a><a href="c01.xhtml">4</a><a href="#">5</a>"##
        );
        // Only a whole attribute value matches, and text that only looks like one hides nothing after it.
        assert_eq!(point_at_top("x href=\"#a", &dangling, "c.xhtml"), "x href=\"#a");
        assert_eq!(
            point_at_top(r##"<code>&lt;a href="#</code> <a href="#gone">x</a>"##, &dangling, "c.xhtml"),
            r##"<code>&lt;a href="#</code> <a href="c.xhtml">x</a>"##
        );
    }

    #[test]
    fn numbered_by_first_reference_with_all_backlinks() {
        let mut notes = Notes::new();
        let number = |notes: &Notes, reference: Reference| notes.unmark(&reference.mark).0;
        let first = notes.footnote("B");
        assert_eq!(number(&notes, first), "1");
        let second = notes.citation("Ref".into());
        assert_eq!(number(&notes, second), "2");
        let again = notes.footnote("b");
        assert_eq!(
            (notes.unmark(&again.note_id).0.as_str(), notes.unmark(&again.ref_id).0.as_str()),
            ("note.1", "noteref.1.2")
        );
        let mut defs = HashMap::new();
        defs.insert("b".to_string(), Definition { xhtml: "<p>Text.</p>\n".into(), range: 0..0, label: "B".into() });
        let mut out = String::new();
        notes.write_section(&mut out, &defs, crate::i18n::strings("en"));
        let (out, starts) = notes.unmark(&out);
        assert_eq!(starts.len(), 7, "the id, back-link and number of each note, and the second back-link");
        assert!(starts.iter().all(|&s| out[s..].starts_with(['1', '2'])));
        assert_eq!(
            out,
            "<section class=\"footnotes\" epub:type=\"footnotes\" aria-label=\"Notes\">\n\
             <aside class=\"footnote\" epub:type=\"footnote\" role=\"doc-footnote\" id=\"note.1\">\n\
             <p><a class=\"footnote-back\" role=\"doc-backlink\" href=\"#noteref.1\">1.</a> Text. <a class=\"footnote-back-more\" role=\"doc-backlink\" href=\"#noteref.1.2\" aria-label=\"Back to reference 2\">\u{21a9}\u{fe0e}2</a></p>\n</aside>\n\
             <aside class=\"footnote\" epub:type=\"footnote\" role=\"doc-footnote\" id=\"note.2\">\n\
             <p><a class=\"footnote-back\" role=\"doc-backlink\" href=\"#noteref.2\">2.</a> Ref.</p>\n</aside>\n\
             </section>\n"
        );
    }

    #[test]
    fn citations_end_with_one_mark() {
        let mut notes = Notes::new();
        for text in ["“Title”", "“Victory!”", "<em>What Now?</em>", "Done.", "“<span lang=\"ko\">끝.</span>”"]
        {
            notes.citation(text.into());
        }
        let mut out = String::new();
        notes.write_section(&mut out, &HashMap::new(), crate::i18n::strings("en"));
        for ending in ["“Title.”</p>", "“Victory!”</p>", "<em>What Now?</em></p>", "> Done.</p>", "끝.</span>”</p>"]
        {
            assert!(out.contains(ending), "{ending} not in {out}");
        }
    }

    #[test]
    fn numbering_shifts_only_the_marked_numbers() {
        let mut notes = Notes::new();
        let first = notes.footnote("a");
        let body = format!(
            "<p>Note 1 at id=\"noteref.1\"<a id=\"{}\">{}</a> and 9{}</p>",
            first.ref_id, first.mark, first.mark
        );
        let (body, starts) = notes.unmark(&body);
        assert_eq!(body, "<p>Note 1 at id=\"noteref.1\"<a id=\"noteref.1\">1</a> and 91</p>");
        assert_eq!(
            shift_numbers(&body, &starts, 9),
            "<p>Note 1 at id=\"noteref.1\"<a id=\"noteref.10\">10</a> and 910</p>"
        );
        assert_eq!(shift_id("noteref.3.2", 12), "noteref.15.2");
        assert_eq!(shift_id("note.3", 12), "note.15");
        assert_eq!((shift_id("note.x", 1), shift_id("intro", 1)), ("note.x".to_string(), "intro".to_string()));
    }

    #[test]
    fn each_note_knows_its_id_and_the_label_of_its_definition() {
        let mut notes = Notes::new();
        notes.footnote("Some  Label");
        notes.citation("Ref".into());
        notes.footnote("some label");
        let listed: Vec<(String, Option<&str>)> =
            notes.ids_and_labels().map(|(id, label)| (notes.unmark(&id).0, label)).collect();
        assert_eq!(listed, [("note.1".to_string(), Some("some label")), ("note.2".to_string(), None)]);
    }

    #[test]
    fn labels_match_loosely() {
        assert_eq!(label_key("Spaced   Label"), label_key("spaced label"));
    }
}
