//! What the binary writes to stdout: JSON lines with time, level, target and flat fields; one
//! audit line per disconnect; no key, key hash or token value at any level.

use std::time::Duration;

use serde_json::Value;

use crate::binary::{ACCOUNT, KEY, Stage, http_api, secrets};

pub fn assert_no_secrets(output: &str, case: &str) {
    // An empty output would hold no secret either: the check must see lines.
    let lines = output.lines().filter(|l| !l.trim().is_empty()).count();
    assert!(lines > 0, "{case}: no output to check for secrets");
    for secret in secrets() {
        assert!(
            !output.contains(&secret),
            "{case}: {secret} reached the output"
        );
    }
}

#[tokio::test]
async fn lines_are_flat_json_with_the_audit_line_and_the_rejections_selectable() {
    let stage = Stage::new().await;
    stage
        .table
        .seed_integration("int_audit", ACCOUNT, "youtube", 3)
        .await;
    let mut function = stage.start_on_stand_in(&[]);

    let ok = function.invoke(&http_api(
        "DELETE",
        "/v1/integration/int_audit",
        &[("x-api-key", KEY)],
    ));
    let rejected = function.invoke(&http_api(
        "DELETE",
        "/v1/integration/int_audit",
        &[("x-api-key", "wrong-key-value")],
    ));
    assert_eq!((ok.status, rejected.status), (200, 401));
    function.stop();

    let lines = function.log_lines();
    for line in &lines {
        for field in ["timestamp", "level", "target", "message"] {
            assert!(line.get(field).is_some(), "{field} missing: {line}");
        }
        assert!(
            line["timestamp"].as_str().unwrap().ends_with('Z'),
            "UTC: {line}"
        );
        for nested in ["fields", "span", "spans"] {
            assert!(line.get(nested).is_none(), "flat fields only: {line}");
        }
    }
    let audit: Vec<&Value> = lines.iter().filter(|l| l["target"] == "audit").collect();
    assert_eq!(audit.len(), 1, "{lines:#?}");
    let audit = audit[0];
    assert_eq!(audit["level"], "INFO");
    assert_eq!(audit["message"], "integration disconnected");
    assert_eq!(audit["requestId"], ok.request_id.as_str());
    assert_eq!(audit["accountId"], ACCOUNT);
    assert_eq!(audit["integrationId"], "int_audit");
    assert_eq!(audit["type"], "youtube");
    assert_eq!(audit["repeat"], false);
    assert!(audit["disconnectedAt"].as_str().is_some());

    let rejections: Vec<&Value> = lines.iter().filter(|l| l["target"] == "request").collect();
    assert_eq!(rejections.len(), 1, "{lines:#?}");
    assert_eq!(rejections[0]["code"], "invalid_api_key");
    assert_eq!(rejections[0]["requestId"], rejected.request_id.as_str());
    assert_eq!(rejections[0]["method"], "DELETE");

    assert_no_secrets(&function.all_output(), "info");
}

#[tokio::test]
async fn server_errors_log_their_cause_chain_and_panics_their_message() {
    let stage = Stage::new().await;
    let mut function = stage.start_on_stand_in(&[
        ("TABLE_NAME", "no-such-table"),
        ("PANIC_PROBE_INTEGRATION_ID", "int_probe"),
        // Errors only: the lines must still name their invocation.
        ("AWS_LAMBDA_LOG_LEVEL", "ERROR"),
    ]);

    let missing = function.invoke(&http_api(
        "DELETE",
        "/v1/integration/int_1",
        &[("x-api-key", KEY)],
    ));
    let panic = function.invoke(&http_api(
        "DELETE",
        "/v1/integration/int_probe",
        &[("x-api-key", KEY)],
    ));
    assert_eq!((missing.status, panic.status), (500, 500));
    function.stop();

    let lines = function.log_lines();
    let failed: Vec<&Value> = lines
        .iter()
        .filter(|l| l["target"] == "request" && l["level"] == "ERROR")
        .collect();
    assert_eq!(failed.len(), 2, "{lines:#?}");
    let chain = failed[0]["error"].as_str().unwrap();
    assert!(chain.contains("DynamoDB Query failed"), "{chain}");
    assert!(
        chain.contains("ResourceNotFoundException"),
        "the SDK's cause: {chain}"
    );
    assert_eq!(failed[0]["requestId"], missing.request_id.as_str());
    assert!(
        failed[1]["error"].as_str().unwrap().contains("panic probe"),
        "{}",
        failed[1]
    );
    let panicked: Vec<&Value> = lines.iter().filter(|l| l["target"] == "panic").collect();
    assert_eq!(panicked.len(), 1, "{lines:#?}");
    assert_eq!(failed[1]["requestId"], panic.request_id.as_str());
    assert!(
        panicked[0]["panic"]
            .as_str()
            .unwrap()
            .contains("panic probe")
    );
    assert!(
        panicked[0]["location"]
            .as_str()
            .unwrap()
            .starts_with("src/"),
        "{}",
        panicked[0]
    );
    assert_eq!(panicked[0]["requestId"], panic.request_id.as_str());
    assert_eq!(
        function.0.stderr(),
        Vec::<String>::new(),
        "nothing but JSON lines on stdout"
    );
}

