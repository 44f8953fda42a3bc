//! Stage 5, package: rendered chapters and assets → the files of the EPUB, in memory, then the zip.
//!
//! Procedure, in pandoc's order: metadata, styles, cover, chapters, OPF, NCX and nav. The zip has
//! `mimetype` first and stored, raster images stored, every other entry deflated, entries in a fixed order, every
//! timestamp and permission fixed: the same sources give the same bytes.

pub mod assets;
pub mod images;
pub mod nav;
pub mod opf;
pub mod stylesheets;
pub mod xhtml;

use std::io::{self, Write};

use zip::CompressionMethod;

use crate::config::BookConfig;
use crate::document::{Asset, Entry, Epub, Finished};
use crate::i18n::Strings;
use crate::outline::{self, Matter, Outline, Target};
use crate::render::{IMAGE_DIR, RenderedChapter, TEXT_DIR};
use crate::validate;

use self::nav::{Landmark, NavPoint};
use self::opf::{ContentFacts, Item};
use self::xhtml::Frame;

/// The folder inside the zip that holds the package.
pub const ROOT: &str = "EPUB";

/// Everything the package is made of.
pub struct Parts<'a> {
    /// The config.
    pub config: &'a BookConfig,
    /// The unique identifier.
    pub identifier: &'a str,
    /// `dcterms:modified` and zip timestamps, Unix seconds.
    pub modified: i64,
    /// Generated text.
    pub strings: &'static Strings,
    /// The reading order.
    pub outline: &'a Outline,
    /// Package file name of each outline entry.
    pub files: &'a [String],
    /// Chapters ready for the package, in outline order (parts have none).
    pub chapters: Vec<ChapterFile>,
    /// How pages are framed (language, stylesheets).
    pub frame: &'a Frame<'a>,
    /// Stylesheets, the default first.
    pub stylesheets: Vec<Asset>,
    /// Fonts.
    pub fonts: Vec<Asset>,
    /// Images chapters use.
    pub images: Vec<Asset>,
    /// The cover image.
    pub cover: Option<CoverImage>,
    /// Body of the generated Sources page, when the book cites sources.
    pub bibliography: Option<String>,
}

/// The cover: its image, and the alt text that says what it shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverImage {
    /// The image file.
    pub image: Asset,
    /// Alt text for the cover page.
    pub alt: String,
}

/// Checks and compresses one XML document of the package; with `characters`, also collects the characters
/// of an XHTML document's text (see [`crate::document::Document::characters`]).
pub fn finish_document(path: &str, text: &str, modified: i64, characters: bool) -> io::Result<Finished> {
    let document = if characters && path.ends_with(".xhtml") {
        validate::document_and_characters(path, text)
    } else {
        validate::document(path, text)
    };
    let compressed = zip_alone(path, text.as_bytes(), modified)?.into();
    Ok(Finished { document, compressed })
}

/// One chapter, finished: what the rest of the build needs to know, and its document.
#[derive(Debug)]
pub struct ChapterFile {
    /// The render stage's findings (its body is dropped once the document is made).
    pub rendered: RenderedChapter,
    /// The chapter's XHTML document, checked and compressed.
    pub finished: Finished,
}

/// Package path of a file in the text folder.
pub fn text_path(file: &str) -> String {
    format!("{ROOT}/{TEXT_DIR}/{file}")
}

/// Frames a rendered chapter as its XHTML document, checks it and compresses it.
pub fn finish_chapter(
    mut rendered: RenderedChapter,
    frame: &Frame<'_>,
    outline: &Outline,
    files: &[String],
    modified: i64,
) -> io::Result<ChapterFile> {
    let entry = &outline.entries[rendered.entry];
    let body = std::mem::take(&mut rendered.body);
    // A `{{#title …}}` names the page, as in mdBook; the contents keep the title SUMMARY.md gives.
    let title = rendered.title.as_deref().unwrap_or(&entry.title);
    let text = frame.document(title, Some(entry.matter), &body);
    drop(body);
    let path = text_path(&files[rendered.entry]);
    let finished = finish_document(&path, &text, modified, frame.config.subsets_fonts())?;
    Ok(ChapterFile { rendered, finished })
}

