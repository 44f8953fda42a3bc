//! How many real-world TeX formulas folio converts to MathML (with math-core, through folio's own
//! sanitizer, as a book's formulas are), and how many it draws as the images `--target kindle` gets
//! (with latex-rust). The formulas and their sources are in `math-formulas.txt` beside this file: one
//! a line, in sections under `## ` headings.
//!
//! Usage: `cargo run --example math_conversion [-- FILE]`
//! Prints each formula that fails with the reason, a line per section, and the totals.

fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/examples/math-formulas.txt").into());
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        eprintln!("cannot read {path}: {e}");
        std::process::exit(2);
    });
    let location = folio::diagnostic::Location { path: path.clone().into(), position: None };
    // (section, converted, drawn, total)
    let mut sections: Vec<(String, usize, usize, usize)> = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(heading) = line.strip_prefix("## ") {
            sections.push((heading.to_string(), 0, 0, 0));
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let Some(section) = sections.last_mut() else { continue };
        section.3 += 1;
        match folio::render::math::to_mathml(line, false, None) {
            Ok(_) => section.1 += 1,
            Err(reason) => println!("fails: {line}\n       {reason}"),
        }
        match folio::render::math_image::draw(line, false, location.clone()) {
            Ok(_) => section.2 += 1,
            Err(reason) => println!("not drawn: {line}\n       {reason}"),
        }
    }
    sections.retain(|s| s.3 > 0);
    println!();
    println!("MathML drawn  of");
    for (name, converted, drawn, total) in &sections {
        println!("{converted:>6} {drawn:>5} {total:>4} {name}");
    }
    let share = |count: usize, total: usize| 100.0 * count as f64 / total.max(1) as f64;
    let converted: usize = sections.iter().map(|s| s.1).sum();
    let drawn: usize = sections.iter().map(|s| s.2).sum();
    let total: usize = sections.iter().map(|s| s.3).sum();
    println!("{converted:>4} / {total:<4} converted to MathML ({:.1}%)", share(converted, total));
    println!("{drawn:>4} / {total:<4} drawn as images ({:.1}%)", share(drawn, total));
}
