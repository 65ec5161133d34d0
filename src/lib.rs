//! The AWS Lambda behind `DELETE /v1/integration/{integrationId}`.
//!
//! A customer disconnects a connected platform account with their `x-api-key`. The key is checked
//! against hashes in Secrets Manager ([`api_keys`]); the integration and all its OAuth tokens are
//! removed from DynamoDB in one transaction that also writes a disconnect marker with a TTL
//! ([`plan`] decides, [`store`] reads and writes, [`disconnect`] runs the two), so the schedule
//! processors fail the integration's pending posts when their time comes. [`http`] is the edge:
//! it reads the front door's event, checks route, method, key and id, and turns every outcome
//! into an answer.
//!
//! Every invocation writes one CloudWatch EMF metrics document ([`metrics`]).
//!
//! Layers, each importing only those below it: `http` → `api_keys`, `disconnect` → `store` →
//! `plan` → `partition`, `error`, `metrics`; below them the crates `function-support`
//! (configuration, telemetry, the HTTPS client and `SdkConfig`, the EMF writer, the clock) and
//! `integrations-table` (the table's vocabulary).

pub mod api_keys;
pub mod config;
pub mod disconnect;
pub mod error;
pub mod http;
pub mod metrics;
pub mod partition;
pub mod plan;
pub mod store;

use aws_config::SdkConfig;

pub use config::Config;
pub use error::Error;
pub use http::App;

/// The log targets whose TRACE lines may be shown (every other crate's are capped at DEBUG).
pub const OWN_LOG_TARGETS: &[&str] = &["disconnect_integration", "integrations_table", http::AUDIT];

/// The one `SdkConfig` both clients share, from the environment (credentials, region, endpoint
/// overrides), with the shared HTTPS client, timeouts and the SDK's standard retries. One AWS
/// call, its retries included, never outlasts the request deadline (`REQUEST_DEADLINE_MS`),
/// which also bounds the whole request.
pub async fn sdk_config(config: &Config) -> SdkConfig {
    function_support::aws::sdk_config(config.extra_ca_pem.as_deref(), config.request_deadline).await
}
