//! The fixture: each test gets its own table (created from `template.yaml`) on the shared
//! DynamoDB Local, its own API-keys secret on the Secrets Manager endpoint, and typed helpers.
//!
//! The endpoints come from `AWS_ENDPOINT_URL_DYNAMODB` and `AWS_ENDPOINT_URL_SECRETS_MANAGER`,
//! which `make test` sets after starting both services.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType, TimeToLiveSpecification,
};
use disconnect_integration::api_keys::hash_key;
use disconnect_integration::{App, Config};
use lambda_http::http::{HeaderMap, Method};
use lambda_http::{Body, Context, Request, RequestExt};
use serde_json::{Value, json};

pub type Item = HashMap<String, AttributeValue>;

/// The accounts and keys every fixture's secret starts with.
pub const ACCOUNT_A: &str = "acct_a";
pub const ACCOUNT_B: &str = "acct_b";
pub const KEY_A: &str = "test_key_account_a";
pub const KEY_B: &str = "test_key_account_b";

/// The demo data the `events/` samples point at (seeded by `make dev` as well).
pub const DEMO_ACCOUNT: &str = "acct_demo";
pub const DEMO_KEY: &str = "demo_local_key_do_not_use_in_prod";
pub const DEMO_INTEGRATION: &str = "int_yt_abc123";

pub struct TestApp {
    pub app: App,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub table: String,
    pub secret_id: String,
    pub sdk: SdkConfig,
}

pub struct TestResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

static INIT_LOGS: Once = Once::new();
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A name no other test in this or a concurrent run uses.
pub fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{prefix}-{}-{}-{}",
        std::process::id(),
        nanos % 1_000_000_000,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A fresh Lambda request id, like the runtime's: a UUID-shaped string of 36 characters.
pub fn request_id() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let hex = format!(
        "{:032x}",
        (nanos << 20) ^ u128::from(n) ^ (u128::from(std::process::id()) << 96)
    );
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

thread_local! {
    static CAPTURE: RefCell<Option<Arc<Mutex<Vec<u8>>>>> = const { RefCell::new(None) };
}

/// Where log lines go: to this thread's capture if a test asked for one, else to stdout when
/// `TEST_LOG` is set, else nowhere. One global subscriber serves every test: per-test scoped
/// subscribers lose events to tracing's global callsite cache when tests run in parallel.
struct LogSink;

