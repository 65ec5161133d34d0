//! Which failed SDK calls are worth retrying later (HTTP 503) rather than a fault (HTTP 500).

use aws_runtime::retries::classifiers::{THROTTLING_ERRORS, TRANSIENT_ERRORS};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

/// Whether a failed call, after the SDK's own retries, is transient: a timeout, a failure to
/// connect or send, a 5xx answer, or an error code that the SDK's retry classifier itself
/// treats as throttling or transient (`aws-runtime`'s `THROTTLING_ERRORS` and
/// `TRANSIENT_ERRORS`). Everything else (a missing table or secret, access denied, a
/// validation error) is a fault that waiting will not fix.
pub fn is_transient<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => true,
        SdkError::ResponseError(ctx) => ctx.raw().status().is_server_error(),
        SdkError::ServiceError(ctx) => {
            ctx.raw().status().is_server_error() || is_retryable_code(ctx.err().code())
        }
        _ => false,
    }
}

/// Whether `code` is in the SDK's throttling or transient error lists.
pub fn is_retryable_code(code: Option<&str>) -> bool {
    code.is_some_and(|code| THROTTLING_ERRORS.contains(&code) || TRANSIENT_ERRORS.contains(&code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sdk_lists_decide_which_codes_are_retryable() {
        for code in [
            "ThrottlingException",
            "ProvisionedThroughputExceededException",
            "RequestLimitExceeded",
            "TransactionInProgressException",
            "RequestTimeout",
        ] {
            assert!(is_retryable_code(Some(code)), "{code}");
        }
        for code in [
            "ResourceNotFoundException",
            "AccessDeniedException",
            "ValidationException",
        ] {
            assert!(!is_retryable_code(Some(code)), "{code}");
        }
        assert!(!is_retryable_code(None));
    }
}
