//! Events shaped like each front door's, for the tests of both the handler and the shipped
//! binary (see `src/http/front_door.rs` for the evidence behind each shape).

use std::collections::BTreeMap;

use percent_encoding::percent_decode_str;
use serde_json::{Value, json};

/// A front door, and how it delivers a client's request to the function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    /// REST API, payload 1.0, resource `/v1/integration/{integrationId}`.
    RestApi,
    /// HTTP API, payload 2.0: the template's front door, with its routes
    /// `ANY /v1/integration/{integrationId}` and `$default`.
    HttpApi,
    FunctionUrl,
    /// ALB with multi-value headers on.
    Alb,
}

impl Door {
    pub const ALL: [Door; 4] = [Self::RestApi, Self::HttpApi, Self::FunctionUrl, Self::Alb];

    /// The event this door sends for a client's `method path` with `headers` (repeated names
    /// allowed). `path` is what the client put on the wire, percent-encoding and all.
    pub fn event(self, method: &str, path: &str, headers: &[(&str, &str)]) -> String {
        let segment = path
            .strip_prefix("/v1/integration/")
            .filter(|rest| !rest.contains('/'));
        let mut multi: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, value) in headers {
            let name = match self {
                // Payload 2.0 names are lower case; a repeated header is one entry.
                Door::HttpApi | Door::FunctionUrl => name.to_ascii_lowercase(),
                Door::RestApi | Door::Alb => name.to_string(),
            };
            multi.entry(name).or_default().push(value.to_string());
        }
        let single: serde_json::Map<String, Value> = multi
            .iter()
            .map(|(name, values)| {
                let value = match self {
                    // HTTP API and Function URLs join a repeated header's values with commas.
                    Door::HttpApi | Door::FunctionUrl => values.join(","),
                    // REST APIs keep the last value in `headers`, every value in
                    // `multiValueHeaders`.
                    Door::RestApi | Door::Alb => values.last().unwrap().clone(),
                };
                (name.clone(), Value::from(value))
            })
            .collect();
        let decoded = |text: &str| percent_decode_str(text).decode_utf8_lossy().into_owned();
        let event = match self {
            Door::RestApi => json!({
                "resource": if segment.is_some() { "/v1/integration/{integrationId}" } else { "/{proxy+}" },
                "path": path, "httpMethod": method,
                "headers": single, "multiValueHeaders": multi,
                "pathParameters": segment.map(|s| json!({"integrationId": s})),
                "requestContext": {"stage": "prod", "path": format!("/prod{path}"), "httpMethod": method},
                "body": null, "isBase64Encoded": false,
            }),
            Door::HttpApi => json!({
                "version": "2.0",
                "routeKey": if segment.is_some() { "ANY /v1/integration/{integrationId}" } else { "$default" },
                // HTTP APIs deliver the path and its parameters already percent-decoded.
                "rawPath": decoded(path), "rawQueryString": "",
                "headers": single,
                "pathParameters": segment.map(|s| json!({"integrationId": decoded(s)})),
                "requestContext": {"domainName": "api.example.test", "stage": "$default",
                                   "http": {"method": method, "path": decoded(path)}},
                "isBase64Encoded": false,
            }),
            Door::FunctionUrl => json!({
                "version": "2.0", "routeKey": "$default",
                "rawPath": path, "rawQueryString": "",
                "headers": single,
                "requestContext": {"domainName": "abc123.lambda-url.us-east-1.on.aws", "stage": "$default",
                                   "http": {"method": method, "path": decoded(path)}},
                "isBase64Encoded": false,
            }),
            Door::Alb => json!({
                "httpMethod": method, "path": path,
                "multiValueHeaders": multi, "multiValueQueryStringParameters": {},
                "requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/t/0"}},
                "body": "", "isBase64Encoded": false,
            }),
        };
        event.to_string()
    }
}
