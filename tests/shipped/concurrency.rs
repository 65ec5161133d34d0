//! Several requests at once in one process (Lambda Managed Instances set
//! `AWS_LAMBDA_MAX_CONCURRENCY`): they are served together, and the key cache still reads the
//! secret once for all of them and rate-limits forced reads.

use std::sync::Arc;
use std::time::{Duration, Instant};

use test_support::fault_proxy::{Fault, FaultProxy};

use crate::binary::{ACCOUNT, KEY, Stage, http_api};

/// Invokes every event at the same time, on threads of their own; returns the statuses and
/// how long all of them took.
fn invoke_all(function: &Arc<crate::binary::Shipped>, events: Vec<String>) -> (Vec<u16>, Duration) {
    let started = Instant::now();
    let threads: Vec<_> = events
        .into_iter()
        .map(|event| {
            let function = function.clone();
            std::thread::spawn(move || function.invoke(&event).status)
        })
        .collect();
    let statuses = threads.into_iter().map(|t| t.join().unwrap()).collect();
    (statuses, started.elapsed())
}

#[tokio::test]
async fn one_process_serves_eight_requests_at_once() {
    let stage = Stage::new().await;
    for i in 0..8 {
        stage
            .table
            .seed_integration(&format!("int_par_{i}"), ACCOUNT, "youtube", 2)
            .await;
    }
    let dynamodb = FaultProxy::start(&std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap());
    dynamodb.on(
        "TransactWriteItems",
        Fault::Slow(Duration::from_millis(400)),
    );
    let function = Arc::new(stage.start_on_stand_in(&[
        ("AWS_ENDPOINT_URL_DYNAMODB", &dynamodb.url()),
        ("AWS_LAMBDA_MAX_CONCURRENCY", "8"),
    ]));
    function.0.wait_ready();

    let events = (0..8)
        .map(|i| {
            http_api(
                "DELETE",
                &format!("/v1/integration/int_par_{i}"),
                &[("x-api-key", KEY)],
            )
        })
        .collect();
    let (statuses, took) = invoke_all(&function, events);

    assert_eq!(statuses, [200; 8]);
    // Observed, not timed: the function held several invocations, and the proxy several of their
    // 400 ms transactions, at the same moment.
    assert!(
        function.0.api().max_in_flight() >= 4,
        "the function never held several requests at once"
    );
    assert!(
        dynamodb.max_in_flight("TransactWriteItems") >= 4,
        "the transactions never overlapped (8 of 400 ms each took {took:?})"
    );
    for i in 0..8 {
        assert_eq!(
            stage.table.sort_keys(&format!("int_par_{i}")).await,
            ["DISCONNECTED"]
        );
    }
}

#[tokio::test]
async fn concurrent_requests_share_one_read_of_the_secret_and_one_forced_read() {
    let stage = Stage::new().await;
    let secrets = FaultProxy::start(&std::env::var("AWS_ENDPOINT_URL_SECRETS_MANAGER").unwrap());
    // Init's read hangs (init gives up on it after its 2 s budget, so nothing is cached and
    // no failure is remembered); later reads answer, slowly, so concurrent requests overlap
    // while one read is in flight.
    secrets.set(|op, nth| match (op, nth) {
        ("GetSecretValue", 0) => Fault::Hang,
        ("GetSecretValue", _) => Fault::Slow(Duration::from_millis(300)),
        _ => Fault::Pass,
    });
    let function = Arc::new(stage.start_on_stand_in(&[
        ("AWS_ENDPOINT_URL_SECRETS_MANAGER", &secrets.url()),
        ("AWS_LAMBDA_MAX_CONCURRENCY", "8"),
    ]));
    function.0.wait_ready();
    let reads_at_init = secrets.calls("GetSecretValue");
    assert_eq!(reads_at_init, 1, "init tried once");

    let known = (0..8)
        .map(|_| http_api("DELETE", "/v1/integration/int_none", &[("x-api-key", KEY)]))
        .collect();
    let (statuses, _) = invoke_all(&function, known);
    assert_eq!(statuses, [404; 8], "a known key, an unknown integration");
    assert!(
        function.0.api().max_in_flight() >= 4,
        "the requests overlapped while the one read was in flight"
    );
    assert_eq!(
        secrets.calls("GetSecretValue") - reads_at_init,
        1,
        "eight cold requests read the secret once"
    );

    let unknown = (0..8)
        .map(|i| {
            http_api(
                "DELETE",
                "/v1/integration/int_none",
                &[("x-api-key", &format!("unknown-{i}"))],
            )
        })
        .collect();
    let (statuses, _) = invoke_all(&function, unknown);
    assert_eq!(statuses, [401; 8]);
    assert_eq!(
        secrets.calls("GetSecretValue") - reads_at_init,
        2,
        "eight unknown keys forced one more read, not eight"
    );
    // The process stayed healthy throughout.
    let answer = function.invoke(&http_api(
        "DELETE",
        "/v1/integration/int_none",
        &[("x-api-key", KEY)],
    ));
    assert_eq!(answer.status, 404);
}
