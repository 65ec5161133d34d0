use std::time::Duration;

use platform_revoke::{Outcome, Platform::LinkedIn, TokenType};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{
    CLIENT_ID, CLIENT_SECRET, FormIs, NoAuthorization, TOKEN, answering_once, permanent, revoke,
    revoke_as, revoke_in_one_attempt, transient,
};

/// The call made (undocumented): `POST /oauth/v2/revoke`, form `client_id`, `client_secret`,
/// `token`, no query, no Authorization header.
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

/// No page documents the call, so its success is never claimed as a revocation.
#[tokio::test]
async fn linkedin_answers_2xx_so_the_revocation_is_unconfirmed() {
    for answer in [
        ResponseTemplate::new(200),
        ResponseTemplate::new(200).set_body_json(json!({})),
        ResponseTemplate::new(204),
    ] {
        let server = answering(answer).await;
        assert_eq!(revoke(&server, LinkedIn).await, Ok(Outcome::Unconfirmed));
    }
}

#[tokio::test]
async fn linkedin_sends_a_refresh_token_with_the_same_form_and_it_is_unconfirmed() {
    let server = answering(ResponseTemplate::new(200)).await;
    let outcome = revoke_as(&server, LinkedIn, TokenType::RefreshToken).await;
    assert_eq!(outcome, Ok(Outcome::Unconfirmed));
}

/// No answer is documented: an invalid or revoked token is not read as "already revoked".
#[tokio::test]
async fn linkedin_answers_4xx_so_the_revocation_fails() {
    let cases = [
        (
            ResponseTemplate::new(400).set_body_json(
                json!({"error": "invalid_token", "error_description": "The token is expired"}),
            ),
            "http 400 (invalid_token)",
        ),
        (
            ResponseTemplate::new(401).set_body_json(json!({
                "status": 401,
                "serviceErrorCode": 65601,
                "code": "REVOKED_ACCESS_TOKEN",
                "message": "The token used in the request has been revoked by the user"
            })),
            "http 401",
        ),
        (
            ResponseTemplate::new(401).set_body_json(json!({
                "error": "invalid_client",
                "error_description": "Client authentication failed"
            })),
            "http 401 (invalid_client)",
        ),
        (
            ResponseTemplate::new(400).set_body_json(json!({
                "error": "invalid_request",
                "error_description": "A required parameter \"token\" is missing"
            })),
            "http 400 (invalid_request)",
        ),
        (ResponseTemplate::new(404), "http 404"),
    ];
    for (answer, reason) in cases {
        let server = answering(answer).await;
        let error = permanent(revoke(&server, LinkedIn).await, LinkedIn);
        assert_eq!(error.reason(), reason);
    }
}

#[tokio::test]
async fn linkedin_answers_429_or_5xx_so_the_revocation_is_transient() {
    let cases = [
        (ResponseTemplate::new(502), "http 502", None),
        (
            ResponseTemplate::new(429)
                .set_body_json(json!({
                    "status": 429, "code": "TOO_MANY_REQUESTS", "message": "Resource level throttle limit"
                }))
                .insert_header("retry-after", "12"),
            "http 429",
            Some(Duration::from_secs(12)),
        ),
        (
            ResponseTemplate::new(503).set_body_json(json!({"error": "temporarily_unavailable"})),
            "http 503 (temporarily_unavailable)",
            None,
        ),
    ];
    for (answer, reason, retry_after) in cases {
        let server = answering(answer).await;
        let error = transient(revoke_in_one_attempt(&server, LinkedIn).await, LinkedIn);
        assert_eq!(error.reason(), reason);
        assert_eq!(error.retry_after(), retry_after);
    }
}
