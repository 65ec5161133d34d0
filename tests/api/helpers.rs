//! The fixture: each test gets its own table (created from `template.yaml`) on the shared
//! DynamoDB Local, its own API-keys secret on moto, an injected clock, and typed helpers that
//! send events shaped like each front door's.

use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

use aws_config::SdkConfig;
use disconnect_integration::{App, Config};
use function_support::clock::OffsetClock;
use function_support::emf::Sink;
use lambda_runtime::Context;
use serde_json::Value;
pub use test_support::doors::Door;
pub use test_support::lambda_response::TestResponse;
use test_support::local::{KeysSecret, Table, function_env, request_id, sdk_config};

/// The accounts and keys every fixture's secret starts with.
pub const ACCOUNT_A: &str = "acct_a";
pub const ACCOUNT_B: &str = "acct_b";
pub const KEY_A: &str = "test_key_account_a";
pub const KEY_B: &str = "test_key_account_b";

/// The demo data the `events/` samples point at (seeded by `make dev` as well).
pub const DEMO_ACCOUNT: &str = "acct_demo";
pub const DEMO_KEY: &str = "demo_local_key_do_not_use_in_prod";
pub const DEMO_INTEGRATION: &str = "int_yt_abc123";

pub struct TestApp {
    pub app: App,
    pub table: Table,
    pub secret: KeysSecret,
    pub sdk: SdkConfig,
    pub clock: OffsetClock,
    pub config: Config,
    /// The EMF documents the app wrote, one per invocation (kept in memory, not on stdout).
    pub metrics: Arc<Mutex<Vec<String>>>,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// A fixture whose configuration `tweak` may change before the app is built.
    pub async fn spawn_with(tweak: impl FnOnce(&mut Config)) -> Self {
        show_logs_if_asked();
        let sdk = sdk_config().await;
        let table = Table::create(&sdk).await;
        let secret = KeysSecret::create(
            &sdk,
            &[
                (KEY_A, ACCOUNT_A),
                (KEY_B, ACCOUNT_B),
                (DEMO_KEY, DEMO_ACCOUNT),
            ],
        )
        .await;
        let mut config = Config::from_lookup(function_env(&table.name, &secret.id))
            .expect("a valid configuration");
        tweak(&mut config);
        let clock = OffsetClock::default();
        let metrics = Arc::default();
        Self {
            app: App::from_config(&config, &sdk, Arc::new(clock.clone()))
                .with_metrics_sink(Sink::Memory(Arc::clone(&metrics))),
            table,
            secret,
            sdk,
            clock,
            config,
            metrics,
        }
    }

    /// The EMF documents written so far, parsed.
    pub fn metric_documents(&self) -> Vec<Value> {
        self.metrics
            .lock()
            .unwrap()
            .iter()
            .map(|line| serde_json::from_str(line).expect("an EMF document is JSON"))
            .collect()
    }

    /// Reads the API-keys secret now, so that concurrent requests race in DynamoDB rather than
    /// queue behind the first read of the secret.
    pub async fn warm_key_cache(&self) {
        self.app
            .keys()
            .warm_up()
            .await
            .expect("read the API-keys secret");
    }

    /// `DELETE /v1/integration/{id}` through the HTTP API, with `key` as `x-api-key`.
    pub async fn delete_integration(&self, id: &str, key: Option<&str>) -> TestResponse {
        let headers: Vec<(&str, &str)> = key.map(|k| ("x-api-key", k)).into_iter().collect();
        self.request("DELETE", &format!("/v1/integration/{id}"), &headers)
            .await
    }

    /// A request through the HTTP API, the template's front door.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        self.request_via(Door::HttpApi, method, path, headers).await
    }

    pub async fn request_via(
        &self,
        door: Door,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        self.send(&door.event(method, path, headers)).await
    }

    /// Serves an event through the real handler, with a fresh Lambda request id.
    pub async fn send(&self, event: &str) -> TestResponse {
        let mut context = Context::default();
        context.request_id = request_id();
        let lambda = serde_json::to_value(self.app.handle(event, &context).await).unwrap();
        TestResponse::from_lambda(lambda)
    }

    pub async fn seed_integration(&self, id: &str, account: &str, kind: &str, tokens: usize) {
        self.table.seed_integration(id, account, kind, tokens).await;
    }
}

/// With `TEST_LOG` set, the function's log lines go to stdout, through the same subscriber as
/// the binary's (`AWS_LAMBDA_LOG_FORMAT` and `RUST_LOG` apply).
fn show_logs_if_asked() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    if std::env::var_os("TEST_LOG").is_some() {
        ONCE.call_once(|| {
            let settings = function_support::telemetry::Settings::from_env(
                disconnect_integration::OWN_LOG_TARGETS,
            );
            let subscriber = function_support::telemetry::subscriber(&settings, std::io::stdout);
            let _ = tracing::subscriber::set_global_default(subscriber);
        });
    }
}

/// The text of one sample event from `events/`.
pub fn event(name: &str) -> String {
    let path = test_support::local::repo_root().join("events").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

impl TestApp {
    /// Rebuilds the app on other clients, with the same configuration and clock.
    pub fn with_clients(
        mut self,
        dynamodb: aws_sdk_dynamodb::Client,
        secrets: aws_sdk_secretsmanager::Client,
    ) -> Self {
        let clock = Arc::new(self.clock.clone());
        self.app = App::from_clients(&self.config, dynamodb, secrets, clock)
            .with_metrics_sink(Sink::Memory(Arc::clone(&self.metrics)));
        self
    }

    /// Rebuilds the app with `interceptor` on both AWS clients (same configuration otherwise).
    pub fn with_interceptor<I>(self, interceptor: I) -> Self
    where
        I: aws_smithy_runtime_api::client::interceptors::Intercept + Clone + 'static,
    {
        let dynamodb = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&self.sdk)
                .interceptor(interceptor.clone())
                .build(),
        );
        let secrets = aws_sdk_secretsmanager::Client::from_conf(
            aws_sdk_secretsmanager::config::Builder::from(&self.sdk)
                .interceptor(interceptor)
                .build(),
        );
        self.with_clients(dynamodb, secrets)
    }
}

/// Records the `x-amz-target` of every request sent (both services speak AWS JSON), such as
/// `DynamoDB_20120810.Query`.
#[derive(Debug, Clone, Default)]
pub struct CallLog(Arc<Mutex<Vec<String>>>);

impl CallLog {
    /// How many calls of `operation` (`TransactWriteItems`) were sent so far.
    pub fn count(&self, operation: &str) -> usize {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|t| t.rsplit('.').next() == Some(operation))
            .count()
    }

    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "CallLog"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let target = context
            .request()
            .headers()
            .get("x-amz-target")
            .expect("an x-amz-target header");
        self.0.lock().unwrap().push(target.to_owned());
        Ok(())
    }
}
