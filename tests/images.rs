//! Images made ready for stores (issue 6): a PNG and a JPEG over `max-image-pixels` are scaled down to
//! it, a PNG within it is recompressed only without loss and only when that is smaller, the bytes are
//! the same with and without the cache, and the book passes EPUBCheck. The images are drawn here, small
//! but over a low limit, so the repository holds none.

mod common;

use std::fs;
use std::io::Cursor;
use std::path::Path;

use common::books::{folio, unzip, write_files};
use common::epubcheck;

/// A PNG with a gradient and some texture, written plainly so that oxipng can make it smaller.
fn png(width: u32, height: u32, alpha: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(if alpha { png::ColorType::Rgba } else { png::ColorType::Rgb });
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fastest);
    let mut writer = encoder.write_header().unwrap();
    let data: Vec<u8> = (0..height)
        .flat_map(|y| {
            (0..width).flat_map(move |x| {
                let rgb = [(x * 255 / width) as u8, (y * 255 / height) as u8, ((x / 8 + y / 8) % 2 * 200) as u8];
                rgb.into_iter().chain(alpha.then_some(if x < width / 3 { 0 } else { 255 }))
            })
        })
        .collect();
    writer.write_image_data(&data).unwrap();
    writer.finish().unwrap();
    out
}

/// A JPEG photograph stand-in at quality 92.
fn jpeg(width: u16, height: u16) -> Vec<u8> {
    let mut out = Vec::new();
    let encoder = jpeg_encoder::Encoder::new(&mut out, 92);
    let data: Vec<u8> = (0..height)
        .flat_map(|y| (0..width).flat_map(move |x| [(x / 3 % 256) as u8, (y / 2 % 256) as u8, ((x ^ y) % 256) as u8]))
        .collect();
    encoder.encode(&data, width, height, jpeg_encoder::ColorType::Rgb).unwrap();
    out
}

/// Width, height and 8-bit RGBA pixels of a PNG.
fn decode_png(data: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut decoder = png::Decoder::new(Cursor::new(data));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::ALPHA);
    let mut reader = decoder.read_info().unwrap();
    let mut buffer = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut buffer).unwrap();
    buffer.truncate(frame.buffer_size());
    (frame.width, frame.height, buffer)
}

/// The packaged image whose source file name starts `stem` (package names add the folder and a hash).
fn packaged<'a>(files: &'a std::collections::BTreeMap<String, Vec<u8>>, stem: &str) -> &'a [u8] {
    let prefix = format!("EPUB/images/src-{stem}-");
    files.iter().find(|(path, _)| path.starts_with(&prefix)).map(|(_, data)| data.as_slice()).unwrap()
}

fn jpeg_size(data: &[u8]) -> (usize, usize) {
    mozjpeg::Decompress::new_mem(data).unwrap().size()
}

/// A book with a cover, two images over a limit of 20,000 pixels and one within it.
fn write_book(root: &Path, limit: &str) {
    write_files(
        root,
        &[
            ("book/book.toml", &format!("[book]\ntitle = \"Pictures\"\n[epub]\ncover = \"cover.jpg\"\n{limit}")),
            ("book/src/SUMMARY.md", "- [One](one.md)\n"),
            ("book/src/one.md", "# One\n\n![A chart](big.png)\n\n![A photo](photo.jpg)\n\n![An icon](small.png)\n"),
        ],
    );
    fs::write(root.join("book/cover.jpg"), jpeg(160, 250)).unwrap();
    fs::write(root.join("book/src/big.png"), png(300, 200, true)).unwrap();
    fs::write(root.join("book/src/photo.jpg"), jpeg(400, 300)).unwrap();
    fs::write(root.join("book/src/small.png"), png(100, 80, false)).unwrap();
}

#[test]
fn images_over_the_limit_are_scaled_and_the_rest_recompressed_without_loss() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_book(root, "max-image-pixels = 20_000\n");
    let run = folio(root, &["build", "book", "-o", "cold.epub"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains(", images "), "the summary reports the images: {}", run.stderr);
    let epub = root.join("cold.epub");
    epubcheck::assert_valid(&epub);
    let (_, files) = unzip(&epub);
    let original = |name: &str| fs::read(root.join("book/src").join(name)).unwrap();

    let big = packaged(&files, "big");
    let (width, height, _) = decode_png(big);
    assert_eq!((width, height), (173, 115), "300×200 scaled to fit 20,000 pixels");
    assert!(big.len() < original("big.png").len());

    let photo = packaged(&files, "photo");
    assert_eq!(jpeg_size(photo), (163, 122));
    assert!(photo.len() < original("photo.jpg").len());
    assert_eq!(jpeg_size(&files["EPUB/images/cover.jpg"]), (113, 176), "the cover is scaled too");

    // Within the limit: the same pixels, in fewer bytes.
    let small = packaged(&files, "small");
    assert!(small.len() < original("small.png").len());
    assert_eq!(decode_png(small), decode_png(&original("small.png")));

    // Warm from the cache and without it, the bytes are the same.
    let warm = folio(root, &["build", "book", "-o", "cold.epub"]);
    assert_eq!(warm.code, 0, "{}", warm.stderr);
    let fresh = folio(root, &["build", "book", "-o", "fresh.epub", "--no-cache"]);
    assert_eq!(fresh.code, 0, "{}", fresh.stderr);
    let cold_bytes = fs::read(&epub).unwrap();
    assert_eq!(fs::read(root.join("fresh.epub")).unwrap(), cold_bytes);
    let warm_bytes = fs::read(root.join("cold.epub")).unwrap();
    assert_eq!(warm_bytes, cold_bytes);
}

#[test]
fn downscaling_turned_off_keeps_every_size() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_book(root, "max-image-pixels = 0\n");
    let run = folio(root, &["build", "book", "-o", "out.epub", "--no-cache"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let (_, files) = unzip(&root.join("out.epub"));
    let big = packaged(&files, "big");
    assert_eq!(decode_png(big), decode_png(&fs::read(root.join("book/src/big.png")).unwrap()));
    // A JPEG within the limit (here: any JPEG) is packaged byte for byte.
    assert_eq!(packaged(&files, "photo"), fs::read(root.join("book/src/photo.jpg")).unwrap());
}
