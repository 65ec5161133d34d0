//! Every adapter against a wiremock server: the exact documented request, and each answer's
//! verdict. No test reaches a real platform, and none needs another service.

mod discord;
mod general;
mod google;
mod linkedin;
mod mastodon;
mod meta;
mod reddit;
mod tiktok;
mod x;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use platform_revoke::{
    ClientCredentials, Credentials, Endpoints, NoJournal, Outcome, Platform, RefreshJournal,
    Revocation, RevokeError, Revoker, Token, TokenItem, TokenType,
};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

/// A token with characters a form and a query must encode. Tokens and secrets here all hold
/// `SECRET`, and no error text may.
pub const TOKEN: &str = "ya29.a0/Tok+SECRET=value&more";
pub const CLIENT_ID: &str = "client-id-123";
pub const CLIENT_SECRET: &str = "client-SECRET-9z8y7x";
/// The Mastodon server of the tests: the guard takes a DNS name only, and `localhost` only
/// under the loopback switch.
pub const MASTODON_HOST: &str = "localhost";

/// The timeout of every request of a [`revoker`]: long enough never to fire on a local stub.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// The timeout of the timeout tests.
pub const TIMEOUT: Duration = Duration::from_millis(300);
/// A delay far past [`TIMEOUT`].
pub const SLOW: Duration = Duration::from_secs(10);

pub fn token() -> Token {
    Token::new(TOKEN)
}

/// Confidential credentials, [`CLIENT_ID`] and `secret`, for every platform and for the Mastodon
/// server [`MASTODON_HOST`].
pub fn credentials_with_secret(secret: &str) -> Credentials {
    Platform::ALL
        .iter()
        .fold(Credentials::default(), |all, &platform| {
            all.with(platform, ClientCredentials::new(CLIENT_ID, secret))
        })
        .with_mastodon_server(MASTODON_HOST, ClientCredentials::new(CLIENT_ID, secret))
}

/// Confidential credentials, [`CLIENT_ID`] and [`CLIENT_SECRET`], for every platform and for
/// the Mastodon server [`MASTODON_HOST`].
pub fn credentials() -> Credentials {
    credentials_with_secret(CLIENT_SECRET)
}

/// Every platform's endpoint on `server`, as the environment would give them.
pub fn endpoints(server: &MockServer) -> Endpoints {
    let uri = server.uri();
    Endpoints::from_lookup(|variable| {
        assert!(variable.starts_with("REVOKE_ENDPOINT_"), "{variable}");
        Some(uri.clone())
    })
    .expect("a loopback http endpoint is accepted")
}

/// A revoker of every platform at `server`, with [`credentials`] and [`REQUEST_TIMEOUT`], that
/// takes `localhost` as a Mastodon server (the local-development switch).
pub fn revoker(server: &MockServer) -> Revoker {
    revoker_with(server, credentials(), REQUEST_TIMEOUT)
}

/// Like [`revoker`], with these credentials and timeout.
pub fn revoker_with(server: &MockServer, credentials: Credentials, timeout: Duration) -> Revoker {
    Revoker::new(endpoints(server), credentials, timeout).allowing_loopback_servers()
}

/// `http://localhost:<port>` of `server`: a Mastodon server the loopback switch lets through.
pub fn mastodon_server(server: &MockServer) -> String {
    format!("http://{MASTODON_HOST}:{}", server.address().port())
}

/// The token item of a token at `platform` whose stub is `server`: a Mastodon item names it as
/// its server, any other is the default (Facebook Login, no server).
pub fn item(platform: Platform, server: &MockServer) -> TokenItem {
    match platform {
        Platform::Mastodon => TokenItem {
            server: Some(mastodon_server(server)),
            ..TokenItem::default()
        },
        _ => TokenItem::default(),
    }
}

/// The deadline of an ordinary invocation: far enough for every wait a test asks for.
pub fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(30)
}

/// A deadline with room for one attempt and no retry. The revoker retries only when the wait
/// plus `min(timeout, 1 s)` still fits before the deadline after the attempt: with
/// [`REQUEST_TIMEOUT`] that is more than 1 s even for a wait of zero, and after a [`TIMEOUT`]
/// it is the 300 ms the attempt took, the shortest back-off (500 ms) and 300 ms more.
pub fn one_attempt_deadline() -> Instant {
    Instant::now() + Duration::from_secs(1)
}

/// One revocation through `revoker`.
pub async fn revoke_with(
    revoker: &Revoker,
    platform: Platform,
    token: &Token,
    token_type: TokenType,
    item: &TokenItem,
    deadline: Instant,
    journal: &dyn RefreshJournal,
) -> Result<Outcome, RevokeError> {
    let revocation = Revocation {
        platform,
        token,
        token_type,
        item,
        deadline,
    };
    revoker.revoke(&revocation, journal).await
}

/// Revokes [`TOKEN`], of `token_type`, at `platform` through `server`, within a 30 s deadline.
pub async fn revoke_as(
    server: &MockServer,
    platform: Platform,
    token_type: TokenType,
) -> Result<Outcome, RevokeError> {
    revoke_with(
        &revoker(server),
        platform,
        &token(),
        token_type,
        &item(platform, server),
        deadline(),
        &NoJournal,
    )
    .await
}

