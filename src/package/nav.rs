//! Navigation: one tree of entries written twice, as the EPUB 3 `nav.xhtml` (with landmarks)
//! and as the EPUB 2 `toc.ncx` that older readers (and Kindle's converter) still use.

use std::fmt::Write as _;

use crate::text::{escape, escape_href};

/// One entry of the table of contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NavPoint {
    /// Section number shown before the label (`2.1.`), for numbered chapters.
    pub number: Option<String>,
    /// Label shown.
    pub label: String,
    /// Target, relative to the package root (`text/c001-x.xhtml#id`).
    pub href: String,
    /// Nested entries.
    pub children: Vec<NavPoint>,
}

/// A landmark: an `epub:type` and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Landmark {
    /// `cover`, `titlepage`, `toc`, `bodymatter`, `bibliography`.
    pub kind: &'static str,
    /// Label shown.
    pub label: String,
    /// Target, relative to the package root.
    pub href: String,
}

/// One entry of the table of contents in reading order, before it is nested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlatEntry {
    /// 0 at the top.
    pub depth: usize,
    /// Section number, for numbered chapters.
    pub number: Option<String>,
    /// Label shown.
    pub label: String,
    /// Target, relative to the package root.
    pub href: String,
}

/// Builds a tree from entries in reading order.
pub fn tree(flat: Vec<FlatEntry>) -> Vec<NavPoint> {
    let mut roots: Vec<NavPoint> = Vec::new();
    for FlatEntry { depth, number, label, href } in flat {
        let mut siblings = &mut roots;
        // Descend along the last entries; a depth jump deeper than one level attaches to the deepest available.
        for _ in 0..depth {
            if siblings.is_empty() {
                break;
            }
            siblings = &mut siblings.last_mut().expect("not empty").children;
        }
        siblings.push(NavPoint { number, label, href, children: Vec::new() });
    }
    roots
}

fn depth_of(points: &[NavPoint]) -> usize {
    points.iter().map(|p| 1 + depth_of(&p.children)).max().unwrap_or(0)
}

/// The body of `nav.xhtml` (it sits in `text/`, so hrefs step up one folder).
pub fn nav_body(points: &[NavPoint], landmarks: &[Landmark], contents: &str, landmarks_label: &str) -> String {
    let mut out = String::from(
        "<nav epub:type=\"toc\" role=\"doc-toc\" id=\"toc\" aria-labelledby=\"toc-title\">\n<h1 id=\"toc-title\">",
    );
    escape(&mut out, contents);
    out.push_str("</h1>\n");
    write_list(&mut out, points, true);
    out.push_str("</nav>\n<nav epub:type=\"landmarks\" id=\"landmarks\" hidden=\"hidden\" aria-label=\"");
    escape(&mut out, landmarks_label);
    out.push_str("\">\n<ol>\n");
    for l in landmarks {
        let _ = write!(out, "<li><a epub:type=\"{}\" href=\"", l.kind);
        escape_href(&mut out, &relative_to_text(&l.href));
        out.push_str("\">");
        escape(&mut out, &l.label);
        out.push_str("</a></li>\n");
    }
    out.push_str("</ol>\n</nav>\n");
    out
}

fn relative_to_text(href: &str) -> String {
    match href.strip_prefix("text/") {
        Some(rest) => rest.to_string(),
        None => format!("../{href}"),
    }
}

fn write_list(out: &mut String, points: &[NavPoint], top: bool) {
    out.push_str(if top { "<ol class=\"toc\">\n" } else { "<ol>\n" });
    for p in points {
        out.push_str("<li><a href=\"");
        escape_href(out, &relative_to_text(&p.href));
        out.push_str("\">");
        if let Some(number) = &p.number {
            let _ = write!(out, "<span class=\"toc-number\">{number}</span> ");
        }
        escape(out, &p.label);
        out.push_str("</a>");
        if !p.children.is_empty() {
            out.push('\n');
            write_list(out, &p.children, false);
        }
        out.push_str("</li>\n");
    }
    out.push_str("</ol>\n");
}

/// The whole `toc.ncx`.
pub fn ncx(points: &[NavPoint], identifier: &str, title: &str, language: &str) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ncx xmlns=\"http://www.daisy.org/z3986/2005/ncx/\" version=\"2005-1\" xml:lang=\"",
    );
    escape(&mut out, language);
    out.push_str("\">\n<head>\n<meta name=\"dtb:uid\" content=\"");
    escape(&mut out, identifier);
    let _ = write!(
        out,
        "\"/>\n<meta name=\"dtb:depth\" content=\"{}\"/>\n<meta name=\"dtb:totalPageCount\" content=\"0\"/>\n<meta name=\"dtb:maxPageNumber\" content=\"0\"/>\n</head>\n<docTitle><text>",
        depth_of(points).max(1)
    );
    escape(&mut out, title);
    out.push_str("</text></docTitle>\n<navMap>\n");
    let mut order = 0;
    write_points(&mut out, points, &mut order);
    out.push_str("</navMap>\n</ncx>\n");
    out
}

fn write_points(out: &mut String, points: &[NavPoint], order: &mut usize) {
    for p in points {
        *order += 1;
        let _ = write!(out, "<navPoint id=\"navpoint-{0}\" playOrder=\"{0}\"><navLabel><text>", order);
        if let Some(number) = &p.number {
            let _ = write!(out, "{number} ");
        }
        escape(out, &p.label);
        out.push_str("</text></navLabel><content src=\"");
        escape_href(out, &p.href);
        out.push_str("\"/>\n");
        write_points(out, &p.children, order);
        out.push_str("</navPoint>\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_nested_tree_and_both_documents() {
        let entry = |depth, number: Option<&str>, label: &str, href: &str| FlatEntry {
            depth,
            number: number.map(str::to_string),
            label: label.into(),
            href: href.into(),
        };
        let points = tree(vec![
            entry(0, None, "One", "text/c001.xhtml"),
            entry(1, None, "A", "text/c001.xhtml#a"),
            entry(0, Some("1."), "Two & more", "text/c002.xhtml"),
        ]);
        assert_eq!(points.len(), 2);
        assert_eq!(points[0].children[0].label, "A");
        let nav = nav_body(&points, &[], "Contents", "Landmarks");
        assert!(
            nav.contains(
                "<li><a href=\"c001.xhtml\">One</a>\n<ol>\n<li><a href=\"c001.xhtml#a\">A</a></li>\n</ol>\n</li>"
            ),
            "{nav}"
        );
        let ncx = ncx(&points, "urn:x", "T", "en");
        assert!(ncx.contains("<meta name=\"dtb:depth\" content=\"2\"/>"));
        assert!(ncx.contains("playOrder=\"3\"><navLabel><text>1. Two &amp; more</text>"), "{ncx}");
        assert!(nav.contains("<span class=\"toc-number\">1.</span> Two &amp; more</a>"), "{nav}");
    }
}
