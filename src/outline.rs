//! Stage 1b, load: `SUMMARY.md` → [`Outline`], the reading order in mdBook's format.
//!
//! The parser follows mdBook's own, part by part: an optional title, prefix chapters (plain links),
//! numbered chapters (nested lists, under optional `# Part` titles, with `---` separators), then suffix
//! chapters (plain links after the lists). What mdBook's parser skips, folio skips too: HTML comments
//! silently, anything else (text after a chapter's link, a second link in an item, a `##` heading)
//! with a warning at its place. What mdBook refuses (a list item that does not start with a link, a list
//! after the suffix chapters) is an error. Draft chapters (`- [Title]()`) have no page, in mdBook as in
//! an EPUB, and are left out; their sub-chapters move up a level.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use pulldown_cmark::{Event, HeadingLevel, Parser, Tag, TagEnd};

use crate::diagnostic::{Diagnostic, SourceText};
use crate::link;

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
    /// Nesting level in the table of contents, 0 at the top (chapters under a part title are one deeper).
    pub depth: usize,
    /// How deep the chapter is nested in SUMMARY.md's lists, 0 for a top-level chapter: mdBook books
    /// often start a sub-chapter at `##`.
    pub nesting: usize,
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
    let events = Parser::new(&source.text).into_offset_iter().collect();
    let mut reader = SummaryReader {
        source,
        events,
        next: 0,
        outline: Outline::default(),
        diags: Vec::new(),
        seen: HashMap::new(),
        in_part: false,
    };
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
    events: Vec<(Event<'a>, Range<usize>)>,
    /// The next event to read.
    next: usize,
    outline: Outline,
    diags: Vec<Diagnostic>,
    seen: HashMap<PathBuf, Range<usize>>,
    /// Numbered chapters after a part title nest under it in the table of contents.
    in_part: bool,
}

/// A chapter link as read: its target, title text and where it is written.
struct Link {
    dest: String,
    title: String,
    range: Range<usize>,
}

impl<'a> SummaryReader<'a> {
    fn peek(&self) -> Option<&(Event<'a>, Range<usize>)> {
        self.events.get(self.next)
    }

    fn advance(&mut self) -> Option<(Event<'a>, Range<usize>)> {
        let event = self.events.get(self.next).cloned();
        self.next += usize::from(event.is_some());
        event
    }

    fn run(&mut self) {
        self.title();
        self.affix(Matter::Front);
        self.parts();
        self.affix(Matter::Back);
    }

    /// An optional first `#` heading, the book's title in mdBook (folio takes it from book.toml).
    fn title(&mut self) {
        while let Some((event, _)) = self.peek() {
            match event {
                Event::Html(_)
                | Event::InlineHtml(_)
                | Event::Start(Tag::HtmlBlock)
                | Event::End(TagEnd::HtmlBlock) => {
                    self.next += 1;
                }
                Event::Start(Tag::Heading { level: HeadingLevel::H1, .. }) => {
                    self.next += 1;
                    self.inline_text(|e| matches!(e, Event::End(TagEnd::Heading(HeadingLevel::H1))));
                    return;
                }
                _ => return,
            }
        }
    }

    /// Prefix chapters (up to the first list or `#` heading) or suffix chapters (to the end): links
    /// anywhere, with text around them ignored.
    fn affix(&mut self, matter: Matter) {
        while let Some((event, range)) = self.peek().cloned() {
            match event {
                Event::Start(Tag::List(_) | Tag::Heading { level: HeadingLevel::H1, .. }) => {
                    if matter == Matter::Front {
                        return;
                    }
                    self.next += 1;
                    self.diags.push(
                        self.source
                            .error(range, "chapter lists and part titles cannot follow the suffix chapters")
                            .with_hint("mdBook refuses this too: chapters after the lists are plain links"),
                    );
                    self.skip_to_end_of(&event);
                }
                Event::Start(Tag::Link { dest_url, .. }) => {
                    self.next += 1;
                    let link = self.link(dest_url.to_string(), range);
                    self.chapter(link, 0, matter);
                }
                Event::Text(text) if !text.trim().is_empty() => {
                    self.next += 1;
                    self.ignored_text(&text, range);
                }
                _ => self.next += 1,
            }
        }
    }

