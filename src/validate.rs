//! Stage 6, validate: folio's own structural check of the package it is about to write, without Java.
//!
//! Every XML file must be well-formed (only XML's five named entities), ids unique per document,
//! and every internal `href`/`src` must name a file of the package and, with a fragment, an id in
//! it. Passing here is folio's promise; a failure is a bug in folio, reported against the chapter
//! it came from rather than written out.

use std::collections::{HashMap, HashSet};

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use rayon::prelude::*;

use crate::document::{Document, Epub, IdList, Link};
use crate::link;
use crate::text::CharSet;

/// One problem in the package: the file inside the EPUB and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Path inside the zip.
    pub file: String,
    /// What is wrong.
    pub message: String,
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
    let documents: Vec<(&str, &Document)> = documents.collect();
    let index: HashMap<&str, usize> = documents.iter().enumerate().map(|(i, (path, _))| (*path, i)).collect();
    let has_target = |i: usize, path: &str, link: &Link<'_>| {
        // Most links (notes and their backlinks) stay inside their document: no lookup for those.
        let target = if link.target == path { Some(i) } else { index.get(link.target).copied() };
        match (link.fragment, target) {
            (None, None) => paths.contains(link.target),
            (None, Some(_)) => true,
            (Some(fragment), Some(t)) => documents[t].1.ids.contains(fragment),
            (Some(_), None) => false,
        }
    };
    let has_target = &has_target;
    // The contents alone link to every section of the book: the documents are checked in parallel.
    documents
        .par_iter()
        .enumerate()
        .filter(|(_, (path, _))| path.ends_with(".xhtml"))
        .flat_map_iter(|(i, &(path, d))| {
            d.links().filter(move |link| !has_target(i, path, link)).map(move |link| Problem {
                file: path.to_string(),
                message: format!("link '{}' has no target in the package", link.href),
            })
        })
        .collect()
}

/// Checks that `xml` is a well-formed document with unique ids and only XML's own entities.
pub fn well_formed(xml: &str) -> Result<(), String> {
    parse("document.xhtml", xml, None).map(|_| ())
}

/// Parses one document at `path` inside the zip: well-formed, ids unique, only XML's five entities,
/// and every link to a fragment of the document itself names one of its ids.
pub fn document(path: &str, text: &str) -> Result<Document, String> {
    checked(path, text, None)
}

/// [`document`], and also collects the characters of its text into [`Document::characters`].
pub fn document_and_characters(path: &str, text: &str) -> Result<Document, String> {
    let mut characters = CharSet::default();
    let mut parsed = checked(path, text, Some(&mut characters))?;
    parsed.characters = characters.into_string();
    Ok(parsed)
}

fn checked(path: &str, text: &str, characters: Option<&mut CharSet>) -> Result<Document, String> {
    let (parsed, local) = parse(path, text, characters)?;
    match local.iter().find(|(_, fragment)| !parsed.ids.contains(fragment)) {
        Some((href, _)) => Err(format!("link '{href}' has no target in the package")),
        None => Ok(parsed),
    }
}