impl std::io::Write for LogSink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let captured = CAPTURE.with(|c| {
            c.borrow()
                .as_ref()
                .map(|buffer| buffer.lock().unwrap().extend_from_slice(bytes))
                .is_some()
        });
        if !captured && std::env::var_os("TEST_LOG").is_some() {
            std::io::stdout().write_all(bytes)?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn init_logs() {
    INIT_LOGS.call_once(|| {
        tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_max_level(tracing::Level::INFO)
            .with_writer(|| LogSink)
            .init();
    });
}

/// Collects, as JSON values, the log lines this thread emits while `f` runs. Use it from a
/// current-thread test runtime, where the handler runs on the test's thread.
pub async fn capture_logs<F: std::future::Future<Output = ()>>(f: F) -> Vec<Value> {
    init_logs();
    let buffer = Arc::new(Mutex::new(Vec::new()));
    CAPTURE.with(|c| *c.borrow_mut() = Some(buffer.clone()));
    f.await;
    CAPTURE.with(|c| *c.borrow_mut() = None);
    let text = String::from_utf8(buffer.lock().unwrap().clone()).unwrap();
    text.lines()
        .map(|line| serde_json::from_str(line).expect("a JSON log line"))
        .collect()
}

pub async fn sdk_config() -> SdkConfig {
    for var in [
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    ] {
        assert!(
            std::env::var_os(var).is_some(),
            "{var} is not set: run the integration tests with `make test`, which starts DynamoDB Local and the Secrets Manager endpoint"
        );
    }
    aws_config::defaults(BehaviorVersion::latest())
        .region("us-east-1")
        .credentials_provider(Credentials::new("local", "local", None, None, "tests"))
        .load()
        .await
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// A fixture whose configuration `tweak` may change before the app is built.
    pub async fn spawn_with(tweak: impl FnOnce(&mut Config)) -> Self {
        init_logs();
        let sdk = sdk_config().await;
        let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
        let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
        let table = unique("t");
        let secret_id = unique("test/api-keys");
        create_table(&dynamodb, &table).await;
        secrets
            .create_secret()
            .name(&secret_id)
            .secret_string(secret_json(&[
                (KEY_A, ACCOUNT_A),
                (KEY_B, ACCOUNT_B),
                (DEMO_KEY, DEMO_ACCOUNT),
            ]))
            .send()
            .await
            .expect("create the API-keys secret");
        let mut config = Config {
            table_name: table.clone(),
            api_keys_secret_id: secret_id.clone(),
            marker_ttl: Duration::from_secs(90 * 86_400),
            api_keys_cache_ttl: Duration::from_secs(300),
        };
        tweak(&mut config);
        Self {
            app: App::from_config(&config, &sdk),
            dynamodb,
            secrets,
            table,
            secret_id,
            sdk,
        }
    }

    /// Reads the API-keys secret now, so that concurrent requests race in DynamoDB rather than
    /// queue behind the first read of the secret.
    pub async fn warm_key_cache(&self) {
        self.app
            .keys()
            .warm_up()
            .await
            .expect("read the API-keys secret");
    }

    /// `DELETE /v1/integration/{id}` with `key` as `x-api-key` (none if `None`).
    pub async fn delete_integration(&self, id: &str, key: Option<&str>) -> TestResponse {
        let mut headers = vec![];
        if let Some(key) = key {
            headers.push(("x-api-key", key));
        }
        self.request(Method::DELETE, &format!("/v1/integration/{id}"), &headers)
            .await
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let mut builder = lambda_http::http::Request::builder()
            .method(method)
            .uri(path);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let request = builder.body(Body::Empty).unwrap().with_raw_http_path(path);
        self.send(request).await
    }

    /// Serves a request through the real handler, with a fresh Lambda request id.
    pub async fn send(&self, request: Request) -> TestResponse {
        let mut context = Context::default();
        context.request_id = request_id();
        let response = self
            .app
            .handle(request.with_lambda_context(context))
            .await
            .expect("the handler never returns Err");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = match response.into_body() {
            Body::Text(text) => serde_json::from_str(&text).expect("a JSON body"),
            other => panic!("expected a text body, got {other:?}"),
        };
        TestResponse {
            status,
            headers,
            body,
        }
    }

    /// An integration of `account` with `tokens` tokens named `TOKEN#0000`, `TOKEN#0001`, ...
    pub async fn seed_integration(&self, id: &str, account: &str, kind: &str, tokens: usize) {
        self.put(json!({
            "PK": format!("INTEGRATION#{id}"), "SK": "INTEGRATION",
            "id": id, "accountId": account, "type": kind,
            "name": "My channel", "createdAt": "2026-01-01T00:00:00Z",
        }))
        .await;
        let items: Vec<Value> = (0..tokens)
            .map(|i| {
                json!({
                    "PK": format!("INTEGRATION#{id}"), "SK": format!("TOKEN#{i:04}"),
                    "value": format!("secret-token-value-{i}"), "expiresAt": 4_102_444_800i64,
                })
            })
            .collect();
        for chunk in items.chunks(25) {
            let requests = chunk
                .iter()
                .map(|item| {
                    aws_sdk_dynamodb::types::WriteRequest::builder()
                        .put_request(
                            aws_sdk_dynamodb::types::PutRequest::builder()
                                .set_item(Some(to_item(item)))
                                .build()
                                .unwrap(),
                        )
                        .build()
                })
                .collect();
            let out = self
                .dynamodb
                .batch_write_item()
                .request_items(&self.table, requests)
                .send()
                .await
                .expect("seed tokens");
            assert!(out.unprocessed_items.unwrap_or_default().is_empty());
        }
    }

    pub async fn put(&self, item: Value) {
        self.dynamodb
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&item)))
            .send()
            .await
            .expect("put item");
    }

    pub async fn get(&self, pk: &str, sk: &str) -> Option<Value> {
        self.dynamodb
            .get_item()
            .table_name(&self.table)
            .key("PK", AttributeValue::S(pk.into()))
            .key("SK", AttributeValue::S(sk.into()))
            .consistent_read(true)
            .send()
            .await
            .expect("get item")
            .item
            .map(|item| serde_dynamo::from_item(item).unwrap())
    }

    /// Every item of the table, as JSON, sorted by key.
    pub async fn all_items(&self) -> Vec<Value> {
        let mut items: Vec<Value> = Vec::new();
        let mut pages = self
            .dynamodb
            .scan()
            .table_name(&self.table)
            .consistent_read(true)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for item in page.expect("scan").items.unwrap_or_default() {
                items.push(serde_dynamo::from_item(item).unwrap());
            }
        }
        items.sort_by_key(|i| format!("{}|{}", i["PK"], i["SK"]));
        items
    }

    /// The items of one integration's partition.
    pub async fn partition(&self, id: &str) -> Vec<Value> {
        let pk = format!("INTEGRATION#{id}");
        self.all_items()
            .await
            .into_iter()
            .filter(|i| i["PK"] == pk.as_str())
            .collect()
    }

    /// Replaces the API-keys secret's entries.
    pub async fn set_keys(&self, keys: &[(&str, &str)]) {
        self.secrets
            .put_secret_value()
            .secret_id(&self.secret_id)
            .secret_string(secret_json(keys))
            .send()
            .await
            .expect("update the API-keys secret");
    }

    pub async fn set_secret_string(&self, text: &str) {
        self.secrets
            .put_secret_value()
            .secret_id(&self.secret_id)
            .secret_string(text)
            .send()
            .await
            .expect("update the API-keys secret");
    }
}

