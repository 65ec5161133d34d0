use std::time::Duration;

use platform_revoke::{Credentials, Outcome, Platform::TikTok, RevokeError, TokenType};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{
    CLIENT_ID, CLIENT_SECRET, FormIs, NoAuthorization, SLOW, TIMEOUT, TOKEN, answering_once,
    credentials, expecting_no_request, permanent, revoke, revoke_within_timeout, revoker,
    revoker_with, token, transient,
};

/// The documented request: `POST /v2/oauth/revoke/`, form `client_key`, `client_secret`,
/// `token`, no Authorization header.
fn revoke_call() -> wiremock::MockBuilder {
    Mock::given(method("POST"))
        .and(path("/v2/oauth/revoke/"))
        .and(FormIs(&[
            ("client_key", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("token", TOKEN),
        ]))
        .and(NoAuthorization)
}

async fn answering(template: ResponseTemplate) -> MockServer {
    answering_once(revoke_call(), template).await
}

#[tokio::test]
async fn tiktok_answers_an_empty_object_so_the_token_is_revoked() {
    let server = answering(ResponseTemplate::new(200).set_body_string("{}")).await;
    assert_eq!(revoke(&server, TikTok).await, Ok(Outcome::Revoked));
}

#[tokio::test]
async fn tiktok_answers_an_empty_body_or_an_empty_error_so_the_token_is_revoked() {
    for template in [
        ResponseTemplate::new(200),
        ResponseTemplate::new(200)
            .set_body_json(json!({"error": "", "error_description": "", "log_id": "2024"})),
        ResponseTemplate::new(200)
            .set_body_json(json!({"data": {}, "error": {"code": "ok", "message": ""}})),
    ] {
        let server = answering(template).await;
        assert_eq!(revoke(&server, TikTok).await, Ok(Outcome::Revoked));
    }
}

#[tokio::test]
async fn tiktok_answers_200_with_error_invalid_grant_so_the_token_is_already_revoked() {
    let server = answering(ResponseTemplate::new(200).set_body_json(json!({
        "error": "invalid_grant",
        "error_description": "Access token is invalid or expired.",
        "log_id": "20240101000000ABCDEF"
    })))
    .await;
    assert_eq!(revoke(&server, TikTok).await, Ok(Outcome::AlreadyRevoked));
}

#[tokio::test]
async fn tiktok_answers_401_access_token_invalid_in_the_v2_envelope_so_the_token_is_already_revoked()
 {
    let server = answering(ResponseTemplate::new(401).set_body_json(json!({
        "error": {"code": "access_token_invalid", "message": "The access token is invalid", "log_id": "x"}
    })))
    .await;
    assert_eq!(revoke(&server, TikTok).await, Ok(Outcome::AlreadyRevoked));
}

#[tokio::test]
async fn tiktok_answers_503_so_the_revocation_is_transient() {
    let server = answering(ResponseTemplate::new(503)).await;
    let error = transient(revoke(&server, TikTok).await, TikTok);
    assert_eq!(error.reason(), "http 503");
}

#[tokio::test]
async fn tiktok_answers_429_rate_limit_exceeded_so_the_revocation_is_transient() {
    let server = answering(ResponseTemplate::new(429).set_body_json(json!({
        "error": {"code": "rate_limit_exceeded", "message": "slow down", "log_id": "x"}
    })))
    .await;
    let error = transient(revoke(&server, TikTok).await, TikTok);
    assert_eq!(error.reason(), "http 429 (rate_limit_exceeded)");
}

#[tokio::test]
async fn tiktok_answers_200_with_error_temporarily_unavailable_so_the_revocation_is_transient() {
    let server = answering(
        ResponseTemplate::new(200).set_body_json(json!({"error": "temporarily_unavailable"})),
    )
    .await;
    let error = transient(revoke(&server, TikTok).await, TikTok);
    assert_eq!(error.reason(), "http 200 (temporarily_unavailable)");
}

#[tokio::test]
async fn tiktok_answers_200_with_a_body_that_is_not_json_so_the_revocation_is_transient() {
    let server =
        answering(ResponseTemplate::new(200).set_body_string("<html>gateway</html>")).await;
    let error = transient(revoke(&server, TikTok).await, TikTok);
    assert_eq!(error.reason(), "http 200 with a body that is not JSON");
}

#[tokio::test]
async fn tiktok_answers_200_with_error_invalid_client_so_bad_client_credentials_are_permanent() {
    let server = answering(ResponseTemplate::new(200).set_body_json(json!({
        "error": "invalid_client",
        "error_description": "Client key or secret is incorrect.",
        "log_id": "x"
    })))
    .await;
    let error = permanent(revoke(&server, TikTok).await, TikTok);
    assert_eq!(error.reason(), "http 200 (invalid_client)");
}

#[tokio::test]
async fn tiktok_answers_400_invalid_request_so_the_revocation_is_permanent() {
    let server =
        answering(ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_request"})))
            .await;
    let error = permanent(revoke(&server, TikTok).await, TikTok);
    assert_eq!(error.reason(), "http 400 (invalid_request)");
}

#[tokio::test]
async fn tiktok_answers_403_without_a_body_so_the_revocation_is_permanent() {
    let server = answering(ResponseTemplate::new(403)).await;
    let error = permanent(revoke(&server, TikTok).await, TikTok);
    assert_eq!(error.reason(), "http 403");
}

#[tokio::test]
async fn tiktok_without_client_credentials_fails_permanently_without_a_request() {
    let server = expecting_no_request().await;
    let revoker = revoker_with(&server, Credentials::default(), Duration::from_secs(5));
    for token_type in [TokenType::AccessToken, TokenType::RefreshToken] {
        let error = permanent(revoker.revoke(TikTok, &token(), token_type).await, TikTok);
        assert!(
            error.reason().contains("no tiktok client credentials"),
            "{token_type}: {error}"
        );
    }
}

/// A fresh access token as a refresh gives it (it holds `SECRET`: no error text may show it).
const FRESH: &str = "act.fresh+SECRET/1";

/// The documented refresh: `POST /v2/oauth/token/`, form `client_key`, `client_secret`,
/// `grant_type=refresh_token`, `refresh_token`.
fn refresh_call() -> wiremock::MockBuilder {
    Mock::given(method("POST"))
        .and(path("/v2/oauth/token/"))
        .and(FormIs(&[
            ("client_key", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("grant_type", "refresh_token"),
            ("refresh_token", TOKEN),
        ]))
        .and(NoAuthorization)
}

/// The revoke call of the fresh access token.
fn revoke_fresh_call() -> wiremock::MockBuilder {
    Mock::given(method("POST"))
        .and(path("/v2/oauth/revoke/"))
        .and(FormIs(&[
            ("client_key", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("token", FRESH),
        ]))
        .and(NoAuthorization)
}

/// TikTok's documented refresh answer, with [`FRESH`].
fn refreshed() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "access_token": FRESH,
        "expires_in": 86400,
        "open_id": "open-id-1",
        "refresh_expires_in": 31_536_000,
        "refresh_token": "rft.next+SECRET",
        "scope": "user.info.basic,video.publish",
        "token_type": "Bearer"
    }))
}

