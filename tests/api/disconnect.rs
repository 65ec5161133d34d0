//! The success path: the body, what is removed, what is written, what is left alone, and what
//! a crash in the middle leaves behind.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::primitives::{DateTime, DateTimeFormat};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use integrations_table::attributes::{
    ACCOUNT_ID, DISCONNECTED_AT, EXPIRES_AT, GRANT_ID, ID, PK, REASON, SK, TOKEN, TYPE, VERSION,
};
use serde_json::{Value, json};

use crate::helpers::{ACCOUNT_A, ACCOUNT_B, KEY_A, KEY_B, TestApp};

fn epoch_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn parse_rfc3339(text: &str) -> i64 {
    DateTime::from_str(text, DateTimeFormat::DateTime)
        .unwrap_or_else(|e| panic!("{text:?} is not RFC 3339: {e}"))
        .secs()
}

#[tokio::test]
async fn disconnecting_returns_the_documented_body_byte_for_byte() {
    let app = TestApp::spawn().await;
    app.seed_integration("int_yt_abc123", ACCOUNT_A, "youtube", 2)
        .await;
    let before = epoch_now();

    let response = app.delete_integration("int_yt_abc123", Some(KEY_A)).await;

    assert_eq!(response.status, 200, "{}", response.raw_body);
    assert_eq!(response.headers["content-type"], "application/json");
    let at = response.body["data"]["disconnectedAt"].as_str().unwrap();
    assert_eq!(
        response.raw_body,
        format!(
            r#"{{"success":true,"message":"Integration disconnected successfully","data":{{"id":"int_yt_abc123","type":"youtube","deleted":true,"disconnectedAt":"{at}"}}}}"#
        )
    );
    assert!(at.ends_with('Z') && at.len() == 20, "{at}");
    assert!(
        (before..=epoch_now()).contains(&parse_rfc3339(at)),
        "{at} is now"
    );
}

#[tokio::test]
async fn tokens_are_gone_and_the_marker_is_written_with_its_ttl() {
    let app = TestApp::spawn().await;
    app.seed_integration("int_1", ACCOUNT_A, "tiktok", 5).await;

    let response = app.delete_integration("int_1", Some(KEY_A)).await;
    assert_eq!(response.status, 200, "{}", response.raw_body);

    let partition = app.table.partition("int_1").await;
    assert_eq!(
        partition.len(),
        1,
        "only the marker is left: {partition:#?}"
    );
    let disconnected_at = response.body["data"]["disconnectedAt"].as_str().unwrap();
    // The marker whole, by the crate's names (docs/data-contract.md names the same, which
    // crates/stack-checks holds both ways).
    assert_eq!(
        partition[0],
        json!({
            PK: "INTEGRATION#int_1", SK: "DISCONNECTED",
            ID: "int_1", ACCOUNT_ID: ACCOUNT_A, TYPE: "tiktok",
            DISCONNECTED_AT: disconnected_at,
            REASON: "integration_disconnected",
            EXPIRES_AT: parse_rfc3339(disconnected_at) + 90 * 86_400,
        })
    );
}

#[tokio::test]
async fn the_marker_ttl_follows_marker_ttl_days() {
    let app = TestApp::spawn_with(|c| c.marker_ttl = Duration::from_secs(7 * 86_400)).await;
    app.seed_integration("int_1", ACCOUNT_A, "youtube", 1).await;
    let response = app.delete_integration("int_1", Some(KEY_A)).await;
    let at = parse_rfc3339(response.body["data"]["disconnectedAt"].as_str().unwrap());
    let marker = app
        .table
        .get("INTEGRATION#int_1", "DISCONNECTED")
        .await
        .unwrap();
    assert_eq!(marker[EXPIRES_AT], at + 7 * 86_400);
}

