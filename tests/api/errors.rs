//! Every row of the error table, and the order in which the checks apply.

use aws_sdk_dynamodb::config::retry::RetryConfig;
use disconnect_integration::App;
use disconnect_integration::api_keys::ApiKeyVerifier;
use disconnect_integration::store::IntegrationStore;
use lambda_http::http::Method;

use crate::helpers::{ACCOUNT_A, KEY_A, KEY_B, TestApp, TestResponse};

fn assert_error(response: &TestResponse, status: u16, code: &str, case: &str) {
    assert_eq!(response.status, status, "{case}: {}", response.body);
    assert_eq!(response.body["success"], false, "{case}");
    assert_eq!(response.body["error"]["code"], code, "{case}");
    let request_id = response.body["error"]["requestId"].as_str().unwrap_or("");
    assert_eq!(
        request_id.len(),
        36,
        "{case}: the Lambda request id is echoed"
    );
    assert!(
        response.body["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{case}"
    );
    assert_eq!(
        response.headers["content-type"], "application/json",
        "{case}"
    );
}

#[tokio::test]
async fn malformed_integration_ids_return_400() {
    let app = TestApp::spawn().await;
    let too_long = "a".repeat(129);
    let cases = [
        ("empty", ""),
        ("129 bytes", too_long.as_str()),
        ("bang", "bad!id"),
        ("encoded bang", "bad%21id"),
        ("dot", "int.yt"),
        ("encoded space", "int%20yt"),
        ("encoded slash", "int%2Fyt"),
        ("non-ascii", "int%C3%A9"),
        ("invalid utf-8", "int%FF"),
        ("stray percent", "int%"),
        ("quote", "int'yt"),
    ];
    for (case, id) in cases {
        let response = app.delete_integration(id, Some(KEY_A)).await;
        assert_error(&response, 400, "invalid_integration_id", case);
    }
}

#[tokio::test]
async fn the_longest_valid_id_is_checked_not_rejected() {
    let app = TestApp::spawn().await;
    let response = app.delete_integration(&"a".repeat(128), Some(KEY_A)).await;
    assert_error(&response, 404, "integration_not_found", "128 bytes");
}

#[tokio::test]
async fn missing_or_empty_api_keys_return_401_missing_api_key() {
    let app = TestApp::spawn().await;
    let cases: [(&str, &[(&str, &str)]); 3] = [
        ("no header", &[]),
        ("empty header", &[("x-api-key", "")]),
        ("blank header", &[("x-api-key", "  ")]),
    ];
    for (case, headers) in cases {
        let response = app
            .request(Method::DELETE, "/v1/integration/int_1", headers)
            .await;
        assert_error(&response, 401, "missing_api_key", case);
    }
}

#[tokio::test]
async fn unknown_or_repeated_api_keys_return_401_invalid_api_key() {
    let app = TestApp::spawn().await;
    let cases: [(&str, &[(&str, &str)]); 4] = [
        ("unknown key", &[("x-api-key", "not-a-key")]),
        (
            "key of another case",
            &[("x-api-key", "TEST_KEY_ACCOUNT_A")],
        ),
        (
            "same key twice",
            &[("x-api-key", KEY_A), ("x-api-key", KEY_A)],
        ),
        ("two keys", &[("x-api-key", KEY_A), ("X-Api-Key", KEY_B)]),
    ];
    for (case, headers) in cases {
        let response = app
            .request(Method::DELETE, "/v1/integration/int_1", headers)
            .await;
        assert_error(&response, 401, "invalid_api_key", case);
        assert!(
            !response.body.to_string().contains("not-a-key"),
            "{case}: key echoed"
        );
    }
}

#[tokio::test]
async fn header_names_are_case_insensitive() {
    let app = TestApp::spawn().await;
    app.seed_integration("int_case", ACCOUNT_A, "youtube", 1)
        .await;
    let response = app
        .request(
            Method::DELETE,
            "/v1/integration/int_case",
            &[("X-API-KEY", KEY_A)],
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.body);
}

#[tokio::test]
async fn an_unknown_integration_returns_404() {
    let app = TestApp::spawn().await;
    let response = app
        .delete_integration("int_never_existed", Some(KEY_A))
        .await;
    assert_error(&response, 404, "integration_not_found", "unknown id");
    assert_eq!(response.body["message"], "Integration not found");
}

#[tokio::test]
async fn other_paths_return_404_route_not_found() {
    let app = TestApp::spawn().await;
    for path in [
        "/",
        "/v1/integration",
        "/v1/integrations/int_1",
        "/v2/integration/int_1",
        "/v1/integration/int_1/tokens",
        "/a/b/v1/integration/int_1",
        "/v1/schedule/list",
    ] {
        for method in [Method::DELETE, Method::GET] {
            let response = app
                .request(method.clone(), path, &[("x-api-key", KEY_A)])
                .await;
            assert_error(
                &response,
                404,
                "route_not_found",
                &format!("{method} {path}"),
            );
        }
    }
}

#[tokio::test]
async fn other_methods_return_405_with_allow_delete() {
    let app = TestApp::spawn().await;
    app.seed_integration("int_1", ACCOUNT_A, "youtube", 1).await;
    for method in ["GET", "POST", "PUT", "PATCH", "HEAD", "OPTIONS"] {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let response = app
            .request(
                method.clone(),
                "/v1/integration/int_1",
                &[("x-api-key", KEY_A)],
            )
            .await;
        assert_error(&response, 405, "method_not_allowed", method.as_str());
        assert_eq!(response.headers["allow"], "DELETE", "{method}");
    }
    assert!(app.get("INTEGRATION#int_1", "INTEGRATION").await.is_some());
}

#[tokio::test]
async fn checks_apply_in_order_route_method_key_id() {
    let app = TestApp::spawn().await;
    type Case<'a> = (
        &'a str,
        Method,
        &'a str,
        &'a [(&'a str, &'a str)],
        u16,
        &'a str,
    );
    let cases: [Case; 5] = [
        (
            "unknown route beats method and key",
            Method::GET,
            "/v2/x",
            &[],
            404,
            "route_not_found",
        ),
        (
            "method beats key",
            Method::GET,
            "/v1/integration/bad!id",
            &[],
            405,
            "method_not_allowed",
        ),
        (
            "missing key beats bad id",
            Method::DELETE,
            "/v1/integration/bad!id",
            &[],
            401,
            "missing_api_key",
        ),
        (
            "invalid key beats bad id",
            Method::DELETE,
            "/v1/integration/bad!id",
            &[("x-api-key", "nope")],
            401,
            "invalid_api_key",
        ),
        (
            "bad id with a good key",
            Method::DELETE,
            "/v1/integration/bad!id",
            &[("x-api-key", KEY_A)],
            400,
            "invalid_integration_id",
        ),
    ];
    for (case, method, path, headers, status, code) in cases {
        let response = app.request(method, path, headers).await;
        assert_error(&response, status, code, case);
    }
}

