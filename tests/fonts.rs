//! Embedded fonts (issue 6): folio cuts each font down to the characters the book shows, and the subset is
//! still a font a reader can use: smaller, parseable, every character the book uses mapped to the same
//! outline and advance as in the original, characters the book does not use gone, names (copyright, licence)
//! and layout tables kept. The saving is reported; builds are byte-identical; bad fonts are warnings at their
//! line in book.toml, embedded as they are.

#![cfg(feature = "subset-fonts")]

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use common::books::{fixture, folio, repo, unzip, write_files};
use common::epubcheck;

/// The fixture's fonts: one of each format folio subsets.
const FONTS: &[&str] = &["Caladea-Regular.ttf", "Karla-Regular.otf", "Karla-Regular.woff2", "Caladea-Regular.woff"];

/// The sfnt font inside any of the formats.
fn sfnt(data: &[u8]) -> Vec<u8> {
    match &data[..4] {
        b"wOFF" => folio::fonts::woff::woff1_to_sfnt(data).expect("valid WOFF").0,
        b"wOF2" => folio::fonts::woff::woff2_to_sfnt(data).expect("valid WOFF2"),
        _ => data.to_vec(),
    }
}

/// Records a glyph's outline as text, to compare outlines between fonts.
#[derive(Default)]
struct Outline(Vec<String>);

impl ttf_parser::OutlineBuilder for Outline {
    fn move_to(&mut self, x: f32, y: f32) {
        self.0.push(format!("M{x} {y}"));
    }
    fn line_to(&mut self, x: f32, y: f32) {
        self.0.push(format!("L{x} {y}"));
    }
    fn quad_to(&mut self, x1: f32, y1: f32, x: f32, y: f32) {
        self.0.push(format!("Q{x1} {y1} {x} {y}"));
    }
    fn curve_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x: f32, y: f32) {
        self.0.push(format!("C{x1} {y1} {x2} {y2} {x} {y}"));
    }
    fn close(&mut self) {
        self.0.push("Z".into());
    }
}

/// A character's glyph in a font: its outline and advance, or `None` when the font does not map it.
fn glyph(face: &ttf_parser::Face<'_>, c: char) -> Option<(Vec<String>, Option<u16>)> {
    let id = face.glyph_index(c)?;
    let mut outline = Outline::default();
    face.outline_glyph(id, &mut outline);
    Some((outline.0, face.glyph_hor_advance(id)))
}

/// Every character of the text of the EPUB's XHTML documents (markup and entities are ASCII, and the
/// fixture's text uses no entity for a character outside it).
fn text_characters(files: &BTreeMap<String, Vec<u8>>) -> Vec<char> {
    let mut chars: Vec<char> = files
        .iter()
        .filter(|(path, _)| path.ends_with(".xhtml"))
        .flat_map(|(_, data)| {
            let text = String::from_utf8(data.clone()).unwrap();
            let mut in_tag = false;
            text.chars()
                .filter(|&c| {
                    let keep = !in_tag && c != '<';
                    in_tag = (in_tag || c == '<') && c != '>';
                    keep && !c.is_control()
                })
                .collect::<Vec<_>>()
        })
        .collect();
    chars.sort_unstable();
    chars.dedup();
    chars
}

fn build(dir: &Path, out: &str, extra: &[&str]) -> (common::books::Run, BTreeMap<String, Vec<u8>>) {
    let args: Vec<&str> = ["build", "book", "-o", out].into_iter().chain(extra.iter().copied()).collect();
    let run = folio(dir, &args);
    assert_eq!(run.code, 0, "folio build failed:\n{}", run.stderr);
    let files = unzip(&dir.join(out)).1;
    (run, files)
}

#[test]
fn fonts_are_subset_to_the_characters_the_book_uses_and_stay_usable() {
    let dir = fixture("fonts");
    let (run, files) = build(dir.path(), "out.epub", &["--no-cache"]);
    epubcheck::assert_valid(&dir.path().join("out.epub"));
    let used = text_characters(&files);
    assert!(used.contains(&'é') && used.contains(&'“') && !used.contains(&'§'), "{used:?}");

    let (mut before, mut after) = (0, 0);
    for name in FONTS {
        let original = fs::read(repo().join("tests/books/fonts/fonts").join(name)).unwrap();
        let packaged = &files[&format!("EPUB/fonts/{name}")];
        assert_eq!(packaged[..4], original[..4], "{name}: the subset keeps its format");
        assert!(packaged.len() * 2 < original.len(), "{name}: {} bytes, was {}", packaged.len(), original.len());
        (before, after) = (before + original.len(), after + packaged.len());

        let (original, packaged) = (sfnt(&original), sfnt(packaged));
        let old = ttf_parser::Face::parse(&original, 0).unwrap();
        let new = ttf_parser::Face::parse(&packaged, 0).unwrap_or_else(|e| panic!("{name}: subset unreadable: {e}"));
        assert!(new.number_of_glyphs() < old.number_of_glyphs() / 3, "{name}: {} glyphs", new.number_of_glyphs());
        for &c in &used {
            if let Some(expected) = glyph(&old, c) {
                assert_eq!(glyph(&new, c), Some(expected), "{name}: '{c}' is not drawn as in the original");
            }
        }
        // Characters the book never shows are gone (the original has them).
        for c in ['@', 'ß', 'Q'] {
            assert!(glyph(&old, c).is_some() && glyph(&new, c).is_none(), "{name}: '{c}' should be dropped");
        }
        // What the stylesheet draws stays: `content: "\00A7\00A0"` and upper-roman list markers.
        for c in ['§', '\u{a0}', 'X'] {
            assert!(glyph(&new, c).is_some(), "{name}: '{c}' from the stylesheet dropped");
        }
        // What a reader needs besides outlines: kerning and ligatures, names with copyright and licence.
        let tables = new.tables();
        assert!(tables.gpos.is_some() && tables.gsub.is_some() && tables.os2.is_some(), "{name}: layout lost");
        for id in [ttf_parser::name_id::COPYRIGHT_NOTICE, ttf_parser::name_id::LICENSE] {
            assert!(new.names().into_iter().any(|n| n.name_id == id), "{name}: name {id} lost");
        }
    }
    let summary = format!(", fonts {} KiB → {} KiB,", before.div_ceil(1024), after.div_ceil(1024));
    assert!(run.stderr.contains(&summary), "no '{summary}' in:\n{}", run.stderr);
}

