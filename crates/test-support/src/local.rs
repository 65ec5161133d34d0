//! Per-test tables and secrets on the local stand-ins for AWS: DynamoDB Local and moto's
//! Secrets Manager. The endpoints come from `AWS_ENDPOINT_URL_DYNAMODB` and
//! `AWS_ENDPOINT_URL_SECRETS_MANAGER`, which `make test` sets after starting both services.
//!
//! (Over 400 lines, one thing: the typed seed-and-read helpers of a test's own table and
//! secret, which every service-backed test shares.)

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, PutRequest, ScalarAttributeType, StreamSpecification,
    StreamViewType, TimeToLiveSpecification, WriteRequest,
};
use integrations_table::attributes::{ACCOUNT_ID, EXPIRES_AT, ID, PK, SK, TOKEN, TOKEN_TYPE, TYPE};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub type Item = HashMap<String, AttributeValue>;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The repository's root folder.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

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

/// A fresh Lambda request id, shaped like the runtime's: a UUID of 36 characters.
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

/// Lowercase hex SHA-256 of a key: the form the API-keys secret stores.
pub fn hash_key(plaintext: &str) -> String {
    hex::encode(Sha256::digest(plaintext.as_bytes()))
}

/// The API-keys secret's JSON for `(key, account)` pairs.
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

/// The SDK configuration of the local services, with dummy credentials.
pub async fn sdk_config() -> SdkConfig {
    for var in [
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    ] {
        assert!(
            std::env::var_os(var).is_some(),
            "{var} is not set: run the tests with `make test`, which starts DynamoDB Local and moto and sets the endpoints"
        );
    }
    // The SDK's standard retries, with a short first back-off instead of 1 s, so that tests of
    // failing dependencies do not wait for seconds. (The shipped binary keeps its own config.)
    let retries = aws_config::retry::RetryConfig::standard()
        .with_initial_backoff(std::time::Duration::from_millis(20));
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .region("us-east-1")
        .credentials_provider(Credentials::new("local", "local", None, None, "tests"))
        .retry_config(retries)
        .load()
        .await
}

/// `template.yaml`, parsed.
pub fn template() -> serde_yaml::Value {
    let path = repo_root().join("template.yaml");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_yaml::from_str(&text).expect("parse template.yaml")
}

/// The one `AWS::DynamoDB::Table` resource of `template.yaml`.
pub fn table_spec_from_template() -> serde_yaml::Value {
    let template = template();
    let tables: Vec<&serde_yaml::Value> = template["Resources"]
        .as_mapping()
        .expect("Resources")
        .values()
        .filter(|r| r["Type"].as_str() == Some("AWS::DynamoDB::Table"))
        .collect();
    assert_eq!(tables.len(), 1, "template.yaml defines exactly one table");
    tables[0].clone()
}

/// A table of its own on DynamoDB Local, created from `template.yaml`'s definition.
#[derive(Debug, Clone)]
pub struct Table {
    pub name: String,
    pub client: aws_sdk_dynamodb::Client,
}

impl Table {
    pub async fn create(sdk: &SdkConfig) -> Self {
        let client = aws_sdk_dynamodb::Client::new(sdk);
        let name = unique("t");
        create_table(&client, &name).await;
        Self { name, client }
    }

    /// An integration of `account` with `tokens` tokens named `TOKEN#0000`, `TOKEN#0001`, ...
    /// whose `token` values are `secret-token-value-<n>` (`tokenType` `access_token`, the data contract).
    pub async fn seed_integration(&self, id: &str, account: &str, kind: &str, tokens: usize) {
        self.put(json!({
            PK: format!("INTEGRATION#{id}"), SK: "INTEGRATION",
            ID: id, ACCOUNT_ID: account, TYPE: kind,
            "name": "My channel", "createdAt": "2026-01-01T00:00:00Z",
        }))
        .await;
        let items: Vec<Value> = (0..tokens)
            .map(|i| {
                json!({
                    PK: format!("INTEGRATION#{id}"), SK: format!("TOKEN#{i:04}"),
                    TOKEN: format!("secret-token-value-{i}"), TOKEN_TYPE: "access_token",
                    EXPIRES_AT: 4_102_444_800i64,
                })
            })
            .collect();
        for chunk in items.chunks(25) {
            let requests = chunk
                .iter()
                .map(|item| {
                    WriteRequest::builder()
                        .put_request(
                            PutRequest::builder()
                                .set_item(Some(to_item(item)))
                                .build()
                                .unwrap(),
                        )
                        .build()
                })
                .collect();
            let out = self
                .client
                .batch_write_item()
                .request_items(&self.name, requests)
                .send()
                .await
                .expect("seed tokens");
            assert!(out.unprocessed_items.unwrap_or_default().is_empty());
        }
    }

