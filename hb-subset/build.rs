//! Compiles HarfBuzz's font subsetter, the reference implementation that font tools and browsers share.
//! `harfbuzz-sys` builds HarfBuzz itself from the sources it bundles, but not the subsetter (which the
//! shaper does not need); its build script names that source folder (`DEP_HARFBUZZ_INCLUDE`), and the
//! subsetter's files are compiled from there, against the very headers of the library they link with.
//!
//! This is a crate of its own so that the C++ compiles once: folio's build script runs again whenever
//! folio's sources change, and it would compile the subsetter again each time.

use std::path::PathBuf;

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
