//! mdBook's directives (`{{#include}}`, `{{#rustdoc_include}}`, `{{#playground}}`, `{{#title}}`),
//! expanded before parsing exactly as mdBook's link preprocessor does, with a map from the expanded
//! text back to the author's files so diagnostics keep pointing at what they wrote.
//!
//! What mdBook's parser does not take for a directive stays as it is written: `{{#include}}` without a
//! path, a name it does not know, a directive split by a `}`. An escaped `\{{#…}}` loses its backslash
//! and is not expanded. The patterns are mdBook's own (see [`find_links`]), matched by hand.
//!
//! Includes can multiply text (a file that includes itself eight times, ten levels deep, stands for
//! a billion copies), so every chapter pays for its text from one [`Budget`] for the whole book: its
//! own file, each file it includes (once per chapter, however often), and each include's selection and
//! a fixed price per include. A chapter that would overspend it gets an error and stops expanding.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::diagnostic::{Diagnostic, Location, Severity, SourceText};
use crate::files::{ReadRoot, Stamp};
use crate::link::normalize_relative;

/// mdBook stops at this depth too; it also stops include cycles.
const MAX_DEPTH: usize = 10;

/// The most text a book's chapters may be made of, in bytes, counted as [`Budget`] says: four times the
/// largest book folio was measured on, and little enough that building one stays within a gigabyte.
pub const MAX_BOOK_TEXT_BYTES: u64 = 64 << 20;

/// What one include costs besides its text: reading the directive, opening the file, mapping it back.
const INCLUDE_COST: u64 = 256;

/// The text the chapters of one build may still be made of, shared by the chapters read in parallel.
///
/// Whether a book overspends it does not depend on the order chapters are read in: a chapter only takes
/// what leaves the total within [`MAX_BOOK_TEXT_BYTES`], so some chapter fails exactly when the sum of
/// all they ask for is over it.
#[derive(Debug, Default)]
pub struct Budget {
    spent: AtomicU64,
}

impl Budget {
    /// Takes `cost` bytes; false, taking nothing, when that would overspend the budget.
    pub fn take(&self, cost: u64) -> bool {
        self.spent
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |spent| {
                spent.checked_add(cost).filter(|&total| total <= MAX_BOOK_TEXT_BYTES)
            })
            .is_ok()
    }
}

/// A chapter's text after expansion.
#[derive(Debug)]
pub struct Expanded {
    /// The expanded Markdown, when directives changed anything (else the chapter file's text is it).
    expanded: Option<String>,
    /// The chapter file first, then every included file.
    files: Vec<SourceText>,
    /// Where each of `files` is, relative to the book folder, and its stamp when read (`None` for a
    /// text that was not read from the book, or a file system that gives no stamps).
    stamps: Vec<Option<(PathBuf, Stamp)>>,
    /// Sorted by `start`: from offset `start` of `text` on, bytes come from `files[file]` at `file_start`.
    segments: Vec<Segment>,
    /// What the chapter took from the book's [`Budget`].
    cost: u64,
    /// The page title a `{{#title …}}` gave, when one did.
    title: Option<String>,
}

#[derive(Debug, Clone, Copy)]
struct Segment {
    start: usize,
    file: usize,
    file_start: usize,
}

impl Expanded {
    /// A chapter without directives: the text maps to itself.
    pub fn plain(source: SourceText) -> Self {
        Self::single(source, None)
    }

    fn single(source: SourceText, stamp: Option<(PathBuf, Stamp)>) -> Self {
        let segments = vec![Segment { start: 0, file: 0, file_start: 0 }];
        let cost = source.text.len() as u64;
        Self { expanded: None, files: vec![source], stamps: vec![stamp], segments, cost, title: None }
    }

    /// What the chapter took from the book's [`Budget`]: the same for the same files, so a build that
    /// skips reading them (the source memo) can take it again.
    pub fn cost(&self) -> u64 {
        self.cost
    }

    /// The Markdown to parse.
    pub fn text(&self) -> &str {
        self.expanded.as_deref().unwrap_or(&self.files[0].text)
    }

    /// The chapter file itself.
    pub fn chapter_file(&self) -> &SourceText {
        &self.files[0]
    }

    /// Every file this chapter was built from (for cache keys and `folio watch`).
    pub fn files(&self) -> &[SourceText] {
        &self.files
    }

    /// The page title set with `{{#title …}}`, which mdBook gives the page instead of its SUMMARY.md title.
    pub fn title(&self) -> Option<&str> {
        self.title.as_deref()
    }

