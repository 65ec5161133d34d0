//! API keys spread over several secrets (`API_KEYS_UNITS`): the binary reads only the unit of
//! the presented key, and one bad unit takes down only the keys it would hold.

use disconnect_integration::api_keys::format::digest;
use disconnect_integration::api_keys::layout::{unit_of, unit_secret_id};
use test_support::local::{hash_key, sdk_config, secret_json, unique};

use crate::binary::{ACCOUNT, KEY, OTHER_KEY, Shipped, Stage, http_api};

const UNITS: usize = 4;

/// Creates the `UNITS` unit secrets under a new base id, each with the keys of `keys` that
/// belong to it; `broken` units hold text that is not the secret's format.
async fn units(keys: &[(&str, &str)], broken: &[usize]) -> String {
    let client = aws_sdk_secretsmanager::Client::new(&sdk_config().await);
    let base = unique("test/api-key-units");
    for unit in 0..UNITS {
        let listed: Vec<(&str, &str)> = keys
            .iter()
            .copied()
            .filter(|(key, _)| unit_of(&digest(key), UNITS) == unit)
            .collect();
        let value = if broken.contains(&unit) {
            "not the secret's format".to_owned()
        } else {
            secret_json(&listed)
        };
        client
            .create_secret()
            .name(unit_secret_id(&base, unit, UNITS))
            .secret_string(value)
            .send()
            .await
            .expect("create a unit");
    }
    base
}

fn status(function: &Shipped, key: &str) -> u16 {
    let event = http_api(
        "DELETE",
        "/v1/integration/int_units_missing",
        &[("x-api-key", key)],
    );
    function.invoke(&event).status
}

/// The units of KEY and OTHER_KEY, which must differ for these tests to mean anything.
fn units_of_the_two_keys() -> (usize, usize) {
    let (key_unit, other_unit) = (
        unit_of(&digest(KEY), UNITS),
        unit_of(&digest(OTHER_KEY), UNITS),
    );
    assert_ne!(
        key_unit, other_unit,
        "pick keys of two units for these tests"
    );
    (key_unit, other_unit)
}

/// The binary on a stage of its own, reading KEY and OTHER_KEY from `UNITS` units, of which
/// `broken` are malformed.
async fn start_on_units(broken: &[usize]) -> Shipped {
    let stage = Stage::new().await;
    let base = units(&[(KEY, ACCOUNT), (OTHER_KEY, "acct_other")], broken).await;
    let units = UNITS.to_string();
    stage.start(&[("API_KEYS_SECRET_ID", &base), ("API_KEYS_UNITS", &units)])
}

#[tokio::test]
async fn keys_in_different_units_each_pass_and_an_unknown_key_is_refused() {
    let (key_unit, other_unit) = units_of_the_two_keys();
    let mut function = start_on_units(&[]).await;

    // 404: the key passed and the integration does not exist; 401: the key did not.
    assert_eq!(status(&function, KEY), 404, "KEY, in unit {key_unit}");
    assert_eq!(
        status(&function, OTHER_KEY),
        404,
        "OTHER_KEY, in unit {other_unit}"
    );
    assert_eq!(status(&function, "not_a_listed_key_0123456789"), 401);
    function.stop();
    // Init reads no unit (it carries into the first document), and each of the first two
    // requests reads exactly its own key's unit: one read each, not four.
    let documents = function.metric_documents();
    assert_eq!(documents.len(), 3, "{documents:#?}");
    for (n, document) in documents[..2].iter().enumerate() {
        assert_eq!(
            document["KeyCacheRefreshes"], 1.0,
            "request {n}: {document}"
        );
        assert!(
            document["GetSecretValueLatency"].is_number(),
            "one read: {document}"
        );
    }
    assert_eq!(documents[0]["ColdStart"], 1.0);
    assert!(
        !function.all_output().contains(&hash_key(KEY)),
        "no key hash in the output"
    );
}

