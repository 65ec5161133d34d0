//! The HTTP edge: reads the front door's event, checks route, method, API key and id in that
//! order, and turns every outcome, a panic included, into an answer in the shape of the
//! front door.

pub mod front_door;
pub mod response;
pub mod route;

use std::panic::AssertUnwindSafe;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::FutureExt;
use integrations_table::IntegrationId;
use lambda_runtime::Context;

use aws_config::SdkConfig;
use function_support::clock::SharedClock;

use crate::Config;
use crate::api_keys::{ApiKeyVerifier, INIT_READ_TIMEOUT, SCOPE_DELETE};
use crate::disconnect::{Disconnect, Disconnector};
use crate::error::Error;
use crate::metrics::{CallTimer, Emitter, Recorder};
use crate::store::IntegrationStore;
use front_door::Incoming;
use function_support::ErrorChain;
use function_support::emf::Sink;
use function_support::telemetry::panic_message;
use response::{Answer, ApiError, LambdaResponse};
use route::{api_key, route};

/// The target of the audit line: one per disconnect, repeats included.
pub const AUDIT: &str = "audit";
/// The target of the rejected (4xx, INFO) and failed (5xx, ERROR) request lines.
pub const REQUEST: &str = "request";

/// Time kept back from the Lambda invocation's deadline to write the answer.
pub const ANSWER_MARGIN: Duration = Duration::from_millis(250);

/// The function: API-key verification plus the disconnect.
pub struct App {
    keys: ApiKeyVerifier,
    disconnector: Disconnector,
    deadline: Duration,
    panic_probe: Option<IntegrationId>,
    metrics: Emitter,
    /// What init recorded, for the first invocation's metrics document.
    carried: std::sync::Mutex<Recorder>,
}

impl App {
    /// Builds the function from its configuration, one shared SDK configuration and a clock.
    pub fn from_config(config: &Config, sdk: &SdkConfig, clock: SharedClock) -> Self {
        Self::from_clients(
            config,
            aws_sdk_dynamodb::Client::new(sdk),
            aws_sdk_secretsmanager::Client::new(sdk),
            clock,
        )
    }

    /// Builds the function from its configuration and the two clients, so that tests wire
    /// clients of their own (fakes, interceptors, other endpoints) exactly as `main` does.
    /// Every setting comes from `config` (its defaults are in [`crate::config`]).
    pub fn from_clients(
        config: &Config,
        dynamodb: aws_sdk_dynamodb::Client,
        secrets: aws_sdk_secretsmanager::Client,
        clock: SharedClock,
    ) -> Self {
        // Every AWS call is timed into its latency metric, whoever built the clients.
        let dynamodb = aws_sdk_dynamodb::Client::from_conf(
            dynamodb
                .config()
                .to_builder()
                .interceptor(CallTimer)
                .build(),
        );
        let secrets = aws_sdk_secretsmanager::Client::from_conf(
            secrets.config().to_builder().interceptor(CallTimer).build(),
        );
        let keys = ApiKeyVerifier::with_layout(
            secrets,
            config.api_keys.clone(),
            config.api_keys_cache_ttl,
            config.api_keys_max_stale,
            clock.clone(),
        )
        .reading_previous(config.api_keys_previous.clone());
        let disconnector = Disconnector::new(
            IntegrationStore::new(dynamodb, config.table_name.clone()),
            config.marker_ttl,
            clock,
        );
        Self {
            keys,
            disconnector,
            deadline: config.request_deadline,
            panic_probe: config.panic_probe.clone(),
            metrics: Emitter::new(
                &config.metrics_namespace,
                &config.metrics_service,
                Sink::Stdout,
            ),
            carried: std::sync::Mutex::default(),
        }
    }

    /// Sends the EMF documents to `sink` instead (tests keep them in memory).
    pub fn with_metrics_sink(mut self, sink: Sink) -> Self {
        self.metrics = self.metrics.with_sink(sink);
        self
    }

    /// The time this request may take: the configured deadline, or less if the Lambda
    /// invocation ends sooner (keeping [`ANSWER_MARGIN`] to answer). A deadline that is no
    /// epoch time (`cargo lambda watch` sends a relative 600000) is ignored.
    pub fn budget(&self, context: &Context) -> Duration {
        // 2001-09-09 in epoch milliseconds: any real invocation deadline is later.
        const PLAUSIBLE_EPOCH_MS: u64 = 1_000_000_000_000;
        let lambda_left = (context.deadline >= PLAUSIBLE_EPOCH_MS).then(|| {
            let ends = UNIX_EPOCH + Duration::from_millis(context.deadline);
            ends.duration_since(SystemTime::now())
                .unwrap_or_default()
                .saturating_sub(ANSWER_MARGIN)
        });
        lambda_left.map_or(self.deadline, |left| left.min(self.deadline))
    }

    pub fn keys(&self) -> &ApiKeyVerifier {
        &self.keys
    }

