//! Wires telemetry, configuration, the AWS clients and the runtime; everything else is the
//! library's.

use std::sync::Arc;

use disconnect_integration::clock::SystemClock;
use disconnect_integration::{App, Config, sdk_config, telemetry};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::value::RawValue;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init_from_env();

    let config = Config::from_env().inspect_err(|e| tracing::error!(error = %e, "cannot start"))?;
    let sdk = sdk_config(&config).await;
    let app = Arc::new(App::from_config(&config, &sdk, SystemClock::shared()));

    // Read the API keys and open the DynamoDB connection during init, which is not billed
    // against the first request; a failure here is retried by that request.
    app.warm_up().await;

    // The event is taken raw: the app reads it itself, inside its panic guard.
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Box<RawValue>>| {
        let app = Arc::clone(&app);
        async move {
            Ok::<_, lambda_runtime::Error>(app.handle(event.payload.get(), &event.context).await)
        }
    }))
    .await
}