/// A zip holding one file, compressed as [`compression`] says, to be copied into the EPUB as it is.
///
/// Framed here rather than by `zip`'s writer, which sets up a new deflate state (hundreds of KB to
/// allocate and zero, more than deflating a chapter costs) for every archive, and takes compressed bytes
/// only as an entry copied from an archive. So each thread keeps one compressor ([`deflate_into`]), and
/// the headers are those `ZipWriter` writes for the same entry, mode 0644 (a test holds them equal).
fn zip_alone(path: &str, data: &[u8], modified: i64) -> io::Result<Vec<u8>> {
    let too_large = || io::Error::other(format!("{path} is too large for a zip without ZIP64"));
    let name_len = u16::try_from(path.len()).map_err(|_| too_large())?;
    let uncompressed_len = u32::try_from(data.len()).map_err(|_| too_large())?;
    let stored = compression(path) == CompressionMethod::Stored;
    let (method, version): (u16, u16) = if stored { (0, 10) } else { (8, 20) };
    // Bit 11: the name is UTF-8, as `zip` marks a name that is not ASCII.
    let flags: u16 = if path.is_ascii() { 0 } else { 1 << 11 };
    let time = zip_datetime(modified);
    let mut crc = flate2::Crc::new();
    crc.update(data);

    // Local header, without sizes: 30 bytes and the name.
    let body = if stored { data.len() } else { data.len() / 3 };
    let mut zip = Vec::with_capacity(LOCAL_HEADER + CENTRAL_HEADER + END_RECORD + 2 * path.len() + body);
    zip.extend_from_slice(&0x0403_4b50_u32.to_le_bytes());
    for field in [version, flags, method, time.timepart(), time.datepart()] {
        zip.extend_from_slice(&field.to_le_bytes());
    }
    for field in [crc.sum(), 0, uncompressed_len] {
        zip.extend_from_slice(&field.to_le_bytes());
    }
    zip.extend_from_slice(&name_len.to_le_bytes());
    zip.extend_from_slice(&0_u16.to_le_bytes());
    zip.extend_from_slice(path.as_bytes());
    if stored {
        zip.extend_from_slice(data);
    } else {
        deflate_into(data, &mut zip)?;
    }
    let compressed_len = u32::try_from(zip.len() - LOCAL_HEADER - path.len()).map_err(|_| too_large())?;
    zip[18..22].copy_from_slice(&compressed_len.to_le_bytes());

    // Central directory: the same fields, made by Unix at the version needed, mode 0644, at offset 0.
    let central_start = u32::try_from(zip.len()).map_err(|_| too_large())?;
    zip.extend_from_slice(&0x0201_4b50_u32.to_le_bytes());
    for field in [(3 << 8) | version, version, flags, method, time.timepart(), time.datepart()] {
        zip.extend_from_slice(&field.to_le_bytes());
    }
    for field in [crc.sum(), compressed_len, uncompressed_len] {
        zip.extend_from_slice(&field.to_le_bytes());
    }
    // Name, extra field and comment lengths, disk number, internal attributes.
    for field in [name_len, 0, 0, 0, 0] {
        zip.extend_from_slice(&field.to_le_bytes());
    }
    for field in [0o100_644_u32 << 16, 0] {
        zip.extend_from_slice(&field.to_le_bytes());
    }
    zip.extend_from_slice(path.as_bytes());

    let central_len = u32::try_from(zip.len()).map_err(|_| too_large())? - central_start;
    zip.extend_from_slice(&end_record(1, central_len, central_start));
    Ok(zip)
}

