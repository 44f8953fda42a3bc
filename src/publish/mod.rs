//! `folio publish`: books in, a static download site out (a page and an OPDS feed per book, a shelf over them).
//!
//! Procedure:
//! 1. [`book`]: build every [`Target`] of one book (in parallel), read what the page needs from the
//!    standard EPUB's own package document ([`metadata`]), take its cover and draw a thumbnail, and hash
//!    each file → [`PublishedBook`]: the files of `<slug>/` in memory and their [`Manifest`].
//! 2. [`shelf`]: manifests alone → the site's root pages and feeds ([`page::shelf`], [`opds::shelf`]), so
//!    that `folio publish --merge` gives the same bytes from manifests written on other machines.
//! 3. [`site`]: everything is written to a temporary folder beside the site, which then takes its place.
//!
//! Every byte comes from the books: dates from the package's `dcterms:modified` (itself from book.toml,
//! `SOURCE_DATE_EPOCH` or 1980), identifiers from the package's, never from the clock or a random source.

pub mod metadata;
pub mod opds;
pub mod page;
pub mod site;

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::diagnostic::Diagnostic;
use crate::document::Epub;
use crate::package::images::Effort;
use crate::target::Target;
use crate::{RunError, Settings};

/// The version of the manifest's layout; `--merge` refuses others.
pub const MANIFEST_FORMAT: u32 = 1;

/// The manifest's name in each book's folder.
pub const MANIFEST_FILE: &str = "manifest.json";

/// A thumbnail has at most this many pixels (about 200 × 300).
const THUMBNAIL_PIXELS: u64 = 60_000;

/// What one book's folder of the site holds, for the shelf and for `--merge`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Manifest {
    /// [`MANIFEST_FORMAT`].
    pub format: u32,
    /// The book's folder in the site.
    pub slug: String,
    /// The package's unique identifier (`urn:uuid:…` or `urn:isbn:…`).
    pub identifier: String,
    /// Title.
    pub title: String,
    /// Subtitle.
    pub subtitle: Option<String>,
    /// Authors, in book.toml's order.
    pub authors: Vec<String>,
    /// Description.
    pub description: Option<String>,
    /// Language tag.
    pub language: String,
    /// The book reads right to left.
    pub right_to_left: bool,
    /// Publisher.
    pub publisher: Option<String>,
    /// Publication date as book.toml gives it (`2026`, `2026-11`, `2026-11-28`).
    pub date: Option<String>,
    /// ISBN.
    pub isbn: Option<String>,
    /// Rights statement.
    pub rights: Option<String>,
    /// Subjects.
    pub subjects: Vec<String>,
    /// The package's `dcterms:modified` (RFC 3339): the feeds' `updated`.
    pub modified: String,
    /// The cover, when the book has one.
    pub cover: Option<Image>,
    /// The cover's thumbnail.
    pub thumbnail: Option<Image>,
    /// One file per target, in [`TARGETS`] order.
    pub files: Vec<Download>,
}

/// An image of a book's folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Image {
    /// File name in the book's folder.
    pub file: String,
    /// Media type.
    pub media_type: String,
}

/// One downloadable file of a book.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Download {
    /// The target's name (`epub`, `kobo`, `kindle`).
    pub target: String,
    /// File name in the book's folder.
    pub file: String,
    /// Media type (`application/kepub+zip` for Kobo's).
    pub media_type: String,
    /// Size in bytes.
    pub bytes: u64,
    /// SHA-256, lower-case hex.
    pub sha256: String,
}

/// Every target a book is published in, in the order the page lists them.
pub const TARGETS: [Target; 3] = [Target::Epub, Target::Kobo, Target::Kindle];

/// The media type a feed gives a target's file: Kobo's kepub has its own.
pub fn media_type(target: Target) -> &'static str {
    match target {
        Target::Kobo => "application/kepub+zip",
        Target::Epub | Target::Kindle => "application/epub+zip",
    }
}

/// One book, published in memory.
#[derive(Debug, Clone)]
pub struct PublishedBook {
    /// What the shelf needs to know.
    pub manifest: Manifest,
    /// The files of its folder (name relative to `<slug>/`, bytes), [`MANIFEST_FILE`] included.
    pub files: Vec<(String, Vec<u8>)>,
}

