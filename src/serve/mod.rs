//! `folio serve`: builds the book, serves a reader for it on localhost, and rebuilds on every save.
//!
//! The reader (reader.html, reader.css, reader.js, compiled in) shows the package's own XHTML in a
//! sandboxed frame and lays it out in pages with CSS columns (page.css). Every file is served from the
//! last good package in memory, never from disk. After each build, server-sent events tell open pages
//! to reload the chapter they show, or list the diagnostics of a build that failed.

use std::collections::HashMap;
use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use folio::diagnostic::escape_controls;
use folio::document::{Entry, Epub};
use tiny_http::{Header, Method, Request, Response};

use super::watch::{Changes, stop_on_ctrl_c};
use super::{BuildArgs, book_dir, build_reported, counted, fail, shown_path};

const READER_HTML: &str = include_str!("reader.html");
const READER_CSS: &str = include_str!("reader.css");
const READER_JS: &str = include_str!("reader.js");
const PAGE_CSS: &str = include_str!("page.css");

/// Quiet time after the last write before rebuilding: shorter than `folio watch`'s, since a reader is
/// waiting, but long enough for the steps of one save (each takes microseconds to a millisecond).
const DEBOUNCE: Duration = Duration::from_millis(30);

/// Threads answering requests: a page asks for its document, stylesheets, fonts and images at once.
const WORKERS: usize = 4;

/// How often the server looks at the Ctrl-C flag while no request comes.
const POLL: Duration = Duration::from_millis(100);

/// Book documents may style themselves (tables align with `style`) but never run a script; they may be
/// framed only by the reader.
const BOOK_POLICY: &str = "default-src 'self'; script-src 'none'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; font-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'self'";

/// Where and how to serve.
pub(crate) struct ServeOptions {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) open: bool,
}

pub(crate) fn run(mut args: BuildArgs, options: &ServeOptions) -> ExitCode {
    match serve(&mut args, options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => ExitCode::from(code),
    }
}

fn serve(args: &mut BuildArgs, options: &ServeOptions) -> Result<(), u8> {
    let dir = book_dir(args.book.clone()).map_err(fail)?;
    args.book = Some(dir.clone());
    let stop = stop_on_ctrl_c()?;
    let listener = TcpListener::bind((options.host.as_str(), options.port))
        .map_err(|e| fail(format!("cannot listen on {}:{} ({e})", options.host, options.port)))?;
    let address = listener.local_addr().map_err(|e| fail(format!("cannot listen ({e})")))?;
    // tiny_http writes a response in several pieces; with Nagle's algorithm, a piece after the first on a
    // kept-alive connection waits for the browser's delayed acknowledgement, 40 ms a request. Connections
    // take the setting from the listener (Linux, the BSDs, macOS); without it pages are only slower.
    #[cfg(unix)]
    let _ = rustix::net::sockopt::set_tcp_nodelay(&listener, true);
    let server = tiny_http::Server::from_listener(listener, None)
        .map_err(|e| fail(format!("cannot listen on {address} ({e})")))?;
    let preview = Preview::default();
    preview.rebuild(args)?;
    let changes = Changes::watch(args, &dir, DEBOUNCE)?;
    let url = format!("http://{address}/");
    eprintln!("serving the book at {url} (Ctrl-C to stop)");
    if !address.ip().is_loopback() {
        eprintln!(
            "warning: serving on {address}: anyone who can reach this address can read the book; \
             without --host, folio serves on 127.0.0.1 only"
        );
    }
    std::thread::scope(|scope| {
        for _ in 0..WORKERS {
            scope.spawn(|| answer_requests(&server, &preview, &stop, address));
        }
        if options.open {
            open_in_browser(&url);
        }
        while let Some(path) = changes.next(&stop) {
            eprintln!("changed: {}", escape_controls(&path.display().to_string()));
            if preview.rebuild(args).is_err() {
                // The book folder is away (a checkout in progress, say); the next save builds again.
                preview.show_problems(vec![Problem::cannot_build(&dir)]);
            }
        }
    });
    eprintln!("stopped serving");
    Ok(())
}

