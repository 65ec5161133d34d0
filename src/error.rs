//! The domain's error: what can go wrong while verifying a key or disconnecting. It knows
//! nothing of HTTP: the edge ([`crate::http::response`]) maps it to a status, an `error.code`
//! and the JSON envelope. Server-side errors keep their cause as `#[source]`, so the log line
//! shows the whole chain (`function_support::ErrorChain`).

use std::borrow::Cow;
use std::fmt;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use integrations_table::batch::StillUnprocessed;
use integrations_table::sdk::is_transient;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The AWS service a call went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dependency {
    DynamoDb,
    SecretsManager,
}

impl fmt::Display for Dependency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::DynamoDb => "DynamoDB",
            Self::SecretsManager => "Secrets Manager",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The presented key is not in the API-keys secret.
    #[error("the API key is not in the API-keys secret")]
    UnknownApiKey,
    /// The presented key's entry says `"disabled": true`.
    #[error("the API key is disabled in the API-keys secret")]
    DisabledApiKey,
    /// The presented key's entry lists `scopes` without the one this request needs.
    #[error("the API key's scopes do not include the one this request needs")]
    InsufficientScope,
    /// No such integration, or another account's: the two are indistinguishable on purpose.
    #[error("integration not found, or owned by another account")]
    IntegrationNotFound,
    /// A dependency failed, timed out or throttled after the SDK's retries: worth retrying later.
    #[error("{dependency} unavailable")]
    Unavailable {
        dependency: Dependency,
        #[source]
        source: BoxError,
    },
    /// The request's time budget ran out before it was done: worth retrying later.
    #[error("the request's deadline of {budget:?} passed before it was done")]
    DeadlineExceeded { budget: std::time::Duration },
    /// Anything else: a misconfiguration, a malformed secret or item, a bug.
    #[error("{context}")]
    Internal {
        context: Cow<'static, str>,
        #[source]
        source: BoxError,
    },
}

impl Error {
    pub fn internal(context: impl Into<Cow<'static, str>>, source: impl Into<BoxError>) -> Self {
        Self::Internal {
            context: context.into(),
            source: source.into(),
        }
    }

    /// Classifies a failed SDK call: transient ([`is_transient`], from the SDK's own lists) is
    /// `Unavailable`, anything else `Internal`. The SDK error stays the source.
    pub fn from_sdk<E>(
        dependency: Dependency,
        operation: &'static str,
        err: SdkError<E, HttpResponse>,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        if is_transient(&err) {
            Self::Unavailable {
                dependency,
                source: Box::new(OperationFailed {
                    operation,
                    source: err,
                }),
            }
        } else {
            Self::internal(
                format!("{dependency} {operation} failed"),
                OperationFailed {
                    operation,
                    source: err,
                },
            )
        }
    }

    /// Whether the client may retry later: the 503 family.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Unavailable { .. } | Self::DeadlineExceeded { .. }
        )
    }
}

impl From<StillUnprocessed> for Error {
    fn from(err: StillUnprocessed) -> Self {
        Self::Unavailable {
            dependency: Dependency::DynamoDb,
            source: Box::new(err),
        }
    }
}

/// Names the operation in front of the SDK's own error, whose Display alone says only
/// "service error".
#[derive(Debug, thiserror::Error)]
#[error("{operation}")]
pub struct OperationFailed<E: std::error::Error + 'static> {
    operation: &'static str,
    #[source]
    source: E,
}

#[cfg(test)]
mod tests {
    use super::*;

    use function_support::ErrorChain;

    #[test]
    fn the_chain_shows_every_cause() {
        let err = Error::internal(
            "the API-keys secret is malformed",
            std::io::Error::other("keys[2].sha256 is not 64 lowercase hexadecimal characters"),
        );
        assert_eq!(
            ErrorChain(&err).to_string(),
            "the API-keys secret is malformed: keys[2].sha256 is not 64 lowercase hexadecimal characters"
        );
    }

    /// The request's ERROR line names which service failed.
    #[test]
    fn an_unavailable_dependency_is_named_in_the_log_line() {
        for (dependency, line) in [
            (Dependency::DynamoDb, "DynamoDB unavailable: timed out"),
            (
                Dependency::SecretsManager,
                "Secrets Manager unavailable: timed out",
            ),
        ] {
            let err = Error::Unavailable {
                dependency,
                source: std::io::Error::other("timed out").into(),
            };
            assert_eq!(ErrorChain(&err).to_string(), line);
            assert!(err.is_transient());
        }
    }
}
