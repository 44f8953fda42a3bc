//! Stage 1b, load: `SUMMARY.md` → [`Outline`], the reading order in mdBook's format.
//!
//! Prefix chapters (plain links), numbered chapters (nested lists), part titles (`# Part`
//! headings between lists), separators (`---`) and suffix chapters (plain links after the lists).
//! Draft chapters (`- [Title]()`) are skipped with a warning.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Component, Path, PathBuf};

use pulldown_cmark::{Event, HeadingLevel, Parser, Tag, TagEnd};

use crate::diagnostic::{Diagnostic, SourceText};

/// Where an entry sits in the book, for `epub:type` and landmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Matter {
    /// Plain links before the numbered chapters.
    Front,
    /// Numbered chapters and part titles.
    Body,
    /// Plain links after the numbered chapters.
    Back,
}

/// One line of the outline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Title as written in `SUMMARY.md`.
    pub title: String,
    /// Nesting level, 0 at the top.
    pub depth: usize,
    /// Front, body or back matter.
    pub matter: Matter,
    /// A chapter file, or a part title (which folio gives a page of its own).
    pub target: Target,
    /// Where the entry is written in `SUMMARY.md`.
    pub range: Range<usize>,
}

/// What an outline entry points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A Markdown file, relative to the `src` folder, normalised (no `.` or `..`).
    Chapter(PathBuf),
    /// A part title.
    Part,
}

/// The book's reading order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outline {
    /// Entries in reading order.
    pub entries: Vec<Entry>,
}

impl Outline {
    /// How many entries are chapters (the rest are part titles).
    pub fn chapter_count(&self) -> usize {
        self.entries.iter().filter(|e| matches!(e.target, Target::Chapter(_))).count()
    }
}

/// Parses `SUMMARY.md`. Returns every entry it could read and every problem found.
pub fn parse(source: &SourceText) -> (Outline, Vec<Diagnostic>) {
    let mut reader = SummaryReader { source, outline: Outline::default(), diags: Vec::new(), seen: HashMap::new() };
    reader.run();
    if reader.outline.chapter_count() == 0 && !reader.diags.iter().any(Diagnostic::is_error) {
        reader.diags.push(
            Diagnostic::error(&source.path, "SUMMARY.md lists no chapters")
                .with_hint("list chapters as `- [Title](chapter.md)`"),
        );
    }
    (reader.outline, reader.diags)
}

struct SummaryReader<'a> {
    source: &'a SourceText,
    outline: Outline,
    diags: Vec<Diagnostic>,
    seen: HashMap<PathBuf, Range<usize>>,
}

/// A link being read: its target, title text and where it is written.
struct PendingLink {
    dest: String,
    title: String,
    range: Range<usize>,
}