/// What the reader shows: the last good package, and what is wrong with the book if the latest build failed.
#[derive(Default)]
struct Preview {
    shown: Mutex<Shown>,
    /// Open event streams, one per reader page.
    listeners: Mutex<Vec<Box<dyn Write + Send>>>,
}

#[derive(Default)]
struct Shown {
    /// The last good package.
    epub: Option<Arc<Epub>>,
    /// Counts good builds, so a reader knows whether what it shows is current.
    version: u64,
    /// The files of the package that the last good build changed, added or removed.
    changed: Vec<String>,
    /// The diagnostics of the latest build, when it failed.
    problems: Vec<Problem>,
}

/// One diagnostic as the reader lists it.
#[derive(serde::Serialize)]
struct Problem {
    /// `path:line:col`, as the terminal shows it.
    location: String,
    severity: &'static str,
    message: String,
    hint: Option<String>,
}

/// What an event tells a reader page.
#[derive(serde::Serialize)]
struct News<'a> {
    version: u64,
    changed: &'a [String],
    problems: &'a [Problem],
}

impl Preview {
    /// Builds the book and tells every reader page; a build with errors keeps the last good package.
    /// Fails only when folio cannot run at all (the book folder went away).
    fn rebuild(&self, args: &BuildArgs) -> Result<(), u8> {
        let started = Instant::now();
        let (_, build) = build_reported(args)?;
        let Some(epub) = build.epub else {
            let errors = build.diagnostics.iter().filter(|d| d.is_error()).count();
            eprintln!("could not build the book: {}; still showing the last good build", counted(errors, "error"));
            let cwd = std::env::current_dir().ok();
            self.show_problems(build.diagnostics.iter().map(|d| Problem::new(d, cwd.as_deref())).collect());
            return Ok(());
        };
        let mut shown = self.shown.lock().unwrap_or_else(PoisonError::into_inner);
        shown.changed = shown.epub.as_deref().map(|before| changed_files(before, &epub)).unwrap_or_default();
        shown.epub = Some(Arc::new(epub));
        shown.version += 1;
        shown.problems.clear();
        self.tell(shown);
        eprintln!("built in {} ms", started.elapsed().as_millis());
        Ok(())
    }

    /// Lists what is wrong with the book over the last good build.
    fn show_problems(&self, problems: Vec<Problem>) {
        let mut shown = self.shown.lock().unwrap_or_else(PoisonError::into_inner);
        shown.problems = problems;
        self.tell(shown);
    }

    /// Sends the preview's state to every open page.
    fn tell(&self, shown: std::sync::MutexGuard<'_, Shown>) {
        let event = event(&shown);
        drop(shown);
        self.listeners.lock().unwrap_or_else(PoisonError::into_inner).retain_mut(|listener| send(listener, &event));
    }

    fn epub(&self) -> Option<Arc<Epub>> {
        self.shown.lock().unwrap_or_else(PoisonError::into_inner).epub.clone()
    }
}

impl Problem {
    fn cannot_build(dir: &Path) -> Self {
        Self {
            location: dir.display().to_string(),
            severity: "error",
            message: "folio could not read the book folder (the terminal says why)".into(),
            hint: None,
        }
    }

    fn new(d: &folio::diagnostic::Diagnostic, cwd: Option<&Path>) -> Self {
        let path = shown_path(&d.path, cwd);
        let location = match d.position {
            Some(p) => format!("{}:{}:{}", path.display(), p.line, p.column),
            None => path.display().to_string(),
        };
        Self { location, severity: d.severity.name(), message: d.message.clone(), hint: d.hint.clone() }
    }
}

