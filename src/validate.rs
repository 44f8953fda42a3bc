//! Stage 6, validate: folio's own structural check of the package it is about to write, without Java.
//!
//! Every XML file must be well-formed (only XML's five named entities), ids unique per document,
//! and every internal `href`/`src` must name a file of the package and, with a fragment, an id in
//! it. Passing here is folio's promise; a failure is a bug in folio, reported against the chapter
//! it came from rather than written out.

use std::collections::{HashMap, HashSet};

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use serde::{Deserialize, Serialize};

use crate::package::Epub;

/// One problem in the package: the file inside the EPUB and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Path inside the zip.
    pub file: String,
    /// What is wrong.
    pub message: String,
}

/// What folio's check learned about one XML document: its ids and the internal links it holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    /// Every id, sorted (a sorted list reads back from the cache faster than a hash set).
    pub ids: Vec<String>,
    /// `(href as written, resolved path inside the zip, fragment)` for every internal link.
    pub links: Vec<(String, String, Option<String>)>,
}

impl Document {
    /// True when the document has an element with this id.
    pub fn has_id(&self, id: &str) -> bool {
        self.ids.binary_search_by(|probe| probe.as_str().cmp(id)).is_ok()
    }
}

/// Checks a whole package whose files are all at hand (tests use it; `build` checks as it goes).
pub fn check(epub: &Epub) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut documents = Vec::new();
    for (path, _) in &epub.files {
        if !is_xml(path) {
            continue;
        }
        let data = epub.read(path).expect("listed file");
        match std::str::from_utf8(&data).map_err(|_| "not UTF-8".to_string()).and_then(|text| document(path, text)) {
            Ok(d) => documents.push((path.clone(), d)),
            Err(message) => problems.push(Problem { file: path.clone(), message }),
        }
    }
    let paths: HashSet<&str> = epub.files.iter().map(|(p, _)| p.as_str()).collect();
    problems.extend(links(documents.iter().map(|(p, d)| (p.as_str(), d)), &paths));
    problems.sort_by(|a, b| (&a.file, &a.message).cmp(&(&b.file, &b.message)));
    problems
}

/// True for the files folio checks as XML.
pub fn is_xml(path: &str) -> bool {
    [".xhtml", ".opf", ".ncx", ".xml"].iter().any(|e| path.ends_with(e))
}

/// Checks that every internal link of the XHTML documents names a file of the package and an id in it.
pub fn links<'a>(documents: impl Iterator<Item = (&'a str, &'a Document)>, paths: &HashSet<&str>) -> Vec<Problem> {
    let documents: HashMap<&str, &Document> = documents.collect();
    let mut problems = Vec::new();
    for (path, d) in &documents {
        if !path.ends_with(".xhtml") {
            continue;
        }
        for (href, target, fragment) in &d.links {
            let exists = paths.contains(target.as_str());
            let fragment_ok = match (fragment, documents.get(target.as_str())) {
                (None, _) => true,
                (Some(f), Some(t)) => t.has_id(f),
                (Some(_), None) => false,
            };
            if !exists || !fragment_ok {
                problems.push(Problem {
                    file: path.to_string(),
                    message: format!("link '{href}' has no target in the package"),
                });
            }
        }
    }
    problems
}

/// Checks that `xml` is a well-formed document with unique ids and only XML's own entities.
pub fn well_formed(xml: &str) -> Result<(), String> {
    document("document.xhtml", xml).map(|_| ())
}

