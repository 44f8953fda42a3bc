//! `--target kobo` and `--target kindle` (issue 6): both pass EPUBCheck on every fixture and on the
//! project's book; a kepub is the standard book plus Kobo's markup and nothing else; a Kindle book
//! follows Send to Kindle's rules; `--target epub` is the default, byte for byte.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use common::books::{copy_dir, fixture, folio, repo, text, unzip, write_files};
use common::epubcheck;
use common::kobo::{Piece, without_kobo_markup};

const FIXTURES: &[&str] = &["mdbook", "citations", "rtl", "hostile-html", "math"];

/// Every book to test with: the fixtures and the project's book, each a copy in its own folder.
fn books() -> Vec<(String, tempfile::TempDir)> {
    let mut books: Vec<(String, tempfile::TempDir)> =
        FIXTURES.iter().map(|name| (name.to_string(), fixture(name))).collect();
    let project = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("book"), &project.path().join("book"));
    books.push(("project".to_string(), project));
    books
}

/// Builds `dir/book` for `target` into `dir/<target>.epub`; the path and what folio printed.
fn build(dir: &Path, target: &str) -> (PathBuf, String) {
    let out = dir.join(format!("{target}.epub"));
    let run = folio(dir, &["build", "book", "-o", out.to_str().unwrap(), "--target", target, "--no-cache"]);
    assert_eq!(run.code, 0, "--target {target} failed:\n{}", run.stderr);
    (out, run.stderr)
}

/// The XHTML documents of the text folder, by file name.
fn pages(files: &BTreeMap<String, Vec<u8>>) -> BTreeMap<String, String> {
    files
        .keys()
        .filter(|p| p.starts_with("EPUB/text/"))
        .map(|p| (p.trim_start_matches("EPUB/text/").to_string(), text(files, p)))
        .collect()
}

#[test]
fn kobo_and_kindle_books_pass_epubcheck() {
    for (name, dir) in books() {
        for target in ["kobo", "kindle"] {
            let (out, _) = build(dir.path(), target);
            eprintln!("{name}, --target {target}");
            epubcheck::assert_valid(&out);
        }
    }
}

#[test]
fn a_kepub_is_the_standard_book_plus_kobo_markup() {
    for (name, dir) in books() {
        let (standard, _) = build(dir.path(), "epub");
        let (kepub, _) = build(dir.path(), "kobo");
        let standard = pages(&unzip(&standard).1);
        let kepub = pages(&unzip(&kepub).1);
        assert_eq!(standard.keys().collect::<Vec<_>>(), kepub.keys().collect::<Vec<_>>(), "{name}: the same pages");
        let mut multi_sentence_paragraphs = 0;
        for (page, kobo) in &kepub {
            let plain = &standard[page];
            if page == "nav.xhtml" {
                assert_eq!(kobo, plain, "{name}: the table of contents has no spans");
                continue;
            }
            let (kobo_pieces, spans) = without_kobo_markup(kobo);
            let (plain_pieces, _) = without_kobo_markup(plain);
            assert_eq!(
                kobo_pieces, plain_pieces,
                "{name}/{page}: Kobo's markup taken out, the page is the standard page"
            );
            assert!(!spans.ids.is_empty(), "{name}/{page}: no koboSpan");
            assert_eq!(spans.inside_code_or_foreign, 0, "{name}/{page}: a span inside code, SVG or MathML");
            let unique: HashSet<&String> = spans.ids.iter().collect();
            assert_eq!(unique.len(), spans.ids.len(), "{name}/{page}: span ids repeat");
            assert!(spans.ids.iter().all(|id| is_kobo_id(id)), "{name}/{page}: {:?}", spans.ids);
            multi_sentence_paragraphs += spans.ids.iter().filter(|id| id.ends_with(".2")).count();
            assert!(kobo.contains("<div id=\"book-columns\">\n<div id=\"book-inner\">\n"), "{name}/{page}");
            assert!(kobo.contains("<style class=\"kobostylehacks\">"), "{name}/{page}");
            assert_popup_notes(&format!("{name}/{page}"), kobo, plain);
        }
        assert!(multi_sentence_paragraphs > 0, "{name}: no paragraph was cut into sentences");
    }
}

