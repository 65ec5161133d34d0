//! What clients read: the raw bytes of every body, member order included, and the headers.

use integrations_table::attributes::DISCONNECTED_AT;
use serde_json::json;

use crate::binary::{ACCOUNT, Answer, DEAD_ENDPOINT, KEY, Stage, http_api};

fn envelope(status: u16, code: &str, message: &str, answer: &Answer) {
    assert_eq!(answer.status, status, "{code}: {}", answer.body);
    assert_eq!(
        answer.body,
        format!(
            r#"{{"success":false,"message":"{message}","error":{{"code":"{code}","requestId":"{}"}}}}"#,
            answer.request_id
        ),
        "{code}: the documented envelope, byte for byte"
    );
    assert_eq!(answer.headers["content-type"], "application/json", "{code}");
    assert_eq!(answer.headers["cache-control"], "no-store", "{code}");
    assert_eq!(
        answer.headers["x-request-id"], answer.request_id,
        "{code}: the Lambda request id, as in the body"
    );
}

#[tokio::test]
async fn the_200_body_is_the_documented_one_byte_for_byte() {
    let stage = Stage::new().await;
    stage
        .table
        .seed_integration("int_yt_abc123", ACCOUNT, "youtube", 3)
        .await;
    let function = stage.start_on_stand_in(&[]);

    let answer = function.invoke(&http_api(
        "DELETE",
        "/v1/integration/int_yt_abc123",
        &[("x-api-key", KEY)],
    ));

    let marker = stage
        .table
        .get("INTEGRATION#int_yt_abc123", "DISCONNECTED")
        .await
        .expect("a marker");
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        answer.body,
        format!(
            r#"{{"success":true,"message":"Integration disconnected successfully","data":{{"id":"int_yt_abc123","type":"youtube","deleted":true,"disconnectedAt":"{}"}}}}"#,
            marker[DISCONNECTED_AT].as_str().unwrap()
        )
    );
    assert_eq!(answer.headers["content-type"], "application/json");
    assert_eq!(answer.headers["x-request-id"], answer.request_id);
    assert_eq!(
        stage.table.sort_keys("int_yt_abc123").await,
        ["DISCONNECTED"]
    );

    let repeat = function.invoke(&http_api(
        "DELETE",
        "/v1/integration/int_yt_abc123",
        &[("x-api-key", KEY)],
    ));
    assert_eq!(
        (repeat.status, &repeat.body),
        (200, &answer.body),
        "a repeat gets the same bytes"
    );
}

#[tokio::test]
async fn every_client_error_body_is_the_documented_envelope_byte_for_byte() {
    let stage = Stage::new().await;
    let function = stage.start_on_stand_in(&[]);
    let rest_with_two_keys = json!({
        "resource": "/v1/integration/{integrationId}", "path": "/v1/integration/int_1", "httpMethod": "DELETE",
        "headers": {"x-api-key": KEY}, "multiValueHeaders": {"x-api-key": [KEY, KEY]},
        "pathParameters": {"integrationId": "int_1"}, "requestContext": {"stage": "prod"},
    })
    .to_string();
    let alb_with_two_keys = json!({
        "httpMethod": "DELETE", "path": "/v1/integration/int_1",
        "multiValueHeaders": {"x-api-key": [KEY, "another"]},
        "requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/t/0"}},
    })
    .to_string();
    let cases = [
        (
            http_api("DELETE", "/v2/integration/int_1", &[("x-api-key", KEY)]),
            404,
            "route_not_found",
            "Route not found",
        ),
        (
            http_api("GET", "/v1/integration/int_1", &[("x-api-key", KEY)]),
            405,
            "method_not_allowed",
            "Method not allowed",
        ),
        (
            http_api("DELETE", "/v1/integration/int_1", &[]),
            401,
            "missing_api_key",
            "Missing API key",
        ),
        (
            http_api(
                "DELETE",
                "/v1/integration/int_1",
                &[("x-api-key", "unknown-key")],
            ),
            401,
            "invalid_api_key",
            "Invalid API key",
        ),
        (
            rest_with_two_keys,
            401,
            "invalid_api_key",
            "Invalid API key",
        ),
        (alb_with_two_keys, 401, "invalid_api_key", "Invalid API key"),
        (
            http_api("DELETE", "/v1/integration/bad!id", &[("x-api-key", KEY)]),
            400,
            "invalid_integration_id",
            "Invalid integration id: expected 1 to 128 characters of A-Z, a-z, 0-9, _ or -",
        ),
        (
            http_api(
                "DELETE",
                "/v1/integration/int_unknown",
                &[("x-api-key", KEY)],
            ),
            404,
            "integration_not_found",
            "Integration not found",
        ),
    ];
    for (event, status, code, message) in cases {
        let answer = function.invoke(&event);
        envelope(status, code, message, &answer);
        if code == "method_not_allowed" {
            assert_eq!(answer.headers["allow"], "DELETE");
        }
    }
}

