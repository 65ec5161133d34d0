//! Wires telemetry, configuration, the AWS clients and the runtime; everything else is the
//! library's.

use std::sync::Arc;

use disconnect_integration::{App, Config, OWN_LOG_TARGETS, sdk_config};
use function_support::clock::SystemClock;
use function_support::telemetry;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::value::RawValue;

fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init_from_env(OWN_LOG_TARGETS);
    // One request at a time (classic Lambda): one thread, nothing to start. Several at once
    // (Lambda Managed Instances set AWS_LAMBDA_MAX_CONCURRENCY): a worker thread per vCPU.
    let concurrency = std::env::var("AWS_LAMBDA_MAX_CONCURRENCY")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(1);
    let runtime = if concurrency > 1 {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(cpus.min(concurrency))
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    };
    runtime.block_on(serve())
}

async fn serve() -> Result<(), lambda_runtime::Error> {
    let config = Config::from_env().inspect_err(|e| tracing::error!(error = %e, "cannot start"))?;
    let sdk = sdk_config(&config).await;
    let app = Arc::new(App::from_config(&config, &sdk, SystemClock::shared()));

    // Read the API keys and open the DynamoDB connection during init, which is not billed
    // against the first request; a failure here is retried by that request.
    app.warm_up().await;

    // The event is taken raw: the app reads it itself, inside its panic guard.
    // `run_concurrent` serves AWS_LAMBDA_MAX_CONCURRENCY requests at once when it is above 1,
    // and one after another otherwise. The plain `run` would warn on every start wherever the
    // variable is set, even to 1 (as `cargo lambda watch` sets it).
    let handler = service_fn(move |event: LambdaEvent<Box<RawValue>>| {
        let app = Arc::clone(&app);
        async move {
            Ok::<_, lambda_runtime::Error>(app.handle(event.payload.get(), &event.context).await)
        }
    });
    lambda_runtime::run_concurrent(handler).await
}
