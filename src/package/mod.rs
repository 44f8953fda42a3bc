//! Stage 5, package: rendered chapters and assets → the files of the EPUB, in memory, then the zip.
//!
//! Procedure, in pandoc's order: metadata, styles, cover, chapters, OPF, NCX and nav. The zip has
//! `mimetype` first and stored, every other entry deflated, entries in a fixed order, every
//! timestamp and permission fixed: the same sources give the same bytes.

pub mod assets;
pub mod nav;
pub mod opf;
pub mod xhtml;

use std::io::{self, Cursor, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::config::BookConfig;
use crate::i18n::Strings;
use crate::outline::{self, Outline, Target};
use crate::render::{IMAGE_DIR, RenderedChapter, TEXT_DIR};

pub use self::assets::Asset;
use self::nav::{Landmark, NavPoint};
use self::opf::{ContentFacts, Item};
use self::xhtml::{Frame, Matter};

/// The folder inside the zip that holds the package.
const ROOT: &str = "EPUB";

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
    /// Rendered chapters, in outline order (parts have none).
    pub chapters: &'a [RenderedChapter],
    /// Stylesheets, the default first.
    pub stylesheets: Vec<Asset>,
    /// Fonts.
    pub fonts: Vec<Asset>,
    /// Images chapters use.
    pub images: Vec<Asset>,
    /// The cover image.
    pub cover: Option<Asset>,
    /// Body of the generated Sources page, when the book cites sources.
    pub bibliography: Option<String>,
}

/// The EPUB's files in zip order (paths inside the zip), ready to be zipped.
#[derive(Debug, Clone)]
pub struct Epub {
    /// `(path, bytes)`, `mimetype` first.
    pub files: Vec<(String, Vec<u8>)>,
    /// Timestamp for every entry.
    pub modified: i64,
}

impl Epub {
    /// The text of a file, for checks.
    pub fn text(&self, path: &str) -> Option<&str> {
        self.files.iter().find(|(p, _)| p == path).and_then(|(_, d)| std::str::from_utf8(d).ok())
    }
}