    /// Where every file this chapter was built from is, relative to the book folder, with its stamp when
    /// read; `None` unless each has one.
    pub fn stamps(&self) -> Option<Vec<(PathBuf, Stamp)>> {
        self.stamps.iter().cloned().collect()
    }

    /// The author's file and position of an offset in the expanded text.
    pub fn location(&self, offset: usize) -> Location {
        let i = self.segments.partition_point(|s| s.start <= offset).saturating_sub(1);
        let seg = self.segments[i];
        self.files[seg.file].location(seg.file_start + (offset - seg.start))
    }

    /// A diagnostic at a range of the expanded text, located in the file it came from.
    pub fn at(&self, range: Range<usize>, severity: Severity, message: impl Into<String>) -> Diagnostic {
        self.location(range.start).diagnostic(severity, message)
    }

    /// An error at a range of the expanded text.
    pub fn error(&self, range: Range<usize>, message: impl Into<String>) -> Diagnostic {
        self.at(range, Severity::Error, message)
    }

    /// A warning at a range of the expanded text.
    pub fn warning(&self, range: Range<usize>, message: impl Into<String>) -> Diagnostic {
        self.at(range, Severity::Warning, message)
    }
}

/// Expands the directives of one chapter (`chapter` is relative to `src`; `stamp` is its file's), paying
/// for its text from `budget`.
pub fn expand(
    root: &ReadRoot,
    src: &Path,
    chapter: &Path,
    source: SourceText,
    stamp: Option<Stamp>,
    budget: &Budget,
) -> (Expanded, Vec<Diagnostic>) {
    let book_relative = src.join(chapter);
    let chapter_stamp = stamp.map(|stamp| (book_relative.clone(), stamp));
    let single = Expanded::single(source, chapter_stamp);
    if !budget.take(single.cost) {
        let d = Diagnostic::error(&single.files[0].path, over_budget("this chapter is not read"));
        return (single, vec![d.with_hint(OVER_BUDGET_HINT)]);
    }
    // Every directive starts with `{{` (escaped ones with `\{{`). memchr's searcher: this runs over every
    // byte of the book on every build.
    if memchr::memmem::find(single.text().as_bytes(), b"{{").is_none() {
        return (single, Vec::new());
    }
    let chapter_text =
        Mapped { text: single.files[0].text.clone(), segments: vec![Segment { start: 0, file: 0, file_start: 0 }] };
    let out = Expanded { expanded: Some(String::with_capacity(single.cost as usize)), segments: vec![], ..single };
    let read = HashMap::from([(book_relative.clone(), 0)]);
    let mut expander = Expander { root, out, diags: Vec::new(), budget, read, exhausted: false };
    let dir = book_relative.parent().unwrap_or(Path::new("")).to_path_buf();
    expander.expand(&chapter_text, &dir, 0);
    let Expander { mut out, diags, .. } = expander;
    // Text that expanded to what it was (only escapes or unknown names) needs no copy of its own.
    if out.expanded.as_deref() == Some(out.files[0].text.as_str()) && out.files.len() == 1 {
        out.expanded = None;
        out.segments = vec![Segment { start: 0, file: 0, file_start: 0 }];
    }
    (out, diags)
}

/// The message for text over [`MAX_BOOK_TEXT_BYTES`], saying what was left out.
fn over_budget(left_out: &str) -> String {
    format!(
        "the book's chapters and includes add up to more than {} MiB of text; {left_out}",
        MAX_BOOK_TEXT_BYTES >> 20
    )
}

const OVER_BUDGET_HINT: &str =
    "an include may include itself, or a large file many times; SECURITY.md lists folio's limits";

/// A text being expanded, with the map back to the files it came from (as in [`Expanded`]).
struct Mapped {
    text: String,
    segments: Vec<Segment>,
}

impl Mapped {
    /// The file and offset in it that `offset` of the text comes from.
    fn origin(&self, offset: usize) -> (usize, usize) {
        let i = self.segments.partition_point(|s| s.start <= offset).saturating_sub(1);
        let seg = self.segments[i];
        (seg.file, seg.file_start + (offset - seg.start))
    }
}

/// Builds the text an include selects from one file, keeping the map back to it.
struct Selection<'a> {
    source: &'a str,
    file: usize,
    out: Mapped,
    /// The file offset the next byte maps to when it continues the last piece.
    next: Option<usize>,
}

