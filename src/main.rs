//! Wires configuration, tracing and the AWS clients, then serves events.

use std::sync::Arc;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::timeout::TimeoutConfig;
use disconnect_integration::{App, Config};
use lambda_http::{Error, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // JSON under Lambda when LoggingConfig says so (AWS_LAMBDA_LOG_FORMAT), level from
    // AWS_LAMBDA_LOG_LEVEL or RUST_LOG.
    lambda_http::tracing::init_default_subscriber();

    let config = Config::from_env().inspect_err(|e| tracing::error!("cannot start: {e}"))?;
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(Duration::from_secs(3))
                .operation_timeout(Duration::from_secs(10))
                .build(),
        )
        .load()
        .await;
    let app = Arc::new(App::from_config(&config, &sdk));

    // Read the API keys during init, which is not billed against the first request; a failure
    // here is retried by that request.
    if let Err(err) = app.keys().warm_up().await {
        tracing::warn!(error = %err, "could not read the API-keys secret at init");
    }

    lambda_http::run(service_fn(move |request| {
        let app = Arc::clone(&app);
        async move { app.handle(request).await }
    }))
    .await
}
