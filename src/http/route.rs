//! The path and the key of a request: which id the path names, and the one `x-api-key` value.
//! Pure functions over what the front door delivered.

use crate::http::front_door::Incoming;
use crate::http::response::ApiError;

/// Matches `/v1/integration/{id}`, optionally behind one prefix segment (a REST API stage or a
/// custom-domain base path), and returns the id segment as delivered. A trailing slash after
/// the id is tolerated; `/v1/integration/` yields an empty id, which the id check rejects.
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

/// The one `x-api-key` value. Missing or blank is `MissingApiKey`; sent more than once is
/// `RepeatedApiKey` (`invalid_api_key`), whatever the values.
pub fn api_key(incoming: &Incoming) -> Result<&str, ApiError> {
    if incoming.api_key_repeated() {
        return Err(ApiError::RepeatedApiKey);
    }
    match incoming.api_keys.first().map(|k| k.trim()) {
        Some(key) if !key.is_empty() => Ok(key),
        _ => Err(ApiError::MissingApiKey),
    }
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

    #[test]
    fn the_api_key_is_the_one_trimmed_value_sent() {
        use serde_json::json;
        let with_headers = |headers: serde_json::Value| {
            let event = json!({"httpMethod": "DELETE", "path": "/", "multiValueHeaders": headers});
            Incoming::from_json(&event.to_string()).unwrap()
        };
        let cases = [
            (json!({"x-api-key": ["key_1"]}), Ok("key_1")),
            (json!({"x-api-key": [" key_1\t"]}), Ok("key_1")),
            (json!({"x-api-key": [""]}), Err(ApiError::MissingApiKey)),
            (json!({"x-api-key": ["   "]}), Err(ApiError::MissingApiKey)),
            (json!({"other": ["key_1"]}), Err(ApiError::MissingApiKey)),
            (
                json!({"x-api-key": ["key_1", "key_1"]}),
                Err(ApiError::RepeatedApiKey),
            ),
        ];
        for (headers, expected) in cases {
            let incoming = with_headers(headers.clone());
            let got = api_key(&incoming).map_err(|e| format!("{e:?}"));
            assert_eq!(got, expected.map_err(|e| format!("{e:?}")), "{headers}");
        }
    }
}
