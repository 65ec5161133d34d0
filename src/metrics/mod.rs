//! Metrics in CloudWatch Embedded Metric Format (EMF): one JSON document per invocation,
//! written to stdout as the invocation ends, which CloudWatch Logs turns into metrics. No API
//! call, no added latency, no permission beyond writing logs.
//!
//! - Every metric is published under exactly one dimension set ([`Metric::dimensions`]), and
//!   every dimension value comes from a small closed set: `Service` (a setting, the stack name
//!   in the template), `IntegrationType` (the platform, or `other`, see
//!   [`integration_type_dimension`]) and `Code` (an `error.code`). Account and integration ids
//!   are never dimensions; the document carries the invocation's `requestId` as a plain
//!   property, so a metric point leads to its log lines.
//! - Each invocation collects into its own [`Recorder`] (a task-local), so that concurrent
//!   invocations in one process (Lambda Managed Instances) never mix their metrics. What init
//!   records (its secret read and DynamoDB Query) is carried into the first invocation's
//!   document, with `ColdStart`.
//! - AWS calls are timed by [`CallTimer`] (`call_timer.rs`), an SDK interceptor on both
//!   clients, from the start of the operation to its end, retries included.
//! - The EMF format and the sink are `function_support::emf`'s, shared with the revoker.
//!
//! Why not the `metrics` facade with `metrics_cloudwatch_embedded`: its collector is global
//! and flushed per invocation, so with several invocations at once in one process their
//! metrics would land in each other's documents (under the wrong `requestId`), and every
//! record would go through a global registry.

mod call_timer;

use std::cell::RefCell;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};

use function_support::emf::{self, Directive, Sink};
use integrations_table::IntegrationType;
use serde_json::{Map, Value, json};

pub use call_timer::CallTimer;
pub use function_support::emf::Unit;

/// `METRICS_NAMESPACE` when unset.
pub use function_support::emf::DEFAULT_NAMESPACE;
/// `METRICS_SERVICE` when unset (and `AWS_LAMBDA_FUNCTION_NAME` is unset too).
pub const DEFAULT_SERVICE: &str = "disconnect-integration";

/// The dimension every metric has: the deployment (the stack name in the template).
pub use function_support::emf::SERVICE;
/// The platform of a disconnected integration.
pub const INTEGRATION_TYPE: &str = "IntegrationType";
/// The `error.code` of a rejected or failed request.
pub const CODE: &str = "Code";

/// The `IntegrationType` value of a platform type read from the table: a type of the one list
/// ([`IntegrationType`], in `integrations-table`) as it is (lower case), anything else `other`,
/// so the table's data cannot mint dimensions.
pub fn integration_type_dimension(integration_type: &str) -> &'static str {
    IntegrationType::parse(integration_type.trim()).map_or("other", IntegrationType::as_str)
}

/// Every metric the function emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    /// The first invocation of an execution environment.
    ColdStart,
    /// A DELETE that disconnected an integration (200, first time).
    Disconnects,
    /// A DELETE of an integration this account had already disconnected (200 again).
    Repeats,
    /// A request answered with a 4xx, by `error.code`.
    Rejected,
    /// A request answered with a 5xx, by `error.code`.
    ServerErrors,
    /// A good read of the API-keys secret into the key cache.
    KeyCacheRefreshes,
    /// A failed read of the API-keys secret (the call failed, or the content is malformed).
    KeyCacheRefreshFailures,
    /// A request whose key was checked against the last good keys past their TTL, because
    /// Secrets Manager failed.
    StaleKeysServed,
    /// A read of the API-keys secret whose value is at or above 80% of Secrets Manager's
    /// 65,536-byte limit.
    ApiKeysSecretNearLimit,
    /// A key found in the previous layout of the API keys, which the new one does not list:
    /// while keys move to the new layout (docs/api-keys.md), this falls to zero when every
    /// entry is copied.
    ApiKeysFoundInPrevious,
    /// One DynamoDB Query (one page), retries included.
    QueryLatency,
    /// One DynamoDB BatchWriteItem (surplus tokens), retries included.
    BatchWriteItemLatency,
    /// One DynamoDB TransactWriteItems, retries included.
    TransactWriteItemsLatency,
    /// One Secrets Manager GetSecretValue, retries included.
    GetSecretValueLatency,
}

