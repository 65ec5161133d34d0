//! Logging: one subscriber for both functions' binaries and for the tests that read their
//! stdout.
//!
//! - `AWS_LAMBDA_LOG_FORMAT=JSON` (what the template's `LoggingConfig: LogFormat: JSON` sets)
//!   gives JSON lines; anything else gives human-readable text for local runs.
//! - The level comes from `RUST_LOG` (full `EnvFilter` syntax) or else `AWS_LAMBDA_LOG_LEVEL`
//!   (`TRACE` .. `FATAL`), default `INFO`.
//! - A JSON line holds `timestamp` (RFC 3339, UTC), `level`, `target`, `message`, the event's
//!   own fields flat at the top level, and `requestId` / `xrayTraceId` of the invocation.
//! - A panic is one line of the same format, target `panic`.
//! - TRACE is honoured for the function's own targets only (the list it passes). Dependencies
//!   are capped at DEBUG: at TRACE, lambda_runtime prints every raw event (the `x-api-key`
//!   header in it, a stream record's token) and the SDKs print raw requests and responses (the
//!   key hashes of the API-keys secret, the platforms' answers).

use std::io;

use json_subscriber::JsonLayer;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Level, Metadata, Subscriber};
use tracing_subscriber::filter::{EnvFilter, FilterExt};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{Layer, Registry};

/// The target of the line a panic writes.
pub const PANIC: &str = "panic";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

/// How to log, from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub format: LogFormat,
    /// `EnvFilter` directives.
    pub filter: String,
    /// The targets (prefixes) whose TRACE events may be shown: the function's own.
    pub own_targets: &'static [&'static str],
}

impl Settings {
    pub fn from_env(own_targets: &'static [&'static str]) -> Self {
        Self::from_lookup(own_targets, |name| std::env::var(name).ok())
    }

    pub fn from_lookup(
        own_targets: &'static [&'static str],
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Self {
        let format = match lookup("AWS_LAMBDA_LOG_FORMAT") {
            Some(f) if f.trim().eq_ignore_ascii_case("json") => LogFormat::Json,
            _ => LogFormat::Text,
        };
        let filter = lookup("RUST_LOG")
            .filter(|f| !f.trim().is_empty())
            .or_else(|| {
                lookup("AWS_LAMBDA_LOG_LEVEL").map(|level| {
                    match level.trim().to_ascii_lowercase() {
                        // Lambda's levels: TRACE, DEBUG, INFO, WARN, ERROR, FATAL.
                        fatal if fatal == "fatal" => "error".to_owned(),
                        other => other,
                    }
                })
            })
            .filter(|f| !f.is_empty())
            .unwrap_or_else(|| "info".to_owned());
        Self {
            format,
            filter,
            own_targets,
        }
    }
}

/// The subscriber for `settings`, writing to `writer`.
pub fn subscriber<W>(settings: &Settings, writer: W) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let env_filter =
        EnvFilter::try_new(&settings.filter).unwrap_or_else(|_| EnvFilter::new("info"));
    // The invocation span carries requestId: it is kept at every level, so that a WARN or
    // ERROR line still names its invocation when INFO is filtered out.
    let filter = env_filter
        .or(ByCallsite::Invocation)
        .and(ByCallsite::TraceOnlyFor(settings.own_targets));
    match settings.format {
        LogFormat::Json => {
            let mut layer = JsonLayer::new(writer);
            layer
                .with_timer("timestamp", tracing_subscriber::fmt::time::SystemTime)
                .with_level("level")
                .with_target("target")
                .with_flattened_event();
            layer.add_dynamic_field("requestId", |event, ctx| {
                invocation_ids(event, ctx).and_then(|ids| ids.request_id)
            });
            layer.add_dynamic_field("xrayTraceId", |event, ctx| {
                invocation_ids(event, ctx).and_then(|ids| ids.xray_trace_id)
            });
            // InvocationIds sits under the same filter: a span the filter leaves out (the SDK
            // opens several DEBUG spans per call) is then never built at all.
            Box::new(Registry::default().with(InvocationIds.and_then(layer).with_filter(filter)))
        }
        LogFormat::Text => Box::new(
            Registry::default().with(
                tracing_subscriber::fmt::layer()
                    .with_writer(writer)
                    .with_ansi(false)
                    .with_filter(filter),
            ),
        ),
    }
}

