//! Answers: the one place where an outcome becomes a status, an `error.code`, a message, the
//! JSON body and the headers, and then the Lambda response object of the front door.
//!
//! Bodies are serialized from structs whose fields are declared in the documented member
//! order; serde_json writes struct fields in declaration order, whatever its features.

use integrations_table::{DisconnectMarker, InvalidIntegrationId};
use serde::Serialize;

use crate::error::Error;
use crate::http::front_door::{FrontDoor, NotHttp};

/// Seconds a client should wait before retrying after a 503.
pub const RETRY_AFTER_SECONDS: u32 = 1;

/// Everything that ends a request other than success: the edge's own rejections, plus the
/// domain's errors.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("no route for this path")]
    RouteNotFound,
    #[error("method {0} is not allowed on the integration path")]
    MethodNotAllowed(String),
    #[error("no x-api-key header, or an empty one")]
    MissingApiKey,
    #[error("x-api-key was sent more than once")]
    RepeatedApiKey,
    #[error("invalid integration id")]
    InvalidIntegrationId(#[source] InvalidIntegrationId),
    #[error("the event is not an HTTP event of a known front door")]
    NotHttp(#[source] NotHttp),
    #[error("the handler panicked: {0}")]
    Panic(String),
    #[error(transparent)]
    Domain(#[from] Error),
}

/// The stable, machine-readable `error.code` values, with their status and message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorCode {
    RouteNotFound,
    MethodNotAllowed,
    MissingApiKey,
    InvalidApiKey,
    InsufficientScope,
    InvalidIntegrationId,
    IntegrationNotFound,
    ServiceUnavailable,
    InternalError,
}

impl ErrorCode {
    /// Every code, for the spec drift test and the docs. Adding a variant without listing it
    /// here fails to compile in `status`, `as_str` and `message` first.
    pub const ALL: [ErrorCode; 9] = [
        Self::RouteNotFound,
        Self::MethodNotAllowed,
        Self::MissingApiKey,
        Self::InvalidApiKey,
        Self::InsufficientScope,
        Self::InvalidIntegrationId,
        Self::IntegrationNotFound,
        Self::ServiceUnavailable,
        Self::InternalError,
    ];

    pub fn status(self) -> u16 {
        match self {
            Self::RouteNotFound | Self::IntegrationNotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::MissingApiKey | Self::InvalidApiKey => 401,
            Self::InsufficientScope => 403,
            Self::InvalidIntegrationId => 400,
            Self::ServiceUnavailable => 503,
            Self::InternalError => 500,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::RouteNotFound => "route_not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::MissingApiKey => "missing_api_key",
            Self::InvalidApiKey => "invalid_api_key",
            Self::InsufficientScope => "insufficient_scope",
            Self::InvalidIntegrationId => "invalid_integration_id",
            Self::IntegrationNotFound => "integration_not_found",
            Self::ServiceUnavailable => "service_unavailable",
            Self::InternalError => "internal_error",
        }
    }

    /// The human-readable `message`: what was wrong for client errors, nothing internal otherwise.
    pub fn message(self) -> &'static str {
        match self {
            Self::RouteNotFound => "Route not found",
            Self::MethodNotAllowed => "Method not allowed",
            Self::MissingApiKey => "Missing API key",
            Self::InvalidApiKey => "Invalid API key",
            Self::InsufficientScope => "The API key may not disconnect integrations",
            Self::InvalidIntegrationId => {
                "Invalid integration id: expected 1 to 128 characters of A-Z, a-z, 0-9, _ or -"
            }
            Self::IntegrationNotFound => "Integration not found",
            Self::ServiceUnavailable => "Service temporarily unavailable, please retry",
            Self::InternalError => "Internal server error",
        }
    }

    pub fn is_server_error(self) -> bool {
        self.status() >= 500
    }

    /// The headers an error of this code carries besides the common ones.
    pub fn extra_headers(self) -> Vec<(&'static str, String)> {
        match self {
            Self::MethodNotAllowed => vec![("allow", "DELETE".to_owned())],
            Self::ServiceUnavailable => vec![("retry-after", RETRY_AFTER_SECONDS.to_string())],
            _ => vec![],
        }
    }
}

impl ApiError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::RouteNotFound => ErrorCode::RouteNotFound,
            Self::MethodNotAllowed(_) => ErrorCode::MethodNotAllowed,
            Self::MissingApiKey => ErrorCode::MissingApiKey,
            Self::RepeatedApiKey
            | Self::Domain(Error::UnknownApiKey)
            | Self::Domain(Error::DisabledApiKey) => ErrorCode::InvalidApiKey,
            Self::Domain(Error::InsufficientScope) => ErrorCode::InsufficientScope,
            Self::InvalidIntegrationId(_) => ErrorCode::InvalidIntegrationId,
            Self::Domain(Error::IntegrationNotFound) => ErrorCode::IntegrationNotFound,
            Self::Domain(Error::Unavailable { .. } | Error::DeadlineExceeded { .. }) => {
                ErrorCode::ServiceUnavailable
            }
            Self::NotHttp(_) | Self::Panic(_) | Self::Domain(Error::Internal { .. }) => {
                ErrorCode::InternalError
            }
        }
    }
}

