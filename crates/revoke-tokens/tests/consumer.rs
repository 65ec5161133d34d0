//! The consumer against DynamoDB Local (a table made from template.yaml, GrantIndex included)
//! and stub platforms (wiremock on loopback): one test per platform and per outcome, shared
//! grants, retries, what is ignored, and that no token value reaches a log line, a metric or
//! the marker. Run with `make test` (services up, endpoints set).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use disconnect_integration::clock::SystemClock;
use integrations_table::{AccountId, DisconnectMarker, IntegrationId};
use platform_revoke::{ClientCredentials, Credentials, Endpoints, Platform, Revoker};
use revoke_tokens::stream::{BatchResponse, ItemFailure, StreamEvent};
use revoke_tokens::{Consumer, MetricsOut};
use serde_json::{Value, json};
use test_support::local::{Table, sdk_config, to_item, unique};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PLATFORMS: [Platform; 5] = [
    Platform::Google,
    Platform::TikTok,
    Platform::Meta,
    Platform::LinkedIn,
    Platform::X,
];

/// A table, a stub of every platform, and the consumer wired to both.
struct Fixture {
    table: Table,
    server: MockServer,
    consumer: Consumer,
    metrics: Arc<Mutex<Vec<Value>>>,
}

impl Fixture {
    async fn new() -> Self {
        let sdk = sdk_config().await;
        let table = Table::create(&sdk).await;
        let server = MockServer::start().await;
        let endpoints = PLATFORMS
            .iter()
            .fold(Endpoints::defaults(), |e, &p| e.with_base(p, server.uri()));
        let credentials = PLATFORMS.iter().fold(Credentials::default(), |c, &p| {
            c.with(
                p,
                ClientCredentials::new("client-id", "client-secret-value"),
            )
        });
        let metrics = Arc::new(Mutex::new(Vec::new()));
        let consumer = Consumer::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            table.name.clone(),
            Revoker::new(endpoints, credentials, Duration::from_secs(2)),
            SystemClock::shared(),
            MetricsOut::Memory(Arc::clone(&metrics)),
        );
        Self {
            table,
            server,
            consumer,
            metrics,
        }
    }

    /// Stubs `platform`'s revoke call with `answer`, expecting `times` calls.
    async fn platform_answers(&self, platform: Platform, answer: ResponseTemplate, times: u64) {
        let (verb, route) = match platform {
            Platform::Google => ("POST", "/revoke".to_owned()),
            Platform::TikTok => ("POST", "/v2/oauth/revoke/".to_owned()),
            Platform::Meta => (
                "DELETE",
                format!("/{}/me/permissions", platform_revoke::GRAPH_API_VERSION),
            ),
            Platform::LinkedIn => ("POST", "/oauth/v2/revoke".to_owned()),
            Platform::X => ("POST", "/2/oauth2/revoke".to_owned()),
        };
        Mock::given(method(verb))
            .and(path(route))
            .respond_with(answer)
            .expect(times)
            .mount(&self.server)
            .await;
    }

    /// An integration of `kind` with one access token, optionally on `grant`.
    async fn integration(&self, id: &str, kind: &str, grant: Option<&str>) -> String {
        let mut item = json!({
            "PK": format!("INTEGRATION#{id}"), "SK": "INTEGRATION",
            "id": id, "accountId": "acct_1", "type": kind,
        });
        if let Some(grant) = grant {
            item["grantId"] = json!(grant);
        }
        self.table.put(item).await;
        let token = format!("tok-{}", unique("v"));
        self.table
            .put(json!({
                "PK": format!("INTEGRATION#{id}"), "SK": "TOKEN#access",
                "token": token, "tokenType": "access_token", "expiresAt": 4_102_444_800i64,
            }))
            .await;
        token
    }

    /// What the DELETE function's transaction does (the marker in, the integration and its
    /// tokens out), and the stream's REMOVE records of the tokens, as Lambda delivers them.
    async fn disconnect(&self, id: &str) -> StreamEvent {
        let partition = self.table.partition(id).await;
        let integration = partition
            .iter()
            .find(|i| i["SK"] == "INTEGRATION")
            .expect("an integration");
        let marker = DisconnectMarker::new(
            &IntegrationId::parse(id).unwrap(),
            &AccountId::new("acct_1").unwrap(),
            integration["type"].as_str().unwrap(),
            std::time::SystemTime::now(),
            Duration::from_secs(86_400),
        )
        .with_grant_id(integration["grantId"].as_str().map(str::to_owned));
        self.table
            .put(serde_dynamo::from_item(marker.to_item().unwrap()).unwrap())
            .await;
        let mut records = vec![];
        for item in &partition {
            self.delete(item).await;
            records.push(removal(item, false));
        }
        event(records)
    }

    async fn delete(&self, item: &Value) {
        self.table
            .client
            .delete_item()
            .table_name(&self.table.name)
            .key("PK", to_item(&json!({"k": item["PK"]}))["k"].clone())
            .key("SK", to_item(&json!({"k": item["SK"]}))["k"].clone())
            .send()
            .await
            .unwrap();
    }

    async fn handle(&self, event: &StreamEvent) -> BatchResponse {
        self.consumer.handle(event, "req-test").await
    }

    async fn outcomes(&self, id: &str) -> Vec<Value> {
        self.table
            .get(&format!("INTEGRATION#{id}"), "DISCONNECTED")
            .await
            .and_then(|m| m.get("revocation").cloned())
            .and_then(|r| r.as_array().cloned())
            .unwrap_or_default()
    }

    async fn outcome(&self, id: &str) -> String {
        let outcomes = self.outcomes(id).await;
        assert_eq!(outcomes.len(), 1, "one outcome: {outcomes:#?}");
        outcomes[0]["outcome"].as_str().unwrap().to_owned()
    }

    fn counted(&self, metric: &str) -> u64 {
        self.metrics
            .lock()
            .unwrap()
            .iter()
            .filter_map(|doc| doc.get(metric).and_then(Value::as_u64))
            .sum()
    }
}

