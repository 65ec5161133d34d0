//! What a request costs: a warm request is exactly one Query and one TransactWriteItems, and no
//! Secrets Manager call.

use crate::helpers::{ACCOUNT_A, CallLog, KEY_A, TestApp};

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
