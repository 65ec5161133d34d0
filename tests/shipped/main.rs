//! Black-box tests of the artefact that ships: the function binary as
//! `cargo build --release` makes it (the release profile and feature set of
//! `cargo lambda build --release` and SAM; `profile.rs` checks it), started as Lambda starts a
//! `provided.al2023` function behind a
//! local Runtime API, on DynamoDB Local and moto, with its own `main.rs`: its own telemetry,
//! configuration and `SdkConfig` (the production timeouts). What it answers is compared byte
//! for byte; what it logs is read from its real stdout.
//!
//! `make test` builds both binaries and sets `SHIPPED_BINARY` and `SHIPPED_REVOKE_BINARY`
//! (`profile.rs` checks the revoker's build too); to run these alone, with the services up
//! (`make services-up`), copy them out first (the test build replaces what is in
//! `target/release`): `cargo build --release -p disconnect-integration -p revoke-tokens --bins`,
//! copy `target/release/disconnect-integration` to `.local/shipped/bootstrap` and
//! `target/release/revoke-tokens` to `.local/shipped/revoke-tokens`, then
//! `SHIPPED_BINARY=.local/shipped/bootstrap SHIPPED_REVOKE_BINARY=.local/shipped/revoke-tokens
//! cargo test --release --features test-support/local-services --test shipped`.

mod binary;
mod bodies;
mod concurrency;
mod edges;
mod events;
mod faults;
mod logs;
mod metrics;
mod profile;
mod soak;
mod units;
