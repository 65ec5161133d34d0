//! Revokes at the platform the tokens a disconnect removed.
//!
//! A second Lambda function, reading the integrations table's stream (new and old images). It
//! is a binary of its own, not a branch of the DELETE function: it needs an HTTP client for the
//! platforms and their client secrets, which the DELETE function's artefact, cold start and role
//! should not carry, and it fails and retries on its own schedule (the stream's), never slowing
//! a DELETE.
//!
//! For each record of a batch, in order:
//! 1. Only the REMOVE of a `TOKEN#` item counts; a removal by DynamoDB's TTL and every other
//!    change are ignored (counted as `RemovalsIgnored`).
//! 2. The old image must hold `token` (S) and `tokenType` (`access_token` or `refresh_token`);
//!    otherwise the record is skipped (`TokensSkipped`).
//! 3. The partition must have a live `DISCONNECTED` marker (read consistently): the token went
//!    with a disconnect. Without one, if the integration item is still there, the removal may be
//!    the surplus batch a disconnect deletes before its transaction: the record is retried until
//!    the marker shows (or the stream's retries end, and it goes to the dead-letter queue).
//!    With neither, it is not a disconnect's removal: ignored.
//! 4. The platform comes from the marker's `type`; a platform without a documented revoke call
//!    is `unsupported`. A marker `grantId` that another live integration still has (the table's
//!    `GrantIndex`) is `shared_grant`: revoking it would cut that integration off.
//! 5. Otherwise the platform is asked to revoke the token: `revoked`, `already_revoked`, or
//!    `failed` for a permanent refusal. A transient failure is reported to Lambda
//!    (`ReportBatchItemFailures`): the batch is retried from that record.
//! 6. The outcome is appended to the marker's `revocation` list (and the record's `eventID` to
//!    its `revocationEvents` set, so a retried record is not recorded, nor revoked, twice), and
//!    counted in the invocation's metrics. Never the token's value: not in the marker, a log
//!    line or a metric.

pub mod stream;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use disconnect_integration::clock::SharedClock;
use disconnect_integration::metrics;
use integrations_table::DisconnectMarker;
use integrations_table::keys::{PK, SK, SK_INTEGRATION, SK_MARKER, TOKEN_SK_PREFIX};
use integrations_table::marker::{epoch_seconds, rfc3339};
use platform_revoke::{Credentials, Endpoints, Outcome, Platform, Revoker, Token, TokenType};
use serde_json::{Value, json};

use stream::{BatchResponse, ItemFailure, StreamEvent, StreamRecord};

/// The marker's attributes: all the consumer reads of an item (besides an integration's key).
pub const MARKER_ATTRIBUTES: &[&str] = &[
    PK,
    SK,
    "id",
    "accountId",
    "type",
    "disconnectedAt",
    "reason",
    "expiresAt",
    "grantId",
    REVOCATION_EVENTS,
];

/// The table's global secondary index on `grantId` (keys only).
pub const GRANT_INDEX: &str = "GrantIndex";
/// The marker's list of revocation outcomes.
pub const REVOCATION: &str = "revocation";
/// The marker's string set of the stream records already recorded.
pub const REVOCATION_EVENTS: &str = "revocationEvents";
/// The log target of the outcome lines.
pub const TARGET: &str = "revocation";

/// What became of a removed token, as written onto the marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    Revoked,
    AlreadyRevoked,
    Unsupported,
    SharedGrant,
    Failed,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Revoked => "revoked",
            Self::AlreadyRevoked => "already_revoked",
            Self::Unsupported => "unsupported",
            Self::SharedGrant => "shared_grant",
            Self::Failed => "failed",
        }
    }

    /// Its metric.
    pub fn metric(self) -> &'static str {
        match self {
            Self::Revoked => "TokensRevoked",
            Self::AlreadyRevoked => "TokensAlreadyRevoked",
            Self::Unsupported => "RevocationsUnsupported",
            Self::SharedGrant => "RevocationsSharedGrant",
            Self::Failed => "RevocationsFailed",
        }
    }
}

/// Every metric of the consumer (all Count, dimension `Service`): the stack's catalog lists
/// them (`disconnect_integration::metrics::REVOCATION_METRICS`), for the template drift test.
pub const METRICS: [&str; 8] = disconnect_integration::metrics::REVOCATION_METRICS;

