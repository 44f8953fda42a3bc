//! Issue 17, `folio publish`: the project book and a shelf of fixture books become a static site whose pages
//! the Nu HTML Checker accepts, whose feeds Jing finds valid OPDS, whose files match their checksums, and
//! whose bytes depend on the books alone; `--merge` of per-book publishes gives the same site.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::books::{copy_dir, fixture, folio, folio_with_env, repo, snapshot, write_files};
use common::web::{assert_feeds_valid, assert_html_valid, assert_pages_work_in_chromium, files_ending};

/// The fixture books of the shelf: a cover, an ISBN and a month date; code and no cover; right to left.
const SHELF: [&str; 3] = ["citations", "code", "rtl"];

fn publish_ok(cwd: &Path, args: &[&str]) -> String {
    let run = folio(cwd, &[&["publish"], args].concat());
    assert_eq!(run.code, 0, "folio publish {args:?} failed:\n{}", run.stderr);
    run.stderr
}

/// Each file's path under `root` and bytes.
fn tree(root: &Path) -> Vec<(PathBuf, Option<Vec<u8>>)> {
    snapshot(root).into_iter().map(|(p, b)| (p.strip_prefix(root).unwrap().to_path_buf(), b)).collect()
}

fn sha256(bytes: &[u8]) -> String {
    folio::publish::sha256_hex(bytes)
}

/// A shelf of the fixture books, copied into `dir` as `<name>/`.
fn shelf_books(dir: &Path) -> Vec<String> {
    SHELF
        .iter()
        .map(|name| {
            copy_dir(&repo().join("tests/books").join(name), &dir.join(name));
            name.to_string()
        })
        .collect()
}

#[test]
fn project_book_publishes_a_checked_site() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    let stderr = publish_ok(&repo(), &["book", "-o", site.to_str().unwrap()]);
    assert!(stderr.contains("published 1 book to"), "{stderr}");
    let book = site.join("sent-back");
    for file in [
        "sent-back.epub",
        "sent-back.kepub.epub",
        "sent-back.kindle.epub",
        "cover.png",
        "thumbnail.png",
        "SHA256SUMS",
        "index.html",
        "catalog.xml",
        "manifest.json",
        "fonts/CharisSIL-Regular.ttf",
    ] {
        assert!(book.join(file).is_file(), "{file} missing from the book's folder");
    }
    // SHA256SUMS lists every download, with the sum of its bytes.
    let sums = fs::read_to_string(book.join("SHA256SUMS")).unwrap();
    assert_eq!(sums.lines().count(), 3, "{sums}");
    for line in sums.lines() {
        let (sum, name) = line.split_once("  ").unwrap();
        assert_eq!(sha256(&fs::read(book.join(name)).unwrap()), sum, "{name}");
    }
    // The standard EPUB is the one `folio build` writes (which the suite checks with EPUBCheck).
    let built = dir.path().join("built.epub");
    let run = folio(&repo(), &["build", "book", "--no-cache", "-o", built.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(fs::read(&built).unwrap() == fs::read(book.join("sent-back.epub")).unwrap(), "published EPUB differs");
    // The thumbnail is small; the cover is not.
    let thumbnail = fs::read(book.join("thumbnail.png")).unwrap();
    let (width, height) = png_size(&thumbnail);
    assert!(u64::from(width) * u64::from(height) <= 60_000, "thumbnail {width}×{height}");
    assert!(png_size(&fs::read(book.join("cover.png")).unwrap()).0 > width);

    let page = fs::read_to_string(book.join("index.html")).unwrap();
    for expected in [
        "<h1 lang=\"en-GB\">Sent Back</h1>",
        "China and the Forced Return of North Korean Escapees",
        "The folio developers",
        "<dt>Publisher</dt>",
        "<dt>Date</dt><dd>2026-11-28</dd>",
        "<dt>Rights</dt>",
        "\"@type\": \"Book\"",
        "<meta property=\"og:title\" content=\"Sent Back\">",
        "font-family:\"Charis SIL\"",
        "src=\"cover.png\" alt=\"Cover of Sent Back\"",
        "href=\"sent-back.kepub.epub\" type=\"application/kepub+zip\" download",
        "For Kobo e-readers",
    ] {
        assert!(page.contains(expected), "the page lacks {expected:?}");
    }
    for sum in sums.lines().map(|l| &l[..64]) {
        assert!(page.contains(sum), "the page lacks the sum {sum}");
    }
    let feed = fs::read_to_string(book.join("catalog.xml")).unwrap();
    for expected in [
        "<link rel=\"http://opds-spec.org/acquisition\" href=\"sent-back.kepub.epub\" type=\"application/kepub+zip\"",
        "<link rel=\"http://opds-spec.org/image\" href=\"cover.png\" type=\"image/png\"/>",
        "<link rel=\"http://opds-spec.org/image/thumbnail\" href=\"thumbnail.png\" type=\"image/png\"/>",
        "<updated>2026-11-28T00:00:00Z</updated>",
    ] {
        assert!(feed.contains(expected), "the feed lacks {expected:?}");
    }
    assert_html_valid(&files_ending(&site, ".html"));
    assert_feeds_valid(&files_ending(&site, ".xml"));
    // `SCREENSHOT=path` keeps the desktop view of the page (the README's picture).
    let screenshot = std::env::var_os("SCREENSHOT").map(PathBuf::from);
    assert_pages_work_in_chromium(&site, screenshot.as_deref().map(|file| ("sent-back/index.html", file)));
}

/// Width and height from a PNG's header.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let be = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    (be(16), be(20))
}

