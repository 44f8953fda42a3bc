//! Diagnostics: what every stage returns instead of printing.
//!
//! Stages keep byte ranges into the author's files; a [`SourceText`] turns them into 1-based
//! line:column (in characters) at the moment a diagnostic is made, so the printer needs no file.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Severity {
    /// The book cannot be built.
    Error,
    /// The book builds, but something is probably not what the author meant.
    Warning,
}

impl Severity {
    /// The word diagnostics show: `error` or `warning`.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// A 1-based line and column (columns count characters, not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Position {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

/// One problem found in a book, located in the author's own files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// The file the problem is in.
    pub path: PathBuf,
    /// Where in that file, when a position is known.
    pub position: Option<Position>,
    /// Error or warning.
    pub severity: Severity,
    /// Lower case, no final period.
    pub message: String,
    /// How to fix it, when that is obvious.
    pub hint: Option<String>,
}

impl Diagnostic {
    /// An error for a whole file (no position).
    pub fn error(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self::new(path.into(), None, Severity::Error, message.into())
    }

    /// A warning for a whole file (no position).
    pub fn warning(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self::new(path.into(), None, Severity::Warning, message.into())
    }

    fn new(path: PathBuf, position: Option<Position>, severity: Severity, message: String) -> Self {
        Self { path, position, severity, message, hint: None }
    }

    /// Adds a hint line.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// What kind of problem this is, for showing a few of each kind: the message with what it quotes
    /// (`'…'`, `` `…` ``, `"…"`) and its numbers left out, so "no heading '#a' in 'x.md'" and "no heading
    /// '#b' in 'y.md'" are one kind.
    pub fn kind(&self) -> String {
        let mut kind = String::with_capacity(self.message.len());
        let mut chars = self.message.chars().peekable();
        let mut previous = ' ';
        while let Some(c) = chars.next() {
            let opens = matches!(c, '\'' | '`' | '"') && !previous.is_alphanumeric();
            if opens {
                // To the closing quote: the same character not followed by a letter or digit.
                while let Some(inner) = chars.next() {
                    if inner == c && !chars.peek().is_some_and(|n| n.is_alphanumeric()) {
                        break;
                    }
                }
                kind.push('…');
            } else if c.is_ascii_digit() {
                while chars.peek().is_some_and(char::is_ascii_digit) {
                    chars.next();
                }
                kind.push('#');
            } else {
                kind.push(c);
            }
            previous = c;
        }
        kind
    }

    /// Sort key: path, then position (file-level diagnostics first), then message.
    fn sort_key(&self) -> (&Path, Option<Position>, Severity, &str) {
        (&self.path, self.position, self.severity, &self.message)
    }
}

/// How a diagnostic looks: the colours cargo gives its own on a terminal, or none.
#[derive(Debug, Clone, Copy)]
pub struct Palette {
    location: anstyle::Style,
    error: anstyle::Style,
    warning: anstyle::Style,
    hint: anstyle::Style,
}

impl Palette {
    /// No escape codes: for files, pipes and tests.
    pub const PLAIN: Palette = Palette {
        location: anstyle::Style::new(),
        error: anstyle::Style::new(),
        warning: anstyle::Style::new(),
        hint: anstyle::Style::new(),
    };

    /// Bold locations, red errors, yellow warnings, cyan hints. The stream they are written to decides
    /// whether the codes stay (a terminal) or are stripped (a pipe, `NO_COLOR`).
    pub const COLOURED: Palette = Palette {
        location: anstyle::Style::new().bold(),
        error: anstyle::AnsiColor::Red.on_default().bold(),
        warning: anstyle::AnsiColor::Yellow.on_default().bold(),
        hint: anstyle::AnsiColor::Cyan.on_default().bold(),
    };

    /// The style of a severity's label.
    pub fn severity(&self, severity: Severity) -> anstyle::Style {
        match severity {
            Severity::Error => self.error,
            Severity::Warning => self.warning,
        }
    }
}

impl Diagnostic {
    /// The diagnostic as text in `palette`'s colours.
    pub fn styled(&self, palette: Palette) -> impl fmt::Display + '_ {
        Styled(self, palette)
    }
}

struct Styled<'a>(&'a Diagnostic, Palette);

impl fmt::Display for Styled<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Styled(d, palette) = self;
        let (location, label, hint) = (palette.location, palette.severity(d.severity), palette.hint);
        let severity = d.severity.name();
        // File names and messages carry the book's text: shown escaped, they cannot drive the terminal.
        write!(f, "{location}{}", escape_controls(&d.path.display().to_string()))?;
        if let Some(p) = d.position {
            write!(f, ":{}:{}", p.line, p.column)?;
        }
        write!(f, ":{location:#} {label}{severity}{label:#}: {}", escape_controls(&d.message))?;
        if let Some(text) = &d.hint {
            // A hint may run over several lines (an example to copy); each is escaped on its own.
            for (i, line) in text.split('\n').enumerate() {
                let head = if i == 0 { format!("{hint}hint{hint:#}: ") } else { String::new() };
                write!(f, "\n{head}{}", escape_controls(line))?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.styled(Palette::PLAIN).fmt(f)
    }
}

