//! The workspace's crates depend one way: the table's vocabulary at the bottom, shared support
//! above it, the libraries, then the two functions, and the stack's checks on top. Nothing
//! depends on a function. `cargo metadata` gives the graph; the allowed order is written once,
//! here.

use std::collections::BTreeMap;

use serde_json::Value;
use test_support::local::repo_root;

/// The layers, from the bottom. A crate may depend on crates of lower layers only (normal,
/// build and dev dependencies alike), with one exception: the test fixtures of `test-support`
/// are a dev-dependency any crate may take. A dev-dependency never reaches a shipped binary,
/// and cargo builds the tests of a crate below the fixtures against the fixtures' own copy of
/// it (`integrations-table`'s unit tests use the fake AWS client this way).
const LAYERS: &[&[&str]] = &[
    // No code: one feature set for every build (see its Cargo.toml and features.rs).
    &["workspace-hack"],
    &["integrations-table"],
    &["function-support"],
    &["platform-revoke", "disconnect-processor", "test-support"],
    &["disconnect-integration", "revoke-tokens"],
    &["stack-checks"],
];
const FIXTURES: &str = "test-support";
const FUNCTIONS: [&str; 2] = ["disconnect-integration", "revoke-tokens"];

/// Each workspace crate and the workspace crates it depends on, with the dependency's kind.
fn graph() -> BTreeMap<String, Vec<(String, String)>> {
    let stdout = crate::cargo::stdout(
        &repo_root(),
        &[
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ],
    );
    let metadata: Value = serde_json::from_slice(&stdout).unwrap();
    let members: Vec<String> = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|package| {
            let dependencies = package["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| members.iter().any(|m| m == d["name"].as_str().unwrap()))
                .map(|d| {
                    let kind = d["kind"].as_str().unwrap_or("normal").to_owned();
                    (d["name"].as_str().unwrap().to_owned(), kind)
                })
                .collect();
            (package["name"].as_str().unwrap().to_owned(), dependencies)
        })
        .collect()
}

fn layer(name: &str) -> usize {
    LAYERS
        .iter()
        .position(|layer| layer.contains(&name))
        .unwrap_or_else(|| {
            panic!("{name} is in no layer: add it to LAYERS in tests/stack/crates.rs")
        })
}

/// Every dependency between workspace crates against the layers.
fn violations(graph: &BTreeMap<String, Vec<(String, String)>>) -> Vec<String> {
    let mut found = vec![];
    for (crate_name, dependencies) in graph {
        for (dependency, kind) in dependencies {
            let fixtures = dependency == FIXTURES && kind == "dev";
            if !fixtures && layer(dependency) >= layer(crate_name) {
                found.push(format!("{crate_name} -> {dependency} ({kind})"));
            }
            if FUNCTIONS.contains(&dependency.as_str()) && crate_name != "stack-checks" {
                found.push(format!("{crate_name} depends on the function {dependency}"));
            }
        }
    }
    found
}

#[test]
fn the_crates_depend_one_way_and_nothing_depends_on_a_function() {
    let graph = graph();
    assert_eq!(
        graph.len(),
        LAYERS.iter().map(|l| l.len()).sum::<usize>(),
        "every crate of the workspace is in a layer: {:?}",
        graph.keys()
    );
    assert_eq!(violations(&graph), Vec::<String>::new());
}

/// The check itself: a dependency upward, sideways or on a function is caught.
#[test]
fn a_backwards_dependency_is_caught() {
    let mut graph = graph();
    graph
        .get_mut("revoke-tokens")
        .unwrap()
        .push(("disconnect-integration".into(), "normal".into()));
    graph
        .get_mut("integrations-table")
        .unwrap()
        .push(("function-support".into(), "dev".into()));
    graph
        .get_mut("platform-revoke")
        .unwrap()
        .push(("disconnect-processor".into(), "normal".into()));
    graph
        .get_mut("function-support")
        .unwrap()
        .push(("test-support".into(), "normal".into()));
    let found = violations(&graph);
    assert!(
        found
            .iter()
            .any(|v| v.starts_with("revoke-tokens -> disconnect-integration")),
        "{found:?}"
    );
    assert!(
        found.iter().any(|v| v.contains("depends on the function")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|v| v.starts_with("integrations-table -> function-support")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|v| v.starts_with("platform-revoke -> disconnect-processor")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|v| v.starts_with("function-support -> test-support (normal)")),
        "the fixtures only as a dev-dependency: {found:?}"
    );
}