/// The paths of the files that differ between two packages, or that only one of them holds: a page whose
/// stylesheets, fonts and images are unchanged takes a new document in place.
fn changed_files(before: &Epub, after: &Epub) -> Vec<String> {
    let old: HashMap<&str, &Entry> = before.files.iter().map(|(path, entry)| (path.as_str(), entry)).collect();
    let new: HashMap<&str, &Entry> = after.files.iter().map(|(path, entry)| (path.as_str(), entry)).collect();
    let mut changed: Vec<String> = new
        .iter()
        .filter(|(path, entry)| old.get(*path) != Some(*entry))
        .chain(old.iter().filter(|(path, _)| !new.contains_key(*path)))
        .map(|(path, _)| path.to_string())
        .collect();
    changed.sort();
    changed
}

/// The server-sent event that tells a page the state of the preview.
fn event(shown: &Shown) -> String {
    let news = News { version: shown.version, changed: &shown.changed, problems: &shown.problems };
    // JSON holds no raw newline, so the event is one `data:` line.
    format!("data: {}\n\n", serde_json::to_string(&news).unwrap_or_default())
}

/// Writes an event; false once the page has gone.
fn send(listener: &mut Box<dyn Write + Send>, event: &str) -> bool {
    listener.write_all(event.as_bytes()).and_then(|()| listener.flush()).is_ok()
}

fn answer_requests(server: &tiny_http::Server, preview: &Preview, stop: &AtomicBool, address: SocketAddr) {
    while !stop.load(Ordering::SeqCst) {
        match server.recv_timeout(POLL) {
            Ok(Some(request)) => answer(request, preview, address),
            Ok(None) => {}
            Err(e) => eprintln!("warning: a request failed ({})", escape_controls(&e.to_string())),
        }
    }
}

fn answer(request: Request, preview: &Preview, address: SocketAddr) {
    // A page of another site that points its own name at this address (DNS rebinding) sends its own
    // name as Host: only requests for this address, or localhost, are answered.
    if !host_allowed(&request, address) {
        let _ = request.respond(Response::from_string("unknown host").with_status_code(421));
        return;
    }
    if !matches!(request.method(), Method::Get | Method::Head) {
        let _ = request.respond(Response::from_string("method not allowed").with_status_code(405));
        return;
    }
    let path = request.url().split(['?', '#']).next().unwrap_or_default().to_string();
    let response = match path.as_str() {
        "/" => reader_page(),
        "/_folio/reader.css" => asset(READER_CSS, "text/css; charset=utf-8"),
        "/_folio/reader.js" => asset(READER_JS, "text/javascript; charset=utf-8"),
        "/_folio/page.css" => asset(PAGE_CSS, "text/css; charset=utf-8"),
        "/_folio/events" => return open_events(request, preview),
        _ => match path.strip_prefix("/book/").and_then(|p| book_file(preview, p)) {
            Some(response) => response,
            None => Response::from_string("not found").with_status_code(404),
        },
    };
    let _ = request.respond(response);
}

fn host_allowed(request: &Request, address: SocketAddr) -> bool {
    // Served beyond this machine (`--host`), the book is open to whoever reaches it, under any name.
    if !address.ip().is_loopback() {
        return true;
    }
    let Some(host) = request.headers().iter().find(|h| h.field.equiv("Host")) else { return false };
    let host = host.value.as_str();
    let port = address.port();
    host == address.to_string()
        || [format!("localhost:{port}"), format!("127.0.0.1:{port}"), format!("[::1]:{port}")].iter().any(|h| h == host)
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("header names and values are ASCII")
}

/// A response that browsers neither keep nor guess the type of.
fn fresh(body: Vec<u8>, content_type: &str) -> Response<std::io::Cursor<Vec<u8>>> {
    Response::from_data(body)
        .with_header(header("Content-Type", content_type))
        .with_header(header("Cache-Control", "no-store"))
        .with_header(header("X-Content-Type-Options", "nosniff"))
}

fn asset(text: &str, content_type: &str) -> Response<std::io::Cursor<Vec<u8>>> {
    fresh(text.as_bytes().to_vec(), content_type)
}

