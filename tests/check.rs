//! `folio check`: reports what `build` would, writes nothing, and with `--epubcheck` runs EPUBCheck
//! and maps its findings back to the author's files.

mod common;

use common::books::{fixture, folio, folio_with_env, write_files};

#[test]
fn check_writes_nothing_and_strict_fails_on_warnings() {
    let dir = fixture("mdbook");
    let before: Vec<_> = walk(dir.path());
    let run = folio(dir.path(), &["check", "book"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("warning: draft chapter 'A Draft'"), "{}", run.stderr);
    assert_eq!(walk(dir.path()), before, "check wrote files");
    assert_eq!(folio(dir.path(), &["check", "book", "--strict"]).code, 1);
}

#[test]
fn check_reads_the_cache_of_a_build_but_writes_nothing_even_after_an_edit() {
    let dir = fixture("mdbook");
    let built = folio(dir.path(), &["build", "book"]);
    assert_eq!(built.code, 0, "{}", built.stderr);
    assert!(dir.path().join("dist/.folio-cache").is_dir());
    let diagnostics = built.stderr.lines().filter(|l| !l.starts_with("built ")).collect::<Vec<_>>().join("\n");
    let before: Vec<_> = walk(dir.path()).into_iter().map(|p| (std::fs::read(&p).ok(), p)).collect();
    // Cached chapters bring their warnings with them.
    let unchanged = folio(dir.path(), &["check", "book"]);
    assert_eq!(unchanged.stderr.trim_end(), diagnostics);
    let intro = dir.path().join("book/src/intro.md");
    let text = std::fs::read_to_string(&intro).unwrap();
    write_files(dir.path(), &[("book/src/intro.md", &format!("{text}\n[^spare]: Never cited.\n"))]);
    let edited = folio(dir.path(), &["check", "book"]);
    assert_eq!(edited.code, 0, "{}", edited.stderr);
    assert!(edited.stderr.contains("warning: footnote '[^spare]' is never referenced"), "{}", edited.stderr);
    let after: Vec<_> = walk(dir.path()).into_iter().map(|p| (std::fs::read(&p).ok(), p)).collect();
    let paths = |files: &[(Option<Vec<u8>>, std::path::PathBuf)]| files.iter().map(|f| f.1.clone()).collect::<Vec<_>>();
    assert_eq!(paths(&after), paths(&before), "check added or removed files");
    let changed: Vec<_> = before.iter().zip(&after).filter(|(b, a)| b != a).map(|(_, a)| &a.1).collect();
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

fn walk(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path.clone());
            }
            out.push(path);
        }
    }
    out.sort();
    out
}