impl<'a> Selection<'a> {
    fn new(source: &'a str, file: usize) -> Self {
        Self { source, file, out: Mapped { text: String::new(), segments: Vec::new() }, next: None }
    }

    /// Appends bytes of the file.
    fn source(&mut self, range: Range<usize>) {
        if range.is_empty() {
            return;
        }
        if self.next != Some(range.start) {
            self.out.segments.push(Segment { start: self.out.text.len(), file: self.file, file_start: range.start });
        }
        self.out.text.push_str(&self.source[range.clone()]);
        self.next = Some(range.end);
    }

    /// Appends text that is not in the file (a `# ` that hides a line, a fence), located at `at`.
    fn literal(&mut self, text: &str, at: usize) {
        self.out.segments.push(Segment { start: self.out.text.len(), file: self.file, file_start: at });
        self.out.text.push_str(text);
        self.next = None;
    }

    /// Appends the line break after `line`: the file's own when it is a plain `\n`.
    fn line_break(&mut self, line: &Range<usize>) {
        match self.source.as_bytes().get(line.end) {
            Some(b'\n') => self.source(line.end..line.end + 1),
            _ => self.literal("\n", line.end),
        }
    }

    /// Appends `lines` joined by line breaks, as mdBook joins the lines it takes.
    fn lines<'l>(&mut self, lines: impl IntoIterator<Item = &'l Range<usize>>) {
        let mut previous: Option<&Range<usize>> = None;
        for line in lines {
            if let Some(previous) = previous {
                self.line_break(previous);
            }
            self.source(line.clone());
            previous = Some(line);
        }
    }
}

struct Expander<'a> {
    root: &'a ReadRoot,
    out: Expanded,
    diags: Vec<Diagnostic>,
    budget: &'a Budget,
    /// Files already read for this chapter, by path relative to the book folder: their index in `files`.
    read: HashMap<PathBuf, usize>,
    /// Set once the budget is spent: the rest of the chapter is copied as it is.
    exhausted: bool,
}

/// What became of a directive.
enum Outcome {
    /// Replaced by its expansion.
    Expanded,
    /// Left as it is written (after a diagnostic).
    Kept,
}

