//! Timestamps come from `[epub] date`, else `SOURCE_DATE_EPOCH`, else 1980-01-01 — never the clock.

mod common;

use common::books::{fixture, folio_with_env, text, unzip};

fn modified(env: &[(&str, &str)]) -> (String, Vec<u8>) {
    let dir = fixture("rtl");
    let run = folio_with_env(dir.path(), &["build", "book", "-o", "out.epub", "--no-cache"], env);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let path = dir.path().join("out.epub");
    let (_, files) = unzip(&path);
    let opf = text(&files, "EPUB/package.opf");
    let start = opf.find("dcterms:modified\">").unwrap() + 18;
    (opf[start..start + 20].to_string(), std::fs::read(path).unwrap())
}

#[test]
fn source_date_epoch_sets_the_timestamp_when_the_book_has_no_date() {
    let (default, a) = modified(&[]);
    assert_eq!(default, "1980-01-01T00:00:00Z");
    let (epoch, b) = modified(&[("SOURCE_DATE_EPOCH", "1700000000")]);
    assert_eq!(epoch, "2023-11-14T22:13:20Z");
    assert_ne!(a, b, "the zip timestamps follow too");
    let (again, c) = modified(&[("SOURCE_DATE_EPOCH", "1700000000")]);
    assert_eq!((again, c), (epoch, b), "and the bytes are the same every time");
}

#[test]
fn every_zip_entry_carries_the_books_date() {
    let dir = fixture("citations");
    let run = folio_with_env(dir.path(), &["build", "book", "-o", "out.epub"], &[("SOURCE_DATE_EPOCH", "1700000000")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut archive = zip::ZipArchive::new(std::fs::File::open(dir.path().join("out.epub")).unwrap()).unwrap();
    for i in 0..archive.len() {
        let file = archive.by_index(i).unwrap();
        // book.toml says `date = "2021-03"`: that wins over SOURCE_DATE_EPOCH.
        let t = file.last_modified().unwrap();
        assert_eq!(
            (t.year(), t.month(), t.day(), t.hour(), t.minute()),
            (2021, 3, 1, 0, 0),
            "{}",
            file.name().unwrap()
        );
    }
}
