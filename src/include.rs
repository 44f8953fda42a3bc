//! mdBook's `{{#include}}` and `{{#rustdoc_include}}`, expanded before parsing, with a map from
//! the expanded text back to the author's files so diagnostics keep pointing at what they wrote.
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
use crate::load::{ReadRoot, Stamp};
use crate::outline::normalize_relative;

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
        Self { expanded: None, files: vec![source], stamps: vec![stamp], segments, cost }
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
    // memchr's searcher: this runs over every byte of the book on every build.
    if memchr::memmem::find(single.text().as_bytes(), b"{{#").is_none() {
        return (single, Vec::new());
    }
    let out = Expanded { expanded: Some(String::with_capacity(single.cost as usize)), segments: vec![], ..single };
    let read = HashMap::from([(book_relative.clone(), 0)]);
    let mut expander = Expander { root, out, diags: Vec::new(), budget, read, exhausted: false };
    expander.expand_file(0, &book_relative, 0);
    (expander.out, expander.diags)
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

/// A parsed `{{#name args}}`.
struct Directive {
    range: Range<usize>,
    name: String,
    args: String,
}

impl Expander<'_> {
    /// Appends `files[file]` (whose path relative to the book folder is `path`), expanding directives.
    fn expand_file(&mut self, file: usize, path: &Path, depth: usize) {
        let text_len = self.out.files[file].text.len();
        self.expand_range(file, path, 0..text_len, depth);
    }

    fn copy(&mut self, file: usize, range: Range<usize>) {
        if range.is_empty() {
            return;
        }
        let out = self.out.expanded.as_mut().expect("expanding");
        self.out.segments.push(Segment { start: out.len(), file, file_start: range.start });
        out.push_str(&self.out.files[file].text[range]);
    }

    /// Takes `cost` from the budget; false (with an error at `drange` of `file`) when it is spent.
    fn pay(&mut self, cost: u64, file: usize, drange: &Range<usize>, target: &str) -> bool {
        if self.budget.take(cost) {
            self.out.cost += cost;
            return true;
        }
        self.exhausted = true;
        let message = over_budget(&format!("`{target}` is not included"));
        self.diags.push(self.out.files[file].error(drange.clone(), message).with_hint(OVER_BUDGET_HINT));
        false
    }

    fn expand_range(&mut self, file: usize, path: &Path, range: Range<usize>, depth: usize) {
        let mut pos = range.start;
        for directive in find_directives(&self.out.files[file].text[range.clone()], range.start) {
            if self.exhausted {
                break;
            }
            let Directive { range: drange, name, args } = directive;
            let escaped = drange.start > 0 && self.out.files[file].text.as_bytes()[drange.start - 1] == b'\\';
            if escaped {
                // `\{{#include x}}` is written out without its backslash, as mdBook does.
                self.copy(file, pos..drange.start - 1);
                self.copy(file, drange.clone());
                pos = drange.end;
                continue;
            }
            self.copy(file, pos..drange.start);
            pos = drange.end;
            match name.as_str() {
                "include" | "rustdoc_include" => {
                    if !self.include(file, path, drange.clone(), &args, depth) {
                        self.copy(file, drange);
                    }
                }
                other => {
                    let source = &self.out.files[file];
                    self.diags.push(source.warning(
                        drange.clone(),
                        format!("mdBook directive `{{{{#{other}}}}}` is not supported and is left as text"),
                    ));
                    self.copy(file, drange);
                }
            }
        }
        self.copy(file, pos..range.end);
    }

    /// Expands one include; false when it could not, so the directive stays as text.
    fn include(&mut self, file: usize, path: &Path, drange: Range<usize>, args: &str, depth: usize) -> bool {
        let (target, selector) = match args.trim().split_once(':') {
            Some((t, s)) => (t.trim(), Some(s.trim())),
            None => (args.trim(), None),
        };
        let here = path.parent().unwrap_or(Path::new(""));
        let warn = |this: &mut Self, message: String| {
            let d = this.out.files[file].warning(drange.clone(), message);
            this.diags.push(d);
            false
        };
        if !self.pay(INCLUDE_COST, file, &drange, target) {
            return true;
        }
        if depth >= MAX_DEPTH {
            return warn(
                self,
                format!("includes nest deeper than {MAX_DEPTH} levels (a cycle?); `{target}` is not included"),
            );
        }
        let Some(relative) = normalize_relative(here, Path::new(target)).filter(|_| !Path::new(target).is_absolute())
        else {
            return warn(self, format!("include '{target}' is outside the book folder and is left as text"));
        };
        // A file included again is not read again: its text is already among the chapter's files.
        let included = match self.read.get(&relative) {
            Some(&index) => index,
            None => {
                let (source, stamp) = match self.root.read_text_stamped(&relative) {
                    Ok(read) => read,
                    Err(crate::load::TextError::Read(crate::load::ReadError::OutsideRoot)) => {
                        return warn(
                            self,
                            format!("include '{target}' is outside the book folder and is left as text"),
                        );
                    }
                    Err(e) => {
                        let shown = self.root.display_path(&relative);
                        let d = e.diagnostic(&shown, "included file", Some((&self.out.files[file], drange)));
                        self.diags.push(d);
                        return true;
                    }
                };
                if !self.pay(source.text.len() as u64, file, &drange, target) {
                    return true;
                }
                self.out.files.push(source);
                self.out.stamps.push(stamp.map(|stamp| (relative.clone(), stamp)));
                let index = self.out.files.len() - 1;
                self.read.insert(relative.clone(), index);
                index
            }
        };
        let text = &self.out.files[included].text;
        let lines = line_ranges(text);
        let selected = match select_lines(text, &lines, selector) {
            Ok(sel) => sel,
            Err(message) => return warn(self, format!("{message} in include '{target}'; it is left as text")),
        };
        let selected_len: usize = selected.iter().map(|r| r.len()).sum();
        if !self.pay(selected_len as u64, file, &drange, target) {
            return true;
        }
        let path: PathBuf = relative;
        for range in selected {
            self.expand_range(included, &path, range, depth + 1);
        }
        true
    }
}