/// The end of central directory record: `entries` on disk 0, their headers `central_len` bytes from
/// `central_start`, no comment.
fn end_record(entries: u16, central_len: u32, central_start: u32) -> [u8; END_RECORD] {
    let mut end = [0; END_RECORD];
    end[..4].copy_from_slice(&0x0605_4b50_u32.to_le_bytes());
    end[8..10].copy_from_slice(&entries.to_le_bytes());
    end[10..12].copy_from_slice(&entries.to_le_bytes());
    end[12..16].copy_from_slice(&central_len.to_le_bytes());
    end[16..20].copy_from_slice(&central_start.to_le_bytes());
    end
}

/// Bytes of a zip's local header, central directory header and end record, besides names.
const LOCAL_HEADER: usize = 30;
const CENTRAL_HEADER: usize = 46;
const END_RECORD: usize = 22;

thread_local! {
    /// Each thread's compressor, and room for the most a document can deflate to: setting a compressor
    /// up costs more than deflating most chapters, and room of that size in each document's own zip
    /// would be touched whole and then held until the zip is written.
    static DEFLATER: std::cell::RefCell<Option<(libdeflater::Compressor, Vec<u8>)>> =
        const { std::cell::RefCell::new(None) };
}

/// Appends `data` deflated (raw, at libdeflate's default level, 6) to `out`.
///
/// libdeflate rather than zlib: on a real book's pages (async-book's 397 KB of XHTML) its level 6 gives
/// 127.7 KB in 31 M instructions where zlib-rs's gives 128.5 KB in 51 M, a third of a small book's
/// chapter work. Documents are whole in memory, which is all libdeflate asks.
fn deflate_into(data: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
    DEFLATER.with_borrow_mut(|state| {
        let (compressor, room) = state
            .get_or_insert_with(|| (libdeflater::Compressor::new(libdeflater::CompressionLvl::default()), Vec::new()));
        let bound = compressor.deflate_compress_bound(data.len());
        if room.len() < bound {
            room.resize(bound, 0);
        }
        let written = compressor.deflate_compress(data, &mut room[..bound]).map_err(io::Error::other)?;
        out.extend_from_slice(&room[..written]);
        Ok(())
    })
}

/// `mimetype` must be stored; so are PNG, JPEG, GIF and WebP images, which are compressed already:
/// deflating them again saves almost nothing and would cost time on every build, cached or not.
fn compression(path: &str) -> CompressionMethod {
    let compressed_image = [".png", ".jpg", ".jpeg", ".jpe", ".gif", ".webp"].iter().any(|e| path.ends_with(e));
    if path == "mimetype" || compressed_image { CompressionMethod::Stored } else { CompressionMethod::Deflated }
}

/// mdBook's section numbers: numbered chapters count `1.`, `2.`, their children `2.1.`; part titles
/// neither take a number nor restart the count, and the chapters under them are numbered from their
/// own nesting.
#[derive(Default)]
struct SectionNumbers {
    counters: Vec<usize>,
    in_parts: bool,
}

impl SectionNumbers {
    fn next(&mut self, entry: &outline::Entry) -> Option<String> {
        match (&entry.target, entry.matter) {
            (Target::Part, _) => {
                self.in_parts = true;
                None
            }
            (Target::Chapter(_), Matter::Body) => {
                let level = entry.depth - usize::from(self.in_parts && entry.depth > 0);
                self.counters.resize(level + 1, 0);
                self.counters[level] += 1;
                Some(self.counters.iter().map(|n| format!("{n}.")).collect())
            }
            (Target::Chapter(_), _) => None,
        }
    }
}

