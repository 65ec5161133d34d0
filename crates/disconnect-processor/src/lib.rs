//! The schedule-processor side of the disconnect marker: which pending posts must fail because
//! their integration was disconnected.
//!
//! A processor hands in the posts whose time has come and gets each back as `ready`, or
//! `failed` with the message `Integration disconnected at <disconnectedAt>`. Markers are read
//! strongly consistent, one `BatchGetItem` per 100 distinct integration ids (never one call per
//! post), with `UnprocessedKeys` retried; an expired marker counts as absent.
//!
//! `examples/schedule_processor.rs` is a processor Lambda built on it.

mod markers;
mod posts;

pub use integrations_table::{DisconnectMarker, IntegrationId};
pub use markers::MarkerReader;
pub use posts::{CheckedPost, PendingPost, Verdict, check_pending_posts, disconnected_message};

/// Why markers could not be read. Fail the batch and retry it later: publishing to an
/// integration whose marker could not be read is worse than publishing late.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// DynamoDB failed, timed out or throttled, after the SDK's own retries.
    #[error("DynamoDB unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A permanent problem: a missing table, missing permissions, a request DynamoDB rejects.
    #[error("DynamoDB refused the marker read")]
    Refused(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A marker item does not have the documented shape.
    #[error("the marker item of {id} is malformed")]
    MalformedMarker {
        id: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl Error {
    /// Whether waiting and retrying may help.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

impl From<integrations_table::batch::StillUnprocessed> for Error {
    fn from(err: integrations_table::batch::StillUnprocessed) -> Self {
        Self::Unavailable(Box::new(err))
    }
}

impl<E>
    From<
        aws_sdk_dynamodb::error::SdkError<
            E,
            aws_smithy_runtime_api::client::orchestrator::HttpResponse,
        >,
    > for Error
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    fn from(
        err: aws_sdk_dynamodb::error::SdkError<
            E,
            aws_smithy_runtime_api::client::orchestrator::HttpResponse,
        >,
    ) -> Self {
        if integrations_table::sdk::is_transient(&err) {
            Self::Unavailable(Box::new(err))
        } else {
            Self::Refused(Box::new(err))
        }
    }
}
