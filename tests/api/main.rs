//! Integration tests: the real handler against DynamoDB Local and moto, each test on its own
//! table and secret. They need the local services: run them with `make test`, which starts both
//! and sets the endpoints (the target requires the fixtures' feature
//! `test-support/local-services`, which `make test` turns on). The shipped binary itself is tested by `tests/shipped`; the tests that need no
//! service are in `tests/contract` and `crates/stack-checks`.

mod api_keys;
mod calls;
mod concurrency;
mod disconnect;
mod disconnect_event;
mod errors;
mod events;
mod helpers;
mod processor;