impl SummaryReader<'_> {
    fn run(&mut self) {
        let events: Vec<(Event<'_>, Range<usize>)> = Parser::new(&self.source.text).into_offset_iter().collect();
        let mut seen_title = false;
        let mut seen_list = false;
        // Depth of list nesting and whether the current item already has its link.
        let mut list_depth = 0usize;
        let mut item_has_link: Vec<bool> = Vec::new();
        // Links nest when an image's alt text holds one (`[![[a](b)](c)](d)`): only the outermost counts.
        let mut links: Vec<PendingLink> = Vec::new();
        let mut heading: Option<(String, Range<usize>)> = None;
        let mut draft_depths: Vec<usize> = Vec::new();
        // Numbered chapters after a part title nest under it in the table of contents.
        let mut in_part = false;
        for (event, range) in events {
            match event {
                Event::Start(Tag::Heading { .. }) => heading = Some((String::new(), range)),
                Event::End(TagEnd::Heading(level)) => {
                    let (text, range) = heading.take().expect("heading start");
                    if !seen_title && !seen_list && self.outline.entries.is_empty() {
                        seen_title = true;
                    } else if level == HeadingLevel::H1 {
                        in_part = true;
                        self.push(text.trim().to_string(), 0, Matter::Body, Target::Part, range);
                    } else {
                        self.diags
                            .push(self.source.error(range, "only `#` part titles may appear between chapter lists"));
                    }
                }
                Event::Start(Tag::List(_)) => {
                    seen_list = true;
                    list_depth += 1;
                }
                Event::End(TagEnd::List(_)) => list_depth -= 1,
                Event::Start(Tag::Item) => item_has_link.push(false),
                Event::End(TagEnd::Item) => {
                    if item_has_link.pop() == Some(false) {
                        self.diags.push(
                            self.source
                                .error(range, "expected a link to a chapter in this list item")
                                .with_hint("write it as `- [Title](chapter.md)`"),
                        );
                    }
                    draft_depths.retain(|&d| d < list_depth);
                }
                Event::Start(Tag::Link { dest_url, .. }) => {
                    links.push(PendingLink { dest: dest_url.to_string(), title: String::new(), range });
                }
                Event::End(TagEnd::Link) => {
                    let Some(PendingLink { dest, title, range }) = links.pop() else { continue };
                    if !links.is_empty() {
                        continue;
                    }
                    if list_depth > 0 {
                        match item_has_link.last_mut() {
                            Some(has) if !*has => *has = true,
                            _ => {
                                self.diags.push(self.source.error(range, "a list item may hold only one chapter link"));
                                continue;
                            }
                        }
                        // Children of a skipped draft move up one level.
                        let depth = list_depth - 1 - draft_depths.len() + usize::from(in_part);
                        if dest.trim().is_empty() {
                            self.diags.push(self.source.warning(
                                range,
                                format!("draft chapter '{}' has no file and is skipped", title.trim()),
                            ));
                            draft_depths.push(list_depth);
                            continue;
                        }
                        self.push_chapter(title, &dest, depth, Matter::Body, range);
                    } else {
                        let matter = if seen_list { Matter::Back } else { Matter::Front };
                        if dest.trim().is_empty() {
                            self.diags.push(self.source.warning(
                                range,
                                format!("draft chapter '{}' has no file and is skipped", title.trim()),
                            ));
                            continue;
                        }
                        self.push_chapter(title, &dest, 0, matter, range);
                    }
                }
                Event::Text(text) | Event::Code(text) => {
                    if let Some(l) = links.first_mut() {
                        l.title.push_str(&text);
                    } else if let Some((h, _)) = heading.as_mut() {
                        h.push_str(&text);
                    } else if !text.trim().is_empty() {
                        // One error per item is enough: the item no longer needs its own.
                        if let Some(has) = item_has_link.last_mut() {
                            *has = true;
                        }
                        self.diags.push(
                            self.source
                                .error(range, format!("unexpected text '{}' in SUMMARY.md", text.trim()))
                                .with_hint("chapters are links: `[Title](chapter.md)` or `- [Title](chapter.md)`"),
                        );
                    }
                }
                Event::Rule | Event::SoftBreak | Event::HardBreak => {}
                Event::Start(Tag::Paragraph | Tag::Emphasis | Tag::Strong)
                | Event::End(TagEnd::Paragraph | TagEnd::Emphasis | TagEnd::Strong) => {}
                Event::Html(_) | Event::InlineHtml(_) => {} // comments and the like are allowed
                Event::Start(_) => {
                    self.diags.push(self.source.error(range, "unexpected element in SUMMARY.md"));
                }
                _ => {}
            }
        }
    }

    fn push(&mut self, title: String, depth: usize, matter: Matter, target: Target, range: Range<usize>) {
        self.outline.entries.push(Entry { title, depth, matter, target, range });
    }

    fn push_chapter(&mut self, title: String, dest: &str, depth: usize, matter: Matter, range: Range<usize>) {
        let Some(path) = normalize_chapter_path(dest) else {
            self.diags.push(self.source.error(range, format!("chapter path '{dest}' leaves the src folder")));
            return;
        };
        if let Some(first) = self.seen.get(&path) {
            let first = self.source.position(first.start);
            self.diags.push(
                self.source
                    .error(
                        range,
                        format!("chapter '{}' is listed twice (first at line {})", path.display(), first.line),
                    )
                    .with_hint("a file can appear once in the reading order; remove one of the entries"),
            );
            return;
        }
        self.seen.insert(path.clone(), range.clone());
        self.push(title.trim().to_string(), depth, matter, Target::Chapter(path), range);
    }
}