fn is_kobo_id(id: &str) -> bool {
    let parts: Vec<&str> = id.split('.').collect();
    parts.len() == 3 && parts[0] == "kobo" && parts[1..].iter().all(|n| n.parse::<u32>().is_ok_and(|n| n > 0))
}

/// Every note reference says `endnote` too, and points at an `<aside epub:type="footnote">`.
fn assert_popup_notes(page: &str, kobo: &str, plain: &str) {
    let references = plain.matches("epub:type=\"noteref\"").count();
    assert_eq!(kobo.matches("epub:type=\"noteref endnote\"").count(), references, "{page}");
    for (at, _) in kobo.match_indices("epub:type=\"noteref endnote\"") {
        let rest = &kobo[at..];
        let href = &rest[rest.find("href=\"#").unwrap() + 7..];
        let id = &href[..href.find('"').unwrap()];
        let note = format!("<aside class=\"footnote\" epub:type=\"footnote\" role=\"doc-footnote\" id=\"{id}\">");
        assert!(kobo.contains(&note), "{page}: #{id} is not a footnote aside");
    }
}

#[test]
fn kepub_backlinks_use_an_arrow_kobos_fonts_have() {
    let dir = fixture("mdbook");
    let (kepub, _) = build(dir.path(), "kobo");
    let intro = text(&unzip(&kepub).1, "EPUB/text/c001-introduction.xhtml");
    assert!(
        intro.contains("href=\"#noteref.1.2\" aria-label=\"Back to reference 2\"><span class=\"koboSpan\""),
        "{intro}"
    );
    assert!(intro.contains(">\u{2190}2</span></a>") && !intro.contains('\u{21a9}'), "{intro}");
}

#[test]
fn a_kindle_book_follows_send_to_kindle_rules() {
    for (name, dir) in books() {
        let (standard, _) = build(dir.path(), "epub");
        let (kindle, stderr) = build(dir.path(), "kindle");
        let (_, standard) = unzip(&standard);
        let (order, kindle) = unzip(&kindle);
        let opf = text(&kindle, "EPUB/package.opf");
        assert_eq!(opf.matches("<dc:title").count(), 1, "{name}: one dc:title\n{opf}");
        assert!(opf.contains("<spine toc=\"ncx\""), "{name}: the NCX is the spine's toc");
        assert!(order.contains(&"EPUB/toc.ncx".to_string()), "{name}");
        assert!(opf.contains("<guide>\n<reference type=\"title-page\""), "{name}: {opf}");
        assert!(
            opf.contains("<reference type=\"toc\" title=\"") && opf.contains("href=\"text/nav.xhtml#toc\"/>"),
            "{name}"
        );
        assert!(opf.contains("<reference type=\"text\""), "{name}: {opf}");
        assert!(!kindle.contains_key("EPUB/text/cover.xhtml"), "{name}: no HTML cover page");
        assert!(
            !opf.contains("text/cover.xhtml") && !text(&kindle, "EPUB/text/nav.xhtml").contains("epub:type=\"cover\"")
        );
        let has_cover = standard.contains_key("EPUB/text/cover.xhtml");
        assert_eq!(opf.contains("<meta name=\"cover\" content=\"cover-image\"/>"), has_cover, "{name}");
        assert_eq!(opf.contains("properties=\"cover-image\""), has_cover, "{name}");
        if has_cover {
            let item = opf.lines().find(|l| l.contains("properties=\"cover-image\"")).unwrap();
            assert!(
                item.contains("media-type=\"image/png\"") || item.contains("media-type=\"image/jpeg\""),
                "{name}: {item}"
            );
        }
        let ncx = text(&kindle, "EPUB/toc.ncx");
        assert!(ncx_depth(&ncx) <= 2, "{name}: at most two levels\n{ncx}");
        assert!(nav_depth(&text(&kindle, "EPUB/text/nav.xhtml")) <= 2, "{name}");
        assert!(text(&kindle, "EPUB/css/folio.css").contains("h1, h2, h3, h4, h5, h6 { text-align: "), "{name}");
        for (path, data) in &kindle {
            if path.starts_with("EPUB/text/c") {
                let standard = text(&standard, path);
                // Formulas written in TeX carry it as an annotation; MathML written as such stays.
                if standard.contains("encoding=\"application/x-tex\"") {
                    assert_formulas_drawn(&standard, &text(&kindle, path), &kindle, &opf);
                } else {
                    assert_eq!(data, standard.as_bytes(), "{name}: Kindle leaves chapters as they are: {path}");
                }
            }
        }
        let drawn = formula_images(&kindle).len();
        assert_eq!(drawn > 0, name == "math", "{name}: formulas drawn only where there are formulas");
        if !has_cover {
            assert!(stderr.contains("warning: Send to Kindle wants a JPEG or PNG cover"), "{name}: {stderr}");
        }
    }
}

