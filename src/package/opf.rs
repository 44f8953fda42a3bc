//! The package document (`package.opf`): metadata, manifest, spine.

use std::fmt::Write as _;

use crate::config::BookConfig;
use crate::text::{escape, escape_href};

/// One manifest item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Manifest id.
    pub id: String,
    /// Path relative to the package root.
    pub href: String,
    /// Media type.
    pub media_type: &'static str,
    /// Manifest properties (`nav`, `cover-image`, `svg`, `mathml`).
    pub properties: Vec<&'static str>,
    /// Position in the spine, if it is read; `linear="no"` when the flag is false.
    pub spine: Option<bool>,
}

/// What the accessibility metadata is derived from.
#[derive(Debug, Clone, Copy, Default)]
pub struct ContentFacts {
    /// The book has images.
    pub has_images: bool,
    /// Every image has a non-empty alt text.
    pub all_images_described: bool,
    /// The book has MathML.
    pub has_mathml: bool,
    /// folio's accessibility checks found nothing (alt text, heading levels, table headers).
    pub passes_accessibility_checks: bool,
}

/// An EPUB 2 `<guide>` reference, which some readers (Kindle) still read besides the landmarks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The OPF 2 guide type: `toc`, `text`, `title-page`, `bibliography`.
    pub kind: &'static str,
    /// Label.
    pub title: String,
    /// Target, relative to the package root.
    pub href: String,
}

/// What a target changes in the package document; the default is the standard EPUB 3 package.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Only the main `dc:title`, without the subtitle's.
    pub single_title: bool,
    /// `<guide>` references; none writes no guide.
    pub guide: Vec<Reference>,
}

/// `YYYY-MM-DDThh:mm:ssZ` for a Unix time (RFC 3339 in UTC, whole seconds).
pub fn w3c_datetime(unix_seconds: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(unix_seconds).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    // Years past 9999 have no RFC 3339 form; book.toml's dates cannot reach them.
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

fn element(out: &mut String, name: &str, attrs: &str, text: &str) {
    let _ = write!(out, "<{name}{attrs}>");
    escape(out, text);
    let _ = writeln!(out, "</{name}>");
}

/// Writes the OPF.
pub fn package_document(
    config: &BookConfig,
    identifier: &str,
    modified: i64,
    items: &[Item],
    facts: ContentFacts,
    options: &Options,
) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = write!(
        out,
        "<package xmlns=\"http://www.idpf.org/2007/opf\" version=\"3.0\" unique-identifier=\"pub-id\" xml:lang=\""
    );
    escape(&mut out, &config.language);
    out.push('"');
    if config.right_to_left {
        out.push_str(" dir=\"rtl\"");
    }
    out.push_str(">\n<metadata xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\n");
    element(&mut out, "dc:identifier", " id=\"pub-id\"", identifier);
    if let Some(isbn) = &config.isbn {
        let urn = format!("urn:isbn:{isbn}");
        if urn != identifier {
            element(&mut out, "dc:identifier", " id=\"isbn\"", &urn);
        }
    }
    element(&mut out, "dc:title", " id=\"title\"", &config.title);
    out.push_str("<meta refines=\"#title\" property=\"title-type\">main</meta>\n");
    if let Some(subtitle) = config.subtitle.as_ref().filter(|_| !options.single_title) {
        element(&mut out, "dc:title", " id=\"subtitle\"", subtitle);
        out.push_str("<meta refines=\"#subtitle\" property=\"title-type\">subtitle</meta>\n");
    }
    let people = config
        .authors
        .iter()
        .map(|a| (a.as_str(), "aut"))
        .chain(config.contributors.iter().map(|c| (c.name.as_str(), c.role.as_str())));
    for (i, (name, role)) in people.enumerate() {
        let id = format!("creator{}", i + 1);
        let tag = if role == "aut" { "dc:creator" } else { "dc:contributor" };
        element(&mut out, tag, &format!(" id=\"{id}\""), name);
        let _ = write!(out, "<meta refines=\"#{id}\" property=\"role\" scheme=\"marc:relators\">");
        escape(&mut out, role);
        out.push_str("</meta>\n");
    }
    element(&mut out, "dc:language", "", &config.language);
    if let Some(p) = &config.publisher {
        element(&mut out, "dc:publisher", "", p);
    }
    if let Some(d) = config.date {
        element(&mut out, "dc:date", "", &d.to_w3cdtf());
    }
    if let Some(d) = &config.description {
        element(&mut out, "dc:description", "", d);
    }
    if let Some(r) = &config.rights {
        element(&mut out, "dc:rights", "", r);
    }
    for s in &config.subjects {
        element(&mut out, "dc:subject", "", s);
    }
    if let Some(series) = &config.series {
        element(&mut out, "meta", " property=\"belongs-to-collection\" id=\"series\"", series);
        out.push_str("<meta refines=\"#series\" property=\"collection-type\">series</meta>\n");
        if let Some(index) = config.series_index {
            let _ = writeln!(out, "<meta refines=\"#series\" property=\"group-position\">{index}</meta>");
        }
    }
    let _ = writeln!(out, "<meta property=\"dcterms:modified\">{}</meta>", w3c_datetime(modified));
    accessibility(&mut out, facts);
    // The software is named as the generator, not credited as a contributor to the book.
    let _ = writeln!(out, "<meta name=\"generator\" content=\"folio {}\"/>", env!("CARGO_PKG_VERSION"));
    if let Some(cover) = items.iter().find(|i| i.properties.contains(&"cover-image")) {
        // EPUB 2 readers and Kindle find the cover through this.
        let _ = writeln!(out, "<meta name=\"cover\" content=\"{}\"/>", cover.id);
    }
    out.push_str("</metadata>\n<manifest>\n");
    for item in items {
        let _ = write!(out, "<item id=\"{}\" href=\"", item.id);
        escape_href(&mut out, &item.href);
        let _ = write!(out, "\" media-type=\"{}\"", item.media_type);
        if !item.properties.is_empty() {
            let _ = write!(out, " properties=\"{}\"", item.properties.join(" "));
        }
        out.push_str("/>\n");
    }
    out.push_str("</manifest>\n<spine toc=\"ncx\"");
    if config.right_to_left {
        out.push_str(" page-progression-direction=\"rtl\"");
    }
    out.push_str(">\n");
    for item in items {
        match item.spine {
            Some(true) => {
                let _ = writeln!(out, "<itemref idref=\"{}\"/>", item.id);
            }
            Some(false) => {
                let _ = writeln!(out, "<itemref idref=\"{}\" linear=\"no\"/>", item.id);
            }
            None => {}
        }
    }
    out.push_str("</spine>\n");
    if !options.guide.is_empty() {
        out.push_str("<guide>\n");
        for reference in &options.guide {
            let _ = write!(out, "<reference type=\"{}\" title=\"", reference.kind);
            escape(&mut out, &reference.title);
            out.push_str("\" href=\"");
            escape_href(&mut out, &reference.href);
            out.push_str("\"/>\n");
        }
        out.push_str("</guide>\n");
    }
    out.push_str("</package>\n");
    out
}

