use std::time::Duration;

use platform_revoke::{ClientCredentials, Credentials, Outcome, Platform::X, TokenType};
use serde_json::json;
use wiremock::matchers::{basic_auth, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{
    CLIENT_ID, CLIENT_SECRET, FormIs, NoAuthorization, SLOW, TOKEN, expecting_no_request,
    permanent, revoke, revoke_within_timeout, revoker, revoker_with, token, transient,
};

/// The documented request of a confidential client: `POST /2/oauth2/revoke`, HTTP Basic with
/// the client id and secret, form `token` and `token_type_hint`.
fn revoke_call(hint: &'static str) -> wiremock::MockBuilder {
    let form: &'static [(&str, &str)] = match hint {
        "access_token" => &[("token", TOKEN), ("token_type_hint", "access_token")],
        _ => &[("token", TOKEN), ("token_type_hint", "refresh_token")],
    };
    Mock::given(method("POST"))
        .and(path("/2/oauth2/revoke"))
        .and(basic_auth(CLIENT_ID, CLIENT_SECRET))
        .and(FormIs(form))
}

async fn answering(template: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    revoke_call("access_token")
        .respond_with(template)
        .expect(1)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn x_answers_revoked_true_so_the_token_is_revoked() {
    let server =
        answering(ResponseTemplate::new(200).set_body_json(json!({"revoked": true}))).await;
    assert_eq!(revoke(&server, X).await, Ok(Outcome::Revoked));
}

#[tokio::test]
async fn x_sends_refresh_token_as_the_token_type_hint_of_a_refresh_token() {
    let server = MockServer::start().await;
    revoke_call("refresh_token")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"revoked": true})))
        .expect(1)
        .mount(&server)
        .await;
    let outcome = revoker(&server)
        .revoke(X, &token(), TokenType::RefreshToken)
        .await;
    assert_eq!(outcome, Ok(Outcome::Revoked));
}

#[tokio::test]
async fn x_public_client_sends_its_client_id_in_the_form_and_no_authorization_header() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/2/oauth2/revoke"))
        .and(NoAuthorization)
        .and(FormIs(&[
            ("token", TOKEN),
            ("token_type_hint", "access_token"),
            ("client_id", CLIENT_ID),
        ]))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"revoked": true})))
        .expect(1)
        .mount(&server)
        .await;
    let credentials = Credentials::from_json(&format!(r#"{{"x": {{"clientId": "{CLIENT_ID}"}}}}"#))
        .expect("a public client parses");
    let revoker = revoker_with(&server, credentials, Duration::from_secs(5));
    let outcome = revoker.revoke(X, &token(), TokenType::AccessToken).await;
    assert_eq!(outcome, Ok(Outcome::Revoked));
}

#[tokio::test]
async fn x_answers_400_token_was_invalid_so_the_token_is_already_revoked() {
    let server = answering(ResponseTemplate::new(400).set_body_json(json!({
        "error": "invalid_request",
        "error_description": "Value passed for the token was invalid."
    })))
    .await;
    assert_eq!(revoke(&server, X).await, Ok(Outcome::AlreadyRevoked));
}

#[tokio::test]
async fn x_answers_400_invalid_token_so_the_token_is_already_revoked() {
    let server =
        answering(ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_token"})))
            .await;
    assert_eq!(revoke(&server, X).await, Ok(Outcome::AlreadyRevoked));
}

#[tokio::test]
async fn x_answers_503_so_the_revocation_is_transient() {
    let server = answering(ResponseTemplate::new(503)).await;
    let error = transient(revoke(&server, X).await, X);
    assert_eq!(error.reason(), "http 503");
}

#[tokio::test]
async fn x_answers_429_so_the_revocation_is_transient() {
    let server = answering(ResponseTemplate::new(429).set_body_json(json!({
        "title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429
    })))
    .await;
    let error = transient(revoke(&server, X).await, X);
    assert_eq!(error.reason(), "http 429");
}

#[tokio::test]
async fn x_answers_401_unauthorized_client_so_bad_client_credentials_are_permanent() {
    let server = answering(ResponseTemplate::new(401).set_body_json(json!({
        "error": "unauthorized_client",
        "error_description": "Missing valid authorization header"
    })))
    .await;
    let error = permanent(revoke(&server, X).await, X);
    assert_eq!(error.reason(), "http 401 (unauthorized_client)");
}

#[tokio::test]
async fn x_answers_400_missing_parameter_so_the_revocation_is_permanent() {
    let server = answering(ResponseTemplate::new(400).set_body_json(json!({
        "error": "invalid_request",
        "error_description": "Missing required parameter [token_type_hint]."
    })))
    .await;
    let error = permanent(revoke(&server, X).await, X);
    assert_eq!(error.reason(), "http 400 (invalid_request)");
}

#[tokio::test]
async fn x_without_client_credentials_fails_permanently_without_a_request() {
    let server = expecting_no_request().await;
    let credentials = Credentials::default().with(
        platform_revoke::Platform::TikTok,
        ClientCredentials::new(CLIENT_ID, CLIENT_SECRET),
    );
    let revoker = revoker_with(&server, credentials, Duration::from_secs(5));
    let error = permanent(revoker.revoke(X, &token(), TokenType::AccessToken).await, X);
    assert!(
        error.reason().contains("no x client credentials"),
        "{error}"
    );
}

#[tokio::test]
async fn x_not_answering_within_the_timeout_is_transient() {
    let server = answering(ResponseTemplate::new(200).set_delay(SLOW)).await;
    let error = transient(revoke_within_timeout(&server, X).await, X);
    assert_eq!(error.reason(), "no answer within 300 ms");
}
