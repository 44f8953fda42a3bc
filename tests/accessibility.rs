//! Accessibility metadata is derived from the content: folio claims WCAG 2.1 AA conformance
//! (`dcterms:conformsTo`) only when its own checks find nothing, and reports what they find at the
//! Markdown position.

mod common;

use common::books::{folio, text, unzip, write_files};
use common::epubcheck;

const CONFORMS: &str = "<meta property=\"dcterms:conformsTo\">EPUB Accessibility 1.1 - WCAG 2.1 Level AA</meta>";

/// Builds a one-chapter book and returns folio's stderr and the package document.
fn build(chapter: &str) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[
            ("book/book.toml", "[book]\ntitle = \"Access\"\nauthors = [\"A\"]\n"),
            ("book/src/SUMMARY.md", "- [One](one.md)\n"),
            ("book/src/one.md", chapter),
            (
                "book/src/pic.svg",
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"8\" height=\"8\"><rect width=\"8\" height=\"8\" fill=\"red\"/></svg>\n",
            ),
        ],
    );
    let run = folio(dir.path(), &["build", "book", "-o", "out.epub", "--no-cache"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    epubcheck::assert_valid(&dir.path().join("out.epub"));
    let (_, files) = unzip(&dir.path().join("out.epub"));
    (run.stderr, text(&files, "EPUB/package.opf"))
}

#[test]
fn conformance_is_claimed_only_when_every_check_passes() {
    let (stderr, opf) = build("# One\n\n## Two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n![A red square](pic.svg)\n");
    assert!(!stderr.contains("warning"), "{stderr}");
    assert!(opf.contains(CONFORMS), "{opf}");
    assert!(opf.contains("<meta property=\"schema:accessibilityFeature\">alternativeText</meta>"), "{opf}");
}

#[test]
fn each_failed_check_is_located_and_withdraws_the_claim() {
    let cases = [
        ("# One\n\n![](pic.svg)\n", "one.md:3:1: warning: image has no alt text"),
        ("# One\n\n#### Deep\n", "one.md:3:1: warning: heading level jumps from 1 to 4"),
        (
            "# One\n\n<table>\n<tr><td>1</td></tr>\n</table>\n",
            "one.md:5:1: warning: table has no header cells (`<th>`)",
        ),
        (" \n\n", "one.md:1:1: warning: chapter 'One' is empty"),
    ];
    for (chapter, expected) in cases {
        let (stderr, opf) = build(chapter);
        assert!(stderr.contains(expected), "expected {expected:?} in:\n{stderr}");
        assert!(!opf.contains("dcterms:conformsTo"), "{chapter:?} still claims conformance:\n{opf}");
    }
    // A table with header cells is fine, even when its rows come in later HTML blocks.
    let (stderr, opf) = build("# One\n\n<table>\n<tr><th>h</th></tr>\n\n<tr><td>1</td></tr>\n</table>\n");
    assert!(!stderr.contains("table has no header"), "{stderr}");
    assert!(opf.contains(CONFORMS), "{opf}");
}