impl Expander<'_> {
    /// Appends `range` of `text` to the output, mapped to the files it came from.
    fn copy(&mut self, text: &Mapped, range: Range<usize>) {
        if range.is_empty() {
            return;
        }
        let out = self.out.expanded.as_mut().expect("expanding");
        let first = text.segments.partition_point(|s| s.start <= range.start).saturating_sub(1);
        for seg in text.segments[first..].iter().take_while(|s| s.start < range.end) {
            let from = seg.start.max(range.start);
            let file_start = seg.file_start + (from - seg.start);
            self.out.segments.push(Segment { start: out.len() + (from - range.start), file: seg.file, file_start });
        }
        out.push_str(&text.text[range]);
    }

    /// A diagnostic at `range` of `text`, located in the file it came from.
    fn diagnostic(&self, text: &Mapped, range: &Range<usize>, severity: Severity, message: String) -> Diagnostic {
        let (file, offset) = text.origin(range.start);
        self.out.files[file].at(offset..offset, severity, message)
    }

    fn warn(&mut self, text: &Mapped, range: &Range<usize>, message: String) {
        let d = self.diagnostic(text, range, Severity::Warning, message);
        self.diags.push(d);
    }

    /// Takes `cost` from the budget; false (with an error at the directive) when it is spent.
    fn pay(&mut self, cost: u64, text: &Mapped, range: &Range<usize>, target: &str) -> bool {
        if self.budget.take(cost) {
            self.out.cost += cost;
            return true;
        }
        self.exhausted = true;
        let message = over_budget(&format!("`{target}` is not included"));
        let d = self.diagnostic(text, range, Severity::Error, message).with_hint(OVER_BUDGET_HINT);
        self.diags.push(d);
        false
    }

    /// Appends `text` (whose directives' paths are relative to `dir`, itself relative to the book folder),
    /// expanding its directives; `depth` counts the includes it is nested in.
    fn expand(&mut self, text: &Mapped, dir: &Path, depth: usize) {
        let mut pos = 0;
        for link in find_links(&text.text) {
            if self.exhausted {
                break;
            }
            match link {
                Found::Escaped(range) => {
                    // `\{{#include x}}` is written out without its backslash, and not expanded.
                    self.copy(text, pos..range.start);
                    self.copy(text, range.start + 1..range.end);
                    pos = range.end;
                }
                Found::Directive { range, name, rest } => {
                    let Some(directive) = Directive::parse(&text.text[name], &text.text[rest]) else { continue };
                    self.copy(text, pos..range.start);
                    pos = match self.directive(text, &range, directive, dir, depth) {
                        Outcome::Expanded => range.end,
                        Outcome::Kept => range.start,
                    };
                }
            }
        }
        self.copy(text, pos..text.text.len());
    }

    fn directive(
        &mut self,
        text: &Mapped,
        range: &Range<usize>,
        directive: Directive<'_>,
        dir: &Path,
        depth: usize,
    ) -> Outcome {
        let (target, kind) = match directive {
            Directive::Title(title) => {
                self.out.title = Some(title.to_string());
                return Outcome::Expanded;
            }
            Directive::Include { path, lines } => (path, Kind::Include(lines)),
            Directive::RustdocInclude { path, lines } => (path, Kind::RustdocInclude(lines)),
            Directive::Playground { path, attributes, old_name } => {
                if old_name {
                    let message = "`{{#playpen}}` is the old name of `{{#playground}}`; mdBook asks for the new one";
                    self.warn(text, range, message.to_string());
                }
                (path, Kind::Playground(attributes))
            }
        };
        if !self.pay(INCLUDE_COST, text, range, target) {
            return Outcome::Kept;
        }
        if depth >= MAX_DEPTH {
            let message =
                format!("includes nest deeper than {MAX_DEPTH} levels (a cycle?); `{target}` is not included");
            self.warn(text, range, message);
            return Outcome::Kept;
        }
        let outside = || format!("include '{target}' is outside the book folder and is left as text");
        let Some(relative) = normalize_relative(dir, Path::new(target)).filter(|_| !Path::new(target).is_absolute())
        else {
            self.warn(text, range, outside());
            return Outcome::Kept;
        };
        // A file included again is not read again: its text is already among the chapter's files.
        let included = match self.read.get(&relative) {
            Some(&index) => index,
            None => {
                let (source, stamp) = match self.root.read_text_stamped(&relative) {
                    Ok(read) => read,
                    Err(crate::files::TextError::Read(crate::files::ReadError::OutsideRoot)) => {
                        self.warn(text, range, outside());
                        return Outcome::Kept;
                    }
                    Err(e) => {
                        let shown = self.root.display_path(&relative);
                        let (file, offset) = text.origin(range.start);
                        let d = e.diagnostic(&shown, "included file", Some((&self.out.files[file], offset..offset)));
                        self.diags.push(d);
                        return Outcome::Kept;
                    }
                };
                if !self.pay(source.text.len() as u64, text, range, target) {
                    return Outcome::Kept;
                }
                self.out.files.push(source);
                self.out.stamps.push(stamp.map(|stamp| (relative.clone(), stamp)));
                let index = self.out.files.len() - 1;
                self.read.insert(relative.clone(), index);
                index
            }
        };
        let source = &self.out.files[included].text;
        let (selected, problem) = kind.select(source, included);
        if let Some(problem) = problem {
            self.warn(text, range, format!("{problem} in '{target}'"));
        }
        if !self.pay(selected.text.len() as u64, text, range, target) {
            return Outcome::Kept;
        }
        let inner_dir = relative.parent().unwrap_or(Path::new("")).to_path_buf();
        self.expand(&selected, &inner_dir, depth + 1);
        Outcome::Expanded
    }
}