/// The values of `attribute` on each `element` of `page`, in order.
fn attribute_values(page: &str, element: &str, attribute: &str) -> Vec<String> {
    page.split(&format!("<{element} "))
        .skip(1)
        .filter_map(|tag| {
            let tag = &tag[..tag.find('>').unwrap()];
            let value = tag.split(&format!(" {attribute}=\"")).nth(1)?;
            Some(value[..value.find('"').unwrap()].to_string())
        })
        .collect()
}

/// Each formula of the standard page is, on the Kindle page, a PNG packaged with the book, with its TeX
/// as alt text, and in the same order; nothing else changed.
fn assert_formulas_drawn(standard: &str, kindle: &str, files: &BTreeMap<String, Vec<u8>>, opf: &str) {
    assert!(!kindle.contains("<math"), "{kindle}");
    let formulas = attribute_values(standard, "math", "alttext");
    let images: Vec<String> = kindle.split("<img class=\"math").skip(1).map(|img| format!("<img {img}")).collect();
    let alts: Vec<String> = images.iter().flat_map(|img| attribute_values(img, "img", "alt")).collect();
    assert_eq!(alts, formulas, "every formula in order, its TeX as alt text");
    for src in images.iter().flat_map(|img| attribute_values(img, "img", "src")) {
        let href = src.strip_prefix("../").unwrap();
        assert!(href.starts_with("images/formulas/") && href.ends_with(".png"), "{src}");
        assert!(files[&format!("EPUB/{href}")].starts_with(b"\x89PNG"), "{src}");
        assert_eq!(opf.matches(&format!("href=\"{href}\" media-type=\"image/png\"")).count(), 1, "{src}: one item");
    }
    let texts = |page: &str| {
        page.split('<').map(|piece| piece.split_once('>').map_or(piece, |(_, text)| text)).collect::<String>()
    };
    let without_math = standard
        .split("<math")
        .enumerate()
        .map(|(i, piece)| if i == 0 { piece } else { piece.split_once("</math>").unwrap().1 })
        .collect::<String>();
    assert_eq!(texts(kindle), texts(&without_math), "only the formulas changed");
}

fn ncx_depth(ncx: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    for (i, _) in ncx.match_indices("navPoint") {
        if ncx[..i].ends_with("</") {
            depth -= 1;
        } else if ncx[..i].ends_with('<') {
            depth += 1;
            deepest = deepest.max(depth);
        }
    }
    deepest
}

fn nav_depth(nav: &str) -> usize {
    let toc = &nav[..nav.find("</nav>").unwrap()];
    let (mut depth, mut deepest) = (0usize, 0usize);
    for (i, _) in toc.match_indices("ol") {
        if toc[..i].ends_with("</") {
            depth -= 1;
        } else if toc[..i].ends_with('<') {
            depth += 1;
            deepest = deepest.max(depth);
        }
    }
    deepest
}

