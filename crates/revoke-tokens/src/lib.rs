//! Revokes at the platform the tokens a disconnect removed.
//!
//! A second Lambda function, reading the integrations table's stream (new and old images). It
//! is a binary of its own, not a branch of the DELETE function: it needs an HTTP client for the
//! platforms and their client secrets, which the DELETE function's artefact, cold start and role
//! should not carry, and it fails and retries on its own schedule (the stream's), never slowing
//! a DELETE.
//!
//! A batch's integrations are handled side by side (at most `REVOKE_CONCURRENCY` at once, and
//! `REVOKE_PLATFORM_CONCURRENCY` calls to one platform), each integration's records in the
//! batch's order; the first record handed back, in the batch's order, is the checkpoint
//! ([`consumer`]). For each record, while the invocation has time (the rule is [`plan`], pure):
//! 1. Only the REMOVE of a `TOKEN#` item counts; a removal by DynamoDB's TTL and every other
//!    change are ignored (`RemovalsIgnored`).
//! 2. The old image must hold `token` (S) and `tokenType` (`access_token` or `refresh_token`);
//!    otherwise the record is skipped (`TokensSkipped`).
//! 3. The partition must have a live `DISCONNECTED` marker (read consistently). Without one, if
//!    the integration item is still there, the removal may be the surplus batch a disconnect
//!    deletes before its transaction: the record is handed back until the marker shows. With
//!    neither, it is not a disconnect's removal: ignored.
//! 4. The platform comes from the marker's `type` ([`platform_revoke::support`]); a type no
//!    documented call revokes is `unsupported`, with the reason. A marker `grantId` that another
//!    live integration still has (`GrantIndex`) is `shared_grant`. A token that an earlier
//!    token's own revoke call covered, by the platform's documentation
//!    ([`platform_revoke::Platform::revocation_covers`], which cites it), is `revoked`, with
//!    `via` naming that token, and no call; an outcome that was itself covered covers nothing.
//! 5. Otherwise the platform is asked ([`platform_revoke::Revoker`], within the invocation's
//!    deadline less [`consumer::RECORD_RESERVE`]): `revoked`, `unconfirmed`, `unsupported` or
//!    `failed` with a reason. A transient failure hands the record back to the stream
//!    (`RevocationsRetried`, noted on the marker's `revocationRetries`); after
//!    `REVOKE_MAX_ATTEMPTS` failed deliveries, or once the record is older than
//!    `REVOKE_GIVE_UP_AFTER_SECONDS`, it is recorded `failed` (`RevocationsGivenUp`, alarmed).
//!    A record there is no time left for is handed back without counting (`RevocationsDeferred`).
//! 6. The outcome is appended to the marker's `revocation` list (and the record's `eventID` to
//!    `revocationEvents`, so a redelivered record is neither revoked nor recorded twice), and
//!    counted. Never the token's value: not in the marker, a log line or a metric.
//!
//! Modules: [`config`] (the environment), [`stream`] (the event), [`marker_store`] (the table),
//! [`plan`] (the rule for one record, pure), [`consumer`] (the executor: a record's steps, and
//! a batch's records side by side), [`deadline`] (the invocation's clock),
//! [`outcome`] (outcomes and metric names),
//! [`output`] (log lines and the EMF document).

pub mod config;
pub mod consumer;
pub mod deadline;
pub mod marker_store;
pub mod outcome;
pub mod output;
pub mod plan;
pub mod stream;

pub use config::{Config, InitError};
pub use consumer::{Concurrency, Consumer, GiveUp};
pub use marker_store::MarkerStore;
pub use outcome::{HandBack, Handling, MarkerOutcome, Metric, Reason};
pub use output::Metrics;

/// The log targets whose TRACE lines may be shown (every other crate's, the HTTP client's
/// included, are capped at DEBUG: at TRACE they would print requests with tokens).
pub const OWN_LOG_TARGETS: &[&str] = &["revoke_tokens", "integrations_table", output::TARGET];

use platform_revoke::Credentials;

/// Reads the platforms' client credentials (at init).
pub async fn load_credentials(
    secrets: &aws_sdk_secretsmanager::Client,
    secret_id: &str,
) -> Result<Credentials, InitError> {
    let failed = |reason: String| InitError::Credentials {
        id: secret_id.to_owned(),
        reason,
    };
    let output = secrets
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| failed(function_support::ErrorChain(&e).to_string()))?;
    let text = output
        .secret_string()
        .ok_or_else(|| failed("it has no SecretString".to_owned()))?;
    Credentials::from_json(text).map_err(|e| failed(e.to_string()))
}