/// Installs the subscriber for the process's environment, writing to stdout, and a panic hook
/// that logs a panic as one line of the same format (target `panic`) instead of the default
/// hook's plain text on stderr. `own_targets`: see [`Settings::own_targets`].
pub fn init_from_env(own_targets: &'static [&'static str]) {
    let settings = Settings::from_env(own_targets);
    // Only fails if a subscriber is already installed, which is then kept.
    let _ = tracing::subscriber::set_global_default(subscriber(&settings, io::stdout));
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = panic_message(info.payload());
        tracing::error!(target: PANIC, location, panic = message, "panicked");
    }));
}

/// The text of a panic's payload (`panic!` gives a `&str` or a `String`).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("non-string payload")
}

/// Filters decided by the callsite alone, so tracing caches its answer per callsite instead of
/// asking again at every event (`filter_fn` would be asked every time).
#[derive(Clone, Copy)]
enum ByCallsite {
    /// lambda_runtime's invocation span (it carries `requestId`), at any level.
    Invocation,
    /// Anything but TRACE, and TRACE only from these targets.
    TraceOnlyFor(&'static [&'static str]),
}

impl ByCallsite {
    fn allows(self, metadata: &Metadata<'_>) -> bool {
        match self {
            Self::Invocation => {
                metadata.is_span() && metadata.target().starts_with("lambda_runtime")
            }
            Self::TraceOnlyFor(own) => {
                *metadata.level() != Level::TRACE
                    || own.iter().any(|t| metadata.target().starts_with(t))
            }
        }
    }
}

impl<S> tracing_subscriber::layer::Filter<S> for ByCallsite {
    fn enabled(&self, metadata: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        self.allows(metadata)
    }

    fn callsite_enabled(&self, metadata: &'static Metadata<'static>) -> Interest {
        if self.allows(metadata) {
            Interest::always()
        } else {
            Interest::never()
        }
    }
}

/// The ids of the invocation a span belongs to: the fields `requestId` and `xrayTraceId` of
/// lambda_runtime's `Lambda runtime invoke` span.
#[derive(Debug, Clone, Default)]
struct InvocationIdsExt {
    request_id: Option<String>,
    xray_trace_id: Option<String>,
}

impl Visit for InvocationIdsExt {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "requestId" => self.request_id = Some(value.to_owned()),
            "xrayTraceId" => self.xray_trace_id = Some(value.to_owned()),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let text = format!("{value:?}");
        self.record_str(field, text.trim_matches('"'));
    }
}

/// Keeps the invocation ids of each span that has them, so that every line logged inside an
/// invocation can carry them at the top level.
struct InvocationIds;

impl<S> Layer<S> for InvocationIds
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut ids = InvocationIdsExt::default();
        attrs.record(&mut ids);
        if (ids.request_id.is_some() || ids.xray_trace_id.is_some())
            && let Some(span) = ctx.span(id)
        {
            span.extensions_mut().insert(ids);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            let mut extensions = span.extensions_mut();
            let mut ids = extensions.remove::<InvocationIdsExt>().unwrap_or_default();
            values.record(&mut ids);
            extensions.insert(ids);
        }
    }
}