#[tokio::test]
async fn a_malformed_unit_fails_only_its_own_keys() {
    let (_, other_unit) = units_of_the_two_keys();
    let mut function = start_on_units(&[other_unit]).await;

    assert_eq!(status(&function, OTHER_KEY), 500, "its unit is malformed");
    assert_eq!(
        status(&function, KEY),
        404,
        "another unit's key still passes"
    );
    function.stop();
}

/// Runs `scripts/api-keys.py` with `args`, as an operator would (the tools venv's Python, the
/// local endpoints `make test` exports).
fn api_keys_tool(args: &[&str]) -> std::process::Child {
    let python = std::env::var("VENV_PY").expect("VENV_PY is not set: run with `make test`");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/api-keys.py");
    std::process::Command::new(python)
        .arg(script)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start scripts/api-keys.py")
}

fn tool_succeeds(child: std::process::Child, what: &str) {
    let output = child.wait_with_output().expect("scripts/api-keys.py ends");
    assert!(
        output.status.success(),
        "{what}: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The move from one secret to units, as docs/api-keys.md tells it: the units made, the function
/// deployed reading both, the entries copied, checked, and the previous secret dropped. Every
/// key is checked again and again while the copy runs, with a cache TTL of one second so that
/// the function reads units the tool is writing: none may get a 401.
#[tokio::test]
async fn no_key_is_refused_at_any_moment_of_the_move_from_one_secret_to_units() {
    const MOVED: usize = 8;
    let stage = Stage::new().await;
    let run = unique("move");
    let keys: Vec<String> = (0..60)
        .map(|n| format!("{run}-key-{n:02}-0123456789"))
        .collect();
    let listed: Vec<(&str, &str)> = keys.iter().map(|k| (k.as_str(), ACCOUNT)).collect();
    let previous = test_support::local::KeysSecret::create(&sdk_config().await, &listed).await;
    let prefix = unique("test/api-key-move");
    let units = MOVED.to_string();
    let layout = ["--prefix", prefix.as_str(), "--units", units.as_str()];
    tool_succeeds(api_keys_tool(&[&["init"][..], &layout].concat()), "init");

    let function = stage.start(&[
        ("API_KEYS_SECRET_ID", &prefix),
        ("API_KEYS_UNITS", &units),
        ("API_KEYS_PREVIOUS_SECRET_ID", &previous.id),
        ("API_KEYS_CACHE_TTL_SECONDS", "1"),
    ]);
    let check_all = |phase: &str| {
        for key in &keys {
            assert_eq!(status(&function, key), 404, "{phase}: {key}");
        }
    };
    check_all("before the copy");

    let source = ["--from-prefix", previous.id.as_str(), "--from-units", "1"];
    let mut migration = api_keys_tool(&[&["migrate"][..], &layout, &source].concat());
    let mut rounds_during = 0;
    while migration.try_wait().expect("the tool's status").is_none() {
        check_all("during the copy");
        rounds_during += 1;
    }
    tool_succeeds(migration, "migrate");
    assert!(
        rounds_during >= 2,
        "the keys were checked while the copy ran: {rounds_during} rounds"
    );
    // Past the TTL, every unit is read again with every entry in it.
    std::thread::sleep(std::time::Duration::from_millis(1_100));
    check_all("after the copy");
    tool_succeeds(
        api_keys_tool(&[&["verify"][..], &layout, &source].concat()),
        "verify",
    );
    let mut function = function;
    function.stop();
    let documents = function.metric_documents();
    let found_in_previous = |docs: &[serde_json::Value]| {
        docs.iter()
            .filter_map(|d| d["ApiKeysFoundInPrevious"].as_f64())
            .sum::<f64>()
    };
    assert_eq!(
        found_in_previous(&documents[..keys.len()]),
        keys.len() as f64,
        "before the copy every key was found in the previous secret"
    );
    assert_eq!(
        found_in_previous(&documents[documents.len() - keys.len()..]),
        0.0,
        "after it, none"
    );

    // The previous secret dropped from the configuration: every key still passes.
    let mut after = stage.start(&[("API_KEYS_SECRET_ID", &prefix), ("API_KEYS_UNITS", &units)]);
    for key in &keys {
        assert_eq!(status(&after, key), 404, "units only: {key}");
    }
    after.stop();
}
