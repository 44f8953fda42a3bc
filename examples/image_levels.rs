//! What each `[epub] optimize-images` level saves and costs on given PNG and JPEG files: the table in
//! the guide's "Images" page. Images are not scaled (no `max-image-pixels`), so only the lossless work
//! is measured; each is optimized on one thread, as a build does, and the time is the median of
//! `RUNS` runs.
//!
//! Usage: `cargo run --release --example image_levels -- IMAGE...`
//! Prints a Markdown table: one row an image, then a total for PNG and for JPEG.

use std::time::Instant;

use folio::package::images::{self, Effort};

const RUNS: usize = 3;
const LEVELS: [(Effort, &str); 3] = [(Effort::None, "none"), (Effort::Fast, "fast"), (Effort::Max, "max")];

/// Bytes after, and milliseconds, at each level.
type Measured = [(usize, f64); 3];

fn measure(data: &[u8], media_type: &str) -> Measured {
    LEVELS.map(|(effort, _)| {
        let mut times = Vec::new();
        let mut len = data.len();
        for _ in 0..RUNS {
            let started = Instant::now();
            let optimized = images::optimize(data, media_type, None, effort);
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            len = optimized.data.map_or(data.len(), |d| d.len());
        }
        times.sort_by(f64::total_cmp);
        (len, times[RUNS / 2])
    })
}

fn row(name: &str, before: usize, measured: &Measured) {
    let cells: Vec<String> = measured
        .iter()
        .map(|(after, ms)| format!("{:.1}% | {ms:.0}", 100.0 * (1.0 - *after as f64 / before as f64)))
        .collect();
    println!("| {name} | {:.0} | {} |", before as f64 / 1024.0, cells.join(" | "));
}

fn main() {
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        eprintln!("usage: image_levels IMAGE...");
        std::process::exit(2);
    }
    let heads: Vec<String> = LEVELS.iter().map(|(_, name)| format!("{name}: saved | ms")).collect();
    println!("| image | KiB | {} |", heads.join(" | "));
    println!("|---|---:|{}", "---:|---:|".repeat(LEVELS.len()));
    let mut totals: Vec<(&str, usize, Measured)> = Vec::new();
    for file in &files {
        let data = std::fs::read(file).unwrap_or_else(|e| panic!("{file}: {e}"));
        let media_type = if data.starts_with(b"\x89PNG") { "image/png" } else { "image/jpeg" };
        let measured = measure(&data, media_type);
        let name = std::path::Path::new(file).file_name().map_or(file.clone(), |n| n.to_string_lossy().into_owned());
        row(&name, data.len(), &measured);
        let total = match totals.iter_mut().find(|(kind, ..)| *kind == media_type) {
            Some(total) => total,
            None => {
                totals.push((media_type, 0, [(0, 0.0); 3]));
                totals.last_mut().expect("just pushed")
            }
        };
        total.1 += data.len();
        for (sum, (after, ms)) in total.2.iter_mut().zip(measured) {
            sum.0 += after;
            sum.1 += ms;
        }
    }
    for (media_type, before, measured) in &totals {
        row(&format!("**all {media_type}**"), *before, measured);
    }
}
