//! The success path: the body, what is removed, what is written, and what is left alone.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::primitives::{DateTime, DateTimeFormat};
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
async fn disconnecting_returns_the_documented_body() {
    let app = TestApp::spawn().await;
    app.seed_integration("int_yt_abc123", ACCOUNT_A, "youtube", 2)
        .await;
    let before = epoch_now();

    let response = app.delete_integration("int_yt_abc123", Some(KEY_A)).await;

    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.headers["content-type"], "application/json");
    let disconnected_at = response.body["data"]["disconnectedAt"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        response.body,
        json!({
            "success": true,
            "message": "Integration disconnected successfully",
            "data": {"id": "int_yt_abc123", "type": "youtube", "deleted": true, "disconnectedAt": disconnected_at},
        })
    );
    assert!(
        disconnected_at.ends_with('Z') && disconnected_at.len() == 20,
        "{disconnected_at}"
    );
    let at = parse_rfc3339(&disconnected_at);
    assert!(
        (before..=epoch_now()).contains(&at),
        "{disconnected_at} is now"
    );
}

#[tokio::test]
async fn tokens_are_gone_and_the_marker_is_written_with_its_ttl() {
    let app = TestApp::spawn().await;
    app.seed_integration("int_1", ACCOUNT_A, "tiktok", 5).await;

    let response = app.delete_integration("int_1", Some(KEY_A)).await;
    assert_eq!(response.status, 200, "{}", response.body);

    let partition = app.partition("int_1").await;
    assert_eq!(
        partition.len(),
        1,
        "only the marker is left: {partition:#?}"
    );
    let marker = &partition[0];
    let disconnected_at = response.body["data"]["disconnectedAt"].as_str().unwrap();
    assert_eq!(
        *marker,
        json!({
            "PK": "INTEGRATION#int_1", "SK": "DISCONNECTED",
            "id": "int_1", "accountId": ACCOUNT_A, "type": "tiktok",
            "disconnectedAt": disconnected_at,
            "reason": "integration_disconnected",
            "expiresAt": parse_rfc3339(disconnected_at) + 90 * 86_400,
        })
    );
}

#[tokio::test]
async fn the_marker_ttl_follows_marker_ttl_days() {
    let app = TestApp::spawn_with(|c| c.marker_ttl = Duration::from_secs(7 * 86_400)).await;
    app.seed_integration("int_1", ACCOUNT_A, "youtube", 1).await;
    let response = app.delete_integration("int_1", Some(KEY_A)).await;
    let at = parse_rfc3339(response.body["data"]["disconnectedAt"].as_str().unwrap());
    let marker = app.get("INTEGRATION#int_1", "DISCONNECTED").await.unwrap();
    assert_eq!(marker["expiresAt"], at + 7 * 86_400);
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
    app.put(json!({"PK": "POST#post_1", "SK": "POST", "integrationId": "int_target", "status": "pending"}))
        .await;
    app.put(json!({"PK": "POST#post_2", "SK": "POST", "integrationId": "int_target", "status": "published"}))
        .await;
    app.put(json!({"PK": "ANALYTICS#int_target", "SK": "2026-11", "views": 1200}))
        .await;
    app.put(json!({"PK": "INTEGRATION#int_target", "SK": "AUDIT#2026-01-01", "note": "not ours"}))
        .await;
    let before: Vec<Value> = app
        .all_items()
        .await
        .into_iter()
        .filter(|i| {
            !(i["PK"] == "INTEGRATION#int_target"
                && (i["SK"] == "INTEGRATION" || i["SK"].as_str().unwrap().starts_with("TOKEN#")))
        })
        .collect();

    let response = app.delete_integration("int_target", Some(KEY_A)).await;
    assert_eq!(response.status, 200, "{}", response.body);

    let after: Vec<Value> = app
        .all_items()
        .await
        .into_iter()
        .filter(|i| !(i["PK"] == "INTEGRATION#int_target" && i["SK"] == "DISCONNECTED"))
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
    // Let the clock move on so that a recomputed time would differ.
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let second = app.delete_integration("int_1", Some(KEY_A)).await;

    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(
        second.body, first.body,
        "same type and original disconnectedAt"
    );
    assert_eq!(app.partition("int_1").await.len(), 1, "still one marker");
}

#[tokio::test]
async fn deleting_another_accounts_integration_returns_404_and_changes_nothing() {
    let app = TestApp::spawn().await;
    app.seed_integration("int_b", ACCOUNT_B, "youtube", 3).await;
    let before = app.all_items().await;

    let response = app.delete_integration("int_b", Some(KEY_A)).await;

    assert_eq!(response.status, 404);
    assert_eq!(response.body["error"]["code"], "integration_not_found");
    assert_eq!(response.body["message"], "Integration not found");
    assert_eq!(app.all_items().await, before);
}