/// Schema.org accessibility metadata, derived from what the book contains.
fn accessibility(out: &mut String, facts: ContentFacts) {
    let mut meta = |property: &str, value: &str| {
        let _ = writeln!(out, "<meta property=\"schema:{property}\">{value}</meta>");
    };
    meta("accessMode", "textual");
    if facts.has_images {
        meta("accessMode", "visual");
    }
    if !facts.has_images || facts.all_images_described {
        meta("accessModeSufficient", "textual");
    }
    if facts.has_images {
        meta("accessModeSufficient", "textual,visual");
    }
    for feature in ["structuralNavigation", "tableOfContents", "readingOrder"] {
        meta("accessibilityFeature", feature);
    }
    if facts.has_images && facts.all_images_described {
        meta("accessibilityFeature", "alternativeText");
    }
    if facts.has_mathml {
        meta("accessibilityFeature", "MathML");
    }
    meta("accessibilityHazard", "none");
    let summary = match (facts.has_images, facts.all_images_described) {
        (false, _) => "Text only, with headings, a table of contents and notes linked both ways.",
        (true, true) => {
            "Text with headings, a table of contents and notes linked both ways; every image has a text description."
        }
        (true, false) => {
            "Text with headings, a table of contents and notes linked both ways; some images lack a text description."
        }
    };
    meta("accessibilitySummary", summary);
    // Claimed only when folio's checks pass; `a11y:certifiedBy` is for a human evaluator to add.
    if facts.passes_accessibility_checks {
        let _ = writeln!(out, "<meta property=\"dcterms:conformsTo\">{WCAG_CONFORMANCE}</meta>");
    }
}

/// The conformance statement of EPUB Accessibility 1.1 for the level folio checks for.
pub const WCAG_CONFORMANCE: &str = "EPUB Accessibility 1.1 - WCAG 2.1 Level AA";

#[cfg(test)]
mod tests {
    #[test]
    fn modified_times_are_rfc_3339_in_utc() {
        assert_eq!(super::w3c_datetime(crate::package::DEFAULT_EPOCH), "1980-01-01T00:00:00Z");
        assert_eq!(super::w3c_datetime(1_764_288_000), "2025-11-28T00:00:00Z");
        assert_eq!(super::w3c_datetime(1_764_288_000 + 3_723), "2025-11-28T01:02:03Z");
    }
}
