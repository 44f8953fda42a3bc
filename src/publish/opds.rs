//! OPDS 1.2 catalogues (Atom): an acquisition feed per book, acquisition feeds of the shelf in each order,
//! and the shelf's navigation feed, the one to add to a reading app.
//!
//! Links are relative, so the folder can be hosted anywhere; Atom resolves them against the feed's URL.
//! Feed and entry ids are the books' own identifiers, and name-based UUIDs of them for the feeds.

use std::fmt::Write as _;

use super::{Manifest, Order};
use crate::text::{escape, escape_href};

const ACQUISITION: &str = "application/atom+xml;profile=opds-catalog;kind=acquisition";
const NAVIGATION: &str = "application/atom+xml;profile=opds-catalog;kind=navigation";

/// Who the feeds name as their author when a book names none (Atom requires one).
const FEED_AUTHOR: &str = "folio";

/// A stable `urn:uuid:` for a feed, from what it lists.
fn feed_id(kind: &str, books: &[Manifest]) -> String {
    let mut ids: Vec<&str> = books.iter().map(|b| b.identifier.as_str()).collect();
    ids.sort_unstable();
    let name = format!("folio-publish:{kind}:{}", ids.join("\n"));
    format!("urn:uuid:{}", uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, name.as_bytes()))
}

/// The latest `updated` of the books (RFC 3339 strings in UTC compare as times).
fn latest(books: &[Manifest]) -> &str {
    books.iter().map(|b| b.modified.as_str()).max().unwrap_or("1980-01-01T00:00:00Z")
}

fn element(out: &mut String, name: &str, text: &str) {
    let _ = write!(out, "<{name}>");
    escape(out, text);
    let _ = writeln!(out, "</{name}>");
}

fn link(out: &mut String, rel: &str, href: &str, media_type: &str, title: Option<&str>) {
    let _ = write!(out, "<link rel=\"{rel}\" href=\"");
    escape_href(out, href);
    let _ = write!(out, "\" type=\"{media_type}\"");
    if let Some(title) = title {
        out.push_str(" title=\"");
        escape(out, title);
        out.push('"');
    }
    out.push_str("/>\n");
}

fn open_feed(out: &mut String, id: &str, title: &str, updated: &str) {
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\" xmlns:dcterms=\"http://purl.org/dc/terms/\" xmlns:opds=\"http://opds-spec.org/2010/catalog\">\n");
    element(out, "id", id);
    element(out, "title", title);
    element(out, "updated", updated);
    let _ = writeln!(out, "<author><name>{FEED_AUTHOR}</name></author>");
    let _ = writeln!(out, "<generator version=\"{}\">folio</generator>", env!("CARGO_PKG_VERSION"));
}

/// One book's entry; `folder` is the path from the feed to the book's folder (`""` or `slug/`).
fn entry(out: &mut String, book: &Manifest, folder: &str) {
    out.push_str("<entry>\n");
    element(out, "title", &book.title);
    element(out, "id", &book.identifier);
    element(out, "updated", &book.modified);
    for author in &book.authors {
        out.push_str("<author><name>");
        escape(out, author);
        out.push_str("</name></author>\n");
    }
    if let Some(rights) = &book.rights {
        element(out, "rights", rights);
    }
    for subject in &book.subjects {
        out.push_str("<category term=\"");
        escape(out, subject);
        out.push_str("\" label=\"");
        escape(out, subject);
        out.push_str("\"/>\n");
    }
    element(out, "dcterms:language", &book.language);
    if let Some(publisher) = &book.publisher {
        element(out, "dcterms:publisher", publisher);
    }
    if let Some(date) = &book.date {
        element(out, "dcterms:issued", date);
    }
    if let Some(isbn) = &book.isbn {
        element(out, "dcterms:identifier", &format!("urn:isbn:{isbn}"));
    }
    if let Some(description) = &book.description {
        let summary = match &book.subtitle {
            Some(subtitle) => format!("{subtitle}. {description}"),
            None => description.clone(),
        };
        element(out, "summary", &summary);
    }
    if let Some(cover) = &book.cover {
        link(out, "http://opds-spec.org/image", &format!("{folder}{}", cover.file), &cover.media_type, None);
    }
    if let Some(thumbnail) = &book.thumbnail {
        let href = format!("{folder}{}", thumbnail.file);
        link(out, "http://opds-spec.org/image/thumbnail", &href, &thumbnail.media_type, None);
    }
    for file in &book.files {
        let title = match file.target.as_str() {
            "kobo" => "Kobo (kepub)",
            "kindle" => "Kindle (Send to Kindle)",
            _ => "EPUB",
        };
        let href = format!("{folder}{}", file.file);
        link(out, "http://opds-spec.org/acquisition", &href, &file.media_type, Some(title));
    }
    link(out, "alternate", &format!("{folder}index.html"), "text/html", Some("Download page"));
    out.push_str("</entry>\n");
}