#[tokio::test]
async fn another_accounts_repeat_of_a_disconnect_returns_404() {
    let app = TestApp::spawn().await;
    app.seed_integration("int_a", ACCOUNT_A, "youtube", 1).await;
    assert_eq!(
        app.delete_integration("int_a", Some(KEY_A)).await.status,
        200
    );
    let unknown = app
        .delete_integration("int_never_existed", Some(KEY_B))
        .await;

    let response = app.delete_integration("int_a", Some(KEY_B)).await;

    assert_eq!(response.status, 404);
    assert_eq!(
        response.body,
        json!({
            "success": false,
            "message": "Integration not found",
            "error": {"code": "integration_not_found", "requestId": response.body["error"]["requestId"]},
        })
    );
    assert_eq!(
        response.body["message"], unknown.body["message"],
        "indistinguishable from an unknown id"
    );
}

#[tokio::test]
async fn an_expired_marker_counts_as_absent() {
    let app = TestApp::spawn().await;
    app.put(json!({
        "PK": "INTEGRATION#int_old", "SK": "DISCONNECTED", "id": "int_old", "accountId": ACCOUNT_A,
        "type": "youtube", "disconnectedAt": "2020-01-01T00:00:00Z",
        "reason": "integration_disconnected", "expiresAt": epoch_now() - 1,
    }))
    .await;
    let response = app.delete_integration("int_old", Some(KEY_A)).await;
    assert_eq!(response.status, 404, "{}", response.body);
}

#[tokio::test]
async fn a_live_marker_is_what_processors_read_and_an_expired_one_is_not() {
    let app = TestApp::spawn().await;
    app.seed_integration("int_1", ACCOUNT_A, "youtube", 1).await;
    app.delete_integration("int_1", Some(KEY_A)).await;
    let reader = disconnect_integration::MarkerReader::new(app.dynamodb.clone(), &app.table);
    let id = disconnect_integration::IntegrationId::parse("int_1").unwrap();

    let marker = reader
        .live_marker(&id, SystemTime::now())
        .await
        .unwrap()
        .expect("a live marker");
    assert_eq!(marker.integration_type, "youtube");
    let after_expiry = UNIX_EPOCH + Duration::from_secs(marker.expires_at as u64);
    assert_eq!(reader.live_marker(&id, after_expiry).await.unwrap(), None);
    let never = disconnect_integration::IntegrationId::parse("int_2").unwrap();
    assert_eq!(
        reader.live_marker(&never, SystemTime::now()).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn an_integration_with_150_tokens_is_disconnected_completely() {
    let app = TestApp::spawn().await;
    app.seed_integration("int_many", ACCOUNT_A, "youtube", 150)
        .await;
    assert_eq!(app.partition("int_many").await.len(), 151);

    let response = app.delete_integration("int_many", Some(KEY_A)).await;

    assert_eq!(response.status, 200, "{}", response.body);
    let partition = app.partition("int_many").await;
    assert_eq!(partition.len(), 1, "only the marker is left");
    assert_eq!(partition[0]["SK"], "DISCONNECTED");
}

#[tokio::test]
async fn a_retry_after_a_crash_between_batch_and_transaction_completes_the_disconnect() {
    // The state a crash leaves after the surplus tokens were batch-deleted: the integration and
    // some tokens, no marker.
    let app = TestApp::spawn().await;
    app.seed_integration("int_crashed", ACCOUNT_A, "youtube", 40)
        .await;
    let response = app.delete_integration("int_crashed", Some(KEY_A)).await;
    assert_eq!(response.status, 200);
    assert_eq!(app.partition("int_crashed").await.len(), 1);
}

#[tokio::test]
async fn a_body_and_a_query_string_are_ignored() {
    let app = TestApp::spawn().await;
    app.seed_integration("int_1", ACCOUNT_A, "youtube", 1).await;
    let request = lambda_http::http::Request::builder()
        .method("DELETE")
        .uri("/v1/integration/int_1?force=true&id=int_2")
        .header("x-api-key", KEY_A)
        .header("content-type", "application/json")
        .body(lambda_http::Body::Text(r#"{"id": "int_2"}"#.into()))
        .unwrap();
    let request = lambda_http::RequestExt::with_raw_http_path(request, "/v1/integration/int_1");
    let response = app.send(request).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.body["data"]["id"], "int_1");
}
