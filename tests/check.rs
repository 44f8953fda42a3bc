//! `folio check`: reports what `build` would, writes nothing, and with `--epubcheck` runs EPUBCheck
//! and maps its findings back to the author's files.

mod common;

use common::books::{fixture, folio, folio_with_env, snapshot, write_files};

#[test]
fn check_writes_nothing_and_strict_fails_on_warnings() {
    let dir = fixture("mdbook");
    let before = snapshot(dir.path());
    let run = folio(dir.path(), &["check", "book"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("warning: text '(text after the link"), "{}", run.stderr);
    assert_eq!(snapshot(dir.path()), before, "check wrote files");
    assert_eq!(folio(dir.path(), &["check", "book", "--strict"]).code, 1);
}

/// Issue #12, class 8: a flood of one kind of warning shows the first three, then a count; every warning
/// with `--all-warnings`; the summary line counts them; `build --strict` refuses the book.
#[test]
fn warnings_of_one_kind_are_shown_a_few_at_a_time() {
    let dir = fixture("mdbook");
    let links: String = (1..=5).map(|i| format!("[gone {i}](#nowhere-{i}) ")).collect();
    write_files(dir.path(), &[("book/src/tables.md", &format!("# Tables and Lists\n\n{links}\n"))]);
    let kind =
        |stderr: &str| stderr.lines().filter(|l| l.contains("in this chapter; the link points to its top")).count();
    let run = folio(dir.path(), &["build", "book", "-o", "out.epub"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // The fixture's appendix has one such link, and sorts first.
    assert_eq!(kind(&run.stderr), 3, "{}", run.stderr);
    assert!(run.stderr.contains("/tables.md:3:1: warning: no heading or anchor '#nowhere-1'"), "{}", run.stderr);
    assert!(run.stderr.contains("\n… and 3 more like this\n"), "{}", run.stderr);
    assert!(run.stderr.contains("hint: `--all-warnings` shows every warning"), "{}", run.stderr);
    let total = run.stderr.lines().filter(|l| l.contains(": warning: ")).count();
    let summary = run.stderr.lines().find(|l| l.starts_with("built ")).unwrap();
    assert!(summary.contains(&format!(", {} warnings) in ", total + 3)), "{summary}");
    let all = folio(dir.path(), &["check", "book", "--all-warnings"]);
    assert_eq!(kind(&all.stderr), 6, "{}", all.stderr);
    assert!(!all.stderr.contains("more like this"), "{}", all.stderr);
    let strict = folio(dir.path(), &["build", "book", "-o", "strict.epub", "--strict"]);
    assert_eq!(strict.code, 1, "{}", strict.stderr);
    assert!(!dir.path().join("strict.epub").exists());
    assert!(strict.stderr.contains("/tables.md:3:1: error: no heading or anchor"), "{}", strict.stderr);
}

#[test]
fn check_reads_the_cache_of_a_build_but_writes_nothing_even_after_an_edit() {
    let dir = fixture("mdbook");
    let built = folio(dir.path(), &["build", "book"]);
    assert_eq!(built.code, 0, "{}", built.stderr);
    assert!(dir.path().join("dist/.folio-cache").is_dir());
    let diagnostics = built.stderr.lines().filter(|l| !l.starts_with("built ")).collect::<Vec<_>>().join("\n");
    let before = snapshot(dir.path());
    // Cached chapters bring their warnings with them.
    let unchanged = folio(dir.path(), &["check", "book"]);
    assert_eq!(unchanged.stderr, format!("{diagnostics}\n14 warnings in 7 chapters\n"));
    let intro = dir.path().join("book/src/intro.md");
    let text = std::fs::read_to_string(&intro).unwrap();
    write_files(dir.path(), &[("book/src/intro.md", &format!("{text}\n[^spare]: Never cited.\n"))]);
    let edited = folio(dir.path(), &["check", "book"]);
    assert_eq!(edited.code, 0, "{}", edited.stderr);
    assert!(edited.stderr.contains("warning: footnote '[^spare]' is never referenced"), "{}", edited.stderr);
    let after = snapshot(dir.path());
    let paths = |files: &[(std::path::PathBuf, Option<Vec<u8>>)]| files.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
    assert_eq!(paths(&after), paths(&before), "check added or removed files");
    let changed: Vec<_> = before.iter().zip(&after).filter(|(b, a)| b != a).map(|(_, a)| &a.0).collect();
    assert_eq!(changed, [&intro], "check wrote to the cache or the output");
}

#[test]
fn epubcheck_runs_on_request_and_folio_catches_what_it_would() {
    let jar = common::epubcheck::jar().to_str().unwrap().to_string();
    let dir = fixture("citations");
    let clean = folio_with_env(dir.path(), &["check", "book", "--epubcheck"], &[("EPUBCHECK_JAR", &jar)]);
    assert_eq!(clean.code, 0, "{}", clean.stderr);
    assert!(clean.stderr.contains("EPUBCheck: no errors or warnings"), "{}", clean.stderr);

    let missing =
        folio_with_env(dir.path(), &["check", "book", "--epubcheck"], &[("EPUBCHECK_JAR", "/nonexistent.jar")]);
    assert_eq!(missing.code, 2, "{}", missing.stderr);
    assert_eq!(
        missing.stderr,
        "no problems in 2 chapters\nerror: EPUBCHECK_JAR is set to '/nonexistent.jar', which is not a file\n"
    );

    // What EPUBCheck would warn about (OPF-085, an identifier that is not a UUID) folio reports itself, at its line.
    let toml = std::fs::read_to_string(dir.path().join("book/book.toml"))
        .unwrap()
        .replace("[epub]\n", "[epub]\nidentifier = \"urn:uuid:not-a-uuid\"\n");
    write_files(dir.path(), &[("book/book.toml", &toml)]);
    let caught = folio(dir.path(), &["check", "book"]);
    assert_eq!(caught.code, 1, "{}", caught.stderr);
    assert!(
        caught
            .stderr
            .starts_with("book/book.toml:7:14: error: `urn:uuid:not-a-uuid` is not a valid urn:uuid identifier"),
        "{}",
        caught.stderr
    );
}

#[test]
fn check_takes_chapters_from_the_builds_cache() {
    let dir = fixture("mdbook");
    assert_eq!(folio(dir.path(), &["build", "book"]).code, 0);
    // Plant the raw-html chapter's cached entry under the intro chapter's key. Entries do not name
    // their key, so only a check that reads the cache loses the intro's own warnings.
    let entry_with = |needle: &str| {
        let found: Vec<_> = snapshot(&dir.path().join("dist/.folio-cache"))
            .into_iter()
            .filter(|(_, bytes)| {
                bytes.as_ref().is_some_and(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
            })
            .map(|(path, _)| path)
            .collect();
        assert_eq!(found.len(), 1, "one entry holds '{needle}': {found:?}");
        found[0].clone()
    };
    let intro_warning = "intro.md:5:65: warning: link '../std/index.html' leads out of the book";
    assert!(folio(dir.path(), &["check", "book"]).stderr.contains(intro_warning));
    let intro = entry_with("leads out of the book");
    std::fs::copy(entry_with("<script> removed"), &intro).unwrap();
    let run = folio(dir.path(), &["check", "book"]);
    assert!(!run.stderr.contains(intro_warning), "the intro was rendered afresh: {}", run.stderr);
    assert!(run.stderr.contains("raw-html.md:5:1: warning: <script> removed"), "{}", run.stderr);
}
