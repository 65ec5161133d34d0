//! Integration tests: the real handler against DynamoDB Local and a Secrets Manager endpoint.
//! Run them with `make test`, which starts both services and sets the endpoints.

mod api_keys;
mod calls;
mod concurrency;
mod disconnect;
mod errors;
mod events;
mod helpers;
mod init;
mod logs;
mod processor;
mod spec;
mod template;