    /// Numbered chapters, each group under an optional `# Part` title; ends at a paragraph (where the
    /// suffix chapters begin).
    fn parts(&mut self) {
        while let Some((event, range)) = self.peek().cloned() {
            match event {
                Event::Start(Tag::Paragraph) => return,
                Event::Start(Tag::Heading { level: HeadingLevel::H1, .. }) => {
                    self.next += 1;
                    let title = self.inline_text(|e| matches!(e, Event::End(TagEnd::Heading(HeadingLevel::H1))));
                    self.in_part = true;
                    let entry = Entry {
                        title: title.trim().to_string(),
                        depth: 0,
                        nesting: 0,
                        matter: Matter::Body,
                        target: Target::Part,
                        range,
                    };
                    self.outline.entries.push(entry);
                }
                _ => {}
            }
            self.numbered();
        }
    }

    /// The lists (and separators) of one part; a paragraph right at the start is skipped, as in mdBook.
    fn numbered(&mut self) {
        let mut first = true;
        while let Some((event, range)) = self.peek().cloned() {
            match &event {
                Event::Start(Tag::Paragraph) if !first => return,
                Event::Start(Tag::Heading { level: HeadingLevel::H1, .. }) => return,
                Event::Start(Tag::List(_)) => {
                    self.next += 1;
                    self.list(0, 0);
                }
                Event::Start(Tag::HtmlBlock) => {
                    self.next += 1;
                    self.skip_to_end_of(&event);
                }
                Event::Start(Tag::Paragraph) => self.next += 1,
                Event::Start(Tag::Heading { .. }) => {
                    self.next += 1;
                    self.diags.push(self.source.warning(
                        range,
                        "only `#` headings (part titles) count in SUMMARY.md; this heading is ignored, as in mdBook",
                    ));
                    self.skip_to_end_of(&event);
                }
                Event::Start(Tag::Link { .. }) => {
                    self.next += 1;
                    self.diags.push(
                        self.source
                            .warning(range, "a link in a paragraph just after a part title is ignored, as in mdBook"),
                    );
                    self.skip_to_end_of(&event);
                }
                Event::Start(_) => {
                    self.next += 1;
                    self.skip_to_end_of(&event);
                }
                Event::Text(text) if !text.trim().is_empty() => {
                    self.next += 1;
                    self.ignored_text(text, range);
                }
                _ => self.next += 1,
            }
            first = false;
        }
    }

    /// The items of a list whose `Start` was just read, `nesting` lists deep, under `drafts` draft
    /// chapters (whose sub-chapters move up a level each).
    fn list(&mut self, nesting: usize, drafts: usize) {
        // Whether the last item had a chapter, for its sub-list's level.
        let mut last_was_draft = None;
        while let Some((event, range)) = self.advance() {
            match event {
                Event::Start(Tag::Item) => last_was_draft = self.item(nesting, drafts, range),
                // A list that opens before any item is read at its parent's level, as mdBook reads it.
                Event::Start(Tag::List(_)) => {
                    if let Some(draft) = last_was_draft {
                        self.list(nesting + 1, drafts + usize::from(draft));
                    }
                }
                Event::End(TagEnd::List(_)) => return,
                Event::Start(Tag::Link { .. }) => {
                    self.diags.push(
                        self.source
                            .warning(range, "a list item holds one chapter; this second link is ignored, as in mdBook"),
                    );
                    self.skip_to_end_of(&event);
                }
                Event::Text(text) | Event::Code(text) if !text.trim().is_empty() => self.ignored_text(&text, range),
                _ => {}
            }
        }
    }

