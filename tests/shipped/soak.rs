//! Load through several instances of the binary behind one local Runtime API, then a scan of
//! the whole table: no 5xx, no orphaned token, no changed neighbour.
//!
//! `make test` runs a bounded version (`SOAK_DELETES`, default 300) against the shipped binary;
//! `make soak` runs 2,000 deletes against the release binary and prints the figures.

use integrations_table::attributes::{PK, SK};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::Value;
use test_support::function::Fleet;
use test_support::lambda_response::HttpAnswer;
use test_support::runtime_api::Outcome;

use crate::binary::{ACCOUNT, KEY, OTHER_KEY, Stage, binary, http_api};

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}={v} is not a number"))
        })
        .unwrap_or(default)
}

/// A request of the load: which key, which integration.
struct Call {
    key: &'static str,
    id: String,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_deletes_leave_no_orphan_and_no_changed_neighbour() {
    let deletes = setting("SOAK_DELETES", 300);
    let concurrency = setting("SOAK_CONCURRENCY", 32);
    let instances = setting("SOAK_INSTANCES", 4);
    let stage = Stage::new().await;

    // Targets (every 40th has 110 tokens, so the surplus batch runs), and neighbours: the same
    // account's integrations that nobody deletes, and that another account tries to.
    let targets: Vec<String> = (0..deletes).map(|i| format!("int_soak_{i:05}")).collect();
    let neighbours: Vec<String> = (0..deletes / 10)
        .map(|i| format!("int_keep_{i:05}"))
        .collect();
    let table = &stage.table;
    futures_util::stream::iter(targets.iter().enumerate())
        .for_each_concurrent(16, |(i, id)| async move {
            let tokens = if i % 40 == 0 { 110 } else { 3 };
            table.seed_integration(id, ACCOUNT, "youtube", tokens).await;
        })
        .await;
    futures_util::stream::iter(neighbours.iter())
        .for_each_concurrent(16, |id| async move {
            table.seed_integration(id, ACCOUNT, "tiktok", 2).await;
        })
        .await;
    let before: BTreeMap<String, Vec<Value>> = {
        let mut by_pk: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for item in table.all_items().await {
            by_pk
                .entry(item[PK].as_str().unwrap().to_owned())
                .or_default()
                .push(item);
        }
        by_pk
    };

    // Every target once, one in ten twice (concurrent repeats), and another account's try at
    // each neighbour; interleaved by a fixed permutation.
    let mut calls: Vec<Call> = targets
        .iter()
        .map(|id| Call {
            key: KEY,
            id: id.clone(),
        })
        .chain(targets.iter().step_by(10).map(|id| Call {
            key: KEY,
            id: id.clone(),
        }))
        .chain(neighbours.iter().map(|id| Call {
            key: OTHER_KEY,
            id: id.clone(),
        }))
        .collect();
    let n = calls.len();
    for i in 0..n {
        calls.swap(i, (i * 7919 + 13) % n);
    }

    let env = stage.env(&[("AWS_LAMBDA_LOG_LEVEL", "WARN")]);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let fleet = Arc::new(Fleet::start(&binary(), &env, instances));
    let calls = Arc::new(calls);
    let next = Arc::new(AtomicUsize::new(0));
    let results = Arc::new(Mutex::new(Vec::with_capacity(n)));
    let started = Instant::now();
    let clients: Vec<_> = (0..concurrency)
        .map(|_| {
            let (fleet, calls, next, results) =
                (fleet.clone(), calls.clone(), next.clone(), results.clone());
            std::thread::spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(call) = calls.get(i) else { break };
                    let event = http_api(
                        "DELETE",
                        &format!("/v1/integration/{}", call.id),
                        &[("x-api-key", call.key)],
                    );
                    let asked = Instant::now();
                    let outcome = fleet.invoke(&event);
                    let took = asked.elapsed();
                    let status = match outcome {
                        Outcome::Response(payload) => {
                            HttpAnswer::from_lambda(serde_json::from_str(&payload).unwrap()).status
                        }
                        Outcome::Error(_) => 502,
                    };
                    results.lock().unwrap().push((call.key, status, took));
                }
            })
        })
        .collect();
    for client in clients {
        client.join().unwrap();
    }
    let elapsed = started.elapsed();

    let results = std::mem::take(&mut *results.lock().unwrap());
    let server_errors = results.iter().filter(|(_, s, _)| *s >= 500).count();
    let unexpected: Vec<_> = results
        .iter()
        .filter(|(key, status, _)| match *key {
            KEY => *status != 200,
            _ => *status != 404,
        })
        .map(|(key, status, _)| (*key == KEY, *status))
        .collect();
    let mut latencies: Vec<Duration> = results.iter().map(|(_, _, t)| *t).collect();
    latencies.sort();

    let mut after: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for item in table.all_items().await {
        after
            .entry(item[PK].as_str().unwrap().to_owned())
            .or_default()
            .push(item);
    }
    let orphans: usize = after
        .values()
        .filter(|items| !items.iter().any(|i| i[SK] == "INTEGRATION"))
        .map(|items| {
            items
                .iter()
                .filter(|i| i[SK].as_str().unwrap().starts_with("TOKEN#"))
                .count()
        })
        .sum();
    let not_disconnected = targets
        .iter()
        .filter(|id| {
            let items = &after[&format!("INTEGRATION#{id}")];
            !(items.len() == 1 && items[0][SK] == "DISCONNECTED")
        })
        .count();
    let changed_neighbours = neighbours
        .iter()
        .map(|id| format!("INTEGRATION#{id}"))
        .filter(|pk| before.get(pk) != after.get(pk))
        .count();

    eprintln!(
        "soak: {n} requests ({deletes} deletes, {} repeats, {} by another account) at concurrency \
         {concurrency} on {instances} instances in {:.1} s: {:.0} requests/s; p50 {:.1} ms, p99 \
         {:.1} ms, max {:.1} ms; 5xx: {server_errors}; orphaned tokens: {orphans}; targets not \
         disconnected: {not_disconnected}; changed neighbours: {changed_neighbours}",
        targets.len().div_ceil(10),
        neighbours.len(),
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3,
    );
    assert_eq!(results.len(), n);
    assert_eq!(server_errors, 0, "5xx answers");
    assert!(
        unexpected.is_empty(),
        "(own key, status) other than expected: {unexpected:?}"
    );
    assert_eq!(orphans, 0, "orphaned tokens");
    assert_eq!(not_disconnected, 0, "targets not fully disconnected");
    assert_eq!(changed_neighbours, 0, "changed neighbours");
}
