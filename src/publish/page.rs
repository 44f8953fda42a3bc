//! The site's HTML: a download page per book, and the shelf's pages over all of them.
//!
//! Static pages without script: HTML5 the Nu checker accepts, landmarks and headings for screen readers,
//! one column on a phone, no navigation in print. A book's page is set in the book's embedded fonts
//! when skrifa can read their names (TrueType and OpenType; WOFF is left to the fallback faces).

use std::fmt::Write as _;

use skrifa::MetadataProvider as _;
use skrifa::string::StringId;

use super::{Download, Manifest, Order};
use crate::text::{escape, escape_href, escaped};

/// An embedded font the page can use.
#[derive(Debug, Clone)]
pub struct Font {
    /// File name, relative to the page once published.
    pub file: String,
    /// Media type.
    pub media_type: String,
    /// Family name.
    pub family: String,
    /// `normal` or `italic`.
    pub style: &'static str,
    /// CSS weight.
    pub weight: u16,
    /// The font's bytes.
    pub data: Vec<u8>,
}

impl Font {
    /// Reads family, style and weight from an OpenType font; `None` for what skrifa cannot read.
    pub fn describe(file: String, media_type: &str, data: Vec<u8>) -> Option<Font> {
        let font = skrifa::FontRef::new(&data).ok()?;
        let family = [StringId::TYPOGRAPHIC_FAMILY_NAME, StringId::FAMILY_NAME]
            .into_iter()
            .find_map(|id| font.localized_strings(id).english_or_first().map(|s| s.to_string()))?;
        let attributes = font.attributes();
        let style = if attributes.style == skrifa::attribute::Style::Normal { "normal" } else { "italic" };
        let weight = attributes.weight.value().round().clamp(1.0, 1000.0) as u16;
        // A family name goes inside a CSS string: nothing that could end it.
        let family = family.chars().filter(|c| !matches!(c, '"' | '\\' | '<' | '>') && !c.is_control()).collect();
        Some(Font { file, media_type: media_type.into(), family, style, weight, data })
    }
}