/// What publishing one book gave.
#[derive(Debug)]
pub struct Outcome {
    /// The book, when no target had errors.
    pub book: Option<PublishedBook>,
    /// Every target's diagnostics, each one once, sorted.
    pub diagnostics: Vec<Diagnostic>,
    /// `book.toml`, which problems with the book as a whole are reported at.
    pub config_path: PathBuf,
}

/// Publishes several books in parallel, in the order given; a book whose folder name another took first
/// gets an error instead.
pub fn books(dirs: &[PathBuf], settings: &Settings) -> Result<Vec<Outcome>, RunError> {
    let mut outcomes: Vec<Outcome> = dirs.par_iter().map(|dir| book(dir, settings)).collect::<Result<_, _>>()?;
    let mut taken: Vec<(String, PathBuf)> = Vec::new();
    for outcome in &mut outcomes {
        let Some(slug) = outcome.book.as_ref().map(|b| b.manifest.slug.clone()) else { continue };
        match taken.iter().find(|(s, _)| *s == slug) {
            Some((_, first)) => {
                let message = format!("a second book with the folder name '{slug}' (from its title)");
                let hint = format!("the first is {}; give one of them another title", first.display());
                outcome.diagnostics.push(Diagnostic::error(&outcome.config_path, message).with_hint(hint));
                outcome.book = None;
            }
            None => taken.push((slug, outcome.config_path.clone())),
        }
    }
    Ok(outcomes)
}

/// Builds every target of the book in `book_dir` and makes its folder of the site.
pub fn book(book_dir: &Path, settings: &Settings) -> Result<Outcome, RunError> {
    let builds: Vec<_> = TARGETS
        .par_iter()
        .map(|&target| crate::build(book_dir, &Settings { target, ..settings.clone() }))
        .collect::<Result<_, _>>()?;
    let mut diagnostics: Vec<Diagnostic> = builds.iter().flat_map(|b| b.diagnostics.iter().cloned()).collect();
    crate::diagnostic::sort(&mut diagnostics);
    // The targets share their sources, so most findings are made three times.
    diagnostics.dedup();
    let config_path = builds[0].config_path.clone();
    let epubs: Option<Vec<&Epub>> = builds.iter().map(|b| b.epub.as_ref()).collect();
    let Some(epubs) = epubs else { return Ok(Outcome { book: None, diagnostics, config_path }) };
    let slug = builds[0].slug.clone();
    let zipped: Vec<Vec<u8>> = epubs
        .par_iter()
        .map(|epub| {
            let mut bytes = Vec::new();
            crate::package::write_zip(epub, &mut bytes).map(|_| bytes)
        })
        .collect::<Result<_, _>>()
        .map_err(RunError::Output)?;
    let book = match assemble(&slug, epubs[0], zipped) {
        Ok(book) => Some(book),
        Err(message) => {
            diagnostics.push(Diagnostic::error(&config_path, message));
            None
        }
    };
    Ok(Outcome { book, diagnostics, config_path })
}

/// The folder of a book whose targets are built: downloads, cover, thumbnail, fonts, sums, page, feed, manifest.
fn assemble(slug: &str, standard: &Epub, zipped: Vec<Vec<u8>>) -> Result<PublishedBook, String> {
    let facts = metadata::read(standard)?;
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut downloads = Vec::new();
    for (target, bytes) in TARGETS.into_iter().zip(zipped) {
        let file = format!("{slug}.{}", target.extension());
        downloads.push(Download {
            target: target.name().into(),
            file: file.clone(),
            media_type: media_type(target).into(),
            bytes: bytes.len() as u64,
            sha256: sha256_hex(&bytes),
        });
        files.push((file, bytes));
    }
    let [cover, thumbnail] = match &facts.cover {
        Some((media_type, bytes)) => cover_and_thumbnail(media_type, bytes)?.map(|(image, bytes)| {
            files.push((image.file.clone(), bytes));
            Some(image)
        }),
        None => [None, None],
    };
    let fonts: Vec<page::Font> =
        facts.fonts.iter().map(|f| page::Font { file: format!("fonts/{}", f.file), ..f.clone() }).collect();
    files.extend(facts.fonts.iter().map(|f| (format!("fonts/{}", f.file), f.data.clone())));
    let sums: String = downloads.iter().map(|d| format!("{}  {}\n", d.sha256, d.file)).collect();
    files.push(("SHA256SUMS".into(), sums.into_bytes()));
    let manifest = Manifest {
        format: MANIFEST_FORMAT,
        slug: slug.into(),
        identifier: facts.identifier,
        title: facts.title,
        subtitle: facts.subtitle,
        authors: facts.authors,
        description: facts.description,
        language: facts.language,
        right_to_left: facts.right_to_left,
        publisher: facts.publisher,
        date: facts.date,
        isbn: facts.isbn,
        rights: facts.rights,
        subjects: facts.subjects,
        modified: facts.modified,
        cover,
        thumbnail,
        files: downloads,
    };
    files.push(("index.html".into(), page::book(&manifest, &fonts).into_bytes()));
    files.push(("catalog.xml".into(), opds::book(&manifest).into_bytes()));
    files.push((MANIFEST_FILE.into(), manifest_json(&manifest)));
    files.sort();
    Ok(PublishedBook { manifest, files })
}

