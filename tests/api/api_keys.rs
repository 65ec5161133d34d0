//! API keys against a real Secrets Manager endpoint: rotation in both directions.

use std::time::Duration;

use crate::helpers::{ACCOUNT_A, KEY_A, TestApp};

#[tokio::test]
async fn a_key_added_to_the_secret_works_at_once() {
    let app = TestApp::spawn().await;
    app.seed_integration("int_1", "acct_new", "youtube", 1)
        .await;
    // Warm the cache with the old secret.
    assert_eq!(
        app.delete_integration("int_none", Some(KEY_A)).await.status,
        404
    );

    app.set_keys(&[(KEY_A, ACCOUNT_A), ("brand_new_key", "acct_new")])
        .await;
    let response = app.delete_integration("int_1", Some("brand_new_key")).await;

    assert_eq!(response.status, 200, "{}", response.body);
}

#[tokio::test]
async fn a_key_removed_from_the_secret_stops_working_after_the_cache_ttl() {
    let app = TestApp::spawn_with(|c| c.api_keys_cache_ttl = Duration::from_secs(1)).await;
    assert_eq!(
        app.delete_integration("int_none", Some(KEY_A)).await.status,
        404
    );

    app.set_keys(&[("another_key", ACCOUNT_A)]).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let response = app.delete_integration("int_none", Some(KEY_A)).await;

    assert_eq!(response.status, 401, "{}", response.body);
    assert_eq!(response.body["error"]["code"], "invalid_api_key");
}

#[tokio::test]
async fn a_removed_key_keeps_working_only_within_the_cache_ttl() {
    let app = TestApp::spawn_with(|c| c.api_keys_cache_ttl = Duration::from_secs(300)).await;
    assert_eq!(
        app.delete_integration("int_none", Some(KEY_A)).await.status,
        404
    );
    app.set_keys(&[("another_key", ACCOUNT_A)]).await;
    // Within the TTL the cached secret is trusted: no Secrets Manager call per request.
    assert_eq!(
        app.delete_integration("int_none", Some(KEY_A)).await.status,
        404
    );
}
