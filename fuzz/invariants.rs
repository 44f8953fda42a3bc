//! The invariants the fuzz targets check, shared with `tests/fuzz_regressions.rs`
//! (included there with `#[path]`, so a saved crash is checked exactly as the fuzzer checked it).
//!
//! Every check panics with the offending input on failure.

#![allow(dead_code)]

use folio::diagnostic::{Diagnostic, SourceText};

/// What the `book_files` target feeds, chosen by the first input byte (`byte % 3`;
/// ASCII `'0'`, `'1'` and `'2'` pick them in this order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookFile {
    /// `book.toml`, through `folio::config::load`.
    Config,
    /// `SUMMARY.md`, through `folio::outline::parse`.
    Summary,
    /// The sources file, through `folio::cite::load`.
    Sources,
}

impl BookFile {
    pub const ALL: [BookFile; 3] = [BookFile::Config, BookFile::Summary, BookFile::Sources];

    pub fn from_selector(byte: u8) -> Self {
        Self::ALL[usize::from(byte % 3)]
    }
}

/// The XHTML document a chapter body is checked in.
pub fn body_document(body: &str) -> String {
    format!("<body xmlns=\"http://www.w3.org/1999/xhtml\" xmlns:epub=\"http://www.idpf.org/2007/ops\">{body}</body>")
}

/// The `href` targets of the note references folio wrote (`<a … role="doc-noteref" … href="#note.N">`).
pub fn noteref_targets(xhtml: &str) -> Vec<&str> {
    xhtml
        .match_indices("role=\"doc-noteref\"")
        .filter_map(|(i, _)| {
            let tag = &xhtml[i..i + xhtml[i..].find('>')?];
            let start = tag.find("href=\"#")? + 7;
            Some(&tag[start..start + tag[start..].find('"')?])
        })
        .collect()
}

/// Markdown → XHTML: no panic, well-formed body, every note reference has its note,
/// every diagnostic position 1-based.
pub fn check_render(markdown: &str) {
    let chapter = folio::render_markdown(markdown);
    if let Err(e) = folio::validate::well_formed(&body_document(&chapter.body)) {
        panic!("rendered body is not well-formed: {e}\nMarkdown: {markdown:?}\nXHTML: {}", chapter.body);
    }
    let ids = folio::render::collect_ids(&chapter.body);
    for target in noteref_targets(&chapter.body) {
        assert!(ids.contains(target), "note reference to missing #{target}\nMarkdown: {markdown:?}\nXHTML: {}", chapter.body);
    }
    check_positions("chapter.md", markdown, &chapter.diagnostics);
}

/// One book file through its parser: no panic, every diagnostic position 1-based.
pub fn check_book_file(kind: BookFile, text: &str) {
    match kind {
        BookFile::Config => {
            let (_, diagnostics) = folio::config::load(&SourceText::new("book.toml", text.to_string()));
            check_positions("book.toml", text, &diagnostics);
        }
        BookFile::Summary => {
            let (_, diagnostics) = folio::outline::parse(&SourceText::new("SUMMARY.md", text.to_string()));
            check_positions("SUMMARY.md", text, &diagnostics);
        }
        BookFile::Sources => {
            let (_, diagnostics) = folio::cite::load(SourceText::new("sources.toml", text.to_string()));
            check_positions("sources.toml", text, &diagnostics);
        }
    }
}

fn check_positions(file: &str, text: &str, diagnostics: &[Diagnostic]) {
    for d in diagnostics {
        if let Some(p) = d.position {
            assert!(p.line >= 1 && p.column >= 1, "{file}: diagnostic at line {}, column {}: {d}\nInput: {text:?}", p.line, p.column);
        }
    }
}