#[tokio::test]
async fn neighbours_are_left_untouched() {
    let app = TestApp::spawn().await;
    app.seed_integration("int_target", ACCOUNT_A, "youtube", 3)
        .await;
    app.seed_integration("int_same_account", ACCOUNT_A, "instagram", 2)
        .await;
    app.seed_integration("int_other_account", ACCOUNT_B, "youtube", 2)
        .await;
    for item in [
        json!({PK: "POST#post_1", SK: "POST", "integrationId": "int_target", "status": "pending"}),
        json!({PK: "POST#post_2", SK: "POST", "integrationId": "int_target", "status": "published"}),
        json!({PK: "ANALYTICS#int_target", SK: "2026-11", "views": 1200}),
        json!({PK: "INTEGRATION#int_target", SK: "AUDIT#2026-01-01", "note": "not ours"}),
    ] {
        app.table.put(item).await;
    }
    let ours = |i: &Value, sks: &[&str]| {
        i[PK] == "INTEGRATION#int_target"
            && sks.iter().any(|sk| i[SK].as_str().unwrap().starts_with(sk))
    };
    let before: Vec<Value> = app
        .table
        .all_items()
        .await
        .into_iter()
        .filter(|i| !ours(i, &["INTEGRATION", "TOKEN#"]))
        .collect();

    let response = app.delete_integration("int_target", Some(KEY_A)).await;
    assert_eq!(response.status, 200, "{}", response.raw_body);

    let after: Vec<Value> = app
        .table
        .all_items()
        .await
        .into_iter()
        .filter(|i| !ours(i, &["DISCONNECTED"]))
        .collect();
    assert_eq!(
        after, before,
        "everything but the integration, its tokens and the marker is as it was"
    );
}

#[tokio::test]
async fn repeating_a_delete_returns_the_same_body() {
    let app = TestApp::spawn().await;
    app.seed_integration("int_1", ACCOUNT_A, "youtube", 2).await;
    let first = app.delete_integration("int_1", Some(KEY_A)).await;
    assert_eq!(first.status, 200);
    // An hour later, a recomputed time would differ.
    app.clock.advance(Duration::from_secs(3600));

    let second = app.delete_integration("int_1", Some(KEY_A)).await;

    assert_eq!(second.status, 200, "{}", second.raw_body);
    assert_eq!(
        second.raw_body, first.raw_body,
        "same type and original disconnectedAt"
    );
    assert_eq!(
        app.table.partition("int_1").await.len(),
        1,
        "still one marker"
    );
}

#[tokio::test]
async fn deleting_another_accounts_integration_returns_404_and_changes_nothing() {
    let app = TestApp::spawn().await;
    app.seed_integration("int_b", ACCOUNT_B, "youtube", 3).await;
    let before = app.table.all_items().await;

    let response = app.delete_integration("int_b", Some(KEY_A)).await;

    assert_eq!(response.status, 404);
    assert_eq!(response.body["error"]["code"], "integration_not_found");
    assert_eq!(app.table.all_items().await, before);
}

#[tokio::test]
async fn another_accounts_repeat_of_a_disconnect_is_indistinguishable_from_an_unknown_id() {
    let app = TestApp::spawn().await;
    app.seed_integration("int_a", ACCOUNT_A, "youtube", 1).await;
    assert_eq!(
        app.delete_integration("int_a", Some(KEY_A)).await.status,
        200
    );

    let foreign = app.delete_integration("int_a", Some(KEY_B)).await;
    let unknown = app
        .delete_integration("int_never_existed", Some(KEY_B))
        .await;

    assert_eq!((foreign.status, unknown.status), (404, 404));
    let without_request_id = |r: &crate::helpers::TestResponse| {
        let request_id = r.body["error"]["requestId"].as_str().unwrap().to_owned();
        r.raw_body.replace(&request_id, "<id>")
    };
    assert_eq!(without_request_id(&foreign), without_request_id(&unknown));
}

