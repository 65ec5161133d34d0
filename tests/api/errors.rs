//! Every row of the error table, at every front door, and the order in which checks apply.

use crate::helpers::{ACCOUNT_A, Door, KEY_A, KEY_B, TestApp, TestResponse};

fn assert_error(response: &TestResponse, status: u16, code: &str, case: &str) {
    assert_eq!(response.status, status, "{case}: {}", response.raw_body);
    let request_id = response.body["error"]["requestId"].as_str().unwrap_or("");
    assert_eq!(
        request_id.len(),
        36,
        "{case}: the Lambda request id is echoed"
    );
    let message = response.body["message"].as_str().unwrap_or("");
    assert_eq!(
        response.raw_body,
        format!(
            r#"{{"success":false,"message":"{message}","error":{{"code":"{code}","requestId":"{request_id}"}}}}"#
        ),
        "{case}: the envelope, in its documented order"
    );
    assert!(!message.is_empty(), "{case}");
    assert_eq!(
        response.headers["content-type"], "application/json",
        "{case}"
    );
    assert_eq!(response.headers["cache-control"], "no-store", "{case}");
}

#[tokio::test]
async fn malformed_integration_ids_return_400_at_every_front_door() {
    let app = TestApp::spawn().await;
    let too_long = "a".repeat(129);
    let cases = [
        ("empty", ""),
        ("129 bytes", too_long.as_str()),
        ("encoded bang", "bad%21id"),
        ("dot", "int.yt"),
        ("encoded space", "int%20yt"),
        ("non-ascii", "int%C3%A9"),
        ("invalid utf-8", "int%FF"),
        ("stray percent", "int%"),
        ("quote", "int'yt"),
        ("double-encoded letter", "%2561"),
    ];
    for door in Door::ALL {
        for (case, id) in cases {
            let response = app
                .request_via(
                    door,
                    "DELETE",
                    &format!("/v1/integration/{id}"),
                    &[("x-api-key", KEY_A)],
                )
                .await;
            assert_error(
                &response,
                400,
                "invalid_integration_id",
                &format!("{door:?}, {case}"),
            );
        }
    }
}

