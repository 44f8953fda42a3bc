//! Covers: a book without one gets a generated PNG cover, used as a given cover is (cover page,
//! `cover-image`, landmark); `cover = false` goes without; a title the bundled fonts cannot set gets a
//! warning instead of a cover.

mod common;

use std::fs;

use common::books::{folio, text, unzip, write_files};
use common::epubcheck;

const CHAPTERS: &[(&str, &str)] =
    &[("book/src/SUMMARY.md", "- [One](one.md)\n"), ("book/src/one.md", "# One\n\nSome text.\n")];

fn book(toml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), CHAPTERS);
    write_files(dir.path(), &[("book/book.toml", toml)]);
    dir
}

fn build(dir: &std::path::Path, out: &str) -> common::books::Run {
    let run = folio(dir, &["build", "book", "-o", out, "--quiet"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run
}

#[test]
fn a_book_without_a_cover_gets_a_generated_one() {
    let dir = book(
        "[book]\ntitle = \"Tom & Jerry <3\"\nauthors = [\"A & B\", \"C\"]\n[epub]\nsubtitle = \"'Quotes' & \\\"more\\\"\"\npublisher = \"P<Q>\"\n",
    );
    build(dir.path(), "out.epub");
    let epub = dir.path().join("out.epub");
    epubcheck::assert_valid(&epub);

    let (_, files) = unzip(&epub);
    let png = &files["EPUB/images/cover.png"];
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    let number = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    assert_eq!((number(16), number(20)), (1600, 2560));
    let opf = text(&files, "EPUB/package.opf");
    assert!(opf.contains(
        r#"<item id="cover-image" href="images/cover.png" media-type="image/png" properties="cover-image"/>"#
    ));
    assert!(opf.contains(r#"<meta name="cover" content="cover-image"/>"#));
    assert!(opf.contains("<itemref idref=\"cover\"/>\n<itemref idref=\"titlepage\"/>"), "{opf}");
    // The alt text says what the cover shows.
    let page = text(&files, "EPUB/text/cover.xhtml");
    assert!(page.contains("alt=\"Tom &amp; Jerry &lt;3: ‘Quotes’ &amp; “more”. A &amp; B, C. P&lt;Q&gt;.\""), "{page}");

    // Same bytes again, from the cache and without it.
    build(dir.path(), "again.epub");
    let again = folio(dir.path(), &["build", "book", "-o", "clean.epub", "--no-cache", "--quiet"]);
    assert_eq!(again.code, 0);
    let bytes = fs::read(&epub).unwrap();
    assert_eq!(bytes, fs::read(dir.path().join("again.epub")).unwrap());
    assert_eq!(bytes, fs::read(dir.path().join("clean.epub")).unwrap());
}

#[test]
fn cover_false_leaves_the_cover_out() {
    let dir = book("[book]\ntitle = \"Bare\"\n[epub]\ncover = false\n");
    build(dir.path(), "out.epub");
    let (names, files) = unzip(&dir.path().join("out.epub"));
    assert!(!names.iter().any(|n| n.contains("cover")), "{names:?}");
    assert!(!text(&files, "EPUB/package.opf").contains("cover"));
}

#[test]
fn a_title_the_fonts_cannot_set_gets_a_warning_and_no_cover() {
    let dir = book("[book]\ntitle = \"돌려보내진 사람들\"\nauthors = [\"A\"]\nlanguage = \"ko\"\n");
    let run = folio(dir.path(), &["build", "book", "-o", "out.epub", "--quiet"]);
    assert_eq!(run.code, 0, "a warning, not an error");
    assert_eq!(
        run.stderr,
        "book/book.toml:2:9: warning: the title has characters folio's cover fonts lack ('돌', '려', '보', '내', '진', …), so the book gets no generated cover\n\
         hint: give a cover image with `cover = \"cover.png\"` under [epub], or set `cover = false`\n"
    );
    let (names, _) = unzip(&dir.path().join("out.epub"));
    assert!(!names.iter().any(|n| n.contains("cover")), "{names:?}");

    // Saying `cover = false` is the way to go without one, quietly.
    let dir =
        book("[book]\ntitle = \"돌려보내진 사람들\"\nauthors = [\"A\"]\nlanguage = \"ko\"\n[epub]\ncover = false\n");
    assert_eq!(build(dir.path(), "out.epub").stderr, "");
}
