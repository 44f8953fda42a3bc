//! The floor a build of a book cannot beat on this machine: reading and parsing its Markdown, and
//! deflating the XHTML an EPUB of it holds, both spread over every core. `bench/bench.py` compares
//! folio's build time with it.
//!
//! Usage: `cargo run --release --example floor -- BOOK_DIR BUILT.epub`
//! Prints one line: `floor: parse N ms + deflate N ms = N ms (M MB Markdown, K MB XHTML)`.

use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;

fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable book folder") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            markdown_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, book, epub] = args.as_slice() else {
        eprintln!("usage: floor BOOK_DIR BUILT.epub");
        std::process::exit(2);
    };
    let mut files = Vec::new();
    markdown_files(Path::new(book), &mut files);
    let xhtml: Vec<Vec<u8>> = {
        let mut archive = zip::ZipArchive::new(std::fs::File::open(epub).expect("EPUB")).expect("a zip");
        (0..archive.len())
            .filter_map(|i| {
                let mut file = archive.by_index(i).ok()?;
                let name = file.name().ok()?.to_string();
                let mut data = Vec::new();
                (name.ends_with(".xhtml") && file.read_to_end(&mut data).is_ok()).then_some(data)
            })
            .collect()
    };

    let started = Instant::now();
    let markdown: usize = files
        .par_iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).expect("UTF-8 Markdown");
            let options = pulldown_cmark::Options::ENABLE_TABLES | pulldown_cmark::Options::ENABLE_FOOTNOTES;
            let events = pulldown_cmark::Parser::new_ext(&text, options).count();
            std::hint::black_box(events);
            text.len()
        })
        .sum();
    let parse = started.elapsed();

    let started = Instant::now();
    let compressed: usize = xhtml
        .par_iter()
        .map(|data| {
            let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
            let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
            zip.start_file("x.xhtml", options).expect("start");
            zip.write_all(data).expect("deflate");
            zip.finish().expect("finish").into_inner().len()
        })
        .sum();
    let deflate = started.elapsed();
    std::hint::black_box(compressed);

    let xhtml_bytes: usize = xhtml.iter().map(Vec::len).sum();
    println!(
        "floor: parse {} ms + deflate {} ms = {} ms ({:.1} MB Markdown, {:.1} MB XHTML)",
        parse.as_millis(),
        deflate.as_millis(),
        (parse + deflate).as_millis(),
        markdown as f64 / 1e6,
        xhtml_bytes as f64 / 1e6
    );
}
