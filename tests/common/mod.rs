#![allow(dead_code)] // Shared by two test targets; each uses its part.
//! What the handler's test targets share: the function's configuration for a test, and a Lambda
//! response read as the front door reads it. Included by `tests/api` and `tests/contract`.

use std::collections::BTreeMap;

use disconnect_integration::Config;
use serde_json::Value;
use test_support::lambda_response::HttpAnswer;

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

/// The function's configuration with its defaults, for `table` and the keys secret `secret_id`.
pub fn config(table: &str, secret_id: &str) -> Config {
    Config::from_lookup(|name| match name {
        "TABLE_NAME" => Some(table.to_owned()),
        "API_KEYS_SECRET_ID" => Some(secret_id.to_owned()),
        _ => None,
    })
    .expect("a valid configuration")
}
