//! The consumer against DynamoDB Local (a table made from template.yaml, GrantIndex included)
//! and stub platforms (wiremock on loopback): each platform's outcome, answers no documentation
//! explains, grants, TikTok's refresh tokens, rate limits, the invocation's deadline, giving up,
//! what is ignored, and that no token value reaches a log line, a metric or the marker. Run with
//! `make test` (services up, endpoints set).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use function_support::clock::SystemClock;
use function_support::emf::Sink;
use integrations_table::attributes::{
    ACCOUNT_ID, EXPIRES_AT, GRANT_ID, ID, LOGIN_FLOW, PK, REVOCATION, REVOCATION_REFRESHES,
    REVOCATION_RETRIES, SK, TOKEN, TOKEN_TYPE, TYPE, entry,
};
use integrations_table::{AccountId, DisconnectMarker, IntegrationId};
use platform_revoke::{ClientCredentials, Credentials, Endpoints, Platform, Revoker};
use revoke_tokens::stream::{BatchResponse, ItemFailure, RecordView, StreamEvent, read_event};
use revoke_tokens::{Concurrency, Consumer, GiveUp, MarkerStore, Metrics};
use serde_json::{Value, json};
use test_support::local::{Table, sdk_config, to_item, unique};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A table, a stub of every platform, and the consumer wired to both.
struct Fixture {
    table: Table,
    server: MockServer,
    consumer: Consumer,
    metrics: Arc<Mutex<Vec<String>>>,
}

impl Fixture {
    async fn new() -> Self {
        Self::with(GiveUp::default(), Duration::from_secs(2)).await
    }

    async fn with(give_up: GiveUp, platform_timeout: Duration) -> Self {
        let sdk = sdk_config().await;
        let table = Table::create(&sdk).await;
        let server = MockServer::start().await;
        let uri = server.uri();
        let endpoints = Endpoints::from_lookup(|_| Some(uri.clone())).unwrap();
        let credentials = Platform::ALL
            .iter()
            .fold(Credentials::default(), |c, &p| {
                c.with(
                    p,
                    ClientCredentials::new("client-id", "client-secret-value"),
                )
            })
            .with_mastodon_server(
                "localhost",
                ClientCredentials::new("masto-id", "masto-secret-value"),
            );
        let metrics = Arc::new(Mutex::new(Vec::new()));
        let consumer = Consumer::new(
            MarkerStore::new(aws_sdk_dynamodb::Client::new(&sdk), table.name.clone()),
            Revoker::new(endpoints, credentials, platform_timeout).allowing_loopback_servers(),
            SystemClock::shared(),
            Metrics::new("Test", "test", Sink::Memory(Arc::clone(&metrics))),
        )
        .with_give_up(give_up)
        .with_platform_timeout(platform_timeout);
        Self {
            table,
            server,
            consumer,
            metrics,
        }
    }

    /// The consumer running at most this much of a batch at once.
    fn at_most(self, records: usize, per_platform: usize) -> Self {
        Self {
            consumer: self.consumer.with_concurrency(Concurrency {
                records,
                per_platform,
            }),
            ..self
        }
    }

    /// Stubs `platform`'s revoke call with `answer`, expecting `times` calls.
    async fn platform_answers(&self, platform: Platform, answer: ResponseTemplate, times: u64) {
        Mock::given(method("POST"))
            .and(path(Endpoints::revoke_path(platform)))
            .respond_with(answer)
            .expect(times)
            .mount(&self.server)
            .await;
    }

    /// An integration of `kind` with one access token, optionally on `grant`.
    async fn integration(&self, id: &str, kind: &str, grant: Option<&str>) -> String {
        let mut item = json!({
            PK: format!("INTEGRATION#{id}"), SK: "INTEGRATION",
            ID: id, ACCOUNT_ID: "acct_1", TYPE: kind,
        });
        if let Some(grant) = grant {
            item[GRANT_ID] = json!(grant);
        }
        self.table.put(item).await;
        let extra = if kind == "mastodon" {
            json!({"server": format!("http://localhost:{}", self.server.address().port())})
        } else {
            json!({})
        };
        self.token(id, "TOKEN#access", "access_token", extra).await
    }

    /// A token item of `id`, with `extra` attributes; returns its value.
    async fn token(&self, id: &str, sk: &str, token_type: &str, extra: Value) -> String {
        let token = format!("tok-{}", unique("v"));
        let mut item = json!({
            PK: format!("INTEGRATION#{id}"), SK: sk,
            TOKEN: token, TOKEN_TYPE: token_type, EXPIRES_AT: 4_102_444_800i64,
        });
        for (k, v) in extra.as_object().unwrap() {
            item[k] = v.clone();
        }
        self.table.put(item).await;
        token
    }

