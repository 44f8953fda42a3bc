//! folio as an mdBook renderer (issue #12, class 7): `folio mdbook` reads the render context mdBook 0.5.4
//! handed over for `tests/books/renderer/` (kept as `context.json`) and writes a valid EPUB into the
//! renderer's output folder, with what mdBook's preprocessors made and without expanding directives twice.

mod common;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use common::books::{Run, fixture, folio, text, unzip};
use common::epubcheck;

/// Runs `folio mdbook` in `cwd` (mdBook runs renderers in their output folder) with `input` on stdin.
fn render(cwd: &Path, input: &str) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_folio"))
        .arg("mdbook")
        .current_dir(cwd)
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("CLICOLOR_FORCE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run folio");
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The captured context, pointed at a copy of the book.
fn context(book: &Path, destination: &Path) -> String {
    let captured = std::fs::read_to_string(book.join("context.json")).unwrap();
    let mut context: serde_json::Value = serde_json::from_str(&captured).unwrap();
    assert_eq!(context["version"], "0.5.4");
    context["root"] = book.display().to_string().into();
    context["destination"] = destination.display().to_string().into();
    context.to_string()
}

#[test]
fn builds_the_book_mdbook_hands_over() {
    let dir = fixture("renderer");
    let book = dir.path().join("book");
    let destination = book.join("book");
    std::fs::create_dir_all(&destination).unwrap();
    let run = render(&destination, &context(&book, &destination));
    assert_eq!(run.code, 0, "{}", run.stderr);
    // mdBook ran the preprocessors: no warning about them, and nothing else to say.
    assert_eq!(run.stderr.lines().filter(|l| l.contains("warning")).count(), 0, "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    let epub = destination.join("a-book-mdbook-renders.epub");
    epubcheck::assert_valid(&epub);
    let (_, files) = unzip(&epub);
    let intro = text(&files, "EPUB/text/c001-introduction.xhtml");
    assert!(intro.contains("A preprocessor ran: <strong>SHOUTED</strong>."), "{intro}");
    assert!(intro.contains("href=\"c003-code.xhtml#anchored\""), "{intro}");
    let code = text(&files, "EPUB/text/c003-code.xhtml");
    // mdBook expanded the directives and unescaped the escaped one, which stays as it is.
    assert!(code.contains("Written about, not expanded: {{#include ../examples/hello.rs}}."), "{code}");
    assert!(!code.contains("use std::io"), "hidden lines stay hidden: {code}");
    let nested = text(&files, "EPUB/text/c004-nested.xhtml");
    assert!(nested.contains("href=\"c001-introduction.xhtml\""), "index.html is the README: {nested}");
    let opf = text(&files, "EPUB/package.opf");
    assert!(opf.contains("folio as mdBook&#39;s renderer"), "[output.folio] is read: {opf}");
}

#[test]
fn a_plain_build_names_the_preprocessors_it_does_not_run() {
    let dir = fixture("renderer");
    let run = folio(dir.path(), &["build", "book", "-o", "out.epub"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let warnings: Vec<&str> = run.stderr.lines().filter(|l| l.contains(": warning: ")).collect();
    assert_eq!(
        warnings,
        [
            "book/book.toml:9:15: warning: `folio build` does not run mdBook preprocessors (`shout`); what they would change stays as written",
            "book/src/SUMMARY.md:7:18: warning: text '(text after a link)' in SUMMARY.md is not a chapter link and is left out",
        ],
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("hint: to run them, add `[output.folio]` with `command = \"folio mdbook\"`"));
    // Without mdBook, folio expands the directives itself, to the same text.
    let (_, files) = unzip(&dir.path().join("out.epub"));
    let code = text(&files, "EPUB/text/c003-code.xhtml");
    assert!(code.contains("Written about, not expanded: {{#include ../examples/hello.rs}}."), "{code}");
    assert!(code.contains("<title>Code, as the page title</title>"), "{code}");
}

#[test]
fn anything_but_a_render_context_cannot_run() {
    let dir = tempfile::tempdir().unwrap();
    let run = render(dir.path(), "[book]\ntitle = \"T\"\n");
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.starts_with("error: standard input is not mdBook's render context"), "{}", run.stderr);
}