    /// One list item: its link must come first. Returns whether it was a draft, `None` when the item
    /// has no link (an error).
    fn item(&mut self, nesting: usize, drafts: usize, item_range: Range<usize>) -> Option<bool> {
        while let Some((event, range)) = self.advance() {
            match event {
                Event::Start(Tag::Paragraph) => {}
                Event::Start(Tag::Link { dest_url, .. }) => {
                    let link = self.link(dest_url.to_string(), range);
                    let draft = link.dest.trim().is_empty();
                    let depth = nesting - drafts + usize::from(self.in_part);
                    self.chapter_at(link, depth, nesting - drafts, Matter::Body);
                    return Some(draft);
                }
                _ => {
                    let empty = event == Event::End(TagEnd::Item);
                    self.diags.push(
                        self.source
                            .error(
                                if empty { item_range } else { range },
                                "expected a link to a chapter at the start of this list item",
                            )
                            .with_hint("write it as `- [Title](chapter.md)`; mdBook refuses this too"),
                    );
                    if !empty {
                        self.skip_to_end_of(&Event::Start(Tag::Item));
                    }
                    return None;
                }
            }
        }
        None
    }

    /// A link whose `Start` was just read: its title is the text up to its end.
    fn link(&mut self, dest: String, range: Range<usize>) -> Link {
        let title = self.inline_text(|e| matches!(e, Event::End(TagEnd::Link)));
        Link { dest, title, range }
    }