/// Finds `{{#name args}}` directives in `text` (offsets shifted by `base`).
fn find_directives(text: &str, base: usize) -> Vec<Directive> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(start) = text[from..].find("{{#").map(|i| i + from) {
        let Some(end) = text[start..].find("}}").map(|i| i + start + 2) else { break };
        let inner = &text[start + 3..end - 2];
        if inner.contains('\n') || inner.contains("{{") {
            from = start + 3;
            continue;
        }
        let (name, args) = inner.split_once(char::is_whitespace).unwrap_or((inner, ""));
        found.push(Directive { range: base + start..base + end, name: name.to_string(), args: args.to_string() });
        from = end;
    }
    found
}

/// Byte ranges of each line, newline included.
fn line_ranges(text: &str) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut start = 0;
    for (i, _) in text.match_indices('\n') {
        ranges.push(start..i + 1);
        start = i + 1;
    }
    if start < text.len() {
        ranges.push(start..text.len());
    }
    ranges
}

/// The lines an include selects: all, `N`, `N:`, `:M`, `N:M` (1-based) or an `ANCHOR` name.
/// Lines holding `ANCHOR:`/`ANCHOR_END:` markers are always dropped, as in mdBook.
fn select_lines(text: &str, lines: &[Range<usize>], selector: Option<&str>) -> Result<Vec<Range<usize>>, String> {
    let is_marker = |r: &Range<usize>| {
        let line = &text[r.clone()];
        line.contains("ANCHOR:") || line.contains("ANCHOR_END:")
    };
    let chosen: Vec<Range<usize>> = match selector {
        None | Some("") => lines.to_vec(),
        Some(sel) if sel.chars().next().is_some_and(|c| c.is_ascii_digit() || c == ':') => {
            let parse = |s: &str| {
                if s.is_empty() {
                    Ok(None)
                } else {
                    s.parse::<usize>().map(Some).map_err(|_| format!("bad line range '{sel}'"))
                }
            };
            let (from, to) = match sel.split_once(':') {
                Some((a, b)) => (parse(a)?.unwrap_or(1), parse(b)?.unwrap_or(lines.len())),
                None => {
                    let n = parse(sel)?.unwrap_or(1);
                    (n, n)
                }
            };
            lines.iter().skip(from.saturating_sub(1)).take((to + 1).saturating_sub(from.max(1))).cloned().collect()
        }
        Some(anchor) => {
            let start = lines.iter().position(|r| {
                let line = &text[r.clone()];
                line.split("ANCHOR:").nth(1).is_some_and(|rest| rest.trim() == anchor)
            });
            let Some(start) = start else { return Err(format!("anchor '{anchor}' not found")) };
            let end = lines[start..]
                .iter()
                .position(|r| text[r.clone()].split("ANCHOR_END:").nth(1).is_some_and(|rest| rest.trim() == anchor))
                .map_or(lines.len(), |i| start + i);
            lines[start + 1..end].to_vec()
        }
    };
    // Merge adjacent kept lines into runs so the source map stays small.
    let mut runs: Vec<Range<usize>> = Vec::new();
    for r in chosen.into_iter().filter(|r| !is_marker(r)) {
        match runs.last_mut() {
            Some(last) if last.end == r.start => last.end = r.end,
            _ => runs.push(r),
        }
    }
    // Like mdBook, the selection ends without its last newline: the directive's own line break follows.
    if let Some(last) = runs.last_mut()
        && text[last.clone()].ends_with('\n')
    {
        last.end -= 1;
    }
    runs.retain(|r| !r.is_empty());
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn select(text: &str, sel: Option<&str>) -> String {
        let lines = line_ranges(text);
        select_lines(text, &lines, sel).unwrap().into_iter().map(|r| &text[r]).collect()
    }

    #[test]
    fn line_ranges_and_anchors() {
        let text = "a\nb\n// ANCHOR: x\nc\n// ANCHOR_END: x\nd\n";
        assert_eq!(select(text, None), "a\nb\nc\nd");
        assert_eq!(select(text, Some("2")), "b");
        assert_eq!(select(text, Some("2:4")), "b\nc");
        assert_eq!(select(text, Some(":2")), "a\nb");
        assert_eq!(select(text, Some("6:")), "d");
        assert_eq!(select(text, Some("x")), "c");
        assert!(select_lines(text, &line_ranges(text), Some("nope")).is_err());
    }

    #[test]
    fn finds_directives() {
        let found = find_directives("x {{#include a.rs:2}} {{#title T}}", 10);
        assert_eq!(found.len(), 2);
        assert_eq!(
            (found[0].name.as_str(), found[0].args.as_str(), found[0].range.clone()),
            ("include", "a.rs:2", 12..31)
        );
        assert_eq!(found[1].name, "title");
    }
}