/// How one record was handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handling {
    /// An outcome, written onto the marker.
    Recorded {
        verdict: Verdict,
        reason: Option<String>,
    },
    /// Recorded by an earlier delivery of the same record.
    AlreadyRecorded,
    /// Not a token a disconnect removed.
    Ignored(&'static str),
    /// A token item without `token` or a known `tokenType`.
    Skipped(&'static str),
    /// To be retried by the stream.
    Retry(String),
}

/// The consumer's configuration, from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `TABLE_NAME`.
    pub table_name: String,
    /// `REVOKE_CREDENTIALS_SECRET_ID`: the platforms' client ids and secrets.
    pub credentials_secret_id: String,
    /// `REVOKE_ENDPOINT_<PLATFORM>` overrides (tests, local stubs).
    pub endpoints: Endpoints,
    /// `REVOKE_TIMEOUT_MS` (default 5000): one call to a platform.
    pub platform_timeout: Duration,
    /// `AWS_CA_BUNDLE`, as for the DELETE function.
    pub extra_ca_pem: Option<Vec<u8>>,
    /// `METRICS_NAMESPACE` and `METRICS_SERVICE`, as for the DELETE function.
    pub metrics_namespace: String,
    pub metrics_service: String,
}

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("missing required environment variable {0}")]
    Missing(&'static str),
    #[error("environment variable {0} must be a number of milliseconds from 100 to 60000")]
    BadTimeout(&'static str),
    #[error(transparent)]
    Config(#[from] disconnect_integration::config::ConfigError),
    #[error("could not read the platform credentials secret {id}: {reason}")]
    Credentials { id: String, reason: String },
}

impl Config {
    pub fn from_env() -> Result<Self, InitError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, InitError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let required = |name: &'static str| get(name).ok_or(InitError::Missing(name));
        let platform_timeout = match get("REVOKE_TIMEOUT_MS") {
            None => Duration::from_millis(5_000),
            Some(raw) => raw
                .parse::<u64>()
                .ok()
                .filter(|ms| (100..=60_000).contains(ms))
                .map(Duration::from_millis)
                .ok_or(InitError::BadTimeout("REVOKE_TIMEOUT_MS"))?,
        };
        Ok(Self {
            table_name: required("TABLE_NAME")?,
            credentials_secret_id: required("REVOKE_CREDENTIALS_SECRET_ID")?,
            endpoints: Endpoints::from_lookup(&lookup),
            platform_timeout,
            extra_ca_pem: match get("AWS_CA_BUNDLE") {
                Some(path) => Some(disconnect_integration::config::read_pem(&path)?),
                None => None,
            },
            metrics_namespace: get("METRICS_NAMESPACE")
                .unwrap_or_else(|| disconnect_integration::metrics::DEFAULT_NAMESPACE.to_owned()),
            metrics_service: get("METRICS_SERVICE")
                .or_else(|| get("AWS_LAMBDA_FUNCTION_NAME"))
                .unwrap_or_else(|| "revoke-tokens".to_owned()),
        })
    }
}

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
        .map_err(|e| failed(disconnect_integration::error::ErrorChain(&e).to_string()))?;
    let text = output
        .secret_string()
        .ok_or_else(|| failed("it has no SecretString".to_owned()))?;
    Credentials::from_json(text).map_err(|e| failed(e.to_string()))
}

/// The consumer: one table, one revoker.
pub struct Consumer {
    dynamodb: Client,
    table: String,
    revoker: Revoker,
    clock: SharedClock,
    metrics: MetricsOut,
}

/// Where the metric documents go.
#[derive(Clone)]
pub enum MetricsOut {
    Stdout { namespace: String, service: String },
    Memory(std::sync::Arc<std::sync::Mutex<Vec<Value>>>),
}

impl Consumer {
    pub fn new(
        dynamodb: Client,
        table: impl Into<String>,
        revoker: Revoker,
        clock: SharedClock,
        metrics: MetricsOut,
    ) -> Self {
        Self {
            dynamodb,
            table: table.into(),
            revoker,
            clock,
            metrics,
        }
    }

