//! The one error type of a request, and the one place that turns it into an HTTP response.

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde_json::json;

use crate::ids::InvalidIntegrationId;

/// Seconds a client should wait before retrying after a 503.
pub const RETRY_AFTER_SECONDS: u32 = 1;

/// Everything that can end a request other than success.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no route for this path")]
    RouteNotFound,
    #[error("method not allowed on the integration path")]
    MethodNotAllowed,
    #[error("no x-api-key header")]
    MissingApiKey,
    #[error("the API key is unknown or was sent more than once")]
    InvalidApiKey,
    #[error("invalid integration id: {0}")]
    InvalidIntegrationId(#[from] InvalidIntegrationId),
    #[error("integration not found, or owned by another account")]
    IntegrationNotFound,
    /// A dependency failed or throttled after the SDK's own retries; worth retrying later.
    #[error("{dependency} unavailable: {detail}")]
    Unavailable {
        dependency: &'static str,
        detail: String,
    },
    /// Anything else. The detail goes to the log, never to the client.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::Internal(detail.into())
    }

    /// One error of every kind, for the spec drift test and documentation.
    pub fn every_kind() -> Vec<Error> {
        let all = vec![
            Self::RouteNotFound,
            Self::MethodNotAllowed,
            Self::MissingApiKey,
            Self::InvalidApiKey,
            Self::InvalidIntegrationId(InvalidIntegrationId::Empty),
            Self::IntegrationNotFound,
            Self::Unavailable {
                dependency: "DynamoDB",
                detail: String::new(),
            },
            Self::Internal(String::new()),
        ];
        // A new variant fails to compile here until it is listed above too.
        for error in &all {
            match error {
                Self::RouteNotFound
                | Self::MethodNotAllowed
                | Self::MissingApiKey
                | Self::InvalidApiKey
                | Self::InvalidIntegrationId(_)
                | Self::IntegrationNotFound
                | Self::Unavailable { .. }
                | Self::Internal(_) => {}
            }
        }
        all
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::RouteNotFound | Self::IntegrationNotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::MissingApiKey | Self::InvalidApiKey => StatusCode::UNAUTHORIZED,
            Self::InvalidIntegrationId(_) => StatusCode::BAD_REQUEST,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable, machine-readable `error.code` of the envelope.
    pub fn code(&self) -> &'static str {
        match self {
            Self::RouteNotFound => "route_not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::MissingApiKey => "missing_api_key",
            Self::InvalidApiKey => "invalid_api_key",
            Self::InvalidIntegrationId(_) => "invalid_integration_id",
            Self::IntegrationNotFound => "integration_not_found",
            Self::Unavailable { .. } => "service_unavailable",
            Self::Internal(_) => "internal_error",
        }
    }

    /// The human-readable `message`: says what was wrong for client errors, nothing internal otherwise.
    pub fn public_message(&self) -> &'static str {
        match self {
            Self::RouteNotFound => "Route not found",
            Self::MethodNotAllowed => "Method not allowed",
            Self::MissingApiKey => "Missing API key",
            Self::InvalidApiKey => "Invalid API key",
            Self::InvalidIntegrationId(_) => {
                "Invalid integration id: expected 1 to 128 characters of A-Z, a-z, 0-9, _ or -"
            }
            Self::IntegrationNotFound => "Integration not found",
            Self::Unavailable { .. } => "Service temporarily unavailable, please retry",
            Self::Internal(_) => "Internal server error",
        }
    }

    /// Builds the error envelope. This is the only place an error becomes a response.
    pub fn into_response(self, request_id: &str) -> Response<Body> {
        let status = self.status();
        let body = json!({
            "success": false,
            "message": self.public_message(),
            "error": { "code": self.code(), "requestId": request_id },
        });
        let mut response = json_response(status, &body);
        let headers = response.headers_mut();
        match self {
            Self::MethodNotAllowed => {
                headers.insert(header::ALLOW, HeaderValue::from_static("DELETE"));
            }
            Self::Unavailable { .. } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
            }
            _ => {}
        }
        response
    }

    /// Classifies an SDK error: throttling, timeouts, connection failures and 5xx are
    /// `Unavailable` (503), everything else is `Internal` (500). The full cause chain is kept for
    /// the log.
    pub fn from_sdk<E>(dependency: &'static str, err: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let transient = match &err {
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => true,
            SdkError::ResponseError(ctx) => ctx.raw().status().is_server_error(),
            SdkError::ServiceError(ctx) => {
                ctx.raw().status().is_server_error() || is_throttling_code(ctx.err().code())
            }
            _ => false,
        };
        let detail = DisplayErrorContext(&err).to_string();
        if transient {
            Self::Unavailable { dependency, detail }
        } else {
            Self::Internal(format!("{dependency}: {detail}"))
        }
    }
}