/// The stream record of `item`'s removal (a TTL removal when `by_ttl`).
fn removal(item: &Value, by_ttl: bool) -> Value {
    let image: Value = serde_json::to_value(dynamodb_json(item)).unwrap();
    let mut record = json!({
        "eventID": unique("ev"),
        "eventName": "REMOVE",
        "eventSource": "aws:dynamodb",
        "dynamodb": {
            "Keys": {"PK": image["PK"], "SK": image["SK"]},
            "OldImage": image,
            "SequenceNumber": unique("seq"),
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    });
    if by_ttl {
        record["userIdentity"] =
            json!({"type": "Service", "principalId": "dynamodb.amazonaws.com"});
    }
    record
}

/// An item in DynamoDB JSON (`{"S": ...}`, `{"N": ...}`), as stream records carry it.
fn dynamodb_json(item: &Value) -> Value {
    let fields = item
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let typed = match v {
                Value::String(s) => json!({"S": s}),
                Value::Number(n) => json!({"N": n.to_string()}),
                Value::Bool(b) => json!({"BOOL": b}),
                other => json!({"S": other.to_string()}),
            };
            (k.clone(), typed)
        })
        .collect();
    Value::Object(fields)
}

fn event(records: Vec<Value>) -> StreamEvent {
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

/// Log lines written through the function's own subscriber, kept for reading.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Lines {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Lines {
    type Writer = Lines;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Lines {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

fn no_failures() -> BatchResponse {
    BatchResponse::default()
}

#[tokio::test]
async fn each_platform_revokes_a_disconnected_integrations_token_and_the_marker_says_revoked() {
    let success = |platform| match platform {
        Platform::Meta => ResponseTemplate::new(200).set_body_json(json!({"success": true})),
        Platform::X => ResponseTemplate::new(200).set_body_json(json!({"revoked": true})),
        Platform::TikTok => ResponseTemplate::new(200).set_body_string("{}"),
        _ => ResponseTemplate::new(200),
    };
    for (kind, platform) in [
        ("youtube", Platform::Google),
        ("tiktok", Platform::TikTok),
        ("instagram", Platform::Meta),
        ("linkedin", Platform::LinkedIn),
        ("x", Platform::X),
    ] {
        let f = Fixture::new().await;
        f.platform_answers(platform, success(platform), 1).await;
        f.integration("int_1", kind, None).await;
        let batch = f.disconnect("int_1").await;

        assert_eq!(f.handle(&batch).await, no_failures(), "{kind}");
        assert_eq!(f.outcome("int_1").await, "revoked", "{kind}");
        let outcome = &f.outcomes("int_1").await[0];
        assert_eq!(outcome["platform"], platform.as_str(), "{kind}");
        assert_eq!(outcome["tokenKey"], "TOKEN#access");
        assert_eq!(outcome["tokenType"], "access_token");
        assert_eq!(f.counted("TokensRevoked"), 1, "{kind}");
        // The integration's removal is not a token's: ignored and counted.
        assert_eq!(f.counted("RemovalsIgnored"), 1, "{kind}");
        f.server.verify().await;
    }
}

#[tokio::test]
async fn each_platform_saying_the_token_is_dead_records_already_revoked() {
    let dead = |platform| {
        match platform {
        Platform::Google => {
            ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_token"}))
        }
        Platform::TikTok => ResponseTemplate::new(200).set_body_json(
            json!({"error": "invalid_grant", "error_description": "token revoked"}),
        ),
        Platform::Meta => ResponseTemplate::new(400).set_body_json(json!({
            "error": {"message": "Error validating access token", "type": "OAuthException", "code": 190}
        })),
        Platform::LinkedIn => {
            ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_token"}))
        }
        Platform::X => {
            ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_token"}))
        }
    }
    };
    for (kind, platform) in [
        ("youtube", Platform::Google),
        ("tiktok", Platform::TikTok),
        ("facebook", Platform::Meta),
        ("linkedin", Platform::LinkedIn),
        ("twitter", Platform::X),
    ] {
        let f = Fixture::new().await;
        f.platform_answers(platform, dead(platform), 1).await;
        f.integration("int_1", kind, None).await;
        let batch = f.disconnect("int_1").await;
        assert_eq!(f.handle(&batch).await, no_failures(), "{kind}");
        assert_eq!(f.outcome("int_1").await, "already_revoked", "{kind}");
        assert_eq!(f.counted("TokensAlreadyRevoked"), 1, "{kind}");
    }
}

#[tokio::test]
async fn a_platform_without_a_revoke_call_is_recorded_unsupported_without_a_request() {
    let f = Fixture::new().await;
    f.integration("int_1", "pinterest", None).await;
    let batch = f.disconnect("int_1").await;
    assert_eq!(f.handle(&batch).await, no_failures());
    assert_eq!(f.outcome("int_1").await, "unsupported");
    assert!(f.outcomes("int_1").await[0].get("platform").is_none());
    assert_eq!(f.counted("RevocationsUnsupported"), 1);
    assert!(f.server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_grant_another_live_integration_shares_is_not_revoked_until_the_last_one_goes() {
    let f = Fixture::new().await;
    f.platform_answers(Platform::Google, ResponseTemplate::new(200), 1)
        .await;
    f.integration("int_channel_a", "youtube", Some("google_grant_7"))
        .await;
    f.integration("int_channel_b", "youtube", Some("google_grant_7"))
        .await;
    f.integration("int_other", "youtube", Some("google_grant_8"))
        .await;

    let first = f.disconnect("int_channel_a").await;
    assert_eq!(f.handle(&first).await, no_failures());
    assert_eq!(f.outcome("int_channel_a").await, "shared_grant");

    let last = f.disconnect("int_channel_b").await;
    assert_eq!(f.handle(&last).await, no_failures());
    assert_eq!(f.outcome("int_channel_b").await, "revoked");
    assert_eq!(f.counted("RevocationsSharedGrant"), 1);
    f.server.verify().await;
}

#[tokio::test]
async fn a_tiktok_disconnect_whose_access_token_has_expired_still_ends_the_grant_by_its_refresh_token()
 {
    let f = Fixture::new().await;
    let access = f.integration("int_1", "tiktok", None).await;
    f.table
        .put(json!({
            "PK": "INTEGRATION#int_1", "SK": "TOKEN#refresh",
            "token": "rft-refresh-value", "tokenType": "refresh_token",
        }))
        .await;
    // The stored access token is past its 24 hours: TikTok calls it invalid.
    Mock::given(method("POST"))
        .and(path("/v2/oauth/revoke/"))
        .and(body_string_contains(format!("token={access}")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"error": "access_token_invalid"})),
        )
        .expect(1)
        .mount(&f.server)
        .await;
    // The refresh token still lives: refreshed, and the fresh access token revoked at once.
    Mock::given(method("POST"))
        .and(path("/v2/oauth/token/"))
        .and(body_string_contains("refresh_token=rft-refresh-value"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "act-fresh-value", "refresh_token": "rft-next-value",
            "expires_in": 86400, "token_type": "Bearer"
        })))
        .expect(1)
        .mount(&f.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/oauth/revoke/"))
        .and(body_string_contains("token=act-fresh-value"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .expect(1)
        .mount(&f.server)
        .await;

    let batch = f.disconnect("int_1").await;
    assert_eq!(f.handle(&batch).await, no_failures());
    let outcomes = f.outcomes("int_1").await;
    let of = |key: &str| {
        outcomes
            .iter()
            .find(|o| o["tokenKey"] == key)
            .map(|o| o["outcome"].as_str().unwrap().to_owned())
    };
    assert_eq!(of("TOKEN#access").as_deref(), Some("already_revoked"));
    assert_eq!(of("TOKEN#refresh").as_deref(), Some("revoked"));
    assert_eq!(f.counted("TokensRevoked"), 1);
    assert_eq!(f.counted("TokensAlreadyRevoked"), 1);
    let marker = serde_json::to_string(&outcomes).unwrap();
    for value in ["act-fresh", "rft-", &access] {
        assert!(!marker.contains(value), "a token on the marker: {marker}");
    }
    f.server.verify().await;
}

#[tokio::test]
async fn a_permanent_refusal_is_recorded_failed_with_its_reason_and_not_retried() {
    let f = Fixture::new().await;
    f.platform_answers(
        Platform::LinkedIn,
        ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_client"})),
        1,
    )
    .await;
    f.integration("int_1", "linkedin", None).await;
    let batch = f.disconnect("int_1").await;
    assert_eq!(f.handle(&batch).await, no_failures());
    let outcome = &f.outcomes("int_1").await[0];
    assert_eq!(outcome["outcome"], "failed");
    assert!(
        outcome["reason"].as_str().unwrap().contains("401"),
        "{outcome}"
    );
    assert_eq!(f.counted("RevocationsFailed"), 1);
}

#[tokio::test]
async fn a_transient_failure_is_retried_by_the_stream_and_a_redelivery_is_not_revoked_twice() {
    let f = Fixture::new().await;
    f.integration("int_1", "tiktok", None).await;
    let batch = f.disconnect("int_1").await;
    let token_record = batch
        .records
        .iter()
        .find(|r| r.key("SK") == Some("TOKEN#access"))
        .unwrap();
    let sequence = token_record.dynamodb.sequence_number.clone();

    f.platform_answers(Platform::TikTok, ResponseTemplate::new(503), 1)
        .await;
    assert_eq!(
        f.handle(&batch).await,
        BatchResponse {
            batch_item_failures: vec![ItemFailure {
                item_identifier: sequence
            }]
        },
        "Lambda retries from the token's record"
    );
    assert!(f.outcomes("int_1").await.is_empty(), "nothing recorded yet");
    assert_eq!(f.counted("RevocationsRetried"), 1);

    f.server.reset().await;
    f.platform_answers(Platform::TikTok, ResponseTemplate::new(200), 1)
        .await;
    assert_eq!(f.handle(&batch).await, no_failures());
    assert_eq!(f.outcome("int_1").await, "revoked");

    // The same records delivered once more (at-least-once): no second call, no second entry.
    assert_eq!(f.handle(&batch).await, no_failures());
    assert_eq!(f.outcomes("int_1").await.len(), 1);
    f.server.verify().await;
}

#[tokio::test]
async fn removals_that_are_not_a_disconnects_are_ignored_or_retried_never_revoked() {
    let f = Fixture::new().await;
    // A token removed by TTL, under a live marker: ignored.
    f.integration("int_ttl", "youtube", None).await;
    let token = f
        .table
        .get("INTEGRATION#int_ttl", "TOKEN#access")
        .await
        .unwrap();
    let batch = f.disconnect("int_ttl").await;
    let ttl = event(vec![removal(&token, true)]);
    assert_eq!(f.handle(&ttl).await, no_failures());
    assert!(f.outcomes("int_ttl").await.is_empty());
    drop(batch);

    // A token removed while its integration lives on and no marker exists: perhaps the
    // surplus batch of a disconnect in progress, so retried, not revoked.
    f.integration("int_alive", "youtube", None).await;
    let token = f
        .table
        .get("INTEGRATION#int_alive", "TOKEN#access")
        .await
        .unwrap();
    f.delete(&token).await;
    let removed = event(vec![removal(&token, false)]);
    assert_eq!(f.handle(&removed).await.batch_item_failures.len(), 1);

    // A token of a partition with neither: ignored.
    let orphan = json!({"PK": "INTEGRATION#int_gone", "SK": "TOKEN#access",
                        "token": "tok-orphan", "tokenType": "access_token"});
    assert_eq!(
        f.handle(&event(vec![removal(&orphan, false)])).await,
        no_failures()
    );

    // An insert, a modify, and a token item without a token type: not revocations.
    let mut insert = removal(&orphan, false);
    insert["eventName"] = json!("INSERT");
    let shapeless = json!({"PK": "INTEGRATION#int_ttl", "SK": "TOKEN#legacy", "value": "x"});
    assert_eq!(
        f.handle(&event(vec![insert, removal(&shapeless, false)]))
            .await,
        no_failures()
    );
    assert_eq!(f.counted("TokensSkipped"), 1);
    assert!(f.server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn no_token_value_reaches_a_log_line_a_metric_or_the_marker() {
    let lines = Lines::default();
    let settings = disconnect_integration::telemetry::Settings {
        format: disconnect_integration::telemetry::LogFormat::Json,
        filter: "trace".to_owned(),
    };
    let _guard = tracing::subscriber::set_default(disconnect_integration::telemetry::subscriber(
        &settings,
        lines.clone(),
    ));
    let f = Fixture::new().await;
    f.platform_answers(
        Platform::Google,
        ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_request"})),
        1,
    )
    .await;
    f.platform_answers(Platform::X, ResponseTemplate::new(503), 1)
        .await;
    let google_token = f.integration("int_g", "youtube", None).await;
    let x_token = f.integration("int_x", "x", None).await;
    let mut records = f.disconnect("int_g").await.records;
    records.extend(f.disconnect("int_x").await.records);
    let batch = StreamEvent { records };
    f.handle(&batch).await;

    let requests = f.server.received_requests().await.unwrap();
    let sent: String = requests
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned() + r.url.as_str())
        .collect();
    assert!(sent.contains(&google_token), "the stub did get the token");
    let logged = lines.text();
    assert!(logged.contains("token revocation"), "{logged}");
    let metrics = serde_json::to_string(&*f.metrics.lock().unwrap()).unwrap();
    let marker = serde_json::to_string(&f.table.all_items().await).unwrap();
    for token in [&google_token, &x_token] {
        for (place, text) in [("logs", &logged), ("metrics", &metrics), ("table", &marker)] {
            assert!(
                !text.contains(token.as_str()),
                "a token in the {place}: {text}"
            );
        }
    }
}