    /// Handles one batch, in order. At the first record to retry, it stops and reports that
    /// record: Lambda sends the batch again from there.
    pub async fn handle(&self, event: &StreamEvent, request_id: &str) -> BatchResponse {
        let mut counts: BTreeMap<&'static str, u32> = BTreeMap::new();
        let mut response = BatchResponse::default();
        for record in &event.records {
            let handling = self.process(record).await;
            log(record, &handling);
            let metric = match &handling {
                Handling::Recorded { verdict, .. } => Some(verdict.metric()),
                Handling::AlreadyRecorded => None,
                Handling::Ignored(_) => Some("RemovalsIgnored"),
                Handling::Skipped(_) => Some("TokensSkipped"),
                Handling::Retry(_) => Some("RevocationsRetried"),
            };
            if let Some(metric) = metric {
                *counts.entry(metric).or_default() += 1;
            }
            if let Handling::Retry(_) = handling {
                response.batch_item_failures.push(ItemFailure {
                    item_identifier: record.dynamodb.sequence_number.clone(),
                });
                break;
            }
        }
        self.emit(&counts, request_id);
        response
    }

    /// Decides and does what one record asks.
    pub async fn process(&self, record: &StreamRecord) -> Handling {
        if record.event_name != "REMOVE" {
            return Handling::Ignored("not a removal");
        }
        let (Some(pk), Some(sk)) = (record.key(PK), record.key(SK)) else {
            return Handling::Ignored("not an item of this table");
        };
        if !sk.starts_with(TOKEN_SK_PREFIX) {
            return Handling::Ignored("not a token");
        }
        if record.is_ttl_removal() {
            return Handling::Ignored("removed by TTL");
        }
        let (Some(token), Some(token_type)) = (
            record.old("token").filter(|t| !t.is_empty()),
            record
                .old("tokenType")
                .and_then(|t| t.parse::<TokenType>().ok()),
        ) else {
            return Handling::Skipped(
                "no token, or a tokenType other than access_token or refresh_token",
            );
        };

        let marker = match self.live_marker(pk).await {
            Ok(Some(marker)) => marker,
            Ok(None) => {
                return match self.item_exists(pk, SK_INTEGRATION).await {
                    Ok(true) => Handling::Retry(
                        "no disconnect marker yet, and the integration is still there: a disconnect in progress deletes surplus tokens before its transaction".to_owned(),
                    ),
                    Ok(false) => Handling::Ignored("no live disconnect marker"),
                    Err(e) => Handling::Retry(e),
                };
            }
            Err(e) => return Handling::Retry(e),
        };
        if marker.recorded_events.iter().any(|e| e == &record.event_id) {
            return Handling::AlreadyRecorded;
        }

        let platform = platform_revoke::platform_for(&marker.marker.integration_type);
        let (verdict, reason) = match platform {
            None => (Verdict::Unsupported, None),
            Some(platform) => match self.shared_grant(pk, &marker.marker).await {
                Err(e) => return Handling::Retry(e),
                Ok(true) => (Verdict::SharedGrant, None),
                Ok(false) => {
                    match self
                        .revoker
                        .revoke(platform, &Token::new(token), token_type)
                        .await
                    {
                        Ok(Outcome::Revoked) => (Verdict::Revoked, None),
                        Ok(Outcome::AlreadyRevoked) => (Verdict::AlreadyRevoked, None),
                        Err(e) if e.is_transient() => return Handling::Retry(e.to_string()),
                        Err(e) => (Verdict::Failed, Some(e.reason().to_owned())),
                    }
                }
            },
        };
        match self
            .record_outcome(
                pk,
                sk,
                record,
                token_type,
                platform,
                verdict,
                reason.as_deref(),
            )
            .await
        {
            Ok(()) => Handling::Recorded { verdict, reason },
            Err(e) => Handling::Retry(e),
        }
    }

    /// The partition's marker, if it is live at the clock's now, with the events it recorded.
    async fn live_marker(&self, pk: &str) -> Result<Option<ReadMarker>, String> {
        let item = self.get_item(pk, SK_MARKER, MARKER_ATTRIBUTES).await?;
        let Some(item) = item else { return Ok(None) };
        let recorded_events = match item.get(REVOCATION_EVENTS) {
            Some(AttributeValue::Ss(events)) => events.clone(),
            _ => vec![],
        };
        let marker = DisconnectMarker::from_item(item)
            .map_err(|e| format!("the marker of {pk} is unreadable: {e}"))?;
        Ok(marker.is_live(self.clock.now()).then_some(ReadMarker {
            marker,
            recorded_events,
        }))
    }

