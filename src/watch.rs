//! `folio watch`: build, then rebuild whenever a file in the book folder changes, until Ctrl-C.
//!
//! Rebuilds go through the cache, so only edited chapters are rendered again. A build with errors
//! prints them and leaves the last good EPUB in place.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use notify::{Event, EventKind, RecursiveMode, Watcher};

use super::{BuildArgs, book_dir, cache_dir, escape_controls, fail, run_build};

/// Quiet time after the last change before rebuilding: editors write a file in several steps.
const DEBOUNCE: Duration = Duration::from_millis(150);

pub(crate) fn run(mut args: BuildArgs) -> ExitCode {
    let dir = match book_dir(args.book.clone()) {
        Ok(d) => d,
        Err(message) => return ExitCode::from(fail(message)),
    };
    args.book = Some(dir.clone());
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    if let Err(e) = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst)) {
        return ExitCode::from(fail(format!("cannot catch Ctrl-C ({e})")));
    }
    let _ = run_build(&args);
    let (tx, rx) = mpsc::channel::<notify::Result<Event>>();
    let mut watcher = match notify::recommended_watcher(tx) {
        Ok(w) => w,
        Err(e) => return ExitCode::from(fail(format!("cannot watch files ({e})"))),
    };
    let watched = args.root.clone().unwrap_or_else(|| dir.clone());
    let watched = absolute(&watched).unwrap_or(watched);
    if let Err(e) = watcher.watch(&watched, RecursiveMode::Recursive) {
        return ExitCode::from(fail(format!("cannot watch '{}' ({e})", watched.display())));
    }
    eprintln!("watching {} for changes (Ctrl-C to stop)", escape_controls(&watched.display().to_string()));
    let ignored = Ignored { cache: cache_dir(&args).and_then(|c| absolute(&c)) };
    while !stop.load(Ordering::SeqCst) {
        let first = match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(event) => event,
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        // Editors write a file in several steps: wait for a quiet spell, then build once.
        let mut changed = ignored.change(first);
        while let Ok(event) = rx.recv_timeout(DEBOUNCE) {
            let next = ignored.change(event);
            changed = changed.or(next);
        }
        if let Some(path) = changed {
            eprintln!("changed: {}", escape_controls(&path.display().to_string()));
            let _ = run_build(&args);
        }
    }
    eprintln!("stopped watching");
    ExitCode::SUCCESS
}

/// What folio writes itself (EPUBs, their temporary files, the cache), so its own writes never
/// trigger a rebuild; a book never reads an `.epub`.
struct Ignored {
    cache: Option<PathBuf>,
}

impl Ignored {
    /// The changed file an event reports, unless it only read a file (every build reads the whole
    /// book, so reads must not trigger builds) or touched what folio writes itself.
    fn change(&self, event: notify::Result<Event>) -> Option<PathBuf> {
        match event {
            Ok(event) if !matches!(event.kind, EventKind::Access(_)) => {
                event.paths.into_iter().find(|path| !self.covers(path))
            }
            Ok(_) => None,
            Err(e) => {
                eprintln!("warning: file watching failed ({})", escape_controls(&e.to_string()));
                None
            }
        }
    }

    fn covers(&self, path: &Path) -> bool {
        let name = path.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
        name.ends_with(".tmp") || name.ends_with(".epub") || self.cache.as_deref().is_some_and(|c| path.starts_with(c))
    }
}

fn absolute(path: &Path) -> Option<PathBuf> {
    std::path::absolute(path).ok()
}
