//! The layers of ARCHITECTURE.md are a rule, not a wish: every path into
//! another module of the crate in src/ (`crate::x`, `super::x` climbing to
//! the crate root however many `super`s it takes, each path of a `use`
//! group) must name a module its layer's row lets it import, in the "may
//! import" column, and every module the column names must sit in a lower
//! layer: never up, never sideways. The table is read from ARCHITECTURE.md
//! itself, so the two cannot drift. Under `commands/`, no command's module
//! imports another's: what two commands share is an operation of the
//! workflow.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use crate::common::repo;

/// The `## Layers` section of ARCHITECTURE.md.
fn layers_section(architecture: &str) -> &str {
    architecture
        .split_once("\n## Layers")
        .expect("ARCHITECTURE.md has a `## Layers` section")
        .1
}

/// The layers, top first: each line of the first ```text block of the
/// section, its modules separated by spaces.
fn layers(section: &str) -> Vec<Vec<String>> {
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

/// What one row's "may import" column says.
#[derive(Debug, PartialEq)]
enum MayImport {
    /// "everything below": every module of a lower layer.
    EverythingBelow,
    /// "nothing of the crate".
    Nothing,
    /// The modules named; with "and below", also every module of a layer
    /// below the highest of them.
    Named { modules: Vec<String>, and_below: bool },
}

/// The words between backticks in a cell of the table.
fn ticked(cell: &str) -> Vec<String> {
    cell.split('`').skip(1).step_by(2).map(str::to_owned).collect()
}

/// A "may import" cell, read.
fn may_import(cell: &str) -> MayImport {
    let cell = cell.trim();
    match cell {
        "everything below" => MayImport::EverythingBelow,
        "nothing of the crate" => MayImport::Nothing,
        _ => {
            let modules = ticked(cell);
            assert!(
                !modules.is_empty(),
                "ARCHITECTURE.md: a \"may import\" cell names no module: {cell:?}"
            );
            MayImport::Named {
                modules,
                and_below: cell.ends_with("and below"),
            }
        }
    }
}

/// The table of the section: each row's modules (first column) with its
/// "may import" (third column).
fn rows(section: &str) -> Vec<(Vec<String>, MayImport)> {
    section
        .lines()
        .filter(|line| line.starts_with("| `"))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split(" | ").collect();
            assert_eq!(
                cells.len(),
                3,
                "ARCHITECTURE.md: a layer row has three cells: {line}"
            );
            (ticked(cells[0]), may_import(cells[2]))
        })
        .collect()
}

/// What each module may import, from the rows; fails on a row that lets a
/// module import one not below it, and on a module in the layers without a
/// row (or in a row without a layer).
fn allowed(
    rows: &[(Vec<String>, MayImport)],
    ranks: &HashMap<String, usize>,
) -> HashMap<String, BTreeSet<String>> {
    let rank = |module: &str| {
        *ranks
            .get(module)
            .unwrap_or_else(|| panic!("ARCHITECTURE.md: `{module}` is in the table but in no layer"))
    };
    let below = |than: usize| {
        ranks
            .iter()
            .filter(move |(_, r)| **r > than)
            .map(|(m, _)| m.clone())
    };
    let mut allowed = HashMap::new();
    for (modules, may) in rows {
        for module in modules {
            let own = rank(module);
            let set: BTreeSet<String> = match may {
                MayImport::EverythingBelow => below(own).collect(),
                MayImport::Nothing => BTreeSet::new(),
                MayImport::Named { modules, and_below } => {
                    let highest = modules.iter().map(|m| rank(m)).min().expect("a name");
                    let lower = and_below.then(|| below(highest)).into_iter().flatten();
                    modules.iter().cloned().chain(lower).collect()
                }
            };
            for imported in &set {
                assert!(
                    rank(imported) > own,
                    "ARCHITECTURE.md: the row of `{module}` lets it import `{imported}`, which is not below it"
                );
            }
            assert!(
                allowed.insert(module.clone(), set).is_none(),
                "ARCHITECTURE.md: `{module}` has two rows"
            );
        }
    }
    let rowless: Vec<_> = ranks.keys().filter(|m| !allowed.contains_key(*m)).collect();
    assert!(
        rowless.is_empty(),
        "ARCHITECTURE.md: modules with no row in the table: {rowless:?}"
    );
    allowed
}

