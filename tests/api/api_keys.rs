//! API keys against a real Secrets Manager endpoint: rotation in both directions.

use std::time::Duration;

use crate::helpers::{ACCOUNT_A, KEY_A, KEY_B, TestApp};

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

fn entry(key: &str, account: &str) -> serde_json::Value {
    serde_json::json!({"sha256": test_support::local::hash_key(key), "accountId": account, "name": "t"})
}

#[tokio::test]
async fn a_disabled_key_gets_401_invalid_api_key() {
    let app = TestApp::spawn().await;
    app.seed_integration("int_1", ACCOUNT_A, "youtube", 1).await;
    let mut disabled = entry(KEY_A, ACCOUNT_A);
    disabled["disabled"] = true.into();
    app.secret
        .set_string(&serde_json::json!({"keys": [disabled]}).to_string())
        .await;

    let response = app.delete_integration("int_1", Some(KEY_A)).await;

    assert_eq!(response.status, 401, "{}", response.raw_body);
    assert_eq!(response.body["error"]["code"], "invalid_api_key");
    assert!(
        app.table
            .get("INTEGRATION#int_1", "INTEGRATION")
            .await
            .is_some()
    );
}

#[tokio::test]
async fn a_key_whose_scopes_exclude_delete_gets_403_and_one_that_includes_it_works() {
    let app = TestApp::spawn().await;
    app.seed_integration("int_1", ACCOUNT_A, "youtube", 1).await;
    let mut read_only = entry("read_only_key_0123456789", ACCOUNT_A);
    read_only["scopes"] = serde_json::json!(["integrations:read"]);
    let mut deleter = entry(KEY_A, ACCOUNT_A);
    deleter["scopes"] = serde_json::json!(["integrations:read", "integrations:delete"]);
    app.secret
        .set_string(&serde_json::json!({"keys": [read_only, deleter]}).to_string())
        .await;

    let refused = app
        .delete_integration("int_1", Some("read_only_key_0123456789"))
        .await;
    assert_eq!(refused.status, 403, "{}", refused.raw_body);
    assert_eq!(
        refused.raw_body,
        format!(
            r#"{{"success":false,"message":"The API key may not disconnect integrations","error":{{"code":"insufficient_scope","requestId":"{}"}}}}"#,
            refused.body["error"]["requestId"].as_str().unwrap()
        )
    );
    assert!(
        app.table
            .get("INTEGRATION#int_1", "INTEGRATION")
            .await
            .is_some()
    );

    let allowed = app.delete_integration("int_1", Some(KEY_A)).await;
    assert_eq!(allowed.status, 200, "{}", allowed.raw_body);
}

#[tokio::test]
async fn one_malformed_entry_does_not_take_the_other_keys_down() {
    let app = TestApp::spawn().await;
    app.seed_integration("int_1", ACCOUNT_A, "youtube", 1).await;
    let mut upper = entry(KEY_B, "acct_b");
    upper["sha256"] = upper["sha256"].as_str().unwrap().to_uppercase().into();
    app.secret
        .set_string(
            &serde_json::json!({"keys": [upper, "not an entry", entry(KEY_A, ACCOUNT_A)]})
                .to_string(),
        )
        .await;

    assert_eq!(
        app.delete_integration("int_1", Some(KEY_A)).await.status,
        200
    );
    let skipped = app.delete_integration("int_1", Some(KEY_B)).await;
    assert_eq!(skipped.status, 401, "{}", skipped.raw_body);
}

#[tokio::test]
async fn a_key_listed_for_two_accounts_is_refused_for_both() {
    let app = TestApp::spawn().await;
    app.seed_integration("int_a", ACCOUNT_A, "youtube", 1).await;
    app.seed_integration("int_b", "acct_b", "youtube", 1).await;
    app.secret
        .set_string(
            &serde_json::json!({"keys": [
                entry("shared_key_0123456789", ACCOUNT_A),
                entry("shared_key_0123456789", "acct_b"),
                entry(KEY_A, ACCOUNT_A),
            ]})
            .to_string(),
        )
        .await;

    for id in ["int_a", "int_b"] {
        let response = app
            .delete_integration(id, Some("shared_key_0123456789"))
            .await;
        assert_eq!(response.status, 401, "{id}: {}", response.raw_body);
    }
    assert_eq!(
        app.delete_integration("int_a", Some(KEY_A)).await.status,
        200
    );
    assert_eq!(app.table.partition("int_b").await.len(), 2, "untouched");
}

/// While armed, sends every Secrets Manager call to a port where nothing listens.
#[derive(Debug, Clone, Default)]
struct SecretsManagerDown(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl aws_smithy_runtime_api::client::interceptors::Intercept for SecretsManagerDown {
    fn name(&self) -> &'static str {
        "SecretsManagerDown"
    }

    fn modify_before_transmit(
        &self,
        context: &mut aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut<'_>,
        _components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        _cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let request = context.request_mut();
        let secrets_manager = request
            .headers()
            .get("x-amz-target")
            .is_some_and(|t| t.starts_with("secretsmanager."));
        if secrets_manager && self.0.load(std::sync::atomic::Ordering::SeqCst) {
            request.set_uri("http://127.0.0.1:1/")?;
        }
        Ok(())
    }
}

#[tokio::test]
async fn the_last_good_keys_serve_while_secrets_manager_is_down_up_to_the_max_staleness() {
    let down = SecretsManagerDown::default();
    let app = TestApp::spawn_with(|c| {
        c.api_keys_cache_ttl = Duration::from_secs(60);
        c.api_keys_max_stale = Duration::from_secs(900);
    })
    .await
    .with_interceptor(down.clone());
    app.seed_integration("int_1", ACCOUNT_A, "youtube", 1).await;
    assert_eq!(
        app.delete_integration("int_none", Some(KEY_A)).await.status,
        404
    );

    down.0.store(true, std::sync::atomic::Ordering::SeqCst);
    app.clock.advance(Duration::from_secs(60 + 600));
    let response = app.delete_integration("int_1", Some(KEY_A)).await;
    assert_eq!(
        response.status, 200,
        "stale keys serve: {}",
        response.raw_body
    );

    app.clock.advance(Duration::from_secs(300));
    let response = app.delete_integration("int_none", Some(KEY_A)).await;
    assert_eq!(
        response.status, 503,
        "past the max staleness: {}",
        response.raw_body
    );
    assert_eq!(response.headers["retry-after"], "1");

    // What the operators see: the stale serving and the failed reads, then a server error.
    let docs = app.metric_documents();
    let [fresh, stale, too_old] = &docs[..] else {
        panic!("one document per request: {docs:#?}")
    };
    assert!(fresh.get("StaleKeysServed").is_none(), "{fresh}");
    assert_eq!(stale["StaleKeysServed"], 1.0, "{stale}");
    assert_eq!(stale["KeyCacheRefreshFailures"], 1.0, "{stale}");
    assert_eq!(stale["Disconnects"], 1.0, "{stale}");
    assert!(too_old.get("StaleKeysServed").is_none(), "{too_old}");
    assert_eq!(too_old["KeyCacheRefreshFailures"], 1.0, "{too_old}");
    assert_eq!(too_old["ServerErrors"], 1.0, "{too_old}");
    assert_eq!(too_old["Code"], "service_unavailable");
}