/// The cover as the package has it (an SVG one drawn as PNG for readers' apps), and a thumbnail.
fn cover_and_thumbnail(media_type: &str, bytes: &[u8]) -> Result<[(Image, Vec<u8>); 2], String> {
    let (media_type, cover) = match media_type {
        "image/svg+xml" => ("image/png", crate::cover::rasterize_svg(bytes)?),
        other => (other, bytes.to_vec()),
    };
    let extension = match media_type {
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        other => return Err(format!("the cover's type {other} cannot be published")),
    };
    // A thumbnail is made once per publish; the quick lossless pass is enough for a small image.
    let small = crate::package::images::optimize(&cover, media_type, Some(THUMBNAIL_PIXELS), Effort::Fast);
    let thumbnail = small.data.unwrap_or_else(|| cover.clone());
    let image = |file: String| Image { file, media_type: media_type.into() };
    Ok([(image(format!("cover.{extension}")), cover), (image(format!("thumbnail.{extension}")), thumbnail)])
}

/// The manifest as written: pretty JSON, keys in a fixed order, a final newline.
pub fn manifest_json(manifest: &Manifest) -> Vec<u8> {
    let mut json = serde_json::to_vec_pretty(manifest).unwrap_or_default();
    json.push(b'\n');
    json
}

/// Reads a manifest written by [`book`]; the message says what is wrong with it.
pub fn read_manifest(bytes: &[u8]) -> Result<Manifest, String> {
    let manifest: Manifest = serde_json::from_slice(bytes).map_err(|e| format!("not a folio manifest ({e})"))?;
    if manifest.format != MANIFEST_FORMAT {
        return Err(format!("manifest format {} is not the one this folio reads ({MANIFEST_FORMAT})", manifest.format));
    }
    let safe = |name: &str| {
        !name.is_empty()
            && !name.starts_with('.')
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    };
    let names = manifest
        .files
        .iter()
        .map(|f| f.file.as_str())
        .chain([&manifest.cover, &manifest.thumbnail].into_iter().flatten().map(|i| i.file.as_str()));
    if !safe(&manifest.slug) || names.clone().any(|n| !safe(n)) {
        return Err("a file name in the manifest is not a plain name of its book's folder".into());
    }
    drop(names);
    Ok(manifest)
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The site's root files (pages and feeds over every book), from the manifests alone.
pub fn shelf(manifests: &[Manifest]) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for order in Order::ALL {
        let sorted = order.sort(manifests);
        files.push((order.page().into(), page::shelf(&sorted, order).into_bytes()));
        files.push((order.feed().into(), opds::acquisition_shelf(&sorted, order).into_bytes()));
    }
    files.push(("catalog.xml".into(), opds::navigation(&Order::Title.sort(manifests)).into_bytes()));
    files.sort();
    files
}

/// How a shelf is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// By title, then author.
    Title,
    /// By first author, then title.
    Author,
    /// Newest first, by the book's date, else its modification time.
    Date,
}

impl Order {
    /// Every order, the default first.
    pub const ALL: [Order; 3] = [Order::Title, Order::Author, Order::Date];