/// Builds every file of the package.
pub fn assemble(parts: Parts<'_>) -> Epub {
    let config = parts.config;
    let stylesheet_hrefs: Vec<String> = parts.stylesheets.iter().map(|s| s.href.clone()).collect();
    let frame = Frame { config, stylesheets: &stylesheet_hrefs };
    let mut items: Vec<Item> = Vec::new();
    let mut documents: Vec<(String, Vec<u8>)> = Vec::new();
    let mut add = |items: &mut Vec<Item>, id: String, href: String, media_type: &'static str, properties: Vec<&'static str>, spine: Option<bool>, data: Vec<u8>| {
        documents.push((format!("{ROOT}/{href}"), data));
        items.push(Item { id, href, media_type, properties, spine });
    };

    for (i, css) in parts.stylesheets.into_iter().enumerate() {
        add(&mut items, format!("css-{}", i + 1), css.href, css.media_type, vec![], None, css.data);
    }
    for (i, font) in parts.fonts.into_iter().enumerate() {
        add(&mut items, format!("font-{}", i + 1), font.href, font.media_type, vec![], None, font.data);
    }
    let mut landmarks = Vec::new();
    if let Some(cover) = parts.cover {
        let page = frame.document(parts.strings.cover, Some(Matter::Front), &xhtml::cover_body(&cover.href, config, parts.strings));
        add(&mut items, "cover-image".into(), cover.href, cover.media_type, vec!["cover-image"], None, cover.data);
        let href = format!("{TEXT_DIR}/cover.xhtml");
        landmarks.push(Landmark { kind: "cover", label: parts.strings.cover.to_string(), href: href.clone() });
        add(&mut items, "cover".into(), href, "application/xhtml+xml", vec![], Some(true), page.into_bytes());
    }
    for (i, image) in parts.images.into_iter().enumerate() {
        let properties = vec![];
        add(&mut items, format!("img-{}", i + 1), image.href, image.media_type, properties, None, image.data);
    }

    let title_href = format!("{TEXT_DIR}/titlepage.xhtml");
    let title_page = frame.document(&config.title, Some(Matter::Front), &xhtml::title_page_body(config, parts.strings));
    landmarks.push(Landmark { kind: "titlepage", label: parts.strings.title_page.to_string(), href: title_href.clone() });
    add(&mut items, "titlepage".into(), title_href, "application/xhtml+xml", vec![], Some(true), title_page.into_bytes());
    let nav_href = format!("{TEXT_DIR}/nav.xhtml");
    landmarks.push(Landmark { kind: "toc", label: parts.strings.contents.to_string(), href: format!("{nav_href}#toc") });
    // The nav document is added once its content is known; reserve its place in the spine.
    let nav_index = items.len();

    let mut flat_toc: Vec<(usize, String, String)> = Vec::new();
    let mut chapters = parts.chapters.iter().peekable();
    let mut facts = ContentFacts { all_images_described: true, ..ContentFacts::default() };
    let mut has_bodymatter = false;
    for (index, entry) in parts.outline.entries.iter().enumerate() {
        let file = &parts.files[index];
        let href = format!("{TEXT_DIR}/{file}");
        let matter = match entry.matter {
            outline::Matter::Front => Matter::Front,
            outline::Matter::Body => Matter::Body,
            outline::Matter::Back => Matter::Back,
        };
        if matter == Matter::Body && !has_bodymatter {
            has_bodymatter = true;
            landmarks.push(Landmark { kind: "bodymatter", label: parts.strings.start.to_string(), href: href.clone() });
        }
        flat_toc.push((entry.depth, entry.title.clone(), href.clone()));
        let (body, properties) = match &entry.target {
            Target::Part => (xhtml::part_body(&entry.title, "part-title"), vec![]),
            Target::Chapter(_) => {
                let Some(chapter) = chapters.next_if(|c| c.entry == index) else { continue };
                let first_is_title = chapter.headings.first().is_some_and(|h| h.level == 1);
                for heading in chapter.headings.iter().skip(usize::from(first_is_title)) {
                    if heading.level <= config.toc_depth && heading.level >= 2 {
                        flat_toc.push((entry.depth + usize::from(heading.level) - 1, heading.text.clone(), format!("{href}#{}", heading.id)));
                    }
                }
                facts.has_mathml |= chapter.has_mathml;
                let mut properties = vec![];
                if chapter.has_svg {
                    properties.push("svg");
                }
                if chapter.has_mathml {
                    properties.push("mathml");
                }
                (chapter.body.clone(), properties)
            }
        };
        let document = frame.document(&entry.title, Some(matter), &body);
        let id = file.trim_end_matches(".xhtml").to_string();
        add(&mut items, id, href, "application/xhtml+xml", properties, Some(true), document.into_bytes());
    }
    if let Some(bibliography) = &parts.bibliography {
        let href = format!("{TEXT_DIR}/sources.xhtml");
        flat_toc.push((0, parts.strings.sources.to_string(), href.clone()));
        landmarks.push(Landmark { kind: "bibliography", label: parts.strings.sources.to_string(), href: href.clone() });
        let document = frame.document(parts.strings.sources, Some(Matter::Back), bibliography);
        add(&mut items, "sources".into(), href, "application/xhtml+xml", vec![], Some(true), document.into_bytes());
    }

    let toc: Vec<NavPoint> = nav::tree(flat_toc);
    let nav_body = nav::nav_body(&toc, &landmarks, parts.strings.contents, parts.strings.landmarks);
    let nav_document = frame.document(parts.strings.contents, Some(Matter::Front), &nav_body);
    documents.insert(nav_index, (format!("{ROOT}/{nav_href}"), nav_document.into_bytes()));
    items.insert(nav_index, Item { id: "nav".into(), href: nav_href, media_type: "application/xhtml+xml", properties: vec!["nav"], spine: Some(true) });
    let ncx = nav::ncx(&toc, parts.identifier, &config.title, &config.language);
    items.push(Item { id: "ncx".into(), href: "toc.ncx".into(), media_type: "application/x-dtbncx+xml", properties: vec![], spine: None });

    facts.has_images = items.iter().any(|i| i.media_type.starts_with("image/") && i.id != "cover-image");
    facts.all_images_described = parts.chapters.iter().all(|c| !c.body.contains(" alt=\"\""));
    let opf = opf::package_document(config, parts.identifier, parts.modified, &items, facts);

    let mut files = vec![
        ("mimetype".to_string(), b"application/epub+zip".to_vec()),
        ("META-INF/container.xml".to_string(), CONTAINER.as_bytes().to_vec()),
        (format!("{ROOT}/package.opf"), opf.into_bytes()),
        (format!("{ROOT}/toc.ncx"), ncx.into_bytes()),
    ];
    files.extend(documents);
    Epub { files, modified: parts.modified }
}

const CONTAINER: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<container version=\"1.0\" xmlns=\"urn:oasis:names:tc:opendocument:xmlns:container\">\n<rootfiles>\n<rootfile full-path=\"EPUB/package.opf\" media-type=\"application/oebps-package+xml\"/>\n</rootfiles>\n</container>\n";

/// Path of the image folder inside the package.
pub fn image_href(name: &str) -> String {
    format!("{IMAGE_DIR}/{name}")
}

/// Zips the files into `sink`: `mimetype` stored and first, the rest deflated, fixed timestamps.
pub fn write_zip<W: Write + io::Seek>(epub: &Epub, sink: W) -> io::Result<W> {
    let when = zip_datetime(epub.modified);
    let mut zip = ZipWriter::new(sink);
    for (path, data) in &epub.files {
        let method = if path == "mimetype" { CompressionMethod::Stored } else { CompressionMethod::Deflated };
        let options = SimpleFileOptions::default().compression_method(method).last_modified_time(when).unix_permissions(0o644);
        zip.start_file(path.as_str(), options).map_err(io::Error::other)?;
        zip.write_all(data)?;
    }
    zip.finish().map_err(io::Error::other)
}

/// The zip in memory.
pub fn zip_bytes(epub: &Epub) -> io::Result<Vec<u8>> {
    Ok(write_zip(epub, Cursor::new(Vec::new()))?.into_inner())
}

fn zip_datetime(unix_seconds: i64) -> zip::DateTime {
    // DOS time starts in 1980; anything earlier is clamped to its first instant.
    let t = time::OffsetDateTime::from_unix_timestamp(unix_seconds.max(315_532_800)).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    zip::DateTime::from_date_and_time(t.year().min(2107) as u16, t.month() as u8, t.day(), t.hour(), t.minute(), t.second())
        .unwrap_or_default()
}
