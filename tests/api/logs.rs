//! The audit line, and that no key or token value ever reaches the log.

use serde_json::Value;

use crate::helpers::{ACCOUNT_A, KEY_A, TestApp, capture_logs};

#[tokio::test]
async fn each_disconnect_writes_one_audit_line_without_secrets() {
    let app = TestApp::spawn().await;
    app.seed_integration("int_audit", ACCOUNT_A, "youtube", 3)
        .await;

    let logs = capture_logs(async {
        let response = app.delete_integration("int_audit", Some(KEY_A)).await;
        assert_eq!(response.status, 200);
        let _ = app
            .delete_integration("int_audit", Some("wrong-key-value"))
            .await;
    })
    .await;

    let audit: Vec<&Value> = logs.iter().filter(|l| l["target"] == "audit").collect();
    assert_eq!(audit.len(), 1, "{logs:#?}");
    let line = audit[0];
    assert_eq!(line["message"], "integration disconnected");
    assert_eq!(line["accountId"], ACCOUNT_A);
    assert_eq!(line["integrationId"], "int_audit");
    assert_eq!(line["type"], "youtube");
    assert_eq!(line["requestId"].as_str().map(str::len), Some(36));

    let all = serde_json::to_string(&logs).unwrap();
    for secret in [KEY_A, "wrong-key-value", "secret-token-value"] {
        assert!(!all.contains(secret), "{secret} reached the log");
    }
}
