//! No module of folio imports one that imports it back (issue 14), so the modules stand in layers and
//! each can be read knowing only those below it. The test reads `src/` and follows every `crate::`
//! path in code (comments are not imports) from one top-level module to another.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

/// The `.rs` files of a module: `name.rs`, or everything under the folder `name/`.
fn files_of(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let mut files = Vec::new();
    for entry in fs::read_dir(path).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() || path.extension().is_some_and(|e| e == "rs") {
            files.extend(files_of(&path));
        }
    }
    files
}

/// The top-level modules each path after `crate::` in `code` names: `crate::a::b`, `crate::{a, b::c}`.
/// A name followed by `(` is a function of the crate's root (`crate::build(…)`), not a module.
fn named_modules(code: &str) -> Vec<String> {
    let ident = |s: &str| -> String { s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect() };
    let mut names = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if start && !c.is_whitespace() => {
                        names.push(ident(&group[i..]));
                        start = false;
                    }
                    _ => {}
                }
            }
        } else {
            let name = ident(rest);
            if !rest[name.len()..].starts_with('(') {
                names.push(name);
            }
        }
    }
    names
}

fn import_graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut modules = BTreeMap::new();
    for entry in fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let module =
            if path.is_dir() { path.join("mod.rs").is_file() } else { path.extension().is_some_and(|e| e == "rs") };
        if module && name != "lib" && name != "main" {
            modules.insert(name, path);
        }
    }
    let mut graph = Graph::new();
    for (name, path) in &modules {
        let imports = graph.entry(name.clone()).or_default();
        for file in files_of(path) {
            let text = fs::read_to_string(&file).unwrap();
            let code: String =
                text.lines().filter(|l| !l.trim_start().starts_with("//")).flat_map(|l| [l, "\n"]).collect();
            imports.extend(named_modules(&code).into_iter().filter(|m| m != name && modules.contains_key(m)));
        }
    }
    graph
}

/// A circle of imports, as the modules along it, if there is one.
fn find_circle(graph: &Graph) -> Option<Vec<String>> {
    fn visit<'a>(
        graph: &'a Graph,
        module: &'a str,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|m| *m == module) {
            return Some(path[i..].iter().chain([&module]).map(|m| m.to_string()).collect());
        }
        if !done.insert(module) {
            return None;
        }
        path.push(module);
        for next in &graph[module] {
            if let Some(circle) = visit(graph, next, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|module| visit(graph, module, &mut Vec::new(), &mut done))
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let graph = import_graph();
    // The graph was read at all: imports every build has are in it.
    assert!(graph["render"].contains("outline") && graph["package"].contains("render"), "{graph:?}");
    if let Some(circle) = find_circle(&graph) {
        panic!("modules import each other in a circle: {}", circle.join(" → "));
    }
}

#[test]
fn the_search_finds_circles() {
    let graph: Graph =
        [("a", "b"), ("b", "c"), ("c", "a"), ("d", "a")].into_iter().fold(Graph::new(), |mut g, (from, to)| {
            g.entry(from.into()).or_default().insert(to.into());
            g.entry(to.into()).or_default();
            g
        });
    assert_eq!(find_circle(&graph), Some(vec!["a".into(), "b".into(), "c".into(), "a".into()]));
    assert_eq!(named_modules("use crate::{a, b::{c, d}};\nlet x = crate::e::f(crate::build(g));"), ["a", "b", "e"]);
}