/// An app whose DynamoDB or Secrets Manager endpoint has nothing listening.
async fn app_with_dead(dependency: &str) -> (TestApp, App) {
    let fixture = TestApp::spawn().await;
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
        // the listener closes here, so connections are refused
    };
    let ddb_config = aws_sdk_dynamodb::config::Builder::from(&fixture.sdk)
        .retry_config(RetryConfig::standard().with_max_attempts(2));
    let ddb_config = if dependency == "dynamodb" {
        ddb_config.endpoint_url(&dead)
    } else {
        ddb_config
    };
    let sm_config = aws_sdk_secretsmanager::config::Builder::from(&fixture.sdk)
        .retry_config(RetryConfig::standard().with_max_attempts(2));
    let sm_config = if dependency == "secretsmanager" {
        sm_config.endpoint_url(&dead)
    } else {
        sm_config
    };
    let app = App::new(
        ApiKeyVerifier::new(
            aws_sdk_secretsmanager::Client::from_conf(sm_config.build()),
            fixture.secret_id.clone(),
            std::time::Duration::from_secs(300),
        ),
        IntegrationStore::new(
            aws_sdk_dynamodb::Client::from_conf(ddb_config.build()),
            fixture.table.clone(),
            std::time::Duration::from_secs(86_400),
        ),
    );
    (fixture, app)
}

#[tokio::test]
async fn an_unreachable_dependency_returns_503_with_retry_after() {
    for dependency in ["dynamodb", "secretsmanager"] {
        let (fixture, app) = app_with_dead(dependency).await;
        let fixture = TestApp { app, ..fixture };
        let response = fixture.delete_integration("int_1", Some(KEY_A)).await;
        assert_error(&response, 503, "service_unavailable", dependency);
        assert_eq!(response.headers["retry-after"], "1", "{dependency}");
        assert!(
            !response.body.to_string().contains("127.0.0.1"),
            "{dependency}: detail leaked"
        );
    }
}

#[tokio::test]
async fn a_missing_table_returns_500_without_details() {
    let app = TestApp::spawn_with(|c| c.table_name = "no-such-table".into()).await;
    let response = app.delete_integration("int_1", Some(KEY_A)).await;
    assert_error(&response, 500, "internal_error", "missing table");
    assert_eq!(response.body["message"], "Internal server error");
    assert!(!response.body.to_string().contains("no-such-table"));
}

#[tokio::test]
async fn a_malformed_secret_returns_500_without_key_material() {
    for (case, secret) in [
        ("not json", "sk_live_plaintext_key".to_owned()),
        ("no keys", r#"{"apiKeys": []}"#.to_owned()),
        (
            "plaintext instead of hash",
            r#"{"keys": [{"sha256": "sk_live_plaintext_key", "accountId": "acct_a"}]}"#.to_owned(),
        ),
    ] {
        let fixture = TestApp::spawn().await;
        fixture.set_secret_string(&secret).await;
        let response = fixture.delete_integration("int_1", Some(KEY_A)).await;
        assert_error(&response, 500, "internal_error", case);
        assert!(!response.body.to_string().contains("sk_live"), "{case}");
    }
}
