//! The HTTP edge: routing, header and path parsing, and the success body.
//!
//! Works the same behind API Gateway REST (payload v1, with or without the stage in the path),
//! HTTP API (payload v2), an Application Load Balancer and a Lambda Function URL: the path is
//! read from the event as it arrived, and the id from the `integrationId` path parameter when
//! the front door supplies one, from the path otherwise.

use std::panic::AssertUnwindSafe;
use std::time::SystemTime;

use futures_util::FutureExt;

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::json;

use crate::api_keys::ApiKeyVerifier;
use crate::error::{Error, json_response};
use crate::ids::IntegrationId;
use crate::store::{Disconnect, IntegrationStore};

pub const API_KEY_HEADER: &str = "x-api-key";
const PATH_PARAMETER: &str = "integrationId";

/// The function: API-key verification plus the integration store.
pub struct App {
    keys: ApiKeyVerifier,
    store: IntegrationStore,
}

impl App {
    pub fn new(keys: ApiKeyVerifier, store: IntegrationStore) -> Self {
        Self { keys, store }
    }

    pub fn keys(&self) -> &ApiKeyVerifier {
        &self.keys
    }

    /// Serves one request. Never fails: every error, even a panic, becomes the JSON error
    /// envelope rather than the front door's own 502.
    pub async fn handle(&self, request: Request) -> Result<Response<Body>, lambda_http::Error> {
        let request_id = request
            .lambda_context_ref()
            .map(|c| c.request_id.clone())
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| "unknown".to_owned());
        let method = request.method().clone();
        let outcome = AssertUnwindSafe(self.disconnect(&request, &request_id))
            .catch_unwind()
            .await
            .unwrap_or_else(|panic| {
                Err(Error::internal(format!("panic: {}", panic_message(&panic))))
            });
        let response = match outcome {
            Ok(outcome) => success_response(&outcome),
            Err(err) => {
                if err.status().is_server_error() {
                    tracing::error!(requestId = request_id, %method, code = err.code(), error = %err, "request failed");
                } else {
                    tracing::info!(requestId = request_id, %method, code = err.code(), reason = %err, "request rejected");
                }
                err.into_response(&request_id)
            }
        };
        Ok(response)
    }

    /// Check order: route, method, API key, then the id. Body and query string are ignored.
    async fn disconnect(&self, request: &Request, request_id: &str) -> Result<Disconnect, Error> {
        let path = match request.raw_http_path() {
            "" => request.uri().path(),
            raw => raw,
        };
        let segment = route(path).ok_or(Error::RouteNotFound)?;
        if request.method() != Method::DELETE {
            return Err(Error::MethodNotAllowed);
        }
        let key = api_key(request)?;
        let account = self.keys.verify(key).await?;
        let id = match request
            .path_parameters_ref()
            .and_then(|p| p.first(PATH_PARAMETER))
        {
            Some(parameter) => IntegrationId::from_path_segment(parameter)?,
            None => IntegrationId::from_path_segment(segment)?,
        };
        let outcome = self
            .store
            .disconnect(&account, &id, Some(request_id), SystemTime::now())
            .await?;
        let marker = outcome.marker();
        // The audit line: who disconnected what. Never a key or a token value.
        tracing::info!(
            target: "audit",
            requestId = request_id,
            accountId = %account,
            integrationId = %id,
            "type" = %marker.integration_type,
            disconnectedAt = %marker.disconnected_at,
            repeat = matches!(outcome, Disconnect::Earlier(_)),
            "integration disconnected"
        );
        Ok(outcome)
    }
}

/// Matches `/v1/integration/{id}`, optionally behind one prefix segment (a REST API stage or a
/// custom-domain base path), and returns the raw id segment. A trailing slash after the id is
/// tolerated; `/v1/integration/` yields an empty id, which the id check rejects.
pub fn route(path: &str) -> Option<&str> {
    let segments: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
    match_route(&segments).or_else(|| match segments.split_last() {
        Some((&"", rest)) => match_route(rest).filter(|id| !id.is_empty()),
        _ => None,
    })
}

