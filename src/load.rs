//! Stage 1, load: the book folder → [`BookSources`]: config and outline; chapter texts on demand.
//!
//! This is the only stage that reads the book (through [`ReadRoot`], which refuses anything outside
//! the read root, symlinks included). Assets that chapters refer to are read later through the
//! same `ReadRoot`, once the renderer knows which ones are used.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::{self, BookConfig};
use crate::diagnostic::{Diagnostic, SourceText};
use crate::files::{ReadError, ReadRoot, TextError};
use crate::include;
use crate::outline::{self, Outline};

/// One chapter's Markdown after `{{#include}}` expansion, with the map back to the author's files.
#[derive(Debug)]
pub struct ChapterSource {
    /// Path relative to the `src` folder, as in `SUMMARY.md`.
    pub path: PathBuf,
    /// Title from `SUMMARY.md`.
    pub title: String,
    /// The expanded Markdown and where each piece came from.
    pub text: include::Expanded,
}

/// Everything read from the book folder.
#[derive(Debug)]
pub struct BookSources {
    /// The folder reads go through.
    pub root: ReadRoot,
    /// `book.toml`, kept for diagnostics about its values.
    pub config_source: SourceText,
    /// The validated config.
    pub config: BookConfig,
    /// `SUMMARY.md`, kept for diagnostics about its entries.
    pub summary: SourceText,
    /// The reading order; chapter texts are read from it with [`BookSources::read_chapter`].
    pub outline: Outline,
    /// What the chapters' texts may still add up to.
    pub text_budget: include::Budget,
    /// The book mdBook handed over, when folio runs as its renderer: the outline and the chapters'
    /// texts come from it instead of the book folder.
    pub given: Option<Arc<crate::mdbook::Given>>,
}

/// How to have mdBook run the preprocessors and folio after them.
const PREPROCESSOR_HINT: &str =
    "to run them, add `[output.folio]` with `command = \"folio mdbook\"` to book.toml and build with `mdbook build`";

/// Reads the book folder (`given`: what mdBook handed over, when folio runs as its renderer). `None` when
/// the config or outline cannot be read; diagnostics either way.
pub fn load(root: &ReadRoot, given: Option<&Arc<crate::mdbook::Given>>) -> (Option<BookSources>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let config_source = match root.read_text(Path::new("book.toml")) {
        Ok(s) => s,
        Err(e) => {
            let shown = root.display_path(Path::new("book.toml"));
            diags.push(e.diagnostic(&shown, "book.toml", None));
            return (None, diags);
        }
    };
    let (config, config_diags) = config::load(&config_source);
    diags.extend(config_diags);
    let Some(mut config) = config else { return (None, diags) };
    config.resolve_mdbook_epub_paths(|path| root.stamp(path).is_ok());
    if let Some(first) = config.preprocessors.first().filter(|_| given.is_none()) {
        let names: Vec<String> = config.preprocessors.iter().map(|p| format!("`{}`", p.value)).collect();
        let message = format!(
            "`folio build` does not run mdBook preprocessors ({}); what they would change stays as written",
            names.join(", ")
        );
        diags.push(config_source.warning(first.range.clone(), message).with_hint(PREPROCESSOR_HINT));
    }

    let summary_path = config.src.join("SUMMARY.md");
    if let Some(given) = given {
        let summary = SourceText::new(root.display_path(&summary_path), given.summary());
        let outline = given.outline.clone();
        if outline.chapter_count() == 0 {
            diags.push(Diagnostic::error(&summary.path, "mdBook handed over a book without chapters"));
        }
        let text_budget = include::Budget::default();
        let given = Some(Arc::clone(given));
        return (
            Some(BookSources { root: root.clone(), config_source, config, summary, outline, text_budget, given }),
            diags,
        );
    }
    let summary = match root.read_text(&summary_path) {
        Ok(s) => s,
        Err(e) => {
            let shown = root.display_path(&summary_path);
            let missing = matches!(&e, TextError::Read(ReadError::Io(io)) if io.kind() == io::ErrorKind::NotFound);
            let d = e.diagnostic(&shown, "SUMMARY.md", None);
            diags.push(if missing {
                d.with_hint(format!(
                    "create {} to list the chapters in reading order, for example:\n    # Summary\n    - [Introduction](introduction.md)\n    - [The first chapter](chapter-1.md)",
                    shown.display()
                ))
            } else {
                d
            });
            return (None, diags);
        }
    };
    let (outline, outline_diags) = outline::parse(&summary);
    diags.extend(outline_diags);

    // Chapters are read later, one by one as they are finished (`BookSources::read_chapter`): a rebuild
    // hashes each text and drops it at once when the cache has the chapter, instead of holding the
    // whole book in memory.
    let text_budget = include::Budget::default();
    (Some(BookSources { root: root.clone(), config_source, config, summary, outline, text_budget, given: None }), diags)
}

impl BookSources {
    /// Reads the chapter at `path` (relative to `src`) of an outline entry and expands its includes; a
    /// chapter that cannot be read gives no source and an error at its line in `SUMMARY.md`.
    pub fn read_chapter(&self, entry: &outline::Entry, path: &Path) -> (Option<ChapterSource>, Vec<Diagnostic>) {
        let relative = self.config.src.join(path);
        if let Some(text) = self.given.as_ref().and_then(|given| given.texts.get(path)) {
            // mdBook expanded the directives already; they are not expanded twice.
            let source = SourceText::new(self.root.display_path(&relative), text.clone());
            let text = include::Expanded::plain(source);
            if !self.text_budget.take(text.cost()) {
                let message = "the book's chapters add up to more than folio reads; this chapter is left out";
                return (None, vec![Diagnostic::error(&text.chapter_file().path, message)]);
            }
            return (Some(ChapterSource { path: path.to_path_buf(), title: entry.title.clone(), text }), Vec::new());
        }
        match self.root.read_text_stamped(&relative) {
            Ok((source, stamp)) => {
                let (text, include_diags) =
                    include::expand(&self.root, &self.config.src, path, source, stamp, &self.text_budget);
                (Some(ChapterSource { path: path.to_path_buf(), title: entry.title.clone(), text }), include_diags)
            }
            Err(e) => {
                let shown = self.root.display_path(&relative);
                (None, vec![e.diagnostic(&shown, "chapter", Some((&self.summary, entry.range.clone())))])
            }
        }
    }
}