/// Parses one document at `path` inside the zip: well-formed, ids unique, only XML's five entities.
pub fn document(path: &str, text: &str) -> Result<Document, String> {
    if let Some(i) = text.find(crate::text::is_forbidden_in_xml) {
        return Err(format!(
            "character U+{:04X} at byte {i} is not allowed in XML",
            text[i..].chars().next().map_or(0, u32::from)
        ));
    }
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut parsed = Document::default();
    let mut ids = HashSet::new();
    let mut depth = 0usize;
    let mut roots = 0usize;
    loop {
        let event =
            reader.read_event().map_err(|e| format!("not well-formed XML at byte {}: {e}", reader.error_position()))?;
        match event {
            Event::Start(e) => {
                if depth == 0 {
                    roots += 1;
                }
                depth += 1;
                element(&e, path, &mut parsed, &mut ids)?;
            }
            Event::Empty(e) => {
                if depth == 0 {
                    roots += 1;
                }
                element(&e, path, &mut parsed, &mut ids)?;
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::GeneralRef(r) => {
                if !r.is_char_ref() && !matches!(r.as_ref(), "amp" | "lt" | "gt" | "quot" | "apos") {
                    return Err(format!("undefined entity '&{};'", r.as_ref()));
                }
                r.resolve_char_ref().map_err(|e| format!("bad character reference: {e}"))?;
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if depth != 0 || roots != 1 {
        return Err("not well-formed XML: unclosed elements or not exactly one root".into());
    }
    parsed.ids = ids.into_iter().collect();
    parsed.ids.sort_unstable();
    Ok(parsed)
}

fn element(e: &BytesStart<'_>, document: &str, parsed: &mut Document, ids: &mut HashSet<String>) -> Result<(), String> {
    let name = e.name().as_ref().to_string();
    for attr in e.attributes() {
        let attr = attr.map_err(|err| format!("bad attribute on <{name}>: {err}"))?;
        let value = attr
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|err| format!("bad attribute value on <{name}>: {err}"))?;
        match attr.key.as_ref() {
            "id" if !ids.insert(value.to_string()) => {
                return Err(format!("duplicate id '{value}'"));
            }
            "href" | "src" | "xlink:href" if !matches!(name.as_str(), "item" | "rootfile") => {
                if let Some(link) = internal_link(document, &value) {
                    parsed.links.push(link);
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Resolves a relative href against its document; `None` for external URLs.
fn internal_link(document: &str, href: &str) -> Option<(String, String, Option<String>)> {
    if crate::text::has_scheme(href) || href.starts_with("//") {
        return None;
    }
    let (path, fragment) = match href.split_once('#') {
        Some((p, f)) => (p, Some(crate::outline::percent_decode(f))),
        None => (href, None),
    };
    if path.is_empty() {
        return Some((href.to_string(), document.to_string(), fragment));
    }
    let dir = document.rsplit_once('/').map_or("", |(d, _)| d);
    let mut parts: Vec<&str> = dir.split('/').filter(|s| !s.is_empty()).collect();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    let target = crate::outline::percent_decode(&parts.join("/"));
    Some((href.to_string(), target, fragment))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epub(files: &[(&str, &str)]) -> Epub {
        Epub {
            files: files
                .iter()
                .map(|(p, d)| (p.to_string(), crate::package::Entry::Plain(d.as_bytes().to_vec())))
                .collect(),
            modified: 0,
        }
    }

    #[test]
    fn finds_ill_formed_and_broken_links() {
        let e = epub(&[
            ("EPUB/text/a.xhtml", "<html><body><p id=\"x\">&nbsp;</p></body></html>"),
            (
                "EPUB/text/b.xhtml",
                "<html><body><a href=\"a.xhtml#y\">l</a><img src=\"../images/none.png\"/><p id=\"d\"/><p id=\"d\"/></body></html>",
            ),
            ("EPUB/text/c.xhtml", "<html><body><p></body></html>"),
        ]);
        let problems: Vec<String> = check(&e).into_iter().map(|p| format!("{}: {}", p.file, p.message)).collect();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].starts_with("EPUB/text/a.xhtml: undefined entity '&nbsp;'"));
        assert!(problems[1].starts_with("EPUB/text/b.xhtml: duplicate id 'd'"));
        assert!(problems[2].starts_with("EPUB/text/c.xhtml: not well-formed XML"));
    }

    #[test]
    fn resolves_links_between_files() {
        let e = epub(&[
            ("EPUB/text/a.xhtml", "<html><body><p id=\"x\">t</p><a href=\"#x\">s</a></body></html>"),
            (
                "EPUB/text/b.xhtml",
                "<html><body><a href=\"a.xhtml#x\">l</a><a href=\"a.xhtml#nope\">m</a><a href=\"https://e.org/#q\">w</a></body></html>",
            ),
        ]);
        let problems = check(&e);
        assert_eq!(
            problems,
            [Problem {
                file: "EPUB/text/b.xhtml".into(),
                message: "link 'a.xhtml#nope' has no target in the package".into()
            }]
        );
    }
}