/// What a directive takes from its file.
enum Kind<'a> {
    Include(Lines<'a>),
    RustdocInclude(Lines<'a>),
    Playground(Vec<&'a str>),
}

impl Kind<'_> {
    /// The text the directive stands for, taken from `source` (`files[file]`), as mdBook takes it; and what
    /// an author should hear about the selection (an anchor that is not there, lines past the end).
    fn select(&self, source: &str, file: usize) -> (Mapped, Option<String>) {
        let lines = line_ranges(source);
        let mut out = Selection::new(source, file);
        let problem = match self {
            Kind::Include(Lines::Range(from, to)) => {
                let to = to.unwrap_or(usize::MAX);
                out.lines(lines.iter().take(to).skip(*from));
                past_end(&lines, *from, to)
            }
            Kind::Include(Lines::Anchor(anchor)) => {
                let (taken, found) = anchored(source, &lines, anchor);
                out.lines(taken);
                (!found).then(|| format!("no anchor '{anchor}' (mdBook includes nothing)"))
            }
            Kind::RustdocInclude(Lines::Range(from, to)) => {
                let to = to.unwrap_or(usize::MAX);
                for (index, line) in lines.iter().enumerate() {
                    if index > 0 {
                        out.line_break(&lines[index - 1]);
                    }
                    if !(*from..to).contains(&index) {
                        out.literal("# ", line.start);
                    }
                    out.source(line.clone());
                }
                past_end(&lines, *from, to)
            }
            Kind::RustdocInclude(Lines::Anchor(anchor)) => {
                let found = rustdoc_anchored(&mut out, source, &lines, anchor);
                (!found).then(|| format!("no anchor '{anchor}' (mdBook hides every line)"))
            }
            Kind::Playground(attributes) => {
                let fence = if attributes.is_empty() {
                    "```rust\n".to_string()
                } else {
                    format!("```rust,{}\n", attributes.join(","))
                };
                out.literal(&fence, 0);
                out.source(0..source.len());
                if !source.ends_with('\n') {
                    out.literal("\n", source.len());
                }
                out.literal("```\n", source.len());
                None
            }
        };
        (out.out, problem)
    }
}

/// A warning when a line range starts past the end of a file that has lines.
fn past_end(lines: &[Range<usize>], from: usize, to: usize) -> Option<String> {
    (from >= lines.len() && !lines.is_empty() && to > from)
        .then(|| format!("line {} is past the end ({} lines; mdBook includes nothing)", from + 1, lines.len()))
}

/// The lines between `ANCHOR: name` and the first `ANCHOR_END: name` after it, without any anchor's
/// markers; whether the anchor was found. This is mdBook's `take_anchored_lines`.
fn anchored<'l>(source: &str, lines: &'l [Range<usize>], anchor: &str) -> (Vec<&'l Range<usize>>, bool) {
    let mut taken = Vec::new();
    let mut found = false;
    for line in lines {
        let text = &source[line.clone()];
        if found {
            match marker(text, "ANCHOR_END:") {
                Some(name) if name == anchor => break,
                Some(_) => {}
                None if marker(text, "ANCHOR:").is_none() => taken.push(line),
                None => {}
            }
        } else if marker(text, "ANCHOR:") == Some(anchor) {
            found = true;
        }
    }
    (taken, found)
}

/// mdBook's `take_rustdoc_include_anchored_lines`: lines inside the anchor as they are, every other line
/// hidden with `# `, markers dropped. Returns whether the anchor was found.
fn rustdoc_anchored(out: &mut Selection<'_>, source: &str, lines: &[Range<usize>], anchor: &str) -> bool {
    let mut within = false;
    let mut found = false;
    let mut previous: Option<&Range<usize>> = None;
    for line in lines {
        let text = &source[line.clone()];
        let hidden = if within {
            match marker(text, "ANCHOR_END:") {
                Some(name) => {
                    within &= name != anchor;
                    continue;
                }
                None if marker(text, "ANCHOR:").is_some() => continue,
                None => false,
            }
        } else if let Some(name) = marker(text, "ANCHOR:") {
            if name == anchor {
                within = true;
                found = true;
            }
            continue;
        } else if marker(text, "ANCHOR_END:").is_some() {
            continue;
        } else {
            true
        };
        if let Some(previous) = previous {
            out.line_break(previous);
        }
        if hidden {
            out.literal("# ", line.start);
        }
        out.source(line.clone());
        previous = Some(line);
    }
    found
}

/// The anchor name after the first `ANCHOR:` (or `ANCHOR_END:`) in a line, as mdBook's pattern
/// `ANCHOR:\s*([\w_-]+)` reads it; `None` when the line has no such marker.
fn marker<'t>(line: &'t str, keyword: &str) -> Option<&'t str> {
    line.match_indices(keyword).find_map(|(i, _)| {
        let rest = line[i + keyword.len()..].trim_start();
        let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-')).unwrap_or(rest.len());
        (end > 0).then(|| &rest[..end])
    })
}

/// A directive mdBook expands.
#[derive(Debug, PartialEq, Eq)]
enum Directive<'a> {
    Include { path: &'a str, lines: Lines<'a> },
    RustdocInclude { path: &'a str, lines: Lines<'a> },
    Playground { path: &'a str, attributes: Vec<&'a str>, old_name: bool },
    Title(&'a str),
}

/// Which lines of a file an include takes: a range of 0-based line indexes (end excluded, `None` for
/// the end of the file) or a named anchor.
#[derive(Debug, PartialEq, Eq)]
enum Lines<'a> {
    Range(usize, Option<usize>),
    Anchor(&'a str),
}

