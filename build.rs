//! Hashes folio's own sources (code, default stylesheet, the font subsetter's crate, locked dependency
//! versions) into `FOLIO_SOURCE_HASH`, which every build-cache key includes: a folio built from changed code
//! never reuses chapters that another build of the same version number cached.
//!
//! HarfBuzz's subsetter is compiled by its own crate (`hb-subset/`): this script runs again whenever a
//! source file changes, and compiling C++ here would repeat minutes of work each time.

use std::hash::{DefaultHasher, Hasher};
use std::path::{Path, PathBuf};

fn main() {
    let inputs = ["src", "styles", "hb-subset/src", "hb-subset/build.rs", "Cargo.lock"];
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
