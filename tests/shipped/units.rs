//! API keys spread over several secrets (`API_KEYS_UNITS`): the binary reads only the unit of
//! the presented key, and one bad unit takes down only the keys it would hold.

use disconnect_integration::api_keys::format::{digest, unit_of, unit_secret_id};
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
