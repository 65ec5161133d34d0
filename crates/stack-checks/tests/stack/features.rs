//! One feature set for every build: each function built alone, from its `CodeUri` folder as
//! `cargo lambda build` and SAM build it, resolves every crate it compiles (its own included) to
//! the features the whole test build (`cargo test --workspace --all-features`, dev-dependencies
//! included) gives it. So `make test` compiles each crate once, and the tests run the code that
//! ships. `crates/workspace-hack` holds the union of the third-party features; the service-backed
//! tests are gated by a feature of the fixtures, `test-support/local-services`, which no function
//! compiles. This test names any crate that differs.

use std::collections::BTreeMap;
use std::path::Path;

use test_support::local::{repo_root, template};

/// `name@version` -> its features, for each crate `cargo tree` shows from `folder`.
fn features(folder: &Path, args: &[&str]) -> BTreeMap<String, String> {
    let tree = [
        ["tree", "--offline", "--locked", "--prefix", "none"].as_slice(),
        &["--format", "{p} [{f}]"],
        args,
    ]
    .concat();
    String::from_utf8(crate::cargo::stdout(folder, &tree))
        .unwrap()
        .lines()
        .filter(|line| !line.is_empty())
        .map(|line| {
            // `name vX.Y.Z [features]`, with ` (/path)`, ` (proc-macro)` or ` (*)` between.
            let mut words = line.split(' ');
            let (name, version) = (words.next().unwrap(), words.next().unwrap());
            let features = line[line.find('[').unwrap()..=line.rfind(']').unwrap()].to_owned();
            (format!("{name}@{version}"), features)
        })
        .collect()
}

/// Each function's SAM build: its binary and the folder `cargo lambda build` runs in.
fn shipped_builds() -> Vec<(String, std::path::PathBuf)> {
    let template = template();
    ["DisconnectIntegrationFunction", "RevokeTokensFunction"]
        .iter()
        .map(|name| {
            let function = &template["Resources"][*name];
            assert_eq!(function["Metadata"]["BuildMethod"], "rust-cargolambda");
            let binary = function["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .unwrap()
                .to_owned();
            let code_uri = function["Properties"]["CodeUri"].as_str().unwrap();
            (binary, repo_root().join(code_uri))
        })
        .collect()
}

/// Each crate both builds compile whose features differ: `crate: shipped [..] / tests [..]`.
fn differences(
    shipped: &BTreeMap<String, String>,
    tests: &BTreeMap<String, String>,
) -> Vec<String> {
    shipped
        .iter()
        .filter_map(|(krate, features)| {
            let in_tests = tests.get(krate)?;
            (in_tests != features)
                .then(|| format!("{krate}: shipped {features} / tests {in_tests}"))
        })
        .collect()
}

#[test]
fn each_function_built_alone_compiles_its_dependencies_with_the_test_builds_features() {
    let tests = features(
        &repo_root(),
        &["-e", "normal,build,dev", "--workspace", "--all-features"],
    );
    let builds = shipped_builds();
    assert_eq!(builds.len(), 2);
    for (binary, folder) in builds {
        let shipped = features(&folder, &["-e", "normal,build"]);
        assert!(
            shipped.len() > 100,
            "{binary}: cargo tree from {} listed {} crates",
            folder.display(),
            shipped.len()
        );
        assert_eq!(
            differences(&shipped, &tests),
            Vec::<String>::new(),
            "{binary}, built from {}: add the test build's features of these crates to \
             crates/workspace-hack/Cargo.toml (a workspace crate: gate its tests by a feature of \
             test-support instead)",
            folder.display()
        );
    }
}

/// The check itself: a crate compiled with fewer features in a shipped build is named.
#[test]
fn a_crate_with_other_features_in_the_test_build_is_named() {
    let shipped = BTreeMap::from([
        ("hyper@v1.12.0".to_owned(), "[client,http1]".to_owned()),
        ("only-shipped@v1.0.0".to_owned(), "[]".to_owned()),
        ("tokio@v1.54.1".to_owned(), "[rt]".to_owned()),
    ]);
    let tests = BTreeMap::from([
        (
            "hyper@v1.12.0".to_owned(),
            "[client,http1,server]".to_owned(),
        ),
        ("only-in-tests@v1.0.0".to_owned(), "[]".to_owned()),
        ("tokio@v1.54.1".to_owned(), "[rt]".to_owned()),
    ]);
    assert_eq!(
        differences(&shipped, &tests),
        ["hyper@v1.12.0: shipped [client,http1] / tests [client,http1,server]"]
    );
}