/// Builds every file of the package.
pub fn assemble(parts: Parts<'_>) -> Epub {
    let config = parts.config;
    let frame = parts.frame;
    let mut items: Vec<Item> = Vec::new();
    let mut documents: Vec<(String, Entry)> = Vec::new();
    let mut add = |items: &mut Vec<Item>,
                   id: String,
                   href: String,
                   media_type: &'static str,
                   properties: Vec<&'static str>,
                   spine: Option<bool>,
                   data: Entry| {
        documents.push((format!("{ROOT}/{href}"), data));
        items.push(Item { id, href, media_type, properties, spine });
    };

    for (i, css) in parts.stylesheets.into_iter().enumerate() {
        add(&mut items, format!("css-{}", i + 1), css.href, css.media_type, vec![], None, Entry::Plain(css.data));
    }
    for (i, font) in parts.fonts.into_iter().enumerate() {
        add(&mut items, format!("font-{}", i + 1), font.href, font.media_type, vec![], None, Entry::Plain(font.data));
    }
    let mut landmarks = Vec::new();
    if let Some(CoverImage { image: cover, alt }) = parts.cover {
        let page = frame.target.cover_page().then(|| {
            frame.document(
                parts.strings.cover,
                Some(Matter::Front),
                &xhtml::cover_body(&cover.href, &alt, parts.strings),
            )
        });
        add(
            &mut items,
            "cover-image".into(),
            cover.href,
            cover.media_type,
            vec!["cover-image"],
            None,
            Entry::Plain(cover.data),
        );
        if let Some(page) = page {
            let href = format!("{TEXT_DIR}/cover.xhtml");
            landmarks.push(Landmark { kind: "cover", label: parts.strings.cover.to_string(), href: href.clone() });
            add(
                &mut items,
                "cover".into(),
                href,
                "application/xhtml+xml",
                vec![],
                Some(true),
                Entry::Plain(page.into_bytes()),
            );
        }
    }
    for (i, image) in parts.images.into_iter().enumerate() {
        add(&mut items, format!("img-{}", i + 1), image.href, image.media_type, vec![], None, Entry::Plain(image.data));
    }

    let title_href = format!("{TEXT_DIR}/titlepage.xhtml");
    let title_page = frame.document(&config.title, Some(Matter::Front), &xhtml::title_page_body(config, parts.strings));
    landmarks.push(Landmark {
        kind: "titlepage",
        label: parts.strings.title_page.to_string(),
        href: title_href.clone(),
    });
    add(
        &mut items,
        "titlepage".into(),
        title_href,
        "application/xhtml+xml",
        vec![],
        Some(true),
        Entry::Plain(title_page.into_bytes()),
    );
    let nav_href = format!("{TEXT_DIR}/nav.xhtml");
    landmarks.push(Landmark {
        kind: "toc",
        label: parts.strings.contents.to_string(),
        href: format!("{nav_href}#toc"),
    });
    // The nav document is added once its content is known; reserve its place in the spine.
    let nav_index = items.len();

    let mut flat_toc: Vec<nav::FlatEntry> = Vec::new();
    let mut numbers = SectionNumbers::default();
    let mut facts = ContentFacts {
        all_images_described: parts.chapters.iter().all(|c| c.rendered.undescribed_images == 0),
        passes_accessibility_checks: parts
            .chapters
            .iter()
            .all(|c| c.rendered.accessibility_problems == 0 && c.rendered.undescribed_images == 0),
        ..ContentFacts::default()
    };
    let mut chapters = parts.chapters.into_iter().peekable();
    let mut has_bodymatter = false;
    for (index, entry) in parts.outline.entries.iter().enumerate() {
        let file = &parts.files[index];
        let href = format!("{TEXT_DIR}/{file}");
        if entry.matter == Matter::Body && !has_bodymatter {
            has_bodymatter = true;
            landmarks.push(Landmark { kind: "bodymatter", label: parts.strings.start.to_string(), href: href.clone() });
        }
        let number = numbers.next(entry).filter(|_| config.section_numbers);
        flat_toc.push(nav::FlatEntry { depth: entry.depth, number, label: entry.title.clone(), href: href.clone() });
        let id = file.trim_end_matches(".xhtml").to_string();
        match &entry.target {
            Target::Part => {
                let page =
                    frame.document(&entry.title, Some(Matter::Body), &xhtml::part_body(&entry.title, "part-title"));
                add(&mut items, id, href, "application/xhtml+xml", vec![], Some(true), Entry::Plain(page.into_bytes()));
            }
            Target::Chapter(_) => {
                let Some(chapter) = chapters.next_if(|c| c.rendered.entry == index) else { continue };
                let rendered = &chapter.rendered;
                // The first heading is the chapter's title when it is `#`, or one level down per level the
                // chapter is nested in SUMMARY.md (as mdBook books write sub-chapters); the others count
                // from it.
                let title_level =
                    rendered.headings.first().map(|h| h.level).filter(|&level| usize::from(level) <= entry.nesting + 1);
                let base = title_level.unwrap_or(1);
                for heading in rendered.headings.iter().skip(usize::from(title_level.is_some())) {
                    let level = (heading.level + 1).saturating_sub(base);
                    if level <= config.toc_depth && level >= 2 {
                        flat_toc.push(nav::FlatEntry {
                            depth: entry.depth + usize::from(level) - 1,
                            number: None,
                            label: heading.text.clone(),
                            href: format!("{href}#{}", heading.id),
                        });
                    }
                }
                facts.has_mathml |= rendered.has_mathml;
                let mut properties = vec![];
                if rendered.has_svg {
                    properties.push("svg");
                }
                if rendered.has_mathml {
                    properties.push("mathml");
                }
                add(
                    &mut items,
                    id,
                    href,
                    "application/xhtml+xml",
                    properties,
                    Some(true),
                    Entry::Deflated(chapter.finished.compressed),
                );
            }
        }
    }
    if let Some(bibliography) = &parts.bibliography {
        let href = format!("{TEXT_DIR}/sources.xhtml");
        flat_toc.push(nav::FlatEntry {
            depth: 0,
            number: None,
            label: parts.strings.sources.to_string(),
            href: href.clone(),
        });
        landmarks.push(Landmark { kind: "bibliography", label: parts.strings.sources.to_string(), href: href.clone() });
        let document = frame.document(parts.strings.sources, Some(Matter::Back), bibliography);
        add(
            &mut items,
            "sources".into(),
            href,
            "application/xhtml+xml",
            vec![],
            Some(true),
            Entry::Plain(document.into_bytes()),
        );
    }

    if let Some(levels) = frame.target.toc_levels() {
        for entry in &mut flat_toc {
            entry.depth = entry.depth.min(levels - 1);
        }
    }
    let toc: Vec<NavPoint> = nav::tree(flat_toc);
    // A long book's contents run to thousands of entries, written twice: once per core.
    let (nav_document, ncx) = rayon::join(
        || {
            let nav_body = nav::nav_body(&toc, &landmarks, parts.strings.contents, parts.strings.landmarks);
            frame.navigation(parts.strings.contents, &nav_body)
        },
        || nav::ncx(&toc, parts.identifier, &config.title, &config.language),
    );
    documents.insert(nav_index, (format!("{ROOT}/{nav_href}"), Entry::Plain(nav_document.into_bytes())));
    items.insert(
        nav_index,
        Item {
            id: "nav".into(),
            href: nav_href,
            media_type: "application/xhtml+xml",
            properties: vec!["nav"],
            spine: Some(true),
        },
    );
    items.push(Item {
        id: "ncx".into(),
        href: "toc.ncx".into(),
        media_type: "application/x-dtbncx+xml",
        properties: vec![],
        spine: None,
    });

    facts.has_images = items.iter().any(|i| i.media_type.starts_with("image/") && i.id != "cover-image");
    let target = frame.target;
    let guide = landmarks.iter().filter_map(|l| {
        Some(opf::Reference { kind: target.guide_type(l.kind)?, title: l.label.clone(), href: l.href.clone() })
    });
    let options = opf::Options { single_title: target.single_title(), guide: guide.collect() };
    let opf = opf::package_document(config, parts.identifier, parts.modified, &items, facts, &options);

    let mut files = vec![
        ("mimetype".to_string(), Entry::Plain(b"application/epub+zip".to_vec())),
        ("META-INF/container.xml".to_string(), Entry::Plain(CONTAINER.as_bytes().to_vec())),
        (format!("{ROOT}/package.opf"), Entry::Plain(opf.into_bytes())),
        (format!("{ROOT}/toc.ncx"), Entry::Plain(ncx.into_bytes())),
    ];
    files.extend(documents);
    Epub { files, modified: parts.modified }
}

