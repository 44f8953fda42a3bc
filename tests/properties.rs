//! Property tests: whatever Markdown and raw HTML an author writes, folio renders well-formed
//! XHTML whose note references all have their notes; random books build into packages that pass
//! folio's own checks, and a fixed sample of them passes EPUBCheck.

mod common;

use std::collections::HashSet;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use folio::target::Target;

/// Pieces an author might write, including hostile raw HTML.
fn fragment() -> impl Strategy<Value = String> {
    let text = "[a-zA-Z0-9 &<>\"'*_`#\\[\\]()!:.\\-|~^@{}\u{0}\u{1}\u{7f}\u{a0}\u{200b}\u{202e}é中🎉]{0,40}";
    prop_oneof![
        text.prop_map(|t| t),
        Just("\n\n".to_string()),
        Just("# ".to_string()),
        Just("## Heading\n".to_string()),
        Just("- item\n".to_string()),
        Just("1. one\n".to_string()),
        Just("> quote\n".to_string()),
        Just("\n\n```rust\n# hidden\nfn x() {}\n```\n\n".to_string()),
        Just("\n\n| a | b |\n|---|:-:|\n| 1 | 2 |\n\n".to_string()),
        Just("[^n]".to_string()),
        Just("\n\n[^n]: a note\n\n".to_string()),
        Just("[link](#h)".to_string()),
        Just("![alt](https://example.org/x.png)".to_string()),
        Just("<br>".to_string()),
        Just("<kbd>".to_string()),
        Just("</kbd>".to_string()),
        Just("<span class=\"x\" title=\"a&amp;b\">".to_string()),
        Just("</span>".to_string()),
        Just("*".to_string()),
        Just("**".to_string()),
        Just("<!-- c -->".to_string()),
        Just("<p><b>misnested<i></b></i>".to_string()),
        Just("&nbsp;&copy;&bogus;&#0;&#xD800;".to_string()),
        Just("<!-- a -- b -->".to_string()),
        Just("<![CDATA[ x ]]>".to_string()),
        Just("<script>alert(1)</script>".to_string()),
        Just("<style>p{}</style>".to_string()),
        Just("<div onclick=\"x()\" a\"b=1 id=\"1 2\">".to_string()),
        Just("<a href=\"javascript:x()\">j</a>".to_string()),
        Just("<img src=\"data:image/png;base64,AA\">".to_string()),
        Just("<svg><circle r=\"1\"/><foreignObject><p>x</p></foreignObject></svg>".to_string()),
        Just("<math><mi>x</mi></math>".to_string()),
        Just("<table><td>cell".to_string()),
        Just("</div></span></p>".to_string()),
        Just("<iframe src=\"https://x\"></iframe>".to_string()),
        Just("<form><input></form>".to_string()),
        Just("<a name=\"top\">t</a>".to_string()),
        Just("<xml:weird x:y=\"1\">".to_string()),
    ]
}

fn markdown() -> impl Strategy<Value = String> {
    prop::collection::vec(fragment(), 0..30).prop_map(|parts| parts.concat())
}

/// What a well-formed body holds, read by an XML parser: its ids, and its images without alt text.
fn parsed(document: &str) -> (HashSet<String>, usize) {
    let parsed = roxmltree::Document::parse(document).expect("checked well-formed");
    let elements = || parsed.descendants().filter(roxmltree::Node::is_element);
    let ids = elements().filter_map(|n| n.attribute("id")).map(str::to_string).collect();
    let undescribed =
        elements().filter(|n| n.tag_name().name() == "img" && n.attribute("alt").is_none_or(str::is_empty)).count();
    (ids, undescribed)
}

/// The ids the note references point to.
fn note_targets(xhtml: &str) -> HashSet<String> {
    xhtml
        .match_indices("role=\"doc-noteref\"")
        .filter_map(|(i, _)| {
            let rest = &xhtml[i..];
            let start = rest.find("href=\"#")? + 7;
            Some(rest[start..start + rest[start..].find('"')?].to_string())
        })
        .collect()
}

proptest! {
    #![proptest_config(Config { cases: 300, ..Config::default() })]

    #[test]
    fn any_markdown_renders_to_well_formed_xhtml(md in markdown()) {
        let chapter = folio::render_markdown(&md);
        let document = format!("<body xmlns=\"http://www.w3.org/1999/xhtml\" xmlns:epub=\"http://www.idpf.org/2007/ops\">{}</body>", chapter.body);
        if let Err(e) = folio::validate::well_formed(&document) {
            prop_assert!(false, "{e}\nMarkdown: {md:?}\nXHTML: {}", chapter.body);
        }
        // What the renderer recorded as it wrote is what it wrote.
        let (ids, undescribed) = parsed(&document);
        let recorded: HashSet<String> = chapter.ids.iter().map(str::to_string).collect();
        prop_assert_eq!(&recorded, &ids, "Markdown: {:?}\nXHTML: {}", md, chapter.body);
        prop_assert_eq!(chapter.undescribed_images, undescribed, "Markdown: {:?}\nXHTML: {}", md, chapter.body);
        for target in note_targets(&chapter.body) {
            prop_assert!(ids.contains(&target), "note reference to missing #{target}\nMarkdown: {md:?}");
        }
    }

    #[test]
    fn kobo_spans_keep_any_chapter_well_formed_with_its_text(md in markdown()) {
        let chapter = folio::render_markdown(&md);
        let wrap = |body: &str| format!("<body xmlns=\"http://www.w3.org/1999/xhtml\" xmlns:epub=\"http://www.idpf.org/2007/ops\">{body}</body>");
        let kobo = wrap(&folio::target::kobo::body(&chapter.body));
        // Unique ids included: folio's check refuses a repeated one.
        if let Err(e) = folio::validate::well_formed(&kobo) {
            prop_assert!(false, "{e}\nMarkdown: {md:?}\nXHTML: {kobo}");
        }
        let (pieces, spans) = common::kobo::without_kobo_markup(&kobo);
        prop_assert_eq!(pieces, common::kobo::without_kobo_markup(&wrap(&chapter.body)).0, "Markdown: {:?}", md);
        prop_assert_eq!(spans.inside_code_or_foreign, 0);
    }
}

