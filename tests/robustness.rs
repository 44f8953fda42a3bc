//! Strange but legal books must still build into valid EPUBs: XML-special characters in every
//! metadata field, thousands of chapters, a 10 MB line, deep nesting, unusual headings.

mod common;

use std::fs;

use common::books::{folio, text, unzip, write_files};
use common::epubcheck;

#[test]
fn xml_special_characters_in_every_metadata_field() {
    let dir = tempfile::tempdir().unwrap();
    let nasty = toml::Value::String("A & B <c> \"d\" 'e' ]]> --> \u{202e}x\u{200b}y 𝄞 \u{1}".to_string()).to_string();
    let toml = format!(
        "[book]\ntitle = {nasty}\nauthors = [{nasty}]\ndescription = {nasty}\nlanguage = 'en'\n\n[epub]\nsubtitle = {nasty}\npublisher = {nasty}\nrights = {nasty}\nsubjects = [{nasty}]\nseries = {nasty}\ncontributors = [{{ name = {nasty}, role = 'edt' }}]\nidentifier = 'urn:uuid:0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b'\n"
    );
    write_files(
        dir.path(),
        &[
            ("book/book.toml", &toml),
            ("book/src/SUMMARY.md", "- [A & B <c> \"d\"](one.md)\n"),
            ("book/src/one.md", "# A & B <c> \"d\"\n\nText.\n"),
        ],
    );
    let run = folio(dir.path(), &["build", "book", "-o", "out.epub"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    epubcheck::assert_valid(&dir.path().join("out.epub"));
    let (_, files) = unzip(&dir.path().join("out.epub"));
    assert!(text(&files, "EPUB/package.opf").contains("<dc:title id=\"title\">A &amp; B &lt;c&gt; &quot;d&quot;"));
}

#[test]
fn thousands_of_chapters_and_extreme_content() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut summary = String::new();
    for i in 0..2_000 {
        summary.push_str(&format!("- [Chapter {i}](c{i}.md)\n"));
        let next = (i + 1) % 2_000;
        fs::create_dir_all(root.join("book/src")).unwrap();
        fs::write(root.join(format!("book/src/c{i}.md")), format!("# Chapter {i}\n\n## !!!\n\n## 🎉\n\n## 🎉\n\nSee [next](c{next}.md#h-) and a note.[^a]\n\n[^a]: Note {i}.\n")).unwrap();
    }
    // A 10 MB line, thousands of nested quotes and list levels.
    let mut extreme = String::from("# Extreme\n\n");
    extreme.push_str(&"word ".repeat(2_000_000));
    extreme.push_str("\n\n");
    extreme.push_str(&"> ".repeat(5_000));
    extreme.push_str("deep\n\n");
    for level in 0..2_000 {
        extreme.push_str(&" ".repeat(level * 2));
        extreme.push_str("- item\n");
    }
    summary.push_str("- [Extreme](extreme.md)\n");
    write_files(
        root,
        &[
            ("book/book.toml", "[book]\ntitle = \"Many\"\n"),
            ("book/src/SUMMARY.md", &summary),
            ("book/src/extreme.md", &extreme),
        ],
    );
    let run = folio(root, &["build", "book", "-o", "out.epub", "--no-cache"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("2001 chapters"), "{}", run.stderr);
    // folio's own checks ran on the package (EPUBCheck on 2,000 chapters would take minutes).
    let (order, files) = unzip(&root.join("out.epub"));
    let is_chapter =
        |p: &&String| p.strip_prefix("EPUB/text/c").is_some_and(|n| n.starts_with(|c: char| c.is_ascii_digit()));
    assert_eq!(order.iter().filter(is_chapter).count(), 2_001);
    let chapter = text(&files, "EPUB/text/c0001-chapter-0.xhtml");
    // Punctuation-only and emoji headings get valid, distinct ids, and links to them resolve.
    assert!(
        chapter.contains("<h2 id=\"h-\">!!!</h2>")
            && chapter.contains("<h2 id=\"h--1\">🎉</h2>")
            && chapter.contains("<h2 id=\"h--2\">🎉</h2>"),
        "{chapter}"
    );
    assert!(chapter.contains("href=\"c0002-chapter-1.xhtml#h-\""), "{chapter}");
}

#[test]
fn heading_attributes_given_twice_or_invalid_are_dropped_with_a_warning() {
    let chapter =
        folio::render_markdown("# Notes {#n .intro .intro lang=de lang=en dir=sideways data-X=1 data-ok=2}\n");
    let heading = chapter.body.lines().find(|l| l.starts_with("<h1")).expect("a heading");
    assert_eq!(heading, r#"<h1 id="n" class="intro" lang="de" data-ok="2">Notes</h1>"#);
    let messages: Vec<&str> = chapter.diagnostics.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "heading attribute `lang` is given twice; the first is kept",
            "heading attribute `dir=\"sideways\"` has an invalid value and is dropped",
            "heading attribute `data-X` is not supported and is dropped",
        ]
    );
}