/// Whether an error code is one of the throttling codes the AWS services return.
fn is_throttling_code(code: Option<&str>) -> bool {
    matches!(
        code,
        Some(
            "ThrottlingException"
                | "Throttling"
                | "ThrottledException"
                | "RequestThrottledException"
                | "TooManyRequestsException"
                | "ProvisionedThroughputExceededException"
                | "RequestLimitExceeded"
                | "TransactionInProgressException"
                | "LimitExceededException"
                | "SlowDown"
        )
    )
}

/// A JSON response with the headers every answer of this function carries.
pub fn json_response(status: StatusCode, body: &serde_json::Value) -> Response<Body> {
    let mut response = Response::new(Body::Text(body.to_string()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(response: &Response<Body>) -> serde_json::Value {
        match response.body() {
            Body::Text(text) => serde_json::from_str(text).unwrap(),
            other => panic!("expected a text body, got {other:?}"),
        }
    }

    #[test]
    fn every_kind_lists_each_code_once() {
        let codes: std::collections::BTreeSet<_> =
            Error::every_kind().iter().map(Error::code).collect();
        assert_eq!(codes.len(), Error::every_kind().len());
    }

    #[test]
    fn every_error_maps_to_its_status_code_and_envelope() {
        let cases: Vec<(Error, u16, &str)> = vec![
            (Error::RouteNotFound, 404, "route_not_found"),
            (Error::MethodNotAllowed, 405, "method_not_allowed"),
            (Error::MissingApiKey, 401, "missing_api_key"),
            (Error::InvalidApiKey, 401, "invalid_api_key"),
            (
                Error::InvalidIntegrationId(InvalidIntegrationId::Empty),
                400,
                "invalid_integration_id",
            ),
            (Error::IntegrationNotFound, 404, "integration_not_found"),
            (
                Error::Unavailable {
                    dependency: "DynamoDB",
                    detail: "throttled".into(),
                },
                503,
                "service_unavailable",
            ),
            (Error::internal("boom"), 500, "internal_error"),
        ];
        for (error, status, code) in cases {
            let name = format!("{error:?}");
            let response = error.into_response("req-1");
            assert_eq!(response.status().as_u16(), status, "{name}");
            assert_eq!(
                response.headers()[header::CONTENT_TYPE],
                "application/json",
                "{name}"
            );
            let body = envelope(&response);
            assert_eq!(body["success"], false, "{name}");
            assert_eq!(body["error"]["code"], code, "{name}");
            assert_eq!(body["error"]["requestId"], "req-1", "{name}");
            assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
            assert_eq!(
                body.as_object().unwrap().len(),
                3,
                "{name}: nothing but success, message and error"
            );
        }
    }

    #[test]
    fn method_not_allowed_says_which_method_is() {
        let response = Error::MethodNotAllowed.into_response("r");
        assert_eq!(response.headers()[header::ALLOW], "DELETE");
    }

    #[test]
    fn service_unavailable_says_when_to_retry() {
        let response = Error::Unavailable {
            dependency: "Secrets Manager",
            detail: "x".into(),
        }
        .into_response("r");
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    }

    #[test]
    fn server_errors_never_echo_their_detail() {
        for error in [
            Error::internal("secret sauce ARN arn:aws:secretsmanager:xyz"),
            Error::Unavailable {
                dependency: "DynamoDB",
                detail: "table integrations-prod throttled".into(),
            },
        ] {
            let text = match error.into_response("r").into_body() {
                Body::Text(t) => t,
                other => panic!("{other:?}"),
            };
            assert!(!text.contains("arn:"), "{text}");
            assert!(!text.contains("integrations-prod"), "{text}");
        }
    }
}
