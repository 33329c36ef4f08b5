//! The modules of the engine, the server and the Studio depend one way: no module reaches,
//! through others, back to itself. Each top-level module (a file `x.rs` or a folder `x/`) is
//! a node; an edge is a path to another module in its code (`crate::engine::x`,
//! `super::x` from a top-level file, `super::super::x` one folder down, ...). Comments are
//! left out. A cycle fails with the modules on it, in order.
//!
//! The browser layer (`src/web`) is not checked yet: its runtime and drivers still call each
//! other (issue 10's sans-IO runtime is what removes that).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// The names that follow `prefix` in `code` (`prefix` ends with `::`), where `prefix` is
/// not itself the tail of a longer path (`a::super::x` is not `super::x`).
fn names_after<'a>(code: &'a str, prefix: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = code[from..].find(prefix) {
        let start = from + at;
        from = start + prefix.len();
        let before = code[..start].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let rest = &code[from..];
        let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
        if end > 0 {
            out.push(&rest[..end]);
        }
    }
    out
}

/// The module graph of the folder `root` (a crate's `src` or a module's folder), where
/// `crate_path` is how code names that folder from the crate root (`crate::engine::`).
fn graph(root: &Path, crate_path: &str) -> Graph {
    let mut files = Vec::new();
    rust_files(root, &mut files);
    let mut g = Graph::new();
    for file in files {
        let rel: Vec<String> =
            file.strip_prefix(root).unwrap().iter().map(|c| c.to_string_lossy().into_owned()).collect();
        let top = rel[0].trim_end_matches(".rs").to_string();
        if matches!(top.as_str(), "lib" | "main" | "mod") {
            continue;
        }
        // How many folders below `root` the file's module is (`x.rs` and `x/mod.rs`: 0).
        let depth = rel.len() - 1 - usize::from(rel.last().is_some_and(|n| n == "mod.rs"));
        let text = fs::read_to_string(&file).unwrap();
        let code: String = text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n");
        let up = "super::".repeat(depth + 1);
        let edges = g.entry(top.clone()).or_default();
        for name in names_after(&code, crate_path).into_iter().chain(names_after(&code, &up)) {
            if name != top && name != "super" && name != "self" {
                edges.insert(name.to_string());
            }
        }
    }
    // Only edges to modules of this folder (not `crate::VERSION` or another folder's items).
    let nodes: BTreeSet<String> = g.keys().cloned().collect();
    for edges in g.values_mut() {
        edges.retain(|n| nodes.contains(n));
    }
    g
}

/// A cycle of `g`, as the modules on it with the first repeated at the end.
fn cycle(g: &Graph) -> Option<Vec<String>> {
    fn visit(g: &Graph, node: &str, path: &mut Vec<String>, done: &mut BTreeSet<String>) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut found = path[at..].to_vec();
            found.push(node.to_string());
            return Some(found);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in g.get(node).into_iter().flatten() {
            if let Some(found) = visit(g, next, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    g.keys().find_map(|n| visit(g, n, &mut Vec::new(), &mut done))
}

fn assert_acyclic(dir: &str, crate_path: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let g = graph(&root, crate_path);
    assert!(g.len() > 1, "{dir}: found only {:?}", g.keys());
    if let Some(c) = cycle(&g) {
        panic!("{dir}: modules depend on each other in a circle: {}\nthe whole graph: {g:#?}", c.join(" -> "));
    }
}

#[test]
fn the_engine_depends_one_way() {
    assert_acyclic("src/engine", "crate::engine::");
}

#[test]
fn the_server_depends_one_way() {
    assert_acyclic("server/src", "crate::");
}

#[test]
fn the_studio_depends_one_way() {
    assert_acyclic("studio/src", "crate::");
}

#[test]
fn a_circle_is_found() {
    let mut g = Graph::new();
    for (from, to) in [("ruleset", "offer"), ("offer", "json"), ("decision", "ruleset"), ("offer", "decision")] {
        g.entry(from.to_string()).or_default().insert(to.to_string());
    }
    let found = cycle(&g).expect("a cycle");
    assert_eq!(found.first(), found.last());
    assert_eq!(found.len(), 4, "{found:?}");
    assert!(found.contains(&"decision".to_string()) && !found.contains(&"json".to_string()), "{found:?}");
    assert_eq!(names_after("use super::super::x; a::super::y; super::z", "super::"), vec!["super", "z"]);
}