/// Shared by every page: legible on a phone and a desktop, contrast above WCAG AA, no navigation in print.
const STYLE: &str = "\
body{margin:0;font-family:var(--face);font-size:1.05rem;line-height:1.55;color:#1b1b1b;background:#fcfcfa}
main,header.site,footer{max-width:54rem;margin:0 auto;padding:0 1rem}
header.site{padding-top:1rem;font-family:system-ui,sans-serif;font-size:.95rem}
footer{padding-bottom:2rem;color:#4a4a4a;font-family:system-ui,sans-serif;font-size:.85rem}
a{color:#0a4f8a}
a:focus-visible{outline:3px solid #0a4f8a;outline-offset:2px}
h1{font-size:2rem;line-height:1.2;margin:.4rem 0}
h2{font-size:1.3rem;margin:2rem 0 .6rem}
.subtitle{font-size:1.2rem;margin:.2rem 0 1rem;color:#333}
.book{display:grid;grid-template-columns:minmax(0,15rem) 1fr;gap:2rem;align-items:start;margin-top:1rem}
.cover img{display:block;width:100%;height:auto;border:1px solid #bbb}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:1rem 0}
dl.facts dt{font-weight:bold}
dl.facts dd{margin:0}
ul.downloads{list-style:none;padding:0;margin:0}
ul.downloads li{border-top:1px solid #ccc;padding:.8rem 0}
.file{font-size:1.1rem;font-weight:bold}
.for{margin:.2rem 0}
.sum{font-family:ui-monospace,monospace;font-size:.8rem;overflow-wrap:anywhere;color:#333}
ul.shelf{list-style:none;padding:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(11rem,1fr));gap:1.5rem}
ul.shelf img{display:block;width:100%;height:auto;border:1px solid #bbb;margin-bottom:.4rem}
ul.shelf .meta{color:#333;font-size:.9rem}
nav.order ul{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:1rem}
@media (max-width:40rem){.book{grid-template-columns:1fr}.cover{max-width:13rem}h1{font-size:1.6rem}}
@media print{body{background:#fff;color:#000;font-size:11pt}header.site,nav.order{display:none}
a{color:#000}ul.downloads a::after{content:\" (\" attr(href) \")\"}.book{grid-template-columns:6cm 1fr}}
";

/// Serif faces for when the book has no fonts, or they lack a character.
const FALLBACK_FACES: &str = "Georgia,\"Times New Roman\",serif";

/// Which reader wants which file.
fn reader_note(download: &Download) -> &'static str {
    match download.target.as_str() {
        "kobo" => {
            "For Kobo e-readers and the Kobo apps: copy it to the reader's storage; the kepub keeps reading \
             statistics and pop-up notes."
        }
        "kindle" => "For Kindle: send it with Send to Kindle (by e-mail or the app), which converts it.",
        _ => "For Apple Books, Google Play Books, Thorium, KOReader, Calibre and most other reading apps.",
    }
}

/// What each target's file is called on the page.
fn format_name(download: &Download) -> &'static str {
    match download.target.as_str() {
        "kobo" => "Kobo kepub",
        "kindle" => "EPUB for Kindle",
        _ => "EPUB",
    }
}

/// A size for people: bytes, KiB or MiB.
fn human_size(bytes: u64) -> String {
    match bytes {
        0..1024 => format!("{bytes} bytes"),
        1024..1_048_576 => format!("{} KiB", bytes.div_ceil(1024)),
        _ => format!("{:.1} MiB", bytes as f64 / 1_048_576.0),
    }
}

/// The attributes that mark text as the book's: its language, and its direction when right to left.
fn in_language(book: &Manifest) -> String {
    let direction = if book.right_to_left { " dir=\"rtl\"" } else { "" };
    format!(" lang=\"{}\"{direction}", escaped(&book.language))
}

/// "A, B and C".
fn names(authors: &[String]) -> String {
    match authors {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The opening of a page: head with style, Open Graph and JSON-LD, and the site header.
fn head(out: &mut String, title: &str, description: Option<&str>, extra_head: &str, style: &str) {
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
    escape(out, title);
    out.push_str("</title>\n");
    if let Some(description) = description {
        out.push_str("<meta name=\"description\" content=\"");
        escape(out, description);
        out.push_str("\">\n");
    }
    let _ = writeln!(out, "<meta name=\"generator\" content=\"folio {}\">", env!("CARGO_PKG_VERSION"));
    out.push_str(extra_head);
    let _ = write!(out, "<style>\n{style}{STYLE}</style>\n</head>\n<body>\n");
}

fn meta_property(out: &mut String, property: &str, content: &str) {
    let _ = write!(out, "<meta property=\"{property}\" content=\"");
    escape(out, content);
    out.push_str("\">\n");
}

/// JSON inside `<script>`: `<` escaped, so no `</script>` in a book's text can end it.
fn script_json(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default().replace('<', "\\u003c")
}

/// schema.org's Book, with each file as an encoding.
fn json_ld(book: &Manifest) -> serde_json::Value {
    let mut value = serde_json::json!({
        "@context": "https://schema.org",
        "@type": "Book",
        "name": book.title,
        "inLanguage": book.language,
        "identifier": book.identifier,
        "author": book.authors.iter().map(|a| serde_json::json!({"@type": "Person", "name": a})).collect::<Vec<_>>(),
        "encoding": book.files.iter().map(|f| serde_json::json!({
            "@type": "MediaObject",
            "contentUrl": f.file,
            "encodingFormat": f.media_type,
            "contentSize": f.bytes.to_string(),
            "sha256": f.sha256,
        })).collect::<Vec<_>>(),
    });
    let fields = [
        ("alternativeHeadline", book.subtitle.clone().map(serde_json::Value::from)),
        ("description", book.description.clone().map(serde_json::Value::from)),
        ("publisher", book.publisher.as_ref().map(|p| serde_json::json!({"@type": "Organization", "name": p}))),
        ("datePublished", book.date.clone().map(serde_json::Value::from)),
        ("isbn", book.isbn.clone().map(serde_json::Value::from)),
        ("copyrightNotice", book.rights.clone().map(serde_json::Value::from)),
        ("image", book.cover.as_ref().map(|c| serde_json::Value::from(c.file.clone()))),
        ("bookFormat", Some("https://schema.org/EBook".into())),
        ("keywords", (!book.subjects.is_empty()).then(|| book.subjects.join(", ").into())),
    ];
    for (key, field) in fields {
        if let Some(field) = field {
            value[key] = field;
        }
    }
    value
}

/// A book's download page (`<slug>/index.html`).
pub fn book(book: &Manifest, fonts: &[Font]) -> String {
    let mut style = String::new();
    for font in fonts {
        let format = match font.media_type.as_str() {
            "font/otf" => "opentype",
            _ => "truetype",
        };
        let _ = writeln!(
            style,
            "@font-face{{font-family:\"{}\";font-style:{};font-weight:{};src:url({}) format(\"{format}\")}}",
            font.family, font.style, font.weight, font.file
        );
    }
    let face = match fonts.first() {
        Some(font) => format!("\"{}\",{FALLBACK_FACES}", font.family),
        None => FALLBACK_FACES.into(),
    };
    let _ = writeln!(style, ":root{{--face:{face}}}");
    let mut extra = String::new();
    meta_property(&mut extra, "og:type", "book");
    meta_property(&mut extra, "og:title", &book.title);
    if let Some(description) = &book.description {
        meta_property(&mut extra, "og:description", description);
    }
    meta_property(&mut extra, "og:locale", &book.language.replace('-', "_"));
    if let Some(cover) = &book.cover {
        meta_property(&mut extra, "og:image", &cover.file);
        meta_property(&mut extra, "og:image:alt", &format!("Cover of {}", book.title));
    }
    for author in &book.authors {
        meta_property(&mut extra, "book:author", author);
    }
    if let Some(isbn) = &book.isbn {
        meta_property(&mut extra, "book:isbn", isbn);
    }
    for subject in &book.subjects {
        meta_property(&mut extra, "book:tag", subject);
    }
    extra.push_str("<link rel=\"alternate\" type=\"application/atom+xml;profile=opds-catalog;kind=acquisition\" href=\"catalog.xml\" title=\"OPDS catalogue\">\n");
    let _ = writeln!(extra, "<script type=\"application/ld+json\">\n{}\n</script>", script_json(&json_ld(book)));
    let mut out = String::new();
    head(&mut out, &book.title, book.description.as_deref(), &extra, &style);
    out.push_str("<header class=\"site\"><a href=\"../index.html\">All books</a></header>\n<main>\n");
    out.push_str("<article class=\"book\">\n");
    if let Some(cover) = &book.cover {
        out.push_str("<div class=\"cover\"><img src=\"");
        escape_href(&mut out, &cover.file);
        let _ = writeln!(out, "\" alt=\"Cover of {}\"></div>", escaped(&book.title));
    }
    let language = in_language(book);
    let _ = writeln!(out, "<div class=\"about\">\n<h1{language}>{}</h1>", escaped(&book.title));
    if let Some(subtitle) = &book.subtitle {
        let _ = writeln!(out, "<p class=\"subtitle\"{language}>{}</p>", escaped(subtitle));
    }
    if !book.authors.is_empty() {
        let _ = writeln!(out, "<p class=\"authors\">By <span{language}>{}</span></p>", escaped(&names(&book.authors)));
    }
    if let Some(description) = &book.description {
        let _ = writeln!(out, "<p class=\"description\"{language}>{}</p>", escaped(description));
    }
    out.push_str("<dl class=\"facts\">\n");
    let subjects = (!book.subjects.is_empty()).then(|| book.subjects.join(", "));
    // The book's own words are marked with its language; the tag and numbers are not words.
    let facts = [
        ("Language", Some(&book.language), ""),
        ("Publisher", book.publisher.as_ref(), language.as_str()),
        ("Date", book.date.as_ref(), ""),
        ("ISBN", book.isbn.as_ref(), ""),
        ("Rights", book.rights.as_ref(), language.as_str()),
        ("Subjects", subjects.as_ref(), language.as_str()),
    ];
    for (label, value, language) in facts {
        if let Some(value) = value {
            let _ = writeln!(out, "<dt>{label}</dt><dd{language}>{}</dd>", escaped(value));
        }
    }
    out.push_str("</dl>\n</div>\n</article>\n<section aria-labelledby=\"downloads\">\n");
    out.push_str("<h2 id=\"downloads\">Download</h2>\n<ul class=\"downloads\">\n");
    for file in &book.files {
        out.push_str("<li><a class=\"file\" href=\"");
        escape_href(&mut out, &file.file);
        let _ = write!(out, "\" type=\"{}\" download>", file.media_type);
        let _ = writeln!(out, "{}</a> <span class=\"size\">({})</span>", format_name(file), human_size(file.bytes));
        let _ = writeln!(out, "<p class=\"for\">{}</p>", reader_note(file));
        let _ = writeln!(out, "<p class=\"sum\">SHA-256: <code>{}</code></p></li>", file.sha256);
    }
    out.push_str("</ul>\n<p>Checksums of every file: <a href=\"SHA256SUMS\">SHA256SUMS</a> (check with <code>sha256sum -c SHA256SUMS</code>).</p>\n");
    out.push_str("<p>Reading apps that speak OPDS (KOReader, Thorium and others) can add the book from its <a href=\"catalog.xml\">catalogue feed</a>.</p>\n");
    out.push_str("</section>\n</main>\n");
    footer(&mut out);
    out
}

fn footer(out: &mut String) {
    out.push_str("<footer><p>Made with folio.</p></footer>\n</body>\n</html>\n");
}

/// A shelf page: every book, in one order, with links to the other orders.
pub fn shelf(books: &[Manifest], order: Order) -> String {
    let mut extra = String::new();
    extra.push_str("<link rel=\"alternate\" type=\"application/atom+xml;profile=opds-catalog;kind=navigation\" href=\"catalog.xml\" title=\"OPDS catalogue\">\n");
    let mut out = String::new();
    let style = format!(":root{{--face:{FALLBACK_FACES}}}\n");
    head(&mut out, "Books", None, &extra, &style);
    out.push_str("<main>\n<h1>Books</h1>\n<nav class=\"order\" aria-label=\"Sort order\"><ul>\n");
    for other in Order::ALL {
        let current = if other == order { " aria-current=\"page\"" } else { "" };
        let _ = writeln!(out, "<li><a href=\"{}\"{current}>By {}</a></li>", other.page(), other.label());
    }
    out.push_str("</ul></nav>\n<ul class=\"shelf\">\n");
    for book in books {
        let folder = format!("{}/", book.slug);
        let _ = write!(out, "<li{}><a href=\"", in_language(book));
        escape_href(&mut out, &folder);
        out.push_str("\">");
        if let Some(thumbnail) = &book.thumbnail {
            out.push_str("<img src=\"");
            escape_href(&mut out, &format!("{folder}{}", thumbnail.file));
            out.push_str("\" alt=\"\">");
        }
        let _ = writeln!(out, "{}</a>", escaped(&book.title));
        let byline = [Some(names(&book.authors)), book.date.clone()].into_iter().flatten().filter(|s| !s.is_empty());
        let _ = writeln!(out, "<p class=\"meta\">{}</p></li>", escaped(&byline.collect::<Vec<_>>().join(" · ")));
    }
    out.push_str("</ul>\n<p>Reading apps that speak OPDS (KOReader, Thorium and others) can browse the <a href=\"catalog.xml\">catalogue feed</a>.</p>\n</main>\n");
    footer(&mut out);
    out
}
