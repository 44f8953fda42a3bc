//! `folio check`: reports what `build` would, writes nothing, and with `--epubcheck` runs EPUBCheck
//! and maps its findings back to the author's files.

mod common;

use common::books::{fixture, folio, folio_with_env, write_files};

#[test]
fn check_writes_nothing_and_strict_fails_on_warnings() {
    let dir = fixture("mdbook");
    let before: Vec<_> = walk(dir.path());
    let run = folio(dir.path(), &["check", "book"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("warning: draft chapter 'A Draft'"), "{}", run.stderr);
    assert_eq!(walk(dir.path()), before, "check wrote files");
    assert_eq!(folio(dir.path(), &["check", "book", "--strict"]).code, 1);
}

#[test]
fn epubcheck_runs_on_request_and_folio_catches_what_it_would() {
    let jar = common::epubcheck::jar().to_str().unwrap().to_string();
    let dir = fixture("citations");
    let clean = folio_with_env(dir.path(), &["check", "book", "--epubcheck"], &[("EPUBCHECK_JAR", &jar)]);
    assert_eq!(clean.code, 0, "{}", clean.stderr);
    assert!(clean.stderr.contains("EPUBCheck: no errors or warnings"), "{}", clean.stderr);

    let missing =
        folio_with_env(dir.path(), &["check", "book", "--epubcheck"], &[("EPUBCHECK_JAR", "/nonexistent.jar")]);
    assert_eq!(missing.code, 2, "{}", missing.stderr);

    // What EPUBCheck would warn about (OPF-085, an identifier that is not a UUID) folio reports itself, at its line.
    let toml = std::fs::read_to_string(dir.path().join("book/book.toml"))
        .unwrap()
        .replace("[epub]\n", "[epub]\nidentifier = \"urn:uuid:not-a-uuid\"\n");
    write_files(dir.path(), &[("book/book.toml", &toml)]);
    let caught = folio(dir.path(), &["check", "book"]);
    assert_eq!(caught.code, 1, "{}", caught.stderr);
    assert!(
        caught
            .stderr
            .starts_with("book/book.toml:7:14: error: `urn:uuid:not-a-uuid` is not a valid urn:uuid identifier"),
        "{}",
        caught.stderr
    );
}

fn walk(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path.clone());
            }
            out.push(path);
        }
    }
    out.sort();
    out
}