/// Kobo keeps each formula's MathML and names a PNG of it as `altimg`, for Kobo's apps without MathML:
/// every `<math>` has one, sized in ems; its file is in the package and its manifest; its alt text (the
/// `alttext`) is the formula's TeX, as on the standard page; and the images are Kindle's.
#[test]
fn kobo_formulas_are_mathml_with_a_png_as_altimg() {
    let dir = fixture("math");
    let (standard, _) = build(dir.path(), "epub");
    let (kepub, stderr) = build(dir.path(), "kobo");
    let (kindle, _) = build(dir.path(), "kindle");
    assert!(!stderr.contains("cannot be drawn"), "{stderr}");
    let standard = pages(&unzip(&standard).1);
    let (_, files) = unzip(&kepub);
    let opf = text(&files, "EPUB/package.opf");
    let mut named = HashSet::new();
    for (page, kobo) in pages(&files) {
        let formulas = attribute_values(&kobo, "math", "alttext");
        assert_eq!(formulas, attribute_values(&standard[&page], "math", "alttext"), "{page}: the TeX as alt text");
        let altimgs = attribute_values(&kobo, "math", "altimg");
        assert_eq!(altimgs.len(), formulas.len(), "{page}: every formula has an image");
        for size in ["altimg-width", "altimg-height", "altimg-valign"] {
            let values = attribute_values(&kobo, "math", size);
            assert_eq!(values.len(), formulas.len(), "{page}: {size}");
            assert!(values.iter().all(|v| v.ends_with("em") && v[..v.len() - 2].parse::<f32>().is_ok()), "{values:?}");
        }
        for src in altimgs {
            let href = src.strip_prefix("../").unwrap();
            assert!(href.starts_with("images/formulas/") && href.ends_with(".png"), "{src}");
            assert!(files[&format!("EPUB/{href}")].starts_with(b"\x89PNG"), "{src}");
            assert_eq!(opf.matches(&format!("href=\"{href}\" media-type=\"image/png\"")).count(), 1, "{src}");
            named.insert(format!("EPUB/{href}"));
        }
        let item = format!("href=\"text/{page}\" media-type=\"application/xhtml+xml\" properties=\"mathml\"");
        assert_eq!(opf.contains(&item), !formulas.is_empty(), "{page}");
    }
    let packaged = |files| formula_images(files).into_iter().cloned().collect::<HashSet<String>>();
    assert_eq!(packaged(&files), named, "every image packaged is some formula's");
    assert_eq!(packaged(&unzip(&kindle).1), named, "Kobo and Kindle show the same drawings");
    assert!(opf.contains("<meta property=\"schema:accessibilityFeature\">MathML</meta>"), "{opf}");
}

/// The images of formulas a package holds, by their paths in it.
fn formula_images(files: &BTreeMap<String, Vec<u8>>) -> Vec<&String> {
    files.keys().filter(|p| p.starts_with("EPUB/images/formulas/")).collect()
}

/// A package path under `EPUB/` as a page in `EPUB/text/` links to it.
fn from_a_page(path: &str) -> String {
    format!("../{}", path.strip_prefix("EPUB/").expect("a path in the package"))
}

/// A formula latex-rust cannot draw keeps its MathML without an image, with a warning; one math-core
/// cannot convert is TeX as code, and its image, though drawn, is not packaged; a repeat is one file.
#[test]
fn kobo_formulas_without_an_image_say_so() {
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[
            ("book/book.toml", "[book]\ntitle = \"Sums\"\n[epub]\nmath = true\ncover = false\n"),
            ("book/src/SUMMARY.md", "- [One](one.md)\n"),
            ("book/src/one.md", "# One\n\n$x^2$, $x^2$, $a \\equiv b \\pmod n$ and $\\boxed{x}$.\n"),
        ],
    );
    let (kepub, stderr) = build(dir.path(), "kobo");
    assert!(
        stderr.contains("book/src/one.md:3:15: warning: formula cannot be drawn as an image for Kobo: ")
            && stderr.contains("hint: it is kept as MathML without an image, which Kobo's Windows app may show"),
        "{stderr}"
    );
    assert!(stderr.contains("book/src/one.md:3:40: warning: formula cannot be converted to MathML: "), "{stderr}");
    let (_, files) = unzip(&kepub);
    let formulas = formula_images(&files);
    assert_eq!(formulas.len(), 1, "{formulas:?}");
    let one = text(&files, "EPUB/text/c001-one.xhtml");
    assert_eq!(attribute_values(&one, "math", "alttext"), ["x^2", "x^2", "a \\equiv b \\pmod n"], "{one}");
    let image = from_a_page(formulas[0]);
    assert_eq!(attribute_values(&one, "math", "altimg"), [image.clone(), image], "{one}");
    assert!(
        one.contains("<code class=\"tex\"><span class=\"koboSpan\"") && one.contains(">\\boxed{x}</span></code>"),
        "{one}"
    );
    epubcheck::assert_valid(&kepub);
}

