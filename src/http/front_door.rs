//! The event boundary: the HTTP event of each front door, read by our own types.
//!
//! Only what this function needs is read: the method, the path, the `integrationId` path
//! parameter, and every value of `x-api-key`. Nothing else in the event (the `Host` header, the
//! query string, the body) is parsed, so nothing else can make the conversion fail.
//!
//! | front door | detected by | path field | delivered | duplicate headers |
//! |---|---|---|---|---|
//! | REST API (payload 1.0) | `httpMethod` | `path`, `pathParameters` | percent-encoded as sent | `multiValueHeaders` lists every value |
//! | HTTP API (payload 2.0) | `version: "2.0"` | `rawPath`, `pathParameters` | already percent-decoded | joined with commas in `headers` |
//! | Function URL | `version: "2.0"` and a `*.lambda-url.*` domain | `rawPath` | percent-encoded as sent | joined with commas in `headers` |
//! | ALB | `requestContext.elb` | `path` | percent-encoded as sent | `multiValueHeaders` when enabled, else the last value only |
//!
//! The path is decoded exactly once: by us where the front door delivers it encoded, never
//! where it delivers it decoded. Sources: AWS's payload docs for the duplicates; live captures
//! (hotsock/voker's `vokerhttp/testdata`, July 2026) for the encodings, since AWS documents
//! none of them.

use std::borrow::Cow;
use std::collections::HashMap;

use function_support::event_json::{self, ShapeError};
use integrations_table::InvalidIntegrationId;
use percent_encoding::percent_decode_str;
use serde::Deserialize;

/// The one header this function reads.
pub const API_KEY_HEADER: &str = "x-api-key";
const PATH_PARAMETER: &str = "integrationId";

/// Which front door delivered the event: it decides the path's encoding and the answer's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrontDoor {
    RestApi,
    HttpApi,
    FunctionUrl,
    Alb { multi_value_headers: bool },
}

impl FrontDoor {
    /// Whether this door hands over the path as the client sent it (still percent-encoded).
    fn delivers_encoded_paths(self) -> bool {
        !matches!(self, Self::HttpApi)
    }

    /// Whether this door joins a repeated header's values with commas into one value.
    fn joins_repeated_headers(self) -> bool {
        matches!(self, Self::HttpApi | Self::FunctionUrl)
    }
}

/// The event fields read, across all four shapes. Unknown fields are ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct RawEvent {
    version: Option<String>,
    http_method: Option<String>,
    path: Option<String>,
    raw_path: Option<String>,
    path_parameters: Option<HashMap<String, Option<String>>>,
    headers: Option<HashMap<String, Option<String>>>,
    multi_value_headers: Option<HashMap<String, Option<Vec<String>>>>,
    request_context: Option<RawContext>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct RawContext {
    elb: Option<serde_json::Value>,
    domain_name: Option<String>,
    http: Option<RawHttp>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawHttp {
    method: Option<String>,
}

/// The parts of an HTTP event this function reads, as the front door delivered them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    pub door: FrontDoor,
    /// As the front door delivered it: methods are case-sensitive (RFC 9110 §9.1), so `delete`
    /// is not `DELETE`.
    pub method: String,
    /// The path as delivered (see the table above for its encoding).
    pub path: String,
    /// `pathParameters.integrationId`, as delivered, when the front door routed by it.
    pub integration_id_parameter: Option<String>,
    /// Every `x-api-key` value that arrived, in any case of the header name.
    pub api_keys: Vec<String>,
}

/// Every name [`RawEvent`] reads: the names a shape error's path may show (any other map key,
/// a header name the client chose, say, is shown as `*`).
const NAMES_READ: &[&str] = &[
    "version",
    "httpMethod",
    "path",
    "rawPath",
    "pathParameters",
    PATH_PARAMETER,
    "headers",
    "multiValueHeaders",
    API_KEY_HEADER,
    "requestContext",
    "elb",
    "domainName",
    "http",
    "method",
];