const CONTAINER: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<container version=\"1.0\" xmlns=\"urn:oasis:names:tc:opendocument:xmlns:container\">\n<rootfiles>\n<rootfile full-path=\"EPUB/package.opf\" media-type=\"application/oebps-package+xml\"/>\n</rootfiles>\n</container>\n";

/// Path of the image folder inside the package.
pub fn image_href(name: &str) -> String {
    format!("{IMAGE_DIR}/{name}")
}

/// Zips the files into `sink`, front to back, and gives the zip's size: `mimetype` stored and first,
/// raster images stored, the rest deflated, fixed timestamps.
///
/// Every entry is a zip of its own ([`zip_alone`]): its local header and data are written as they are,
/// its central directory header is kept with the offset where it now starts, and the end record counts
/// them all. So the writer never goes back to patch a header and the zip streams straight into a file,
/// with no copy of the book in memory. The bytes are those `zip`'s writer makes by copying each entry
/// (a test holds them equal); each entry is only checked and split at its central header, not read
/// through `zip`.
pub fn write_zip<W: Write>(epub: &Epub, mut sink: W) -> io::Result<u64> {
    let too_large = || io::Error::other("the book is too large for a zip without ZIP64");
    // 0xFFFF entries and an offset of 0xFFFF_FFFF are not numbers in a zip but "see the ZIP64 record".
    let offset_of = |written: u64| u32::try_from(written).ok().filter(|&o| o != u32::MAX).ok_or_else(too_large);
    let mut central = Vec::new();
    let mut written: u64 = 0;
    for (path, entry) in &epub.files {
        let zipped_here;
        let alone: &[u8] = match entry {
            Entry::Plain(data) => {
                zipped_here = zip_alone(path, data, epub.modified)?;
                &zipped_here
            }
            Entry::Deflated(alone) => alone,
        };
        let (local, header) =
            split_alone(alone).ok_or_else(|| io::Error::other(format!("{path} is not a zip of one entry")))?;
        let offset = offset_of(written)?;
        sink.write_all(local)?;
        written += local.len() as u64;
        let start = central.len();
        central.extend_from_slice(header);
        central[start + 42..start + 46].copy_from_slice(&offset.to_le_bytes());
    }
    let entries = u16::try_from(epub.files.len()).ok().filter(|&n| n != u16::MAX).ok_or_else(too_large)?;
    let central_start = offset_of(written)?;
    let central_len = u32::try_from(central.len()).map_err(|_| too_large())?;
    sink.write_all(&central)?;
    sink.write_all(&end_record(entries, central_len, central_start))?;
    Ok(written + u64::from(central_len) + END_RECORD as u64)
}

