//! Which failed SDK calls are worth retrying later (HTTP 503) rather than a fault (HTTP 500).

use aws_runtime::retries::classifiers::{THROTTLING_ERRORS, TRANSIENT_ERRORS};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

/// Error codes that DynamoDB documents as "retry the request" and that the SDK's classifier
/// lists do not hold: a write that collided with a transaction in flight, and (multi-Region
/// strong consistency) with a write replicated from another Region.
pub const DYNAMODB_CONFLICT_ERRORS: &[&str] = &[
    "TransactionConflictException",
    "ReplicatedWriteConflictException",
];

/// Whether a failed call, after the SDK's own retries, is transient:
/// - a timeout, or a failure to connect or send (dispatch failure);
/// - an answer that could not be read (cut short, not JSON): a `ResponseError`, or a
///   "service error" whose status is 2xx;
/// - a 5xx answer;
/// - an error code the SDK's own retry classifier treats as throttling or transient
///   (`aws-runtime`'s `THROTTLING_ERRORS` and `TRANSIENT_ERRORS`), or a DynamoDB conflict
///   ([`DYNAMODB_CONFLICT_ERRORS`]).
///
/// Everything else (a missing table or secret, access denied, a validation error) is a fault
/// that waiting will not fix.
pub fn is_transient<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(ctx) => {
            let status = ctx.raw().status();
            // A 2xx reported as an error is an answer the SDK could not read (cut short).
            status.is_server_error() || status.is_success() || is_retryable_code(ctx.err().code())
        }
        _ => false,
    }
}

/// Whether `code` is in the SDK's throttling or transient error lists, or is a DynamoDB
/// conflict.
pub fn is_retryable_code(code: Option<&str>) -> bool {
    code.is_some_and(|code| {
        THROTTLING_ERRORS.contains(&code)
            || TRANSIENT_ERRORS.contains(&code)
            || DYNAMODB_CONFLICT_ERRORS.contains(&code)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_sdk_dynamodb::operation::query::QueryError;
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    fn answer(status: u16) -> HttpResponse {
        HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::empty())
    }

    fn service_error(status: u16, code: &str) -> SdkError<QueryError, HttpResponse> {
        let err = QueryError::generic(ErrorMetadata::builder().code(code).build());
        SdkError::service_error(err, answer(status))
    }

    #[test]
    fn failures_to_get_an_answer_are_transient() {
        let io = || std::io::Error::other("connection reset");
        let cases: Vec<(&str, SdkError<QueryError, HttpResponse>)> = vec![
            ("timeout", SdkError::timeout_error(io())),
            (
                "dispatch failure",
                SdkError::dispatch_failure(ConnectorError::io(Box::new(io()))),
            ),
            (
                "unreadable answer",
                SdkError::response_error(io(), answer(200)),
            ),
        ];
        for (name, err) in cases {
            assert!(is_transient(&err), "{name}");
        }
        let construction: SdkError<QueryError, HttpResponse> = SdkError::construction_failure(io());
        assert!(
            !is_transient(&construction),
            "a request that could not be built"
        );
    }

    #[test]
    fn service_errors_are_transient_by_status_or_by_code() {
        let cases = [
            (500, "Unknown", true),
            (503, "Unknown", true),
            (200, "Unknown", true),
            (400, "ThrottlingException", true),
            (400, "TransactionConflictException", true),
            (400, "ValidationException", false),
            (400, "ResourceNotFoundException", false),
            (403, "AccessDeniedException", false),
        ];
        for (status, code, transient) in cases {
            assert_eq!(
                is_transient(&service_error(status, code)),
                transient,
                "{status} {code}"
            );
        }
    }

    #[test]
    fn the_sdk_lists_decide_which_codes_are_retryable() {
        for code in [
            "ThrottlingException",
            "ProvisionedThroughputExceededException",
            "RequestLimitExceeded",
            "TransactionInProgressException",
            "RequestTimeout",
            "TransactionConflictException",
            "ReplicatedWriteConflictException",
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
