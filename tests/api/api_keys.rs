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

    app.secret
        .set_keys(&[(KEY_A, ACCOUNT_A), ("brand_new_key", "acct_new")])
        .await;
    let response = app.delete_integration("int_1", Some("brand_new_key")).await;

    assert_eq!(response.status, 200, "{}", response.raw_body);
}

#[tokio::test]
async fn a_removed_key_works_within_the_cache_ttl_and_stops_after_it() {
    let app = TestApp::spawn_with(|c| c.api_keys_cache_ttl = Duration::from_secs(300)).await;
    assert_eq!(
        app.delete_integration("int_none", Some(KEY_A)).await.status,
        404
    );
    app.secret.set_keys(&[("another_key", ACCOUNT_A)]).await;

    // Within the TTL the cached secret is trusted: no Secrets Manager call per request.
    app.clock.advance(Duration::from_secs(299));
    assert_eq!(
        app.delete_integration("int_none", Some(KEY_A)).await.status,
        404
    );

    app.clock.advance(Duration::from_secs(1));
    let response = app.delete_integration("int_none", Some(KEY_A)).await;
    assert_eq!(response.status, 401, "{}", response.raw_body);
    assert_eq!(response.body["error"]["code"], "invalid_api_key");
}
