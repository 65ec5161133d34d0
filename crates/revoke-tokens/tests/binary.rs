//! The `revoke-tokens` binary as Lambda runs it: behind a local Runtime API, with its own
//! `main.rs` (configuration, credentials read from Secrets Manager at init, telemetry), on
//! DynamoDB Local, moto and a stub platform. What it answers and writes to stdout is read back.

use std::time::{Duration, SystemTime};

use integrations_table::attributes as a;
use integrations_table::{AccountId, DisconnectMarker, IntegrationId};
use serde_json::{Value, json};
use test_support::emf;
use test_support::function::Function;
use test_support::local::{Table, sdk_config, to_item, unique};
use test_support::runtime_api::Outcome;
use wiremock::matchers::{any, basic_auth, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "tok-binary-test-value";

/// The binary that ships: `SHIPPED_REVOKE_BINARY`, which `make test` sets after building it
/// alone from this crate's folder, as SAM builds it (`CodeUri: crates/revoke-tokens`), with
/// the release profile.
fn binary() -> std::path::PathBuf {
    test_support::shipped::binary(
        "SHIPPED_REVOKE_BINARY",
        "cd crates/revoke-tokens && cargo build --release --bin revoke-tokens",
    )
}

/// `[profile.release]` sets `strip = "symbols"` and no debug info; the dev profile keeps both.
#[test]
fn the_binary_under_test_is_the_release_build_that_ships() {
    test_support::shipped::assert_release_build(&binary());
}

fn env(table: &str, secret: &str, extra: &[(&str, String)]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("TABLE_NAME", table.to_owned()),
        ("REVOKE_CREDENTIALS_SECRET_ID", secret.to_owned()),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
        ("AWS_ACCESS_KEY_ID", "local".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "local".to_owned()),
        ("METRICS_SERVICE", "stack-revoke-tokens".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for name in [
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    ] {
        env.push((
            name.to_owned(),
            std::env::var(name).expect("run with make test"),
        ));
    }
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
    env
}

/// The binary behind cargo-lambda's own Runtime API emulator: these tests need nothing the
/// emulator lacks (its deadline is no instant, so the revoker takes its fallback).
fn start(env: &[(String, String)]) -> Function {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    Function::start_on_emulator(&binary(), &env)
}

/// The binary behind the hand-written stand-in, for a test that chooses the invocation's
/// deadline (an epoch instant, as Lambda sends it), which the emulator cannot; once its init is
/// done, so that the deadline is counted from when it can take the event.
fn start_on_stand_in(env: &[(String, String)]) -> Function {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let function = Function::start(&binary(), &env);
    function.wait_ready();
    function
}

/// A live disconnect marker of `integration`, of the integration type `kind`.
async fn put_marker(table: &Table, integration: &str, kind: &str) {
    let marker = DisconnectMarker::new(
        &IntegrationId::parse(integration).unwrap(),
        &AccountId::new("acct_1").unwrap(),
        kind,
        SystemTime::now(),
        Duration::from_secs(86_400),
    );
    table
        .put(serde_dynamo::from_item(marker.to_item().unwrap()).unwrap())
        .await;
}

/// A batch of one record: the stream's REMOVE of `integration`'s access token item holding
/// `token`, at `sequence`.
fn removal(integration: &str, token: &str, sequence: &str) -> String {
    let pk = format!("INTEGRATION#{integration}");
    json!({"Records": [{
        "awsRegion": "us-east-1", "eventID": format!("ev-{integration}"), "eventName": "REMOVE",
        "eventSource": "aws:dynamodb",
        "dynamodb": {"Keys": {a::PK: {"S": pk}, a::SK: {"S": "TOKEN#access"}},
                     "OldImage": {a::PK: {"S": pk}, a::SK: {"S": "TOKEN#access"},
                                  a::TOKEN: {"S": token}, a::TOKEN_TYPE: {"S": "access_token"}},
                     "SequenceNumber": sequence, "SizeBytes": 100,
                     "StreamViewType": "NEW_AND_OLD_IMAGES"}
    }]})
    .to_string()
}

/// Every line of `function`'s stdout, each a JSON object.
fn json_lines(function: &Function) -> Vec<Value> {
    function
        .stdout()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

async fn credentials_secret(text: &str) -> String {
    let sdk = sdk_config().await;
    let id = unique("test/revoke-credentials");
    aws_sdk_secretsmanager::Client::new(&sdk)
        .create_secret()
        .name(&id)
        .secret_string(text)
        .send()
        .await
        .expect("create the credentials secret");
    id
}

#[tokio::test]
async fn the_binary_revokes_a_disconnected_token_and_logs_and_counts_it_without_the_value() {
    let sdk = sdk_config().await;
    let table = Table::create(&sdk).await;
    let marker = DisconnectMarker::new(
        &IntegrationId::parse("int_bin").unwrap(),
        &AccountId::new("acct_1").unwrap(),
        "youtube",
        std::time::SystemTime::now(),
        Duration::from_secs(86_400),
    );
    table
        .put(serde_dynamo::from_item(marker.to_item().unwrap()).unwrap())
        .await;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/revoke"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let secret =
        credentials_secret(r#"{"google": {"clientId": "id", "clientSecret": "shh-secret"}}"#).await;
    let mut function = start(&env(
        &table.name,
        &secret,
        &[("REVOKE_ENDPOINT_GOOGLE", server.uri())],
    ));

    let token_item = json!({a::PK: "INTEGRATION#int_bin", a::SK: "TOKEN#access",
                            a::TOKEN: TOKEN, a::TOKEN_TYPE: "access_token"});
    let old_image: Value = to_item(&token_item)
        .into_iter()
        .map(|(k, v)| (k, json!({"S": v.as_s().unwrap()})))
        .collect::<serde_json::Map<String, Value>>()
        .into();
    let event = json!({"Records": [{
        "awsRegion": "us-east-1", "eventID": "ev-1", "eventName": "REMOVE",
        "eventSource": "aws:dynamodb",
        "dynamodb": {"Keys": {a::PK: {"S": "INTEGRATION#int_bin"}, a::SK: {"S": "TOKEN#access"}},
                     "OldImage": old_image, "SequenceNumber": "100", "SizeBytes": 100,
                     "StreamViewType": "NEW_AND_OLD_IMAGES"}
    }]});
    let (_, outcome) = function.invoke(&event.to_string());
    assert_eq!(
        outcome,
        Outcome::Response(r#"{"batchItemFailures":[]}"#.to_owned())
    );
    function.stop();

    let marker = table
        .get("INTEGRATION#int_bin", "DISCONNECTED")
        .await
        .unwrap();
    assert_eq!(
        marker[a::REVOCATION][0][a::entry::OUTCOME],
        "revoked",
        "{marker}"
    );
    server.verify().await;

    let stdout = function.stdout();
    let lines: Vec<Value> = stdout
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["target"] == "revocation" && l["outcome"] == "revoked"),
        "{stdout:#?}"
    );
    let metrics = lines
        .iter()
        .find(|l| l.get("_aws").is_some())
        .expect("an EMF document");
    assert_eq!(emf::problems(metrics), Vec::<String>::new(), "{metrics}");
    assert_eq!(metrics["TokensRevoked"], 1);
    assert_eq!(metrics["Service"], "stack-revoke-tokens");
    let all = stdout.join("\n") + &function.stderr().join("\n");
    for secret in [TOKEN, "shh-secret"] {
        assert!(!all.contains(secret), "{secret} in the output:\n{all}");
    }
}

#[tokio::test]
async fn an_unreadable_credentials_secret_fails_init_and_names_it() {
    let sdk = sdk_config().await;
    let table = Table::create(&sdk).await;
    let secret = credentials_secret(r#"{"google": "not-an-object-shh"}"#).await;
    let mut function = start(&env(&table.name, &secret, &[]));
    let code = function.wait_exit(Duration::from_secs(10));
    assert!(code.is_some_and(|c| c != 0), "init fails: {code:?}");
    let all = function.stdout().join("\n") + &function.stderr().join("\n");
    assert!(all.contains(&secret), "the secret is named: {all}");
    assert!(
        !all.contains("not-an-object-shh"),
        "its content is not: {all}"
    );
}

/// A token value that must never reach the output, as a string and as a number.
const CANARY: &str = "canary_token_7d2f0c41";
const CANARY_NUMBER: u64 = 8_104_662_390_571;

/// A removal record of a token item whose old image holds the canary as its value.
fn record_with_canary() -> Value {
    json!({
        "awsRegion": "us-east-1", "eventID": "ev-canary", "eventName": "REMOVE",
        "eventSource": "aws:dynamodb",
        "dynamodb": {"Keys": {a::PK: {"S": "INTEGRATION#int_canary"}, a::SK: {"S": "TOKEN#access"}},
                     "OldImage": {a::PK: {"S": "INTEGRATION#int_canary"}, a::SK: {"S": "TOKEN#access"},
                                  a::TOKEN: {"S": CANARY}, a::TOKEN_TYPE: {"S": "access_token"}},
                     "SequenceNumber": "100", "SizeBytes": 100,
                     "StreamViewType": "NEW_AND_OLD_IMAGES"},
        "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    })
}

/// Every field the consumer's event types read (`src/stream.rs`), under a record, with the
/// wrongly typed values that carry the canary there.
fn malformed_records() -> Vec<(String, Value)> {
    let text = json!(CANARY);
    let number = json!(CANARY_NUMBER);
    let list = json!([CANARY]);
    let object = json!({ CANARY: CANARY });
    let fields: Vec<(&str, Vec<Value>)> = vec![
        (
            "/eventID",
            vec![number.clone(), list.clone(), object.clone()],
        ),
        (
            "/eventName",
            vec![number.clone(), list.clone(), object.clone()],
        ),
        ("/dynamodb", vec![text.clone(), number.clone()]),
        (
            "/dynamodb/SequenceNumber",
            vec![number.clone(), list.clone(), object.clone()],
        ),
        ("/dynamodb/Keys", vec![text.clone(), number.clone()]),
        (
            "/dynamodb/OldImage",
            vec![text.clone(), number.clone(), list.clone()],
        ),
        (
            "/dynamodb/OldImage/token",
            vec![text.clone(), number.clone(), object.clone()],
        ),
        (
            "/dynamodb/OldImage/token/S",
            vec![number.clone(), list.clone(), object.clone()],
        ),
        ("/userIdentity", vec![text.clone(), number.clone()]),
        (
            "/userIdentity/type",
            vec![number.clone(), list.clone(), object.clone()],
        ),
        ("/userIdentity/principalId", vec![number, list, object]),
    ];
    let mut records = vec![];
    for (pointer, values) in fields {
        for value in values {
            let mut record = record_with_canary();
            *record.pointer_mut(pointer).unwrap() = value.clone();
            records.push((format!("{pointer} = {value}"), record));
        }
    }
    records
}

#[tokio::test]
async fn a_malformed_record_never_puts_a_token_in_the_output_at_any_level() {
    let sdk = sdk_config().await;
    let table = Table::create(&sdk).await;
    let secret = credentials_secret(r#"{}"#).await;
    let records = malformed_records();
    for level in ["INFO", "DEBUG", "TRACE"] {
        let mut function = start(&env(
            &table.name,
            &secret,
            &[("AWS_LAMBDA_LOG_LEVEL", level.to_owned())],
        ));
        let mut refused = 0;
        let mut outcomes = vec![];
        // What the function answered (a refusal's error message included), case by case.
        for (_, record) in &records {
            let (_, outcome) = function.invoke(&json!({"Records": [record]}).to_string());
            if matches!(outcome, Outcome::Error(_)) {
                refused += 1;
            }
            outcomes.push(format!("{outcome:?}"));
        }
        // A whole batch of the wrong shape, and a batch that is not JSON, cut inside a token.
        let (_, whole) = function.invoke(&json!({"Records": CANARY}).to_string());
        assert!(matches!(whole, Outcome::Error(_)), "{whole:?}");
        let cut =
            format!(r#"{{"Records": [{{"dynamodb": {{"OldImage": {{"token": {{"S": "{CANARY}"#);
        let (_, cut) = function.invoke(&cut);
        assert!(matches!(cut, Outcome::Error(_)), "{cut:?}");
        function.stop();

        let all = function.stdout().join("\n")
            + &function.stderr().join("\n")
            + &outcomes.join("\n")
            + &format!("{whole:?}");
        assert!(
            !all.contains(CANARY),
            "{level}: the canary reached the output:\n{all}"
        );
        assert!(
            !all.contains(&CANARY_NUMBER.to_string()),
            "{level}: the numeric canary reached the output:\n{all}"
        );
        assert_eq!(
            refused,
            records.len(),
            "{level}: every wrongly typed field is refused"
        );
        let refusals: Vec<Value> = function
            .stdout()
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|l| l["message"] == "the event is not a DynamoDB stream batch")
            .collect();
        assert_eq!(
            refusals.len(),
            refused + 1,
            "{level}: one line per refused batch"
        );
        assert!(
            refusals.iter().all(|l| l["error"]
                .as_str()
                .is_some_and(|e| e.contains(" at `Records"))),
            "{level}: each names where: {refusals:#?}"
        );
    }
}

/// One wrong variable must not send tokens and client secrets in clear text: the binary refuses
/// to start, naming it.
#[tokio::test]
async fn an_endpoint_override_in_clear_text_to_another_host_fails_init_naming_the_variable() {
    let sdk = sdk_config().await;
    let table = Table::create(&sdk).await;
    let secret = credentials_secret("{}").await;
    for (variable, value) in [
        ("REVOKE_ENDPOINT_GOOGLE", "http://oauth2.googleapis.com"),
        ("REVOKE_ENDPOINT_DISCORD", "http://10.0.0.7:8080"),
    ] {
        let mut function = start(&env(&table.name, &secret, &[(variable, value.to_owned())]));
        let code = function.wait_exit(Duration::from_secs(10));
        assert!(
            code.is_some_and(|c| c != 0),
            "{variable}: init fails: {code:?}"
        );
        let all = function.stdout().join("\n") + &function.stderr().join("\n");
        assert!(
            all.contains(&format!("{variable} must be an https URL")),
            "{variable}: {all}"
        );
    }
}

const DISCORD_CLIENT_ID: &str = "discord-client-id-from-the-secret";
const DISCORD_CLIENT_SECRET: &str = "discord-client-secret-from-the-secret";

/// Discord authenticates the client with HTTP Basic (the client id and secret) on its revoke
/// call: the revoker must take them from `REVOKE_CREDENTIALS_SECRET_ID`, which `main.rs` reads at
/// init, and hand them to the adapter. Google, which the other tests revoke at, needs none.
#[tokio::test]
async fn the_client_credentials_in_the_secret_reach_a_platform_that_authenticates_the_client() {
    let sdk = sdk_config().await;
    let table = Table::create(&sdk).await;
    put_marker(&table, "int_discord", "discord").await;
    let server = MockServer::start().await;
    // Discord's revoke call, as the secret's client: the only request that revokes.
    Mock::given(method("POST"))
        .and(path("/api/oauth2/token/revoke"))
        .and(basic_auth(DISCORD_CLIENT_ID, DISCORD_CLIENT_SECRET))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    // Any other request (no credentials, or others) is refused as a bad client.
    Mock::given(any())
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_client"})))
        .mount(&server)
        .await;
    let secret = credentials_secret(
        &json!({"discord": {"clientId": DISCORD_CLIENT_ID, "clientSecret": DISCORD_CLIENT_SECRET}})
            .to_string(),
    )
    .await;
    let mut function = start(&env(
        &table.name,
        &secret,
        &[("REVOKE_ENDPOINT_DISCORD", server.uri())],
    ));

    let (_, outcome) = function.invoke(&removal("int_discord", TOKEN, "100"));
    function.stop();
    assert_eq!(
        outcome,
        Outcome::Response(r#"{"batchItemFailures":[]}"#.to_owned())
    );
    let marker = table
        .get("INTEGRATION#int_discord", "DISCONNECTED")
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    // What the stub received, without the header's value.
    let received: Vec<String> = requests
        .iter()
        .map(|r| {
            let authorization = r.headers.get("authorization").map(|v| {
                let v = v.to_str().unwrap_or("");
                v.split_once(' ').map_or(v, |(scheme, _)| scheme).to_owned()
            });
            format!(
                "{} {} authorization: {authorization:?}",
                r.method,
                r.url.path()
            )
        })
        .collect();
    assert_eq!(
        marker[a::REVOCATION][0][a::entry::OUTCOME],
        "revoked",
        "only the secret's client is accepted; marker: {marker}; received: {received:?}"
    );
    assert_eq!(
        marker[a::REVOCATION][0][a::entry::PLATFORM],
        "discord",
        "{marker}"
    );
    assert_eq!(requests.len(), 1, "one revoke call: {received:?}");
    let body = String::from_utf8_lossy(&requests[0].body);
    assert!(
        body.contains(&format!("token={TOKEN}")),
        "the call revokes the removed token"
    );
    let all = function.stdout().join("\n") + &function.stderr().join("\n");
    for secret in [TOKEN, DISCORD_CLIENT_SECRET] {
        assert!(!all.contains(secret), "{secret} in the output:\n{all}");
    }
}

/// Lambda gives each invocation its deadline as an instant (`Lambda-Runtime-Deadline-Ms`, epoch
/// milliseconds), which `main.rs` reads; cargo-lambda's emulator sends none, so only the
/// stand-in reaches that path. A record with too little time left for a platform call is
/// handed back uncalled and uncounted as a failure (`RevocationsDeferred`); the same record with
/// time left is revoked, so the deadline, and nothing else, held it back.
#[tokio::test]
async fn a_record_the_invocation_deadline_leaves_no_time_for_is_handed_back_uncalled_then_revoked_with_time()
 {
    let sdk = sdk_config().await;
    let table = Table::create(&sdk).await;
    put_marker(&table, "int_deadline", "youtube").await;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/revoke"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let secret = credentials_secret("{}").await;
    let mut function = start_on_stand_in(&env(
        &table.name,
        &secret,
        &[
            ("REVOKE_ENDPOINT_GOOGLE", server.uri()),
            ("REVOKE_TIMEOUT_MS", "5000".to_owned()),
        ],
    ));
    let batch = removal("int_deadline", TOKEN, "100");

    // 3 s left: less than one platform call may take (5 s), before any time to record it.
    let (near_id, near) =
        function.invoke_with_deadline(&batch, SystemTime::now() + Duration::from_secs(3));
    assert_eq!(
        near,
        Outcome::Response(r#"{"batchItemFailures":[{"itemIdentifier":"100"}]}"#.to_owned()),
        "the record is handed back"
    );
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "no platform call without the time for it"
    );
    let marker = table
        .get("INTEGRATION#int_deadline", "DISCONNECTED")
        .await
        .unwrap();
    assert!(
        marker.get(a::REVOCATION).is_none(),
        "nothing recorded: {marker}"
    );

    // The redelivery, with 30 s left, as an invocation of the template's timeout has.
    let (far_id, far) =
        function.invoke_with_deadline(&batch, SystemTime::now() + Duration::from_secs(30));
    function.stop();
    assert_eq!(
        far,
        Outcome::Response(r#"{"batchItemFailures":[]}"#.to_owned()),
        "with time left the record is finished"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    let marker = table
        .get("INTEGRATION#int_deadline", "DISCONNECTED")
        .await
        .unwrap();
    assert_eq!(
        marker[a::REVOCATION][0][a::entry::OUTCOME],
        "revoked",
        "{marker}"
    );

    let lines = json_lines(&function);
    let document = |id: &str| {
        lines
            .iter()
            .find(|l| l.get("_aws").is_some() && l["requestId"] == id)
            .unwrap_or_else(|| panic!("an EMF document for {id}: {lines:#?}"))
            .clone()
    };
    let deferred = document(&near_id);
    assert_eq!(emf::problems(&deferred), Vec::<String>::new(), "{deferred}");
    assert_eq!(deferred["RevocationsDeferred"], 1, "{deferred}");
    for not_counted in ["RevocationsRetried", "RevocationsGivenUp", "TokensRevoked"] {
        assert!(deferred.get(not_counted).is_none(), "{deferred}");
    }
    assert_eq!(document(&far_id)["TokensRevoked"], 1);
}