    async fn item_exists(&self, pk: &str, sk: &str) -> Result<bool, String> {
        Ok(self.get_item(pk, sk, &[PK]).await?.is_some())
    }

    /// One item, consistently, with only `attributes`: the role may read nothing else (the
    /// template's policy conditions on `dynamodb:Attributes`).
    async fn get_item(
        &self,
        pk: &str,
        sk: &str,
        attributes: &[&str],
    ) -> Result<Option<HashMap<String, AttributeValue>>, String> {
        let mut get = self
            .dynamodb
            .get_item()
            .table_name(&self.table)
            .consistent_read(true)
            .key(PK, AttributeValue::S(pk.to_owned()))
            .key(SK, AttributeValue::S(sk.to_owned()));
        let mut names = Vec::with_capacity(attributes.len());
        for (i, attribute) in attributes.iter().enumerate() {
            let name = format!("#a{i}");
            get = get.expression_attribute_names(&name, *attribute);
            names.push(name);
        }
        get.projection_expression(names.join(", "))
            .send()
            .await
            .map(|out| out.item)
            .map_err(|e| {
                format!(
                    "DynamoDB GetItem failed: {}",
                    disconnect_integration::error::ErrorChain(&e)
                )
            })
    }

    /// Whether another live integration has the marker's `grantId` (the index is eventually
    /// consistent: an integration connected in the last second may be missed).
    async fn shared_grant(&self, pk: &str, marker: &DisconnectMarker) -> Result<bool, String> {
        let Some(grant) = marker.grant_id.as_deref() else {
            return Ok(false);
        };
        let mut pages = self
            .dynamodb
            .query()
            .table_name(&self.table)
            .index_name(GRANT_INDEX)
            .key_condition_expression("#grant = :grant")
            .expression_attribute_names("#grant", "grantId")
            .expression_attribute_values(":grant", AttributeValue::S(grant.to_owned()))
            .projection_expression("#pk, #sk")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                format!(
                    "DynamoDB Query of {GRANT_INDEX} failed: {}",
                    disconnect_integration::error::ErrorChain(&e)
                )
            })?;
            let other = page.items().iter().any(|item| {
                matches!(item.get(SK), Some(AttributeValue::S(sk)) if sk == SK_INTEGRATION)
                    && matches!(item.get(PK), Some(AttributeValue::S(other)) if other != pk)
            });
            if other {
                return Ok(true);
            }
        }
        Ok(false)
    }

    #[allow(clippy::too_many_arguments)]
    async fn record_outcome(
        &self,
        pk: &str,
        sk: &str,
        record: &StreamRecord,
        token_type: TokenType,
        platform: Option<Platform>,
        verdict: Verdict,
        reason: Option<&str>,
    ) -> Result<(), String> {
        let mut entry = HashMap::from([
            ("eventId".to_owned(), s(&record.event_id)),
            ("tokenKey".to_owned(), s(sk)),
            ("tokenType".to_owned(), s(token_type.as_str())),
            ("outcome".to_owned(), s(verdict.as_str())),
            (
                "at".to_owned(),
                s(&rfc3339(epoch_seconds(self.clock.now()))),
            ),
        ]);
        if let Some(platform) = platform {
            entry.insert("platform".to_owned(), s(platform.as_str()));
        }
        if let Some(reason) = reason {
            entry.insert("reason".to_owned(), s(reason));
        }
        let written = self
            .dynamodb
            .update_item()
            .table_name(&self.table)
            .key(PK, AttributeValue::S(pk.to_owned()))
            .key(SK, AttributeValue::S(SK_MARKER.to_owned()))
            .update_expression(
                "SET #rev = list_append(if_not_exists(#rev, :none), :entry) ADD #seen :event_set",
            )
            .condition_expression("attribute_exists(#pk) AND NOT contains(#seen, :event)")
            .expression_attribute_names("#rev", REVOCATION)
            .expression_attribute_names("#seen", REVOCATION_EVENTS)
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":none", AttributeValue::L(vec![]))
            .expression_attribute_values(
                ":entry",
                AttributeValue::L(vec![AttributeValue::M(entry)]),
            )
            .expression_attribute_values(
                ":event_set",
                AttributeValue::Ss(vec![record.event_id.clone()]),
            )
            .expression_attribute_values(":event", s(&record.event_id))
            .send()
            .await;
        match written {
            Ok(_) => Ok(()),
            // The marker is gone (expired and removed) or this record is recorded already.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(format!(
                "DynamoDB UpdateItem of the marker failed: {}",
                disconnect_integration::error::ErrorChain(&e)
            )),
        }
    }

    fn emit(&self, counts: &BTreeMap<&'static str, u32>, request_id: &str) {
        // A directive without metrics is not a valid EMF document: nothing counted, nothing
        // written (an empty batch).
        if counts.is_empty() {
            return;
        }
        let (namespace, service) = match &self.metrics {
            MetricsOut::Stdout { namespace, service } => (namespace.as_str(), service.as_str()),
            MetricsOut::Memory(_) => ("Test", "test"),
        };
        let document = emf_document(namespace, service, counts, request_id, SystemTime::now());
        match &self.metrics {
            MetricsOut::Stdout { .. } => metrics::write_stdout_line(document.to_string()),
            MetricsOut::Memory(docs) => docs
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(document),
        }
    }
}

