//! The table's attribute names are written once, in `integrations_table::attributes`; the
//! scripts read them from `scripts/lib/table.py`, which must hold exactly the same names and
//! values (issue 29).

use std::collections::BTreeMap;

use integrations_table::attributes::ALL;
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
