//! Bad input: every case is a small book with one thing wrong. folio must print exactly the
//! message in `tests/bad-input/<case>.stderr` (rewritten with `UPDATE_GOLDEN=1`; review the diff),
//! exit with the contract's code, and leave a previous EPUB at the output path byte for byte.

mod common;

use std::fs;
use std::path::Path;

use common::books::{folio, folio_with_env, repo};

const OLD_EPUB: &[u8] = b"the previous, good EPUB";

/// A base book that builds cleanly; each case overrides or removes some of its files.
const BASE: &[(&str, &[u8])] = &[
    ("book/book.toml", b"[book]\ntitle = \"Bad Input\"\nauthors = [\"Ann Author\"]\n"),
    ("book/src/SUMMARY.md", b"- [One](one.md)\n- [Two](two.md)\n"),
    ("book/src/one.md", b"# One\n\nSome text.\n"),
    ("book/src/two.md", b"# Two\n\n## Section\n\nMore text.\n"),
];

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0\x90wS\xde\0\0\0\x0cIDATx\x9cc\xf8\xcf\xc0\0\0\x03\x01\x01\0\xc9\xfe\x92\xef\0\0\0\0IEND\xaeB`\x82";

/// 1,001 nested `<div>`s: past folio's limit for raw HTML.
const DEEP_HTML: &[u8] = {
    const DIV: &[u8] = b"<div>";
    const N: usize = 1_001;
    const BYTES: [u8; DIV.len() * N] = {
        let mut out = [0u8; DIV.len() * N];
        let mut i = 0;
        while i < out.len() {
            out[i] = DIV[i % DIV.len()];
            i += 1;
        }
        out
    };
    &BYTES
};

struct Case {
    name: &'static str,
    files: &'static [(&'static str, &'static [u8])],
    remove: &'static [&'static str],
    /// Arguments after `build`; `book -o old.epub --quiet` when empty.
    args: &'static [&'static str],
    code: i32,
}

const fn case(name: &'static str, files: &'static [(&'static str, &'static [u8])], code: i32) -> Case {
    Case { name, files, remove: &[], args: &[], code }
}

const CASES: &[Case] = &[
    // book.toml
    Case { name: "book-toml-missing", files: &[], remove: &["book/book.toml"], args: &[], code: 1 },
    case("book-toml-syntax", &[("book/book.toml", b"[book]\ntitle = \"Unclosed\n")], 1),
    case("book-toml-wrong-type", &[("book/book.toml", b"[book]\ntitle = \"T\"\nauthors = \"Me\"\n")], 1),
    case("book-toml-unknown-epub-key", &[("book/book.toml", b"[book]\ntitle = \"T\"\nauthors = [\"A\"]\n[epub]\npublsher = \"P\"\ncolour = \"red\"\n")], 1),
    case("book-toml-missing-title", &[("book/book.toml", b"[book]\nauthors = [\"Me\"]\n")], 1),
    case("book-toml-bad-language", &[("book/book.toml", b"[book]\ntitle = \"T\"\nauthors = [\"A\"]\nlanguage = \"english!\"\n")], 1),
    case("book-toml-bad-date", &[("book/book.toml", b"[book]\ntitle = \"T\"\nauthors = [\"A\"]\n[epub]\ndate = \"2023-02-29\"\n")], 1),
    case("book-toml-bad-isbn", &[("book/book.toml", b"[book]\ntitle = \"T\"\nauthors = [\"A\"]\n[epub]\nisbn = \"978-3-16-148410-1\"\n")], 1),
    case("book-toml-bad-cover", &[("book/book.toml", b"[book]\ntitle = \"T\"\nauthors = [\"A\"]\n[epub]\ncover = 3\n")], 1),
    case("book-toml-missing-cover", &[("book/book.toml", b"[book]\ntitle = \"T\"\nauthors = [\"A\"]\n[epub]\ncover = \"cover.jpg\"\n")], 1),
    // SUMMARY.md
    Case { name: "summary-missing", files: &[], remove: &["book/src/SUMMARY.md"], args: &[], code: 1 },
    case("summary-empty", &[("book/src/SUMMARY.md", b"# Summary\n")], 1),
    case("summary-missing-chapter", &[("book/src/SUMMARY.md", b"- [One](one.md)\n- [Three](three.md)\n")], 1),
    case("summary-malformed", &[("book/src/SUMMARY.md", b"- [One](one.md)\n- Two, without a link\n")], 1),
    case("summary-chapter-twice", &[("book/src/SUMMARY.md", b"- [One](one.md)\n- [Two](two.md)\n- [One again](./one.md)\n")], 1),
    // Chapters
    case("chapter-not-utf8", &[("book/src/two.md", b"# Two\n\nCaf\xe9 au lait.\n")], 1),
    case("undefined-footnote", &[("book/src/one.md", b"# One\n\nA claim.[^source]\n")], 1),
    case("duplicate-footnote", &[("book/src/one.md", b"# One\n\nA claim.[^a]\n\n[^a]: First.\n\n[^A]: Second.\n")], 1),
    // mdBook builds books with broken links: warnings, which `--strict` makes errors (issue #12, class 6).
    Case {
        name: "link-to-missing-chapter",
        files: &[("book/src/one.md", b"# One\n\nSee [three](three.md).\n")],
        remove: &[],
        args: &["book", "-o", "old.epub", "--quiet", "--strict"],
        code: 1,
    },
    Case {
        name: "link-to-missing-anchor",
        files: &[("book/src/one.md", b"# One\n\nSee [a section](two.md#no-such-section) and [here](#nowhere).\n")],
        remove: &[],
        args: &["book", "-o", "old.epub", "--quiet", "--strict"],
        code: 1,
    },
    case("image-missing", &[("book/src/one.md", b"# One\n\n![A chart](chart.png)\n")], 1),
    case("image-outside-book", &[("book/src/one.md", b"# One\n\n![Secret](../../secret.png)\n")], 1),
    case("image-not-an-image", &[("book/src/one.md", b"# One\n\n![Chart](chart.png)\n"), ("book/src/chart.png", b"not an image")], 1),
    case("image-wrong-extension", &[("book/src/one.md", b"# One\n\n![Chart](chart.jpg)\n"), ("book/src/chart.jpg", PNG)], 1),
    case("raw-html-too-deep", &[("book/src/one.md", DEEP_HTML)], 1),
    case("book-toml-bad-max-image-pixels", &[("book/book.toml", b"[book]\ntitle = \"T\"\nauthors = [\"A\"]\n[epub]\nmax-image-pixels = \"4M\"\n")], 1),
    // Warnings only: the book builds.
    case("book-toml-no-author", &[("book/book.toml", b"[book]\ntitle = \"T\"\nauthor = \"Me\"\n")], 0),
    case("chapter-empty", &[("book/src/two.md", b" \n\n")], 0),
    case("accessibility-warnings", &[
        ("book/src/one.md", b"## Not a title\n\n![](chart.png)\n\n#### Skipped a level\n"),
        ("book/src/chart.png", PNG),
    ], 0),
    // An image folio cannot decode, one over the pixel limit that folio does not resize, and a JPEG whose
    // image data stops halfway (libjpeg warns, and decodes the rest grey): packaged as they are, or scaled.
    case("image-undecodable-or-not-resized", &[
        ("book/book.toml", b"[book]\ntitle = \"T\"\nauthors = [\"A\"]\n[epub]\nmax-image-pixels = 100\n"),
        ("book/src/one.md", b"# One\n\n![Broken](broken.png)\n\n![Wide](wide.gif)\n\n![Half](half.jpg)\n"),
        ("book/src/broken.png", b"\x89PNG\r\n\x1a\ngarbage"),
        ("book/src/wide.gif", b"GIF89a\x14\0\x0a\0\0\0\0;"),
        // 16 × 12 grey pixels (jpeg-encoder, quality 50), its image data cut in half, then the end marker.
        ("book/src/half.jpg", b"\xff\xd8\xff\xe0\x00\x10\x4a\x46\x49\x46\x00\x01\x02\x00\x00\x01\x00\x01\x00\x00\xff\xc0\
              \x00\x0b\x08\x00\x0c\x00\x10\x01\x00\x11\x00\xff\xdb\x00\x43\x00\x10\x0b\x0c\x0e\x0c\x0a\
              \x10\x0e\x0d\x0e\x12\x11\x10\x13\x18\x28\x1a\x18\x16\x16\x18\x31\x23\x25\x1d\x28\x3a\x33\
              \x3d\x3c\x39\x33\x38\x37\x40\x48\x5c\x4e\x40\x44\x57\x45\x37\x38\x50\x6d\x51\x57\x5f\x62\
              \x67\x68\x67\x3e\x4d\x71\x79\x70\x64\x78\x5c\x65\x67\x63\xff\xdb\x00\x43\x01\x11\x12\x12\
              \x18\x15\x18\x2f\x1a\x1a\x2f\x63\x42\x38\x42\x63\x63\x63\x63\x63\x63\x63\x63\x63\x63\x63\
              \x63\x63\x63\x63\x63\x63\x63\x63\x63\x63\x63\x63\x63\x63\x63\x63\x63\x63\x63\x63\x63\x63\
              \x63\x63\x63\x63\x63\x63\x63\x63\x63\x63\x63\x63\x63\x63\x63\x63\x63\xff\xc4\x00\x1f\x00\
              \x00\x01\x05\x01\x01\x01\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x01\x02\x03\x04\x05\
              \x06\x07\x08\x09\x0a\x0b\xff\xc4\x00\xb5\x10\x00\x02\x01\x03\x03\x02\x04\x03\x05\x05\x04\
              \x04\x00\x00\x01\x7d\x01\x02\x03\x00\x04\x11\x05\x12\x21\x31\x41\x06\x13\x51\x61\x07\x22\
              \x71\x14\x32\x81\x91\xa1\x08\x23\x42\xb1\xc1\x15\x52\xd1\xf0\x24\x33\x62\x72\x82\x09\x0a\
              \x16\x17\x18\x19\x1a\x25\x26\x27\x28\x29\x2a\x34\x35\x36\x37\x38\x39\x3a\x43\x44\x45\x46\
              \x47\x48\x49\x4a\x53\x54\x55\x56\x57\x58\x59\x5a\x63\x64\x65\x66\x67\x68\x69\x6a\x73\x74\
              \x75\x76\x77\x78\x79\x7a\x83\x84\x85\x86\x87\x88\x89\x8a\x92\x93\x94\x95\x96\x97\x98\x99\
              \x9a\xa2\xa3\xa4\xa5\xa6\xa7\xa8\xa9\xaa\xb2\xb3\xb4\xb5\xb6\xb7\xb8\xb9\xba\xc2\xc3\xc4\
              \xc5\xc6\xc7\xc8\xc9\xca\xd2\xd3\xd4\xd5\xd6\xd7\xd8\xd9\xda\xe1\xe2\xe3\xe4\xe5\xe6\xe7\
              \xe8\xe9\xea\xf1\xf2\xf3\xf4\xf5\xf6\xf7\xf8\xf9\xfa\xff\xda\x00\x08\x01\x00\x00\x00\x3f\
              \x00\x75\xbe\x83\x6b\xa7\x5b\xfd\xa2\xf5\xe3\x82\x21\xfc\x4e\x71\x93\x8c\xe0\x7a\x9e\x0f\
              \x03\x9a\x63\x6b\x61\x24\x11\xe9\x16\x4b\x20\x53\xcc\xd7\x00\xe1\xba\xf4\x50\x41\xf4\xff\
              \xd9"),
    ], 0),
    case("unused-footnote-and-remote-image", &[
        ("book/src/one.md", b"# One\n\n![A remote chart](https://example.org/c.png)\n\n[^unused]: Never cited.\n"),
    ], 0),
    case(
        "many-errors-at-once",
        &[
            ("book/src/one.md", b"# One\n\nA[^x] and [gone](gone.md).\n"),
            ("book/src/two.md", b"# Two\n\n![Missing](missing.png)\n"),
        ],
        1,
    ),
    // Citations
    case(
        "citations",
        &[
            ("book/book.toml", b"[book]\ntitle = \"T\"\nauthors = [\"A\"]\n[epub]\nsources = \"sources.toml\"\n"),
            ("book/sources.toml", b"[[source]]\nkey = \"smith-2019\"\nkind = \"book\"\ntitle = \"A Book\"\n\n[[source]]\nkey = \"unused\"\nkind = \"web\"\ntitle = \"Never cited\"\n"),
            ("book/src/one.md", b"# One\n\nKnown.[@smith-2019] Typo.[@smith-2091] Broken.[@smith-2019; jones]\n"),
        ],
        1,
    ),
    case(
        "sources-file-errors",
        &[
            ("book/book.toml", b"[book]\ntitle = \"T\"\nauthors = [\"A\"]\n[epub]\nsources = \"sources.toml\"\n"),
            ("book/sources.toml", b"[[source]]\nkey = \"a\"\nkind = \"web\"\ntitle = \"A\"\nurl = \"www.example.org\"\n\n[[source]]\nkey = \"a\"\nkind = \"web\"\ntitle = \"Again\"\n"),
        ],
        1,
    ),
    case("sources-file-unknown-field", &[
        ("book/book.toml", b"[book]\ntitle = \"T\"\nauthors = [\"A\"]\n[epub]\nsources = \"sources.toml\"\n"),
        ("book/sources.toml", b"[[source]]\nkey = \"a\"\nkind = \"web\"\ntitle = \"A\"\nauthors = [\"B\"]\n"),
    ], 1),
    // Output
    Case { name: "output-below-a-file", files: &[("blocker", b"a regular file")], remove: &[], args: &["book", "-o", "blocker/out.epub"], code: 2 },
    Case { name: "output-is-a-folder", files: &[("folder/keep", b"x")], remove: &[], args: &["book", "-o", "folder"], code: 2 },
    Case { name: "output-is-a-source-file", files: &[], remove: &[], args: &["book", "-o", "book/src/one.md"], code: 2 },
    Case { name: "book-folder-missing", files: &[], remove: &[], args: &["no-such-book", "-o", "old.epub"], code: 2 },
    Case { name: "root-folder-missing", files: &[], remove: &[], args: &["book", "-o", "old.epub", "--root", "nowhere"], code: 2 },
    Case { name: "root-not-an-ancestor", files: &[("elsewhere/x", b"x")], remove: &[], args: &["book", "-o", "old.epub", "--root", "elsewhere"], code: 2 },
];

fn run_case(case: &Case) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for (path, content) in BASE.iter().chain(case.files) {
        let path = root.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }
    for path in case.remove {
        fs::remove_file(root.join(path)).unwrap();
    }
    fs::write(root.join("old.epub"), OLD_EPUB).unwrap();
    let mut args = vec!["build"];
    args.extend(if case.args.is_empty() { &["book", "-o", "old.epub", "--quiet"][..] } else { case.args });
    let run = folio(root, &args);

    let mut failures = Vec::new();
    if run.code != case.code {
        failures.push(format!("exit code {} instead of {}", run.code, case.code));
    }
    let replaced = fs::read(root.join("old.epub")).unwrap() != OLD_EPUB;
    if replaced != (case.code == 0) {
        failures.push(format!("the previous EPUB was {}", if replaced { "changed" } else { "not replaced" }));
    }
    let leftovers: Vec<_> = fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    if !leftovers.is_empty() {
        failures.push(format!("temporary files left: {leftovers:?}"));
    }
    if !run.stdout.is_empty() {
        failures.push(format!("stdout is not empty: {}", run.stdout));
    }
    let golden = repo().join("tests/bad-input").join(format!("{}.stderr", case.name));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        fs::write(&golden, &run.stderr).unwrap();
    } else if fs::read_to_string(&golden).ok().as_deref() != Some(run.stderr.as_str()) {
        failures.push(format!("stderr differs from {}:\n{}", golden.display(), run.stderr));
    }
    (!failures.is_empty()).then(|| format!("{}: {}", case.name, failures.join("; ")))
}

#[test]
fn every_bad_input_is_reported_exactly_and_loses_nothing() {
    let failures: Vec<String> = CASES.iter().filter_map(run_case).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // No golden file without a case.
    for entry in fs::read_dir(repo().join("tests/bad-input")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().trim_end_matches(".stderr").to_string();
        assert!(CASES.iter().any(|c| c.name == name), "stale golden file tests/bad-input/{name}.stderr");
    }
}

#[cfg(unix)]
#[test]
fn a_symlink_out_of_the_book_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for (path, content) in BASE {
        let path = root.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }
    fs::write(root.join("secret.png"), PNG).unwrap();
    std::os::unix::fs::symlink(root.join("secret.png"), root.join("book/src/linked.png")).unwrap();
    fs::write(root.join("book/src/one.md"), "# One\n\n![Linked](linked.png)\n").unwrap();
    let run = folio(root, &["build", "book", "-o", "out.epub"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.starts_with("book/src/one.md:3:1: error: cannot read image 'book/src/linked.png': it is outside the book folder\nhint: folio reads only inside the book folder (or --root)\n"),
        "{}",
        run.stderr
    );
    assert!(!Path::new(&root.join("out.epub")).exists());
    // A symlink loop is an error too, not a hang.
    std::os::unix::fs::symlink(root.join("book/src/loop.png"), root.join("book/src/loop.png")).unwrap();
    fs::write(root.join("book/src/one.md"), "# One\n\n![Loop](loop.png)\n").unwrap();
    let run = folio(root, &["build", "book", "-o", "out.epub"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("cannot read image 'book/src/loop.png'"), "{}", run.stderr);
}

#[test]
fn diagnostics_are_coloured_on_request_and_never_under_no_color() {
    let case = CASES.iter().find(|c| c.name == "book-toml-unknown-epub-key").unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (path, content) in BASE.iter().chain(case.files) {
        let path = dir.path().join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }
    let golden = fs::read_to_string(repo().join("tests/bad-input/book-toml-unknown-epub-key.stderr")).unwrap();
    let args = ["build", "book", "-o", "out.epub", "--quiet"];
    // What a terminal gets (CLICOLOR_FORCE stands in for one): the golden text, with cargo's colours.
    let coloured = folio_with_env(dir.path(), &args, &[("CLICOLOR_FORCE", "1")]).stderr;
    assert!(
        coloured.contains("\u{1b}[1mbook/book.toml:5:1:\u{1b}[0m \u{1b}[1m\u{1b}[31merror\u{1b}[0m: unknown key"),
        "{coloured:?}"
    );
    assert!(coloured.contains("\u{1b}[1m\u{1b}[36mhint\u{1b}[0m: did you mean"), "{coloured:?}");
    let stripped =
        coloured.replace("\u{1b}[1m", "").replace("\u{1b}[31m", "").replace("\u{1b}[36m", "").replace("\u{1b}[0m", "");
    assert_eq!(stripped, golden);
    let no_color = folio_with_env(dir.path(), &args, &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]).stderr;
    assert_eq!(no_color, golden, "NO_COLOR wins");
}