fn match_route<'a>(segments: &[&'a str]) -> Option<&'a str> {
    match segments {
        ["v1", "integration", id] => Some(id),
        [prefix, "v1", "integration", id] if !prefix.is_empty() => Some(id),
        _ => None,
    }
}

/// The one `x-api-key` value. Missing or blank is `MissingApiKey`; sent twice or not valid
/// text is `InvalidApiKey`.
fn api_key(request: &Request) -> Result<&str, Error> {
    let mut values = request.headers().get_all(API_KEY_HEADER).iter();
    let first = values.next().ok_or(Error::MissingApiKey)?;
    if values.next().is_some() {
        return Err(Error::InvalidApiKey);
    }
    let key = first.to_str().map_err(|_| Error::InvalidApiKey)?.trim();
    if key.is_empty() {
        return Err(Error::MissingApiKey);
    }
    Ok(key)
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("non-string payload")
}

fn success_response(outcome: &Disconnect) -> Response<Body> {
    let marker = outcome.marker();
    json_response(
        StatusCode::OK,
        &json!({
            "success": true,
            "message": "Integration disconnected successfully",
            "data": {
                "id": marker.id,
                "type": marker.integration_type,
                "deleted": true,
                "disconnectedAt": marker.disconnected_at,
            },
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_with_or_without_one_prefix_segment() {
        let cases: &[(&str, Option<&str>)] = &[
            ("/v1/integration/int_1", Some("int_1")),
            ("/v1/integration/int_1/", Some("int_1")),
            ("/prod/v1/integration/int_1", Some("int_1")),
            ("/prod/v1/integration/int_1/", Some("int_1")),
            ("/v1/integration/", Some("")),
            ("/prod/v1/integration/", Some("")),
            ("/v1/integration/bad%21id", Some("bad%21id")),
            ("/v1/integration", None),
            ("/v1/integrations/int_1", None),
            ("/v2/integration/int_1", None),
            ("/v1/integration/int_1/tokens", None),
            ("/a/b/v1/integration/int_1", None),
            ("//v1/integration/int_1", None),
            ("/", None),
            ("", None),
            ("v1/integration/int_1", None),
        ];
        for (path, expected) in cases {
            assert_eq!(route(path), *expected, "path {path:?}");
        }
    }

    fn request(headers: &[(&str, &str)]) -> Request {
        let mut builder = lambda_http::http::Request::builder()
            .method("DELETE")
            .uri("/v1/integration/x");
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        builder.body(Body::Empty).unwrap()
    }

    #[test]
    fn api_key_header_rules() {
        assert_eq!(api_key(&request(&[("x-api-key", "k1")])).unwrap(), "k1");
        assert_eq!(api_key(&request(&[("X-Api-Key", "k1")])).unwrap(), "k1");
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
        let cases: &[Case] = &[
            ("absent", &[], "missing_api_key"),
            ("empty", &[("x-api-key", "")], "missing_api_key"),
            ("blank", &[("x-api-key", "   ")], "missing_api_key"),
            (
                "twice",
                &[("x-api-key", "k1"), ("x-api-key", "k1")],
                "invalid_api_key",
            ),
            (
                "twice, one empty",
                &[("x-api-key", ""), ("x-api-key", "k1")],
                "invalid_api_key",
            ),
        ];
        for (name, headers, code) in cases {
            assert_eq!(
                api_key(&request(headers)).unwrap_err().code(),
                *code,
                "case {name}"
            );
        }
    }

    #[test]
    fn panic_payloads_are_described() {
        let from_str = std::panic::catch_unwind(|| panic!("static")).unwrap_err();
        assert_eq!(panic_message(from_str.as_ref()), "static");
        let from_string = std::panic::catch_unwind(|| panic!("{}", 42)).unwrap_err();
        assert_eq!(panic_message(from_string.as_ref()), "42");
    }

    #[test]
    fn non_text_api_keys_are_invalid() {
        let mut req = request(&[]);
        req.headers_mut().insert(
            API_KEY_HEADER,
            lambda_http::http::HeaderValue::from_bytes(b"k\xff").unwrap(),
        );
        assert_eq!(api_key(&req).unwrap_err().code(), "invalid_api_key");
    }
}