/// The 200 body: `{"success", "message", "data": {"id", "type", "deleted", "disconnectedAt"}}`.
#[derive(Debug, Serialize)]
pub struct SuccessBody<'a> {
    pub success: bool,
    pub message: &'a str,
    pub data: Disconnected<'a>,
}

#[derive(Debug, Serialize)]
pub struct Disconnected<'a> {
    pub id: &'a str,
    #[serde(rename = "type")]
    pub integration_type: &'a str,
    pub deleted: bool,
    #[serde(rename = "disconnectedAt")]
    pub disconnected_at: &'a str,
}

/// The error envelope: `{"success", "message", "error": {"code", "requestId"}}`.
#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    pub success: bool,
    pub message: &'a str,
    pub error: ErrorDetail<'a>,
}

#[derive(Debug, Serialize)]
pub struct ErrorDetail<'a> {
    pub code: &'a str,
    #[serde(rename = "requestId")]
    pub request_id: &'a str,
}

/// The header that carries the Lambda request id on every answer.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

pub const SUCCESS_MESSAGE: &str = "Integration disconnected successfully";

/// A status, headers and a JSON body: what any front door gets, before its own wrapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// Lower-case names; `content-type`, `cache-control` and `x-request-id` come first.
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl Answer {
    /// Every answer carries `x-request-id`: the Lambda request id, the same as the error
    /// body's `error.requestId` and the `requestId` of the log lines and the metrics document.
    fn json(
        status: u16,
        body: String,
        request_id: &str,
        extra: Vec<(&'static str, String)>,
    ) -> Self {
        let mut headers = vec![
            ("content-type", "application/json".to_owned()),
            ("cache-control", "no-store".to_owned()),
            (REQUEST_ID_HEADER, request_id.to_owned()),
        ];
        headers.extend(extra);
        Self {
            status,
            headers,
            body,
        }
    }

    pub fn success(marker: &DisconnectMarker, request_id: &str) -> Self {
        let body = SuccessBody {
            success: true,
            message: SUCCESS_MESSAGE,
            data: Disconnected {
                id: &marker.id,
                integration_type: &marker.integration_type,
                deleted: true,
                disconnected_at: &marker.disconnected_at,
            },
        };
        Self::json(200, to_json(&body), request_id, vec![])
    }

    pub fn error(code: ErrorCode, request_id: &str) -> Self {
        let body = ErrorBody {
            success: false,
            message: code.message(),
            error: ErrorDetail {
                code: code.as_str(),
                request_id,
            },
        };
        Self::json(
            code.status(),
            to_json(&body),
            request_id,
            code.extra_headers(),
        )
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn to_json(body: &impl Serialize) -> String {
    // Structs of strings and booleans: serializing them cannot fail.
    serde_json::to_string(body).unwrap_or_default()
}

/// The Lambda response object, in the shape the front door reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LambdaResponse {
    pub status_code: u16,
    /// The ALB requires it: `404 Not Found`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_description: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "headers_as_object"
    )]
    pub headers: Option<Vec<(&'static str, String)>>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "headers_as_object"
    )]
    pub multi_value_headers: Option<Vec<(&'static str, Vec<String>)>>,
    /// Payload 2.0 (HTTP API, Function URL): `Set-Cookie` values, none here. Sent empty
    /// because readers of the 2.0 response (cargo lambda watch, aws_lambda_events) require it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cookies: Option<Vec<String>>,
    pub body: String,
    pub is_base64_encoded: bool,
}

impl LambdaResponse {
    /// Wraps `answer` for `door`. An ALB with multi-value headers reads only
    /// `multiValueHeaders`; every other door reads `headers`.
    pub fn for_door(door: Option<FrontDoor>, answer: Answer) -> Self {
        let multi = matches!(
            door,
            Some(FrontDoor::Alb {
                multi_value_headers: true
            })
        );
        let status_description = matches!(door, Some(FrontDoor::Alb { .. }))
            .then(|| format!("{} {}", answer.status, reason_phrase(answer.status)));
        let (headers, multi_value_headers) = if multi {
            let multi = answer
                .headers
                .into_iter()
                .map(|(name, value)| (name, vec![value]))
                .collect();
            (None, Some(multi))
        } else {
            (Some(answer.headers), None)
        };
        let cookies =
            matches!(door, Some(FrontDoor::HttpApi | FrontDoor::FunctionUrl)).then(Vec::new);
        Self {
            status_code: answer.status,
            status_description,
            headers,
            multi_value_headers,
            cookies,
            body: answer.body,
            is_base64_encoded: false,
        }
    }
}