/// Percent-decodes a link path and normalises it below `src`; `None` if it leaves `src`.
pub fn normalize_chapter_path(dest: &str) -> Option<PathBuf> {
    let decoded = percent_decode(dest.split(['#', '?']).next().unwrap_or(""));
    normalize_relative(Path::new(""), Path::new(&decoded))
}

/// Joins `path` onto `base` (both relative) and resolves `.` and `..`; `None` if it climbs out.
pub fn normalize_relative(base: &Path, path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in base.components().chain(path.components()) {
        match component {
            Component::Normal(c) => out.push(c),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// Decodes `%XX` escapes (invalid ones stay as written; a result that is not UTF-8 leaves `s` as it is).
pub fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8().map_or_else(|_| s.to_string(), String::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    type Line = (String, usize, Matter, Target);

    fn outline(text: &str) -> (Vec<Line>, Vec<String>) {
        let src = SourceText::new("SUMMARY.md", text.to_string());
        let (o, d) = parse(&src);
        (
            o.entries.into_iter().map(|e| (e.title, e.depth, e.matter, e.target)).collect(),
            d.iter().map(ToString::to_string).collect(),
        )
    }

    #[test]
    fn reads_mdbook_structure() {
        let (entries, diags) = outline(
            "# Summary\n\n[Intro](intro.md)\n\n# Part One\n\n- [One](one.md)\n  - [Sub](dir/sub.md)\n- [Draft]()\n  - [Child](child.md)\n\n---\n\n[Appendix](appendix.md)\n",
        );
        assert_eq!(diags, ["SUMMARY.md:9:3: warning: draft chapter 'Draft' has no file and is skipped"]);
        let chapter = |p: &str| Target::Chapter(PathBuf::from(p));
        assert_eq!(
            entries,
            [
                ("Intro".into(), 0, Matter::Front, chapter("intro.md")),
                ("Part One".into(), 0, Matter::Body, Target::Part),
                ("One".into(), 1, Matter::Body, chapter("one.md")),
                ("Sub".into(), 2, Matter::Body, chapter("dir/sub.md")),
                ("Child".into(), 1, Matter::Body, chapter("child.md")),
                ("Appendix".into(), 0, Matter::Back, chapter("appendix.md")),
            ]
        );
    }

    #[test]
    fn duplicates_and_malformed_items_are_errors() {
        let (_, diags) = outline("- [One](one.md)\n- [Again](./one.md)\n- just text\n");
        assert_eq!(diags.len(), 2, "{diags:?}");
        assert!(diags[0].starts_with("SUMMARY.md:2:3: error: chapter 'one.md' is listed twice (first at line 1)"));
        assert!(diags[1].starts_with("SUMMARY.md:3:3: error: unexpected text 'just text'"));
        let (_, diags) = outline("- [One](one.md)\n-\n");
        assert!(diags[0].starts_with("SUMMARY.md:2:1: error: expected a link to a chapter"), "{diags:?}");
    }

    #[test]
    fn nested_links_do_not_panic() {
        let (_, diags) = outline("- [![[a](b.md)](c.png)](d.md)\n");
        assert!(diags.iter().any(|d| d.contains("error")), "{diags:?}");
    }

    #[test]
    fn empty_summary_is_an_error() {
        let (_, diags) = outline("# Summary\n");
        assert_eq!(
            diags,
            ["SUMMARY.md: error: SUMMARY.md lists no chapters\nhint: list chapters as `- [Title](chapter.md)`"]
        );
    }

    #[test]
    fn paths() {
        assert_eq!(normalize_chapter_path("a%20b/./c.md#x"), Some(PathBuf::from("a b/c.md")));
        assert_eq!(normalize_chapter_path("../x.md"), None);
        assert_eq!(percent_decode("%zz%41"), "%zzA");
    }
}