/// A book's own acquisition feed (`<slug>/catalog.xml`).
pub fn book(book: &Manifest) -> String {
    let books = std::slice::from_ref(book);
    let mut out = String::new();
    open_feed(&mut out, &feed_id("book", books), &book.title, &book.modified);
    link(&mut out, "self", "catalog.xml", ACQUISITION, None);
    link(&mut out, "start", "../catalog.xml", NAVIGATION, None);
    link(&mut out, "up", "../catalog.xml", NAVIGATION, None);
    entry(&mut out, book, "");
    out.push_str("</feed>\n");
    out
}

/// The shelf's acquisition feed in one order.
pub fn acquisition_shelf(books: &[Manifest], order: Order) -> String {
    let mut out = String::new();
    let title = format!("All books, by {}", order.label());
    open_feed(&mut out, &feed_id(order.feed(), books), &title, latest(books));
    link(&mut out, "self", order.feed(), ACQUISITION, None);
    link(&mut out, "start", "catalog.xml", NAVIGATION, None);
    link(&mut out, "up", "catalog.xml", NAVIGATION, None);
    // OPDS facets let an app offer the other orders of the same list.
    for other in Order::ALL {
        let _ = write!(
            out,
            "<link rel=\"http://opds-spec.org/facet\" href=\"{}\" type=\"{ACQUISITION}\" title=\"By {}\" opds:facetGroup=\"Sort\"",
            other.feed(),
            other.label()
        );
        if other == order {
            out.push_str(" opds:activeFacet=\"true\"");
        }
        out.push_str("/>\n");
    }
    for book in books {
        entry(&mut out, book, &format!("{}/", book.slug));
    }
    out.push_str("</feed>\n");
    out
}

/// The shelf's navigation feed (`catalog.xml`): the sorted lists, then each book's own feed.
pub fn navigation(books: &[Manifest]) -> String {
    let mut out = String::new();
    let updated = latest(books);
    open_feed(&mut out, &feed_id("navigation", books), "Books", updated);
    link(&mut out, "self", "catalog.xml", NAVIGATION, None);
    link(&mut out, "start", "catalog.xml", NAVIGATION, None);
    let mut navigation_entry = |title: &str, id: String, href: &str, content: &str| {
        out.push_str("<entry>\n");
        element(&mut out, "title", title);
        element(&mut out, "id", &id);
        element(&mut out, "updated", updated);
        out.push_str("<content type=\"text\">");
        escape(&mut out, content);
        out.push_str("</content>\n");
        link(&mut out, "subsection", href, ACQUISITION, None);
        out.push_str("</entry>\n");
    };
    for order in Order::ALL {
        let title = format!("All books, by {}", order.label());
        navigation_entry(&title, feed_id(order.feed(), books), order.feed(), &format!("{} books", books.len()));
    }
    for book in books {
        let href = format!("{}/catalog.xml", book.slug);
        let about = match book.authors.is_empty() {
            true => book.title.clone(),
            false => format!("{} by {}", book.title, book.authors.join(", ")),
        };
        navigation_entry(&book.title, feed_id("book", std::slice::from_ref(book)), &href, &about);
    }
    out.push_str("</feed>\n");
    out
}