/// A well-formed document's ids and links, and its links within itself as `(href, fragment)`; with
/// `characters`, the characters of its text go there.
fn parse(
    path: &str,
    text: &str,
    mut characters: Option<&mut CharSet>,
) -> Result<(Document, Vec<(String, String)>), String> {
    if let Some(i) = crate::text::first_forbidden(text) {
        return Err(format!(
            "character U+{:04X} at byte {i} is not allowed in XML",
            text[i..].chars().next().map_or(0, u32::from)
        ));
    }
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut parsed = Document::default();
    let mut ids = HashSet::new();
    // Links within the document are checked when it is finished (and cached), not on every build.
    let mut local = Vec::new();
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
                element(&e, path, &mut parsed, &mut ids, &mut local, characters.as_deref_mut())?;
            }
            Event::Empty(e) => {
                if depth == 0 {
                    roots += 1;
                }
                element(&e, path, &mut parsed, &mut ids, &mut local, characters.as_deref_mut())?;
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Text(t) => {
                if let Some(set) = characters.as_deref_mut() {
                    set.insert_str(&t.into_inner());
                }
            }
            Event::CData(t) => {
                if let Some(set) = characters.as_deref_mut() {
                    set.insert_str(&t.into_inner());
                }
            }
            Event::GeneralRef(r) => {
                let named = match r.as_ref() {
                    "amp" => Some('&'),
                    "lt" => Some('<'),
                    "gt" => Some('>'),
                    "quot" => Some('"'),
                    "apos" => Some('\''),
                    _ if r.is_char_ref() => None,
                    other => return Err(format!("undefined entity '&{other};'")),
                };
                let resolved = r.resolve_char_ref().map_err(|e| format!("bad character reference: {e}"))?;
                if let (Some(set), Some(c)) = (characters.as_deref_mut(), named.or(resolved)) {
                    set.insert(c);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if depth != 0 || roots != 1 {
        return Err("not well-formed XML: unclosed elements or not exactly one root".into());
    }
    parsed.ids = IdList::new(ids);
    Ok((parsed, local))
}

fn element(
    e: &BytesStart<'_>,
    document: &str,
    parsed: &mut Document,
    ids: &mut HashSet<String>,
    local: &mut Vec<(String, String)>,
    mut characters: Option<&mut CharSet>,
) -> Result<(), String> {
    let qname = e.name();
    let name = qname.as_ref();
    for attr in e.attributes() {
        let attr = attr.map_err(|err| format!("bad attribute on <{name}>: {err}"))?;
        let value = attr
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|err| format!("bad attribute value on <{name}>: {err}"))?;
        match attr.key.as_ref() {
            "id" if !ids.insert(value.to_string()) => {
                return Err(format!("duplicate id '{value}'"));
            }
            "href" | "src" | "xlink:href" | "altimg" if !matches!(name, "item" | "rootfile") => {
                match internal_link(document, &value) {
                    Some((target, Some(fragment))) if target == document => local.push((value.to_string(), fragment)),
                    Some((target, fragment)) => parsed.push_link(&value, &target, fragment.as_deref()),
                    None => {}
                }
            }
            // A reader shows an image's alt text when it cannot show the image.
            "alt" => {
                if let Some(set) = characters.as_deref_mut() {
                    set.insert_str(&value);
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Resolves a relative href against its document to a path and a fragment; `None` for external URLs.
fn internal_link(document: &str, href: &str) -> Option<(String, Option<String>)> {
    if link::is_external(href) {
        return None;
    }
    let (path, fragment) = link::split(href);
    let fragment = fragment.map(link::percent_decode);
    if path.is_empty() {
        return Some((document.to_string(), fragment));
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
    let target = link::percent_decode(&parts.join("/"));
    Some((target, fragment))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epub(files: &[(&str, &str)]) -> Epub {
        Epub {
            files: files
                .iter()
                .map(|(p, d)| (p.to_string(), crate::document::Entry::Plain(d.as_bytes().to_vec())))
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

    #[test]
    fn ids_and_links_read_back_in_order() {
        let d = document(
            "EPUB/text/a.xhtml",
            "<html><body><p id=\"z\"/><p id=\"a\"/><a href=\"#z\">e</a><a href=\"b.xhtml\">b</a><a href=\"../x/c.xhtml#f%20g\">c</a></body></html>",
        )
        .unwrap();
        assert_eq!(d.ids.iter().collect::<Vec<_>>(), ["a", "z"]);
        assert!(d.ids.contains("a") && d.ids.contains("z") && !d.ids.contains("b") && !d.ids.contains(""));
        // `#z` is checked at once and not kept; `a.xhtml#` names no id of this document.
        let links: Vec<(&str, &str, Option<&str>)> = d.links().map(|l| (l.href, l.target, l.fragment)).collect();
        assert_eq!(
            links,
            [("b.xhtml", "EPUB/text/b.xhtml", None), ("../x/c.xhtml#f%20g", "EPUB/x/c.xhtml", Some("f g")),]
        );
        assert_eq!(
            document("EPUB/text/a.xhtml", "<html><body><a href=\"a.xhtml#\">e</a></body></html>"),
            Err("link 'a.xhtml#' has no target in the package".to_string())
        );
    }

    #[test]
    fn id_lists_are_sorted_sets() {
        let list = IdList::new(["b", "a", "ü", "b", "aa"]);
        assert_eq!(list.iter().collect::<Vec<_>>(), ["a", "aa", "b", "ü"]);
        for id in ["a", "aa", "b", "ü"] {
            assert!(list.contains(id), "{id}");
        }
        assert!(!list.contains("ab") && !list.contains("") && !IdList::default().contains("a"));
    }
}
