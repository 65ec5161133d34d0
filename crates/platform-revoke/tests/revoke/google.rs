use platform_revoke::{Credentials, Outcome, Platform::Google, TokenType};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{
    FormIs, NoAuthorization, SLOW, TOKEN, answering_once, permanent, revoke, revoke_within_timeout,
    revoker_with, token, transient,
};

/// The documented request: `POST /revoke`, form `token`, no client credentials.
fn revoke_call() -> wiremock::MockBuilder {
    Mock::given(method("POST"))
        .and(path("/revoke"))
        .and(FormIs(&[("token", TOKEN)]))
        .and(NoAuthorization)
}

#[tokio::test]
async fn google_answers_200_so_the_token_is_revoked() {
    let server = answering_once(
        revoke_call(),
        ResponseTemplate::new(200).set_body_string("{}"),
    )
    .await;
    assert_eq!(revoke(&server, Google).await, Ok(Outcome::Revoked));
}

#[tokio::test]
async fn google_revokes_a_refresh_token_with_the_same_call_and_no_client_credentials() {
    let server = answering_once(revoke_call(), ResponseTemplate::new(200)).await;
    let revoker = revoker_with(
        &server,
        Credentials::default(),
        std::time::Duration::from_secs(5),
    );
    let outcome = revoker
        .revoke(Google, &token(), TokenType::RefreshToken)
        .await;
    assert_eq!(outcome, Ok(Outcome::Revoked));
}

#[tokio::test]
async fn google_answers_400_invalid_token_so_the_token_is_already_revoked() {
    let server = MockServer::start().await;
    revoke_call()
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"error": "invalid_token", "error_description": "Token expired or revoked"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(revoke(&server, Google).await, Ok(Outcome::AlreadyRevoked));
}

#[tokio::test]
async fn google_answers_503_so_the_revocation_is_transient() {
    let server = answering_once(
        revoke_call(),
        ResponseTemplate::new(503).set_body_string("<html>unavailable</html>"),
    )
    .await;
    let error = transient(revoke(&server, Google).await, Google);
    assert_eq!(error.reason(), "http 503");
}

#[tokio::test]
async fn google_answers_429_so_the_revocation_is_transient() {
    let server = MockServer::start().await;
    revoke_call()
        .respond_with(
            ResponseTemplate::new(429).set_body_json(json!({"error": "rate_limit_exceeded"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let error = transient(revoke(&server, Google).await, Google);
    assert_eq!(error.reason(), "http 429 (rate_limit_exceeded)");
}

#[tokio::test]
async fn google_answers_401_invalid_client_so_the_revocation_is_permanent() {
    let server = answering_once(
        revoke_call(),
        ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_client"})),
    )
    .await;
    let error = permanent(revoke(&server, Google).await, Google);
    assert_eq!(error.reason(), "http 401 (invalid_client)");
}

#[tokio::test]
async fn google_answers_400_invalid_request_so_the_revocation_is_permanent() {
    let server = MockServer::start().await;
    revoke_call()
        .respond_with(
            ResponseTemplate::new(400).set_body_json(
                json!({"error": "invalid_request", "error_description": "Bad Request"}),
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    let error = permanent(revoke(&server, Google).await, Google);
    assert_eq!(error.reason(), "http 400 (invalid_request)");
}

#[tokio::test]
async fn google_not_answering_within_the_timeout_is_transient() {
    let server = answering_once(revoke_call(), ResponseTemplate::new(200).set_delay(SLOW)).await;
    let error = transient(revoke_within_timeout(&server, Google).await, Google);
    assert_eq!(error.reason(), "no answer within 300 ms");
}