/// The reader's page, whose one script is the reader's own: allowed by a nonce that changes with each load.
fn reader_page() -> Response<std::io::Cursor<Vec<u8>>> {
    let mut random = [0u8; 16];
    // Without randomness the nonce is still unknown to the book, which never sees the page's source.
    let _ = getrandom::fill(&mut random);
    let nonce: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let policy = format!(
        "default-src 'self'; script-src 'nonce-{nonce}'; style-src 'self'; img-src 'self' data:; \
         font-src 'self' data:; frame-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'none'; frame-ancestors 'none'"
    );
    fresh(READER_HTML.replace("{nonce}", &nonce).into_bytes(), "text/html; charset=utf-8")
        .with_header(header("Content-Security-Policy", &policy))
}

/// A file of the last good package, by its path in the zip.
fn book_file(preview: &Preview, path: &str) -> Option<Response<std::io::Cursor<Vec<u8>>>> {
    let path = percent_encoding::percent_decode_str(path).decode_utf8().ok()?;
    let epub = preview.epub()?;
    let bytes = epub.read(&path)?.into_owned();
    Some(fresh(bytes, media_type(&path)).with_header(header("Content-Security-Policy", BOOK_POLICY)))
}

fn media_type(path: &str) -> &'static str {
    let extension = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match extension.as_str() {
        "xhtml" => "application/xhtml+xml; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "opf" | "ncx" | "xml" => "application/xml; charset=utf-8",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// Starts a page's event stream with the preview's state; later builds write to it from [`Preview::rebuild`].
fn open_events(request: Request, preview: &Preview) {
    let mut stream = request.into_writer();
    let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n\
                X-Content-Type-Options: nosniff\r\n\r\n";
    let shown = preview.shown.lock().unwrap_or_else(PoisonError::into_inner);
    if send(&mut stream, head) && send(&mut stream, &event(&shown)) {
        preview.listeners.lock().unwrap_or_else(PoisonError::into_inner).push(stream);
    }
}

/// Opens the reader in the system's browser; a warning if that fails, since the address is printed anyway.
fn open_in_browser(url: &str) {
    let mut command = if cfg!(target_os = "macos") {
        std::process::Command::new("open")
    } else if cfg!(windows) {
        let mut command = std::process::Command::new("cmd");
        command.args(["/C", "start", ""]);
        command
    } else {
        std::process::Command::new("xdg-open")
    };
    let opened = command.arg(url).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn();
    if let Err(e) = opened {
        eprintln!("warning: cannot open a browser ({e}); open {url} yourself");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_follow_extensions() {
        assert_eq!(media_type("EPUB/text/c001-one.xhtml"), "application/xhtml+xml; charset=utf-8");
        assert_eq!(media_type("EPUB/fonts/A.WOFF2"), "font/woff2");
        assert_eq!(media_type("mimetype"), "application/octet-stream");
    }

    #[test]
    fn changed_files_are_those_edited_added_or_removed() {
        let package = |files: &[(&str, &str)]| Epub {
            files: files.iter().map(|(p, text)| (p.to_string(), Entry::Plain(text.as_bytes().to_vec()))).collect(),
            modified: 0,
        };
        let before = package(&[("mimetype", "m"), ("EPUB/a.xhtml", "a"), ("EPUB/b.xhtml", "b"), ("EPUB/gone.css", "")]);
        let after = package(&[("mimetype", "m"), ("EPUB/a.xhtml", "A"), ("EPUB/b.xhtml", "b"), ("EPUB/new.png", "")]);
        assert_eq!(changed_files(&before, &after), ["EPUB/a.xhtml", "EPUB/gone.css", "EPUB/new.png"]);
        assert!(changed_files(&after, &after).is_empty());
    }

    #[test]
    fn an_event_is_one_data_line() {
        let shown = Shown {
            epub: None,
            version: 3,
            changed: vec!["EPUB/text/c001-one.xhtml".into()],
            problems: vec![Problem {
                location: "book/src/one.md:3:3".into(),
                severity: "error",
                message: "two\nlines".into(),
                hint: None,
            }],
        };
        let event = event(&shown);
        assert!(event.starts_with("data: {\"version\":3,"), "{event}");
        assert_eq!(event.matches('\n').count(), 2, "{event}");
        assert!(event.ends_with("\n\n"));
    }
}
