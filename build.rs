//! Two jobs before folio compiles:
//!
//! 1. Hashes folio's own sources (code, default stylesheet, locked dependency versions) into
//!    `FOLIO_SOURCE_HASH`, which every build-cache key includes: a folio built from changed code never
//!    reuses chapters that another build of the same version number cached.
//! 2. Compiles HarfBuzz's font subsetter, the reference implementation that font tools and browsers share.
//!    `harfbuzz-sys` builds HarfBuzz itself from the sources it bundles, but not the subsetter (which the
//!    shaper does not need); its build script names that source folder (`DEP_HARFBUZZ_INCLUDE`), and the
//!    subsetter's files are compiled from there, against the very headers of the library they link with.

use std::hash::{DefaultHasher, Hasher};
use std::path::{Path, PathBuf};

/// HarfBuzz's subsetter: what `harfbuzz-subset.cc` adds to `harfbuzz.cc` (HarfBuzz 8.4).
const SUBSET_SOURCES: &[&str] = &[
    "graph/gsubgpos-context.cc",
    "hb-subset-cff-common.cc",
    "hb-subset-cff1.cc",
    "hb-subset-cff2.cc",
    "hb-subset-input.cc",
    "hb-subset-instancer-iup.cc",
    "hb-subset-instancer-solver.cc",
    "hb-subset-plan.cc",
    "hb-subset-repacker.cc",
    "hb-subset.cc",
];

fn main() {
    hash_sources();
    compile_subsetter();
}

fn hash_sources() {
    let inputs = ["src", "styles", "Cargo.lock"];
    let mut files = Vec::new();
    for input in inputs {
        println!("cargo:rerun-if-changed={input}");
        collect(Path::new(input), &mut files);
    }
    files.sort();
    // SipHash with fixed keys: the same sources give the same value on every build.
    let mut hasher = DefaultHasher::new();
    for file in &files {
        hasher.write(file.to_string_lossy().as_bytes());
        hasher.write(&std::fs::read(file).unwrap_or_default());
    }
    println!("cargo:rustc-env=FOLIO_SOURCE_HASH={:016x}", hasher.finish());
}

fn collect(path: &Path, files: &mut Vec<PathBuf>) {
    match std::fs::read_dir(path) {
        Ok(entries) => {
            for entry in entries.flatten() {
                collect(&entry.path(), files);
            }
        }
        Err(_) if path.is_file() => files.push(path.to_path_buf()),
        Err(_) => {}
    }
}

fn compile_subsetter() {
    let Some(include) = std::env::var_os("DEP_HARFBUZZ_INCLUDE") else {
        panic!("harfbuzz-sys (feature `bundled`) did not say where HarfBuzz's sources are");
    };
    let sources = PathBuf::from(include);
    let mut build = cc::Build::new();
    build.cpp(true).flag_if_supported("-std=c++11").warnings(false).include(&sources);
    // As harfbuzz-sys builds the rest of HarfBuzz, so that both halves agree.
    if !std::env::var("TARGET").is_ok_and(|t| t.contains("windows")) {
        build.define("HAVE_PTHREAD", "1");
    }
    for file in SUBSET_SOURCES {
        build.file(sources.join(file));
    }
    build.compile("folio_harfbuzz_subset");
    println!("cargo:rerun-if-changed=build.rs");
}
