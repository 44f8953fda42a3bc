//! The build cache: a warm build after an edit gives the same bytes as a clean build, a damaged
//! cache is rebuilt rather than trusted, and `--no-cache` / `--cache-dir` do what they say.

mod common;

use std::fs;

use common::books::{fixture, folio, folio_with_env, snapshot, write_files};

fn build(dir: &std::path::Path, args: &[&str]) -> String {
    let mut all = vec!["build", "book"];
    all.extend_from_slice(args);
    let run = folio(dir, &all);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.stderr
}

#[test]
fn warm_build_after_an_edit_matches_a_clean_build() {
    let dir = fixture("mdbook");
    let root = dir.path();
    let first = build(root, &["-o", "out/book.epub"]);
    assert!(!first.contains("from cache"), "{first}");
    assert!(root.join("out/.folio-cache").is_dir(), "the cache sits beside the output by default");

    let second = build(root, &["-o", "out/book.epub"]);
    assert!(second.contains("7 chapters, 7 from cache"), "{second}");

    let chapter = root.join("book/src/tables.md");
    let text = fs::read_to_string(&chapter).unwrap().replace("done", "finished");
    fs::write(&chapter, text).unwrap();
    // An included file is part of the chapter that includes it.
    fs::write(root.join("book/examples/hello.rs"), "// ANCHOR: main\nfn main() {}\n// ANCHOR_END: main\n").unwrap();
    let third = build(root, &["-o", "out/book.epub"]);
    assert!(third.contains("7 chapters, 5 from cache"), "{third}");

    build(root, &["-o", "clean.epub", "--no-cache"]);
    assert!(!root.join(".folio-cache").exists(), "--no-cache writes no cache");
    assert_eq!(fs::read(root.join("out/book.epub")).unwrap(), fs::read(root.join("clean.epub")).unwrap());
}

#[test]
fn a_damaged_cache_is_rebuilt_not_trusted() {
    let dir = fixture("citations");
    let root = dir.path();
    build(root, &["-o", "clean.epub", "--no-cache"]);
    build(root, &["-o", "out.epub", "--cache-dir", "my-cache"]);
    let entries: Vec<_> = fs::read_dir(root.join("my-cache"))
        .unwrap()
        .flat_map(|book| fs::read_dir(book.unwrap().path()).unwrap())
        .map(|e| e.unwrap().path())
        .collect();
    assert!(entries.len() > 2, "an entry per chapter and per generated page: {entries:?}");
    // Every entry damaged: half flipped in the middle, half cut short.
    for (i, entry) in entries.iter().enumerate() {
        let mut bytes = fs::read(entry).unwrap();
        if i % 2 == 0 {
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0x55;
        } else {
            bytes.truncate(bytes.len() / 3);
        }
        fs::write(entry, bytes).unwrap();
    }
    let rebuilt = build(root, &["-o", "out.epub", "--cache-dir", "my-cache"]);
    assert!(!rebuilt.contains("from cache"), "damaged entries were used: {rebuilt}");
    assert_eq!(fs::read(root.join("out.epub")).unwrap(), fs::read(root.join("clean.epub")).unwrap());
    let healed = build(root, &["-o", "out.epub", "--cache-dir", "my-cache"]);
    assert!(healed.contains("2 from cache"), "{healed}");
}

#[test]
fn diagnostics_are_replayed_from_the_cache() {
    let dir = fixture("mdbook");
    let root = dir.path();
    let cold = folio(root, &["build", "book", "-o", "out.epub", "--quiet"]);
    let warm = folio(root, &["build", "book", "-o", "out.epub", "--quiet"]);
    assert_eq!(cold.code, 0);
    assert!(cold.stderr.contains("warning"), "the fixture has warnings");
    assert_eq!(cold.stderr, warm.stderr);
}

