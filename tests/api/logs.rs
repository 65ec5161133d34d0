//! The audit line, and that no key or token value ever reaches the log.

use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::helpers::{ACCOUNT_A, KEY_A, TestApp};

/// A log sink the test can read back.
#[derive(Clone, Default)]
struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for SharedBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `f` with every log line of this thread captured as JSON.
async fn capture_logs<F: std::future::Future<Output = ()>>(f: F) -> Vec<Value> {
    let buffer = SharedBuffer::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_max_level(tracing::Level::TRACE)
        .with_writer({
            let buffer = buffer.clone();
            move || buffer.clone()
        })
        .finish();
    {
        let _guard = tracing::subscriber::set_default(subscriber);
        f.await;
    }
    let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    text.lines()
        .map(|line| serde_json::from_str(line).expect("a JSON log line"))
        .collect()
}

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
