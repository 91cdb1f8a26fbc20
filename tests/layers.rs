//! The layers of ARCHITECTURE.md are a rule, not a wish: every path into
//! another module of the crate (`crate::x`, or `super::x` climbing to the
//! crate root) in src/ must go down the table, never up or sideways. The
//! table is read from ARCHITECTURE.md itself, so the two cannot drift.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::common::repo;

/// The layers, top first: each line of the first ```text block after the
/// `## Layers` heading, its modules separated by spaces.
fn layers(architecture: &str) -> Vec<Vec<String>> {
    let section = architecture
        .split_once("\n## Layers")
        .expect("ARCHITECTURE.md has a `## Layers` section")
        .1;
    let block = section
        .split_once("```text\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .expect("the Layers section has a ```text block")
        .0;
    block
        .lines()
        .map(|line| line.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .filter(|modules| !modules.is_empty())
        .collect()
}

/// Each module's rank: 0 for the top layer, growing downwards.
fn ranks(layers: &[Vec<String>]) -> HashMap<String, usize> {
    let mut ranks = HashMap::new();
    for (rank, layer) in layers.iter().enumerate() {
        for module in layer {
            assert!(
                ranks.insert(module.clone(), rank).is_none(),
                "ARCHITECTURE.md: `{module}` is in two layers"
            );
        }
    }
    ranks
}

/// The top-level modules lib.rs declares.
fn declared_modules(lib: &str) -> Vec<String> {
    lib.lines()
        .filter_map(|line| {
            line.trim()
                .strip_prefix("pub mod")
                .or_else(|| line.trim().strip_prefix("mod"))
        })
        .filter_map(|rest| rest.trim().strip_suffix(';'))
        .map(|name| name.trim().to_owned())
        .collect()
}

/// Every .rs file under `folder`.
fn rust_files(folder: &Path, files: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(folder).unwrap_or_else(|e| panic!("{}: {e}", folder.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, files);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
}

/// The module path of a file under src/: `store/items.rs` is
/// `["store", "items"]`, `store/mod.rs` and `store.rs` are `["store"]`.
fn module_path(relative: &Path) -> Vec<String> {
    let mut path: Vec<String> = relative
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if path.last().is_some_and(|last| last == "mod") {
        path.pop();
    }
    path
}

/// The top-level modules a line of code names: `crate::x`, and `super::x`
/// where the `super`s climb from `module` to the crate root. A group
/// (`crate::{a, b}`) is named `{`, which no layer holds: write one path per
/// module, so the check can see each.
fn named_modules(line: &str, module: &[String]) -> Vec<String> {
    let mut named = Vec::new();
    let words: Vec<&str> = line
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':' || c == '{'))
        .collect();
    for word in words {
        let mut parts = word.split("::").peekable();
        let Some(first) = parts.next() else { continue };
        let rest: Vec<&str> = parts.collect();
        let after = match first {
            "crate" => rest.first().copied(),
            "super" => {
                let climbs = 1 + rest.iter().take_while(|p| **p == "super").count();
                (climbs == module.len())
                    .then(|| rest.get(climbs - 1).copied())
                    .flatten()
            }
            _ => None,
        };
        if let Some(name) = after.filter(|n| !n.is_empty()) {
            named.push(if name.starts_with('{') { "{" } else { name }.to_owned());
        }
    }
    named
}

/// Each import in src/ that goes up or sideways, as `file:line: …`.
fn upward_imports(src: &Path, ranks: &HashMap<String, usize>) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut found = Vec::new();
    for file in files {
        let relative = file.strip_prefix(src).expect("under src/");
        let module = module_path(relative);
        let top = &module[0];
        if top == "main" || top == "lib" {
            continue; // the binary and the root sit above every layer
        }
        let Some(&own) = ranks.get(top) else {
            found.push(format!(
                "src/{}: module `{top}` is in no layer of ARCHITECTURE.md",
                relative.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for (number, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue; // doc links name a module without depending on it
            }
            for name in named_modules(line, &module) {
                if name == *top {
                    continue;
                }
                match ranks.get(&name) {
                    Some(&rank) if rank > own => {}
                    Some(_) => found.push(format!(
                        "src/{}:{}: `{top}` imports `{name}`, which is not below it: {}",
                        relative.display(),
                        number + 1,
                        line.trim()
                    )),
                    None if name == "{" => found.push(format!(
                        "src/{}:{}: a `crate::{{…}}` group: write one `use crate::module::…` per module: {}",
                        relative.display(),
                        number + 1,
                        line.trim()
                    )),
                    None => {}
                }
            }
        }
    }
    found
}

#[test]
fn every_module_imports_only_the_layers_below_it() {
    let root = repo();
    let architecture = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let layers = layers(&architecture);
    let ranks = ranks(&layers);
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).expect("src/lib.rs");
    let unplaced: Vec<_> = declared_modules(&lib)
        .into_iter()
        .filter(|module| !ranks.contains_key(module))
        .collect();
    assert!(
        unplaced.is_empty(),
        "modules of src/lib.rs in no layer of ARCHITECTURE.md: {unplaced:?}"
    );
    let upward = upward_imports(&root.join("src"), &ranks);
    assert!(
        upward.is_empty(),
        "imports against the layers:\n{}",
        upward.join("\n")
    );
}

#[test]
fn an_upward_or_grouped_path_is_seen() {
    let module = |path: &str| path.split('/').map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(
        named_modules("use crate::deliver::Subscriber;", &module("store/x")),
        ["deliver"]
    );
    assert_eq!(
        named_modules("    x: &crate::config::Newsletter,", &module("render")),
        ["config"]
    );
    assert_eq!(
        named_modules("use super::store::Store;", &module("deliver")),
        ["store"]
    );
    assert_eq!(
        named_modules("use super::super::dates;", &module("sources/feed/x")),
        Vec::<String>::new()
    );
    assert_eq!(
        named_modules("use super::super::store;", &module("sources/x")),
        ["store"]
    );
    assert_eq!(
        named_modules("use crate::{config, items};", &module("store")),
        ["{"]
    );
}
