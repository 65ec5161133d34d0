//! What the consumer writes to stdout: one log line per record, and one EMF document of counts
//! per invocation. Never a token value.

use std::collections::BTreeMap;

use function_support::emf::{self, Directive, SERVICE, Sink, Unit};
use integrations_table::keys::{PK, SK};
use serde_json::{Value, json};

use crate::outcome::{Handling, MarkerOutcome, Metric};
use crate::stream::{RecordView, StreamRecord};

/// The log target of the outcome lines.
pub const TARGET: &str = "revocation";
/// What the template appends to the stack name for the revoker's `Service` dimension.
pub const SERVICE_SUFFIX: &str = "-revoke-tokens";

/// The invocation's metric document: its namespace, its `Service` dimension and its sink.
#[derive(Debug, Clone)]
pub struct Metrics {
    namespace: String,
    service: String,
    sink: Sink,
}

impl Metrics {
    pub fn new(namespace: &str, service: &str, sink: Sink) -> Self {
        Self {
            namespace: namespace.to_owned(),
            service: service.to_owned(),
            sink,
        }
    }

    /// Writes one document of `counts` (nothing when nothing was counted: a directive without
    /// metrics is not a valid EMF document).
    pub fn emit(&self, counts: &BTreeMap<Metric, u32>, request_id: &str) {
        if counts.is_empty() {
            return;
        }
        self.sink
            .write(&self.document(counts, request_id, emf::now_ms()));
    }

    /// One EMF document of counts (dimension `Service`), with the invocation's `requestId`.
    pub fn document(
        &self,
        counts: &BTreeMap<Metric, u32>,
        request_id: &str,
        timestamp_ms: u64,
    ) -> Value {
        let directive = Directive {
            dimensions: &[SERVICE],
            metrics: counts
                .keys()
                .map(|metric| (metric.name(), Unit::Count))
                .collect(),
        };
        let mut root = serde_json::Map::new();
        root.insert(SERVICE.to_owned(), json!(self.service));
        root.insert("requestId".to_owned(), json!(request_id));
        for (metric, count) in counts {
            root.insert(metric.name().to_owned(), json!(count));
        }
        emf::document(&self.namespace, &[directive], root, timestamp_ms)
    }
}

/// One line per record: what became of it, never the token.
pub fn log(record: &StreamRecord, handling: &Handling) {
    let integration = record
        .key(PK)
        .and_then(|pk| pk.strip_prefix("INTEGRATION#"))
        .unwrap_or("");
    let token_key = record.key(SK).unwrap_or("");
    let event = record.event_id.as_str();
    match handling {
        Handling::Recorded {
            outcome,
            reason,
            via,
            gave_up,
        } => {
            let reason = reason.as_ref().map(ToString::to_string).unwrap_or_default();
            let reason = reason.as_str();
            let via = via.as_deref().unwrap_or("");
            if *outcome == MarkerOutcome::Failed {
                tracing::error!(target: TARGET, integrationId = integration, tokenKey = token_key, outcome = outcome.as_str(), reason, gaveUp = gave_up, eventId = event, "token revocation failed");
            } else {
                tracing::info!(target: TARGET, integrationId = integration, tokenKey = token_key, outcome = outcome.as_str(), reason, via, eventId = event, "token revocation");
            }
        }
        Handling::AlreadyRecorded => {
            tracing::info!(target: TARGET, integrationId = integration, tokenKey = token_key, eventId = event, "recorded by an earlier delivery")
        }
        Handling::Ignored(why) => {
            tracing::debug!(target: TARGET, eventId = event, why, "ignored")
        }
        Handling::Skipped(why) => {
            tracing::warn!(target: TARGET, integrationId = integration, tokenKey = token_key, eventId = event, why, "token item skipped")
        }
        Handling::Retry(reason) => {
            tracing::warn!(target: TARGET, integrationId = integration, tokenKey = token_key, eventId = event, reason = %reason, "will retry")
        }
        Handling::Deferred => {
            tracing::info!(target: TARGET, integrationId = integration, tokenKey = token_key, eventId = event, "deferred: too little of the invocation left")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_counts_under_the_service_dimension_with_the_request_id() {
        let metrics = Metrics::new("Ns", "stack-revoke-tokens", Sink::Off);
        let counts = BTreeMap::from([(Metric::TokensRevoked, 2), (Metric::RemovalsIgnored, 1)]);
        assert_eq!(
            metrics.document(&counts, "req-1", 1_700_000_000_000),
            json!({"_aws": {"Timestamp": 1_700_000_000_000u64, "CloudWatchMetrics": [
                {"Namespace": "Ns", "Dimensions": [["Service"]], "Metrics": [
                    {"Name": "TokensRevoked", "Unit": "Count"},
                    {"Name": "RemovalsIgnored", "Unit": "Count"}]}]},
                "Service": "stack-revoke-tokens", "requestId": "req-1",
                "TokensRevoked": 2, "RemovalsIgnored": 1})
        );
    }

    #[test]
    fn nothing_counted_writes_nothing() {
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let metrics = Metrics::new("Ns", "s", Sink::Memory(lines.clone()));
        metrics.emit(&BTreeMap::new(), "r");
        assert!(lines.lock().unwrap().is_empty());
        metrics.emit(&BTreeMap::from([(Metric::TokensSkipped, 1)]), "r");
        assert_eq!(lines.lock().unwrap().len(), 1);
    }
}
