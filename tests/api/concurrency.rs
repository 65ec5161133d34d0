//! Concurrent DELETEs of one integration: exactly one transaction wins, nobody sees a 500.

use std::future::Future;

use futures_util::future::join_all;
use integrations_table::attributes::{ACCOUNT_ID, DISCONNECTED_AT};

use crate::helpers::{ACCOUNT_A, CallLog, KEY_A, KEY_B, TestApp};

/// Whether two requests overlap is the scheduler's choice: on a loaded machine the first one
/// can commit before any other has read. So the race runs on a fresh integration up to
/// `ATTEMPTS` times; every run must end right, and at least one must have had contention.
const ATTEMPTS: usize = 5;

/// Runs `race` (attempt number in, its checks inside) until one run sent two or more
/// TransactWriteItems, and fails if none of `ATTEMPTS` runs did.
async fn race_until_contention<F, Fut>(log: &CallLog, mut race: F)
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut transactions = vec![];
    for attempt in 0..ATTEMPTS {
        let before = log.count("TransactWriteItems");
        race(attempt).await;
        transactions.push(log.count("TransactWriteItems") - before);
        if transactions[attempt] >= 2 {
            return;
        }
    }
    panic!("no contention in {ATTEMPTS} runs: transactions per run {transactions:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_concurrent_deletes_write_one_marker_and_all_answer_200() {
    let log = CallLog::default();
    let app = TestApp::spawn().await.with_interceptor(log.clone());
    app.warm_key_cache().await;

    let app = &app;
    // The race really ran: in some run, more than one request read the integration and tried
    // to commit.
    race_until_contention(&log, |attempt| async move {
        let id = format!("int_hot_{attempt}");
        app.seed_integration(&id, ACCOUNT_A, "youtube", 10).await;

        let documents_before = app.metric_documents().len();
        let responses = join_all((0..16).map(|_| app.delete_integration(&id, Some(KEY_A)))).await;
        // Exactly one transaction won: one request counted a disconnect, the 15 others a repeat
        // (each request writes one EMF document).
        let documents = app.metric_documents();
        let counted = |metric: &str| {
            documents[documents_before..]
                .iter()
                .filter(|d| d[metric].as_f64() == Some(1.0))
                .count()
        };
        assert_eq!(
            documents.len() - documents_before,
            16,
            "{id}: one document a request"
        );
        assert_eq!(
            (counted("Disconnects"), counted("Repeats")),
            (1, 15),
            "{id}: one winner, fifteen repeats"
        );

        for (i, response) in responses.iter().enumerate() {
            assert_eq!(
                response.status, 200,
                "{id} request {i}: {}",
                response.raw_body
            );
            assert_eq!(
                response.raw_body, responses[0].raw_body,
                "{id} request {i}: same body, same disconnectedAt"
            );
        }
        let partition = app.table.partition(&id).await;
        assert_eq!(
            partition.len(),
            1,
            "{id}: one marker and nothing else: {partition:#?}"
        );
        assert_eq!(
            partition[0][DISCONNECTED_AT],
            responses[0].body["data"]["disconnectedAt"]
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_deletes_by_two_accounts_give_the_owner_200_and_the_other_404() {
    let log = CallLog::default();
    let app = TestApp::spawn().await.with_interceptor(log.clone());
    app.warm_key_cache().await;

    let app = &app;
    // The race really ran: in some run, several of the owner's requests tried to commit.
    race_until_contention(&log, |attempt| async move {
        let id = format!("int_contested_{attempt}");
        app.seed_integration(&id, ACCOUNT_A, "tiktok", 120).await;
        let requests = (0..16).map(|i| {
            let key = if i % 2 == 0 { KEY_A } else { KEY_B };
            let id = &id;
            async move { (key, app.delete_integration(id, Some(key)).await) }
        });
        let responses = join_all(requests).await;

        for (key, response) in &responses {
            let expected = if *key == KEY_A { 200 } else { 404 };
            assert_eq!(
                response.status, expected,
                "{id} {key}: {}",
                response.raw_body
            );
        }
        let partition = app.table.partition(&id).await;
        assert_eq!(partition.len(), 1, "{id}: {partition:#?}");
        assert_eq!(partition[0][ACCOUNT_ID], ACCOUNT_A);
    })
    .await;
}
