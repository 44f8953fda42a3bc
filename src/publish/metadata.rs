//! What a download page tells about a book, read back from the package document folio just wrote:
//! one source of truth for the EPUB and its page.

use roxmltree::{Document, Node};

use super::page::Font;
use crate::document::Epub;
use crate::package::ROOT;

const DC: &str = "http://purl.org/dc/elements/1.1/";

/// The package's metadata, cover and fonts.
#[derive(Debug, Default)]
pub struct Facts {
    /// `dc:identifier` named by `unique-identifier`.
    pub identifier: String,
    /// The main `dc:title`.
    pub title: String,
    /// The subtitle's `dc:title`.
    pub subtitle: Option<String>,
    /// `dc:creator`s.
    pub authors: Vec<String>,
    /// `dc:description`.
    pub description: Option<String>,
    /// `dc:language`.
    pub language: String,
    /// The package reads right to left.
    pub right_to_left: bool,
    /// `dc:publisher`.
    pub publisher: Option<String>,
    /// `dc:date`.
    pub date: Option<String>,
    /// The ISBN, without `urn:isbn:`.
    pub isbn: Option<String>,
    /// `dc:rights`.
    pub rights: Option<String>,
    /// `dc:subject`s.
    pub subjects: Vec<String>,
    /// `dcterms:modified`.
    pub modified: String,
    /// The cover image's media type and bytes.
    pub cover: Option<(String, Vec<u8>)>,
    /// The embedded fonts.
    pub fonts: Vec<Font>,
}

/// Reads the facts from the package; the message says what is missing (which would be folio's fault).
pub fn read(epub: &Epub) -> Result<Facts, String> {
    let path = format!("{ROOT}/package.opf");
    let opf = epub.read(&path).ok_or("the package has no package document")?;
    let text = std::str::from_utf8(&opf).map_err(|_| "the package document is not UTF-8")?;
    let doc = Document::parse(text).map_err(|e| format!("the package document is not well-formed ({e})"))?;
    let root = doc.root_element();
    let metadata = child(root, "metadata").ok_or("the package document has no metadata")?;
    let dc = |name: &'static str| {
        metadata.children().filter(move |n| n.tag_name().namespace() == Some(DC) && n.tag_name().name() == name)
    };
    let text_of = |n: Node| n.text().unwrap_or_default().trim().to_string();
    let first = |name: &'static str| dc(name).next().map(text_of);
    let unique = root.attribute("unique-identifier").unwrap_or_default();
    let identifier = dc("identifier").find(|n| n.attribute("id") == Some(unique)).map(text_of).unwrap_or_default();
    let isbn = dc("identifier").map(text_of).find_map(|id| id.strip_prefix("urn:isbn:").map(str::to_string));
    let meta = |property: &str| metadata.children().find(|n| n.attribute("property") == Some(property)).map(text_of);
    let mut facts = Facts {
        title: dc("title").find(|n| n.attribute("id") != Some("subtitle")).map(text_of).unwrap_or_default(),
        subtitle: dc("title").find(|n| n.attribute("id") == Some("subtitle")).map(text_of),
        authors: dc("creator").map(text_of).collect(),
        description: first("description"),
        language: first("language").unwrap_or_default(),
        right_to_left: root.attribute("dir") == Some("rtl"),
        publisher: first("publisher"),
        date: first("date"),
        isbn,
        identifier,
        rights: first("rights"),
        subjects: dc("subject").map(text_of).collect(),
        modified: meta("dcterms:modified").unwrap_or_default(),
        cover: None,
        fonts: Vec::new(),
    };
    let manifest = child(root, "manifest").ok_or("the package document has no manifest")?;
    for item in manifest.children().filter(|n| n.has_tag_name("item")) {
        let (Some(href), Some(media_type)) = (item.attribute("href"), item.attribute("media-type")) else { continue };
        let in_package = format!("{ROOT}/{}", percent_encoding::percent_decode_str(href).decode_utf8_lossy());
        let is_cover = item.attribute("properties").is_some_and(|p| p.split(' ').any(|p| p == "cover-image"));
        if is_cover {
            let data = epub.read(&in_package).ok_or("the package lacks its cover image")?;
            facts.cover = Some((media_type.to_string(), data.into_owned()));
        } else if media_type.starts_with("font/") || media_type.starts_with("application/font") {
            let data = epub.read(&in_package).ok_or("the package lacks a font it lists")?;
            let file = href.rsplit('/').next().unwrap_or(href).to_string();
            if let Some(font) = Font::describe(file, media_type, data.into_owned()) {
                facts.fonts.push(font);
            }
        }
    }
    Ok(facts)
}

fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|n| n.tag_name().name() == name)
}