#[test]
fn one_cache_folder_per_book_however_its_path_is_written() {
    let dir = fixture("rtl");
    let root = dir.path();
    folio(root, &["build", "book", "-o", "out.epub", "--cache-dir", "c"]);
    folio(root, &["build", "./book/", "-o", "out.epub", "--cache-dir", "c"]);
    let absolute = root.join("book");
    let run = folio(root, &["build", absolute.to_str().unwrap(), "-o", "out.epub", "--cache-dir", "c"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(fs::read_dir(root.join("c")).unwrap().count(), 1, "one folder for the one book");
}

#[test]
fn a_read_only_cache_is_used_but_never_written() {
    let dir = fixture("mdbook");
    let book = dir.path().join("book");
    let cache = dir.path().join("cache");
    let writable = folio::Settings { cache_dir: Some(cache.clone()), ..folio::Settings::default() };
    let read_only = folio::Settings { cache_read_only: true, ..writable.clone() };
    assert_eq!(folio::build(&book, &writable).unwrap().stats.cached, 0);
    let filled = snapshot(&cache);
    assert!(filled.len() > 7, "an entry per chapter and generated page");

    let unchanged = folio::build(&book, &read_only).unwrap();
    assert_eq!((unchanged.stats.chapters, unchanged.stats.cached), (7, 7));
    let chapter = book.join("src/tables.md");
    fs::write(&chapter, fs::read_to_string(&chapter).unwrap().replace("done", "finished")).unwrap();
    let edited = folio::build(&book, &read_only).unwrap();
    assert_eq!(edited.stats.cached, 6, "the edited chapter is rendered");
    assert_eq!(snapshot(&cache), filled, "nothing added for the edit, nothing pruned");
    // The same build with the writable cache stores the edited chapter and drops the old one.
    assert_eq!(folio::build(&book, &writable).unwrap().stats.cached, 6);
    assert_ne!(snapshot(&cache), filled);
}

/// Unix only: elsewhere files have no stamps and every chapter is read.
#[cfg(unix)]
#[test]
fn a_rebuild_skips_reading_settled_unchanged_chapters_and_still_sees_every_edit() {
    let dir = fixture("mdbook");
    let book = dir.path().join("book");
    let settings = folio::Settings { cache_dir: Some(dir.path().join("cache")), ..folio::Settings::default() };
    let build = || {
        let built = folio::build(&book, &settings).unwrap();
        let bytes = folio::package::zip_bytes(built.epub.as_ref().expect("the fixture builds")).unwrap();
        (built.stats, bytes)
    };
    let (fresh, _) = build();
    assert_eq!((fresh.chapters, fresh.unread), (7, 0));
    // Files that changed just before a build are not recorded (the unit tests in memo.rs show it);
    // once they have settled, one more build records them.
    std::thread::sleep(folio::files::SETTLE_TIME + std::time::Duration::from_millis(100));
    build();
    // Every chapter: none reports anything while it is read (one that did would be read every time).
    let (unchanged, before) = build();
    assert_eq!((unchanged.cached, unchanged.unread), (7, 7));

    // An edit that keeps the size and sets the modification time back is still seen.
    let chapter = book.join("src/tables.md");
    let modified = fs::metadata(&chapter).unwrap().modified().unwrap();
    let text = fs::read_to_string(&chapter).unwrap();
    assert!(text.contains("done"));
    fs::write(&chapter, text.replace("done", "DONE")).unwrap();
    fs::File::options().write(true).open(&chapter).unwrap().set_modified(modified).unwrap();
    let (edited, after) = build();
    assert_eq!((edited.cached, edited.unread), (6, 6));
    assert_ne!(after, before);
    let clean = folio::build(&book, &folio::Settings::default()).unwrap();
    assert_eq!(after, folio::package::zip_bytes(clean.epub.as_ref().unwrap()).unwrap(), "as a clean build");
}

/// A cache folder that comes with a book (committed beside it, or copied from another machine) is not
/// trusted: its entries are signed with the secret of the user who built them, and this user's build
/// renders every chapter itself.
#[test]
fn a_cache_made_by_someone_else_is_not_trusted() {
    let dir = fixture("mdbook");
    let root = dir.path();
    let (author, reader) = (root.join("author-home"), root.join("reader-home"));
    let build_as = |home: &std::path::Path| {
        let home = home.to_str().unwrap();
        let run = folio_with_env(root, &["build", "book", "-o", "dist/book.epub"], &[("XDG_CACHE_HOME", home)]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        (run.stderr, fs::read(root.join("dist/book.epub")).unwrap())
    };
    let (_, authored) = build_as(&author);
    assert_eq!(fs::read(author.join("folio/key")).unwrap().len(), 32, "the author's secret was made");
    let (again, _) = build_as(&author);
    assert!(again.contains("7 from cache"), "{again}");
    let (read, built) = build_as(&reader);
    assert!(!read.contains("from cache"), "another user's entries were used: {read}");
    assert_eq!(built, authored, "the same book, rendered afresh");
    assert_ne!(fs::read(author.join("folio/key")).unwrap(), fs::read(reader.join("folio/key")).unwrap());
}

/// Notes numbered across the book: a note added to the first chapter renders that chapter alone again.
/// The next chapter is not read; its rendering comes from the cache and only its note numbers move.
#[cfg(unix)]
#[test]
fn a_note_added_to_one_chapter_renumbers_the_next_without_rendering_it() {
    let dir = fixture("citations");
    let book = dir.path().join("book");
    let settings = folio::Settings { cache_dir: Some(dir.path().join("cache")), ..folio::Settings::default() };
    let first_note_of_second = |settings: &folio::Settings| {
        let built = folio::build(&book, settings).unwrap();
        let epub = dir.path().join("out.epub");
        fs::write(&epub, folio::package::zip_bytes(built.epub.as_ref().expect("the fixture builds")).unwrap()).unwrap();
        let (_, files) = common::books::unzip(&epub);
        let second = files.iter().find(|(path, _)| path.ends_with("second.xhtml")).expect("the second chapter").1;
        let second = String::from_utf8(second.clone()).unwrap();
        let number = second.split("id=\"note.").nth(1).and_then(|rest| rest.split('"').next()).unwrap().to_string();
        (built.stats, number.parse::<usize>().unwrap(), fs::read(&epub).unwrap())
    };
    first_note_of_second(&settings);
    // Files that changed just before a build are not recorded; once settled, one more build records them.
    std::thread::sleep(folio::files::SETTLE_TIME + std::time::Duration::from_millis(100));
    let (unchanged, before, _) = first_note_of_second(&settings);
    assert_eq!((unchanged.chapters, unchanged.cached), (2, 2));

    let first = book.join("src/first.md");
    let text = fs::read_to_string(&first).unwrap();
    fs::write(&first, format!("{text}\nOne more.[^added]\n\n[^added]: An added note.\n")).unwrap();
    let (edited, after, warm) = first_note_of_second(&settings);
    assert_eq!((edited.cached, edited.unread), (1, 1), "only the first chapter is read and rendered");
    assert_eq!(after, before + 1, "the second chapter's notes follow the added one");
    let (_, _, clean) = first_note_of_second(&folio::Settings::default());
    assert_eq!(warm, clean, "as a clean build");
}

/// A warm build frames only what changed: nothing when nothing did; after a note is added to the first
/// chapter of a book numbering its notes across chapters, that chapter and the later ones with notes,
/// framed again from their cached renderings, while the one without notes comes finished from the cache.
#[test]
fn a_warm_build_frames_only_the_chapters_whose_notes_moved() {
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[
            ("book/book.toml", "[book]\ntitle = \"Notes\"\n\n[epub]\nfootnote-numbering = \"book\"\n"),
            ("book/src/SUMMARY.md", "- [One](one.md)\n- [Two](two.md)\n- [Three](three.md)\n- [Four](four.md)\n"),
            ("book/src/one.md", "# One\n\nA[^a].\n\n[^a]: First.\n"),
            ("book/src/two.md", "# Two\n\nNo notes here.\n"),
            ("book/src/three.md", "# Three\n\nC[^c].\n\n[^c]: Third.\n"),
            ("book/src/four.md", "# Four\n\nD[^d].\n\n[^d]: Fourth.\n"),
        ],
    );
    let book = dir.path().join("book");
    let settings = folio::Settings { cache_dir: Some(dir.path().join("cache")), ..folio::Settings::default() };
    let build = || {
        let stats = folio::build(&book, &settings).unwrap().stats;
        (stats.chapters, stats.cached, stats.framed)
    };
    assert_eq!(build(), (4, 0, 4), "a cold build frames every chapter");
    assert_eq!(build(), (4, 4, 0), "an unchanged warm build frames none");
    let one = book.join("src/one.md");
    fs::write(&one, fs::read_to_string(&one).unwrap().replace("A[^a].", "A[^a], a[^added].\n\n[^added]: Added."))
        .unwrap();
    assert_eq!(build(), (4, 3, 3), "chapter one rendered, three and four renumbered, two taken finished");
    assert_eq!(build(), (4, 4, 0));
}