#[tokio::test]
async fn a_dead_dependency_answers_503_with_retry_after_and_a_missing_table_500() {
    let stage = Stage::new().await;
    let event = http_api("DELETE", "/v1/integration/int_1", &[("x-api-key", KEY)]);

    for endpoint in [
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    ] {
        let answer = stage
            .start_on_stand_in(&[(endpoint, DEAD_ENDPOINT)])
            .invoke(&event);
        envelope(
            503,
            "service_unavailable",
            "Service temporarily unavailable, please retry",
            &answer,
        );
        assert_eq!(answer.headers["retry-after"], "1", "{endpoint}");
    }

    let answer = stage
        .start_on_stand_in(&[("TABLE_NAME", "no-such-table")])
        .invoke(&event);
    envelope(500, "internal_error", "Internal server error", &answer);
}

#[tokio::test]
async fn a_panic_in_the_handler_answers_the_500_envelope_not_a_runtime_error() {
    let stage = Stage::new().await;
    let function = stage.start_on_stand_in(&[("PANIC_PROBE_INTEGRATION_ID", "int_probe")]);

    let answer = function.invoke(&http_api(
        "DELETE",
        "/v1/integration/int_probe",
        &[("x-api-key", KEY)],
    ));

    envelope(500, "internal_error", "Internal server error", &answer);
    // The process lives on and serves the next request.
    let next = function.invoke(&http_api(
        "DELETE",
        "/v1/integration/int_other",
        &[("x-api-key", KEY)],
    ));
    envelope(404, "integration_not_found", "Integration not found", &next);
}

/// Host values that make lambda_http 1.3.2 panic while converting an ALB event (it builds a
/// URI from them). The function does not read `Host`; each request is served as usual.
#[tokio::test]
async fn alb_host_values_that_break_uri_parsing_are_served_as_usual() {
    let stage = Stage::new().await;
    let function = stage.start(&[]);
    for (i, host) in ["%", "[::1", "a@b:c", "api.example.test:99999"]
        .into_iter()
        .enumerate()
    {
        let id = format!("int_host_{i}");
        stage
            .table
            .seed_integration(&id, ACCOUNT, "tiktok", 1)
            .await;
        for multi_value in [false, true] {
            let mut event = json!({
                "httpMethod": "DELETE", "path": format!("/v1/integration/{id}"),
                "queryStringParameters": {}, "body": "", "isBase64Encoded": false,
                "requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/t/0"}},
            });
            if multi_value {
                event["multiValueHeaders"] = json!({"host": [host], "x-api-key": [KEY]});
            } else {
                event["headers"] = json!({"host": host, "x-api-key": KEY});
            }
            let answer = function.invoke(&event.to_string());
            assert_eq!(answer.status, 200, "Host {host:?}: {}", answer.body);
            assert_eq!(answer.lambda["statusDescription"], "200 OK", "{host:?}");
        }
    }
}

/// A listener that accepts connections and never answers: a hanging dependency.
/// A TCP endpoint that accepts connections (the kernel's backlog) and never answers.
pub fn black_hole() -> (std::net::TcpListener, String) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}