/// A zip of one entry split into its local header with the data, and its central directory header;
/// `None` when it is not one as [`zip_alone`] makes them: one entry, its central header ending where the
/// end record starts.
fn split_alone(alone: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = alone.len().checked_sub(END_RECORD)?;
    let field = |at: usize| Some(u32::from_le_bytes(alone.get(at..at + 4)?.try_into().ok()?));
    let short = |at: usize| Some(u16::from_le_bytes(alone.get(at..at + 2)?.try_into().ok()?));
    if field(end)? != 0x0605_4b50 || field(0)? != 0x0403_4b50 || short(end + 8)? != 1 || short(end + 10)? != 1 {
        return None;
    }
    let central_start = usize::try_from(field(end + 16)?).ok()?;
    let (local, header) = alone.get(..end)?.split_at_checked(central_start)?;
    let lengths = [28, 30, 32].map(|at| short(central_start + at).map(usize::from));
    let [Some(name), Some(extra), Some(comment)] = lengths else { return None };
    let whole = CENTRAL_HEADER + name + extra + comment == header.len();
    (whole && field(central_start)? == 0x0201_4b50).then_some((local, header))
}

/// The zip in memory.
pub fn zip_bytes(epub: &Epub) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    write_zip(epub, &mut bytes)?;
    Ok(bytes)
}

