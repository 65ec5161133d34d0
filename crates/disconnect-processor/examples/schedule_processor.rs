//! An example schedule processor: a Lambda that receives the posts whose time has come and
//! answers, for each, `ready` or `failed` with `Integration disconnected at <time>`.
//!
//! Event: `{"posts": [{"id": "post_1", "integrationId": "int_yt_abc123", ...}, ...]}`
//! Answer: `{"posts": [{"id": "post_1", "integrationId": "int_yt_abc123", ..., "status": "failed",
//!           "error": "Integration disconnected at 2026-11-28T10:00:00Z"}, ...]}`
//!
//! It needs `TABLE_NAME` and `dynamodb:BatchGetItem` on the table. Locally, with `make dev`'s
//! services up: `cargo lambda watch -p disconnect-processor --example schedule_processor`.

use std::time::SystemTime;

use aws_config::BehaviorVersion;
use disconnect_processor::{CheckedPost, MarkerReader, PendingPost, check_pending_posts};
use lambda_runtime::{LambdaEvent, service_fn};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Batch {
    posts: Vec<PendingPost>,
}

#[derive(Serialize)]
struct Checked {
    posts: Vec<CheckedPost>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let table = std::env::var("TABLE_NAME")
        .map_err(|_| "missing required environment variable TABLE_NAME")?;
    // The workspace builds the SDK without its default HTTPS client (see the function's
    // crates/function-support/src/tls.rs): rustls on ring, trusting the OS roots here.
    let https = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .http_client(https)
        .load()
        .await;
    let reader = MarkerReader::new(aws_sdk_dynamodb::Client::new(&sdk), table);
    let reader = &reader;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Batch>| async move {
        // An error fails the whole batch, so the scheduler retries it later: better than
        // publishing to an integration whose marker could not be read.
        let posts = check_pending_posts(reader, event.payload.posts, SystemTime::now()).await?;
        Ok::<_, lambda_runtime::Error>(Checked { posts })
    }))
    .await
}
