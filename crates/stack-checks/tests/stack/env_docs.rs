//! The environment variables each function reads, against the tables that document them: the
//! DELETE function's in docs/configuration.md ("Environment variables"), the revoker's in
//! docs/revocation.md ("Configuration"). Every variable a function reads has a row, with an entry
//! in its `default` column, and every variable a row names is read.
//!
//! What is read is not kept by hand: each function's `Config::from_lookup` (the revoker's reads
//! its `REVOKE_ENDPOINT_*` through `Endpoints::from_lookup` with the same lookup) and the log
//! settings' `telemetry::Settings::from_lookup` run with a lookup that records every name asked
//! for. They run with the required variables only, so that every fallback is taken and read
//! (`API_KEYS_PREVIOUS_UNITS` without `API_KEYS_PREVIOUS_SECRET_ID`, `AWS_LAMBDA_FUNCTION_NAME`
//! without `METRICS_SERVICE`).
//!
//! What the recorder cannot see is named below, with why, and tied to the code where it can be.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use function_support::telemetry::Settings;
use function_support::tls::EXTRA_CA_VARIABLE;
use platform_revoke::{Endpoints, Platform};
use test_support::local::repo_root;

/// Read outside any lookup, so the recorder cannot see it: `src/main.rs` reads it with
/// `std::env::var` to size its runtime before any configuration exists, and
/// `lambda_runtime::run_concurrent`, which both binaries call, reads it inside the runtime
/// crate. [`lambda_runtime_reads_the_concurrency_variable`] ties it to both `main.rs`.
const MAX_CONCURRENCY: &str = "AWS_LAMBDA_MAX_CONCURRENCY";

/// Documented, and read by the AWS SDK itself (`aws-config`'s service endpoint overrides), not by
/// the functions' code: no lookup of ours asks for them.
const READ_BY_THE_SDK: [&str; 2] = [
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_SECRETS_MANAGER",
];

struct Function {
    name: &'static str,
    /// The document, from the repository's root.
    doc: &'static str,
    /// What `from_lookup` reads, with the required variables only.
    reads: fn() -> BTreeSet<String>,
}

const FUNCTIONS: [Function; 2] = [
    Function {
        name: "the DELETE function",
        doc: "docs/configuration.md",
        reads: delete_function_reads,
    },
    Function {
        name: "the revoker",
        doc: "docs/revocation.md",
        reads: revoker_reads,
    },
];

/// Runs `read` with a lookup that gives `set` and records every name asked for.
fn recorded(
    set: &[(&str, &str)],
    read: impl FnOnce(&dyn Fn(&str) -> Option<String>),
) -> BTreeSet<String> {
    let asked = RefCell::new(BTreeSet::new());
    let lookup = |name: &str| {
        asked.borrow_mut().insert(name.to_owned());
        set.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| (*v).to_owned())
    };
    read(&lookup);
    asked.into_inner()
}

/// The names the log settings read (both functions install the same subscriber).
fn log_settings_reads() -> BTreeSet<String> {
    recorded(&[], |lookup| {
        Settings::from_lookup(&[], lookup);
    })
}

fn delete_function_reads() -> BTreeSet<String> {
    let mut names = recorded(
        &[("TABLE_NAME", "t"), ("API_KEYS_SECRET_ID", "s")],
        |lookup| {
            disconnect_integration::config::Config::from_lookup(lookup)
                .expect("the DELETE function's config with its required variables only");
        },
    );
    names.extend(log_settings_reads());
    names.insert(MAX_CONCURRENCY.to_owned());
    names
}

fn revoker_reads() -> BTreeSet<String> {
    let mut names = recorded(
        &[("TABLE_NAME", "t"), ("REVOKE_CREDENTIALS_SECRET_ID", "s")],
        |lookup| {
            revoke_tokens::Config::from_lookup(lookup)
                .expect("the revoker's config with its required variables only");
        },
    );
    for platform in Platform::ALL {
        if let Some(variable) = Endpoints::variable(platform) {
            assert!(
                names.contains(variable),
                "the revoker's Config does not read {variable} through its lookup"
            );
        }
    }
    names.extend(log_settings_reads());
    names.insert(MAX_CONCURRENCY.to_owned());
    names
}