#[test]
fn kindle_formulas_are_images_once_each_and_undrawable_ones_stay_mathml() {
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[
            ("book/book.toml", "[book]\ntitle = \"Sums\"\n[epub]\nmath = true\ncover = false\n"),
            ("book/src/SUMMARY.md", "- [One](one.md)\n- [Two](two.md)\n"),
            ("book/src/one.md", "# One\n\n$x^2$ and again $x^2$.\n"),
            ("book/src/two.md", "# Two\n\nOnce more $x^2$, and $a \\equiv b \\pmod n$.\n"),
        ],
    );
    let (kindle, stderr) = build(dir.path(), "kindle");
    assert!(
        stderr.contains("book/src/two.md:3:22: warning: formula cannot be drawn as an image for Kindle: "),
        "{stderr}"
    );
    let (_, files) = unzip(&kindle);
    let formulas = formula_images(&files);
    assert_eq!(formulas.len(), 1, "the same formula three times is one file: {formulas:?}");
    let one = text(&files, "EPUB/text/c001-one.xhtml");
    assert_eq!(one.matches(&format!("src=\"{}\"", from_a_page(formulas[0]))).count(), 2, "{one}");
    let two = text(&files, "EPUB/text/c002-two.xhtml");
    assert!(two.contains("<img class=\"math\"") && two.contains("<math "), "{two}");
    let opf = text(&files, "EPUB/package.opf");
    assert!(
        opf.contains("href=\"text/c002-two.xhtml\" media-type=\"application/xhtml+xml\" properties=\"mathml\""),
        "{opf}"
    );
    assert!(!opf.contains("href=\"text/c001-one.xhtml\" media-type=\"application/xhtml+xml\" properties=\"mathml\""));
    epubcheck::assert_valid(&kindle);
    // The images travel with each chapter in the cache: a book built from it is the same.
    let cached: Vec<(Vec<u8>, String)> = (0..2)
        .map(|_| {
            let run = folio(dir.path(), &["build", "book", "-o", "cached.epub", "--target", "kindle"]);
            assert_eq!(run.code, 0, "{}", run.stderr);
            (fs::read(dir.path().join("cached.epub")).unwrap(), run.stderr)
        })
        .collect();
    assert!(cached[1].1.contains("2 from cache"), "{}", cached[1].1);
    assert_eq!(cached[0].0, cached[1].0);
    assert_eq!(cached[1].0, fs::read(&kindle).unwrap());
}

#[test]
fn the_kindle_contents_of_a_book_with_parts_lose_a_level_not_an_entry() {
    let dir = fixture("mdbook");
    let (standard, _) = build(dir.path(), "epub");
    let (kindle, stderr) = build(dir.path(), "kindle");
    let standard = text(&unzip(&standard).1, "EPUB/toc.ncx");
    let kindle = text(&unzip(&kindle).1, "EPUB/toc.ncx");
    assert_eq!(ncx_depth(&standard), 3, "parts, chapters, sections");
    assert_eq!(ncx_depth(&kindle), 2);
    assert_eq!(standard.matches("<navPoint").count(), kindle.matches("<navPoint").count());
    assert!(
        stderr.contains("book/src/raw-html.md: warning: Kindle's Enhanced Typesetting does not show inline SVG"),
        "{stderr}"
    );
}

#[test]
fn the_project_books_svg_cover_becomes_a_png_for_kindle() {
    let (_, dir) = books().pop().unwrap();
    let (kindle, stderr) = build(dir.path(), "kindle");
    assert!(!stderr.contains("cover"), "{stderr}");
    let (_, files) = unzip(&kindle);
    let png = &files["EPUB/images/cover.png"];
    let number = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    assert_eq!((number(16), number(20)), (1600, 2560), "the 1:1.6 SVG at the stores' size");
    assert!(text(&files, "EPUB/package.opf").contains(
        "<item id=\"cover-image\" href=\"images/cover.png\" media-type=\"image/png\" properties=\"cover-image\"/>"
    ));
    assert!(!files.contains_key("EPUB/images/cover.svg"));
    let (standard, stderr) = build(dir.path(), "epub");
    assert!(!stderr.contains("Kindle"), "{stderr}");
    let (_, files) = unzip(&standard);
    assert!(files.contains_key("EPUB/text/cover.xhtml") && files.contains_key("EPUB/images/cover.svg"));
}

