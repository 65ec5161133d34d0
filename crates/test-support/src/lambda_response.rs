//! Reading a Lambda HTTP response object (any front door's shape) as the front door does.

use std::collections::BTreeMap;

use serde_json::Value;

/// A status, headers and the body exactly as sent.
#[derive(Debug, Clone)]
pub struct HttpAnswer {
    pub status: u16,
    /// Lower-case names; `multiValueHeaders` values joined with commas.
    pub headers: BTreeMap<String, String>,
    /// The body exactly as sent.
    pub body: String,
    /// The whole response object.
    pub lambda: Value,
}

impl HttpAnswer {
    pub fn from_lambda(lambda: Value) -> Self {
        let status = lambda["statusCode"].as_u64().expect("a statusCode") as u16;
        let text = |v: &Value| v.as_str().expect("text header values").to_owned();
        let mut headers = BTreeMap::new();
        for (name, value) in lambda["headers"].as_object().into_iter().flatten() {
            headers.insert(name.to_ascii_lowercase(), text(value));
        }
        for (name, values) in lambda["multiValueHeaders"]
            .as_object()
            .into_iter()
            .flatten()
        {
            let values: Vec<String> = values.as_array().unwrap().iter().map(text).collect();
            headers.insert(name.to_ascii_lowercase(), values.join(","));
        }
        let body = lambda["body"].as_str().expect("a text body").to_owned();
        Self {
            status,
            headers,
            body,
            lambda,
        }
    }
}

/// A Lambda HTTP response with its JSON body parsed: what the handler's tests assert on.
#[derive(Debug)]
pub struct TestResponse {
    pub status: u16,
    /// Lower-case names.
    pub headers: BTreeMap<String, String>,
    pub body: Value,
    /// The body exactly as sent.
    pub raw_body: String,
    /// The whole Lambda response object.
    pub lambda: Value,
}

impl TestResponse {
    /// Reads a Lambda response object of any front door.
    pub fn from_lambda(lambda: Value) -> Self {
        let answer = HttpAnswer::from_lambda(lambda);
        let body = serde_json::from_str(&answer.body).expect("a JSON body");
        Self {
            status: answer.status,
            headers: answer.headers,
            body,
            raw_body: answer.body,
            lambda: answer.lambda,
        }
    }
}
