//! Faults between the binary and its backends, injected by a proxy per operation: every
//! answer is 200, or 503 with `Retry-After`, within the deadline; the table is always in a
//! state a retry finishes; and a clean retry does.

use std::time::{Duration, Instant};

use test_support::fault_proxy::{Fault, FaultProxy};

use crate::binary::{ACCOUNT, KEY, Stage, http_api};

const TOKENS: usize = 130;
const DEADLINE_MS: u64 = 1_500;

/// The table invariant: the integration with every token and no marker; or, past 98 tokens,
/// the integration with fewer tokens (the surplus batch ran) and no marker; or only the marker.
fn invariant_holds(sort_keys: &[String]) -> Result<(), String> {
    let integration = sort_keys.iter().any(|sk| sk == "INTEGRATION");
    let marker = sort_keys.iter().any(|sk| sk == "DISCONNECTED");
    let tokens = sort_keys
        .iter()
        .filter(|sk| sk.starts_with("TOKEN#"))
        .count();
    match (integration, marker) {
        (true, false) if tokens == TOKENS || (98..TOKENS).contains(&tokens) => Ok(()),
        (false, true) if tokens == 0 => Ok(()),
        _ => Err(format!(
            "integration {integration}, marker {marker}, {tokens} of {TOKENS} tokens"
        )),
    }
}

/// The faults that `operation` can meet.
fn faults(operation: &str) -> Vec<(&'static str, Fault)> {
    let mut faults = vec![
        ("500", Fault::internal_error()),
        ("throttling", Fault::throttling()),
        ("reset", Fault::Reset),
        ("hang", Fault::Hang),
        ("slow", Fault::Slow(Duration::from_millis(300))),
        ("truncated", Fault::Truncate),
        (
            "500 after the write",
            Fault::AfterWrite(Box::new(Fault::internal_error())),
        ),
        (
            "reset after the write",
            Fault::AfterWrite(Box::new(Fault::Reset)),
        ),
    ];
    if operation != "GetSecretValue" {
        faults.push(("conflict", Fault::conflict()));
    }
    if operation == "TransactWriteItems" {
        faults.push(("cancellation", Fault::cancelled()));
        faults.push((
            "in progress",
            Fault::error(400, "TransactionInProgressException"),
        ));
    }
    faults
}