/// The top-level modules lib.rs declares, whatever their visibility
/// (`mod`, `pub mod`, `pub(crate) mod`).
fn declared_modules(lib: &str) -> Vec<String> {
    lib.lines()
        .filter_map(|line| {
            let line = line.trim();
            let line = match line.strip_prefix("pub(") {
                Some(rest) => rest.split_once(')')?.1.trim_start(),
                None => line.strip_prefix("pub ").unwrap_or(line),
            };
            line.strip_prefix("mod ")?
                .trim()
                .strip_suffix(';')
                .map(|n| n.trim().to_owned())
        })
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

/// The paths a `use` tree stands for: `a::{b, c::{d, self}}` is `a::b`,
/// `a::c::d` and `a::c`. Renames (`as x`) are left out.
fn expand(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        let path = tree.split(" as ").next().unwrap_or_default().trim();
        return vec![path.to_owned()];
    };
    let prefix = &tree[..open];
    let inner = tree[open + 1..].strip_suffix('}').unwrap_or(&tree[open + 1..]);
    let (mut parts, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|part| !part.trim().is_empty())
        .flat_map(expand)
        .map(|path| match path.as_str() {
            "self" => prefix.trim_end_matches("::").to_owned(),
            _ => format!("{prefix}{path}"),
        })
        .collect()
}

/// Where a path written in `module` leads, from the crate root:
/// `crate::a::b` is `[a, b]`; `super::x` climbs one module per `super`
/// (`super::super::store` from `sources::x` is `[store]`); `self::x` stays.
/// `None` for a path that starts elsewhere (a crate, a local name) or
/// climbs past the root.
fn resolve(path: &str, module: &[String]) -> Option<Vec<String>> {
    let parts: Vec<&str> = path.split("::").map(str::trim).collect();
    let (base, rest) = match parts[0] {
        "crate" => (Vec::new(), &parts[1..]),
        "self" => (module.to_vec(), &parts[1..]),
        "super" => {
            let climbs = parts.iter().take_while(|p| **p == "super").count();
            let kept = module.len().checked_sub(climbs)?;
            (module[..kept].to_vec(), &parts[climbs..])
        }
        _ => return None,
    };
    let resolved: Vec<String> = base
        .into_iter()
        .chain(rest.iter().filter(|p| !p.is_empty()).map(|p| (*p).to_owned()))
        .collect();
    (!resolved.is_empty()).then_some(resolved)
}

/// Every path into the crate a piece of code names, resolved from
/// `module`: each path of a `use` (groups expanded), and each `crate::`,
/// `self::` or `super::` path written inline.
fn named_paths(code: &str, module: &[String]) -> Vec<Vec<String>> {
    let code = code.trim();
    let used = code.strip_prefix("use ").or_else(|| {
        code.split_once(" use ")
            .map(|(_, rest)| rest)
            .filter(|_| code.starts_with("pub"))
    });
    let paths = match used {
        Some(tree) => expand(tree.trim_end_matches(';')),
        None => code
            .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .map(str::to_owned)
            .collect(),
    };
    paths.iter().filter_map(|path| resolve(path, module)).collect()
}

/// The code of a file as statements the check reads: each line, but a
/// `use` spread over lines joined into one; each with its line number and
/// the module it is in (a file's inline `mod tests { … }` is a module of
/// its own, one `super` below the file's). Comments are left out: a doc
/// link names a module without depending on it.
fn statements(text: &str, file_module: &[String]) -> Vec<(usize, Vec<String>, String)> {
    let mut found = Vec::new();
    let mut inline: Vec<(usize, String)> = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (number, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.starts_with("//") {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        if inline
            .last()
            .is_some_and(|(at, _)| *at == indent && trimmed.starts_with('}'))
        {
            inline.pop();
            continue;
        }
        let module: Vec<String> = file_module
            .iter()
            .cloned()
            .chain(inline.iter().map(|(_, name)| name.clone()))
            .collect();
        let words: Vec<&str> = trimmed.split_whitespace().collect();
        if let Some(at) = words.iter().position(|w| *w == "mod")
            && words.last() == Some(&"{")
            && at + 3 == words.len()
        {
            inline.push((indent, words[at + 1].to_owned()));
            continue;
        }
        let statement = match pending.take() {
            Some((start, mut so_far)) => {
                so_far.push(' ');
                so_far.push_str(trimmed);
                (start, so_far)
            }
            None => (number, trimmed.to_owned()),
        };
        let is_use = statement.1.starts_with("use ") || statement.1.contains(" use ");
        if is_use && !statement.1.ends_with(';') {
            pending = Some(statement);
            continue;
        }
        found.push((statement.0 + 1, module, statement.1));
    }
    found
}

/// The modules under src/commands/ that are a command's own: each file and
/// folder but mod.rs.
fn command_modules(src: &Path) -> BTreeSet<String> {
    std::fs::read_dir(src.join("commands"))
        .expect("src/commands/")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.is_dir() || path.extension().is_some_and(|ext| ext == "rs"))
        .filter_map(|path| Some(path.file_stem()?.to_string_lossy().into_owned()))
        .filter(|name| name != "mod")
        .collect()
}

