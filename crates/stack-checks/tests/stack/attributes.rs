//! The table's attribute names are written once, in `integrations_table::attributes`; the
//! scripts read them from `scripts/lib/table.py`, which must hold exactly the same names and
//! values (issue 29).

use std::collections::BTreeMap;
use std::path::Path;

use integrations_table::attributes::{
    ALL, EXPIRES_AT, GRANT_ID, GRANT_INDEX, LOGIN_FLOW, MARKER, PK, REVOCATION_EVENTS,
    REVOCATION_REFRESHES, REVOCATION_RETRIES, SK, TOKEN_TYPE, entry,
};
use test_support::local::repo_root;

/// `NAME = "value"` lines of `class A` in scripts/lib/table.py.
fn python_names() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(repo_root().join("scripts/lib/table.py")).unwrap();
    text.lines()
        .filter_map(|line| {
            let (name, value) = line.trim().split_once(" = ")?;
            let value = value.strip_prefix('"')?.strip_suffix('"')?;
            name.chars()
                .all(|c| c.is_ascii_uppercase() || c == '_')
                .then(|| (name.to_owned(), value.to_owned()))
        })
        .collect()
}

#[test]
fn the_scripts_have_exactly_the_crates_attribute_names() {
    let crate_names: BTreeMap<String, String> = ALL
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    assert_eq!(crate_names.len(), ALL.len(), "no name twice in ALL");
    assert_eq!(python_names(), crate_names);
}

/// The marker's table in docs/data-contract.md ("For schedule processors: reading the marker"),
/// the contract other teams code against: its first column, in order.
fn documented_marker() -> Vec<String> {
    let text = std::fs::read_to_string(repo_root().join("docs/data-contract.md")).unwrap();
    let section = text
        .split_once("## For schedule processors: reading the marker")
        .expect("docs/data-contract.md has the marker's section")
        .1;
    section
        .lines()
        .skip_while(|line| !line.starts_with("| key / attribute |"))
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .map(|line| line.split('`').nth(1).expect("a `name` per row").to_owned())
        .collect()
}

/// The contract as the processors read it and the crate's names: a constant renamed in the crate
/// (which every writer, reader and test then follows) fails here, against the documented name.
#[test]
fn the_data_contract_documents_the_marker_by_the_crates_names() {
    let optional = [GRANT_ID];
    let mut expected = vec![PK, SK];
    expected.extend(MARKER.iter().filter(|name| !optional.contains(name)));
    assert_eq!(documented_marker(), expected);
}

/// The names no other vocabulary uses (the API body, the event, the logs and the API-keys secret
/// share `id`, `type`, `accountId`, `disconnectedAt`, `reason`, `version`, `token`, `outcome`,
/// ...): these must not be spelled in any source but the crate and its checked Python copy.
const TABLE_ONLY: [&str; 11] = [
    PK,
    SK,
    GRANT_ID,
    EXPIRES_AT,
    TOKEN_TYPE,
    LOGIN_FLOW,
    REVOCATION_EVENTS,
    REVOCATION_RETRIES,
    REVOCATION_REFRESHES,
    GRANT_INDEX,
    entry::TOKEN_KEY,
];

/// Every .rs and .py file of the repository's own code, as (path from the root, text).
fn sources() -> Vec<(String, String)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                if !name.starts_with('.')
                    && !["target", "node_modules", "__pycache__"].contains(&name.as_str())
                {
                    walk(root, &path, out);
                }
            } else if name.ends_with(".rs") || name.ends_with(".py") {
                let relative = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push((relative, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    let root = repo_root();
    let mut out = Vec::new();
    for dir in ["src", "crates", "tests", "examples", "bench", "scripts"] {
        walk(&root, &root.join(dir), &mut out);
    }
    out
}

#[test]
fn no_source_spells_a_table_attribute_name_but_the_crate_and_its_checked_copy() {
    let homes = [
        "crates/integrations-table/src/attributes.rs",
        "scripts/lib/table.py",
    ];
    let sources = sources();
    assert!(
        sources.iter().any(|(path, _)| path == "src/store.rs") && sources.len() > 100,
        "the walk reads the tree: {} files",
        sources.len()
    );
    let spelled: Vec<String> = sources
        .iter()
        .filter(|(path, _)| !homes.contains(&path.as_str()))
        .flat_map(|(path, text)| {
            TABLE_ONLY
                .iter()
                .filter(|name| {
                    text.contains(&format!("\"{name}\"")) || text.contains(&format!("'{name}'"))
                })
                .map(move |name| format!("{path}: {name}"))
        })
        .collect();
    assert!(
        spelled.is_empty(),
        "take these from integrations_table::attributes (Python: scripts/lib/table.py's A):\n{}",
        spelled.join("\n")
    );
}
