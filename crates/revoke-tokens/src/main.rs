//! Wires telemetry, configuration, the AWS clients and the platform revoker, then serves the
//! table's stream batches; everything else is the library's.

use std::sync::Arc;
use std::time::Duration;

use function_support::clock::SystemClock;
use function_support::emf::Sink;
use function_support::{aws, telemetry};
use lambda_runtime::{LambdaEvent, service_fn};
use platform_revoke::Revoker;
use revoke_tokens::deadline::invocation_deadline;
use revoke_tokens::stream::read_event;
use revoke_tokens::{
    Config, Consumer, GiveUp, MarkerStore, Metrics, OWN_LOG_TARGETS, load_credentials,
};
use serde_json::value::RawValue;

/// The most one AWS call, retries included, may take.
const AWS_CALL_DEADLINE: Duration = Duration::from_secs(5);
/// The deadline of an invocation whose own deadline is not an epoch time (`cargo lambda watch`).
const LOCAL_DEADLINE: Duration = Duration::from_secs(60);

fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init_from_env(OWN_LOG_TARGETS);
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(serve())
}

async fn serve() -> Result<(), lambda_runtime::Error> {
    let config = Config::from_env().inspect_err(|e| tracing::error!(error = %e, "cannot start"))?;
    let sdk = aws::sdk_config(config.extra_ca_pem.as_deref(), AWS_CALL_DEADLINE).await;
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let credentials = load_credentials(&secrets, &config.credentials_secret_id)
        .await
        .inspect_err(|e| tracing::error!(error = %e, "cannot start"))?;
    let revoker = Revoker::new(
        config.endpoints.clone(),
        credentials,
        config.platform_timeout,
    );
    let revoker = if config.allow_loopback_servers {
        revoker.allowing_loopback_servers()
    } else {
        revoker
    };
    let consumer = Arc::new(
        Consumer::new(
            MarkerStore::new(
                aws_sdk_dynamodb::Client::new(&sdk),
                config.table_name.clone(),
            ),
            revoker,
            SystemClock::shared(),
            Metrics::new(
                &config.metrics_namespace,
                &config.metrics_service,
                Sink::Stdout,
            ),
        )
        .with_give_up(GiveUp {
            max_attempts: config.max_attempts,
            after: config.give_up_after,
        })
        .with_platform_timeout(config.platform_timeout)
        .with_concurrency(config.concurrency),
    );
    // The event is taken raw and read by the consumer's own types: lambda_runtime's own
    // deserialisation error would quote the record, token values included. `run_concurrent`
    // serves one batch at a time unless AWS_LAMBDA_MAX_CONCURRENCY is above 1, and, unlike
    // `run`, does not warn when it is set to 1.
    lambda_runtime::run_concurrent(service_fn(move |event: LambdaEvent<Box<RawValue>>| {
        let consumer = Arc::clone(&consumer);
        async move {
            let batch = read_event(event.payload.get()).inspect_err(|e| {
                tracing::error!(error = %e, "the event is not a DynamoDB stream batch");
            })?;
            let deadline = invocation_deadline(event.context.deadline, LOCAL_DEADLINE);
            Ok::<_, lambda_runtime::Error>(
                consumer
                    .handle(&batch, &event.context.request_id, deadline)
                    .await,
            )
        }
    }))
    .await
}