fn invocation_ids<S>(event: &tracing::Event<'_>, ctx: &Context<'_, S>) -> Option<InvocationIdsExt>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let scope = ctx.event_scope(event)?;
    scope
        .into_iter()
        .find_map(|span| span.extensions().get::<InvocationIdsExt>().cloned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    const OWN: &[&str] = &["disconnect_integration", "audit"];

    fn settings(vars: &[(&str, &str)]) -> Settings {
        Settings::from_lookup(OWN, |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    fn lines(settings: &Settings, log: impl FnOnce()) -> Vec<serde_json::Value> {
        let buffer = Buffer::default();
        tracing::subscriber::with_default(subscriber(settings, buffer.clone()), log);
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    #[test]
    fn panic_payloads_are_described() {
        let from_str = std::panic::catch_unwind(|| panic!("static")).unwrap_err();
        assert_eq!(panic_message(from_str.as_ref()), "static");
        let from_string = std::panic::catch_unwind(|| panic!("{}", 42)).unwrap_err();
        assert_eq!(panic_message(from_string.as_ref()), "42");
    }

    #[test]
    fn the_environment_chooses_format_and_level() {
        assert_eq!(
            settings(&[]),
            Settings {
                format: LogFormat::Text,
                filter: "info".into(),
                own_targets: OWN,
            }
        );
        let lambda = settings(&[
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ("AWS_LAMBDA_LOG_LEVEL", "FATAL"),
        ]);
        assert_eq!(lambda.format, LogFormat::Json);
        assert_eq!(lambda.filter, "error");
        let rust_log = settings(&[("AWS_LAMBDA_LOG_LEVEL", "WARN"), ("RUST_LOG", "debug")]);
        assert_eq!(rust_log.filter, "debug", "RUST_LOG wins");
    }

    #[test]
    fn json_lines_are_flat_with_time_level_target_and_the_invocation_ids() {
        let json = settings(&[("AWS_LAMBDA_LOG_FORMAT", "json")]);
        let lines = lines(&json, || {
            tracing::info!(target: "audit", accountId = "acct_1", repeat = false, "integration disconnected");
            let span = tracing::info_span!(
                "Lambda runtime invoke",
                requestId = "req-1",
                xrayTraceId = "Root=1"
            );
            let _entered = span.enter();
            let inner = tracing::info_span!("invoke", service = "dynamodb");
            let _inner = inner.enter();
            tracing::warn!(code = "internal_error", "request failed");
        });
        assert_eq!(lines.len(), 2, "{lines:#?}");
        let audit = &lines[0];
        assert_eq!(audit["level"], "INFO");
        assert_eq!(audit["target"], "audit");
        assert_eq!(audit["accountId"], "acct_1");
        assert_eq!(audit["repeat"], false);
        assert_eq!(audit["message"], "integration disconnected");
        assert!(
            audit["timestamp"].as_str().unwrap().ends_with('Z'),
            "{audit}"
        );
        assert!(audit.get("requestId").is_none(), "outside an invocation");
        let inside = &lines[1];
        assert_eq!(inside["requestId"], "req-1", "{inside}");
        assert_eq!(inside["xrayTraceId"], "Root=1");
        assert_eq!(inside["code"], "internal_error");
        assert!(
            inside.get("span").is_none()
                && inside.get("spans").is_none()
                && inside.get("fields").is_none()
        );
    }

    #[test]
    fn lines_above_the_level_still_name_their_invocation() {
        let warn = settings(&[
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ("AWS_LAMBDA_LOG_LEVEL", "WARN"),
        ]);
        let lines = lines(&warn, || {
            let span = tracing::info_span!(target: "lambda_runtime::layers::trace", "Lambda runtime invoke", requestId = "req-2");
            let _entered = span.enter();
            tracing::info!("filtered out");
            tracing::error!(target: "request", "request failed");
        });
        assert_eq!(lines.len(), 1, "{lines:#?}");
        assert_eq!(lines[0]["requestId"], "req-2");
    }

    #[test]
    fn spans_the_level_filters_out_are_never_built() {
        // The SDK opens several DEBUG spans on every call: at INFO none of them may cost a
        // registry entry on the hot path.
        let info = settings(&[("AWS_LAMBDA_LOG_FORMAT", "JSON")]);
        tracing::subscriber::with_default(subscriber(&info, Buffer::default()), || {
            let attempt = tracing::debug_span!(target: "aws_smithy_runtime::client::orchestrator", "try_attempt");
            assert!(attempt.is_disabled());
            let invoke = tracing::info_span!(target: "lambda_runtime::layers::trace", "Lambda runtime invoke", requestId = "r");
            assert!(!invoke.is_disabled());
        });
    }

    #[test]
    fn dependencies_never_log_at_trace_even_when_asked() {
        let trace = settings(&[("AWS_LAMBDA_LOG_FORMAT", "JSON"), ("RUST_LOG", "trace")]);
        let lines = lines(&trace, || {
            tracing::trace!(target: "lambda_runtime::layers::api_response", body = "{\"x-api-key\": \"k\"}", "raw JSON event received from Lambda");
            tracing::trace!(target: "aws_smithy_runtime::client::orchestrator", "raw response");
            tracing::debug!(target: "lambda_runtime::runtime", "debug is fine");
            tracing::trace!(target: "disconnect_integration::store", "our own trace");
        });
        let messages: Vec<&str> = lines
            .iter()
            .map(|l| l["message"].as_str().unwrap())
            .collect();
        assert_eq!(messages, ["debug is fine", "our own trace"]);
    }
}