#[tokio::test]
async fn an_encoded_id_is_decoded_once_at_every_front_door() {
    let app = TestApp::spawn().await;
    app.seed_integration("a", ACCOUNT_A, "youtube", 1).await;
    for door in Door::ALL {
        // `%61` is the id `a`: found, or 200 again as a repeat.
        let response = app
            .request_via(
                door,
                "DELETE",
                "/v1/integration/%61",
                &[("x-api-key", KEY_A)],
            )
            .await;
        assert_eq!(response.status, 200, "{door:?}: {}", response.raw_body);
        assert_eq!(response.body["data"]["id"], "a", "{door:?}");
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
    for door in Door::ALL {
        for (case, headers) in cases {
            let response = app
                .request_via(door, "DELETE", "/v1/integration/int_1", headers)
                .await;
            assert_error(
                &response,
                401,
                "missing_api_key",
                &format!("{door:?}, {case}"),
            );
        }
    }
}

#[tokio::test]
async fn unknown_or_repeated_api_keys_return_401_invalid_api_key_at_every_front_door() {
    let app = TestApp::spawn().await;
    app.seed_integration("int_1", ACCOUNT_A, "youtube", 1).await;
    let cases: [(&str, &[(&str, &str)]); 5] = [
        ("unknown key", &[("x-api-key", "not-a-key")]),
        (
            "key of another case",
            &[("x-api-key", "TEST_KEY_ACCOUNT_A")],
        ),
        (
            "same key twice",
            &[("x-api-key", KEY_A), ("x-api-key", KEY_A)],
        ),
        ("two keys", &[("x-api-key", KEY_B), ("x-api-key", KEY_A)]),
        (
            "two spellings of the name",
            &[("x-api-key", KEY_A), ("X-Api-Key", KEY_A)],
        ),
    ];
    for door in Door::ALL {
        for (case, headers) in cases {
            let response = app
                .request_via(door, "DELETE", "/v1/integration/int_1", headers)
                .await;
            let case = format!("{door:?}, {case}");
            assert_error(&response, 401, "invalid_api_key", &case);
            assert!(
                !response.raw_body.contains("not-a-key"),
                "{case}: key echoed"
            );
        }
    }
    assert!(
        app.table
            .get("INTEGRATION#int_1", "INTEGRATION")
            .await
            .is_some(),
        "nothing was deleted"
    );
}

#[tokio::test]
async fn header_names_are_case_insensitive() {
    let app = TestApp::spawn().await;
    app.seed_integration("int_case", ACCOUNT_A, "youtube", 1)
        .await;
    let response = app
        .request_via(
            Door::RestApi,
            "DELETE",
            "/v1/integration/int_case",
            &[("X-API-KEY", KEY_A)],
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.raw_body);
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
    for door in Door::ALL {
        for path in [
            "/",
            "/v1/integration",
            "/v1/integrations/int_1",
            "/v2/integration/int_1",
            "/v1/integration/int_1/tokens",
            "/a/b/v1/integration/int_1",
            "/v1/schedule/list",
        ] {
            for method in ["DELETE", "GET"] {
                let response = app
                    .request_via(door, method, path, &[("x-api-key", KEY_A)])
                    .await;
                assert_error(
                    &response,
                    404,
                    "route_not_found",
                    &format!("{door:?} {method} {path}"),
                );
            }
        }
    }
}

/// Methods are case-sensitive (RFC 9110 §9.1): `delete` is another method than `DELETE`.
#[tokio::test]
async fn other_methods_and_every_case_variant_of_delete_return_405_with_allow_delete() {
    let app = TestApp::spawn().await;
    app.seed_integration("int_1", ACCOUNT_A, "youtube", 1).await;
    for door in Door::ALL {
        for method in [
            "GET", "POST", "PUT", "PATCH", "HEAD", "OPTIONS", "delete", "Delete", "DELETe",
            "dELETE",
        ] {
            let response = app
                .request_via(
                    door,
                    method,
                    "/v1/integration/int_1",
                    &[("x-api-key", KEY_A)],
                )
                .await;
            assert_error(
                &response,
                405,
                "method_not_allowed",
                &format!("{door:?} {method}"),
            );
            assert_eq!(response.headers["allow"], "DELETE", "{door:?} {method}");
        }
    }
    assert!(
        app.table
            .get("INTEGRATION#int_1", "INTEGRATION")
            .await
            .is_some()
    );
}

#[tokio::test]
async fn checks_apply_in_order_route_method_key_id() {
    let app = TestApp::spawn().await;
    type Case<'a> = (
        &'a str,
        &'a str,
        &'a str,
        &'a [(&'a str, &'a str)],
        u16,
        &'a str,
    );
    let cases: [Case; 5] = [
        (
            "unknown route beats method and key",
            "GET",
            "/v2/x",
            &[],
            404,
            "route_not_found",
        ),
        (
            "method beats key",
            "GET",
            "/v1/integration/bad!id",
            &[],
            405,
            "method_not_allowed",
        ),
        (
            "missing key beats bad id",
            "DELETE",
            "/v1/integration/bad!id",
            &[],
            401,
            "missing_api_key",
        ),
        (
            "invalid key beats bad id",
            "DELETE",
            "/v1/integration/bad!id",
            &[("x-api-key", "nope")],
            401,
            "invalid_api_key",
        ),
        (
            "bad id with a good key",
            "DELETE",
            "/v1/integration/bad!id",
            &[("x-api-key", KEY_A)],
            400,
            "invalid_integration_id",
        ),
    ];
    for door in Door::ALL {
        for (case, method, path, headers, status, code) in cases {
            let response = app.request_via(door, method, path, headers).await;
            assert_error(&response, status, code, &format!("{door:?}: {case}"));
        }
    }
}

/// `app` rebuilt with one dependency (`"dynamodb"` or `"secretsmanager"`) at `url`.
fn with_dependency_at(app: TestApp, dependency: &str, url: &str) -> TestApp {
    let mut ddb = aws_sdk_dynamodb::config::Builder::from(&app.sdk);
    let mut sm = aws_sdk_secretsmanager::config::Builder::from(&app.sdk);
    if dependency == "dynamodb" {
        ddb = ddb.endpoint_url(url);
    } else {
        sm = sm.endpoint_url(url);
    }
    app.with_clients(
        aws_sdk_dynamodb::Client::from_conf(ddb.build()),
        aws_sdk_secretsmanager::Client::from_conf(sm.build()),
    )
}

/// An app whose DynamoDB or Secrets Manager endpoint has nothing listening.
async fn app_with_dead(dependency: &str) -> TestApp {
    // Port 1 is privileged: nothing listens there, and no test's server can take it.
    with_dependency_at(TestApp::spawn().await, dependency, "http://127.0.0.1:1")
}