/// Fenced code in the languages folio highlights, with random contents and raw HTML around it.
fn code_blocks() -> impl Strategy<Value = String> {
    let fence = prop::sample::select(vec![
        "rust", "python", "c", "cpp", "js", "ts", "json", "toml", "yaml", "console", "html", "xml", "css", "sql", "go",
        "java", "text", "",
    ]);
    let body = "[a-zA-Z0-9_ \n\t\"'`\\\\#/*<>&;:=!@$%{}()\\[\\]+.,|~-]{0,80}";
    let block = (fence, body, any::<bool>()).prop_map(|(fence, body, raw_html)| {
        let html = if raw_html { "<div class=\"x\">\n\n" } else { "" };
        format!("{html}```{fence}\n{body}\n```\n\n")
    });
    prop::collection::vec(block, 1..5).prop_map(|blocks| blocks.concat())
}

proptest! {
    #![proptest_config(Config { cases: 300, ..Config::default() })]

    #[test]
    fn highlighted_code_renders_to_well_formed_xhtml(md in code_blocks()) {
        let chapter = folio::render_markdown(&md);
        let document = format!("<body xmlns=\"http://www.w3.org/1999/xhtml\" xmlns:epub=\"http://www.idpf.org/2007/ops\">{}</body>", chapter.body);
        if let Err(e) = folio::validate::well_formed(&document) {
            prop_assert!(false, "{e}\nMarkdown: {md:?}\nXHTML: {}", chapter.body);
        }
    }
}

/// A random book whose chapters are well-formed by construction (every note defined).
fn book_files(chapters: &[String]) -> Vec<(String, String)> {
    let mut files = vec![(
        "book/book.toml".to_string(),
        "[book]\ntitle = \"Random & <Book>\"\nauthors = [\"A \\\"B\\\" C\"]\n".to_string(),
    )];
    let mut summary = String::new();
    for (i, body) in chapters.iter().enumerate() {
        summary.push_str(&format!("- [Chapter {i} \\<&\\>](<ch {i}.md>)\n"));
        let body = body.replace("[^n]", "").replace("\n\n[^n]: a note\n\n", "\n\n");
        files.push((
            format!("book/src/ch {i}.md"),
            format!("# Chapter {i}\n\n{body}\n\n## Target {{#h}}\n\nEnd.[^n]\n\n[^n]: The note.\n"),
        ));
    }
    files.push(("book/src/SUMMARY.md".to_string(), summary));
    files
}

fn build_random_book(chapters: &[String], target: Target) -> (tempfile::TempDir, folio::Build) {
    let dir = tempfile::tempdir().unwrap();
    for (path, content) in book_files(chapters) {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    let build =
        folio::build(&dir.path().join("book"), &folio::Settings { target, ..folio::Settings::default() }).unwrap();
    (dir, build)
}

proptest! {
    #![proptest_config(Config { cases: 40, ..Config::default() })]

    #[test]
    fn random_books_pass_folios_own_checks(chapters in prop::collection::vec(markdown(), 1..6)) {
        for target in [Target::Epub, Target::Kobo, Target::Kindle] {
            let (_dir, build) = build_random_book(&chapters, target);
            // Random text can hold real author mistakes (an undefined `[^x]`); never a broken package.
            let internal: Vec<String> = build.diagnostics.iter().filter(|d| d.message.starts_with("internal error")).map(ToString::to_string).collect();
            prop_assert!(internal.is_empty(), "{target}: {internal:#?}");
            if !build.has_errors() {
                let epub = build.epub.expect("no errors, so an EPUB");
                prop_assert!(folio::validate::check(&epub).is_empty(), "{target}");
            }
        }
    }
}

#[test]
fn a_fixed_sample_of_random_books_passes_epubcheck() {
    let mut runner = TestRunner::new_with_rng(Config::default(), TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let strategy = prop::collection::vec(markdown(), 3..6);
    for _ in 0..3 {
        let chapters = strategy.new_tree(&mut runner).unwrap().current();
        // Kobo's spans go into every text the author wrote, so its flavour is checked too.
        for target in [Target::Epub, Target::Kobo] {
            let (dir, build) = build_random_book(&chapters, target);
            let epub = build.epub.unwrap_or_else(|| panic!("{:#?}\n{:#?}", build.diagnostics, book_files(&chapters)));
            let path = dir.path().join("random.epub");
            std::fs::write(&path, folio::package::zip_bytes(&epub).unwrap()).unwrap();
            common::epubcheck::assert_valid(&path);
        }
    }
}