/// At TRACE, lambda_runtime would print every raw event, `x-api-key` included, and the SDK
/// raw responses, key hashes included: dependencies are capped at DEBUG.
#[tokio::test]
async fn no_level_prints_a_key_a_key_hash_or_a_token() {
    for level in [("AWS_LAMBDA_LOG_LEVEL", "TRACE"), ("RUST_LOG", "trace")] {
        let stage = Stage::new().await;
        stage
            .table
            .seed_integration("int_trace", ACCOUNT, "youtube", 2)
            .await;
        let mut function = stage.start(&[level]);

        let answer = function.invoke(&http_api(
            "DELETE",
            "/v1/integration/int_trace",
            &[("x-api-key", KEY)],
        ));
        assert_eq!(answer.status, 200);
        function.stop();
        let lines = function.log_lines();
        assert!(
            lines.iter().any(|l| l["level"] == "DEBUG"),
            "{level:?}: debug lines are written: {lines:#?}"
        );

        assert_no_secrets(&function.all_output(), &format!("{level:?}"));
    }
}

#[tokio::test]
async fn a_missing_or_invalid_setting_fails_init_and_is_named() {
    let stage = Stage::new().await;
    let cases = [
        (
            "TABLE_NAME",
            "",
            "missing required environment variable TABLE_NAME",
        ),
        (
            "API_KEYS_SECRET_ID",
            " ",
            "missing required environment variable API_KEYS_SECRET_ID",
        ),
        (
            "MARKER_TTL_DAYS",
            "0",
            "MARKER_TTL_DAYS must be an integer from 1 to 3650",
        ),
    ];
    for (name, value, message) in cases {
        let mut function = stage.start(&[(name, value)]);
        let code = function.0.wait_exit(Duration::from_secs(10));
        assert!(
            matches!(code, Some(c) if c != 0),
            "{name}: exit code {code:?}"
        );
        let lines = function.log_lines();
        assert!(
            lines
                .iter()
                .any(|l| l["level"] == "ERROR" && l.to_string().contains(message)),
            "{name}: {lines:#?}"
        );
    }
}

#[tokio::test]
async fn a_disabled_key_and_the_entries_left_out_are_logged_without_key_material() {
    let stage = Stage::new().await;
    let entry = |key: &str| serde_json::json!({"sha256": test_support::local::hash_key(key), "accountId": ACCOUNT});
    let mut disabled = entry(KEY);
    disabled["disabled"] = true.into();
    let mut upper = entry(crate::binary::OTHER_KEY);
    upper["sha256"] = upper["sha256"].as_str().unwrap().to_uppercase().into();
    stage
        .secret
        .set_string(&serde_json::json!({"keys": [disabled, upper]}).to_string())
        .await;
    let mut function = stage.start(&[]);

    let answer = function.invoke(&http_api(
        "DELETE",
        "/v1/integration/int_1",
        &[("x-api-key", KEY)],
    ));
    assert_eq!(answer.status, 401);
    function.stop();

    let lines = function.log_lines();
    let rejected: Vec<&Value> = lines.iter().filter(|l| l["target"] == "request").collect();
    assert_eq!(rejected.len(), 1, "{lines:#?}");
    assert!(
        rejected[0]["reason"].as_str().unwrap().contains("disabled"),
        "{}",
        rejected[0]
    );
    let left_out: Vec<&Value> = lines
        .iter()
        .filter(|l| {
            l["level"] == "ERROR" && l["message"] == "an entry of the API-keys secret is left out"
        })
        .collect();
    assert!(!left_out.is_empty(), "{lines:#?}");
    assert!(
        left_out[0]["reason"]
            .as_str()
            .unwrap()
            .contains("keys[1].sha256"),
        "{}",
        left_out[0]
    );
    assert_no_secrets(&function.all_output(), "left-out entries");
}

/// At 80% of Secrets Manager's 65,536 bytes (52,429), each read of the API-keys secret logs a
/// WARN line with the size, never the content, and counts `ApiKeysSecretNearLimit`, which the
/// template's alarm watches.
#[tokio::test]
async fn a_secret_near_the_size_limit_is_warned_about_with_its_size_and_counted() {
    let stage = Stage::new().await;
    let listed = test_support::local::secret_json(&[(KEY, ACCOUNT)]);
    // Whitespace inside the object pads the value to exactly 80% of the limit, rounded up.
    let padded = format!("{{{}{}", " ".repeat(52_429 - listed.len()), &listed[1..]);
    assert_eq!(padded.len(), 52_429);
    stage.secret.set_string(&padded).await;
    let mut function = stage.start(&[]);

    let answer = function.invoke(&http_api(
        "DELETE",
        "/v1/integration/int_near_limit_missing",
        &[("x-api-key", KEY)],
    ));
    assert_eq!(answer.status, 404, "the key still works: {}", answer.body);
    function.stop();

    let lines = function.log_lines();
    let warned: Vec<&Value> = lines
        .iter()
        .filter(|l| {
            l["level"] == "WARN"
                && l["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("near Secrets Manager's size limit"))
        })
        .collect();
    assert_eq!(warned.len(), 1, "one read at init: {lines:#?}");
    assert_eq!(warned[0]["bytes"], 52_429);
    assert_eq!(warned[0]["limitBytes"], 65_536);
    let documents = function.metric_documents();
    assert_eq!(
        documents[0]["ApiKeysSecretNearLimit"], 1.0,
        "{:#}",
        documents[0]
    );
    assert_no_secrets(&function.all_output(), "a secret near the limit");
}
