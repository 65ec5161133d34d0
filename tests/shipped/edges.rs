//! The binary's edges: a malformed event never puts its content in the log, only the exact
//! method `DELETE` disconnects, a lost race is won under DynamoDB's `ClientRequestToken` rule,
//! and a start with `AWS_LAMBDA_MAX_CONCURRENCY=1` (as `cargo lambda watch` sets it) warns of
//! nothing.

use serde_json::{Value, json};
use test_support::doors::Door;
use test_support::fault_proxy::FaultProxy;
use test_support::runtime_api::Outcome;

use crate::binary::{ACCOUNT, KEY, Stage};
use crate::logs::assert_no_secrets;

/// Client data that must never reach the output: as a string, and as a number.
const CANARY: &str = "canary_key_5c1e0b9d";
const CANARY_NUMBER: u64 = 7_302_158_946_113;

/// What a field of the event holds when it is well formed.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Text,
    Map,
    /// A struct of the reader's (serde also takes a list for it, its fields in order).
    Struct,
    ListOfText,
}

/// Every field the front-door reader reads (`src/http/front_door.rs`), as a JSON pointer, with
/// its kind. Every door's event is read by the same types, so every field is read at every door.
const FIELDS: &[(&str, Kind)] = &[
    ("/version", Kind::Text),
    ("/httpMethod", Kind::Text),
    ("/path", Kind::Text),
    ("/rawPath", Kind::Text),
    ("/pathParameters", Kind::Map),
    ("/pathParameters/integrationId", Kind::Text),
    ("/headers", Kind::Map),
    ("/headers/x-api-key", Kind::Text),
    ("/multiValueHeaders", Kind::Map),
    ("/multiValueHeaders/x-api-key", Kind::ListOfText),
    ("/requestContext", Kind::Struct),
    ("/requestContext/domainName", Kind::Text),
    ("/requestContext/http", Kind::Struct),
    ("/requestContext/http/method", Kind::Text),
];

/// The wrongly typed values, each carrying the canary, for a field of `kind`.
fn wrong_values(kind: Kind) -> Vec<Value> {
    let text = json!(CANARY);
    let number = json!(CANARY_NUMBER);
    let list = json!([CANARY]);
    let object = json!({ CANARY: CANARY });
    match kind {
        Kind::Text => vec![number, list, object],
        Kind::Map => vec![text, number, list],
        Kind::Struct => vec![text, number],
        Kind::ListOfText => vec![text, number, json!([CANARY_NUMBER]), object],
    }
}

/// `event` with `value` at `pointer`, its parents created as objects where missing.
fn with_field(event: &str, pointer: &str, value: Value) -> String {
    let mut event: Value = serde_json::from_str(event).unwrap();
    let mut at = &mut event;
    let names: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
    for name in &names[..names.len() - 1] {
        if !at.get(*name).is_some_and(Value::is_object) {
            at[*name] = json!({});
        }
        at = &mut at[*name];
    }
    at[names[names.len() - 1]] = value;
    event.to_string()
}

/// The path a shape error names for a field: `/a/b` is `a.b`.
fn dotted(pointer: &str) -> String {
    pointer.trim_start_matches('/').replace('/', ".")
}

