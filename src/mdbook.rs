//! folio as an mdBook renderer: `mdbook build` runs the book's preprocessors, then hands each renderer
//! the finished book as JSON on standard input (mdBook's render context). This reads that context into
//! the reading order and the chapters' texts, which the build then takes instead of SUMMARY.md and the
//! chapter files: their directives were expanded by mdBook, and are not expanded again.
//!
//! `book.toml` is still read from the book folder (the context's `root`), so its diagnostics keep their
//! places; positions in chapters are in the text mdBook's preprocessors made.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::link::normalize_relative;
use crate::outline::{Entry, Matter, Outline, Target};

/// The book mdBook rendered: the reading order and each chapter's text by its path relative to `src`.
#[derive(Debug, Default)]
pub struct Given {
    /// The reading order, from mdBook's book items.
    pub outline: Outline,
    /// Each chapter's Markdown as mdBook's preprocessors left it.
    pub texts: HashMap<PathBuf, String>,
}

impl Given {
    /// A SUMMARY.md-like listing of the outline, for cache keys and for diagnostics that name an entry.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        for entry in &self.outline.entries {
            let indent = "  ".repeat(entry.depth);
            let _ = match &entry.target {
                Target::Chapter(path) => writeln!(out, "{indent}- [{}]({})", entry.title, path.display()),
                Target::Part => writeln!(out, "# {}", entry.title),
            };
        }
        out
    }
}

/// What folio reads of mdBook's render context.
#[derive(Debug)]
pub struct RenderContext {
    /// mdBook's version.
    pub version: String,
    /// The book folder.
    pub root: PathBuf,
    /// Where this renderer's output goes.
    pub destination: PathBuf,
    /// The book.
    pub given: Given,
}

#[derive(Deserialize)]
struct RawContext {
    version: String,
    root: PathBuf,
    book: RawBook,
    destination: PathBuf,
}

#[derive(Deserialize)]
struct RawBook {
    items: Vec<RawItem>,
}

#[derive(Deserialize)]
enum RawItem {
    Chapter(RawChapter),
    Separator,
    PartTitle(String),
}

#[derive(Deserialize)]
struct RawChapter {
    name: String,
    content: String,
    number: Option<Vec<u32>>,
    #[serde(default)]
    sub_items: Vec<RawItem>,
    path: Option<PathBuf>,
    source_path: Option<PathBuf>,
}

/// Reads a render context; the error says what is wrong with it.
pub fn read(json: &str) -> Result<RenderContext, String> {
    let raw: RawContext = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let mut reader = Reader { given: Given::default(), seen_numbered: false, in_part: false };
    reader.items(raw.book.items, 0, 0);
    Ok(RenderContext { version: raw.version, root: raw.root, destination: raw.destination, given: reader.given })
}

struct Reader {
    given: Given,
    /// Numbered chapters seen: unnumbered ones after them are suffix chapters.
    seen_numbered: bool,
    /// Chapters after a part title nest under it in the contents.
    in_part: bool,
}

impl Reader {
    /// Items `nesting` levels deep, under `drafts` draft chapters (whose sub-chapters move up a level, as
    /// in SUMMARY.md).
    fn items(&mut self, items: Vec<RawItem>, nesting: usize, drafts: usize) {
        for item in items {
            match item {
                RawItem::Separator => {}
                RawItem::PartTitle(title) => {
                    self.in_part = true;
                    self.push(title, 0, 0, Matter::Body, Target::Part);
                }
                RawItem::Chapter(chapter) => {
                    let matter = match (&chapter.number, self.seen_numbered) {
                        (Some(_), _) => Matter::Body,
                        (None, false) => Matter::Front,
                        (None, true) => Matter::Back,
                    };
                    self.seen_numbered |= chapter.number.is_some();
                    // A README is `index.md` to mdBook's renderers; its file keeps its name.
                    let path = chapter.source_path.or(chapter.path);
                    let path = path.and_then(|p| normalize_relative(Path::new(""), &p));
                    let level = nesting - drafts;
                    let draft = path.is_none();
                    if let Some(path) = path {
                        let depth = level + usize::from(self.in_part && matter == Matter::Body);
                        self.given.texts.insert(path.clone(), chapter.content);
                        self.push(chapter.name, depth, level, matter, Target::Chapter(path));
                    }
                    self.items(chapter.sub_items, nesting + 1, drafts + usize::from(draft));
                }
            }
        }
    }

    fn push(&mut self, title: String, depth: usize, nesting: usize, matter: Matter, target: Target) {
        let entry = Entry { title: title.trim().to_string(), depth, nesting, matter, target, range: 0..0 };
        self.given.outline.entries.push(entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_book_items_as_an_outline() {
        let json = r###"{"version":"0.5.4","root":"/b","destination":"/b/book/folio","config":{},
            "book":{"items":[
              {"Chapter":{"name":"Intro","content":"# Intro\n","number":null,"sub_items":[],"path":"intro.md","source_path":"intro.md","parent_names":[]}},
              {"PartTitle":"Part"},
              {"Chapter":{"name":"One","content":"# One\n","number":[1],"path":"index.md","source_path":"README.md","parent_names":[],
                "sub_items":[{"Chapter":{"name":"Draft","content":"","number":[1,1],"path":null,"source_path":null,"parent_names":[],
                  "sub_items":[{"Chapter":{"name":"Deep","content":"## Deep\n","number":[1,1,1],"sub_items":[],"path":"d.md","source_path":"d.md","parent_names":[]}}]}}]}},
              "Separator",
              {"Chapter":{"name":"End","content":"# End\n","number":null,"sub_items":[],"path":"end.md","source_path":"end.md","parent_names":[]}}
            ]}}"###;
        let context = read(json).unwrap();
        assert_eq!((context.root, context.destination), (PathBuf::from("/b"), PathBuf::from("/b/book/folio")));
        let entries: Vec<_> =
            context.given.outline.entries.iter().map(|e| (e.title.as_str(), e.depth, e.nesting, e.matter)).collect();
        assert_eq!(
            entries,
            [
                ("Intro", 0, 0, Matter::Front),
                ("Part", 0, 0, Matter::Body),
                ("One", 1, 0, Matter::Body),
                ("Deep", 2, 1, Matter::Body),
                ("End", 0, 0, Matter::Back),
            ]
        );
        assert_eq!(context.given.texts[Path::new("README.md")], "# One\n");
        assert!(read("{}").is_err());
    }
}
