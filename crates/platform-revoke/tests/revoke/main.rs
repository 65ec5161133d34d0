//! Every adapter against a wiremock server: the exact documented request, and each answer's
//! verdict. No test reaches a real platform.

mod general;
mod google;
mod linkedin;
mod meta;
mod tiktok;
mod x;

use std::collections::BTreeMap;
use std::time::Duration;

use platform_revoke::{
    ClientCredentials, Credentials, Endpoints, Outcome, Platform, RevokeError, Revoker, Token,
    TokenType,
};
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

/// A token with characters a form and a query must encode. Tokens and secrets here all hold
/// `SECRET`, and no error text may.
pub const TOKEN: &str = "ya29.a0/Tok+SECRET=value&more";
pub const CLIENT_ID: &str = "client-id-123";
pub const CLIENT_SECRET: &str = "client-SECRET-9z8y7x";

pub fn token() -> Token {
    Token::new(TOKEN)
}

/// Confidential credentials for every platform.
pub fn credentials() -> Credentials {
    Platform::ALL
        .iter()
        .fold(Credentials::default(), |all, &platform| {
            all.with(platform, ClientCredentials::new(CLIENT_ID, CLIENT_SECRET))
        })
}

/// Every platform's endpoint on `server`.
pub fn endpoints(server: &MockServer) -> Endpoints {
    let uri = server.uri();
    Endpoints::from_lookup(|variable| {
        assert!(variable.starts_with("REVOKE_ENDPOINT_"), "{variable}");
        Some(uri.clone())
    })
}

pub fn revoker(server: &MockServer) -> Revoker {
    revoker_with(server, credentials(), Duration::from_secs(5))
}

pub fn revoker_with(server: &MockServer, credentials: Credentials, timeout: Duration) -> Revoker {
    Revoker::new(endpoints(server), credentials, timeout)
}

/// Revokes [`TOKEN`] as an access token at `platform` through `server`.
pub async fn revoke(server: &MockServer, platform: Platform) -> Result<Outcome, RevokeError> {
    revoker(server)
        .revoke(platform, &token(), TokenType::AccessToken)
        .await
}

/// The error of `result`, checked to be transient, at `platform`, and clean of secrets.
pub fn transient(result: Result<Outcome, RevokeError>, platform: Platform) -> RevokeError {
    let error = result.expect_err("a transient error");
    assert!(error.is_transient(), "{error:?}");
    assert_eq!(error.platform(), platform);
    assert_clean(&error);
    error
}

/// The error of `result`, checked to be permanent, at `platform`, and clean of secrets.
pub fn permanent(result: Result<Outcome, RevokeError>, platform: Platform) -> RevokeError {
    let error = result.expect_err("a permanent error");
    assert!(!error.is_transient(), "{error:?}");
    assert_eq!(error.platform(), platform);
    assert_clean(&error);
    error
}

/// Neither the token nor a client secret, raw or encoded, shows in the error.
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

/// The pairs of a form or a query, decoded; `None` when a key repeats.
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

/// The URL's query is exactly these parameters and the body is empty.
pub struct QueryIs(pub Vec<(&'static str, String)>);

impl Match for QueryIs {
    fn matches(&self, request: &Request) -> bool {
        let fields: Vec<(&str, &str)> = self.0.iter().map(|(k, v)| (*k, v.as_str())).collect();
        request.body.is_empty() && request.url.query().and_then(pairs) == Some(expected(&fields))
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

/// A delay far past [`TIMEOUT`].
pub const SLOW: Duration = Duration::from_secs(10);
/// The timeout of the timeout tests.
pub const TIMEOUT: Duration = Duration::from_millis(300);

/// Revokes [`TOKEN`] at `platform` with a [`TIMEOUT`] revoker, checking that it gives up long
/// before a [`SLOW`] answer.
pub async fn revoke_within_timeout(
    server: &MockServer,
    platform: Platform,
) -> Result<Outcome, RevokeError> {
    let revoker = revoker_with(server, credentials(), TIMEOUT);
    let started = std::time::Instant::now();
    let result = revoker
        .revoke(platform, &token(), TokenType::AccessToken)
        .await;
    assert!(started.elapsed() < SLOW / 2, "{:?}", started.elapsed());
    result
}
