//! What the consumer writes to stdout: one log line per record, and one EMF document of counts
//! per invocation. Never a token value.

use std::collections::BTreeMap;
use std::time::SystemTime;

use disconnect_integration::metrics;
use integrations_table::keys::{PK, SK};
use serde_json::{Value, json};

use crate::outcome::{Handling, MarkerOutcome, Metric};
use crate::stream::StreamRecord;

/// The log target of the outcome lines.
pub const TARGET: &str = "revocation";

/// Where the metric documents go.
#[derive(Clone)]
pub enum MetricsOut {
    Stdout { namespace: String, service: String },
    Memory(std::sync::Arc<std::sync::Mutex<Vec<Value>>>),
}

impl MetricsOut {
    /// Writes one document of `counts` (nothing when nothing was counted: a directive without
    /// metrics is not a valid EMF document).
    pub fn emit(&self, counts: &BTreeMap<Metric, u32>, request_id: &str) {
        if counts.is_empty() {
            return;
        }
        let (namespace, service) = match self {
            MetricsOut::Stdout { namespace, service } => (namespace.as_str(), service.as_str()),
            MetricsOut::Memory(_) => ("Test", "test"),
        };
        let document = emf_document(namespace, service, counts, request_id, SystemTime::now());
        match self {
            MetricsOut::Stdout { .. } => metrics::write_stdout_line(document.to_string()),
            MetricsOut::Memory(docs) => docs
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(document),
        }
    }
}

/// One EMF document of counts (dimension `Service`), with the invocation's `requestId`.
pub fn emf_document(
    namespace: &str,
    service: &str,
    counts: &BTreeMap<Metric, u32>,
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
            .map(|metric| (metric.name(), metrics::Unit::Count))
            .collect(),
    };
    let mut root = serde_json::Map::new();
    root.insert(metrics::SERVICE.to_owned(), json!(service));
    root.insert("requestId".to_owned(), json!(request_id));
    for (metric, count) in counts {
        root.insert(metric.name().to_owned(), json!(count));
    }
    metrics::emf_document(namespace, &[directive], root, timestamp)
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
            let reason = reason.as_deref().unwrap_or("");
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
            tracing::warn!(target: TARGET, integrationId = integration, tokenKey = token_key, eventId = event, reason = reason.as_str(), "will retry")
        }
        Handling::Deferred => {
            tracing::info!(target: TARGET, integrationId = integration, tokenKey = token_key, eventId = event, "deferred: too little of the invocation left")
        }
    }
}
