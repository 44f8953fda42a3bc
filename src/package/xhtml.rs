//! The XHTML documents folio writes around content: every chapter's frame, and the generated
//! pages (cover, title page, part pages, sources).

use std::fmt::Write as _;

use crate::config::BookConfig;
use crate::i18n::Strings;
use crate::outline::Matter;
use crate::target::Target;
use crate::text::{escape, escape_href, escaped};

/// What a page needs from the book: language, direction, stylesheets, and the target it is built for.
pub struct Frame<'a> {
    /// The book's config.
    pub config: &'a BookConfig,
    /// Stylesheet hrefs relative to the package root (`css/folio.css`).
    pub stylesheets: Vec<String>,
    /// The reader the book is built for; it adapts every page but the navigation document.
    pub target: Target,
}

impl Frame<'_> {
    /// A complete XHTML document for a file in the `text/` folder, as the target wants it.
    pub fn document(&self, title: &str, matter: Option<Matter>, body: &str) -> String {
        self.write(title, matter, &self.target.body(body), self.target.head())
    }

    /// The navigation document, the same for every target: it is the table of contents, not text to
    /// read, so Kobo's spans stay out of it (as in Standard Ebooks' Kobo build).
    pub fn navigation(&self, title: &str, body: &str) -> String {
        self.write(title, Some(Matter::Front), body, "")
    }

    fn write(&self, title: &str, matter: Option<Matter>, body: &str, head: &str) -> String {
        let lang = escaped(&self.config.language);
        let mut out = String::with_capacity(body.len() + 600);
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE html>\n");
        let _ = write!(
            out,
            "<html xmlns=\"http://www.w3.org/1999/xhtml\" xmlns:epub=\"http://www.idpf.org/2007/ops\" lang=\"{lang}\" xml:lang=\"{lang}\""
        );
        if self.config.right_to_left {
            out.push_str(" dir=\"rtl\"");
        }
        out.push_str(">\n<head>\n<title>");
        escape(&mut out, title);
        out.push_str("</title>\n");
        for css in &self.stylesheets {
            out.push_str("<link rel=\"stylesheet\" type=\"text/css\" href=\"../");
            escape_href(&mut out, css);
            out.push_str("\"/>\n");
        }
        out.push_str(head);
        out.push_str("</head>\n<body");
        match matter {
            Some(Matter::Front) => out.push_str(" epub:type=\"frontmatter\""),
            Some(Matter::Body) => out.push_str(" epub:type=\"bodymatter\""),
            Some(Matter::Back) => out.push_str(" epub:type=\"backmatter\""),
            None => {}
        }
        out.push_str(">\n");
        out.push_str(body);
        out.push_str("</body>\n</html>\n");
        out
    }
}

/// The cover page: the cover image, as large as the screen allows.
pub fn cover_body(image_href: &str, alt: &str, strings: &Strings) -> String {
    let mut out = String::from("<section class=\"cover\" epub:type=\"cover\" aria-label=\"");
    escape(&mut out, strings.cover);
    out.push_str("\">\n<img class=\"cover-image\" src=\"../");
    escape_href(&mut out, image_href);
    out.push_str("\" alt=\"");
    escape(&mut out, alt);
    out.push_str("\"/>\n</section>\n");
    out
}

/// The title page: title, subtitle, authors, contributors, publisher and date from book.toml.
pub fn title_page_body(config: &BookConfig, strings: &Strings) -> String {
    let mut out = String::from("<section class=\"titlepage\" epub:type=\"titlepage\" aria-label=\"");
    escape(&mut out, strings.title_page);
    out.push_str("\">\n<h1 class=\"title\">");
    escape(&mut out, &config.title);
    out.push_str("</h1>\n");
    let mut line = |class: &str, text: &str| {
        let _ = write!(out, "<p class=\"{class}\">");
        escape(&mut out, text);
        out.push_str("</p>\n");
    };
    if let Some(subtitle) = &config.subtitle {
        line("subtitle", subtitle);
    }
    if !config.authors.is_empty() {
        line("authors", &config.authors.join(", "));
    }
    for c in &config.contributors {
        line("contributor", &c.name);
    }
    if let Some(publisher) = &config.publisher {
        line("publisher", publisher);
    }
    if let Some(date) = config.date {
        line("date", &date.to_w3cdtf()[..4]);
    }
    if let Some(rights) = &config.rights {
        line("rights", rights);
    }
    out.push_str("</section>\n");
    out
}

/// A part title page.
pub fn part_body(title: &str, id: &str) -> String {
    let mut out = format!(
        "<section class=\"part\" epub:type=\"part\" role=\"doc-part\" aria-labelledby=\"{id}\">\n<h1 class=\"part-title\" id=\"{id}\">"
    );
    escape(&mut out, title);
    out.push_str("</h1>\n</section>\n");
    out
}
