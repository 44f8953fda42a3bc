//! The project's own book in `book/`: it builds, EPUBCheck passes it, and builds are reproducible.

mod common;

use common::books::{build_ok, folio_with_env, repo, text, unzip};
use common::epubcheck;

#[test]
fn book_builds_and_passes_epubcheck() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("book.epub");
    build_ok(&repo(), "book", out.to_str().unwrap());
    epubcheck::assert_valid(&out);

    let (order, files) = unzip(&out);
    assert_eq!(order[0], "mimetype");
    let chapters: String = order.iter().filter(|p| p.starts_with("EPUB/text/c")).map(|p| text(&files, p)).collect();
    let noterefs = chapters.matches("epub:type=\"noteref\"").count();
    assert!(noterefs >= 80, "only {noterefs} note references");
    let sources = text(&files, "EPUB/text/sources.xhtml");
    let entries = sources.matches("class=\"bibliography-entry\"").count();
    assert!(entries >= 20, "only {entries} sources listed");
    assert!(!chapters.contains("[@"), "a citation key leaked into the text");
}

#[test]
fn two_builds_in_different_time_zones_are_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.epub");
    let b = dir.path().join("b.epub");
    let run_a = folio_with_env(
        &repo(),
        &["build", "book", "-o", a.to_str().unwrap()],
        &[("TZ", "America/Los_Angeles"), ("LC_ALL", "C")],
    );
    let run_b = folio_with_env(
        &repo(),
        &["build", "book", "-o", b.to_str().unwrap()],
        &[("TZ", "Asia/Tokyo"), ("LC_ALL", "C.UTF-8")],
    );
    assert_eq!((run_a.code, run_b.code), (0, 0), "{}{}", run_a.stderr, run_b.stderr);
    assert!(std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(), "the two builds differ");
}
