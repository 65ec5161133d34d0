//! The crate's modules form layers: no module imports one that imports it back (directly or
//! through others), tests included.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use test_support::local::repo_root;

/// Module name -> the modules it names as `crate::<module>`. `src/<dir>/*` (a module with
/// submodules, such as `http` or `api_keys`) is the module `<dir>`.
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = repo_root().join("src");
    let mut files = vec![];
    let mut dirs = vec![src.clone()];
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            dirs.push(path);
        }
    }
    for dir in dirs {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let module_of = |path: &Path| -> Option<String> {
        let stem = path.file_stem()?.to_str()?.to_owned();
        let parent = path.parent()?;
        if parent != src {
            return Some(parent.file_name()?.to_str()?.to_owned());
        }
        match stem.as_str() {
            "lib" | "main" => None,
            _ => Some(stem),
        }
    };
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for path in &files {
        let Some(module) = module_of(path) else {
            continue;
        };
        // Code only: a doc link to another module is not a dependency.
        let text: String = std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let uses = graph.entry(module.clone()).or_default();
        for name in crate_modules(&text) {
            if name != module && name.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                uses.insert(name);
            }
        }
    }
    graph
}

/// The first segment of every `crate::` path in `code`: `crate::store::X` names `store`, and a
/// grouped `crate::{plan::Plan, store}` names `plan` and `store`.
fn crate_modules(code: &str) -> Vec<String> {
    let ident = |text: &str| -> String {
        text.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut names = vec![];
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // The group's items, split at the commas outside nested braces.
            let mut depth = 0;
            let mut start = 0;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        names.push(ident(&group[start..j]));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        names.push(ident(&group[start..j]));
                        start = j + 1;
                    }
                    _ => {}
                }
            }
        } else {
            names.push(ident(rest));
        }
    }
    names.retain(|n| !n.is_empty());
    names
}

#[test]
fn grouped_and_nested_crate_paths_are_read_as_dependencies() {
    assert_eq!(
        crate_modules(
            "use crate::store::X;\nuse crate::{plan::{Plan, Decision}, error, metrics::Recorder};\n\
             let x = crate::partition::Partition::default();"
        ),
        ["store", "plan", "error", "metrics", "partition"]
    );
}

#[test]
fn the_module_graph_has_no_cycle() {
    let graph = module_graph();
    assert!(
        graph.contains_key("disconnect")
            && graph.contains_key("store")
            && graph.contains_key("http")
    );
    // Depth-first search from every module; a module met again on the current path closes a cycle.
    fn visit(
        module: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) {
        if done.contains(module) {
            return;
        }
        if let Some(start) = path.iter().position(|m| m == module) {
            panic!("a cycle: {} -> {module}", path[start..].join(" -> "));
        }
        path.push(module.to_owned());
        for next in graph.get(module).into_iter().flatten() {
            visit(next, graph, path, done);
        }
        path.pop();
        done.insert(module.to_owned());
    }
    let mut done = BTreeSet::new();
    for module in graph.keys() {
        visit(module, &graph, &mut Vec::new(), &mut done);
    }
    // The rule and the I/O: the store never reaches the decision.
    assert!(
        !graph["store"].contains("disconnect"),
        "{:?}",
        graph["store"]
    );
    assert!(!graph["store"].contains("http") && !graph["disconnect"].contains("http"));
}

/// The rule holds no SDK type: `decide` returns a plan in the table's own terms, which the
/// store alone turns into DynamoDB's calls.
#[test]
fn the_rule_holds_no_sdk_type_and_only_the_store_builds_transactions() {
    let root = test_support::local::repo_root();
    let plan = std::fs::read_to_string(root.join("src/plan.rs")).unwrap();
    assert!(!plan.contains("aws_sdk"), "src/plan.rs names the SDK");
    for file in ["src/plan.rs", "src/disconnect.rs"] {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        // Its code, its comments aside (they may name DynamoDB's operations).
        let code: String = text
            .split("#[cfg(test)]")
            .next()
            .unwrap()
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect();
        for sdk in [
            "aws_sdk",
            "TransactWriteItem",
            "AttributeValue",
            "Delete::",
            "Put::",
        ] {
            assert!(
                !code.contains(sdk),
                "{file} builds DynamoDB requests: {sdk}"
            );
        }
    }
}