    /// The text of inline events up to the one `end` accepts (consumed), as mdBook joins it.
    fn inline_text(&mut self, end: impl Fn(&Event<'_>) -> bool) -> String {
        let mut text = String::new();
        while let Some((event, _)) = self.advance() {
            match event {
                e if end(&e) => break,
                Event::Text(t) | Event::Code(t) => text.push_str(&t),
                Event::SoftBreak => text.push(' '),
                _ => {}
            }
        }
        text
    }

    /// Skips to the end of the element `start` opened.
    fn skip_to_end_of(&mut self, start: &Event<'_>) {
        let Event::Start(tag) = start else { return };
        let end = tag.to_end();
        let mut open = 1;
        while let Some((event, _)) = self.advance() {
            match event {
                Event::Start(t) if t.to_end() == end => open += 1,
                Event::End(e) if e == end => {
                    open -= 1;
                    if open == 0 {
                        return;
                    }
                }
                _ => {}
            }
        }
    }

    fn ignored_text(&mut self, text: &str, range: Range<usize>) {
        self.diags.push(
            self.source
                .warning(range, format!("text '{}' in SUMMARY.md is not a chapter link and is left out", text.trim()))
                .with_hint("mdBook ignores it too; chapters are links: `- [Title](chapter.md)`"),
        );
    }

    fn chapter(&mut self, link: Link, depth: usize, matter: Matter) {
        self.chapter_at(link, depth, 0, matter);
    }

    fn chapter_at(&mut self, link: Link, depth: usize, nesting: usize, matter: Matter) {
        let Link { dest, title, range } = link;
        // A draft chapter: mdBook shows its title without a page; a book has no place for that.
        if dest.trim().is_empty() {
            return;
        }
        let Some(path) = normalize_chapter_path(&dest) else {
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
        let target = Target::Chapter(path);
        self.outline.entries.push(Entry { title: title.trim().to_string(), depth, nesting, matter, target, range });
    }
}

/// Percent-decodes a link path and normalises it below `src`; `None` if it leaves `src`.
pub fn normalize_chapter_path(dest: &str) -> Option<PathBuf> {
    link::resolve_path(Path::new(""), link::split(dest).0)
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

    fn titles(text: &str) -> (Vec<String>, Vec<String>) {
        let (entries, diags) = outline(text);
        (entries.into_iter().map(|e| e.0).collect(), diags)
    }

    #[test]
    fn reads_mdbook_structure() {
        let (entries, diags) = outline(
            "# Summary\n\n[Intro](intro.md)\n\n# Part One\n\n- [One](one.md)\n  - [Sub](dir/sub.md)\n- [Draft]()\n  - [Child](child.md)\n\n---\n\n[Appendix](appendix.md)\n",
        );
        // A draft chapter has no page, in mdBook as here: no warning, and its sub-chapters move up.
        assert!(diags.is_empty(), "{diags:?}");
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

    /// Issue #12, class 1: mdBook ignores HTML comments anywhere in SUMMARY.md, so does folio, silently.
    #[test]
    fn html_comments_are_ignored() {
        let (titles, diags) = titles(
            "<!-- before the title -->\n# Summary\n\n<!-- top -->\n[Intro](intro.md)\n\n<!--\n  several lines\n  - [Hidden](hidden.md)\n-->\n\n- [One](one.md)\n    <!-- indented, inside an item -->\n    - [Sub](sub.md)\n<!-- between items -->\n- [Two](two.md) <!-- after a link -->\n",
        );
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(titles, ["Intro", "One", "Sub", "Two"]);
    }

    /// Issue #12, class 2: text after an item's link is accepted (mdBook ignores it), with a warning
    /// at the text, since it shows nowhere.
    #[test]
    fn text_after_a_link_is_left_out_with_a_warning() {
        let (titles, diags) = titles(
            "- [Cancellation](cancel.md) (cancellation safety)\n- [Pinning](pin.md)\n  - [Sub](sub.md) `code`\n",
        );
        assert_eq!(titles, ["Cancellation", "Pinning", "Sub"]);
        assert_eq!(diags.len(), 2, "{diags:?}");
        assert!(diags[0].starts_with(
            "SUMMARY.md:1:28: warning: text '(cancellation safety)' in SUMMARY.md is not a chapter link and is left out"
        ));
        assert!(diags[1].starts_with("SUMMARY.md:3:19: warning: text 'code'"), "{diags:?}");
    }

    /// mdBook skips a second link in an item and headings below `#` between lists; folio warns.
    #[test]
    fn what_mdbook_skips_is_a_warning() {
        let (titles, diags) = titles("- [One](one.md) or [Two](two.md)\n\n## Not a part\n\n- [Three](three.md)\n");
        assert_eq!(titles, ["One", "Three"]);
        assert_eq!(diags.len(), 3, "{diags:?}");
        assert!(diags[0].starts_with("SUMMARY.md:1:16: warning: text 'or' in SUMMARY.md"), "{diags:?}");
        assert!(diags[1].starts_with("SUMMARY.md:1:20: warning: a list item holds one chapter"), "{diags:?}");
        assert!(diags[2].starts_with("SUMMARY.md:3:1: warning: only `#` headings"), "{diags:?}");
    }

    /// What mdBook refuses, folio refuses: an item without a link first, a list after the suffix chapters.
    #[test]
    fn duplicates_and_malformed_items_are_errors() {
        let (_, diags) = outline("- [One](one.md)\n- [Again](./one.md)\n- just text\n");
        assert_eq!(diags.len(), 2, "{diags:?}");
        assert!(diags[0].starts_with("SUMMARY.md:2:3: error: chapter 'one.md' is listed twice (first at line 1)"));
        assert!(
            diags[1].starts_with("SUMMARY.md:3:3: error: expected a link to a chapter at the start of this list item")
        );
        let (_, diags) = outline("- [One](one.md)\n-\n");
        assert!(diags[0].starts_with("SUMMARY.md:2:1: error: expected a link to a chapter"), "{diags:?}");
        let (_, diags) = outline("- [One](one.md)\n\n[Appendix](appendix.md)\n\n- [Two](two.md)\n");
        assert!(
            diags[0].starts_with("SUMMARY.md:5:1: error: chapter lists and part titles cannot follow"),
            "{diags:?}"
        );
    }

    #[test]
    fn nested_links_do_not_panic() {
        let _ = outline("- [![[a](b.md)](c.png)](d.md)\n");
        let _ = outline("- [a](b.md)\n  - \n    - [c](d.md)\n  -\n- <!-- x --> [e](f.md)\n");
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
    }
}