#[test]
fn a_shelf_is_published_sorted_checked_and_merged_to_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let names = shelf_books(dir.path());
    let args: Vec<&str> = names.iter().map(String::as_str).chain(["-o", "site"]).collect();
    let stderr = publish_ok(dir.path(), &args);
    assert!(stderr.contains("published 3 books"), "{stderr}");
    let site = dir.path().join("site");
    let slugs: Vec<String> = fs::read_dir(&site)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(slugs.len(), 3, "{slugs:?}");
    let index = fs::read_to_string(site.join("index.html")).unwrap();
    let position = |page: &str, text: &str| page.find(text).unwrap_or_else(|| panic!("{text} missing"));
    // By title: Citations & Notes, Code in Every Colour, then the Arabic title.
    assert!(position(&index, "Citations &amp; Notes") < position(&index, "Code in Every Colour"));
    assert!(index.contains("dir=\"rtl\""), "the right-to-left book is not marked");
    // By author: Ada Example, Nora Note, then مؤلف; newest first: 2026-11-30, 2021-03, the 1980 default.
    let by_author = fs::read_to_string(site.join("by-author.html")).unwrap();
    assert!(position(&by_author, "Code in Every Colour") < position(&by_author, "Citations &amp; Notes"));
    let by_date = fs::read_to_string(site.join("by-date.html")).unwrap();
    assert!(position(&by_date, "Code in Every Colour") < position(&by_date, "Citations &amp; Notes"));
    let navigation = fs::read_to_string(site.join("catalog.xml")).unwrap();
    assert_eq!(navigation.matches("rel=\"subsection\"").count(), 6, "{navigation}");
    assert_html_valid(&files_ending(&site, ".html"));
    assert_feeds_valid(&files_ending(&site, ".xml"));
    assert_pages_work_in_chromium(&site, None);

    // One machine per book, then a merge of their manifests, gives the same site.
    for name in &names {
        publish_ok(dir.path(), &[name.as_str(), "-o", &format!("parts/{name}")]);
    }
    let manifests: Vec<String> = names
        .iter()
        .flat_map(|name| files_ending(&dir.path().join("parts").join(name), "manifest.json"))
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    assert_eq!(manifests.len(), 3);
    let mut args = vec!["--merge"];
    args.extend(manifests.iter().map(String::as_str));
    args.extend(["-o", "merged"]);
    let stderr = publish_ok(dir.path(), &args);
    assert!(stderr.contains("merged 3 books"), "{stderr}");
    assert!(tree(&site) == tree(&dir.path().join("merged")), "the merged site differs from the one-machine site");

    // A download that is not what its manifest says stops the merge, named at the manifest.
    let tampered = files_ending(&dir.path().join("parts/code"), ".kepub.epub").remove(0);
    fs::write(&tampered, b"not the book").unwrap();
    let before = tree(&dir.path().join("merged"));
    let run = folio(dir.path(), &[&["publish"], &args[..]].concat());
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("manifest.json: error: '") && run.stderr.contains("is not the file it describes"));
    assert!(before == tree(&dir.path().join("merged")), "a failed merge changed the site");
}

