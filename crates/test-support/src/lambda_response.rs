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