/// Headers as a JSON object, in their order.
fn headers_as_object<S, V>(
    headers: &Option<Vec<(&'static str, V)>>,
    serializer: S,
) -> Result<S::Ok, S::Error>
where
    S: serde::Serializer,
    V: Serialize,
{
    serializer.collect_map(headers.iter().flatten().map(|(name, value)| (name, value)))
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_lists_once_and_maps_to_its_status() {
        let mut codes: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), ErrorCode::ALL.len());
        let statuses: Vec<(u16, &str)> = ErrorCode::ALL
            .iter()
            .map(|c| (c.status(), c.as_str()))
            .collect();
        assert_eq!(
            statuses,
            [
                (404, "route_not_found"),
                (405, "method_not_allowed"),
                (401, "missing_api_key"),
                (401, "invalid_api_key"),
                (403, "insufficient_scope"),
                (400, "invalid_integration_id"),
                (404, "integration_not_found"),
                (503, "service_unavailable"),
                (500, "internal_error"),
            ]
        );
    }

    #[test]
    fn bodies_are_written_in_the_documented_member_order() {
        let marker = DisconnectMarker {
            id: "int_yt_abc123".into(),
            account_id: "acct".into(),
            integration_type: "youtube".into(),
            disconnected_at: "2026-11-28T10:00:00Z".into(),
            reason: "integration_disconnected".into(),
            expires_at: 1,
            grant_id: None,
        };
        assert_eq!(
            Answer::success(&marker, "r-1").body,
            r#"{"success":true,"message":"Integration disconnected successfully","data":{"id":"int_yt_abc123","type":"youtube","deleted":true,"disconnectedAt":"2026-11-28T10:00:00Z"}}"#
        );
        assert_eq!(
            Answer::error(ErrorCode::IntegrationNotFound, "r-1").body,
            r#"{"success":false,"message":"Integration not found","error":{"code":"integration_not_found","requestId":"r-1"}}"#
        );
    }

    #[test]
    fn the_405_says_which_method_is_allowed_and_the_503_when_to_retry() {
        let allow = Answer::error(ErrorCode::MethodNotAllowed, "r");
        assert_eq!(allow.header("allow"), Some("DELETE"));
        let retry = Answer::error(ErrorCode::ServiceUnavailable, "r");
        assert_eq!(retry.header("retry-after"), Some("1"));
        for code in ErrorCode::ALL {
            let answer = Answer::error(code, "r");
            assert_eq!(answer.header("content-type"), Some("application/json"));
            assert_eq!(answer.header("cache-control"), Some("no-store"));
        }
    }

    #[test]
    fn each_front_door_gets_its_shape() {
        let answer = || Answer::error(ErrorCode::RouteNotFound, "r");
        let v2 = serde_json::to_value(LambdaResponse::for_door(Some(FrontDoor::HttpApi), answer()))
            .unwrap();
        assert_eq!(v2["statusCode"], 404);
        assert_eq!(v2["headers"]["content-type"], "application/json");
        assert!(v2.get("multiValueHeaders").is_none());
        assert!(v2.get("statusDescription").is_none());
        assert_eq!(
            v2["cookies"],
            serde_json::json!([]),
            "payload 2.0 readers require it"
        );
        let rest =
            serde_json::to_value(LambdaResponse::for_door(Some(FrontDoor::RestApi), answer()))
                .unwrap();
        assert!(rest.get("cookies").is_none());
        let alb = serde_json::to_value(LambdaResponse::for_door(
            Some(FrontDoor::Alb {
                multi_value_headers: true,
            }),
            answer(),
        ))
        .unwrap();
        assert_eq!(alb["statusDescription"], "404 Not Found");
        assert_eq!(alb["multiValueHeaders"]["cache-control"][0], "no-store");
        assert!(alb.get("headers").is_none());
        assert_eq!(alb["isBase64Encoded"], false);
    }

    /// The ALB shows `statusDescription` to the client: every status this function answers
    /// gets its RFC 9110 reason phrase.
    #[test]
    fn every_status_answered_has_its_reason_phrase() {
        let phrases: Vec<(u16, &str)> = [200, 400, 401, 403, 404, 405, 500, 503]
            .into_iter()
            .map(|status| (status, reason_phrase(status)))
            .collect();
        assert_eq!(
            phrases,
            [
                (200, "OK"),
                (400, "Bad Request"),
                (401, "Unauthorized"),
                (403, "Forbidden"),
                (404, "Not Found"),
                (405, "Method Not Allowed"),
                (500, "Internal Server Error"),
                (503, "Service Unavailable"),
            ]
        );
        for code in ErrorCode::ALL {
            assert_ne!(reason_phrase(code.status()), "", "{code:?}");
        }
    }

    #[test]
    fn only_5xx_codes_are_server_errors() {
        let server: Vec<&str> = ErrorCode::ALL
            .iter()
            .filter(|c| c.is_server_error())
            .map(|c| c.as_str())
            .collect();
        assert_eq!(server, ["service_unavailable", "internal_error"]);
    }
}
