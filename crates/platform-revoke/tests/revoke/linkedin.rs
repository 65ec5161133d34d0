use std::time::Duration;

use platform_revoke::{
    ClientCredentials, Credentials, Outcome, Platform, Platform::LinkedIn, TokenType,
};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{
    CLIENT_ID, CLIENT_SECRET, FormIs, NoAuthorization, SLOW, TOKEN, answering_once,
    expecting_no_request, permanent, revoke, revoke_within_timeout, revoker_with, token, transient,
};

/// The documented request: `POST /oauth/v2/revoke`, form `client_id`, `client_secret`, `token`,
/// no Authorization header.
fn revoke_call() -> wiremock::MockBuilder {
    Mock::given(method("POST"))
        .and(path("/oauth/v2/revoke"))
        .and(FormIs(&[
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("token", TOKEN),
        ]))
        .and(NoAuthorization)
}

async fn answering(template: ResponseTemplate) -> MockServer {
    answering_once(revoke_call(), template).await
}

#[tokio::test]
async fn linkedin_answers_200_so_the_token_is_revoked() {
    let server = answering(ResponseTemplate::new(200)).await;
    assert_eq!(revoke(&server, LinkedIn).await, Ok(Outcome::Revoked));
}

#[tokio::test]
async fn linkedin_revokes_a_refresh_token_with_the_same_form() {
    let server = answering(ResponseTemplate::new(200)).await;
    let revoker = revoker_with(&server, crate::credentials(), Duration::from_secs(5));
    let outcome = revoker
        .revoke(LinkedIn, &token(), TokenType::RefreshToken)
        .await;
    assert_eq!(outcome, Ok(Outcome::Revoked));
}

#[tokio::test]
async fn linkedin_answers_401_revoked_access_token_so_the_token_is_already_revoked() {
    let server = answering(ResponseTemplate::new(401).set_body_json(json!({
        "status": 401,
        "serviceErrorCode": 65601,
        "code": "REVOKED_ACCESS_TOKEN",
        "message": "The token used in the request has been revoked by the user"
    })))
    .await;
    assert_eq!(revoke(&server, LinkedIn).await, Ok(Outcome::AlreadyRevoked));
}

#[tokio::test]
async fn linkedin_answers_400_invalid_token_so_the_token_is_already_revoked() {
    let server = answering(ResponseTemplate::new(400).set_body_json(
        json!({"error": "invalid_token", "error_description": "The token is expired"}),
    ))
    .await;
    assert_eq!(revoke(&server, LinkedIn).await, Ok(Outcome::AlreadyRevoked));
}

#[tokio::test]
async fn linkedin_answers_502_so_the_revocation_is_transient() {
    let server = answering(ResponseTemplate::new(502)).await;
    let error = transient(revoke(&server, LinkedIn).await, LinkedIn);
    assert_eq!(error.reason(), "http 502");
}

#[tokio::test]
async fn linkedin_answers_429_so_the_revocation_is_transient() {
    let server = answering(ResponseTemplate::new(429).set_body_json(json!({
        "status": 429, "code": "TOO_MANY_REQUESTS", "message": "Resource level throttle limit"
    })))
    .await;
    let error = transient(revoke(&server, LinkedIn).await, LinkedIn);
    assert_eq!(error.reason(), "http 429 (TOO_MANY_REQUESTS)");
}

#[tokio::test]
async fn linkedin_answers_401_invalid_client_so_bad_client_credentials_are_permanent() {
    let server = answering(ResponseTemplate::new(401).set_body_json(json!({
        "error": "invalid_client",
        "error_description": "Client authentication failed"
    })))
    .await;
    let error = permanent(revoke(&server, LinkedIn).await, LinkedIn);
    assert_eq!(error.reason(), "http 401 (invalid_client)");
}

#[tokio::test]
async fn linkedin_answers_400_invalid_request_so_the_revocation_is_permanent() {
    let server = answering(ResponseTemplate::new(400).set_body_json(json!({
        "error": "invalid_request",
        "error_description": "A required parameter \"token\" is missing"
    })))
    .await;
    let error = permanent(revoke(&server, LinkedIn).await, LinkedIn);
    assert_eq!(error.reason(), "http 400 (invalid_request)");
}

#[tokio::test]
async fn linkedin_without_client_credentials_fails_permanently_without_a_request() {
    let server = expecting_no_request().await;
    // Credentials of every other platform, and a public (secretless) LinkedIn client: neither
    // lets LinkedIn authenticate the app.
    for credentials in [
        Credentials::default().with(
            Platform::X,
            ClientCredentials::new(CLIENT_ID, CLIENT_SECRET),
        ),
        Credentials::default().with(LinkedIn, ClientCredentials::public(CLIENT_ID)),
    ] {
        let revoker = revoker_with(&server, credentials, Duration::from_secs(5));
        let error = permanent(
            revoker
                .revoke(LinkedIn, &token(), TokenType::AccessToken)
                .await,
            LinkedIn,
        );
        assert!(
            error.reason().contains("no linkedin client credentials"),
            "{error}"
        );
    }
}

#[tokio::test]
async fn linkedin_not_answering_within_the_timeout_is_transient() {
    let server = answering(ResponseTemplate::new(200).set_delay(SLOW)).await;
    let error = transient(revoke_within_timeout(&server, LinkedIn).await, LinkedIn);
    assert_eq!(error.reason(), "no answer within 300 ms");
}
