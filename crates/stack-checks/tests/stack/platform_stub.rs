//! The local stub of the platforms (`scripts/local/platform-stub.py`, stdlib-only Python) serves
//! the paths the adapters post to. They are written once, in `platform_revoke::Endpoints`; the
//! stub's `ROUTES`, and the table of its docstring, must hold exactly those paths, each under its
//! platform's name (issue 29).

use std::collections::BTreeSet;

use platform_revoke::Endpoints;
use test_support::local::repo_root;

/// A path, and the name of the platform that answers it.
type Route = (String, String);

fn stub() -> String {
    std::fs::read_to_string(repo_root().join("scripts/local/platform-stub.py")).unwrap()
}

/// The first `"..."` string of `text`, and what follows it.
fn quoted(text: &str) -> Option<(&str, &str)> {
    let (_, rest) = text.split_once('"')?;
    rest.split_once('"')
}

/// The entries of `ROUTES = {...}`: `("POST", "/path"): ("platform", body)`, the value on the
/// key's line or the next. Every method must be `POST`.
fn routes(stub: &str) -> Vec<Route> {
    let (_, block) = stub
        .split_once("\nROUTES = {\n")
        .expect("the stub defines ROUTES");
    let (block, _) = block
        .split_once("\n}\n")
        .expect("ROUTES ends with a `}` line");
    let block = format!("\n{block}");
    block
        .match_indices("\n    (\"")
        .map(|(at, _)| {
            let entry = &block[at..];
            let (method, after) = quoted(entry).expect("a method");
            assert_eq!(method, "POST", "the stub answers POST only: {entry:.60}");
            let (path, after) = quoted(after).expect("a path");
            let value = after
                .strip_prefix("): (")
                .expect("`(method, path): (platform, ...`");
            let (platform, _) = quoted(value).expect("a platform");
            (path.to_owned(), platform.to_owned())
        })
        .collect()
}

/// The docstring's table: `    <platform>  POST <path>  <answer>` lines.
fn documented(stub: &str) -> Vec<Route> {
    let (_, doc) = stub.split_once("\"\"\"").expect("a docstring");
    let (doc, _) = doc.split_once("\"\"\"").expect("the docstring ends");
    doc.lines()
        .filter_map(
            |line| match line.split_whitespace().collect::<Vec<_>>()[..] {
                [platform, "POST", path, ..] => Some((path.to_owned(), platform.to_owned())),
                _ => None,
            },
        )
        .collect()
}

fn crates_paths() -> Vec<Route> {
    Endpoints::paths()
        .map(|(platform, path)| (path.to_owned(), platform.as_str().to_owned()))
        .collect()
}

/// `stub` and `crates` hold the same routes, each once: what either has alone is named.
fn assert_same(stub: Vec<Route>, what: &str) {
    let crates = crates_paths();
    let stub_set: BTreeSet<_> = stub.iter().cloned().collect();
    let crates_set: BTreeSet<_> = crates.iter().cloned().collect();
    assert_eq!(stub_set.len(), stub.len(), "a route twice in {what}");
    assert_eq!(
        crates_set.len(),
        crates.len(),
        "a path twice in Endpoints::paths"
    );
    let only_in_crate: Vec<_> = crates_set.difference(&stub_set).collect();
    let only_in_stub: Vec<_> = stub_set.difference(&crates_set).collect();
    assert!(
        only_in_crate.is_empty() && only_in_stub.is_empty(),
        "platform-revoke's paths not in {what}: {only_in_crate:?}; in {what} but not \
         platform-revoke's: {only_in_stub:?}"
    );
}

#[test]
fn the_stub_serves_exactly_the_paths_the_adapters_post_to() {
    let routes = routes(&stub());
    assert!(routes.len() > 1, "ROUTES read: {routes:?}");
    assert_same(routes, "the stub's ROUTES");
}

#[test]
fn the_stubs_docstring_lists_exactly_those_paths() {
    let documented = documented(&stub());
    assert!(documented.len() > 1, "docstring table read: {documented:?}");
    assert_same(documented, "the stub's docstring");
}
