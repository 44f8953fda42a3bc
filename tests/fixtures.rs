//! Fixture books under `tests/books/<name>/`: each builds, passes EPUBCheck with zero warnings,
//! and matches its reviewed golden files in `expected/` (the XHTML, OPF and NCX folio wrote, and
//! the diagnostics it printed). `UPDATE_GOLDEN=1 cargo test --test fixtures` rewrites them;
//! review the diff. A golden file the build no longer produces fails the test.

mod common;

use std::fs;
use std::path::Path;

use common::books::{fixture, folio, repo, unzip};
use common::epubcheck;

fn check_fixture(name: &str) {
    let dir = fixture(name);
    let run = folio(dir.path(), &["build", "book", "-o", "out.epub", "--quiet"]);
    assert_eq!(run.code, 0, "{name} failed to build:\n{}", run.stderr);
    let epub = dir.path().join("out.epub");
    epubcheck::assert_valid(&epub);

    let (_, files) = unzip(&epub);
    let mut produced: Vec<(String, Vec<u8>)> = files
        .into_iter()
        .filter(|(path, _)| [".xhtml", ".opf", ".ncx"].iter().any(|e| path.ends_with(e)))
        .map(|(path, data)| (path.rsplit('/').next().unwrap().to_string(), data))
        .collect();
    produced.push(("diagnostics.txt".to_string(), run.stderr.into_bytes()));

    let expected_dir = repo().join("tests/books").join(name).join("expected");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    if update {
        let _ = fs::remove_dir_all(&expected_dir);
        fs::create_dir_all(&expected_dir).unwrap();
    }
    let mut mismatches = Vec::new();
    for (file, data) in &produced {
        let golden = expected_dir.join(file);
        if update {
            fs::write(&golden, data).unwrap();
        } else if fs::read(&golden).ok().as_deref() != Some(data.as_slice()) {
            mismatches.push(file.clone());
        }
    }
    let stale: Vec<String> = fs::read_dir(&expected_dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|f| !produced.iter().any(|(p, _)| p == f))
                .collect()
        })
        .unwrap_or_default();
    assert!(
        mismatches.is_empty() && stale.is_empty(),
        "{name}: golden files differ: {mismatches:?}; stale: {stale:?}\n(run with UPDATE_GOLDEN=1 and review the diff under {})",
        Path::new("tests/books").join(name).join("expected").display()
    );
}

#[test]
fn mdbook_features() {
    check_fixture("mdbook");
}

#[test]
fn citations_and_book_wide_notes() {
    check_fixture("citations");
}

#[test]
fn right_to_left_arabic() {
    check_fixture("rtl");
}

#[test]
fn hostile_raw_html_comes_out_schema_valid() {
    check_fixture("hostile-html");
}

/// `[epub] highlight = false`: code blocks keep their language class but get no colour spans.
#[test]
fn highlighting_can_be_turned_off() {
    let dir = fixture("mdbook");
    let book_toml = dir.path().join("book/book.toml");
    let mut config = fs::read_to_string(&book_toml).unwrap();
    assert!(config.trim_end().ends_with("stylesheets = [\"styles/extra.css\"]"), "[epub] is the last table");
    config.push_str("highlight = false\n");
    fs::write(&book_toml, config).unwrap();
    let run = folio(dir.path(), &["build", "book", "-o", "out.epub", "--quiet"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let epub = dir.path().join("out.epub");
    epubcheck::assert_valid(&epub);
    let (_, files) = unzip(&epub);
    let code = String::from_utf8(files["EPUB/text/c005-code-examples.xhtml"].clone()).unwrap();
    assert!(code.contains("<pre><code class=\"language-rust\">// ANCHOR: all\nuse std::io;"), "{code}");
    assert!(!code.contains("<span"), "{code}");
}

#[test]
fn syntax_highlighting_in_every_language() {
    check_fixture("code");
}

/// `$…$` with `[epub] math = true` and mdBook's `\\( … \\)` with `mathjax-support`: MathML with its TeX,
/// the `mathml` property and feature, and TeX that cannot be converted kept as code with a located warning.
#[test]
fn math_in_both_notations() {
    check_fixture("math");
}

/// Under `--strict` a formula that cannot be converted stops the build, at its place in the chapter.
#[test]
fn a_formula_that_cannot_be_converted_is_an_error_under_strict() {
    let dir = fixture("math");
    let run = folio(dir.path(), &["build", "book", "-o", "out.epub", "--strict"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "dollars.md:27:82: error: formula cannot be converted to MathML: duplicate subscript or superscript"
        ),
        "{}",
        run.stderr
    );
    assert!(!dir.path().join("out.epub").exists());
}

#[test]
fn embedded_fonts() {
    check_fixture("fonts");
}
