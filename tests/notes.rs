//! Notes numbered across the book (`footnote-numbering = "book"`): the numbers a chapter's notes take
//! depend on the chapters before it, so links within a chapter to its notes are checked against them,
//! and the author's raw HTML cannot take a note's id.

mod common;

use common::books::{build_ok, text, unzip, write_files};
use common::epubcheck;

#[test]
fn links_to_notes_follow_the_books_numbers_and_raw_html_cannot_take_a_notes_id() {
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[
            ("book/book.toml", "[book]\ntitle = \"Notes\"\n\n[epub]\nfootnote-numbering = \"book\"\n"),
            ("book/src/SUMMARY.md", "- [One](one.md)\n- [Two](two.md)\n"),
            ("book/src/one.md", "# One\n\nA[^a] and b[^b].\n\n[^a]: First.\n[^b]: Second.\n"),
            (
                "book/src/two.md",
                "# Two\n\nC[^c], see [its note](#note.3) and [not here](#note.1).\n\n\
                 <span id=\"note.3\">taken?</span> <a class=\"noteref\" id=\"noteref.3\">3</a>\n\n[^c]: Third.\n",
            ),
        ],
    );
    let stderr = build_ok(dir.path(), "book", "out.epub");
    let epub = dir.path().join("out.epub");
    epubcheck::assert_valid(&epub);
    let two = text(&unzip(&epub).1, "EPUB/text/c002-two.xhtml");
    assert!(two.contains("id=\"noteref.3\" href=\"#note.3\">3</a>"), "{two}");
    assert!(two.contains("id=\"note.3\""), "{two}");
    assert_eq!(two.matches("id=\"note.3\"").count(), 1, "the span's id is dropped: {two}");
    assert_eq!(two.matches("id=\"noteref.3\"").count(), 1, "the author's noteref id is dropped: {two}");
    assert!(two.contains("<a href=\"#note.3\">its note</a>"), "{two}");
    assert!(two.contains("<a href=\"c002-two.xhtml\">not here</a>"), "{two}");
    assert!(stderr.contains("no heading or anchor '#note.1' in this chapter"), "{stderr}");
    assert!(!stderr.contains("'#note.3'"), "{stderr}");
}

/// A chapter finished again because it links to an anchor another chapter lacks keeps the numbers its
/// notes have across the book, built cold and warm.
#[test]
fn a_relinked_chapter_keeps_the_books_note_numbers() {
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[
            ("book/book.toml", "[book]\ntitle = \"Notes\"\n\n[epub]\nfootnote-numbering = \"book\"\n"),
            ("book/src/SUMMARY.md", "- [One](one.md)\n- [Two](two.md)\n- [Three](three.md)\n"),
            ("book/src/one.md", "# One\n\nA[^a] and b[^b].\n\n[^a]: First.\n[^b]: Second.\n"),
            ("book/src/two.md", "# Two\n\nNo notes, [a lost anchor](one.md#gone).\n"),
            ("book/src/three.md", "# Three\n\nC[^c], [also lost](one.md#gone), [here](#note.3).\n\n[^c]: Third.\n"),
        ],
    );
    for build in ["cold", "warm"] {
        let stderr = build_ok(dir.path(), "book", "out.epub");
        assert_eq!(stderr.matches("no heading or anchor '#gone' in 'one.md'").count(), 2, "{build}: {stderr}");
        let epub = dir.path().join("out.epub");
        let three = text(&unzip(&epub).1, "EPUB/text/c003-three.xhtml");
        assert!(three.contains("<a href=\"c001-one.xhtml\">also lost</a>"), "{build}: {three}");
        assert!(three.contains("id=\"noteref.3\" href=\"#note.3\">3</a>"), "{build}: {three}");
        assert!(three.contains("<a href=\"#note.3\">here</a>"), "{build}: {three}");
        assert!(!stderr.contains("'#note.3'"), "{build}: {stderr}");
    }
}
