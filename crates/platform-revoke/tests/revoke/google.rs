use std::time::Duration;

use platform_revoke::{Credentials, NoJournal, Outcome, Platform::Google, TokenItem, TokenType};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::{
    FormIs, NoAuthorization, REQUEST_TIMEOUT, TOKEN, answering_once, deadline, permanent, revoke,
    revoke_in_one_attempt, revoke_with, revoker_with, token, transient,
};

/// The documented request: `POST /revoke`, form `token` alone, no query, no client
/// credentials.
fn revoke_call() -> wiremock::MockBuilder {
    Mock::given(method("POST"))
        .and(path("/revoke"))
        .and(FormIs(&[("token", TOKEN)]))
        .and(NoAuthorization)
}

#[tokio::test]
async fn google_answers_200_so_the_token_is_revoked() {
    for answer in [
        ResponseTemplate::new(200),
        ResponseTemplate::new(200).set_body_string("{}"),
    ] {
        let server = answering_once(revoke_call(), answer).await;
        assert_eq!(revoke(&server, Google).await, Ok(Outcome::Revoked));
    }
}

#[tokio::test]
async fn google_revokes_either_token_type_with_the_same_call_and_no_client_credentials() {
    for token_type in [TokenType::AccessToken, TokenType::RefreshToken] {
        let server = answering_once(revoke_call(), ResponseTemplate::new(200)).await;
        let revoker = revoker_with(&server, Credentials::default(), REQUEST_TIMEOUT);
        let outcome = revoke_with(
            &revoker,
            Google,
            &token(),
            token_type,
            &TokenItem::default(),
            deadline(),
            &NoJournal,
        )
        .await;
        assert_eq!(outcome, Ok(Outcome::Revoked), "{token_type}");
    }
}

/// A 400 fails whatever its code: `invalid_token` is not documented as "already revoked".
#[tokio::test]
async fn google_answers_400_so_the_revocation_fails_and_invalid_token_is_not_read_as_already_revoked()
 {
    let cases = [
        (
            json!({"error": "invalid_token", "error_description": "Token expired or revoked"}),
            "http 400 (invalid_token)",
        ),
        (
            json!({"error": "invalid_request", "error_description": "Bad Request"}),
            "http 400 (invalid_request)",
        ),
        (json!({"unexpected": true}), "http 400"),
    ];
    for (body, reason) in cases {
        let server = answering_once(
            revoke_call(),
            ResponseTemplate::new(400).set_body_json(body),
        )
        .await;
        let error = permanent(revoke(&server, Google).await, Google);
        assert_eq!(error.reason(), reason);
    }
}

#[tokio::test]
async fn google_answers_another_2xx_so_the_revocation_fails() {
    for status in [201, 202, 204] {
        let server = answering_once(revoke_call(), ResponseTemplate::new(status)).await;
        let error = permanent(revoke(&server, Google).await, Google);
        assert_eq!(
            error.reason(),
            format!("http {status}: an answer the documentation does not describe")
        );
    }
}

#[tokio::test]
async fn google_answers_another_4xx_so_the_revocation_fails() {
    for (status, body, reason) in [
        (
            401,
            json!({"error": "invalid_client"}),
            "http 401 (invalid_client)",
        ),
        (403, json!({}), "http 403"),
        (404, json!({}), "http 404"),
    ] {
        let server = answering_once(
            revoke_call(),
            ResponseTemplate::new(status).set_body_json(body),
        )
        .await;
        let error = permanent(revoke(&server, Google).await, Google);
        assert_eq!(error.reason(), reason);
    }
}

#[tokio::test]
async fn google_answers_503_429_or_408_so_the_revocation_is_transient() {
    let cases = [
        (
            ResponseTemplate::new(503).set_body_string("<html>unavailable</html>"),
            "http 503",
            None,
        ),
        (
            ResponseTemplate::new(503).insert_header("retry-after", "30"),
            "http 503",
            Some(Duration::from_secs(30)),
        ),
        (
            ResponseTemplate::new(429)
                .set_body_json(json!({"error": "rate_limit_exceeded"}))
                .insert_header("retry-after", "7"),
            "http 429 (rate_limit_exceeded)",
            Some(Duration::from_secs(7)),
        ),
        (ResponseTemplate::new(500), "http 500", None),
        (ResponseTemplate::new(408), "http 408", None),
    ];
    for (answer, reason, retry_after) in cases {
        let server = answering_once(revoke_call(), answer).await;
        let error = transient(revoke_in_one_attempt(&server, Google).await, Google);
        assert_eq!(error.reason(), reason);
        assert_eq!(error.retry_after(), retry_after, "{reason}");
    }
}
