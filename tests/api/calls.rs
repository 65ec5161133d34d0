//! What a request costs: a warm request is exactly one Query and one TransactWriteItems, and no
//! Secrets Manager call.

use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

use crate::helpers::{ACCOUNT_A, KEY_A, TestApp};

/// Records the `x-amz-target` of every request sent (both services speak AWS JSON), such as
/// `DynamoDB_20120810.Query`.
#[derive(Debug, Clone, Default)]
struct CallLog(Arc<Mutex<Vec<String>>>);

impl CallLog {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "CallLog"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let target = context
            .request()
            .headers()
            .get("x-amz-target")
            .expect("an x-amz-target header");
        self.0.lock().unwrap().push(target.to_owned());
        Ok(())
    }
}

async fn app_with_call_log() -> (TestApp, CallLog) {
    let log = CallLog::default();
    let app = TestApp::spawn().await.with_interceptor(log.clone());
    (app, log)
}

#[tokio::test]
async fn a_warm_request_makes_two_dynamodb_calls_and_no_secrets_manager_call() {
    let (app, log) = app_with_call_log().await;
    app.seed_integration("int_cold", ACCOUNT_A, "youtube", 3)
        .await;
    app.seed_integration("int_warm", ACCOUNT_A, "youtube", 3)
        .await;

    assert_eq!(
        app.delete_integration("int_cold", Some(KEY_A)).await.status,
        200
    );
    assert_eq!(
        log.take(),
        [
            "secretsmanager.GetSecretValue",
            "DynamoDB_20120810.Query",
            "DynamoDB_20120810.TransactWriteItems"
        ],
        "a cold request reads the secret once"
    );

    assert_eq!(
        app.delete_integration("int_warm", Some(KEY_A)).await.status,
        200
    );
    assert_eq!(
        log.take(),
        [
            "DynamoDB_20120810.Query",
            "DynamoDB_20120810.TransactWriteItems"
        ]
    );
}

#[tokio::test]
async fn a_repeat_is_answered_from_one_query() {
    let (app, log) = app_with_call_log().await;
    app.seed_integration("int_1", ACCOUNT_A, "youtube", 1).await;
    app.delete_integration("int_1", Some(KEY_A)).await;
    log.take();

    assert_eq!(
        app.delete_integration("int_1", Some(KEY_A)).await.status,
        200
    );
    assert_eq!(log.take(), ["DynamoDB_20120810.Query"]);
}

#[tokio::test]
async fn more_than_98_tokens_are_batch_deleted_before_the_transaction() {
    let (app, log) = app_with_call_log().await;
    app.seed_integration("int_many", ACCOUNT_A, "youtube", 150)
        .await;
    app.warm_key_cache().await;
    log.take();

    assert_eq!(
        app.delete_integration("int_many", Some(KEY_A)).await.status,
        200
    );
    // 150 - 98 = 52 surplus tokens: three BatchWriteItem calls of at most 25.
    assert_eq!(
        log.take(),
        [
            "DynamoDB_20120810.Query",
            "DynamoDB_20120810.BatchWriteItem",
            "DynamoDB_20120810.BatchWriteItem",
            "DynamoDB_20120810.BatchWriteItem",
            "DynamoDB_20120810.TransactWriteItems"
        ]
    );
}