/// `text` with every control character escaped as Rust writes it (`\u{1b}`, `\n`, `\t`), and the
/// characters that reorder bidirectional text (`\u{202e}`), which can make a line show something other
/// than what it says: text from a book (a file name, a heading) printed to a terminal could otherwise
/// move the cursor, retitle the window or clear the screen.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    let escaped = |c: char| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if !text.chars().any(escaped) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if escaped(c) {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A place in an author file, kept for a diagnostic that a later stage may need to make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// The file.
    pub path: PathBuf,
    /// The position in it, when known.
    pub position: Option<Position>,
}

impl Location {
    /// A diagnostic at this place.
    pub fn diagnostic(&self, severity: Severity, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(self.path.clone(), self.position, severity, message.into())
    }

    /// An error at this place.
    pub fn error(&self, message: impl Into<String>) -> Diagnostic {
        self.diagnostic(Severity::Error, message)
    }

    /// A warning at this place.
    pub fn warning(&self, message: impl Into<String>) -> Diagnostic {
        self.diagnostic(Severity::Warning, message)
    }
}

/// Sorts diagnostics by path and position and drops exact repeats, as the contract asks.
pub fn sort(diagnostics: &mut Vec<Diagnostic>) {
    diagnostics.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    diagnostics.dedup();
}

/// The text of one author file, able to turn byte offsets into positions.
#[derive(Debug)]
pub struct SourceText {
    /// Path as shown in diagnostics.
    pub path: PathBuf,
    /// The file's text.
    pub text: String,
    line_starts: OnceLock<Vec<usize>>,
}

impl SourceText {
    /// Wraps a file's text; the line index is built only when a diagnostic needs it.
    pub fn new(path: impl Into<PathBuf>, text: String) -> Self {
        Self { path: path.into(), text, line_starts: OnceLock::new() }
    }

    /// The 1-based position of a byte offset (clamped to the text, snapped to a char boundary).
    pub fn position(&self, offset: usize) -> Position {
        let starts = self
            .line_starts
            .get_or_init(|| std::iter::once(0).chain(self.text.match_indices('\n').map(|(i, _)| i + 1)).collect());
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = starts.partition_point(|&s| s <= offset) - 1;
        let column = self.text[starts[line]..offset].chars().count() + 1;
        Position { line: line + 1, column }
    }

    /// A diagnostic at the start of `range`.
    pub fn at(&self, range: Range<usize>, severity: Severity, message: impl Into<String>) -> Diagnostic {
        self.location(range.start).diagnostic(severity, message)
    }

    /// The location of a byte offset, for a diagnostic made later.
    pub fn location(&self, offset: usize) -> Location {
        Location { path: self.path.clone(), position: Some(self.position(offset)) }
    }

    /// An error at the start of `range`.
    pub fn error(&self, range: Range<usize>, message: impl Into<String>) -> Diagnostic {
        self.at(range, Severity::Error, message)
    }

    /// A warning at the start of `range`.
    pub fn warning(&self, range: Range<usize>, message: impl Into<String>) -> Diagnostic {
        self.at(range, Severity::Warning, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let src = SourceText::new("a.md", "ab\nçé x\n".to_string());
        assert_eq!(src.position(0), Position { line: 1, column: 1 });
        assert_eq!(src.position(3), Position { line: 2, column: 1 });
        // "çé " is 5 bytes but 3 characters.
        assert_eq!(src.position(8), Position { line: 2, column: 4 });
        // An offset inside a multi-byte character snaps back to its start.
        assert_eq!(src.position(4), Position { line: 2, column: 1 });
    }

    #[test]
    fn display_follows_the_contract() {
        let src = SourceText::new("book/src/one.md", "x\n[^a]".to_string());
        let d = src.error(2..6, "undefined footnote '^a'").with_hint("add a definition");
        assert_eq!(d.to_string(), "book/src/one.md:2:1: error: undefined footnote '^a'\nhint: add a definition");
        assert_eq!(Diagnostic::warning("book.toml", "x").to_string(), "book.toml: warning: x");
    }

    /// Issue #12, class 8: warnings that differ only in what they quote and count are one kind.
    #[test]
    fn kinds_leave_out_quotes_and_numbers() {
        let kind = |message: &str| Diagnostic::warning("a.md", message).kind();
        assert_eq!(kind("no heading or anchor '#a' in 'x.md'"), kind("no heading or anchor '#b-2' in 'y/z.md'"));
        assert_eq!(kind("heading level jumps from 1 to 3"), "heading level jumps from # to #");
        assert_eq!(kind("the chapter's first heading is level `3`"), "the chapter's first heading is level …");
        assert_ne!(kind("no heading '#a'"), kind("unknown key `a`"));
    }

    /// Issue #20, class 9: nothing printed can drive the terminal.
    #[test]
    fn control_characters_are_shown_escaped() {
        let d = Diagnostic::error("book/src/\u{1b}]0;owned\u{7}.md", "cannot read chapter 'a\rb\u{9b}c'")
            .with_hint("\u{202e}txt.exe\u{1b}[2J");
        assert_eq!(
            d.to_string(),
            "book/src/\\u{1b}]0;owned\\u{7}.md: error: cannot read chapter 'a\\rb\\u{9b}c'\n\
             hint: \\u{202e}txt.exe\\u{1b}[2J"
        );
        assert!(!d.to_string().chars().any(|c| c.is_control() && c != '\n'));
        assert_eq!(escape_controls("plain – text ✓"), "plain – text ✓");
        assert_eq!(escape_controls("tab\there"), "tab\\there");
    }
}