impl Metric {
    pub const ALL: [Metric; 14] = [
        Self::ColdStart,
        Self::Disconnects,
        Self::Repeats,
        Self::Rejected,
        Self::ServerErrors,
        Self::KeyCacheRefreshes,
        Self::KeyCacheRefreshFailures,
        Self::StaleKeysServed,
        Self::ApiKeysSecretNearLimit,
        Self::ApiKeysFoundInPrevious,
        Self::QueryLatency,
        Self::BatchWriteItemLatency,
        Self::TransactWriteItemsLatency,
        Self::GetSecretValueLatency,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::ColdStart => "ColdStart",
            Self::Disconnects => "Disconnects",
            Self::Repeats => "Repeats",
            Self::Rejected => "Rejected",
            Self::ServerErrors => "ServerErrors",
            Self::KeyCacheRefreshes => "KeyCacheRefreshes",
            Self::KeyCacheRefreshFailures => "KeyCacheRefreshFailures",
            Self::StaleKeysServed => "StaleKeysServed",
            Self::ApiKeysSecretNearLimit => "ApiKeysSecretNearLimit",
            Self::ApiKeysFoundInPrevious => "ApiKeysFoundInPrevious",
            Self::QueryLatency => "QueryLatency",
            Self::BatchWriteItemLatency => "BatchWriteItemLatency",
            Self::TransactWriteItemsLatency => "TransactWriteItemsLatency",
            Self::GetSecretValueLatency => "GetSecretValueLatency",
        }
    }

    pub fn unit(self) -> Unit {
        match self {
            Self::QueryLatency
            | Self::BatchWriteItemLatency
            | Self::TransactWriteItemsLatency
            | Self::GetSecretValueLatency => Unit::Milliseconds,
            _ => Unit::Count,
        }
    }

    /// The one dimension set the metric is published under.
    pub fn dimensions(self) -> &'static [&'static str] {
        match self {
            Self::Disconnects | Self::Repeats => &[SERVICE, INTEGRATION_TYPE],
            Self::Rejected | Self::ServerErrors => &[SERVICE, CODE],
            _ => &[SERVICE],
        }
    }

    /// The latency metric of an AWS operation, by its name in the SDK.
    pub fn latency_of(operation: &str) -> Option<Metric> {
        match operation {
            "Query" => Some(Self::QueryLatency),
            "BatchWriteItem" => Some(Self::BatchWriteItemLatency),
            "TransactWriteItems" => Some(Self::TransactWriteItemsLatency),
            "GetSecretValue" => Some(Self::GetSecretValueLatency),
            _ => None,
        }
    }
}

/// What one invocation recorded.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Recorder {
    values: Vec<(Metric, f64)>,
    integration_type: Option<&'static str>,
    code: Option<&'static str>,
}

impl Recorder {
    pub fn add(&mut self, metric: Metric, value: f64) {
        self.values.push((metric, value));
    }

    /// The invocation disconnected (or repeated) an integration of this platform type.
    pub fn disconnected(&mut self, integration_type: &str, repeat: bool) {
        self.integration_type = Some(integration_type_dimension(integration_type));
        let metric = if repeat {
            Metric::Repeats
        } else {
            Metric::Disconnects
        };
        self.add(metric, 1.0);
    }

    /// The invocation answered an error with this `error.code`.
    pub fn failed(&mut self, code: &'static str, server_error: bool) {
        self.code = Some(code);
        let metric = if server_error {
            Metric::ServerErrors
        } else {
            Metric::Rejected
        };
        self.add(metric, 1.0);
    }

    /// The values of `metric`, in the order recorded.
    pub fn values(&self, metric: Metric) -> Vec<f64> {
        self.values
            .iter()
            .filter(|(m, _)| *m == metric)
            .map(|(_, v)| *v)
            .collect()
    }
}