pub fn secret_json(keys: &[(&str, &str)]) -> String {
    let keys: Vec<Value> = keys
        .iter()
        .map(
            |(key, account)| json!({"sha256": hash_key(key), "accountId": account, "name": "test"}),
        )
        .collect();
    json!({ "keys": keys }).to_string()
}

pub fn to_item(value: &Value) -> Item {
    serde_dynamo::to_item(value).expect("a JSON object maps to an item")
}

/// Creates `name` with the key schema, attribute definitions, billing mode and TTL of the table
/// in `template.yaml`, so the tests run against the definition that is deployed.
pub async fn create_table(client: &aws_sdk_dynamodb::Client, name: &str) {
    let spec = table_spec_from_template();
    let properties = &spec["Properties"];
    let mut create = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::from(
            properties["BillingMode"].as_str().expect("BillingMode"),
        ));
    for attribute in properties["AttributeDefinitions"].as_sequence().unwrap() {
        create = create.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(attribute["AttributeName"].as_str().unwrap())
                .attribute_type(ScalarAttributeType::from(
                    attribute["AttributeType"].as_str().unwrap(),
                ))
                .build()
                .unwrap(),
        );
    }
    for key in properties["KeySchema"].as_sequence().unwrap() {
        create = create.key_schema(
            KeySchemaElement::builder()
                .attribute_name(key["AttributeName"].as_str().unwrap())
                .key_type(KeyType::from(key["KeyType"].as_str().unwrap()))
                .build()
                .unwrap(),
        );
    }
    create.send().await.expect("create the test table");
    let ttl = &properties["TimeToLiveSpecification"];
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(ttl["AttributeName"].as_str().unwrap())
                .enabled(ttl["Enabled"].as_bool().unwrap())
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("enable TTL on the test table");
}

/// The one `AWS::DynamoDB::Table` resource of `template.yaml`.
pub fn table_spec_from_template() -> serde_yaml::Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml"))
        .expect("read template.yaml");
    let template: serde_yaml::Value = serde_yaml::from_str(&text).expect("parse template.yaml");
    let tables: Vec<&serde_yaml::Value> = template["Resources"]
        .as_mapping()
        .expect("Resources")
        .values()
        .filter(|r| r["Type"].as_str() == Some("AWS::DynamoDB::Table"))
        .collect();
    assert_eq!(tables.len(), 1, "template.yaml defines exactly one table");
    tables[0].clone()
}

/// Reads one sample event from `events/` as the runtime would deliver it.
pub fn event(name: &str) -> Request {
    let path = format!("{}/events/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("parse {path}: {e}"))
}