/// Revokes [`TOKEN`] as an access token at `platform` through `server`, within a 30 s deadline.
pub async fn revoke(server: &MockServer, platform: Platform) -> Result<Outcome, RevokeError> {
    revoke_as(server, platform, TokenType::AccessToken).await
}

/// Revokes [`TOKEN`] as an access token at `platform` through `server`, with time for one
/// attempt only: the verdict of one answer, without the retries a transient one gets.
pub async fn revoke_in_one_attempt(
    server: &MockServer,
    platform: Platform,
) -> Result<Outcome, RevokeError> {
    revoke_with(
        &revoker(server),
        platform,
        &token(),
        TokenType::AccessToken,
        &item(platform, server),
        one_attempt_deadline(),
        &NoJournal,
    )
    .await
}

/// The error of `result`, checked to be transient, at `platform`, and clean of secrets.
#[track_caller]
pub fn transient(result: Result<Outcome, RevokeError>, platform: Platform) -> RevokeError {
    let error = result.expect_err("a transient error");
    assert!(error.is_transient(), "{error:?}");
    assert_eq!(error.platform(), platform);
    assert_clean(&error);
    error
}

/// The error of `result`, checked to be permanent, at `platform`, and clean of secrets.
#[track_caller]
pub fn permanent(result: Result<Outcome, RevokeError>, platform: Platform) -> RevokeError {
    let error = result.expect_err("a permanent error");
    assert!(!error.is_transient(), "{error:?}");
    assert_eq!(error.retry_after(), None);
    assert_eq!(error.platform(), platform);
    assert_clean(&error);
    error
}

/// Neither a token nor a client secret, raw or encoded, shows in the error.
#[track_caller]
pub fn assert_clean(error: &RevokeError) {
    for shown in [
        error.to_string(),
        format!("{error:?}"),
        format!("{error:#?}"),
    ] {
        assert!(!shown.contains("SECRET"), "leaks a secret: {shown}");
        assert!(!shown.contains("ya29"), "leaks the token: {shown}");
    }
}

/// How many requests `server` received.
pub async fn calls(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .expect("requests are recorded")
        .len()
}

/// The pairs of a form, decoded; `None` when a key repeats.
fn pairs(encoded: &str) -> Option<BTreeMap<String, String>> {
    let mut map = BTreeMap::new();
    for pair in encoded.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |text: &str| {
            percent_encoding::percent_decode_str(&text.replace('+', " "))
                .decode_utf8()
                .map(|text| text.into_owned())
        };
        if map.insert(decode(key).ok()?, decode(value).ok()?).is_some() {
            return None;
        }
    }
    Some(map)
}

fn expected(fields: &[(&str, &str)]) -> BTreeMap<String, String> {
    fields
        .iter()
        .map(|&(key, value)| (key.to_owned(), value.to_owned()))
        .collect()
}

/// The body is an `application/x-www-form-urlencoded` form of exactly these fields, and the URL
/// has no query (nothing secret travels in it).
pub struct FormIs(pub &'static [(&'static str, &'static str)]);

impl Match for FormIs {
    fn matches(&self, request: &Request) -> bool {
        let form = request
            .headers
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            == Some("application/x-www-form-urlencoded");
        let body = std::str::from_utf8(&request.body).ok().and_then(pairs);
        form && request.url.query().is_none() && body == Some(expected(self.0))
    }
}

/// The request's `User-Agent` is exactly this (wiremock's `header` matcher would split a value
/// at its commas, and Discord's form has one).
pub struct UserAgentIs(pub String);

impl Match for UserAgentIs {
    fn matches(&self, request: &Request) -> bool {
        let values: Vec<_> = request.headers.get_all("user-agent").iter().collect();
        matches!(values.as_slice(), [value] if value.as_bytes() == self.0.as_bytes())
    }
}

/// The request carries no `Authorization` header.
pub struct NoAuthorization;

impl Match for NoAuthorization {
    fn matches(&self, request: &Request) -> bool {
        !request.headers.contains_key("authorization")
    }
}

/// A stub platform that answers `call` exactly once, with `answer`.
pub async fn answering_once(call: wiremock::MockBuilder, answer: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    call.respond_with(answer).expect(1).mount(&server).await;
    server
}

/// A stub platform that fails the test if any request reaches it.
pub async fn expecting_no_request() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    server
}

/// Any `POST` to `platform`'s revoke path (the exact request is each platform's own tests').
pub fn any_revoke_call(platform: Platform) -> wiremock::MockBuilder {
    Mock::given(method("POST")).and(path(Endpoints::revoke_path(platform)))
}

/// The documented success answer of `platform`'s revoke call, and its outcome.
pub fn success(platform: Platform) -> (ResponseTemplate, Outcome) {
    let ok = ResponseTemplate::new(200);
    match platform {
        Platform::Google | Platform::Discord | Platform::Mastodon => (ok, Outcome::Revoked),
        Platform::TikTok => (ok.set_body_string("{}"), Outcome::Revoked),
        Platform::Meta => (
            ok.set_body_json(json!([{"code": 200, "body": "true"}])),
            Outcome::Revoked,
        ),
        Platform::LinkedIn => (ok, Outcome::Unconfirmed),
        Platform::X => (ok.set_body_json(json!({"revoked": true})), Outcome::Revoked),
        Platform::Reddit => (ResponseTemplate::new(204), Outcome::Revoked),
    }
}
