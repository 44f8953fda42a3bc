//! Tests that the EPUBCheck harness (tests/common/epubcheck.rs) is honest: it passes a valid
//! EPUB, and it reports fatal errors, errors and warnings when EPUBCheck finds them. The EPUBs
//! are written by hand here, independently of folio.

mod common;

use common::epubcheck::{assert_valid, check};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

const VALID_UUID: &str = "urn:uuid:6ba7b810-9dad-11d1-80b4-00c04fd430c8";

/// Writes a minimal EPUB 3 — one nav document, one chapter — to `dir/name`.
/// `identifier` goes into `dc:identifier`; `chapter_body` is the chapter's `<body>` content.
fn write_epub(dir: &Path, name: &str, identifier: &str, chapter_body: &str) -> PathBuf {
    let container = r#"<?xml version="1.0" encoding="UTF-8"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles>
    <rootfile full-path="EPUB/package.opf" media-type="application/oebps-package+xml"/>
  </rootfiles>
</container>
"#;
    let package = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="uid" xml:lang="en">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
    <dc:identifier id="uid">{identifier}</dc:identifier>
    <dc:title>Harness Test</dc:title>
    <dc:language>en</dc:language>
    <meta property="dcterms:modified">2024-01-01T00:00:00Z</meta>
  </metadata>
  <manifest>
    <item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>
    <item id="ch1" href="ch1.xhtml" media-type="application/xhtml+xml"/>
  </manifest>
  <spine>
    <itemref idref="ch1"/>
  </spine>
</package>
"#
    );
    let nav = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops" xml:lang="en" lang="en">
<head><title>Contents</title></head>
<body>
<nav epub:type="toc" id="toc"><h1>Contents</h1><ol><li><a href="ch1.xhtml">Chapter 1</a></li></ol></nav>
</body>
</html>
"#;
    let chapter = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">
<head><title>Chapter 1</title></head>
<body>
<h1>Chapter 1</h1>
{chapter_body}
</body>
</html>
"#
    );

    let path = dir.join(name);
    let mut zip = ZipWriter::new(File::create(&path).unwrap());
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    // The mimetype entry must come first and be stored uncompressed.
    for (entry, content) in [
        ("mimetype", "application/epub+zip"),
        ("META-INF/container.xml", container),
        ("EPUB/package.opf", &package),
        ("EPUB/nav.xhtml", nav),
        ("EPUB/ch1.xhtml", &chapter),
    ] {
        zip.start_file(entry, stored).unwrap();
        zip.write_all(content.as_bytes()).unwrap();
    }
    zip.finish().unwrap();
    path
}

#[test]
fn minimal_valid_epub_is_clean() {
    let dir = tempfile::tempdir().unwrap();
    let epub = write_epub(dir.path(), "valid.epub", VALID_UUID, "<p>Hello, world.</p>");
    let report = check(&epub);
    assert_eq!((report.fatal, report.errors, report.warnings), (0, 0, 0), "{report:#?}");
    assert!(report.messages.is_empty(), "{report:#?}");
    assert!(report.is_clean());
    assert_valid(&epub);
}

#[test]
fn unclosed_tag_is_a_fatal_error() {
    let dir = tempfile::tempdir().unwrap();
    let epub = write_epub(dir.path(), "unclosed.epub", VALID_UUID, "<p>Never closed.");
    let report = check(&epub);
    assert!(report.fatal + report.errors > 0, "{report:#?}");
    assert!(!report.is_clean());
    assert!(
        report.messages.iter().any(|m| m.contains("EPUB/ch1.xhtml") && m.contains("end-tag")),
        "no message about the unclosed <p> in ch1.xhtml: {report:#?}"
    );
}

#[test]
fn link_to_missing_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let epub = write_epub(dir.path(), "dangling.epub", VALID_UUID, r#"<p><a href="missing.xhtml">Gone</a></p>"#);
    let report = check(&epub);
    assert!(report.errors > 0, "{report:#?}");
    assert!(
        report.messages.iter().any(|m| m.starts_with("ERROR(RSC-007) EPUB/ch1.xhtml:") && m.contains("missing.xhtml")),
        "no RSC-007 about missing.xhtml: {report:#?}"
    );
}

/// A `urn:uuid:` identifier that is not a UUID is only a WARNING (OPF-085) in EPUBCheck 5.3.
/// (An unused manifest item or an undeclared file would only be USAGE, which is not counted.)
#[test]
fn invalid_uuid_identifier_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let epub = write_epub(dir.path(), "bad-uuid.epub", "urn:uuid:not-a-uuid", "<p>Hello, world.</p>");
    let report = check(&epub);
    assert_eq!((report.fatal, report.errors), (0, 0), "{report:#?}");
    assert!(report.warnings > 0, "{report:#?}");
    assert!(!report.is_clean());
    assert!(
        report.messages.iter().any(|m| m.starts_with("WARNING(OPF-085) EPUB/package.opf:")),
        "no OPF-085 warning: {report:#?}"
    );
    let panic =
        std::panic::catch_unwind(|| assert_valid(&epub)).expect_err("assert_valid passed an EPUB with a warning");
    let text = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(text.contains("WARNING(OPF-085)"), "assert_valid's panic does not list the warning: {text}");
}

/// EPUBCheck itself reports 0/0/0 for a path that does not exist; the harness must not.
#[test]
#[should_panic(expected = "is not a file")]
fn missing_epub_is_not_reported_valid() {
    let dir = tempfile::tempdir().unwrap();
    check(&dir.path().join("does-not-exist.epub"));
}

#[test]
fn corrupt_zip_is_a_fatal_error() {
    let dir = tempfile::tempdir().unwrap();
    let epub = dir.path().join("corrupt.epub");
    std::fs::write(&epub, b"this is not a zip file").unwrap();
    let report = check(&epub);
    assert!(report.fatal > 0, "{report:#?}");
}