/// A stub where the refresh answers `refresh` once and the revoke call of the fresh token
/// answers `revoke` (`None`: it must not be called).
async fn refreshing(refresh: ResponseTemplate, revoke: Option<ResponseTemplate>) -> MockServer {
    let server = answering_once(refresh_call(), refresh).await;
    let (answer, times) = match revoke {
        Some(answer) => (answer, 1),
        None => (ResponseTemplate::new(200).set_body_string("{}"), 0),
    };
    revoke_fresh_call()
        .respond_with(answer)
        .expect(times)
        .mount(&server)
        .await;
    server
}

async fn revoke_refresh_token(server: &MockServer) -> Result<Outcome, RevokeError> {
    revoker(server)
        .revoke(TikTok, &token(), TokenType::RefreshToken)
        .await
}

#[tokio::test]
async fn tiktok_refresh_token_is_refreshed_and_the_fresh_access_token_revoked() {
    let server = refreshing(
        refreshed(),
        Some(ResponseTemplate::new(200).set_body_string("{}")),
    )
    .await;
    assert_eq!(revoke_refresh_token(&server).await, Ok(Outcome::Revoked));
}

#[tokio::test]
async fn tiktok_refusing_the_refresh_as_invalid_grant_means_already_revoked_with_no_revoke_call() {
    let server = refreshing(
        ResponseTemplate::new(200).set_body_json(json!({
            "error": "invalid_grant",
            "error_description": "Refresh token is invalid or expired.",
            "log_id": "20240101000000ABCDEF"
        })),
        None,
    )
    .await;
    assert_eq!(
        revoke_refresh_token(&server).await,
        Ok(Outcome::AlreadyRevoked)
    );
}

#[tokio::test]
async fn tiktok_refresh_failures_are_transient_or_permanent_and_never_revoke() {
    let cases = [
        (ResponseTemplate::new(503), true, "refreshing: http 503"),
        (
            ResponseTemplate::new(200).set_body_json(json!({"error": "rate_limit_exceeded"})),
            true,
            "refreshing: http 200 (rate_limit_exceeded)",
        ),
        (
            ResponseTemplate::new(200).set_body_json(json!({"open_id": "open-id-1"})),
            true,
            "refreshing: http 200 without an access token",
        ),
        (
            ResponseTemplate::new(200).set_body_string("<html>SECRET</html>"),
            true,
            "refreshing: http 200 without an access token",
        ),
        (
            ResponseTemplate::new(200).set_body_json(json!({
                "error": "invalid_client",
                "error_description": "Client key or secret is invalid."
            })),
            false,
            "refreshing: http 200 (invalid_client)",
        ),
        (ResponseTemplate::new(403), false, "refreshing: http 403"),
    ];
    for (answer, is_transient, reason) in cases {
        let server = refreshing(answer, None).await;
        let result = revoke_refresh_token(&server).await;
        let error = if is_transient {
            transient(result, TikTok)
        } else {
            permanent(result, TikTok)
        };
        assert_eq!(error.reason(), reason);
        server.verify().await;
    }
}

#[tokio::test]
async fn tiktok_failing_to_revoke_the_fresh_access_token_is_that_calls_verdict() {
    let server = refreshing(refreshed(), Some(ResponseTemplate::new(500))).await;
    let error = transient(revoke_refresh_token(&server).await, TikTok);
    assert_eq!(error.reason(), "http 500");
}

#[tokio::test]
async fn tiktok_refresh_not_answering_within_the_timeout_is_transient() {
    let server = refreshing(refreshed().set_delay(SLOW), None).await;
    let revoker = revoker_with(&server, credentials(), TIMEOUT);
    let error = transient(
        revoker
            .revoke(TikTok, &token(), TokenType::RefreshToken)
            .await,
        TikTok,
    );
    assert_eq!(error.reason(), "refreshing: no answer within 300 ms");
}

#[tokio::test]
async fn tiktok_not_answering_within_the_timeout_is_transient() {
    let server = answering(ResponseTemplate::new(200).set_delay(SLOW)).await;
    let error = transient(revoke_within_timeout(&server, TikTok).await, TikTok);
    assert_eq!(error.reason(), "no answer within 300 ms");
}