tokio::task_local! {
    static CURRENT: RefCell<Recorder>;
}

/// Records `value` for `metric` in the current [`collect`] scope (an invocation, or init);
/// outside any scope it is dropped.
pub fn record(metric: Metric, value: f64) {
    let _ = CURRENT.try_with(|r| r.borrow_mut().add(metric, value));
}

/// Runs `f` on the current invocation's recorder, if there is one.
pub fn with_current(f: impl FnOnce(&mut Recorder)) {
    let _ = CURRENT.try_with(|r| f(&mut r.borrow_mut()));
}

/// Counts one occurrence of `metric`.
pub fn count(metric: Metric) {
    record(metric, 1.0);
}

/// Runs `work` with a recorder of its own, which starts with `carried` (what init recorded,
/// for the first invocation), and returns what it recorded besides its output.
pub async fn collect<T>(carried: Recorder, work: impl Future<Output = T>) -> (T, Recorder) {
    CURRENT
        .scope(RefCell::new(carried), async {
            let output = work.await;
            (output, CURRENT.with(|r| r.take()))
        })
        .await
}

/// Writes one EMF document per invocation.
#[derive(Debug, Clone)]
pub struct Emitter {
    namespace: String,
    service: String,
    sink: Sink,
    cold: std::sync::Arc<AtomicBool>,
}

impl Emitter {
    pub fn new(namespace: impl Into<String>, service: impl Into<String>, sink: Sink) -> Self {
        Self {
            namespace: namespace.into(),
            service: service.into(),
            sink,
            cold: std::sync::Arc::new(AtomicBool::new(true)),
        }
    }

    pub fn with_sink(mut self, sink: Sink) -> Self {
        self.sink = sink;
        self
    }

    /// Writes the document of one invocation (the first one of the process also counts
    /// `ColdStart`).
    pub fn emit(&self, mut recorder: Recorder, request_id: &str) {
        if self.sink.is_off() {
            return;
        }
        if self.cold.swap(false, Ordering::Relaxed) {
            recorder.values.insert(0, (Metric::ColdStart, 1.0));
        }
        self.sink
            .write(&self.document(&recorder, request_id, emf::now_ms()));
    }

    /// The EMF document: one metric directive per dimension set in use, the dimension values
    /// and the metric values at the root (a list when a metric was recorded more than once).
    pub fn document(&self, recorder: &Recorder, request_id: &str, timestamp_ms: u64) -> Value {
        let mut root = Map::new();
        let mut directives: Vec<Directive<'static>> = Vec::new();
        let mut seen: Vec<Metric> = Vec::new();
        for (metric, _) in &recorder.values {
            let metric = *metric;
            if seen.contains(&metric) || !self.has_dimension_values(metric, recorder) {
                continue;
            }
            seen.push(metric);
            let values = recorder.values(metric);
            root.insert(
                metric.name().to_owned(),
                match values.as_slice() {
                    [one] => json!(one),
                    many => json!(many),
                },
            );
            let definition = (metric.name(), metric.unit());
            match directives
                .iter_mut()
                .find(|d| d.dimensions == metric.dimensions())
            {
                Some(directive) => directive.metrics.push(definition),
                None => directives.push(Directive {
                    dimensions: metric.dimensions(),
                    metrics: vec![definition],
                }),
            }
        }
        root.insert(SERVICE.to_owned(), json!(self.service));
        if let Some(t) = recorder.integration_type {
            root.insert(INTEGRATION_TYPE.to_owned(), json!(t));
        }
        if let Some(code) = recorder.code {
            root.insert(CODE.to_owned(), json!(code));
        }
        root.insert("requestId".to_owned(), json!(request_id));
        emf::document(&self.namespace, &directives, root, timestamp_ms)
    }