impl<'a> Directive<'a> {
    /// Reads a directive as mdBook does; `None` for what mdBook leaves as text (an unknown name, no path).
    fn parse(name: &str, rest: &'a str) -> Option<Self> {
        if name == "title" {
            return Some(Directive::Title(rest));
        }
        let mut words = rest.split_whitespace();
        let path = words.next()?;
        let split = |path: &'a str| match path.split_once(':') {
            Some((path, lines)) => (path, Lines::parse(lines)),
            None => (path, Lines::Range(0, None)),
        };
        match name {
            "include" => {
                let (path, lines) = split(path);
                Some(Directive::Include { path, lines })
            }
            "rustdoc_include" => {
                let (path, lines) = split(path);
                Some(Directive::RustdocInclude { path, lines })
            }
            "playground" | "playpen" => {
                Some(Directive::Playground { path, attributes: words.collect(), old_name: name == "playpen" })
            }
            _ => None,
        }
    }
}

impl<'a> Lines<'a> {
    /// mdBook's reading of what follows the path's `:`: `N`, `N:`, `:M`, `N:M` (1-based, `M` included), or
    /// an anchor name. An end that is not a number means the end of the file.
    fn parse(selector: &'a str) -> Self {
        let mut parts = selector.splitn(3, ':');
        let first = parts.next().unwrap_or("");
        let start = match first.parse::<usize>() {
            Ok(n) => Some(n.saturating_sub(1)),
            Err(_) if first.is_empty() => None,
            Err(_) => return Lines::Anchor(first),
        };
        let end = parts.next().map(str::parse::<usize>);
        match (start, end) {
            (Some(start), Some(Ok(end))) => Lines::Range(start, Some(end)),
            (Some(start), Some(Err(_))) => Lines::Range(start, None),
            (Some(start), None) => Lines::Range(start, Some(start + 1)),
            (None, Some(Ok(end))) => Lines::Range(0, Some(end)),
            (None, None | Some(Err(_))) => Lines::Range(0, None),
        }
    }
}

/// Something mdBook's pattern matches.
#[derive(Debug, PartialEq, Eq)]
enum Found {
    /// `\{{#…}}`, to the last `}}` on its line.
    Escaped(Range<usize>),
    /// `{{ #name rest}}`: the whole, the name and the rest.
    Directive { range: Range<usize>, name: Range<usize>, rest: Range<usize> },
}

/// Everything mdBook's link pattern matches in `text`, left to right without overlaps, the way its regex
/// finds them:
///
/// ```text
/// \\\{\{\#.*\}\}  |  \{\{\s*\#([a-zA-Z0-9_]+)\s+([^}]+)\}\}
/// ```
fn find_links(text: &str) -> Vec<Found> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = memchr::memchr2(b'\\', b'{', &bytes[from..]).map(|i| i + from) {
        let matched = match bytes[at] {
            b'\\' => escaped_at(text, at),
            _ => directive_at(text, at),
        };
        match matched {
            Some(m) => {
                from = match &m {
                    Found::Escaped(r) | Found::Directive { range: r, .. } => r.end,
                };
                found.push(m);
            }
            None => from = at + 1,
        }
    }
    found
}

/// `\{{#` and anything up to the last `}}` on the line.
fn escaped_at(text: &str, at: usize) -> Option<Found> {
    let rest = text.get(at + 1..)?.strip_prefix("{{#")?;
    let line = &rest[..rest.find('\n').unwrap_or(rest.len())];
    let end = line.rfind("}}")?;
    Some(Found::Escaped(at..at + 4 + end + 2))
}

/// `{{`, optional white space, `#name`, white space, then anything but `}` up to `}}`.
fn directive_at(text: &str, at: usize) -> Option<Found> {
    let after = text.get(at..)?.strip_prefix("{{")?;
    let spaced = after.trim_start();
    let name_start = at + 2 + (after.len() - spaced.len()) + 1;
    let named = spaced.strip_prefix('#')?;
    let name_len = named.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
    if name_len == 0 {
        return None;
    }
    let tail = &named[name_len..];
    let close = tail.find('}')?;
    if !tail[close..].starts_with("}}") {
        return None;
    }
    // `\s+` then `[^}]+`: white space first, and at least one more character after the first.
    let inside = &tail[..close];
    let mut chars = inside.chars();
    if !chars.next().is_some_and(char::is_whitespace) || chars.next().is_none() {
        return None;
    }
    let trimmed = inside.trim_start();
    // All white space: the pattern's `\s+` gives its last character to the rest.
    let rest_len = match trimmed.len() {
        0 => inside.chars().next_back().map_or(0, char::len_utf8),
        n => n,
    };
    let tail_start = name_start + name_len;
    let rest_end = tail_start + close;
    Some(Found::Directive {
        range: at..rest_end + 2,
        name: name_start..tail_start,
        rest: rest_end - rest_len..rest_end,
    })
}