#[test]
fn default_names_and_a_cache_per_target() {
    let dir = fixture("citations");
    let root = dir.path();
    for (target, name) in [("kobo", "citations-notes.kepub.epub"), ("kindle", "citations-notes.kindle.epub")] {
        let run = folio(root, &["build", "book", "--target", target]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(
            root.join("dist").join(name).is_file(),
            "{target}: {:?}",
            fs::read_dir(root.join("dist")).unwrap().collect::<Vec<_>>()
        );
    }
    let run = folio(root, &["build", "book"]);
    assert!(root.join("dist/citations-notes.epub").is_file(), "{}", run.stderr);
    // Each target keeps its own chapters in the cache: building for one does not evict another's.
    let warm = folio(root, &["build", "book", "--target", "kobo"]);
    assert!(warm.stderr.contains("2 chapters, 2 from cache"), "{}", warm.stderr);
    let clean = folio(root, &["build", "book", "--target", "kobo", "--no-cache", "-o", "clean.kepub.epub"]);
    assert_eq!(clean.code, 0, "{}", clean.stderr);
    assert_eq!(
        fs::read(root.join("dist/citations-notes.kepub.epub")).unwrap(),
        fs::read(root.join("clean.kepub.epub")).unwrap(),
        "a warm kepub is byte-identical to a clean one"
    );
}

#[test]
fn target_epub_is_the_default_byte_for_byte() {
    let dir = fixture("citations");
    let (explicit, _) = build(dir.path(), "epub");
    let run = folio(dir.path(), &["build", "book", "-o", "default.epub", "--no-cache"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(fs::read(explicit).unwrap(), fs::read(dir.path().join("default.epub")).unwrap());
    let unknown = folio(dir.path(), &["build", "book", "--target", "nook"]);
    assert_eq!(unknown.code, 2, "{}", unknown.stderr);
    assert!(unknown.stderr.contains("possible values: epub, kobo, kindle"), "{}", unknown.stderr);
}

#[test]
fn check_validates_what_the_target_would_write() {
    let jar = epubcheck::jar().to_str().unwrap().to_string();
    let dir = fixture("mdbook");
    let kobo = common::books::folio_with_env(
        dir.path(),
        &["check", "book", "--target", "kobo", "--epubcheck"],
        &[("EPUBCHECK_JAR", &jar)],
    );
    assert_eq!(kobo.code, 0, "{}", kobo.stderr);
    assert!(kobo.stderr.contains("EPUBCheck: no errors or warnings"), "{}", kobo.stderr);
    let kindle = folio(dir.path(), &["check", "book", "--target", "kindle", "--strict"]);
    assert_eq!(kindle.code, 1, "the Kindle warnings fail a strict check");
    assert!(
        // `--strict` reports each warning as the error it makes.
        kindle.stderr.contains("error: Kindle's Enhanced Typesetting does not show inline SVG"),
        "{}",
        kindle.stderr
    );
    let standard = folio(dir.path(), &["check", "book"]);
    assert!(!standard.stderr.contains("Kindle"), "{}", standard.stderr);
    assert!(!dir.path().join("dist").exists(), "check writes nothing");
}

#[test]
fn kobo_pieces_compare_text_not_markup() {
    // The comparison itself must be able to fail: a changed word shows.
    let (a, _) = without_kobo_markup("<p xmlns=\"x\"><span class=\"koboSpan\" id=\"kobo.1.1\">One. </span>Two</p>");
    let (b, _) = without_kobo_markup("<p xmlns=\"x\">One. Two</p>");
    let (c, _) = without_kobo_markup("<p xmlns=\"x\">One. Too</p>");
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_eq!(b[1], Piece::Text("One. Two".into()));
}