#[tokio::test]
async fn an_expired_marker_counts_as_absent() {
    let app = TestApp::spawn().await;
    app.table
        .put(json!({
            PK: "INTEGRATION#int_old", SK: "DISCONNECTED", ID: "int_old", ACCOUNT_ID: ACCOUNT_A,
            TYPE: "youtube", DISCONNECTED_AT: "2020-01-01T00:00:00Z",
            REASON: "integration_disconnected", EXPIRES_AT: epoch_now() - 1,
        }))
        .await;
    let response = app.delete_integration("int_old", Some(KEY_A)).await;
    assert_eq!(response.status, 404, "{}", response.raw_body);
}

#[tokio::test]
async fn a_repeat_after_the_marker_expired_is_404() {
    let app = TestApp::spawn_with(|c| c.marker_ttl = Duration::from_secs(86_400)).await;
    app.seed_integration("int_1", ACCOUNT_A, "youtube", 1).await;
    assert_eq!(
        app.delete_integration("int_1", Some(KEY_A)).await.status,
        200
    );

    app.clock.advance(Duration::from_secs(86_400));

    assert_eq!(
        app.delete_integration("int_1", Some(KEY_A)).await.status,
        404
    );
}

#[tokio::test]
async fn an_integration_with_150_tokens_is_disconnected_completely() {
    let app = TestApp::spawn().await;
    app.seed_integration("int_many", ACCOUNT_A, "youtube", 150)
        .await;
    assert_eq!(app.table.partition("int_many").await.len(), 151);

    let response = app.delete_integration("int_many", Some(KEY_A)).await;

    assert_eq!(response.status, 200, "{}", response.raw_body);
    assert_eq!(app.table.sort_keys("int_many").await, ["DISCONNECTED"]);
}

/// While armed, sends every `TransactWriteItems` to a port where nothing listens: the call
/// fails (after the SDK's retries) before DynamoDB sees it, as a crash or a network failure
/// between the surplus batch and the transaction would.
#[derive(Debug, Clone, Default)]
struct TransactionsFail(Arc<AtomicBool>);

