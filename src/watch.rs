//! `folio watch`: build, then rebuild whenever a file in the book folder changes, until Ctrl-C.
//!
//! Rebuilds go through the cache, so only edited chapters are rendered again. A build with errors
//! prints them and leaves the last good EPUB in place. `folio serve` watches the book the same way,
//! through [`Changes`].

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};

use super::{BuildArgs, book_dir, cache_dir, escape_controls, fail, run_build};

/// Quiet time after the last change before rebuilding: editors write a file in several steps.
const DEBOUNCE: Duration = Duration::from_millis(150);

pub(crate) fn run(mut args: BuildArgs) -> ExitCode {
    let dir = match book_dir(args.book.clone()) {
        Ok(d) => d,
        Err(message) => return ExitCode::from(fail(message)),
    };
    args.book = Some(dir.clone());
    let stop = match stop_on_ctrl_c() {
        Ok(stop) => stop,
        Err(code) => return ExitCode::from(code),
    };
    let _ = run_build(&args);
    let changes = match Changes::watch(&args, &dir, DEBOUNCE) {
        Ok(changes) => changes,
        Err(code) => return ExitCode::from(code),
    };
    while let Some(path) = changes.next(&stop) {
        eprintln!("changed: {}", escape_controls(&path.display().to_string()));
        let _ = run_build(&args);
    }
    eprintln!("stopped watching");
    ExitCode::SUCCESS
}

/// A flag that Ctrl-C (SIGINT) sets.
pub(crate) fn stop_on_ctrl_c() -> Result<Arc<AtomicBool>, u8> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst))
        .map_err(|e| fail(format!("cannot catch Ctrl-C ({e})")))?;
    Ok(stop)
}

/// Saves to the book folder (or `--root`), one per burst of writes.
pub(crate) struct Changes {
    events: mpsc::Receiver<notify::Result<Event>>,
    ignored: Ignored,
    debounce: Duration,
    /// Watching lasts as long as the watcher does.
    _watcher: RecommendedWatcher,
}

impl Changes {
    /// Starts watching the folder `args` read from, and says so on stderr.
    pub(crate) fn watch(args: &BuildArgs, dir: &Path, debounce: Duration) -> Result<Self, u8> {
        let (tx, events) = mpsc::channel::<notify::Result<Event>>();
        let mut watcher = notify::recommended_watcher(tx).map_err(|e| fail(format!("cannot watch files ({e})")))?;
        let watched = args.root.clone().unwrap_or_else(|| dir.to_path_buf());
        let watched = absolute(&watched).unwrap_or(watched);
        watcher
            .watch(&watched, RecursiveMode::Recursive)
            .map_err(|e| fail(format!("cannot watch '{}' ({e})", watched.display())))?;
        eprintln!("watching {} for changes (Ctrl-C to stop)", escape_controls(&watched.display().to_string()));
        let ignored = Ignored { cache: cache_dir(args).and_then(|c| absolute(&c)) };
        Ok(Self { events, ignored, debounce, _watcher: watcher })
    }

    /// Waits for the next change and returns a file it touched, once writes have been quiet for the
    /// debounce time; `None` once `stop` is set.
    pub(crate) fn next(&self, stop: &AtomicBool) -> Option<PathBuf> {
        while !stop.load(Ordering::SeqCst) {
            let first = match self.events.recv_timeout(Duration::from_millis(100)) {
                Ok(event) => event,
                Err(mpsc::RecvTimeoutError::Timeout) => continue,
                Err(mpsc::RecvTimeoutError::Disconnected) => return None,
            };
            // Editors write a file in several steps: wait for a quiet spell, then report it once.
            let mut changed = self.ignored.change(first);
            while let Ok(event) = self.events.recv_timeout(self.debounce) {
                let next = self.ignored.change(event);
                changed = changed.or(next);
            }
            if changed.is_some() {
                return changed;
            }
        }
        None
    }
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