#[test]
fn the_site_depends_on_the_books_alone() {
    let dir = fixture("code");
    publish_ok(dir.path(), &["book", "-o", "a"]);
    let again = folio_with_env(dir.path(), &["publish", "book", "-o", "b"], &[("TZ", "Asia/Tokyo")]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(tree(&dir.path().join("a")) == tree(&dir.path().join("b")), "two publishes differ");
    // Publishing over a site folio wrote replaces it, to the same bytes.
    publish_ok(dir.path(), &["book", "-o", "a"]);
    assert!(tree(&dir.path().join("a")) == tree(&dir.path().join("b")));

    // Without a date in book.toml, SOURCE_DATE_EPOCH dates the feeds, as it dates the EPUB.
    let rtl = fixture("rtl");
    let run = folio_with_env(rtl.path(), &["publish", "book", "-o", "site"], &[("SOURCE_DATE_EPOCH", "1700000000")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let feed = fs::read_to_string(rtl.path().join("site/catalog.xml")).unwrap();
    assert!(feed.contains("<updated>2023-11-14T22:13:20Z</updated>"), "{feed}");
}

#[test]
fn a_book_with_errors_leaves_the_site_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let names = shelf_books(dir.path());
    publish_ok(dir.path(), &[names[1].as_str(), "-o", "site"]);
    let before = tree(&dir.path().join("site"));
    write_files(dir.path(), &[("code/src/SUMMARY.md", "# Summary\n\n- [Gone](gone.md)\n")]);
    let args: Vec<&str> = names.iter().map(String::as_str).chain(["-o", "site"]).collect();
    let run = folio(dir.path(), &[&["publish"], &args[..]].concat());
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("code/src/SUMMARY.md:3:3: error:"), "{}", run.stderr);
    assert!(run.stderr.contains("could not publish: 1 error; the site is unchanged"), "{}", run.stderr);
    assert!(before == tree(&dir.path().join("site")), "the site changed");
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temporary folders left behind: {leftovers:?}");
}

#[test]
fn a_folder_folio_did_not_write_is_never_replaced() {
    let dir = fixture("code");
    write_files(dir.path(), &[("notes/todo.txt", "mine")]);
    let run = folio(dir.path(), &["publish", "book", "-o", "notes"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("holds files folio did not write"), "{}", run.stderr);
    assert_eq!(fs::read_to_string(dir.path().join("notes/todo.txt")).unwrap(), "mine");
    // Nor is a file, or a path below one.
    write_files(dir.path(), &[("file", "")]);
    for path in ["file", "file/site"] {
        let run = folio(dir.path(), &["publish", "book", "-o", path]);
        assert_eq!(run.code, 2, "{path}: {}", run.stderr);
    }
}

#[test]
fn two_books_with_one_title_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("tests/books/code"), &dir.path().join("one"));
    copy_dir(&repo().join("tests/books/code"), &dir.path().join("two"));
    let run = folio(dir.path(), &["publish", "one", "two", "-o", "site"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("two/book.toml: error: a second book with the folder name 'code-in-every-colour'"));
    assert!(!dir.path().join("site").exists());
}