/// 1980-01-01T00:00:00Z, where zip's DOS timestamps start: the timestamp used when neither
/// `[epub] date` nor `SOURCE_DATE_EPOCH` gives one, and the earliest a zip entry can carry.
pub const DEFAULT_EPOCH: i64 = 315_532_800;

fn zip_datetime(unix_seconds: i64) -> zip::DateTime {
    let t = time::OffsetDateTime::from_unix_timestamp(unix_seconds.max(DEFAULT_EPOCH))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    zip::DateTime::from_date_and_time(
        t.year().min(2107) as u16,
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
    )
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Read};

    use zip::ZipWriter;

    use super::*;
    use crate::diagnostic::SourceText;

    /// The one-entry zip as `zip`'s own writer makes it.
    fn zipped_by_the_crate(path: &str, data: &[u8], modified: i64) -> Vec<u8> {
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(compression(path))
            .last_modified_time(zip_datetime(modified))
            .unix_permissions(0o644);
        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        zip.start_file(path, options).unwrap();
        zip.write_all(data).unwrap();
        zip.finish().unwrap().into_inner()
    }

    /// A one-entry zip without its compressed body, and with the fields that depend on the body's length
    /// (its compressed size, twice, and where the central directory starts) zeroed: what is left is the
    /// framing, which must not depend on the deflater.
    fn framing(zip: &[u8], name_len: usize) -> Vec<u8> {
        let compressed = u32::from_le_bytes(zip[18..22].try_into().unwrap()) as usize;
        let body = LOCAL_HEADER + name_len;
        let mut framing = [&zip[..body], &zip[body + compressed..]].concat();
        let central = body;
        let end = central + CENTRAL_HEADER + name_len;
        for field in [18..22, central + 20..central + 24, end + 16..end + 20] {
            framing[field].fill(0);
        }
        framing
    }

    #[test]
    fn one_entry_zips_are_framed_as_zip_frames_them() {
        let chapter: String =
            (0..3000).map(|i| format!("<p id=\"p{i}\">Paragraph {i} of {}.</p>\n", i * 7919 % 1000)).collect();
        // Bytes that do not compress, so the deflated body is longer than the data.
        let mut noise = Vec::with_capacity(300_000);
        let mut x = 0x2545_f491_u32;
        while noise.len() < 300_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            noise.extend_from_slice(&x.to_le_bytes());
        }
        let cases: [(&str, &[u8], i64); 7] = [
            ("mimetype", b"application/epub+zip", DEFAULT_EPOCH),
            ("EPUB/text/c001.xhtml", chapter.as_bytes(), 1_700_000_000),
            ("EPUB/text/short.xhtml", b"<p>Hi</p>", 1_700_000_000),
            ("EPUB/text/empty.xhtml", b"", 0),
            ("EPUB/fonts/noise.ttf", &noise, 4_000_000_000),
            ("EPUB/images/caf\u{e9}.png", &noise[..1000], 1_700_000_000),
            ("EPUB/text/\u{e9}t\u{e9}.xhtml", chapter.as_bytes(), 1_700_000_000),
        ];
        // Twice over, so that later documents use a compressor that compressed others first.
        for (path, data, modified) in cases.iter().chain(&cases) {
            let zip = zip_alone(path, data, *modified).unwrap();
            let by_the_crate = zipped_by_the_crate(path, data, *modified);
            if compression(path) == CompressionMethod::Stored {
                assert!(zip == by_the_crate, "{path}");
            } else {
                assert_eq!(framing(&zip, path.len()), framing(&by_the_crate, path.len()), "{path}");
            }
            let epub = Epub { files: vec![((*path).to_string(), Entry::Deflated(zip.into()))], modified: 0 };
            assert_eq!(epub.read(path).as_deref(), Some(*data), "{path}");
        }
        // The chapter's text is deflated, not stored.
        assert!(zip_alone("EPUB/text/c001.xhtml", chapter.as_bytes(), 0).unwrap().len() < chapter.len() / 3);
    }

    /// The EPUB as `zip`'s writer makes it by copying each one-entry zip.
    fn zipped_by_copying(epub: &Epub) -> Vec<u8> {
        let mut zip = ZipWriter::new(zip::write::StreamWriter::new(Vec::new()));
        for (path, entry) in &epub.files {
            let alone = match entry {
                Entry::Plain(data) => zip_alone(path, data, epub.modified).unwrap(),
                Entry::Deflated(alone) => alone.to_vec(),
            };
            let mut archive = zip::ZipArchive::new(Cursor::new(alone)).unwrap();
            zip.raw_copy_file(archive.by_index_raw(0).unwrap()).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    #[test]
    fn archives_are_the_bytes_zip_writes() {
        let text = |n: usize| (0..n).map(|i| format!("<p>{i}</p>")).collect::<String>().into_bytes();
        let chapter = zip_alone("EPUB/text/c\u{e9}.xhtml", &text(400), 1_700_000_000).unwrap();
        let epub = Epub {
            files: vec![
                ("mimetype".to_string(), Entry::Plain(b"application/epub+zip".to_vec())),
                ("EPUB/package.opf".to_string(), Entry::Plain(text(50))),
                ("EPUB/text/c\u{e9}.xhtml".to_string(), Entry::Deflated(chapter.into())),
                ("EPUB/images/a.png".to_string(), Entry::Plain(vec![7; 3000])),
                ("EPUB/empty.css".to_string(), Entry::Plain(Vec::new())),
            ],
            modified: 1_700_000_000,
        };
        let bytes = zip_bytes(&epub).unwrap();
        assert!(bytes == zipped_by_copying(&epub));
        let mut archive = zip::ZipArchive::new(Cursor::new(&bytes)).unwrap();
        assert_eq!(archive.len(), 5);
        let mut read = String::new();
        archive.by_name("EPUB/text/c\u{e9}.xhtml").unwrap().read_to_string(&mut read).unwrap();
        assert_eq!(read.as_bytes(), text(400));
        // What is not a zip of one entry is refused, never copied.
        let broken = Epub {
            files: vec![("x".to_string(), Entry::Deflated(b"PK\x03\x04 not a zip".to_vec().into()))],
            modified: 0,
        };
        assert!(zip_bytes(&broken).is_err());
    }

    #[test]
    fn section_numbers_follow_mdbook() {
        let summary = "# Summary\n\n[Intro](intro.md)\n\n- [One](one.md)\n  - [Sub](sub.md)\n  - [Sub 2](sub2.md)\n\n# Part\n\n- [Two](two.md)\n  - [Deep](deep.md)\n- [Three](three.md)\n\n[End](end.md)\n";
        let (outline, _) = outline::parse(&SourceText::new("SUMMARY.md", summary.to_string()));
        let mut numbers = SectionNumbers::default();
        let labels: Vec<String> = outline
            .entries
            .iter()
            .map(|e| format!("{}{}", numbers.next(e).map(|n| n + " ").unwrap_or_default(), e.title))
            .collect();
        assert_eq!(
            labels,
            ["Intro", "1. One", "1.1. Sub", "1.2. Sub 2", "Part", "2. Two", "2.1. Deep", "3. Three", "End"]
        );
    }
}
