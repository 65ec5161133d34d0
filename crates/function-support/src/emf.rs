//! CloudWatch Embedded Metric Format (EMF): the one writer of both functions' metric documents,
//! and the one sink they go to.
//!
//! A document is one JSON line on stdout, which CloudWatch Logs turns into metrics: no API
//! call, no added latency, no permission beyond writing logs. Each function builds its
//! documents from its own catalogue; this module knows only the format.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

/// The dimension every metric of the stack has: the deployment (the stack name).
pub const SERVICE: &str = "Service";
/// The namespace of the stack's metrics when `METRICS_NAMESPACE` is unset (the template sets the
/// same for both functions).
pub const DEFAULT_NAMESPACE: &str = "DisconnectIntegration";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Count => "Count",
            Self::Milliseconds => "Milliseconds",
        }
    }
}

/// One metric directive of an EMF document: a dimension set and the metrics published under it.
#[derive(Debug, Clone, PartialEq)]
pub struct Directive<'a> {
    pub dimensions: &'a [&'a str],
    pub metrics: Vec<(&'a str, Unit)>,
}

/// An EMF document: `_aws` (the timestamp and one directive per dimension set, in
/// `namespace`), then `root`: the dimension values, the metric values and any property.
pub fn document(
    namespace: &str,
    directives: &[Directive<'_>],
    root: Map<String, Value>,
    timestamp_ms: u64,
) -> Value {
    let directives: Vec<Value> = directives
        .iter()
        .map(|d| {
            let metrics: Vec<Value> = d
                .metrics
                .iter()
                .map(|(name, unit)| json!({"Name": name, "Unit": unit.as_str()}))
                .collect();
            json!({"Namespace": namespace, "Dimensions": [d.dimensions], "Metrics": metrics})
        })
        .collect();
    let mut document = Map::new();
    document.insert(
        "_aws".to_owned(),
        json!({"Timestamp": timestamp_ms, "CloudWatchMetrics": directives}),
    );
    document.extend(root);
    Value::Object(document)
}

/// Where documents go.
#[derive(Clone, Default)]
pub enum Sink {
    /// The process's stdout, one line per document: what CloudWatch Logs reads.
    #[default]
    Stdout,
    /// Kept in memory, one line per document, for tests.
    Memory(Arc<Mutex<Vec<String>>>),
    /// Nowhere.
    Off,
}

impl Sink {
    /// Writes `document` as one line.
    pub fn write(&self, document: &Value) {
        match self {
            Self::Stdout => write_stdout_line(document.to_string()),
            Self::Memory(lines) => lines
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(document.to_string()),
            Self::Off => {}
        }
    }

    pub fn is_off(&self) -> bool {
        matches!(self, Self::Off)
    }
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Stdout => "Stdout",
            Self::Memory(_) => "Memory",
            Self::Off => "Off",
        })
    }
}

/// Writes `line` and a newline to stdout in one write, so that it is never interleaved with a
/// log line.
fn write_stdout_line(line: String) {
    let mut bytes = line.into_bytes();
    bytes.push(b'\n');
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(&bytes).and_then(|()| out.flush());
}

/// Now, in epoch milliseconds: a document's timestamp.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_has_its_directives_and_the_root() {
        let mut root = Map::new();
        root.insert(SERVICE.to_owned(), json!("svc"));
        root.insert("Hits".to_owned(), json!(2));
        let doc = document(
            "Ns",
            &[Directive {
                dimensions: &[SERVICE],
                metrics: vec![("Hits", Unit::Count), ("Took", Unit::Milliseconds)],
            }],
            root,
            1_700_000_000_000,
        );
        assert_eq!(
            doc,
            json!({"_aws": {"Timestamp": 1_700_000_000_000u64, "CloudWatchMetrics": [
                {"Namespace": "Ns", "Dimensions": [["Service"]], "Metrics": [
                    {"Name": "Hits", "Unit": "Count"}, {"Name": "Took", "Unit": "Milliseconds"}]}]},
                "Service": "svc", "Hits": 2})
        );
    }

    #[test]
    fn a_memory_sink_keeps_one_line_per_document_and_off_keeps_none() {
        let lines = Arc::new(Mutex::new(Vec::new()));
        Sink::Memory(lines.clone()).write(&json!({"a": 1}));
        Sink::Off.write(&json!({"b": 2}));
        assert_eq!(*lines.lock().unwrap(), [r#"{"a":1}"#]);
        assert!(Sink::Off.is_off() && !Sink::Stdout.is_off());
        assert!(now_ms() > 1_700_000_000_000);
    }
}
