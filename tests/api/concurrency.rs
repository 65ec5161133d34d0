//! Concurrent DELETEs of one integration: exactly one transaction wins, nobody sees a 500.

use futures_util::future::join_all;

use crate::helpers::{ACCOUNT_A, CallLog, KEY_A, KEY_B, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_concurrent_deletes_write_one_marker_and_all_answer_200() {
    let log = CallLog::default();
    let app = TestApp::spawn().await.with_interceptor(log.clone());
    app.seed_integration("int_hot", ACCOUNT_A, "youtube", 10)
        .await;
    app.warm_key_cache().await;

    let responses = join_all((0..16).map(|_| app.delete_integration("int_hot", Some(KEY_A)))).await;

    // The race really ran: more than one request read the integration and tried to commit.
    assert!(
        log.count("TransactWriteItems") >= 2,
        "no contention: {} transaction(s)",
        log.count("TransactWriteItems")
    );

    for (i, response) in responses.iter().enumerate() {
        assert_eq!(response.status, 200, "request {i}: {}", response.raw_body);
        assert_eq!(
            response.raw_body, responses[0].raw_body,
            "request {i}: same body, same disconnectedAt"
        );
    }
    let partition = app.table.partition("int_hot").await;
    assert_eq!(
        partition.len(),
        1,
        "one marker and nothing else: {partition:#?}"
    );
    assert_eq!(
        partition[0]["disconnectedAt"],
        responses[0].body["data"]["disconnectedAt"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_deletes_by_two_accounts_give_the_owner_200_and_the_other_404() {
    let log = CallLog::default();
    let app = TestApp::spawn().await.with_interceptor(log.clone());
    app.seed_integration("int_contested", ACCOUNT_A, "tiktok", 120)
        .await;
    app.warm_key_cache().await;

    let app = &app;
    let requests = (0..16).map(|i| {
        let key = if i % 2 == 0 { KEY_A } else { KEY_B };
        async move {
            (
                key,
                app.delete_integration("int_contested", Some(key)).await,
            )
        }
    });
    let responses = join_all(requests).await;

    // The race really ran: several of the owner's requests tried to commit.
    assert!(
        log.count("TransactWriteItems") >= 2,
        "no contention: {} transaction(s)",
        log.count("TransactWriteItems")
    );
    for (key, response) in &responses {
        let expected = if *key == KEY_A { 200 } else { 404 };
        assert_eq!(response.status, expected, "{key}: {}", response.raw_body);
    }
    let partition = app.table.partition("int_contested").await;
    assert_eq!(partition.len(), 1, "{partition:#?}");
    assert_eq!(partition[0]["accountId"], ACCOUNT_A);
}