impl Intercept for TransactionsFail {
    fn name(&self) -> &'static str {
        "TransactionsFail"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        let transaction =
            request.headers().get("x-amz-target") == Some("DynamoDB_20120810.TransactWriteItems");
        if transaction && self.0.load(Ordering::SeqCst) {
            request.set_uri("http://127.0.0.1:1/")?;
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_transaction_failing_after_the_surplus_batch_answers_503_and_a_retry_completes() {
    let faults = TransactionsFail::default();
    let app = TestApp::spawn().await.with_interceptor(faults.clone());
    app.seed_integration("int_crashed", ACCOUNT_A, "youtube", 130)
        .await;
    app.seed_integration("int_neighbour", ACCOUNT_A, "youtube", 3)
        .await;
    faults.0.store(true, Ordering::SeqCst);

    let failed = app.delete_integration("int_crashed", Some(KEY_A)).await;

    assert_eq!(failed.status, 503, "{}", failed.raw_body);
    assert_eq!(failed.headers["retry-after"], "1");
    assert_eq!(failed.body["error"]["code"], "service_unavailable");
    // The surplus (130 - 98 = 32 tokens) went first; the integration, 98 tokens and no
    // marker remain: a state a retry can finish.
    let left = app.table.sort_keys("int_crashed").await;
    assert!(left.contains(&"INTEGRATION".to_owned()), "{left:?}");
    assert!(!left.contains(&"DISCONNECTED".to_owned()), "{left:?}");
    assert_eq!(
        left.iter().filter(|sk| sk.starts_with("TOKEN#")).count(),
        98
    );

    faults.0.store(false, Ordering::SeqCst);
    let retried = app.delete_integration("int_crashed", Some(KEY_A)).await;

    assert_eq!(retried.status, 200, "{}", retried.raw_body);
    assert_eq!(app.table.sort_keys("int_crashed").await, ["DISCONNECTED"]);
    assert_eq!(app.table.partition("int_neighbour").await.len(), 4);
}

#[tokio::test]
async fn a_body_and_a_query_string_are_ignored() {
    let app = TestApp::spawn().await;
    app.seed_integration("int_1", ACCOUNT_A, "youtube", 1).await;
    let mut event: Value = serde_json::from_str(&crate::helpers::Door::HttpApi.event(
        "DELETE",
        "/v1/integration/int_1",
        &[("x-api-key", KEY_A), ("content-type", "application/json")],
    ))
    .unwrap();
    event["rawQueryString"] = json!("force=true&id=int_2");
    event["queryStringParameters"] = json!({"force": "true", "id": "int_2"});
    event["body"] = json!(r#"{"id": "int_2"}"#);

    let response = app.send(&event.to_string()).await;

    assert_eq!(response.status, 200, "{}", response.raw_body);
    assert_eq!(response.body["data"]["id"], "int_1");
}

/// Runs `action` once, on a thread of its own, just before the first request of `operation`
/// leaves: another writer acting between the function's read and its write.
#[derive(Clone)]
struct BeforeFirst {
    operation: &'static str,
    action: Arc<dyn Fn() + Send + Sync>,
    done: Arc<AtomicBool>,
}

impl std::fmt::Debug for BeforeFirst {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BeforeFirst")
    }
}

impl Intercept for BeforeFirst {
    fn name(&self) -> &'static str {
        "BeforeFirst"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let target = context
            .request()
            .headers()
            .get("x-amz-target")
            .unwrap_or_default();
        if target.ends_with(self.operation) && !self.done.swap(true, Ordering::SeqCst) {
            let action = self.action.clone();
            std::thread::spawn(move || action()).join().unwrap();
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_token_written_by_the_protocol_between_the_read_and_the_transaction_is_not_orphaned() {
    let fixture = TestApp::spawn().await;
    let table = fixture.table.clone();
    let writer = BeforeFirst {
        operation: "TransactWriteItems",
        action: Arc::new(move || table.put_token_blocking("int_race", "refreshed").unwrap()),
        done: Arc::default(),
    };
    let app = fixture.with_interceptor(writer.clone());
    app.seed_integration("int_race", ACCOUNT_A, "youtube", 3)
        .await;

    let response = app.delete_integration("int_race", Some(KEY_A)).await;

    assert!(writer.done.load(Ordering::SeqCst), "the writer ran");
    assert_eq!(response.status, 200, "{}", response.raw_body);
    assert_eq!(
        app.table.sort_keys("int_race").await,
        ["DISCONNECTED"],
        "the token written during the disconnect is gone too"
    );
}

/// DynamoDB Local does not enforce `ClientRequestToken`; real DynamoDB answers
/// `IdempotentParameterMismatch` to a token reused with other parameters within 10 minutes. The
/// proxy enforces that rule: the lost race is still won in two rounds, with no mismatch.
#[tokio::test]
async fn a_token_written_mid_disconnect_is_won_in_two_rounds_where_client_request_tokens_are_enforced()
 {
    let fixture = TestApp::spawn().await;
    let proxy = test_support::fault_proxy::FaultProxy::start(
        &std::env::var("AWS_ENDPOINT_URL_DYNAMODB").expect("run with `make test`"),
    );
    proxy.enforce_client_request_tokens();
    let table = fixture.table.clone();
    let writer = BeforeFirst {
        operation: "TransactWriteItems",
        action: Arc::new(move || table.put_token_blocking("int_race", "refreshed").unwrap()),
        done: Arc::default(),
    };
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&fixture.sdk)
            .endpoint_url(proxy.url())
            .interceptor(writer.clone())
            .build(),
    );
    let secrets = aws_sdk_secretsmanager::Client::new(&fixture.sdk);
    let app = fixture.with_clients(dynamodb, secrets);
    app.seed_integration("int_race", ACCOUNT_A, "youtube", 3)
        .await;

    let response = app.delete_integration("int_race", Some(KEY_A)).await;

    assert!(writer.done.load(Ordering::SeqCst), "the writer ran");
    assert_eq!(response.status, 200, "{}", response.raw_body);
    assert_eq!(
        proxy.calls("TransactWriteItems"),
        2,
        "the first round lost the race, the second won"
    );
    assert_eq!(proxy.idempotency_mismatches(), 0);
    assert_eq!(app.table.sort_keys("int_race").await, ["DISCONNECTED"]);
}

#[tokio::test]
async fn a_token_write_after_the_disconnect_writes_nothing() {
    let app = TestApp::spawn().await;
    app.seed_integration("int_1", ACCOUNT_A, "youtube", 1).await;
    assert_eq!(
        app.delete_integration("int_1", Some(KEY_A)).await.status,
        200
    );

    let result = app.table.put_token_blocking("int_1", "late");

    assert!(
        matches!(
            result,
            Err(integrations_table::tokens::PutTokenError::IntegrationGone(
                _
            ))
        ),
        "{result:?}"
    );
    assert_eq!(app.table.sort_keys("int_1").await, ["DISCONNECTED"]);
}

#[tokio::test]
async fn a_token_written_outside_the_protocol_after_the_disconnect_is_deleted_by_a_repeat() {
    let app = TestApp::spawn().await;
    app.seed_integration("int_1", ACCOUNT_A, "youtube", 1).await;
    let first = app.delete_integration("int_1", Some(KEY_A)).await;
    app.table
        .put(json!({PK: "INTEGRATION#int_1", SK: "TOKEN#careless", TOKEN: "secret-token-value-x"}))
        .await;

    let repeat = app.delete_integration("int_1", Some(KEY_A)).await;

    assert_eq!(repeat.status, 200, "{}", repeat.raw_body);
    assert_eq!(repeat.raw_body, first.raw_body);
    assert_eq!(app.table.sort_keys("int_1").await, ["DISCONNECTED"]);
}

#[tokio::test]
async fn a_token_written_by_the_protocol_before_the_disconnect_is_deleted_with_it() {
    let app = TestApp::spawn().await;
    app.seed_integration("int_1", ACCOUNT_A, "youtube", 2).await;
    app.table.put_token_blocking("int_1", "refreshed").unwrap();
    let integration = app
        .table
        .get("INTEGRATION#int_1", "INTEGRATION")
        .await
        .unwrap();
    assert_eq!(integration[VERSION], 1, "the write bumped the version");

    assert_eq!(
        app.delete_integration("int_1", Some(KEY_A)).await.status,
        200
    );
    assert_eq!(app.table.sort_keys("int_1").await, ["DISCONNECTED"]);
}

#[tokio::test]
async fn the_marker_keeps_the_integrations_grant_id_for_the_token_revoker() {
    let app = TestApp::spawn().await;
    app.seed_integration("int_grant", ACCOUNT_A, "youtube", 1)
        .await;
    let mut integration = app
        .table
        .get("INTEGRATION#int_grant", "INTEGRATION")
        .await
        .unwrap();
    integration[GRANT_ID] = json!("google_grant_1");
    app.table.put(integration).await;
    app.seed_integration("int_no_grant", ACCOUNT_A, "tiktok", 1)
        .await;

    for id in ["int_grant", "int_no_grant"] {
        let response = app.delete_integration(id, Some(KEY_A)).await;
        assert_eq!(response.status, 200, "{}", response.raw_body);
    }

    let marker = |id: &str| {
        let table = &app.table;
        let pk = format!("INTEGRATION#{id}");
        async move { table.get(&pk, "DISCONNECTED").await.unwrap() }
    };
    assert_eq!(marker("int_grant").await[GRANT_ID], "google_grant_1");
    assert!(
        marker("int_no_grant").await.get(GRANT_ID).is_none(),
        "no grantId attribute when the integration had none"
    );
}