    /// Init's head start, bounded by [`INIT_READ_TIMEOUT`]: reads the API-keys secret and, at
    /// the same time, opens the DynamoDB connection with one consistent Query of a partition
    /// that never exists (no IAM action beyond the function's own), so the first request pays
    /// for neither. A failure never fails init: the first request tries again.
    pub async fn warm_up(&self) {
        let keys = self.keys.warm_up();
        let table = tokio::time::timeout(INIT_READ_TIMEOUT, self.disconnector.prime());
        let ((keys, table), recorded) =
            crate::metrics::collect(Recorder::default(), async { tokio::join!(keys, table) }).await;
        *self.carried.lock().unwrap_or_else(|e| e.into_inner()) = recorded;
        if let Err(err) = keys {
            tracing::warn!(error = %ErrorChain(&err), "could not read the API-keys secret at init");
        }
        match table {
            Ok(Ok(())) => {}
            Ok(Err(err)) => {
                tracing::warn!(error = %ErrorChain(&err), "could not reach DynamoDB at init")
            }
            Err(_) => tracing::warn!("DynamoDB did not answer within the init budget"),
        }
    }

    /// Serves one event, given as the JSON text the runtime received. Never fails: every
    /// outcome, even a panic while reading the event, is an answer.
    pub async fn handle(&self, event: &str, context: &Context) -> LambdaResponse {
        let request_id = Some(context.request_id.as_str())
            .filter(|id| !id.is_empty())
            .unwrap_or("unknown");
        let carried = std::mem::take(&mut *self.carried.lock().unwrap_or_else(|e| e.into_inner()));
        let (response, recorder) =
            crate::metrics::collect(carried, self.answer(event, context, request_id)).await;
        self.metrics.emit(recorder, request_id);
        response
    }

    /// The answer to one event, with the invocation's outcome recorded for its metrics.
    async fn answer(&self, event: &str, context: &Context, request_id: &str) -> LambdaResponse {
        let door = OnceLock::new();
        let method = OnceLock::new();
        let budget = self.budget(context);
        tracing::debug!(
            lambdaDeadlineMs = context.deadline,
            budgetMs = budget.as_millis() as u64,
            "request budget"
        );
        let outcome = AssertUnwindSafe(async {
            let incoming = Incoming::from_json(event).map_err(ApiError::NotHttp)?;
            let _ = door.set(incoming.door);
            let _ = method.set(incoming.method_for_log().to_owned());
            // One deadline for everything: key checks, every AWS call with its retries, the
            // read-decide-write loop and its back-offs.
            tokio::time::timeout(budget, self.serve(&incoming, request_id))
                .await
                .unwrap_or(Err(ApiError::Domain(Error::DeadlineExceeded { budget })))
        })
        .catch_unwind()
        .await
        .unwrap_or_else(|panic| Err(ApiError::Panic(panic_message(panic.as_ref()).to_owned())));

        let method = method.get().map(String::as_str).unwrap_or("");
        let answer = match outcome {
            Ok(outcome) => {
                record(|r| {
                    r.disconnected(
                        &outcome.marker().integration_type,
                        matches!(outcome, Disconnect::Repeat(_)),
                    )
                });
                Answer::success(outcome.marker(), request_id)
            }
            Err(err) => {
                let code = err.code();
                if code.is_server_error() {
                    tracing::error!(target: REQUEST, method, code = code.as_str(), error = %ErrorChain(&err), "request failed");
                } else {
                    tracing::info!(target: REQUEST, method, code = code.as_str(), reason = %ErrorChain(&err), "request rejected");
                }
                record(|r| r.failed(code.as_str(), code.is_server_error()));
                Answer::error(code, request_id)
            }
        };
        LambdaResponse::for_door(door.get().copied(), answer)
    }

    async fn serve(&self, incoming: &Incoming, request_id: &str) -> Result<Disconnect, ApiError> {
        // A front door that routed by {integrationId} has matched the route already.
        let raw_id = match &incoming.integration_id_parameter {
            Some(parameter) => parameter.as_str(),
            None => route(&incoming.path).ok_or(ApiError::RouteNotFound)?,
        };
        // The exact token: methods are case-sensitive (RFC 9110 §9.1).
        if incoming.method != "DELETE" {
            return Err(ApiError::MethodNotAllowed(
                incoming.method_for_log().to_owned(),
            ));
        }
        let key = api_key(incoming)?;
        let account = self.keys.verify(key, SCOPE_DELETE).await?;
        let id = incoming
            .decode(raw_id)
            .and_then(|decoded| IntegrationId::parse(&decoded))
            .map_err(ApiError::InvalidIntegrationId)?;
        if self.panic_probe.as_ref() == Some(&id) {
            panic!("panic probe: PANIC_PROBE_INTEGRATION_ID={id}");
        }
        let outcome = self
            .disconnector
            .disconnect(&account, &id, Some(request_id))
            .await?;
        let marker = outcome.marker();
        // The audit line: who disconnected what. Never a key or a token value.
        tracing::info!(
            target: AUDIT,
            accountId = %account,
            integrationId = %id,
            "type" = %marker.integration_type,
            disconnectedAt = %marker.disconnected_at,
            repeat = matches!(outcome, Disconnect::Repeat(_)),
            "integration disconnected"
        );
        Ok(outcome)
    }
}

/// Records into the current invocation's metrics.
fn record(f: impl FnOnce(&mut Recorder)) {
    crate::metrics::with_current(f);
}
