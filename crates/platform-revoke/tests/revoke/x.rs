use std::time::{Duration, Instant, SystemTime};

use platform_revoke::{Credentials, NoJournal, Outcome, Platform::X, TokenItem, TokenType};
use serde_json::json;
use wiremock::matchers::{basic_auth, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{
    CLIENT_ID, CLIENT_SECRET, FormIs, NoAuthorization, REQUEST_TIMEOUT, TOKEN, calls, deadline,
    permanent, revoke, revoke_as, revoke_in_one_attempt, revoke_with, revoker_with, token,
    transient,
};

/// The documented request of a confidential client: `POST /2/oauth2/revoke`, HTTP Basic with
/// the client id and secret, form `token` and `token_type_hint`, no query.
fn revoke_call(token_type: TokenType) -> wiremock::MockBuilder {
    let form: &'static [(&str, &str)] = match token_type {
        TokenType::AccessToken => &[("token", TOKEN), ("token_type_hint", "access_token")],
        TokenType::RefreshToken => &[("token", TOKEN), ("token_type_hint", "refresh_token")],
    };
    Mock::given(method("POST"))
        .and(path("/2/oauth2/revoke"))
        .and(basic_auth(CLIENT_ID, CLIENT_SECRET))
        .and(FormIs(form))
}

async fn answering(template: ResponseTemplate) -> MockServer {
    crate::answering_once(revoke_call(TokenType::AccessToken), template).await
}

fn epoch_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn x_answers_revoked_true_so_the_token_is_revoked_for_either_token_type() {
    for token_type in [TokenType::AccessToken, TokenType::RefreshToken] {
        let server = crate::answering_once(
            revoke_call(token_type),
            ResponseTemplate::new(200).set_body_json(json!({"revoked": true})),
        )
        .await;
        assert_eq!(
            revoke_as(&server, X, token_type).await,
            Ok(Outcome::Revoked),
            "{token_type}"
        );
    }
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
    let revoker = revoker_with(&server, credentials, REQUEST_TIMEOUT);
    let outcome = revoke_with(
        &revoker,
        X,
        &token(),
        TokenType::AccessToken,
        &TokenItem::default(),
        deadline(),
        &NoJournal,
    )
    .await;
    assert_eq!(outcome, Ok(Outcome::Revoked));
}

#[tokio::test]
async fn x_answers_revoked_false_so_the_revocation_fails() {
    let server =
        answering(ResponseTemplate::new(200).set_body_json(json!({"revoked": false}))).await;
    let error = permanent(revoke(&server, X).await, X);
    assert_eq!(error.reason(), "http 200: revoked false");
}

#[tokio::test]
async fn x_answers_another_2xx_body_so_the_revocation_fails() {
    for (status, answer) in [
        (200, ResponseTemplate::new(200)),
        (200, ResponseTemplate::new(200).set_body_json(json!({}))),
        (
            200,
            ResponseTemplate::new(200).set_body_json(json!({"revoked": "true"})),
        ),
        (
            200,
            ResponseTemplate::new(200).set_body_json(json!({"data": {"revoked": true}})),
        ),
        (200, ResponseTemplate::new(200).set_body_string("OK")),
        (204, ResponseTemplate::new(204)),
    ] {
        let server = answering(answer).await;
        let error = permanent(revoke(&server, X).await, X);
        assert_eq!(
            error.reason(),
            format!("http {status}: an answer the documentation does not describe")
        );
    }
}

/// X's 400 for an unknown token is not documented: it is not "already revoked".
#[tokio::test]
async fn x_answers_4xx_so_the_revocation_fails() {
    for (answer, reason) in [
        (
            ResponseTemplate::new(400).set_body_json(json!({
                "error": "invalid_request",
                "error_description": "Value passed for the token was invalid."
            })),
            "http 400 (invalid_request)",
        ),
        (
            ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_token"})),
            "http 400 (invalid_token)",
        ),
        (
            ResponseTemplate::new(401).set_body_json(json!({
                "error": "unauthorized_client",
                "error_description": "Missing valid authorization header"
            })),
            "http 401 (unauthorized_client)",
        ),
    ] {
        let server = answering(answer).await;
        let error = permanent(revoke(&server, X).await, X);
        assert_eq!(error.reason(), reason);
    }
}

#[tokio::test]
async fn x_answers_429_so_the_revocation_is_transient_until_its_rate_limit_reset() {
    let server = answering(
        ResponseTemplate::new(429)
            .set_body_json(json!({
                "title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429
            }))
            .insert_header("x-rate-limit-limit", "50")
            .insert_header("x-rate-limit-remaining", "0")
            .insert_header("x-rate-limit-reset", (epoch_now() + 5).to_string()),
    )
    .await;
    let error = transient(revoke_in_one_attempt(&server, X).await, X);
    assert_eq!(error.reason(), "http 429");
    let wait = error.retry_after().expect("the reset time as a wait");
    assert!(
        wait > Duration::from_secs(3) && wait <= Duration::from_secs(5),
        "{wait:?}"
    );
}

#[tokio::test]
async fn x_waits_until_its_rate_limit_reset_and_revokes_on_the_second_call() {
    let server = MockServer::start().await;
    let reset = epoch_now() + 1;
    revoke_call(TokenType::AccessToken)
        .respond_with(
            ResponseTemplate::new(429).insert_header("x-rate-limit-reset", reset.to_string()),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    revoke_call(TokenType::AccessToken)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"revoked": true})))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(revoke(&server, X).await, Ok(Outcome::Revoked));
    // Not before the reset second began.
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap();
    assert!(now >= Duration::from_secs(reset), "{now:?} < {reset}");
    assert_eq!(calls(&server).await, 2);
}

#[tokio::test]
async fn x_answers_5xx_so_the_revocation_is_transient() {
    for (status, retry_after) in [(503, None), (500, None)] {
        let server = answering(ResponseTemplate::new(status)).await;
        let started = Instant::now();
        let error = transient(revoke_in_one_attempt(&server, X).await, X);
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(error.reason(), format!("http {status}"));
        assert_eq!(error.retry_after(), retry_after);
    }
}