/// Why an event is not one this function can answer as HTTP. Never quotes the event: its
/// fields carry client data (an API key in a header).
#[derive(Debug, thiserror::Error)]
pub enum NotHttp {
    #[error("the event is not JSON of the expected shape")]
    Json(#[from] ShapeError),
    #[error("the event is not from API Gateway, an ALB or a Function URL (no HTTP method)")]
    NoMethod,
}

impl Incoming {
    /// Reads an event. Fails only for an event no front door sends.
    pub fn from_json(event: &str) -> Result<Self, NotHttp> {
        let raw: RawEvent = event_json::from_str(event, NAMES_READ)?;
        let context = raw.request_context.unwrap_or_default();
        let door = if context.elb.is_some() {
            FrontDoor::Alb {
                multi_value_headers: raw.multi_value_headers.is_some(),
            }
        } else if raw.version.as_deref() == Some("2.0") {
            match &context.domain_name {
                Some(domain) if domain.contains(".lambda-url.") => FrontDoor::FunctionUrl,
                _ => FrontDoor::HttpApi,
            }
        } else {
            FrontDoor::RestApi
        };
        let method = match door {
            FrontDoor::HttpApi | FrontDoor::FunctionUrl => context.http.and_then(|h| h.method),
            FrontDoor::RestApi | FrontDoor::Alb { .. } => raw.http_method,
        }
        .filter(|m| !m.is_empty())
        .ok_or(NotHttp::NoMethod)?;
        let path = match door {
            FrontDoor::HttpApi | FrontDoor::FunctionUrl => raw.raw_path,
            FrontDoor::RestApi | FrontDoor::Alb { .. } => raw.path,
        }
        .unwrap_or_default();
        let integration_id_parameter = match door {
            FrontDoor::RestApi | FrontDoor::HttpApi => raw
                .path_parameters
                .and_then(|mut p| p.remove(PATH_PARAMETER))
                .flatten(),
            FrontDoor::FunctionUrl | FrontDoor::Alb { .. } => None,
        };
        Ok(Self {
            door,
            method,
            path,
            integration_id_parameter,
            api_keys: api_keys(raw.headers, raw.multi_value_headers),
        })
    }

    /// Decodes a segment of this event's path (or its path parameter) exactly once: undoes the
    /// percent-encoding where the front door delivered it encoded, leaves it as it is where the
    /// front door already decoded it.
    pub fn decode<'a>(&self, raw: &'a str) -> Result<Cow<'a, str>, InvalidIntegrationId> {
        if self.door.delivers_encoded_paths() {
            percent_decode_str(raw)
                .decode_utf8()
                .map_err(|_| InvalidIntegrationId::NotUtf8)
        } else {
            Ok(Cow::Borrowed(raw))
        }
    }

    /// The method as a log line may show it: a method of RFC 9110 or PATCH, in the case it
    /// arrived (`delete` stays `delete`), and `(other)` for any other token, which is
    /// client-chosen text.
    pub fn method_for_log(&self) -> &str {
        const KNOWN: [&str; 9] = [
            "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
        ];
        if KNOWN.iter().any(|m| m.eq_ignore_ascii_case(&self.method)) {
            &self.method
        } else {
            "(other)"
        }
    }

    /// Whether `x-api-key` arrived more than once: two values, or (at the doors that join
    /// repeated headers) one value with a comma, which no API key contains.
    pub fn api_key_repeated(&self) -> bool {
        self.api_keys.len() > 1
            || (self.door.joins_repeated_headers() && self.api_keys.iter().any(|k| k.contains(',')))
    }
}