    /// What the DELETE function's transaction does (the marker in, the integration and its
    /// tokens out), and the stream's REMOVE records of the tokens, as Lambda delivers them.
    async fn disconnect(&self, id: &str) -> StreamEvent {
        let partition = self.table.partition(id).await;
        let integration = partition
            .iter()
            .find(|i| i[SK] == "INTEGRATION")
            .expect("an integration");
        let marker = DisconnectMarker::new(
            &IntegrationId::parse(id).unwrap(),
            &AccountId::new("acct_1").unwrap(),
            integration[TYPE].as_str().unwrap(),
            std::time::SystemTime::now(),
            Duration::from_secs(86_400),
        )
        .with_grant_id(integration[GRANT_ID].as_str().map(str::to_owned));
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
            .key(PK, to_item(&json!({"k": item[PK]}))["k"].clone())
            .key(SK, to_item(&json!({"k": item[SK]}))["k"].clone())
            .send()
            .await
            .unwrap();
    }

    /// One invocation, with a minute to go.
    async fn handle(&self, event: &StreamEvent) -> BatchResponse {
        self.handle_until(event, Instant::now() + Duration::from_secs(60))
            .await
    }

    async fn handle_until(&self, event: &StreamEvent, deadline: Instant) -> BatchResponse {
        self.consumer.handle(event, &unique("req"), deadline).await
    }

    async fn marker(&self, id: &str) -> Value {
        self.table
            .get(&format!("INTEGRATION#{id}"), "DISCONNECTED")
            .await
            .expect("a marker")
    }

    async fn outcomes(&self, id: &str) -> Vec<Value> {
        self.marker(id)
            .await
            .get(REVOCATION)
            .and_then(|r| r.as_array().cloned())
            .unwrap_or_default()
    }

    async fn outcome(&self, id: &str) -> String {
        let outcomes = self.outcomes(id).await;
        assert_eq!(outcomes.len(), 1, "one outcome: {outcomes:#?}");
        outcomes[0][entry::OUTCOME].as_str().unwrap().to_owned()
    }

    /// The one entry of `key`.
    async fn entry(&self, id: &str, key: &str) -> Value {
        self.outcomes(id)
            .await
            .into_iter()
            .find(|o| o[entry::TOKEN_KEY] == key)
            .unwrap_or_else(|| panic!("an outcome for {key}"))
    }

    fn counted(&self, metric: &str) -> u64 {
        self.metrics
            .lock()
            .unwrap()
            .iter()
            .map(|line| serde_json::from_str::<Value>(line).expect("a JSON document"))
            .filter_map(|doc| doc.get(metric).and_then(Value::as_u64))
            .sum()
    }
}

/// Each platform's documented success.
fn success(platform: Platform) -> ResponseTemplate {
    match platform {
        Platform::Meta => {
            ResponseTemplate::new(200).set_body_json(json!([{"code": 200, "body": "true"}]))
        }
        Platform::X => ResponseTemplate::new(200).set_body_json(json!({"revoked": true})),
        Platform::TikTok | Platform::Mastodon => ResponseTemplate::new(200).set_body_string("{}"),
        Platform::Reddit => ResponseTemplate::new(204),
        _ => ResponseTemplate::new(200),
    }
}

