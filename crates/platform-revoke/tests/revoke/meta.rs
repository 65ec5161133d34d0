use std::time::Duration;

use platform_revoke::{GRAPH_API_VERSION, Outcome, Platform::Meta, TokenType};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{
    NoAuthorization, QueryIs, SLOW, TOKEN, expecting_no_request, permanent, revoke,
    revoke_within_timeout, revoker, revoker_with, token, transient,
};

/// HMAC-SHA256 of [`TOKEN`] keyed by [`CLIENT_SECRET`], hex (computed independently with
/// `printf %s "$TOKEN" | openssl dgst -sha256 -hmac "$CLIENT_SECRET"`).
const PROOF: &str = "a74459bc0c6e7a2be659009c47d8e43ef5bfb8f47dfbef1fc98cfc9590bc9e08";

/// The documented request: `DELETE /v25.0/me/permissions?access_token=...` (with
/// `appsecret_proof` when the app secret is known), no body, no Authorization header.
fn revoke_call(query: Vec<(&'static str, String)>) -> wiremock::MockBuilder {
    assert_eq!(GRAPH_API_VERSION, "v25.0");
    Mock::given(method("DELETE"))
        .and(path("/v25.0/me/permissions"))
        .and(QueryIs(query))
        .and(NoAuthorization)
}

fn with_proof() -> Vec<(&'static str, String)> {
    vec![
        ("access_token", TOKEN.to_owned()),
        ("appsecret_proof", PROOF.to_owned()),
    ]
}

async fn answering(template: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    revoke_call(with_proof())
        .respond_with(template)
        .expect(1)
        .mount(&server)
        .await;
    server
}

fn graph_error(code: i64, subcode: Option<i64>) -> serde_json::Value {
    let mut error = json!({
        "message": "Error validating access token",
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "AbCdEf"
    });
    if let Some(subcode) = subcode {
        error["error_subcode"] = json!(subcode);
    }
    json!({ "error": error })
}

#[tokio::test]
async fn meta_answers_success_true_so_the_token_is_revoked() {
    let server =
        answering(ResponseTemplate::new(200).set_body_json(json!({"success": true}))).await;
    assert_eq!(revoke(&server, Meta).await, Ok(Outcome::Revoked));
}

#[tokio::test]
async fn meta_without_the_app_secret_revokes_without_appsecret_proof() {
    let server = MockServer::start().await;
    revoke_call(vec![("access_token", TOKEN.to_owned())])
        .respond_with(ResponseTemplate::new(200).set_body_string("true"))
        .expect(1)
        .mount(&server)
        .await;
    let revoker = revoker_with(
        &server,
        platform_revoke::Credentials::default(),
        Duration::from_secs(5),
    );
    let outcome = revoker.revoke(Meta, &token(), TokenType::AccessToken).await;
    assert_eq!(outcome, Ok(Outcome::Revoked));
}

#[tokio::test]
async fn meta_answers_oauth_exception_190_so_the_token_is_already_revoked() {
    for subcode in [None, Some(458), Some(460), Some(463), Some(467)] {
        let server =
            answering(ResponseTemplate::new(400).set_body_json(graph_error(190, subcode))).await;
        assert_eq!(
            revoke(&server, Meta).await,
            Ok(Outcome::AlreadyRevoked),
            "subcode {subcode:?}"
        );
    }
}

#[tokio::test]
async fn meta_answers_190_for_a_checkpointed_user_so_the_revocation_is_permanent() {
    let server =
        answering(ResponseTemplate::new(400).set_body_json(graph_error(190, Some(459)))).await;
    let error = permanent(revoke(&server, Meta).await, Meta);
    assert_eq!(
        error.reason(),
        "http 400 (OAuthException code 190 subcode 459)"
    );
}

#[tokio::test]
async fn meta_answers_500_so_the_revocation_is_transient() {
    let server = answering(ResponseTemplate::new(500).set_body_string("oops")).await;
    let error = transient(revoke(&server, Meta).await, Meta);
    assert_eq!(error.reason(), "http 500");
}

#[tokio::test]
async fn meta_answers_429_so_the_revocation_is_transient() {
    let server = answering(ResponseTemplate::new(429)).await;
    let error = transient(revoke(&server, Meta).await, Meta);
    assert_eq!(error.reason(), "http 429");
}

#[tokio::test]
async fn meta_answers_400_with_a_throttling_code_so_the_revocation_is_transient() {
    let server = answering(ResponseTemplate::new(400).set_body_json(graph_error(17, None))).await;
    let error = transient(revoke(&server, Meta).await, Meta);
    assert_eq!(error.reason(), "http 400 (OAuthException code 17)");
}

#[tokio::test]
async fn meta_answers_an_error_marked_is_transient_so_the_revocation_is_transient() {
    let mut body = graph_error(9999, None);
    body["error"]["is_transient"] = json!(true);
    let server = answering(ResponseTemplate::new(400).set_body_json(body)).await;
    transient(revoke(&server, Meta).await, Meta);
}

#[tokio::test]
async fn meta_answers_invalid_appsecret_proof_so_bad_client_credentials_are_permanent() {
    let server = answering(ResponseTemplate::new(400).set_body_json(json!({
        "error": {
            "message": "Invalid appsecret_proof provided in the API argument",
            "type": "GraphMethodException",
            "code": 100,
            "fbtrace_id": "x"
        }
    })))
    .await;
    let error = permanent(revoke(&server, Meta).await, Meta);
    assert_eq!(error.reason(), "http 400 (GraphMethodException code 100)");
}

#[tokio::test]
async fn meta_answers_403_permission_error_so_the_revocation_is_permanent() {
    let server = answering(ResponseTemplate::new(403).set_body_json(graph_error(200, None))).await;
    let error = permanent(revoke(&server, Meta).await, Meta);
    assert_eq!(error.reason(), "http 403 (OAuthException code 200)");
}

#[tokio::test]
async fn meta_answers_success_false_so_the_revocation_is_transient() {
    let server =
        answering(ResponseTemplate::new(200).set_body_json(json!({"success": false}))).await;
    let error = transient(revoke(&server, Meta).await, Meta);
    assert_eq!(error.reason(), "http 200 with success false");
}

#[tokio::test]
async fn meta_refuses_a_refresh_token_permanently_without_a_request() {
    let server = expecting_no_request().await;
    let error = permanent(
        revoker(&server)
            .revoke(Meta, &token(), TokenType::RefreshToken)
            .await,
        Meta,
    );
    assert!(error.reason().contains("no refresh tokens"), "{error}");
}

#[tokio::test]
async fn meta_not_answering_within_the_timeout_is_transient() {
    let server = answering(ResponseTemplate::new(200).set_delay(SLOW)).await;
    let error = transient(revoke_within_timeout(&server, Meta).await, Meta);
    assert_eq!(error.reason(), "no answer within 300 ms");
}