/// Every value of `x-api-key`: from `multiValueHeaders` when it has the header (it holds every
/// value; `headers` holds only the last), from `headers` otherwise. Header names are compared
/// case-insensitively, so `X-Api-Key` and `x-api-key` are the same header sent twice.
fn api_keys(
    headers: Option<HashMap<String, Option<String>>>,
    multi_value_headers: Option<HashMap<String, Option<Vec<String>>>>,
) -> Vec<String> {
    let is_key = |name: &String| name.eq_ignore_ascii_case(API_KEY_HEADER);
    let from_multi: Vec<String> = multi_value_headers
        .into_iter()
        .flatten()
        .filter(|(name, _)| is_key(name))
        .flat_map(|(_, values)| values.unwrap_or_default())
        .collect();
    if !from_multi.is_empty() {
        return from_multi;
    }
    headers
        .into_iter()
        .flatten()
        .filter(|(name, _)| is_key(name))
        .filter_map(|(_, value)| value)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rest(path: &str, parameter: Option<&str>) -> Incoming {
        let event = json!({
            "resource": "/v1/integration/{integrationId}", "httpMethod": "DELETE", "path": path,
            "pathParameters": parameter.map(|p| json!({"integrationId": p})),
            "headers": {"x-api-key": "k"}, "multiValueHeaders": {"x-api-key": ["k"]},
            "requestContext": {"stage": "prod", "path": format!("/prod{path}")},
        });
        Incoming::from_json(&event.to_string()).unwrap()
    }

    fn http_api(raw_path: &str, parameter: Option<&str>) -> Incoming {
        let event = json!({
            "version": "2.0", "routeKey": "ANY /v1/integration/{integrationId}", "rawPath": raw_path,
            "pathParameters": parameter.map(|p| json!({"integrationId": p})),
            "headers": {"x-api-key": "k"},
            "requestContext": {"domainName": "abc.execute-api.us-east-1.amazonaws.com",
                               "http": {"method": "DELETE", "path": raw_path}},
        });
        Incoming::from_json(&event.to_string()).unwrap()
    }

    fn function_url(raw_path: &str) -> Incoming {
        let event = json!({
            "version": "2.0", "routeKey": "$default", "rawPath": raw_path,
            "headers": {"x-api-key": "k"},
            "requestContext": {"domainName": "abc.lambda-url.us-east-1.on.aws",
                               "http": {"method": "DELETE", "path": "/decoded/here"}},
        });
        Incoming::from_json(&event.to_string()).unwrap()
    }

    fn alb(path: &str, multi: bool) -> Incoming {
        let mut event = json!({
            "httpMethod": "DELETE", "path": path,
            "requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:x"}},
        });
        if multi {
            event["multiValueHeaders"] = json!({"x-api-key": ["k"]});
        } else {
            event["headers"] = json!({"x-api-key": "k"});
        }
        Incoming::from_json(&event.to_string()).unwrap()
    }

    /// The id a front door's path segment stands for, decoded as that door requires.
    fn id_of(incoming: &Incoming) -> Result<String, InvalidIntegrationId> {
        let raw = incoming
            .integration_id_parameter
            .clone()
            .unwrap_or_else(|| incoming.path.rsplit('/').next().unwrap().to_owned());
        incoming.decode(&raw).map(Cow::into_owned)
    }

    #[test]
    fn each_front_door_is_recognised() {
        assert_eq!(rest("/v1/integration/a", None).door, FrontDoor::RestApi);
        assert_eq!(http_api("/v1/integration/a", None).door, FrontDoor::HttpApi);
        assert_eq!(
            function_url("/v1/integration/a").door,
            FrontDoor::FunctionUrl
        );
        assert_eq!(
            alb("/v1/integration/a", true).door,
            FrontDoor::Alb {
                multi_value_headers: true
            }
        );
        assert_eq!(
            alb("/v1/integration/a", false).door,
            FrontDoor::Alb {
                multi_value_headers: false
            }
        );
    }

    /// A client sends `/v1/integration/%2561` (the literal id `%61`, never valid) and
    /// `/v1/integration/%61` (the id `a`). Each door delivers them its own way; decoded once,
    /// both mean the same thing everywhere.
    #[test]
    fn every_front_door_decodes_the_path_exactly_once() {
        type Case = (&'static str, Incoming, Result<String, InvalidIntegrationId>);
        let cases: Vec<Case> = vec![
            // REST API: path and pathParameters arrive encoded as sent.
            (
                "rest, path, %2561",
                rest("/v1/integration/%2561", None),
                Ok("%61".into()),
            ),
            (
                "rest, parameter, %2561",
                rest("/v1/integration/%2561", Some("%2561")),
                Ok("%61".into()),
            ),
            (
                "rest, path, %61",
                rest("/v1/integration/%61", None),
                Ok("a".into()),
            ),
            (
                "rest, parameter, %61",
                rest("/v1/integration/%61", Some("%61")),
                Ok("a".into()),
            ),
            // HTTP API: API Gateway has decoded rawPath and pathParameters once already.
            (
                "http api, path, %2561",
                http_api("/v1/integration/%61", None),
                Ok("%61".into()),
            ),
            (
                "http api, parameter, %2561",
                http_api("/v1/integration/%61", Some("%61")),
                Ok("%61".into()),
            ),
            (
                "http api, path, %61",
                http_api("/v1/integration/a", None),
                Ok("a".into()),
            ),
            // Function URL: rawPath arrives encoded as sent (requestContext.http.path is ignored).
            (
                "function url, %2561",
                function_url("/v1/integration/%2561"),
                Ok("%61".into()),
            ),
            (
                "function url, %61",
                function_url("/v1/integration/%61"),
                Ok("a".into()),
            ),
            // ALB: path arrives encoded as sent.
            (
                "alb, %2561",
                alb("/v1/integration/%2561", true),
                Ok("%61".into()),
            ),
            (
                "alb, %61",
                alb("/v1/integration/%61", false),
                Ok("a".into()),
            ),
            (
                "alb, not utf-8",
                alb("/v1/integration/%FF", false),
                Err(InvalidIntegrationId::NotUtf8),
            ),
        ];
        for (case, incoming, expected) in cases {
            assert_eq!(id_of(&incoming), expected, "{case}");
        }
    }

    #[test]
    fn a_repeated_api_key_is_seen_at_every_front_door_that_shows_it() {
        type Case = (&'static str, serde_json::Value, bool);
        let cases: Vec<Case> = vec![
            (
                "rest: headers holds the last value, multiValueHeaders both",
                json!({"httpMethod": "DELETE", "path": "/", "headers": {"x-api-key": "b"},
                       "multiValueHeaders": {"x-api-key": ["a", "b"]}}),
                true,
            ),
            (
                "rest: one value",
                json!({"httpMethod": "DELETE", "path": "/", "headers": {"x-api-key": "a"},
                       "multiValueHeaders": {"x-api-key": ["a"]}}),
                false,
            ),
            (
                "rest: two spellings of the name",
                json!({"httpMethod": "DELETE", "path": "/",
                       "multiValueHeaders": {"x-api-key": ["a"], "X-Api-Key": ["b"]}}),
                true,
            ),
            (
                "rest without multiValueHeaders (sam local, tests)",
                json!({"httpMethod": "DELETE", "path": "/", "headers": {"X-API-KEY": "a"}}),
                false,
            ),
            (
                "alb with multi-value headers",
                json!({"httpMethod": "DELETE", "path": "/", "requestContext": {"elb": {}},
                       "multiValueHeaders": {"x-api-key": ["a", "a"]}}),
                true,
            ),
            (
                "http api joins repeats with a comma",
                json!({"version": "2.0", "rawPath": "/", "headers": {"x-api-key": "a,b"},
                       "requestContext": {"http": {"method": "DELETE"}}}),
                true,
            ),
            (
                "function url joins repeats with a comma",
                json!({"version": "2.0", "rawPath": "/", "headers": {"x-api-key": "a,a"},
                       "requestContext": {"domainName": "x.lambda-url.eu-west-1.on.aws",
                                          "http": {"method": "DELETE"}}}),
                true,
            ),
            (
                "http api, one value",
                json!({"version": "2.0", "rawPath": "/", "headers": {"x-api-key": "a"},
                       "requestContext": {"http": {"method": "DELETE"}}}),
                false,
            ),
            (
                "rest does not join: a comma is part of the one value",
                json!({"httpMethod": "DELETE", "path": "/", "headers": {"x-api-key": "a,b"},
                       "multiValueHeaders": {"x-api-key": ["a,b"]}}),
                false,
            ),
            (
                "alb does not join: a comma is part of the one value",
                json!({"httpMethod": "DELETE", "path": "/", "requestContext": {"elb": {}},
                       "headers": {"x-api-key": "a,b"}}),
                false,
            ),
        ];
        for (case, event, repeated) in cases {
            let incoming = Incoming::from_json(&event.to_string()).unwrap();
            assert_eq!(
                incoming.api_key_repeated(),
                repeated,
                "{case}: {incoming:?}"
            );
        }
    }

    #[test]
    fn nothing_but_the_fields_read_can_fail_the_conversion() {
        // The Host values that make lambda_http 1.3.2's ALB conversion panic, and fields of
        // unexpected types elsewhere in the event, are not read at all.
        for host in ["%", "[::1", "a@b:c", "api.example.test:99999"] {
            let event = json!({
                "httpMethod": "DELETE", "path": "/v1/integration/int_1",
                "headers": {"host": host, "x-api-key": "k"},
                "queryStringParameters": {"a": 1}, "body": 42, "isBase64Encoded": "yes",
                "requestContext": {"elb": {"targetGroupArn": 7}},
            });
            let incoming = Incoming::from_json(&event.to_string()).unwrap();
            assert_eq!(incoming.path, "/v1/integration/int_1", "{host}");
        }
    }

    #[test]
    fn events_without_an_http_method_are_not_http() {
        for event in [
            "{}",
            r#"{"version": "2.0", "rawPath": "/"}"#,
            "[1]",
            "not json",
        ] {
            assert!(Incoming::from_json(event).is_err(), "{event}");
        }
    }

    /// A method is client-chosen text: a log line shows the known ones as they arrived and
    /// nothing of any other.
    #[test]
    fn the_logged_method_is_a_known_method_or_other() {
        let cases = [
            ("DELETE", "DELETE"),
            ("delete", "delete"),
            ("PATCH", "PATCH"),
            ("GET", "GET"),
            ("BREW", "(other)"),
            ("DELETE\nforged: line", "(other)"),
        ];
        for (method, logged) in cases {
            let event = json!({"httpMethod": method, "path": "/"});
            let incoming = Incoming::from_json(&event.to_string()).unwrap();
            assert_eq!(incoming.method_for_log(), logged, "{method:?}");
        }
    }
}