/// Why a path from `module` to `target` breaks the rule, if it does.
fn breaks_the_rule(
    module: &[String],
    target: &[String],
    allowed: &HashMap<String, BTreeSet<String>>,
    commands: &BTreeSet<String>,
) -> Option<String> {
    let (top, to) = (&module[0], &target[0]);
    if top == to {
        let (mine, theirs) = (module.get(1)?, target.get(1)?);
        return (top == "commands" && mine != theirs && commands.contains(theirs))
            .then(|| format!("the command module `{mine}` imports the command module `{theirs}`"));
    }
    let may = allowed.get(top)?;
    // A name that is no module of the crate (a macro, `Result`) is not an import of one.
    if !allowed.contains_key(to) || may.contains(to) {
        return None;
    }
    Some(format!(
        "`{top}` imports `{to}`, which its row of ARCHITECTURE.md does not let it import"
    ))
}

/// Each import in src/ against the table or between commands, as `file:line: …`.
fn broken(src: &Path, allowed: &HashMap<String, BTreeSet<String>>) -> Vec<String> {
    let commands = command_modules(src);
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut found = Vec::new();
    for file in files {
        let relative = file.strip_prefix(src).expect("under src/");
        let file_module = module_path(relative);
        let top = &file_module[0];
        if top == "main" || top == "lib" {
            continue; // the binary and the root sit above every layer
        }
        if !allowed.contains_key(top) {
            found.push(format!(
                "src/{}: module `{top}` is in no layer of ARCHITECTURE.md",
                relative.display()
            ));
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for (number, module, code) in statements(&text, &file_module) {
            for target in named_paths(&code, &module) {
                if let Some(why) = breaks_the_rule(&module, &target, allowed, &commands) {
                    found.push(format!("src/{}:{number}: {why}: {code}", relative.display()));
                }
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

/// The rule as ARCHITECTURE.md writes it.
fn the_rule() -> HashMap<String, BTreeSet<String>> {
    let architecture = std::fs::read_to_string(repo().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let section = layers_section(&architecture);
    let ranks = ranks(&layers(section));
    allowed(&rows(section), &ranks)
}

#[test]
fn every_module_imports_only_what_its_row_lets_it() {
    let root = repo();
    let allowed = the_rule();
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).expect("src/lib.rs");
    let unplaced: Vec<_> = declared_modules(&lib)
        .into_iter()
        .filter(|module| !allowed.contains_key(module))
        .collect();
    assert!(
        unplaced.is_empty(),
        "modules of src/lib.rs in no layer of ARCHITECTURE.md: {unplaced:?}"
    );
    let broken = broken(&root.join("src"), &allowed);
    assert!(
        broken.is_empty(),
        "imports against the layers:\n{}",
        broken.join("\n")
    );
}

#[test]
fn every_declaration_and_path_is_seen() {
    let module = |path: &str| path.split('/').map(str::to_owned).collect::<Vec<_>>();
    let tops = |code: &str, at: &str| -> Vec<String> {
        named_paths(code, &module(at))
            .into_iter()
            .map(|p| p[0].clone())
            .collect()
    };
    assert_eq!(
        declared_modules("pub(crate) mod store;\npub mod config;\nmod hex;\npub(super) mod x;"),
        ["store", "config", "hex", "x"]
    );
    assert_eq!(tops("use crate::deliver::Subscriber;", "store/x"), ["deliver"]);
    assert_eq!(tops("    x: &crate::config::Newsletter,", "render"), ["config"]);
    assert_eq!(tops("use super::store::Store;", "deliver"), ["store"]);
    assert_eq!(tops("use super::super::dates;", "sources/feed/x"), ["sources"]);
    assert_eq!(tops("use super::super::store;", "sources/x"), ["store"]);
    assert_eq!(
        tops("    if super::super::super::store::x() {", "sources/feed/x"),
        ["store"]
    );
    assert_eq!(
        tops("use crate::{config, items::{Item, html}};", "store"),
        ["config", "items", "items"]
    );
    assert_eq!(tops("pub(crate) use crate::render::x;", "deliver"), ["render"]);
    // An inline `mod tests` is one module below its file.
    let code = "use x;\n\n#[cfg(test)]\nmod tests {\n    use super::super::store::Store;\n}\nuse super::y;";
    let found: Vec<_> = statements(code, &module("deliver/send"))
        .into_iter()
        .flat_map(|(_, at, code)| named_paths(&code, &at))
        .collect();
    assert_eq!(
        found,
        [
            vec!["deliver".to_owned(), "store".into(), "Store".into()],
            vec!["deliver".into(), "y".into()]
        ]
    );
    // A `use` over several lines is one statement.
    let code = "use crate::{\n    config::Config,\n    store::Store,\n};";
    let found: Vec<_> = statements(code, &module("render"))
        .into_iter()
        .flat_map(|(_, at, code)| named_paths(&code, &at))
        .map(|p| p[0].clone())
        .collect();
    assert_eq!(found, ["config", "store"]);
}

#[test]
fn the_may_import_column_is_the_rule_not_the_ranks() {
    let section = "```text\ncommands\nworkflow\nserver store\nconfig\nhex\n```\n\n\
        | layer | owns | may import |\n|---|---|---|\n\
        | `commands` | c | everything below |\n\
        | `workflow` | w | `store` and below |\n\
        | `server` | s | `hex` |\n\
        | `store` | s | `hex` |\n\
        | `config` | c | `hex` |\n\
        | `hex` | h | nothing of the crate |\n";
    let ranks = ranks(&layers(section));
    let allowed = allowed(&rows(section), &ranks);
    let commands = BTreeSet::from(["publish".to_owned(), "review".to_owned()]);
    let path = |p: &str| p.split("::").map(str::to_owned).collect::<Vec<_>>();
    let breaks =
        |from: &str, to: &str| breaks_the_rule(&path(from), &path(to), &allowed, &commands).is_some();
    // Below by rank, but not in the row: the store imports no config.
    assert!(breaks("store", "config"));
    assert!(!breaks("store", "hex"));
    // "and below" is what lies under the named module, not the module beside it.
    assert!(!breaks("workflow", "config"));
    assert!(breaks("workflow", "server"));
    assert!(breaks("hex", "config"));
    assert!(breaks("store", "workflow"));
    // Commands: any module below, never another command's.
    assert!(!breaks("commands::review", "workflow"));
    assert!(breaks("commands::review", "commands::publish::draft_paths"));
    assert!(breaks("commands::preview::review_page", "commands::review"));
    assert!(!breaks("commands::review", "commands::Exit"));
    assert!(!breaks("commands::review::tests", "commands::review::draft"));
}

#[test]
#[should_panic(expected = "not below it")]
fn a_row_that_lets_a_module_import_upwards_is_refused() {
    let section = "```text\nstore\nhex\n```\n| `store` | s | `hex` |\n| `hex` | h | `store` |\n";
    allowed(&rows(section), &ranks(&layers(section)));
}

/// clippy.toml forbids reading the wall clock; its one exception is
/// `now()` in main.rs, which every other module is handed the time by.
#[test]
fn only_main_reads_the_clock() {
    let src = repo().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let exempt: Vec<_> = files
        .iter()
        .filter(|file| {
            std::fs::read_to_string(file)
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
                .contains("clippy::disallowed_methods")
        })
        .map(|file| file.strip_prefix(&src).expect("under src/").display().to_string())
        .collect();
    assert_eq!(exempt, ["main.rs"], "only main.rs may read the wall clock");
}