    /// The shelf's page in this order.
    pub fn page(self) -> &'static str {
        match self {
            Order::Title => "index.html",
            Order::Author => "by-author.html",
            Order::Date => "by-date.html",
        }
    }

    /// The shelf's acquisition feed in this order.
    pub fn feed(self) -> &'static str {
        match self {
            Order::Title => "by-title.xml",
            Order::Author => "by-author.xml",
            Order::Date => "by-date.xml",
        }
    }

    /// What the order is called on pages and in feeds.
    pub fn label(self) -> &'static str {
        match self {
            Order::Title => "title",
            Order::Author => "author",
            Order::Date => "newest first",
        }
    }

    /// The books in this order; ties are broken by slug, so the order never depends on the input's.
    pub fn sort(self, manifests: &[Manifest]) -> Vec<Manifest> {
        let mut sorted = manifests.to_vec();
        let folded = |text: &str| deunicode::deunicode(text).to_lowercase();
        let title = |m: &Manifest| folded(&m.title);
        let author = |m: &Manifest| m.authors.first().map(|a| folded(a)).unwrap_or_default();
        let date = |m: &Manifest| m.date.clone().unwrap_or_else(|| m.modified.clone());
        match self {
            Order::Title => sorted.sort_by_cached_key(|m| (title(m), author(m), m.slug.clone())),
            Order::Author => sorted.sort_by_cached_key(|m| (author(m), title(m), m.slug.clone())),
            Order::Date => sorted.sort_by_cached_key(|m| (std::cmp::Reverse(date(m)), title(m), m.slug.clone())),
        }
        sorted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(slug: &str, title: &str, author: &str, date: Option<&str>) -> Manifest {
        Manifest {
            format: MANIFEST_FORMAT,
            slug: slug.into(),
            identifier: format!("urn:uuid:{slug}"),
            title: title.into(),
            subtitle: None,
            authors: vec![author.into()],
            description: None,
            language: "en".into(),
            right_to_left: false,
            publisher: None,
            date: date.map(str::to_string),
            isbn: None,
            rights: None,
            subjects: Vec::new(),
            modified: "1980-01-01T00:00:00Z".into(),
            cover: None,
            thumbnail: None,
            files: Vec::new(),
        }
    }

    #[test]
    fn shelves_sort_by_title_author_and_newest_date_whatever_the_input_order() {
        let books = [
            manifest("b", "Émile", "Zola", Some("2020")),
            manifest("a", "abc", "Young", Some("2021-05")),
            manifest("c", "Zebra", "Adams", None),
        ];
        let slugs = |order: Order, books: &[Manifest]| -> Vec<String> {
            order.sort(books).into_iter().map(|m| m.slug).collect()
        };
        let mut reversed = books.to_vec();
        reversed.reverse();
        for input in [&books[..], &reversed[..]] {
            assert_eq!(slugs(Order::Title, input), ["a", "b", "c"]);
            assert_eq!(slugs(Order::Author, input), ["c", "a", "b"]);
            assert_eq!(slugs(Order::Date, input), ["a", "b", "c"]);
        }
    }

    #[test]
    fn manifests_round_trip_and_bad_ones_are_refused() {
        let good = manifest("a-book", "A Book", "Ada", None);
        assert_eq!(read_manifest(&manifest_json(&good)).unwrap(), good);
        let escaping = Manifest { slug: "../outside".into(), ..good.clone() };
        assert!(read_manifest(&manifest_json(&escaping)).unwrap_err().contains("plain name"));
        let newer = Manifest { format: MANIFEST_FORMAT + 1, ..good.clone() };
        assert!(read_manifest(&manifest_json(&newer)).unwrap_err().contains("manifest format"));
        assert!(read_manifest(b"{\"format\": 1, \"extra\": true}").unwrap_err().starts_with("not a folio manifest"));
    }

    #[test]
    fn a_hostile_title_stays_text_in_pages_and_feeds() {
        let title = "</script><script>alert(1)</script>";
        let book = manifest("a", title, "<b>", None);
        let page = page::book(&book, &[]);
        assert_eq!(page.matches("<script").count(), 1, "{page}");
        assert!(!page.contains("<b>"));
        let shelf = shelf(std::slice::from_ref(&book));
        for (name, bytes) in shelf.iter().chain([("catalog.xml".to_string(), opds::book(&book).into_bytes())].iter()) {
            let text = String::from_utf8(bytes.clone()).unwrap();
            assert!(!text.contains("<script>") && !text.contains("<b>"), "{name}: {text}");
        }
    }
}
