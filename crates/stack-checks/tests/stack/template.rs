//! `template.yaml` is the deployed truth: the tests and the local tools must agree with it.

use std::collections::BTreeSet;

use integrations_table::attributes::{EXPIRES_AT, PK, SK};
use test_support::local::{repo_root, table_spec_from_template, template};

const FUNCTION: &str = "disconnect-integration";

#[test]
fn the_template_table_matches_the_data_contract() {
    let table = table_spec_from_template();
    let properties = &table["Properties"];
    assert_eq!(properties["BillingMode"], "PAY_PER_REQUEST");
    let keys: Vec<(String, String)> = properties["KeySchema"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["AttributeName"].as_str().unwrap().into(),
                k["KeyType"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        [(PK.into(), "HASH".into()), (SK.into(), "RANGE".into())]
    );
    assert_eq!(
        properties["TimeToLiveSpecification"]["AttributeName"],
        EXPIRES_AT
    );
    assert_eq!(properties["TimeToLiveSpecification"]["Enabled"], true);
    assert_eq!(
        properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
}

/// The DELETE function's resource (the template's other function, RevokeTokensFunction, reads
/// the table's stream and has no route).
fn function() -> serde_yaml::Value {
    let template = template();
    let function = template["Resources"]["DisconnectIntegrationFunction"].clone();
    assert_eq!(function["Type"], "AWS::Serverless::Function");
    function
}

/// The HTTP API routes that reach the function, as `METHOD path`; `ANY $default` for the
/// catch-all (an event without Path and Method).
fn template_routes() -> BTreeSet<String> {
    let function = function();
    function["Properties"]["Events"]
        .as_mapping()
        .expect("Events")
        .values()
        .map(|event| {
            assert_eq!(event["Type"], "HttpApi", "only HTTP API events: {event:?}");
            let properties = &event["Properties"];
            match (properties["Method"].as_str(), properties["Path"].as_str()) {
                (None, None) => "ANY $default".to_owned(),
                (Some(method), Some(path)) => format!("{} {path}", method.to_ascii_uppercase()),
                other => {
                    panic!("an HttpApi event needs both Path and Method, or neither: {other:?}")
                }
            }
        })
        .collect()
}

/// The routes of `[package.metadata.lambda.watch.router]`, in the template's terms: a plain
/// string entry takes every method; "/" plus "/{*path}" is the `$default` catch-all.
fn watch_routes() -> BTreeSet<String> {
    let manifest = std::fs::read_to_string(repo_root().join("Cargo.toml")).unwrap();
    let section = manifest
        .split("[package.metadata.lambda.watch.router]")
        .nth(1)
        .expect("Cargo.toml has a watch router");
    let mut entries = BTreeSet::new();
    for line in section.lines().map(str::trim) {
        if line.starts_with('[') {
            break;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (path, function) = line.split_once(" = ").unwrap_or_else(|| {
            panic!("a router entry of another form than \"path\" = \"function\": {line}")
        });
        assert_eq!(function, format!("\"{FUNCTION}\""), "{line}");
        entries.insert(path.trim_matches('"').to_owned());
    }
    let catch_all = entries.remove("/{*path}");
    let root = entries.remove("/");
    assert_eq!(
        catch_all, root,
        "\"/\" and \"/{{*path}}\" come together: the catch-all does not match \"/\""
    );
    entries
        .into_iter()
        .map(|path| format!("ANY {path}"))
        .chain(catch_all.then(|| "ANY $default".to_owned()))
        .collect()
}

#[test]
fn the_watch_router_has_exactly_the_routes_of_the_template() {
    let deployed = template_routes();
    assert_eq!(
        deployed,
        BTreeSet::from([
            "ANY /v1/integration/{integrationId}".to_owned(),
            "ANY $default".to_owned()
        ]),
        "every method and every path reach the function, so the JSON envelope is all clients see"
    );
    assert_eq!(watch_routes(), deployed);
}

#[test]
fn the_function_builds_this_binary_and_logs_json() {
    let function = function();
    assert_eq!(function["Metadata"]["BuildProperties"]["Binary"], FUNCTION);
    assert_eq!(function["Properties"]["LoggingConfig"]["LogFormat"], "JSON");
    assert_eq!(function["Properties"]["Architectures"][0], "arm64");
}

#[test]
fn the_request_deadline_always_answers_before_the_function_times_out() {
    let template = template();
    let deadline = &template["Parameters"]["RequestDeadlineMs"];
    let max_deadline_ms = deadline["MaxValue"].as_u64().expect("a MaxValue");
    let timeout_s = function()["Properties"]["Timeout"]
        .as_u64()
        .expect("a Timeout");
    assert!(
        max_deadline_ms + 500 <= timeout_s * 1000,
        "a deadline of {max_deadline_ms} ms must leave time to answer within {timeout_s} s"
    );
    assert!(timeout_s < 30, "API Gateway's HTTP API gives up after 30 s");
    assert_eq!(
        deadline["Default"].as_u64(),
        Some(disconnect_integration::config::DEFAULT_REQUEST_DEADLINE_MS)
    );
    let variables = &function()["Properties"]["Environment"]["Variables"];
    assert!(!variables["REQUEST_DEADLINE_MS"].is_null());
    assert!(!variables["API_KEYS_MAX_STALE_SECONDS"].is_null());
}

#[test]
fn no_aws_lc_is_built_so_no_cpu_jitter_entropy_runs_at_cold_start() {
    // TLS runs on ring, whose random generator reads the kernel's (getrandom) on each use.
    // aws-lc would seed its own generator from CPU-jitter sampling at the first handshake,
    // tens of milliseconds of a cold start; it must not come back through a feature.
    let lock = std::fs::read_to_string(repo_root().join("Cargo.lock")).unwrap();
    for crate_name in ["aws-lc-sys", "aws-lc-rs"] {
        assert!(
            !lock.contains(&format!("name = \"{crate_name}\"")),
            "{crate_name} is in Cargo.lock"
        );
    }
}