/// The lines of `text` as Rust's `str::lines` gives them: without their `\n` or `\r\n`.
fn line_ranges(text: &str) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut start = 0;
    for (i, _) in text.match_indices('\n') {
        let end = if i > start && text.as_bytes()[i - 1] == b'\r' { i - 1 } else { i };
        ranges.push(start..end);
        start = i + 1;
    }
    if start < text.len() {
        let end = if text.ends_with('\r') { text.len() - 1 } else { text.len() };
        ranges.push(start..end);
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text a directive's selection gives, read as mdBook reads `rest`.
    fn take(text: &str, directive: &str) -> (String, Option<String>) {
        let (name, rest) = directive.split_once(' ').unwrap();
        let kind = match Directive::parse(name, rest).unwrap() {
            Directive::Include { lines, .. } => Kind::Include(lines),
            Directive::RustdocInclude { lines, .. } => Kind::RustdocInclude(lines),
            Directive::Playground { attributes, .. } => Kind::Playground(attributes),
            Directive::Title(_) => unreachable!(),
        };
        let (mapped, problem) = kind.select(text, 0);
        (mapped.text, problem)
    }

    fn text(text: &str, directive: &str) -> String {
        take(text, directive).0
    }

    /// mdBook's guide, "Including portions of a file": `N`, `:M`, `N:`, `N:M`, 1-based and inclusive.
    #[test]
    fn line_ranges_as_the_guide_gives_them() {
        let file = "a\nb\nc\nd\n";
        assert_eq!(text(file, "include f.rs"), "a\nb\nc\nd");
        assert_eq!(text(file, "include f.rs:2"), "b");
        assert_eq!(text(file, "include f.rs::2"), "a\nb");
        assert_eq!(text(file, "include f.rs:2:"), "b\nc\nd");
        assert_eq!(text(file, "include f.rs:2:3"), "b\nc");
        // An end that is not a number runs to the end; a line range keeps anchor markers, as mdBook does.
        assert_eq!(text(file, "include f.rs:3:x"), "c\nd");
        assert_eq!(text("// ANCHOR: x\na\n", "include f.rs:1"), "// ANCHOR: x");
        assert_eq!(text("a\r\nb\r\n", "include f.rs"), "a\nb");
        let (taken, problem) = take(file, "include f.rs:9");
        assert_eq!(
            (taken.as_str(), problem.as_deref()),
            ("", Some("line 9 is past the end (4 lines; mdBook includes nothing)"))
        );
    }

    /// The guide's anchor example: marker lines, and other anchors' markers inside, are dropped.
    #[test]
    fn named_anchors() {
        let file = "/* ANCHOR: all */\n\n// ANCHOR: component\nstruct Paddle {\n    hello: f32,\n}\n// ANCHOR_END: component\n\n////////// ANCHOR: system\nimpl System for MySystem { ... }\n////////// ANCHOR_END: system\n\n/* ANCHOR_END: all */\n";
        assert_eq!(text(file, "include file.rs:component"), "struct Paddle {\n    hello: f32,\n}");
        assert_eq!(text(file, "include file.rs:system"), "impl System for MySystem { ... }");
        assert_eq!(
            text(file, "include file.rs:all"),
            "\nstruct Paddle {\n    hello: f32,\n}\n\nimpl System for MySystem { ... }\n"
        );
        // No end marker: to the end of the file. No such anchor: nothing, with a warning.
        assert_eq!(text("x\nANCHOR: a\ny\nz\n", "include f.rs:a"), "y\nz");
        let (taken, problem) = take(file, "include file.rs:nope");
        assert_eq!((taken.as_str(), problem.as_deref()), ("", Some("no anchor 'nope' (mdBook includes nothing)")));
        assert_eq!(marker("// ANCHOR:   spaced-name_1 trailing", "ANCHOR:"), Some("spaced-name_1"));
        assert_eq!(marker("// ANCHOR_END: x", "ANCHOR:"), None);
    }

    /// The guide's `rustdoc_include` example: the rest of the file stays, as hidden `# ` lines.
    #[test]
    fn rustdoc_include_hides_the_rest() {
        let file = "fn main() {\n    let x = add_one(2);\n    assert_eq!(x, 3);\n}\n\nfn add_one(num: i32) -> i32 {\n    num + 1\n}\n";
        assert_eq!(
            text(file, "rustdoc_include file.rs:2"),
            "# fn main() {\n    let x = add_one(2);\n#     assert_eq!(x, 3);\n# }\n# \n# fn add_one(num: i32) -> i32 {\n#     num + 1\n# }"
        );
        let anchored = "use a;\n// ANCHOR: body\nfn f() {}\n// ANCHOR: inner\nfn g() {}\n// ANCHOR_END: inner\n// ANCHOR_END: body\nfn main() {}\n";
        assert_eq!(text(anchored, "rustdoc_include f.rs:body"), "# use a;\nfn f() {}\nfn g() {}\n# fn main() {}");
        let (taken, problem) = take("a\nb\n", "rustdoc_include f.rs:nope");
        assert_eq!(
            (taken.as_str(), problem.as_deref()),
            ("# a\n# b", Some("no anchor 'nope' (mdBook hides every line)"))
        );
    }

    /// The guide: `{{#playground file attrs}}` is the file as a Rust code block with those attributes.
    #[test]
    fn playground_is_a_code_block() {
        assert_eq!(text("fn main() {}", "playground example.rs"), "```rust\nfn main() {}\n```\n");
        assert_eq!(text("fn main() {}\n", "playground example.rs editable"), "```rust,editable\nfn main() {}\n```\n");
    }

    /// What mdBook's pattern takes for a directive, and what it leaves alone.
    #[test]
    fn finds_what_mdbook_finds() {
        let spans = |text: &str| -> Vec<String> {
            find_links(text)
                .into_iter()
                .map(|f| match f {
                    Found::Escaped(r) => format!("escaped {}", &text[r]),
                    Found::Directive { range, name, rest } => {
                        format!("{} [{}] [{}]", &text[range], &text[name], &text[rest])
                    }
                })
                .collect()
        };
        assert_eq!(spans("x {{#include a.rs:2}} y"), ["{{#include a.rs:2}} [include] [a.rs:2]"]);
        assert_eq!(spans("{{ #title  My Title}}"), ["{{ #title  My Title}} [title] [My Title]"]);
        // A directive may run over lines; `}` ends it.
        assert_eq!(spans("{{#include\na.rs}}"), ["{{#include\na.rs}} [include] [a.rs]"]);
        assert!(spans("{{#include}} {{#include }} {{#include a}b}} {{#}}").is_empty());
        assert_eq!(spans("{{#include  }}"), ["{{#include  }} [include] [ ]"]);
        // An escape reaches to the last `}}` of its line, swallowing a directive after it.
        assert_eq!(spans(r"\{{#include a.rs}} {{#include b.rs}}"), [r"escaped \{{#include a.rs}} {{#include b.rs}}"]);
        // Without a `}}` on its line the backslash escapes nothing.
        assert_eq!(spans("\\{{#include a.rs\n}}"), ["{{#include a.rs\n}} [include] [a.rs\n]"]);
        assert_eq!(spans("{{{#include a}}"), ["{{#include a}} [include] [a]"]);
    }

    #[test]
    fn parses_what_mdbook_parses() {
        assert_eq!(
            Directive::parse("include", "a.rs:2:10 extra"),
            Some(Directive::Include { path: "a.rs", lines: Lines::Range(1, Some(10)) })
        );
        assert_eq!(Directive::parse("include", " "), None);
        assert_eq!(Directive::parse("toc", "x"), None);
        assert_eq!(
            Directive::parse("include", "a.rs:"),
            Some(Directive::Include { path: "a.rs", lines: Lines::Range(0, None) })
        );
        assert_eq!(
            Directive::parse("include", "a.rs:name:"),
            Some(Directive::Include { path: "a.rs", lines: Lines::Anchor("name") })
        );
        assert_eq!(
            Directive::parse("playpen", "a.rs editable ignore"),
            Some(Directive::Playground { path: "a.rs", attributes: vec!["editable", "ignore"], old_name: true })
        );
        assert_eq!(Directive::parse("title", "My Title"), Some(Directive::Title("My Title")));
    }
}
