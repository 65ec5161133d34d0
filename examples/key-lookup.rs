//! The key check's own cost by the number of keys: parses a secret of N entries (the format of
//! the API-keys secret) and times `KeySet::lookup` of known and unknown keys, in nanoseconds per
//! lookup, for N = 10, 1,000 and 100,000. `make bench` runs it (`bench/bench.py` prints its
//! lines); alone: `cargo run --release --example key-lookup`. It times the lookup only: SHA-256
//! of the presented key, finding its entry, the constant-time comparison. Not shipped: an
//! example is built only by `cargo build --example` and `cargo test`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use disconnect_integration::api_keys::{KeySet, Lookup, hash_key};
use serde_json::json;

/// How long each figure is timed for, after an untimed warm-up of the same length.
const BUDGET: Duration = Duration::from_millis(300);

fn key_set(keys: usize) -> KeySet {
    let listed: Vec<_> = (0..keys)
        .map(|i| json!({"sha256": hash_key(&format!("key-{i}")), "accountId": format!("acct_{}", i % 997), "name": "CI"}))
        .collect();
    KeySet::parse(&json!({ "keys": listed }).to_string())
        .expect("a well-formed secret")
        .keys
}

/// Nanoseconds per lookup of `presented` (cycled), over [`BUDGET`], after a warm-up.
fn time_lookups(keys: &KeySet, presented: &[String]) -> f64 {
    let run = || {
        let started = Instant::now();
        let mut done = 0;
        while started.elapsed() < BUDGET {
            for _ in 0..100 {
                black_box(keys.lookup(black_box(&presented[done % presented.len()])));
                done += 1;
            }
        }
        started.elapsed().as_nanos() as f64 / done as f64
    };
    run();
    run()
}

fn main() {
    println!("key-lookup: ns per KeySet::lookup, each figure timed over {BUDGET:?}");
    println!("| keys | known key | unknown key |");
    println!("|---|---|---|");
    for keys in [10, 1_000, 100_000] {
        let set = key_set(keys);
        assert_eq!(set.len(), keys);
        let known: Vec<String> = (0..keys.min(1_000)).map(|i| format!("key-{i}")).collect();
        let unknown: Vec<String> = (0..1_000).map(|i| format!("unknown-{i}")).collect();
        assert!(matches!(set.lookup(&known[0]), Lookup::Found { .. }));
        assert_eq!(set.lookup(&unknown[0]), Lookup::Unknown);
        println!(
            "| {keys} | {:.0} | {:.0} |",
            time_lookups(&set, &known),
            time_lookups(&set, &unknown)
        );
    }
}