/// The stream record of `item`'s removal (a TTL removal when `by_ttl`).
fn removal(item: &Value, by_ttl: bool) -> Value {
    let image: Value = serde_json::to_value(dynamodb_json(item)).unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut record = json!({
        "awsRegion": "us-east-1",
        "eventID": unique("ev"),
        "eventName": "REMOVE",
        "eventSource": "aws:dynamodb",
        "dynamodb": {
            "Keys": {PK: image[PK], SK: image[SK]},
            "OldImage": image,
            "SequenceNumber": unique("seq"),
            "SizeBytes": 100,
            "ApproximateCreationDateTime": now,
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

/// A batch of these records.
fn batch_of(records: Vec<revoke_tokens::stream::StreamRecord>) -> StreamEvent {
    let mut batch = StreamEvent::default();
    batch.records = records;
    batch
}

fn event(records: Vec<Value>) -> StreamEvent {
    read_event(&json!({ "Records": records }).to_string()).unwrap()
}

/// The batch with the records of token `key` only.
fn only(batch: &StreamEvent, key: &str) -> StreamEvent {
    let mut only = StreamEvent::default();
    only.records = batch
        .records
        .iter()
        .filter(|r| r.key(SK) == Some(key))
        .cloned()
        .collect();
    only
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

fn handed_back(sequence: &str) -> BatchResponse {
    BatchResponse {
        batch_item_failures: vec![ItemFailure {
            item_identifier: sequence.to_owned(),
        }],
    }
}

fn sequence_of(batch: &StreamEvent, key: &str) -> String {
    batch
        .records
        .iter()
        .find(|r| r.key(SK) == Some(key))
        .unwrap()
        .sequence_number()
        .to_owned()
}

#[tokio::test]
async fn each_platform_answering_its_documented_success_is_recorded_revoked() {
    for (kind, platform) in [
        ("youtube", Platform::Google),
        ("tiktok", Platform::TikTok),
        ("instagram", Platform::Meta),
        ("x", Platform::X),
        ("reddit", Platform::Reddit),
        ("discord", Platform::Discord),
        ("mastodon", Platform::Mastodon),
    ] {
        let f = Fixture::new().await;
        f.platform_answers(platform, success(platform), 1).await;
        f.integration("int_1", kind, None).await;
        let batch = f.disconnect("int_1").await;

        assert_eq!(f.handle(&batch).await, no_failures(), "{kind}");
        assert_eq!(f.outcome("int_1").await, "revoked", "{kind}");
        let outcome = &f.outcomes("int_1").await[0];
        assert_eq!(outcome[entry::PLATFORM], platform.as_str(), "{kind}");
        assert_eq!(outcome[entry::TOKEN_KEY], "TOKEN#access");
        assert_eq!(outcome[entry::TOKEN_TYPE], "access_token");
        assert!(outcome.get(entry::REASON).is_none(), "{kind}: {outcome}");
        assert_eq!(f.counted("TokensRevoked"), 1, "{kind}");
        // The integration's removal is not a token's: ignored and counted.
        assert_eq!(f.counted("RemovalsIgnored"), 1, "{kind}");
        f.server.verify().await;
    }
}

#[tokio::test]
async fn a_linkedin_success_is_unconfirmed_because_no_page_documents_the_call() {
    let f = Fixture::new().await;
    f.platform_answers(Platform::LinkedIn, ResponseTemplate::new(200), 1)
        .await;
    f.integration("int_1", "linkedin", None).await;
    let batch = f.disconnect("int_1").await;
    assert_eq!(f.handle(&batch).await, no_failures());
    assert_eq!(f.outcome("int_1").await, "unconfirmed");
    assert_eq!(f.counted("TokensUnconfirmed"), 1);
    assert_eq!(f.counted("TokensRevoked"), 0);
}

#[tokio::test]
async fn answers_no_documentation_explains_are_failed_with_their_code_never_already_revoked() {
    let cases = [
        (
            "youtube",
            Platform::Google,
            ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_token"})),
            "invalid_token",
        ),
        (
            "tiktok",
            Platform::TikTok,
            ResponseTemplate::new(200).set_body_json(json!({"error": "invalid_grant"})),
            "invalid_grant",
        ),
        (
            "facebook",
            Platform::Meta,
            ResponseTemplate::new(200).set_body_json(json!([{"code": 400, "body":
                r#"{"error": {"type": "OAuthException", "code": 190, "error_subcode": 463}}"#}])),
            "code 190 subcode 463",
        ),
        (
            "x",
            Platform::X,
            ResponseTemplate::new(200).set_body_json(json!({"revoked": false})),
            "revoked false",
        ),
        (
            "twitter",
            Platform::X,
            ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_request"})),
            "invalid_request",
        ),
        (
            "discord",
            Platform::Discord,
            ResponseTemplate::new(202),
            "not describe",
        ),
    ];
    for (kind, platform, answer, reason) in cases {
        let f = Fixture::new().await;
        f.platform_answers(platform, answer, 1).await;
        f.integration("int_1", kind, None).await;
        let batch = f.disconnect("int_1").await;
        assert_eq!(f.handle(&batch).await, no_failures(), "{kind}");
        let outcome = &f.outcomes("int_1").await[0];
        assert_eq!(outcome[entry::OUTCOME], "failed", "{kind}");
        assert!(
            outcome[entry::REASON].as_str().unwrap().contains(reason),
            "{kind}: {outcome}"
        );
        assert_eq!(f.counted("RevocationsFailed"), 1, "{kind}");
        assert_eq!(f.counted("RevocationsGivenUp"), 0, "{kind}");
    }
}

#[tokio::test]
async fn types_without_a_documented_revoke_call_are_unsupported_with_a_reason_and_no_request() {
    for (kind, reason) in [
        ("pinterest", "pinterest_revokes_only_system_user_tokens"),
        ("threads", "threads_documents_no_revoke_call"),
        ("bluesky", "atproto_oauth_requires_no_revocation_endpoint"),
        ("myspace", "unknown_integration_type"),
    ] {
        let f = Fixture::new().await;
        f.integration("int_1", kind, None).await;
        let batch = f.disconnect("int_1").await;
        assert_eq!(f.handle(&batch).await, no_failures(), "{kind}");
        let outcome = &f.outcomes("int_1").await[0];
        assert_eq!(outcome[entry::OUTCOME], "unsupported", "{kind}");
        assert_eq!(outcome[entry::REASON], reason, "{kind}");
        assert!(outcome.get(entry::PLATFORM).is_none(), "{kind}");
        assert_eq!(f.counted("RevocationsUnsupported"), 1, "{kind}");
        assert!(
            f.server.received_requests().await.unwrap().is_empty(),
            "{kind}"
        );
    }
}

#[tokio::test]
async fn an_instagram_login_token_is_unsupported_and_never_sent_to_facebook() {
    let f = Fixture::new().await;
    f.table
        .put(
            json!({PK: "INTEGRATION#int_ig", SK: "INTEGRATION", ID: "int_ig",
                    ACCOUNT_ID: "acct_1", TYPE: "instagram"}),
        )
        .await;
    f.token(
        "int_ig",
        "TOKEN#access",
        "access_token",
        json!({LOGIN_FLOW: "instagram_login"}),
    )
    .await;
    let batch = f.disconnect("int_ig").await;
    assert_eq!(f.handle(&batch).await, no_failures());
    let outcome = &f.outcomes("int_ig").await[0];
    assert_eq!(outcome[entry::OUTCOME], "unsupported");
    assert_eq!(outcome[entry::PLATFORM], "meta");
    assert_eq!(
        outcome[entry::REASON],
        "instagram_login_documents_no_revoke_call"
    );
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

/// Google: "If the token is an access token and it has a corresponding refresh token, the
/// refresh token will also be revoked": one call ends both, and the second says how.
#[tokio::test]
async fn a_refresh_token_whose_grant_a_revoked_access_token_ended_is_revoked_via_it_without_a_call()
{
    let f = Fixture::new().await;
    f.platform_answers(Platform::Google, ResponseTemplate::new(200), 1)
        .await;
    f.integration("int_1", "youtube", None).await;
    f.token("int_1", "TOKEN#refresh", "refresh_token", json!({}))
        .await;
    let batch = f.disconnect("int_1").await;

    assert_eq!(f.handle(&batch).await, no_failures());
    assert_eq!(
        f.entry("int_1", "TOKEN#access").await[entry::OUTCOME],
        "revoked"
    );
    let refresh = f.entry("int_1", "TOKEN#refresh").await;
    assert_eq!(refresh[entry::OUTCOME], "revoked");
    assert_eq!(refresh[entry::VIA], "TOKEN#access");
    assert_eq!(f.counted("TokensRevoked"), 2);
    f.server.verify().await;
}

/// X documents no such covering: each token is revoked by its own call.
#[tokio::test]
async fn an_x_refresh_token_is_revoked_by_its_own_call_even_after_its_access_token() {
    let f = Fixture::new().await;
    f.platform_answers(Platform::X, success(Platform::X), 2)
        .await;
    f.integration("int_1", "x", None).await;
    f.token("int_1", "TOKEN#refresh", "refresh_token", json!({}))
        .await;
    let batch = f.disconnect("int_1").await;
    assert_eq!(f.handle(&batch).await, no_failures());
    let refresh = f.entry("int_1", "TOKEN#refresh").await;
    assert_eq!(refresh[entry::OUTCOME], "revoked");
    assert!(refresh.get(entry::VIA).is_none(), "{refresh}");
    f.server.verify().await;
}

/// RFC 7009 §2.2: a revocation endpoint answers 200 "if the client submitted an invalid
/// token", so a success for one token proves nothing about another. Against a stub that says
/// yes to every token, unknown and expired ones included, each refresh token still gets its
/// own call (Discord, Reddit) or its refresh and revoke (TikTok), and none is recorded `via`;
/// at Discord and Reddit, whichever token comes first covers the other in neither direction.
#[tokio::test]
async fn no_refresh_token_is_recorded_revoked_via_a_success_rfc_7009_gives_for_any_token() {
    let cases = [
        ("discord", Platform::Discord, false),
        ("reddit", Platform::Reddit, false),
        // The refresh token's record first: its success covers no access token either.
        ("discord", Platform::Discord, true),
        ("reddit", Platform::Reddit, true),
    ];
    for (kind, platform, refresh_first) in cases {
        let f = Fixture::new().await;
        let access = f.integration("int_1", kind, None).await;
        let refresh = f
            .token("int_1", "TOKEN#refresh", "refresh_token", json!({}))
            .await;
        for token in [&access, &refresh] {
            Mock::given(method("POST"))
                .and(path(Endpoints::revoke_path(platform)))
                .and(body_string_contains(format!("token={token}&")))
                .respond_with(success(platform))
                .expect(1)
                .mount(&f.server)
                .await;
        }
        let mut batch = f.disconnect("int_1").await;
        if refresh_first {
            batch.records.reverse();
        }

        assert_eq!(f.handle(&batch).await, no_failures(), "{kind}");
        for key in ["TOKEN#access", "TOKEN#refresh"] {
            let entry = f.entry("int_1", key).await;
            assert_eq!(entry[entry::OUTCOME], "revoked", "{kind}: {entry}");
            assert!(
                entry.get(entry::VIA).is_none(),
                "{kind}: by its own call: {entry}"
            );
        }
        f.server.verify().await;
    }

    // TikTok answers `{}` for the expired access token too: the refresh token is still
    // refreshed, and the fresh access token revoked.
    let f = Fixture::new().await;
    let access = f.integration("int_1", "tiktok", None).await;
    let refresh = f
        .token("int_1", "TOKEN#refresh", "refresh_token", json!({}))
        .await;
    for token in [access.as_str(), "act-fresh-value"] {
        Mock::given(method("POST"))
            .and(path(Endpoints::revoke_path(Platform::TikTok)))
            .and(body_string_contains(format!("token={token}")))
            .respond_with(success(Platform::TikTok))
            .expect(1)
            .mount(&f.server)
            .await;
    }
    Mock::given(method("POST"))
        .and(path("/v2/oauth/token/"))
        .and(body_string_contains(format!("refresh_token={refresh}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "act-fresh-value", "refresh_token": "rft-next-value",
            "expires_in": 7200, "refresh_expires_in": 15552000, "token_type": "Bearer"
        })))
        .expect(1)
        .mount(&f.server)
        .await;
    let batch = f.disconnect("int_1").await;

    assert_eq!(f.handle(&batch).await, no_failures(), "tiktok");
    for key in ["TOKEN#access", "TOKEN#refresh"] {
        let entry = f.entry("int_1", key).await;
        assert_eq!(entry[entry::OUTCOME], "revoked", "tiktok: {entry}");
        assert!(
            entry.get(entry::VIA).is_none(),
            "tiktok: by its own call: {entry}"
        );
    }
    assert_eq!(
        f.marker("int_1").await[REVOCATION_REFRESHES]
            .as_array()
            .map(Vec::len),
        Some(1),
        "the refresh ran"
    );
    f.server.verify().await;
}

/// TikTok's stored access token is past its 2 hours; its refresh token ends the grant.
#[tokio::test]
async fn a_tiktok_disconnect_whose_access_token_has_expired_ends_the_grant_by_its_refresh_token() {
    let f = Fixture::new().await;
    let access = f.integration("int_1", "tiktok", None).await;
    let refresh = f
        .token("int_1", "TOKEN#refresh", "refresh_token", json!({}))
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/oauth/revoke/"))
        .and(body_string_contains(format!("token={access}")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"error": "access_token_invalid"})),
        )
        .expect(1)
        .mount(&f.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/oauth/token/"))
        .and(body_string_contains(format!("refresh_token={refresh}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "act-fresh-value", "refresh_token": "rft-next-value",
            "expires_in": 7200, "refresh_expires_in": 15552000, "token_type": "Bearer"
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
    let access_outcome = f.entry("int_1", "TOKEN#access").await;
    assert_eq!(access_outcome[entry::OUTCOME], "failed");
    assert!(
        access_outcome[entry::REASON]
            .as_str()
            .unwrap()
            .contains("access_token_invalid"),
        "{access_outcome}"
    );
    assert_eq!(
        f.entry("int_1", "TOKEN#refresh").await[entry::OUTCOME],
        "revoked"
    );
    let marker = f.marker("int_1").await.to_string();
    for value in ["act-fresh", "rft-next", &access, &refresh] {
        assert!(!marker.contains(value), "a token on the marker: {marker}");
    }
    f.server.verify().await;
}

/// The fresh access token cannot be revoked: the stored refresh token is rotated already, so
/// no later delivery could finish. Failed, with what happened, and not handed back.
#[tokio::test]
async fn a_tiktok_refresh_whose_fresh_token_cannot_be_revoked_is_recorded_failed_not_retried() {
    let f = Fixture::new().await;
    let mut batch_tokens = vec![];
    f.table
        .put(
            json!({PK: "INTEGRATION#int_1", SK: "INTEGRATION", ID: "int_1",
                    ACCOUNT_ID: "acct_1", TYPE: "tiktok"}),
        )
        .await;
    batch_tokens.push(
        f.token("int_1", "TOKEN#refresh", "refresh_token", json!({}))
            .await,
    );
    Mock::given(method("POST"))
        .and(path("/v2/oauth/token/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "act-fresh-value", "refresh_token": "rft-next-value"
        })))
        .expect(1)
        .mount(&f.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/oauth/revoke/"))
        .respond_with(ResponseTemplate::new(503))
        .expect(2..=3)
        .mount(&f.server)
        .await;
    let batch = f.disconnect("int_1").await;

    assert_eq!(f.handle(&batch).await, no_failures(), "not handed back");
    let outcome = f.entry("int_1", "TOKEN#refresh").await;
    assert_eq!(outcome[entry::OUTCOME], "failed");
    assert!(
        outcome[entry::REASON]
            .as_str()
            .unwrap()
            .starts_with(platform_revoke::REFRESHED_BUT_NOT_REVOKED),
        "{outcome}"
    );
    let marker = f.marker("int_1").await;
    assert_eq!(
        marker[REVOCATION_REFRESHES].as_array().map(Vec::len),
        Some(1),
        "the refresh was noted: {marker}"
    );
    f.server.verify().await;
}

/// A refresh whose answer was lost may have rotated the token: the next delivery's refused
/// refresh is not "already revoked" but "rotated by an earlier attempt", failed.
#[tokio::test]
async fn a_refresh_refused_after_an_earlier_attempt_lost_its_answer_is_failed_as_rotated() {
    let f = Fixture::new().await;
    f.table
        .put(
            json!({PK: "INTEGRATION#int_1", SK: "INTEGRATION", ID: "int_1",
                    ACCOUNT_ID: "acct_1", TYPE: "tiktok"}),
        )
        .await;
    f.token("int_1", "TOKEN#refresh", "refresh_token", json!({}))
        .await;
    let batch = f.disconnect("int_1").await;
    // The first attempt's refresh gets no answer in time (the fixture's timeout is 2 s).
    Mock::given(method("POST"))
        .and(path("/v2/oauth/token/"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "act-lost-value"}))
                .set_delay(Duration::from_secs(4)),
        )
        .expect(1)
        .mount(&f.server)
        .await;
    let sequence = sequence_of(&batch, "TOKEN#refresh");
    assert_eq!(f.handle(&batch).await, handed_back(&sequence));
    assert!(f.outcomes("int_1").await.is_empty());
    assert_eq!(f.counted("RevocationsRetried"), 1);
    f.server.verify().await;

    f.server.reset().await;
    Mock::given(method("POST"))
        .and(path("/v2/oauth/token/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"error": "invalid_grant"})))
        .expect(1)
        .mount(&f.server)
        .await;
    assert_eq!(f.handle(&batch).await, no_failures());
    let outcome = f.entry("int_1", "TOKEN#refresh").await;
    assert_eq!(outcome[entry::OUTCOME], "failed");
    assert!(
        outcome[entry::REASON]
            .as_str()
            .unwrap()
            .starts_with(platform_revoke::ROTATED_BY_AN_EARLIER_ATTEMPT),
        "{outcome}"
    );
    f.server.verify().await;
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out_within_the_invocation() {
    let f = Fixture::new().await;
    Mock::given(method("POST"))
        .and(path(Endpoints::revoke_path(Platform::Reddit)))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&f.server)
        .await;
    f.platform_answers(Platform::Reddit, success(Platform::Reddit), 1)
        .await;
    f.integration("int_1", "reddit", None).await;
    let batch = f.disconnect("int_1").await;

    let started = Instant::now();
    assert_eq!(f.handle(&batch).await, no_failures());
    assert!(started.elapsed() >= Duration::from_secs(1), "it waited");
    assert_eq!(f.outcome("int_1").await, "revoked");
    assert_eq!(f.counted("RevocationsRetried"), 0);
    f.server.verify().await;
}

#[tokio::test]
async fn a_rate_limit_longer_than_the_invocation_has_hands_the_record_back() {
    let f = Fixture::new().await;
    f.platform_answers(
        Platform::Discord,
        ResponseTemplate::new(429).set_body_json(json!({"message": "You are being rate limited.",
                                                          "retry_after": 600.5, "global": false})),
        1,
    )
    .await;
    f.integration("int_1", "discord", None).await;
    let batch = f.disconnect("int_1").await;
    let sequence = sequence_of(&batch, "TOKEN#access");
    assert_eq!(f.handle(&batch).await, handed_back(&sequence));
    assert!(f.outcomes("int_1").await.is_empty());
    let marker = f.marker("int_1").await;
    assert_eq!(marker[REVOCATION_RETRIES].as_array().map(Vec::len), Some(1));
    f.server.verify().await;
}

/// The first record takes 2.5 s; the invocation then has too little left for the second,
/// which is handed back, unattempted and uncounted as a failure.
#[tokio::test]
async fn the_invocation_deadline_reached_mid_batch_hands_back_only_the_unfinished_record() {
    // One record at a time, so that the second integration meets the deadline.
    let f = Fixture::with(GiveUp::default(), Duration::from_secs(3))
        .await
        .at_most(1, 1);
    f.platform_answers(
        Platform::Google,
        ResponseTemplate::new(200).set_delay(Duration::from_millis(2500)),
        1,
    )
    .await;
    f.integration("int_a", "youtube", None).await;
    f.integration("int_b", "youtube", None).await;
    let mut records = f.disconnect("int_a").await.records;
    let second = f.disconnect("int_b").await;
    let sequence = sequence_of(&second, "TOKEN#access");
    records.extend(second.records);
    let batch = batch_of(records);

    let deadline =
        Instant::now() + revoke_tokens::consumer::RECORD_RESERVE * 2 + Duration::from_secs(2);
    assert_eq!(
        f.handle_until(&batch, deadline).await,
        handed_back(&sequence)
    );
    assert!(Instant::now() <= deadline, "the deadline was never overrun");
    assert_eq!(f.outcome("int_a").await, "revoked");
    assert!(f.outcomes("int_b").await.is_empty());
    assert_eq!(f.counted("RevocationsDeferred"), 1);
    assert_eq!(f.counted("RevocationsRetried"), 0);
    let marker = f.marker("int_b").await;
    assert!(
        marker.get(REVOCATION_RETRIES).is_none(),
        "not a failed delivery"
    );
    f.server.verify().await;
}

#[tokio::test]
async fn a_record_failing_every_delivery_is_recorded_failed_and_counted_given_up() {
    let give_up = GiveUp {
        max_attempts: 2,
        after: Duration::from_secs(3000),
    };
    let f = Fixture::with(give_up, Duration::from_secs(2)).await;
    f.platform_answers(
        Platform::X,
        ResponseTemplate::new(503),
        2 * platform_revoke::ATTEMPTS as u64,
    )
    .await;
    f.integration("int_1", "x", None).await;
    let batch = f.disconnect("int_1").await;
    let sequence = sequence_of(&batch, "TOKEN#access");

    assert_eq!(f.handle(&batch).await, handed_back(&sequence));
    assert_eq!(f.handle(&batch).await, no_failures());
    let outcome = &f.outcomes("int_1").await[0];
    assert_eq!(outcome[entry::OUTCOME], "failed");
    assert!(
        outcome[entry::REASON]
            .as_str()
            .unwrap()
            .starts_with("gave up after 2 failed deliveries: http 503"),
        "{outcome}"
    );
    assert_eq!(f.counted("RevocationsGivenUp"), 1);
    assert_eq!(f.counted("RevocationsFailed"), 1);
    assert_eq!(f.counted("RevocationsRetried"), 1);
    f.server.verify().await;
}

#[tokio::test]
async fn a_record_older_than_the_give_up_age_is_recorded_failed_at_its_next_failure() {
    let f = Fixture::new().await;
    f.platform_answers(
        Platform::Google,
        ResponseTemplate::new(503),
        platform_revoke::ATTEMPTS as u64,
    )
    .await;
    f.integration("int_1", "youtube", None).await;
    let batch = f.disconnect("int_1").await;
    let old = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 4_000;
    let records: Vec<Value> = batch
        .records
        .iter()
        .map(|r| {
            let mut record = removal_json(r);
            record["dynamodb"]["ApproximateCreationDateTime"] = json!(old);
            record
        })
        .collect();

    assert_eq!(f.handle(&event(records)).await, no_failures());
    let outcome = &f.outcomes("int_1").await[0];
    assert_eq!(outcome[entry::OUTCOME], "failed");
    assert!(
        outcome[entry::REASON]
            .as_str()
            .unwrap()
            .starts_with("gave up: the record is older than 3000 s"),
        "{outcome}"
    );
    assert_eq!(f.counted("RevocationsGivenUp"), 1);
}

/// A record as JSON again, as Lambda would hand it over.
fn removal_json(record: &revoke_tokens::stream::StreamRecord) -> Value {
    serde_json::to_value(record).unwrap()
}

#[tokio::test]
async fn a_mastodon_server_that_is_an_ip_address_is_refused_without_a_request() {
    let f = Fixture::new().await;
    f.table
        .put(
            json!({PK: "INTEGRATION#int_m", SK: "INTEGRATION", ID: "int_m",
                    ACCOUNT_ID: "acct_1", TYPE: "mastodon"}),
        )
        .await;
    f.token(
        "int_m",
        "TOKEN#access",
        "access_token",
        json!({"server": "10.0.0.8"}),
    )
    .await;
    let batch = f.disconnect("int_m").await;
    assert_eq!(f.handle(&batch).await, no_failures());
    let outcome = &f.outcomes("int_m").await[0];
    assert_eq!(outcome[entry::OUTCOME], "failed");
    assert!(
        outcome[entry::REASON].as_str().unwrap().contains("refused"),
        "{outcome}"
    );
    assert!(f.server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_transient_failure_is_retried_by_the_stream_and_a_redelivery_is_not_revoked_twice() {
    let f = Fixture::new().await;
    f.integration("int_1", "tiktok", None).await;
    let batch = f.disconnect("int_1").await;
    let sequence = sequence_of(&batch, "TOKEN#access");

    f.platform_answers(
        Platform::TikTok,
        ResponseTemplate::new(503),
        platform_revoke::ATTEMPTS as u64,
    )
    .await;
    assert_eq!(
        f.handle(&batch).await,
        handed_back(&sequence),
        "Lambda retries from the token's record"
    );
    assert!(f.outcomes("int_1").await.is_empty(), "nothing recorded yet");
    assert_eq!(f.counted("RevocationsRetried"), 1);

    f.server.reset().await;
    f.platform_answers(Platform::TikTok, success(Platform::TikTok), 1)
        .await;
    assert_eq!(f.handle(&batch).await, no_failures());
    assert_eq!(f.outcome("int_1").await, "revoked");

    // The same records delivered once more (at-least-once): no second call, no second entry.
    assert_eq!(f.handle(&only(&batch, "TOKEN#access")).await, no_failures());
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
    let orphan = json!({PK: "INTEGRATION#int_gone", SK: "TOKEN#access",
                        TOKEN: "tok-orphan", TOKEN_TYPE: "access_token"});
    assert_eq!(
        f.handle(&event(vec![removal(&orphan, false)])).await,
        no_failures()
    );

    // An insert, a modify, and a token item without a token type: not revocations.
    let mut insert = removal(&orphan, false);
    insert["eventName"] = json!("INSERT");
    let shapeless = json!({PK: "INTEGRATION#int_ttl", SK: "TOKEN#legacy", "value": "x"});
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
    let settings = function_support::telemetry::Settings {
        format: function_support::telemetry::LogFormat::Json,
        filter: "trace".to_owned(),
        own_targets: revoke_tokens::OWN_LOG_TARGETS,
    };
    let _guard = tracing::subscriber::set_default(function_support::telemetry::subscriber(
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
    f.platform_answers(
        Platform::X,
        ResponseTemplate::new(503),
        platform_revoke::ATTEMPTS as u64,
    )
    .await;
    let google_token = f.integration("int_g", "youtube", None).await;
    let x_token = f.integration("int_x", "x", None).await;
    let mut records = f.disconnect("int_g").await.records;
    records.extend(f.disconnect("int_x").await.records);
    let batch = batch_of(records);
    f.handle(&batch).await;

    let requests = f.server.received_requests().await.unwrap();
    let sent: String = requests
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned() + r.url.as_str())
        .collect();
    assert!(sent.contains(&google_token), "the stub did get the token");
    let logged = lines.text();
    assert!(logged.contains("token revocation"), "{logged}");
    let documents = f.metrics.lock().unwrap().clone();
    // The metrics were written (one EMF document, with the revocation counts), so the check
    // below reads something.
    assert_eq!(documents.len(), 1, "{documents:?}");
    assert!(documents[0].contains("Revocations"), "{}", documents[0]);
    let metrics = serde_json::to_string(&documents).unwrap();
    let marker = serde_json::to_string(&f.table.all_items().await).unwrap();
    assert!(
        marker.contains(REVOCATION),
        "the outcomes are on the markers: {marker}"
    );
    for token in [&google_token, &x_token] {
        for (place, text) in [("logs", &logged), ("metrics", &metrics), ("table", &marker)] {
            assert!(
                !text.contains(token.as_str()),
                "a token in the {place}: {text}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A batch's records side by side.

/// `count` integrations of `kind` disconnected in one batch, in the order of their ids.
async fn many(
    f: &Fixture,
    prefix: &str,
    kind: &str,
    count: usize,
) -> Vec<revoke_tokens::stream::StreamRecord> {
    let mut records = vec![];
    for n in 0..count {
        let id = format!("int_{prefix}_{n:02}");
        f.integration(&id, kind, None).await;
        records.extend(f.disconnect(&id).await.records);
    }
    records
}

#[tokio::test]
async fn integrations_run_side_by_side_and_each_platform_within_its_share() {
    let f = Fixture::new().await.at_most(12, 3);
    let slow = || success(Platform::Google).set_delay(Duration::from_millis(500));
    f.platform_answers(Platform::Google, slow(), 12).await;
    f.platform_answers(
        Platform::X,
        success(Platform::X).set_delay(Duration::from_millis(500)),
        12,
    )
    .await;
    let mut records = many(&f, "google", "youtube", 12).await;
    records.extend(many(&f, "x", "x", 12).await);
    let batch = batch_of(records);

    let started = Instant::now();
    assert_eq!(f.handle(&batch).await, no_failures());
    let took = started.elapsed();
    // Each platform: 12 calls of 500 ms, 3 at a time, is 2 s; the two platforms side by side.
    // One at a time would be 12 s; every call at once, 0.5 s.
    assert!(
        took >= Duration::from_millis(1_950),
        "3 calls a platform at once: {took:?}"
    );
    assert!(
        took < Duration::from_secs(4),
        "the platforms side by side: {took:?}"
    );
    for n in 0..12 {
        assert_eq!(f.outcome(&format!("int_google_{n:02}")).await, "revoked");
        assert_eq!(f.outcome(&format!("int_x_{n:02}")).await, "revoked");
    }
    assert_eq!(f.counted("TokensRevoked"), 24);
    f.server.verify().await;
}

#[tokio::test]
async fn the_first_unfinished_record_is_the_checkpoint_and_later_finished_ones_are_not_revoked_again()
 {
    let f = Fixture::new().await;
    // X fails every attempt of this delivery; Google answers at once.
    Mock::given(method("POST"))
        .and(path(Endpoints::revoke_path(Platform::X)))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(platform_revoke::ATTEMPTS as u64)
        .expect(platform_revoke::ATTEMPTS as u64)
        .mount(&f.server)
        .await;
    f.platform_answers(Platform::Google, success(Platform::Google), 2)
        .await;
    let mut records = many(&f, "first", "youtube", 1).await;
    let failing = many(&f, "failing", "x", 1).await;
    let sequence = sequence_of(&batch_of(failing.clone()), "TOKEN#access");
    records.extend(failing);
    records.extend(many(&f, "last", "youtube", 1).await);
    let batch = batch_of(records);

    assert_eq!(f.handle(&batch).await, handed_back(&sequence));
    assert_eq!(f.outcome("int_first_00").await, "revoked");
    assert_eq!(
        f.outcome("int_last_00").await,
        "revoked",
        "finished beside the failing one"
    );
    assert!(f.outcomes("int_failing_00").await.is_empty());

    // Lambda delivers the batch again from the checkpoint; X answers now.
    f.platform_answers(Platform::X, success(Platform::X), 1)
        .await;
    let from = batch
        .records
        .iter()
        .position(|r| r.sequence_number() == sequence)
        .unwrap();
    let again = batch_of(batch.records[from..].to_vec());
    assert_eq!(f.handle(&again).await, no_failures());
    assert_eq!(f.outcome("int_failing_00").await, "revoked");
    assert_eq!(f.outcomes("int_last_00").await.len(), 1, "recorded once");
    assert_eq!(f.counted("TokensRevoked"), 3, "each token counted once");
    assert_eq!(f.counted("RevocationsRetried"), 1);
    f.server.verify().await;
}