#[tokio::test]
async fn a_malformed_event_never_puts_a_value_of_it_in_the_output_at_any_level() {
    let stage = Stage::new().await;
    let mut cases = vec![];
    for door in Door::ALL {
        let event = door.event(
            "DELETE",
            "/v1/integration/int_canary",
            &[("x-api-key", KEY)],
        );
        for (pointer, kind) in FIELDS {
            for value in wrong_values(*kind) {
                cases.push((
                    format!("{door:?} {pointer} = {value}"),
                    dotted(pointer),
                    with_field(&event, pointer, value),
                ));
            }
        }
    }
    let mut covered = 0;
    for level in ["INFO", "DEBUG", "TRACE"] {
        let mut function = stage.start(&[("AWS_LAMBDA_LOG_LEVEL", level)]);
        for (case, _, event) in &cases {
            let answer = function.invoke(event);
            assert_eq!(answer.status, 500, "{level} {case}: {}", answer.body);
            assert!(answer.body.contains("internal_error"), "{case}");
        }
        // Not JSON at all, cut short inside the key: the runtime refuses it before the handler.
        let cut = format!(r#"{{"httpMethod": "DELETE", "headers": {{"x-api-key": "{CANARY}"#);
        let (_, outcome) = function.0.invoke(&cut);
        assert!(matches!(outcome, Outcome::Error(_)), "{outcome:?}");
        function.stop();

        let output = function.all_output();
        assert!(
            !output.contains(CANARY),
            "{level}: the canary reached the output"
        );
        assert!(
            !output.contains(&CANARY_NUMBER.to_string()),
            "{level}: the numeric canary reached the output"
        );
        assert_no_secrets(&output, level);
        let failed: Vec<String> = function
            .log_lines()
            .iter()
            .filter(|l| l["target"] == "request" && l["level"] == "ERROR")
            .map(|l| l["error"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(
            failed.len(),
            cases.len(),
            "{level}: one request line per case"
        );
        for ((case, path, _), error) in cases.iter().zip(&failed) {
            assert!(
                error.contains(&format!("at `{path}")) && error.contains("(line 1, column "),
                "{level} {case}: the line names where the shape is wrong: {error}"
            );
        }
        covered += cases.len();
    }
    assert_eq!(covered, 3 * cases.len());
}

#[tokio::test]
async fn only_the_exact_method_delete_disconnects_at_every_front_door() {
    let stage = Stage::new().await;
    stage
        .table
        .seed_integration("int_method", ACCOUNT, "youtube", 2)
        .await;
    let before = stage.table.partition("int_method").await;
    let function = stage.start(&[]);
    for door in Door::ALL {
        for method in ["delete", "Delete", "DELETe", "dELETE", "GET", "PoSt"] {
            let answer = function.invoke(&door.event(
                method,
                "/v1/integration/int_method",
                &[("x-api-key", KEY)],
            ));
            let case = format!("{door:?} {method}");
            assert_eq!(answer.status, 405, "{case}: {}", answer.body);
            assert!(answer.body.contains("method_not_allowed"), "{case}");
            assert_eq!(answer.headers["allow"], "DELETE", "{case}");
        }
    }
    assert_eq!(
        stage.table.partition("int_method").await,
        before,
        "nothing changed"
    );

    let answer = function.invoke(&Door::Alb.event(
        "DELETE",
        "/v1/integration/int_method",
        &[("x-api-key", KEY)],
    ));
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(stage.table.sort_keys("int_method").await, ["DISCONNECTED"]);
}

/// DynamoDB Local does not enforce `ClientRequestToken`; the proxy does, as DynamoDB documents
/// it. A token written between the read and the transaction costs exactly one more round.
#[tokio::test]
async fn a_token_written_mid_disconnect_is_won_in_two_rounds_under_dynamodbs_token_rule() {
    let stage = Stage::new().await;
    stage
        .table
        .seed_integration("int_race", ACCOUNT, "youtube", 3)
        .await;
    let proxy = FaultProxy::start(&std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap());
    proxy.enforce_client_request_tokens();
    let table = stage.table.clone();
    proxy.before_first("TransactWriteItems", move || {
        table.put_token_blocking("int_race", "refreshed").unwrap();
    });
    let function = stage.start(&[("AWS_ENDPOINT_URL_DYNAMODB", &proxy.url())]);

    let answer = function.invoke(&Door::HttpApi.event(
        "DELETE",
        "/v1/integration/int_race",
        &[("x-api-key", KEY)],
    ));

    assert!(
        proxy.before_first_ran(),
        "the token was written mid-disconnect"
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        proxy.calls("TransactWriteItems"),
        2,
        "one round lost, one won"
    );
    assert_eq!(proxy.idempotency_mismatches(), 0);
    assert_eq!(stage.table.sort_keys("int_race").await, ["DISCONNECTED"]);
}

#[tokio::test]
async fn a_start_with_a_concurrency_of_one_warns_of_nothing() {
    let stage = Stage::new().await;
    let mut function = stage.start(&[("AWS_LAMBDA_MAX_CONCURRENCY", "1")]);
    let answer = function.invoke(&Door::HttpApi.event(
        "DELETE",
        "/v1/integration/int_none",
        &[("x-api-key", KEY)],
    ));
    assert_eq!(answer.status, 404);
    function.stop();
    let warnings: Vec<Value> = function
        .log_lines()
        .into_iter()
        .filter(|l| l["level"] == "WARN" || l["level"] == "ERROR")
        .collect();
    assert_eq!(warnings, Vec::<Value>::new());
    assert_eq!(function.0.stderr(), Vec::<String>::new());
}
