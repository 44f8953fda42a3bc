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
/// every diagnostic position 1-based; Kobo's flavour of a well-formed body is well-formed too.
pub fn check_render(markdown: &str) {
    let chapter = folio::render_markdown(markdown);
    if let Err(e) = well_formed_body(markdown, &chapter) {
        panic!("rendered body is not well-formed: {e}\nMarkdown: {markdown:?}\nXHTML: {}", chapter.body);
    }
    let ids = folio::render::collect_ids(&chapter.body);
    for target in noteref_targets(&chapter.body) {
        assert!(
            ids.contains(target),
            "note reference to missing #{target}\nMarkdown: {markdown:?}\nXHTML: {}",
            chapter.body
        );
    }
    check_positions("chapter.md", markdown, &chapter.diagnostics);
    // Kobo's spans keep a well-formed body well-formed, ids still unique.
    if folio::validate::well_formed(&body_document(&chapter.body)).is_ok() {
        let kobo = folio::target::kobo::body(&chapter.body);
        if let Err(e) = folio::validate::well_formed(&body_document(&kobo)) {
            panic!("Kobo's flavour is not well-formed: {e}\nMarkdown: {markdown:?}\nXHTML: {kobo}");
        }
    }
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
            let (_, diagnostics) = folio::cite::load(SourceText::new("sources.toml", text.to_string()), "en");
            check_positions("sources.toml", text, &diagnostics);
        }
    }
}

/// True when `FOLIO_FUZZ_IGNORE_KNOWN_BUGS` is set: a fuzzing run then looks past the open bugs
/// below instead of finding them again and again. Never set for `tests/fuzz_regressions.rs`.
fn ignore_known_bugs() -> bool {
    static IGNORE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *IGNORE.get_or_init(|| std::env::var_os("FOLIO_FUZZ_IGNORE_KNOWN_BUGS").is_some())
}

/// Known open bug (tests/fuzz-regressions/render-raw-id-*.md): an id the author wrote in raw HTML
/// (`id="x"`, `<a name="x">`) can come out twice, once in the chapter text and once in a footnote,
/// or clash with an id folio writes itself (`note.1`). Recognised loosely: the input has an `id=`
/// or `name=` attribute and the duplicate id, less folio's `h-` prefix, appears in it.
fn duplicate_from_raw_html(markdown: &str, id: &str) -> bool {
    let lower = markdown.to_lowercase();
    (lower.contains("id=") || lower.contains("name="))
        && (markdown.contains(id) || id.strip_prefix("h-").is_some_and(|rest| markdown.contains(rest)))
}

/// `folio::validate::well_formed` on the body, with narrow excuses for chapters the renderer
/// itself refused with an *error* (a book with an error is never packaged):
/// - raw HTML nested deeper than folio accepts ("raw HTML nests deeper than … elements"): the body
///   is then deliberately left unsanitized, so it need not be well-formed;
/// - a duplicate id reported as "duplicate heading id" (say `## A {#a}` then `## A`): the later
///   copies are renamed and the check goes on, to keep looking for other problems in the body.
///
/// With `FOLIO_FUZZ_IGNORE_KNOWN_BUGS` set, duplicates from raw HTML ids are renamed the same way.
fn well_formed_body(markdown: &str, chapter: &folio::render::RenderedChapter) -> Result<(), String> {
    let refused_too_deep =
        chapter.diagnostics.iter().any(|d| d.is_error() && d.message.starts_with("raw HTML nests deeper than"));
    if refused_too_deep {
        return Ok(());
    }
    let mut body = chapter.body.clone();
    // Each round renames every later copy of one id, so this ends; the bound is only a backstop.
    for round in 0..10_000 {
        let Err(e) = folio::validate::well_formed(&body_document(&body)) else { return Ok(()) };
        let Some(id) = e.strip_prefix("duplicate id '").and_then(|rest| rest.strip_suffix('\'')) else { return Err(e) };
        let reported = format!("duplicate heading id '{id}'");
        let excused = chapter.diagnostics.iter().any(|d| d.is_error() && d.message == reported)
            || (ignore_known_bugs() && duplicate_from_raw_html(markdown, id));
        if !excused {
            return Err(e);
        }
        let attribute = format!(" id=\"{}\"", folio::text::escaped(id));
        let mut copies = 0;
        body = body.split(&attribute).enumerate().fold(String::with_capacity(body.len()), |mut out, (i, piece)| {
            match i {
                0 => {}
                1 => out.push_str(&attribute),
                _ => {
                    copies += 1;
                    out.push_str(&format!(" id=\"{}.fuzz-duplicate-{round}-{copies}\"", folio::text::escaped(id)));
                }
            }
            out.push_str(piece);
            out
        });
        if copies == 0 {
            return Err(e);
        }
    }
    Err("too many duplicate ids".into())
}

fn check_positions(file: &str, text: &str, diagnostics: &[Diagnostic]) {
    for d in diagnostics {
        if let Some(p) = d.position {
            assert!(
                p.line >= 1 && p.column >= 1,
                "{file}: diagnostic at line {}, column {}: {d}\nInput: {text:?}",
                p.line,
                p.column
            );
        }
    }
}