#[test]
fn font_subsets_are_byte_identical_cold_and_warm() {
    let dir = fixture("fonts");
    let (_, clean) = build(dir.path(), "clean.epub", &["--no-cache"]);
    let (_, cold) = build(dir.path(), "cached.epub", &[]);
    let (_, warm) = build(dir.path(), "cached.epub", &[]);
    let bytes = |name: &str| fs::read(dir.path().join(name)).unwrap();
    assert_eq!(clean, cold);
    assert_eq!(cold, warm);
    assert_eq!(bytes("clean.epub"), bytes("cached.epub"));
}

#[test]
fn subset_fonts_false_embeds_fonts_whole() {
    let dir = fixture("fonts");
    let toml = dir.path().join("book/book.toml");
    let text = fs::read_to_string(&toml).unwrap().replace("[epub]\n", "[epub]\nsubset-fonts = false\n");
    fs::write(&toml, text).unwrap();
    let (run, files) = build(dir.path(), "out.epub", &[]);
    let mut total = 0;
    for name in FONTS {
        let original = fs::read(repo().join("tests/books/fonts/fonts").join(name)).unwrap();
        assert_eq!(files[&format!("EPUB/fonts/{name}")], original, "{name} should be embedded as it is");
        total += original.len();
    }
    let summary = format!(", fonts {0} KiB → {0} KiB,", total.div_ceil(1024));
    assert!(run.stderr.contains(&summary), "no '{summary}' in:\n{}", run.stderr);
}

/// A small book embedding one font file with the given bytes.
fn book_with_font(dir: &Path, font: &[u8]) {
    write_files(
        dir,
        &[
            ("book/book.toml", "[book]\ntitle = \"One Font\"\n\n[epub]\nfonts = [\"fonts/Text.ttf\"]\n"),
            ("book/src/SUMMARY.md", "- [One](one.md)\n"),
            ("book/src/one.md", "# One\n\nText.\n"),
        ],
    );
    fs::create_dir_all(dir.join("book/fonts")).unwrap();
    fs::write(dir.join("book/fonts/Text.ttf"), font).unwrap();
}

#[test]
fn a_broken_font_is_a_located_warning_and_embedded_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let broken = b"\x00\x01\x00\x00 this is no font, only its first four bytes are".repeat(20);
    book_with_font(dir.path(), &broken);
    let (run, files) = build(dir.path(), "out.epub", &[]);
    assert!(
        run.stderr.contains(
            "book/book.toml:5:10: warning: font 'book/fonts/Text.ttf' is embedded whole: \
             HarfBuzz finds no glyphs in it; is it a valid font?"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(files["EPUB/fonts/Text.ttf"], broken);
}

#[test]
fn a_font_whose_licence_flags_forbid_subsetting_is_embedded_whole() {
    let mut font = fs::read(repo().join("tests/books/fonts/fonts/Caladea-Regular.ttf")).unwrap();
    // Set OS/2 fsType to "no subsetting" (bit 8), as some commercial fonts do.
    let os2 = {
        let count = u16::from_be_bytes([font[4], font[5]]) as usize;
        let record = (0..count).map(|i| 12 + 16 * i).find(|&r| &font[r..r + 4] == b"OS/2").unwrap();
        u32::from_be_bytes(font[record + 8..record + 12].try_into().unwrap()) as usize
    };
    font[os2 + 8..os2 + 10].copy_from_slice(&0x0100u16.to_be_bytes());
    let dir = tempfile::tempdir().unwrap();
    book_with_font(dir.path(), &font);
    let (run, files) = build(dir.path(), "out.epub", &[]);
    assert!(
        run.stderr.contains(
            "book/book.toml:5:10: warning: font 'book/fonts/Text.ttf' is embedded whole: \
             its licence flags (OS/2 fsType) forbid subsetting"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(files["EPUB/fonts/Text.ttf"], font);
    epubcheck::assert_valid(&dir.path().join("out.epub"));
}