    /// Writes the token `name` of `id` by the token-writer protocol
    /// (`integrations_table::tokens::put_token`), from a thread, a runtime and a client of its
    /// own, so that it can run anywhere: inside another runtime's call, or from a proxy's thread.
    pub fn put_token_blocking(
        &self,
        id: &str,
        name: &str,
    ) -> Result<(), integrations_table::tokens::PutTokenError> {
        let table = self.name.clone();
        let (id, name) = (id.to_owned(), name.to_owned());
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async {
                    let client = aws_sdk_dynamodb::Client::new(&sdk_config().await);
                    integrations_table::tokens::put_token(
                        &client,
                        &table,
                        &integrations_table::IntegrationId::parse(&id).unwrap(),
                        &name,
                        HashMap::from([(
                            TOKEN.to_owned(),
                            AttributeValue::S("secret-token-value-late".into()),
                        )]),
                    )
                    .await
                })
        })
        .join()
        .unwrap()
    }

    pub async fn put(&self, item: Value) {
        self.client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(to_item(&item)))
            .send()
            .await
            .expect("put item");
    }

    pub async fn get(&self, pk: &str, sk: &str) -> Option<Value> {
        self.client
            .get_item()
            .table_name(&self.name)
            .key(PK, AttributeValue::S(pk.into()))
            .key(SK, AttributeValue::S(sk.into()))
            .consistent_read(true)
            .send()
            .await
            .expect("get item")
            .item
            .map(|item| serde_dynamo::from_item(item).unwrap())
    }

    /// The ARN of the table's stream (the template's `StreamSpecification`; see [`create_table`]).
    /// Turns on the template's `StreamSpecification` (same view type), before the writes a test
    /// wants to read back from the stream.
    pub async fn enable_stream(&self) {
        let spec = table_spec_from_template();
        let view = spec["Properties"]["StreamSpecification"]["StreamViewType"]
            .as_str()
            .expect("template.yaml's table has a StreamSpecification");
        self.client
            .update_table()
            .table_name(&self.name)
            .stream_specification(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::from(view))
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .expect("enable the stream of the test table");
    }

    pub async fn stream_arn(&self) -> String {
        self.client
            .describe_table()
            .table_name(&self.name)
            .send()
            .await
            .expect("describe the test table")
            .table
            .and_then(|t| t.latest_stream_arn)
            .expect("the test table has a stream: call Table::enable_stream first")
    }

    /// Every item of the table, as JSON, sorted by key.
    pub async fn all_items(&self) -> Vec<Value> {
        let mut items: Vec<Value> = Vec::new();
        let mut pages = self
            .client
            .scan()
            .table_name(&self.name)
            .consistent_read(true)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for item in page.expect("scan").items.unwrap_or_default() {
                items.push(serde_dynamo::from_item(item).unwrap());
            }
        }
        items.sort_by_key(|i| format!("{}|{}", i[PK], i[SK]));
        items
    }

    /// The items of one integration's partition, sorted by `SK`.
    pub async fn partition(&self, id: &str) -> Vec<Value> {
        let pk = format!("INTEGRATION#{id}");
        self.all_items()
            .await
            .into_iter()
            .filter(|i| i[PK] == pk.as_str())
            .collect()
    }

    /// The sort keys of one integration's partition.
    pub async fn sort_keys(&self, id: &str) -> Vec<String> {
        self.partition(id)
            .await
            .iter()
            .map(|i| i[SK].as_str().unwrap().to_owned())
            .collect()
    }
}

/// An API-keys secret of its own on moto.
#[derive(Debug, Clone)]
pub struct KeysSecret {
    pub id: String,
    pub client: aws_sdk_secretsmanager::Client,
}

impl KeysSecret {
    pub async fn create(sdk: &SdkConfig, keys: &[(&str, &str)]) -> Self {
        let client = aws_sdk_secretsmanager::Client::new(sdk);
        let id = unique("test/api-keys");
        client
            .create_secret()
            .name(&id)
            .secret_string(secret_json(keys))
            .send()
            .await
            .expect("create the API-keys secret");
        Self { id, client }
    }

    /// Replaces the secret's entries.
    pub async fn set_keys(&self, keys: &[(&str, &str)]) {
        self.set_string(&secret_json(keys)).await;
    }

    pub async fn set_string(&self, text: &str) {
        self.client
            .put_secret_value()
            .secret_id(&self.id)
            .secret_string(text)
            .send()
            .await
            .expect("update the API-keys secret");
    }
}

/// Creates `name` with the key schema, attribute definitions, billing mode, stream and TTL of the
/// table in `template.yaml`, so the tests run against the definition that is deployed.
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
    for index in properties["GlobalSecondaryIndexes"]
        .as_sequence()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let mut gsi = GlobalSecondaryIndex::builder()
            .index_name(index["IndexName"].as_str().unwrap())
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::from(
                        index["Projection"]["ProjectionType"].as_str().unwrap(),
                    ))
                    .build(),
            );
        for key in index["KeySchema"].as_sequence().unwrap() {
            gsi = gsi.key_schema(
                KeySchemaElement::builder()
                    .attribute_name(key["AttributeName"].as_str().unwrap())
                    .key_type(KeyType::from(key["KeyType"].as_str().unwrap()))
                    .build()
                    .unwrap(),
            );
        }
        create = create.global_secondary_indexes(gsi.build().unwrap());
    }
    // No stream here, though the template's table has one: DynamoDB Local's stream slows every
    // write enough to push the deadline tests (tests/shipped/faults.rs) past their budgets, and
    // only the tests that read the stream need it: they call `Table::enable_stream` first.
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

/// The DELETE function's environment for a test: `TABLE_NAME` and `API_KEYS_SECRET_ID`, every
/// other variable unset (its default), as `Config::from_lookup` reads it.
pub fn function_env(table: &str, secret_id: &str) -> impl Fn(&str) -> Option<String> + use<> {
    let (table, secret_id) = (table.to_owned(), secret_id.to_owned());
    move |name| match name {
        "TABLE_NAME" => Some(table.clone()),
        "API_KEYS_SECRET_ID" => Some(secret_id.clone()),
        _ => None,
    }
}