struct ReadMarker {
    marker: DisconnectMarker,
    recorded_events: Vec<String>,
}

fn s(text: &str) -> AttributeValue {
    AttributeValue::S(text.to_owned())
}

/// One EMF document of counts (dimension `Service`), with the invocation's `requestId`.
pub fn emf_document(
    namespace: &str,
    service: &str,
    counts: &BTreeMap<&'static str, u32>,
    request_id: &str,
    at: SystemTime,
) -> Value {
    let timestamp = at
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let directive = metrics::Directive {
        dimensions: &[metrics::SERVICE],
        metrics: counts
            .keys()
            .map(|name| (*name, metrics::Unit::Count))
            .collect(),
    };
    let mut root = serde_json::Map::new();
    root.insert(metrics::SERVICE.to_owned(), json!(service));
    root.insert("requestId".to_owned(), json!(request_id));
    for (name, count) in counts {
        root.insert((*name).to_owned(), json!(count));
    }
    metrics::emf_document(namespace, &[directive], root, timestamp)
}

/// One line per record: what became of it, never the token.
fn log(record: &StreamRecord, handling: &Handling) {
    let integration = record
        .key(PK)
        .and_then(|pk| pk.strip_prefix("INTEGRATION#"))
        .unwrap_or("");
    let token_key = record.key(SK).unwrap_or("");
    match handling {
        Handling::Recorded { verdict, reason } => {
            let reason = reason.as_deref().unwrap_or("");
            if *verdict == Verdict::Failed {
                tracing::error!(target: TARGET, integrationId = integration, tokenKey = token_key, outcome = verdict.as_str(), reason, eventId = %record.event_id, "token revocation failed");
            } else {
                tracing::info!(target: TARGET, integrationId = integration, tokenKey = token_key, outcome = verdict.as_str(), eventId = %record.event_id, "token revocation");
            }
        }
        Handling::AlreadyRecorded => {
            tracing::info!(target: TARGET, integrationId = integration, tokenKey = token_key, eventId = %record.event_id, "recorded by an earlier delivery")
        }
        Handling::Ignored(why) => {
            tracing::debug!(target: TARGET, eventId = %record.event_id, why, "ignored")
        }
        Handling::Skipped(why) => {
            tracing::warn!(target: TARGET, integrationId = integration, tokenKey = token_key, eventId = %record.event_id, why, "token item skipped")
        }
        Handling::Retry(reason) => {
            tracing::warn!(target: TARGET, integrationId = integration, tokenKey = token_key, eventId = %record.event_id, reason = reason.as_str(), "will retry")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_counted_name_is_in_the_stacks_metric_catalog() {
        let verdicts = [
            Verdict::Revoked,
            Verdict::AlreadyRevoked,
            Verdict::Unsupported,
            Verdict::SharedGrant,
            Verdict::Failed,
        ];
        let counted = verdicts.iter().map(|v| v.metric()).chain([
            "RemovalsIgnored",
            "TokensSkipped",
            "RevocationsRetried",
        ]);
        for name in counted {
            assert!(
                METRICS.contains(&name),
                "{name} is not in REVOCATION_METRICS"
            );
        }
    }
}
