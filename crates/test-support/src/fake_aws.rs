//! An SDK HTTP client that answers every request from a closure: unit tests see the wire
//! format the SDK really parses (status, JSON body), with no `test-util` feature involved.

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_runtime_api::client::http::{
    HttpConnector, HttpConnectorFuture, SharedHttpClient, SharedHttpConnector, http_client_fn,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use serde_json::{Map, Value, json};

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Call {
    /// The operation, from `x-amz-target`: `DynamoDB_20120810.Query`, `secretsmanager.GetSecretValue`.
    pub target: String,
    /// The operation name alone: `Query`, `GetSecretValue`.
    pub operation: String,
    /// The JSON request body.
    pub body: String,
    /// How many earlier calls of the same operation this fake answered.
    pub nth: usize,
}

/// A status and a body to answer with, at once or after a delay.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub delay: Option<std::time::Duration>,
}

impl Reply {
    pub fn ok(body: impl Into<String>) -> Self {
        Self {
            status: 200,
            body: body.into(),
            delay: None,
        }
    }

    /// The same answer, `delay` later (a slow or hanging service).
    pub fn after(mut self, delay: std::time::Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// An AWS JSON error of type `code` (the shape DynamoDB and Secrets Manager both use).
    pub fn error(status: u16, code: &str) -> Self {
        Self {
            status,
            body: format!(r#"{{"__type":"com.amazonaws.test#{code}","message":"test"}}"#),
            delay: None,
        }
    }
}

/// An item in DynamoDB's JSON wire format, from plain JSON: each attribute's string becomes
/// `{"S": ..}`, a number `{"N": ..}`, a bool `{"BOOL": ..}`, an array `{"L": [..]}`, an object
/// `{"M": {..}}`. The fakes' answers name attributes by `integrations_table::attributes` this
/// way instead of spelling them inside raw JSON.
pub fn wire_item(item: &Value) -> Value {
    fn wire(value: &Value) -> Value {
        match value {
            Value::String(s) => json!({ "S": s }),
            Value::Number(n) => json!({ "N": n.to_string() }),
            Value::Bool(b) => json!({ "BOOL": b }),
            Value::Null => json!({ "NULL": true }),
            Value::Array(values) => json!({ "L": values.iter().map(wire).collect::<Vec<_>>() }),
            Value::Object(_) => json!({ "M": wire_item(value) }),
        }
    }
    let attributes = item.as_object().expect("an item is a JSON object");
    Value::Object(
        attributes
            .iter()
            .map(|(name, value)| (name.clone(), wire(value)))
            .collect::<Map<_, _>>(),
    )
}

type Responder = dyn Fn(&Call) -> Reply + Send + Sync;

/// The fake: clients built from it send every request to `respond`.
#[derive(Clone)]
pub struct FakeAws {
    respond: Arc<Responder>,
    calls: Arc<Mutex<Vec<Call>>>,
}

impl std::fmt::Debug for FakeAws {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeAws").finish_non_exhaustive()
    }
}

impl FakeAws {
    pub fn new(respond: impl Fn(&Call) -> Reply + Send + Sync + 'static) -> Self {
        Self {
            respond: Arc::new(respond),
            calls: Arc::default(),
        }
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    /// How many calls of `operation` (`Query`, `TransactWriteItems`, ...) were made.
    pub fn count(&self, operation: &str) -> usize {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.operation == operation)
            .count()
    }

    pub fn http_client(&self) -> SharedHttpClient {
        let fake = self.clone();
        http_client_fn(move |_, _| SharedHttpConnector::new(fake.clone()))
    }

    /// A DynamoDB client on this fake, without retries.
    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new("us-east-1"))
                .credentials_provider(Credentials::new("fake", "fake", None, None, "fake"))
                .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
                .http_client(self.http_client())
                .build(),
        )
    }

    /// A Secrets Manager client on this fake, without retries.
    pub fn secrets_manager(&self) -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::from_conf(
            aws_sdk_secretsmanager::Config::builder()
                .behavior_version(aws_sdk_secretsmanager::config::BehaviorVersion::latest())
                .region(aws_sdk_secretsmanager::config::Region::new("us-east-1"))
                .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
                    "fake", "fake", None, None, "fake",
                ))
                .retry_config(aws_sdk_secretsmanager::config::retry::RetryConfig::disabled())
                .http_client(self.http_client())
                .build(),
        )
    }
}

impl HttpConnector for FakeAws {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let target = request
            .headers()
            .get("x-amz-target")
            .unwrap_or_default()
            .to_owned();
        let operation = target.rsplit('.').next().unwrap_or_default().to_owned();
        let body = request
            .body()
            .bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        let call = {
            let mut calls = self.calls.lock().unwrap();
            let nth = calls.iter().filter(|c| c.operation == operation).count();
            let call = Call {
                target,
                operation,
                body,
                nth,
            };
            calls.push(call.clone());
            call
        };
        let reply = (self.respond)(&call);
        let response = HttpResponse::new(
            StatusCode::try_from(reply.status).expect("a valid status"),
            SdkBody::from(reply.body),
        );
        match reply.delay {
            None => HttpConnectorFuture::ready(Ok(response)),
            Some(delay) => HttpConnectorFuture::new(async move {
                tokio::time::sleep(delay).await;
                Ok(response)
            }),
        }
    }
}