#[tokio::test]
async fn an_unreachable_dependency_returns_503_with_retry_after() {
    for dependency in ["dynamodb", "secretsmanager"] {
        let app = app_with_dead(dependency).await;
        let response = app.delete_integration("int_1", Some(KEY_A)).await;
        assert_error(&response, 503, "service_unavailable", dependency);
        assert_eq!(response.headers["retry-after"], "1", "{dependency}");
        assert!(
            !response.raw_body.contains("127.0.0.1"),
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
    assert!(!response.raw_body.contains("no-such-table"));
}

#[tokio::test]
async fn a_secret_that_is_not_an_object_with_keys_returns_500_without_key_material() {
    for (case, secret) in [
        ("not json", "sk_live_plaintext_key".to_owned()),
        ("no keys", r#"{"apiKeys": []}"#.to_owned()),
        (
            "keys not an array",
            r#"{"keys": "sk_live_plaintext_key"}"#.to_owned(),
        ),
    ] {
        let app = TestApp::spawn().await;
        app.secret.set_string(&secret).await;
        let response = app.delete_integration("int_1", Some(KEY_A)).await;
        assert_error(&response, 500, "internal_error", case);
        assert!(!response.raw_body.contains("sk_live"), "{case}");
    }
}

#[tokio::test]
async fn an_event_no_front_door_sends_is_a_500_envelope_not_a_crash() {
    let app = TestApp::spawn().await;
    for event in ["{}", r#"{"version": "2.0"}"#, "[]"] {
        let response = app.send(event).await;
        assert_error(&response, 500, "internal_error", event);
    }
}

#[tokio::test]
async fn the_panic_probe_panics_inside_the_guard_and_answers_the_500_envelope() {
    let app = TestApp::spawn_with(|c| {
        c.panic_probe = Some(integrations_table::IntegrationId::parse("int_probe").unwrap())
    })
    .await;
    let response = app.delete_integration("int_probe", Some(KEY_A)).await;
    assert_error(&response, 500, "internal_error", "panic probe");
    // Only an authenticated caller reaches it.
    let response = app.delete_integration("int_probe", Some("nope")).await;
    assert_error(&response, 401, "invalid_api_key", "probe without a key");
}

/// A listener that accepts connections and never answers: a hanging dependency.
fn black_hole() -> (std::net::TcpListener, String) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}

#[tokio::test]
async fn a_hanging_dependency_answers_503_when_the_deadline_passes() {
    for dependency in ["dynamodb", "secretsmanager"] {
        let (_listener, url) = black_hole();
        let app =
            TestApp::spawn_with(|c| c.request_deadline = std::time::Duration::from_millis(400))
                .await;
        let app = with_dependency_at(app, dependency, &url);
        let started = std::time::Instant::now();

        let response = app.delete_integration("int_1", Some(KEY_A)).await;

        assert_error(&response, 503, "service_unavailable", dependency);
        assert_eq!(response.headers["retry-after"], "1", "{dependency}");
        let took = started.elapsed();
        // An answer by the 400 ms deadline, not the hang's; the margin is for a loaded machine.
        assert!(
            took < std::time::Duration::from_millis(400 + 1_000),
            "{dependency}: answered after {took:?}"
        );
    }
}

#[tokio::test]
async fn the_lambda_invocations_own_deadline_shortens_the_budget() {
    let app = TestApp::spawn().await;
    let mut context = lambda_runtime::Context::default();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    context.deadline = now_ms + 1_000;
    let budget = app.app.budget(&context);
    // Arithmetic, not a measurement: a second left less the 250 ms margin, less the few
    // microseconds since `now_ms`.
    assert!(
        budget <= std::time::Duration::from_millis(750)
            && budget > std::time::Duration::from_millis(500),
        "{budget:?}: a second left, less the margin to answer"
    );
    context.deadline = now_ms + 60_000;
    assert_eq!(
        app.app.budget(&context),
        std::time::Duration::from_secs(8),
        "the setting caps it"
    );
    context.deadline = now_ms.saturating_sub(5);
    assert_eq!(
        app.app.budget(&context),
        std::time::Duration::ZERO,
        "already late"
    );
    for not_an_epoch in [0, 600_000] {
        context.deadline = not_an_epoch;
        assert_eq!(
            app.app.budget(&context),
            std::time::Duration::from_secs(8),
            "{not_an_epoch}: no usable Lambda deadline (cargo lambda watch sends 600000)"
        );
    }
}
