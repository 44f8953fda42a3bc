//! Footnotes and citation notes of one chapter: numbering by first reference, backlinks to
//! every reference, and the EPUB 3 note markup that pops up in Apple Books, Kobo and Kindle.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::ops::Range;

use crate::i18n::Strings;
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
#[derive(Debug, Default)]
pub struct Notes {
    notes: Vec<Note>,
    by_label: HashMap<String, usize>,
    /// Added to every number when the book numbers notes across chapters.
    offset: usize,
}

/// The ids and number of one reference to a note.
pub struct Reference {
    /// The note's number as shown.
    pub number: usize,
    /// The reference's own id (backlink target).
    pub ref_id: String,
    /// The note's id (link target).
    pub note_id: String,
}

impl Notes {
    /// Notes numbered from `offset + 1`.
    pub fn new(offset: usize) -> Self {
        Self { offset, ..Self::default() }
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
        let number = self.offset + index + 1;
        let ref_id = if note.references == 1 {
            format!("noteref.{number}")
        } else {
            format!("noteref.{number}.{}", note.references)
        };
        Reference { number, ref_id, note_id: format!("note.{number}") }
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

    /// The ids of the notes themselves (`note.N`), which folio writes.
    pub fn note_ids(&self) -> Vec<String> {
        (1..=self.notes.len()).map(|i| format!("note.{}", self.offset + i)).collect()
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
            let number = self.offset + index + 1;
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
    fn numbered_by_first_reference_with_all_backlinks() {
        let mut notes = Notes::new(0);
        assert_eq!(notes.footnote("B").number, 1);
        assert_eq!(notes.citation("Ref".into()).number, 2);
        let again = notes.footnote("b");
        assert_eq!((again.number, again.ref_id.as_str()), (1, "noteref.1.2"));
        let mut defs = HashMap::new();
        defs.insert("b".to_string(), Definition { xhtml: "<p>Text.</p>\n".into(), range: 0..0, label: "B".into() });
        let mut out = String::new();
        notes.write_section(&mut out, &defs, crate::i18n::strings("en"));
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
        let mut notes = Notes::new(0);
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
    fn labels_match_loosely() {
        assert_eq!(label_key("Spaced   Label"), label_key("spaced label"));
    }
}
