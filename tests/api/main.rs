//! Integration tests: the real handler against DynamoDB Local and moto, each test on its own
//! table and secret. Run them with `make test`, which starts both services and sets the
//! endpoints. The shipped binary itself is tested by `tests/shipped`.

mod api_keys;
mod calls;
mod concurrency;
mod disconnect;
mod disconnect_event;
mod errors;
mod events;
mod fuzz;
mod helpers;
mod layers;
mod operability;
mod processor;
mod security;
mod spec;
mod template;
