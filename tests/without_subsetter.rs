//! folio built without the cargo feature `subset-fonts` (which compiles HarfBuzz's subsetter and the WOFF2
//! encoder, both C++): every font is embedded whole, as the book has it, with one warning at its line in
//! book.toml that says why and how to change it, and the book stays valid. CI runs this file as
//! `cargo test --no-default-features --features cli --test without_subsetter`; built with the feature, it
//! holds no test.
#![cfg(not(feature = "subset-fonts"))]

mod common;

use std::fs;

use common::books::{fixture, folio, repo, unzip};
use common::epubcheck;

#[test]
fn without_the_subsetter_fonts_are_embedded_whole_with_a_warning_each() {
    let dir = fixture("fonts");
    // Every warning, not the first few of the kind: each font gets its own.
    let run = folio(dir.path(), &["build", "book", "-o", "out.epub", "--all-warnings"]);
    assert_eq!(run.code, 0, "folio build failed:\n{}", run.stderr);
    let files = unzip(&dir.path().join("out.epub")).1;
    let fonts = ["Caladea-Regular.ttf", "Karla-Regular.otf", "Karla-Regular.woff2", "Caladea-Regular.woff"];
    for (line, name) in (11..).zip(fonts) {
        let original = fs::read(repo().join("tests/books/fonts/fonts").join(name)).unwrap();
        assert_eq!(files[&format!("EPUB/fonts/{name}")], original, "{name} should be embedded as it is");
        let warning = format!(
            "book/book.toml:{line}:5: warning: font 'book/fonts/{name}' is embedded whole: this folio was built \
             without font subsetting\n\
             hint: build folio with its default features (cargo feature `subset-fonts`), or set \
             `subset-fonts = false` under [epub]\n"
        );
        assert!(run.stderr.contains(&warning), "no\n{warning}in:\n{}", run.stderr);
    }
    epubcheck::assert_valid(&dir.path().join("out.epub"));
}