/// One fault on every call of `operation`, on a fresh function: returns how long the answer took.
async fn one_fault(operation: &'static str, name: &'static str, fault: Fault) -> Duration {
    {
        let case = format!("{operation}, {name}");
        let stage = Stage::new().await;
        stage
            .table
            .seed_integration("int_faulty", ACCOUNT, "youtube", TOKENS)
            .await;
        stage
            .table
            .seed_integration("int_neighbour", ACCOUNT, "youtube", 2)
            .await;
        let neighbour = stage.table.partition("int_neighbour").await;
        let dynamodb = FaultProxy::start(&std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap());
        let secrets =
            FaultProxy::start(&std::env::var("AWS_ENDPOINT_URL_SECRETS_MANAGER").unwrap());
        let proxy = if operation == "GetSecretValue" {
            &secrets
        } else {
            &dynamodb
        };
        let deadline = DEADLINE_MS.to_string();
        let mut function = stage.start_on_stand_in(&[
            ("AWS_ENDPOINT_URL_DYNAMODB", &dynamodb.url()),
            ("AWS_ENDPOINT_URL_SECRETS_MANAGER", &secrets.url()),
            ("REQUEST_DEADLINE_MS", &deadline),
            // The secret's case: the keys read at init expire, so the request reads them again,
            // and no stale key set hides the fault from the answer.
            ("API_KEYS_CACHE_TTL_SECONDS", "1"),
            ("API_KEYS_MAX_STALE_SECONDS", "0"),
            // Every line there is: no fault may put a raw answer, a key or a token in one.
            ("AWS_LAMBDA_LOG_LEVEL", "TRACE"),
        ]);
        // Init (its secret read and its priming Query) runs clean; the fault then applies to
        // the request alone, and the proxy counts from here (`on` resets its counters).
        function.0.wait_ready();
        std::thread::sleep(Duration::from_millis(100));
        proxy.on(operation, fault.clone());
        if operation == "GetSecretValue" {
            // Past the cache's TTL: the request reads the secret itself, through the fault.
            std::thread::sleep(Duration::from_millis(1_100));
        }
        let event = http_api(
            "DELETE",
            "/v1/integration/int_faulty",
            &[("x-api-key", KEY)],
        );

        let asked = Instant::now();
        let answer = function.invoke(&event);
        let took = asked.elapsed();

        assert!(
            matches!(answer.status, 200 | 503),
            "{case}: {} {}",
            answer.status,
            answer.body
        );
        if answer.status == 503 {
            assert_eq!(
                answer.headers.get("retry-after").map(String::as_str),
                Some("1"),
                "{case}"
            );
        }
        // A timing window that is the point: the deadline bounds every answer. The margin is
        // for a loaded 2-core machine (the answer itself takes a few milliseconds).
        assert!(
            took < Duration::from_millis(DEADLINE_MS + 700),
            "{case}: answered after {took:?}, the deadline is {DEADLINE_MS} ms"
        );
        assert!(
            proxy.calls(operation) > 0,
            "{case}: the request never met the fault"
        );
        if let Fault::AfterWrite(_) = fault {
            let (applied, not_applied) = proxy.writes_after_write_faults();
            assert!(
                applied > 0 && not_applied == 0,
                "{case}: the call went through before the fault ({applied} applied, {not_applied} not)"
            );
        }
        let left = stage.table.sort_keys("int_faulty").await;
        if answer.status == 200 {
            // A 200 says the integration is disconnected: it must be.
            assert_eq!(
                left,
                ["DISCONNECTED"],
                "{case}: a 200 with the table not disconnected"
            );
        } else {
            invariant_holds(&left).unwrap_or_else(|e| panic!("{case}: after the fault: {e}"));
        }

        dynamodb.heal();
        secrets.heal();
        if answer.status == 503 && operation == "GetSecretValue" {
            // As Retry-After says: the key cache tries no read within a second of a failed one.
            std::thread::sleep(Duration::from_secs(1));
        }
        let retried = function.invoke(&event);
        assert_eq!(
            retried.status, 200,
            "{case}: a clean retry: {}",
            retried.body
        );
        assert_eq!(
            stage.table.sort_keys("int_faulty").await,
            ["DISCONNECTED"],
            "{case}: the retry converged"
        );
        assert_eq!(
            stage.table.partition("int_neighbour").await,
            neighbour,
            "{case}"
        );
        function.stop();
        crate::logs::assert_no_secrets(&function.all_output(), &case);
        took
    }
}

/// Runs every fault on every call of `operation`, each on a fresh function and all at once (on
/// threads of their own: most of the time is waiting for the deadline), and returns the slowest
/// answer.
fn every_fault_on(operation: &'static str) -> Duration {
    let cases: Vec<_> = faults(operation)
        .into_iter()
        .map(|(name, fault)| {
            std::thread::spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap()
                    .block_on(one_fault(operation, name, fault))
            })
        })
        .collect();
    let mut slowest = Duration::ZERO;
    let mut failed = None;
    for case in cases {
        match case.join() {
            Ok(took) => slowest = slowest.max(took),
            Err(panic) => failed = failed.or(Some(panic)),
        }
    }
    if let Some(panic) = failed {
        std::panic::resume_unwind(panic);
    }
    eprintln!(
        "faults on {operation}: the slowest answer took {slowest:?} (deadline {DEADLINE_MS} ms)"
    );
    slowest
}

#[test]
fn faults_on_the_query() {
    every_fault_on("Query");
}

#[test]
fn faults_on_the_surplus_batch() {
    every_fault_on("BatchWriteItem");
}

#[test]
fn faults_on_the_transaction() {
    every_fault_on("TransactWriteItems");
}

#[test]
fn faults_on_the_secret() {
    every_fault_on("GetSecretValue");
}
