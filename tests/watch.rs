//! `folio watch`: builds, rebuilds after an edit, keeps the last good EPUB while the book has
//! errors, and stops cleanly on Ctrl-C (SIGINT).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::books::{fixture, unzip};

#[cfg(unix)]
#[test]
fn rebuilds_on_save_and_stops_on_ctrl_c() {
    let dir = fixture("rtl");
    let root = dir.path();
    let mut child = Command::new(env!("CARGO_BIN_EXE_folio"))
        .args(["watch", "book", "-o", "out/book.epub"])
        .current_dir(root)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let wait_for = |needle: &str| -> String {
        loop {
            let line =
                rx.recv_timeout(Duration::from_secs(30)).unwrap_or_else(|_| panic!("no '{needle}' from folio watch"));
            if line.contains(needle) {
                return line;
            }
        }
    };
    // No rebuild without an edit: reading the book for a build is not a change.
    let assert_quiet = |what: &str| {
        let deadline = std::time::Instant::now() + Duration::from_millis(1500);
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            if let Ok(line) = rx.recv_timeout(left) {
                assert!(!line.contains("changed") && !line.starts_with("built"), "{what}: {line}");
            }
        }
    };
    wait_for("built out/book.epub");
    wait_for("watching");
    assert_quiet("rebuilt without an edit");
    let chapter = root.join("book/src/one.md");
    // Saved the way most editors save: a new file renamed over the old one, so no half-written state is seen.
    let save = |text: &str| {
        let temp = root.join("book/src/.one.md.swp");
        std::fs::write(&temp, text).unwrap();
        std::fs::rename(&temp, &chapter).unwrap();
    };

    // An edit is rebuilt, from the cache for everything else.
    save("# الفصل الأول\n\nنص جديد تماما.\n");
    wait_for("built out/book.epub");
    let (_, files) = unzip(&root.join("out/book.epub"));
    let (_, chapter_file) = files.iter().find(|(path, _)| path.starts_with("EPUB/text/c001")).unwrap();
    let text = String::from_utf8(chapter_file.clone()).unwrap();
    assert!(text.contains("نص جديد تماما"), "{text}");
    assert_quiet("rebuilt again after one edit");

    // A broken save is reported at its line; the last good EPUB stays.
    let good = std::fs::read(root.join("out/book.epub")).unwrap();
    save("# الفصل الأول\n\nنص[^missing]\n");
    wait_for("book/src/one.md:3:3: error: undefined footnote '[^missing]'");
    wait_for("could not build the book");
    assert_eq!(std::fs::read(root.join("out/book.epub")).unwrap(), good);

    let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    wait_for("stopped watching");
    let exit = child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
}