#[tokio::test]
async fn a_hanging_secrets_manager_bounds_init_and_the_first_request_answers_503_by_the_deadline() {
    let stage = Stage::new().await;
    let (_listener, url) = black_hole();
    let function = stage.start_on_stand_in(&[
        ("AWS_ENDPOINT_URL_SECRETS_MANAGER", &url),
        ("REQUEST_DEADLINE_MS", "1500"),
    ]);
    let event = http_api("DELETE", "/v1/integration/int_1", &[("x-api-key", KEY)]);

    let asked = std::time::Instant::now();
    let answer = function.invoke(&event);
    let took = asked.elapsed();

    let init = function.0.api().first_poll().expect("the function polled") - function.0.started;
    // The window is the point: init gives up on the secret after its 2 s budget (the margin is
    // for starting a process on a loaded 2-core machine).
    assert!(
        init < std::time::Duration::from_millis(2_800),
        "init waited {init:?} for the secret"
    );
    envelope(
        503,
        "service_unavailable",
        "Service temporarily unavailable, please retry",
        &answer,
    );
    assert_eq!(answer.headers["retry-after"], "1");
    // An answer before the deadline (counted from when the process could first take it), with
    // a margin for a loaded machine.
    assert!(
        took < std::time::Duration::from_millis(1_500 + 2_800 + 1_000),
        "answered after {took:?}"
    );
}

#[tokio::test]
async fn a_hanging_dynamodb_answers_503_by_the_deadline() {
    let stage = Stage::new().await;
    let (_listener, url) = black_hole();
    let function = stage.start_on_stand_in(&[
        ("AWS_ENDPOINT_URL_DYNAMODB", &url),
        ("REQUEST_DEADLINE_MS", "1000"),
    ]);
    // Init reads the keys (Secrets Manager answers) and gives up on priming DynamoDB after its
    // 2 s budget; then the request meets the hang.
    function.0.wait_ready();
    let init = function.0.api().first_poll().unwrap() - function.0.started;
    // The window is the point: init's 2 s budget bounds the priming Query.
    assert!(
        init < std::time::Duration::from_millis(2_800),
        "init waited {init:?} for DynamoDB"
    );
    let started = std::time::Instant::now();
    let answer = function.invoke(&http_api(
        "DELETE",
        "/v1/integration/int_1",
        &[("x-api-key", KEY)],
    ));
    let took = started.elapsed();
    envelope(
        503,
        "service_unavailable",
        "Service temporarily unavailable, please retry",
        &answer,
    );
    // The window is the point: the request waits for the hang until its deadline (not less:
    // no early give-up), then answers (with a margin for a loaded 2-core machine).
    assert!(
        took >= std::time::Duration::from_millis(900)
            && took < std::time::Duration::from_millis(2_000),
        "answered after {took:?}, the deadline is 1 s"
    );
}

/// Init reads the secret and opens the DynamoDB connection, so the first request opens none.
#[tokio::test]
async fn init_opens_both_connections_so_the_first_request_opens_none() {
    let stage = Stage::new().await;
    stage
        .table
        .seed_integration("int_first", ACCOUNT, "youtube", 1)
        .await;
    let dynamodb = test_support::fault_proxy::FaultProxy::start(
        &std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap(),
    );
    let secrets = test_support::fault_proxy::FaultProxy::start(
        &std::env::var("AWS_ENDPOINT_URL_SECRETS_MANAGER").unwrap(),
    );
    let function = stage.start_on_stand_in(&[
        ("AWS_ENDPOINT_URL_DYNAMODB", &dynamodb.url()),
        ("AWS_ENDPOINT_URL_SECRETS_MANAGER", &secrets.url()),
    ]);
    function.0.wait_ready();
    assert_eq!(
        secrets.calls("GetSecretValue"),
        1,
        "the secret is read at init"
    );
    assert_eq!(dynamodb.calls("Query"), 1, "DynamoDB is primed at init");
    assert_eq!(dynamodb.connections(), 1);

    let answer = function.invoke(&http_api(
        "DELETE",
        "/v1/integration/int_first",
        &[("x-api-key", KEY)],
    ));

    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        dynamodb.connections(),
        1,
        "the first request reused the primed connection"
    );
    assert_eq!(secrets.calls("GetSecretValue"), 1);
}