/// The documented variables of `doc`'s tables whose first column is `variable`, each with its
/// `default` cell. A row may name several: `` `REVOKE_ENDPOINT_GOOGLE`, `_TIKTOK` `` is
/// `REVOKE_ENDPOINT_GOOGLE` and `REVOKE_ENDPOINT_TIKTOK`.
fn documented(doc: &str) -> BTreeMap<String, String> {
    let text =
        std::fs::read_to_string(repo_root().join(doc)).unwrap_or_else(|e| panic!("{doc}: {e}"));
    let mut variables = BTreeMap::new();
    let mut default_column: Option<usize> = None;
    let mut in_table = false;
    for line in text.lines() {
        let line = line.trim();
        if !line.starts_with('|') {
            in_table = false;
            default_column = None;
            continue;
        }
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        if !in_table {
            // A table's header.
            in_table = true;
            if cells[0] == "variable" {
                default_column = Some(cells.iter().position(|c| *c == "default").unwrap_or_else(
                    || panic!("{doc}: a table of variables without a default column: {line}"),
                ));
            }
            continue;
        }
        let Some(default) = default_column else {
            continue;
        };
        if cells
            .iter()
            .all(|c| c.chars().all(|ch| ch == '-' || ch == ':'))
        {
            continue; // The header's rule.
        }
        let names = expand(cells[0]);
        assert!(
            !names.is_empty(),
            "{doc}: a row that names no variable: {line}"
        );
        for name in names {
            let cell = cells.get(default).copied().unwrap_or("").to_owned();
            let earlier = variables.insert(name.clone(), cell);
            assert!(earlier.is_none(), "{doc}: {name} has two rows");
        }
    }
    variables
}

/// The backticked names of a first cell, a `_SUFFIX` standing for the first full name with its
/// last `_` part replaced.
fn expand(cell: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for name in cell.split('`').skip(1).step_by(2) {
        if name.starts_with('_') {
            let first = names
                .first()
                .unwrap_or_else(|| panic!("{cell}: {name} follows no name"));
            let stem = &first[..first.rfind('_').expect("a name with a `_` part")];
            names.push(format!("{stem}{name}"));
        } else {
            names.push(name.to_owned());
        }
    }
    names
}

#[test]
fn every_variable_a_function_reads_is_documented_with_its_default() {
    let mut problems = Vec::new();
    for function in &FUNCTIONS {
        let documented = documented(function.doc);
        for name in (function.reads)() {
            match documented.get(&name) {
                None => problems.push(format!(
                    "{} reads {name}, which {} does not document (a row of its variables' table)",
                    function.name, function.doc
                )),
                Some(default) if default.is_empty() => problems.push(format!(
                    "{}: {name} has no default (write `none`, `unset` or the value)",
                    function.doc
                )),
                Some(_) => {}
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_documented_variable_is_read() {
    let mut problems = Vec::new();
    for function in &FUNCTIONS {
        let reads = (function.reads)();
        for name in documented(function.doc).keys() {
            if !reads.contains(name) && !READ_BY_THE_SDK.contains(&name.as_str()) {
                problems.push(format!(
                    "{} documents {name}, which {} does not read",
                    function.doc, function.name
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_recorder_sees_the_ca_bundle_and_the_log_settings() {
    // Both read through their lookups; a change that reads them elsewhere would hide them.
    for function in &FUNCTIONS {
        let reads = (function.reads)();
        for name in [
            EXTRA_CA_VARIABLE,
            "AWS_LAMBDA_LOG_FORMAT",
            "AWS_LAMBDA_LOG_LEVEL",
            "RUST_LOG",
        ] {
            assert!(
                reads.contains(name),
                "{} does not read {name}",
                function.name
            );
        }
    }
}

#[test]
fn lambda_runtime_reads_the_concurrency_variable() {
    for main in ["src/main.rs", "crates/revoke-tokens/src/main.rs"] {
        let code = std::fs::read_to_string(repo_root().join(main)).unwrap();
        assert!(
            code.contains("lambda_runtime::run_concurrent("),
            "{main} no longer serves with run_concurrent, which reads {MAX_CONCURRENCY}"
        );
    }
    let code = std::fs::read_to_string(repo_root().join("src/main.rs")).unwrap();
    assert!(code.contains(&format!("std::env::var(\"{MAX_CONCURRENCY}\")")));
}
