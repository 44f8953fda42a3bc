//! folio's guide (`guide/`) is a folio book: it builds without a warning and passes EPUBCheck.
//! And `folio new` makes a book that does the same.

mod common;

use common::books::{folio, repo, text, unzip};
use common::epubcheck;

#[test]
fn the_guide_builds_clean_and_valid() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("guide.epub");
    let run = folio(&repo(), &["build", "guide", "--no-cache", "-o", out.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("warning"), "the guide has warnings:\n{}", run.stderr);
    epubcheck::assert_valid(&out);
    let (order, files) = unzip(&out);
    let chapters = order.iter().filter(|p| p.starts_with("EPUB/text/c0")).count();
    let summary = std::fs::read_to_string(repo().join("guide/src/SUMMARY.md")).unwrap();
    assert_eq!(chapters, summary.matches(".md)").count(), "every chapter of SUMMARY.md is in the EPUB");
    // The guide claims accessibility conformance only when folio's checks found nothing.
    assert!(text(&files, "EPUB/package.opf").contains("dcterms:conformsTo"));
}

#[test]
fn a_new_book_builds_clean_and_valid() {
    let dir = tempfile::tempdir().unwrap();
    let run = folio(dir.path(), &["new", "my-novel"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("folio build my-novel"), "{}", run.stderr);
    let run = folio(dir.path(), &["build", "my-novel"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("warning"), "a new book has warnings:\n{}", run.stderr);
    let out = dir.path().join("dist/my-novel.epub");
    epubcheck::assert_valid(&out);
    let (_, files) = unzip(&out);
    let opf = text(&files, "EPUB/package.opf");
    assert!(opf.contains(">My Novel</dc:title>"), "{opf}");
    let sources = text(&files, "EPUB/text/sources.xhtml");
    assert!(sources.contains("Origin of Species"), "the example citation makes a Sources page");

    assert!(run.stderr.contains("(1 chapter, 2 notes,"), "counts are singular and plural: {}", run.stderr);

    // Built from inside the book folder, paths are shown as the author wrote them, without `./`.
    let chapter = dir.path().join("my-novel/src/chapter-1.md");
    std::fs::write(&chapter, "# Mine\n\nA note.[^gone]\n").unwrap();
    let broken = folio(&dir.path().join("my-novel"), &["build"]);
    assert_eq!(broken.code, 1, "{}", broken.stderr);
    assert!(
        broken.stderr.starts_with("sources.toml:5:7: warning: source 'darwin-1859' is never cited\n"),
        "{}",
        broken.stderr
    );
    assert!(
        broken.stderr.contains("\nsrc/chapter-1.md:3:8: error: undefined footnote '[^gone]'\n"),
        "{}",
        broken.stderr
    );
    assert!(broken.stderr.ends_with("error: could not build the book: 1 error, 1 warning\n"), "{}", broken.stderr);

    // A second `new` in the same folder changes nothing and says why, with the contract's exit code.
    std::fs::write(&chapter, "# Mine\n").unwrap();
    let again = folio(dir.path(), &["new", "my-novel"]);
    assert_eq!(again.code, 2, "{}", again.stderr);
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    assert_eq!(std::fs::read_to_string(&chapter).unwrap(), "# Mine\n");
}

#[test]
fn completions_and_the_manual_page_are_printed() {
    let dir = tempfile::tempdir().unwrap();
    let bash = folio(dir.path(), &["completions", "bash"]);
    assert_eq!(bash.code, 0, "{}", bash.stderr);
    assert!(bash.stdout.contains("complete -F") && bash.stdout.contains("build"), "{}", bash.stdout);
    let man = folio(dir.path(), &["man"]);
    assert_eq!(man.code, 0, "{}", man.stderr);
    assert!(
        man.stdout.starts_with(".ie") || man.stdout.contains(".TH folio"),
        "{}",
        &man.stdout[..200.min(man.stdout.len())]
    );
    assert!(man.stdout.contains("watch"), "the manual names every command");
}
