//! Issue 18, `folio serve`: a reader for the book in a real browser (headless Chromium), live reload on
//! every save, the build's errors over the last good build, only the package's own files served, and the
//! command's exit codes.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::books::{build_ok, fixture, folio, text, unzip};
use common::web::run_in_chromium;

/// The chapter the browser test reads and edits, by its Markdown and by its place in the package.
const CHAPTER_FILE: &str = "book/src/first.md";
const CHAPTER_PATH: &str = "EPUB/text/c001-first.xhtml";

/// `folio serve` running on a free port, its stderr read line by line.
struct Serving {
    child: Child,
    lines: mpsc::Receiver<String>,
    address: String,
}

impl Serving {
    fn start(cwd: &Path, args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_folio"))
            .arg("serve")
            .args(args)
            .current_dir(cwd)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut serving = Self { child, lines, address: String::new() };
        let line = serving.wait_for("serving the book at http://");
        serving.address = line.split("http://").nth(1).unwrap().split('/').next().unwrap().to_string();
        serving
    }

    fn wait_for(&self, needle: &str) -> String {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(120))
                .unwrap_or_else(|_| panic!("no '{needle}' from folio serve"));
            if line.contains(needle) {
                return line;
            }
        }
    }

    /// A GET of `path` as raw HTTP/1.1, with this Host header: the status and the whole response.
    fn get(&self, path: &str, host: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(&self.address).unwrap();
        write!(stream, "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        (status, response)
    }

    /// Stops it as Ctrl-C does and asserts that it stopped cleanly.
    fn interrupt(&mut self) {
        let status = Command::new("kill").args(["-INT", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
        self.wait_for("stopped serving");
        let exit = self.child.wait().unwrap();
        assert!(exit.success(), "{exit:?}");
    }
}

/// A test that failed leaves no server behind.
impl Drop for Serving {
    fn drop(&mut self) {
        if self.child.try_wait().is_ok_and(|exited| exited.is_none()) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The text of the body of an XHTML document, as the browser's `textContent` gives it.
fn body_text(xhtml: &str) -> String {
    let document = roxmltree::Document::parse_with_options(
        xhtml,
        roxmltree::ParsingOptions { allow_dtd: true, ..roxmltree::ParsingOptions::default() },
    )
    .unwrap();
    let body = document.descendants().find(|n| n.has_tag_name("body")).unwrap();
    body.descendants().filter(|n| n.is_text()).map(|n| n.text().unwrap()).collect()
}

#[cfg(unix)]
#[test]
fn the_reader_shows_the_book_and_follows_every_save() {
    let dir = fixture("citations");
    let root = dir.path();
    // Long enough for several pages after the first, which holds the note references.
    let mut chapter = std::fs::read_to_string(root.join(CHAPTER_FILE)).unwrap();
    for i in 1..=12 {
        chapter.push_str(&format!(
            "\nParagraph {i} of the longer chapter, which runs on over pages of the reader so that they turn.\n"
        ));
    }
    std::fs::write(root.join(CHAPTER_FILE), chapter).unwrap();
    // A stylesheet of the book's own, which the test changes too.
    let mut config = std::fs::read_to_string(root.join("book/book.toml")).unwrap();
    config.push_str("stylesheets = [\"extra.css\"]\n");
    std::fs::write(root.join("book/book.toml"), config).unwrap();
    std::fs::write(root.join("book/extra.css"), "p { letter-spacing: normal; }\n").unwrap();
    build_ok(root, "book", "built/book.epub");
    let (_, files) = unzip(&root.join("built/book.epub"));
    let expected = body_text(&text(&files, CHAPTER_PATH));

    let mut serving = Serving::start(root, &["book", "--port", "0"]);
    let original = std::fs::read_to_string(root.join(CHAPTER_FILE)).unwrap();
    let markers: Vec<String> = (1..=5).map(|i| format!("Edit number {i} is shown.")).collect();
    let edits: Vec<String> = markers.iter().map(|m| format!("{original}\n{m}\n")).collect();
    let bad = format!("{original}\nA broken reference.[^missing]\n");
    // The error is at the reference, on the line after the blank one that follows the original text.
    let bad_line = original.lines().count() + 2;
    let column = "A broken reference.".chars().count() + 1;
    let fixed_marker = "The book is whole again.";
    let screenshot = std::env::var_os("SCREENSHOT").map(PathBuf::from);
    let config = serde_json::json!({
        "url": format!("http://{}/", serving.address),
        "chapter": CHAPTER_PATH,
        "file": root.join(CHAPTER_FILE),
        "edits": edits,
        "markers": markers,
        "bad": bad,
        "fixed": format!("{original}\n{fixed_marker}\n"),
        "fixedMarker": fixed_marker,
        "restyle": { "file": root.join("book/extra.css"), "text": "p { letter-spacing: 3px; }\n" },
        "screenshot": screenshot,
    });
    let config_file = root.join("reader.json");
    std::fs::write(&config_file, config.to_string()).unwrap();
    let report = run_in_chromium("tests/serve/reader.mjs", &[config_file.as_os_str()]);
    let shown = |key: &str| report[key]["shown"].as_str().unwrap().to_string();
    let x = |key: &str| report[key]["x"].as_f64().unwrap();
    let page = |key: &str| report[key]["where"].as_str().unwrap().to_string();

    assert!(shown("opened").ends_with(":EPUB/text/cover.xhtml"), "the reader opens at the spine's start: {report}");
    assert_eq!(report["text"].as_str().unwrap(), expected, "the reader's chapter is not the EPUB's");
    assert_eq!(report["sandbox"], "allow-same-origin", "book documents must be framed without scripts");
    assert!(report["policy"].as_str().unwrap().contains("script-src 'none'"), "{report}");

    assert_eq!(x("firstPage"), 0.0);
    assert!(page("firstPage").starts_with("1 / "), "{report}");
    assert!(x("turnedByKey") > 0.0 && page("turnedByKey").starts_with("2 / "), "a key did not turn: {report}");
    assert!(x("turnedByButton") > x("turnedByKey"), "the button did not turn: {report}");
    assert_eq!(x("back"), 0.0, "{report}");
    assert!(report["note"].as_str().unwrap().contains("Convention Relating to the Status of Refugees"), "{report}");
    assert_ne!(report["lookBefore"]["fontSize"], report["lookAfter"]["fontSize"], "{report}");
    assert_ne!(report["lookBefore"]["background"], report["lookAfter"]["background"], "{report}");

    let kept = page("beforeEdits");
    assert!(kept.starts_with("2 / "), "{report}");
    let reloads = report["reloads"].as_array().unwrap();
    assert_eq!(reloads.len(), markers.len());
    for reload in reloads {
        assert!(reload["shown"].as_str().unwrap().ends_with(CHAPTER_PATH), "{report}");
        assert_eq!(reload["where"].as_str().unwrap(), kept, "a reload lost the page: {report}");
        // Generous for a debug build on a busy machine; the README gives the release build's times.
        assert!(reload["milliseconds"].as_f64().unwrap() < 5_000.0, "{report}");
    }
    let mut times: Vec<f64> = reloads.iter().map(|r| r["milliseconds"].as_f64().unwrap()).collect();
    times.sort_by(f64::total_cmp);
    eprintln!("save to updated page: {times:.0?} ms");

    // A changed stylesheet loads the chapter again, at the same page.
    assert_eq!(report["restyled"]["letterSpacing"], "3px", "{report}");
    assert!(page("restyled").starts_with("2 / "), "a restyle lost the page: {report}");
    assert!(report["restyled"]["shown"].as_str().unwrap().ends_with(CHAPTER_PATH), "{report}");

    let problems = report["problems"].as_array().unwrap();
    let location = format!("{CHAPTER_FILE}:{bad_line}:{column}: error: undefined footnote '[^missing]'");
    assert!(problems.iter().any(|p| p.as_str().unwrap().starts_with(&location)), "want {location}: {report}");
    assert!(report["textWhileBroken"].as_str().unwrap().contains(&markers[4]), "the last good build went: {report}");
    assert!(page("fixed").starts_with("2 / "), "{report}");
    assert_eq!(shown("reopened"), shown("fixed"), "a reload lost the chapter: {report}");
    assert_eq!(page("reopened"), page("fixed"), "a reload lost the page: {report}");
    assert_eq!(report["errors"].as_array().unwrap().len(), 0, "the reader's page had errors: {report}");
    serving.interrupt();
}

#[cfg(unix)]
#[test]
fn only_the_packages_files_are_served_and_only_to_this_address() {
    let dir = fixture("citations");
    let mut serving = Serving::start(dir.path(), &["book", "--port", "0"]);
    let host = serving.address.clone();
    let (status, chapter) = serving.get(&format!("/book/{CHAPTER_PATH}"), &host);
    assert_eq!(status, 200, "{chapter}");
    assert!(chapter.contains("Content-Type: application/xhtml+xml"), "{chapter}");
    assert!(chapter.contains("script-src 'none'"), "{chapter}");
    let (status, page) = serving.get("/", "localhost:1");
    assert_eq!(status, 421, "another site's name for this address must not be answered: {page}");
    let (status, page) = serving.get("/", &host);
    assert_eq!(status, 200);
    let nonce = page.split("nonce=\"").nth(1).unwrap().split('"').next().unwrap();
    assert!(page.contains(&format!("script-src 'nonce-{nonce}'")), "{page}");
    for path in
        ["/book/../book.toml", "/book/%2e%2e/book.toml", "/book/EPUB/../../book/book.toml", "/book.toml", "/book/"]
    {
        let (status, _) = serving.get(path, &host);
        assert_eq!(status, 404, "{path}");
    }
    serving.interrupt();
}

#[cfg(unix)]
#[test]
fn another_address_than_loopback_is_served_with_a_warning() {
    let dir = fixture("citations");
    let mut serving = Serving::start(dir.path(), &["book", "--host", "0.0.0.0", "--port", "0"]);
    assert!(serving.address.starts_with("0.0.0.0:"), "{}", serving.address);
    let port = serving.address.rsplit(':').next().unwrap().to_string();
    serving
        .wait_for(&format!("warning: serving on 0.0.0.0:{port}: anyone who can reach this address can read the book"));
    // Whoever reaches it may use any name for it.
    serving.address = format!("127.0.0.1:{port}");
    let (status, page) = serving.get("/", "reader.example:1");
    assert_eq!(status, 200, "{page}");
    serving.interrupt();
}

#[test]
fn exit_codes_follow_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    // No book folder: folio cannot run.
    let run = folio(dir.path(), &["serve", "--port", "0"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("no book folder given"), "{}", run.stderr);
    // A port already taken: folio cannot run.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let book = fixture("citations");
    let run = folio(book.path(), &["serve", "book", "--port", &port]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains(&format!("cannot listen on 127.0.0.1:{port}")), "{}", run.stderr);
}