    fn has_dimension_values(&self, metric: Metric, recorder: &Recorder) -> bool {
        metric.dimensions().iter().all(|d| match *d {
            INTEGRATION_TYPE => recorder.integration_type.is_some(),
            CODE => recorder.code.is_some(),
            _ => true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emitter() -> Emitter {
        Emitter::new("Ns", "svc", Sink::Off)
    }

    #[test]
    fn every_metric_has_a_name_unit_and_one_dimension_set_starting_with_service() {
        let mut names: Vec<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Metric::ALL.len());
        for metric in Metric::ALL {
            assert_eq!(metric.dimensions()[0], SERVICE, "{metric:?}");
        }
    }

    #[test]
    fn platform_types_outside_the_known_list_are_other() {
        let cases = [
            ("youtube", "youtube"),
            ("YouTube", "youtube"),
            (" tiktok ", "tiktok"),
            // Every type the revoker maps to a platform is its own dimension.
            ("google", "google"),
            ("google_business", "google_business"),
            ("reddit", "reddit"),
            ("myspace", "other"),
            ("", "other"),
            ("acct_123", "other"),
        ];
        for (raw, expected) in cases {
            assert_eq!(integration_type_dimension(raw), expected, "{raw:?}");
        }
    }

    #[test]
    fn a_document_has_a_directive_per_dimension_set_and_lists_for_repeated_values() {
        let mut recorder = Recorder::default();
        recorder.add(Metric::QueryLatency, 2.5);
        recorder.add(Metric::QueryLatency, 3.0);
        recorder.add(Metric::TransactWriteItemsLatency, 4.0);
        recorder.disconnected("Instagram", false);
        let doc = emitter().document(&recorder, "req-1", 1_700_000_000_000);
        assert_eq!(
            doc,
            json!({
                "_aws": {"Timestamp": 1_700_000_000_000u64, "CloudWatchMetrics": [
                    {"Namespace": "Ns", "Dimensions": [["Service"]], "Metrics": [
                        {"Name": "QueryLatency", "Unit": "Milliseconds"},
                        {"Name": "TransactWriteItemsLatency", "Unit": "Milliseconds"}]},
                    {"Namespace": "Ns", "Dimensions": [["Service", "IntegrationType"]], "Metrics": [
                        {"Name": "Disconnects", "Unit": "Count"}]}
                ]},
                "QueryLatency": [2.5, 3.0],
                "TransactWriteItemsLatency": 4.0,
                "Disconnects": 1.0,
                "Service": "svc",
                "IntegrationType": "instagram",
                "requestId": "req-1"
            })
        );
    }

    #[test]
    fn the_first_document_of_a_process_counts_the_cold_start_and_later_ones_do_not() {
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let emitter = Emitter::new("Ns", "svc", Sink::Memory(lines.clone()));
        let mut failed = Recorder::default();
        failed.failed("invalid_api_key", false);
        emitter.emit(failed.clone(), "a");
        emitter.emit(failed, "b");
        let docs: Vec<Value> = lines
            .lock()
            .unwrap()
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(docs[0]["ColdStart"], 1.0);
        assert!(docs[1].get("ColdStart").is_none());
        assert_eq!(docs[1]["Rejected"], 1.0);
        assert_eq!(docs[1]["Code"], "invalid_api_key");
    }

    #[tokio::test]
    async fn concurrent_invocations_keep_their_own_metrics() {
        let (a, b) = tokio::join!(
            collect(Recorder::default(), async {
                record(Metric::QueryLatency, 11.25);
                tokio::task::yield_now().await;
                record(Metric::QueryLatency, 11.5);
            }),
            collect(Recorder::default(), async {
                tokio::task::yield_now().await;
                record(Metric::QueryLatency, 22.25);
            })
        );
        let (a, b) = (
            a.1.values(Metric::QueryLatency),
            b.1.values(Metric::QueryLatency),
        );
        assert!(
            a.contains(&11.25) && a.contains(&11.5) && !a.contains(&22.25),
            "{a:?}"
        );
        assert!(
            b.contains(&22.25) && !b.contains(&11.25) && !b.contains(&11.5),
            "{b:?}"
        );
    }
}
