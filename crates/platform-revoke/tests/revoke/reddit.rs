use std::time::Duration;

use platform_revoke::{Outcome, Platform::Reddit, TokenType};
use serde_json::json;
use wiremock::matchers::{basic_auth, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{
    CLIENT_ID, CLIENT_SECRET, FormIs, TOKEN, answering_once, permanent, revoke, revoke_as,
    revoke_in_one_attempt, transient,
};

/// The documented request: `POST /api/v1/revoke_token`, HTTP Basic with the client id and
/// secret, form `token` and `token_type_hint` ("in your POST data (not in the URL)").
fn revoke_call(token_type: TokenType) -> wiremock::MockBuilder {
    let form: &'static [(&str, &str)] = match token_type {
        TokenType::AccessToken => &[("token", TOKEN), ("token_type_hint", "access_token")],
        TokenType::RefreshToken => &[("token", TOKEN), ("token_type_hint", "refresh_token")],
    };
    Mock::given(method("POST"))
        .and(path("/api/v1/revoke_token"))
        .and(basic_auth(CLIENT_ID, CLIENT_SECRET))
        .and(FormIs(form))
}

async fn answering(template: ResponseTemplate) -> MockServer {
    answering_once(revoke_call(TokenType::AccessToken), template).await
}

#[tokio::test]
async fn reddit_answers_204_or_200_so_the_token_is_revoked_for_either_token_type() {
    for token_type in [TokenType::AccessToken, TokenType::RefreshToken] {
        for status in [204, 200] {
            let server =
                answering_once(revoke_call(token_type), ResponseTemplate::new(status)).await;
            assert_eq!(
                revoke_as(&server, Reddit, token_type).await,
                Ok(Outcome::Revoked),
                "{token_type} {status}"
            );
        }
    }
}

#[tokio::test]
async fn reddit_answers_401_or_400_so_the_revocation_fails() {
    for (answer, reason) in [
        (
            ResponseTemplate::new(401)
                .set_body_json(json!({"message": "Unauthorized", "error": 401})),
            "http 401",
        ),
        (
            ResponseTemplate::new(400).set_body_json(json!({"error": "unauthorized_client"})),
            "http 400 (unauthorized_client)",
        ),
        (
            ResponseTemplate::new(400).set_body_json(json!({"error": "unsupported_token_type"})),
            "http 400 (unsupported_token_type)",
        ),
    ] {
        let server = answering(answer).await;
        let error = permanent(revoke(&server, Reddit).await, Reddit);
        assert_eq!(error.reason(), reason);
    }
}

#[tokio::test]
async fn reddit_answers_429_or_5xx_so_the_revocation_is_transient_after_the_wait_it_asks_for() {
    for (answer, reason, retry_after) in [
        (
            ResponseTemplate::new(429).insert_header("retry-after", "9"),
            "http 429",
            Some(Duration::from_secs(9)),
        ),
        (
            ResponseTemplate::new(429)
                .insert_header("x-ratelimit-used", "100")
                .insert_header("x-ratelimit-remaining", "0.0")
                .insert_header("x-ratelimit-reset", "42"),
            "http 429",
            Some(Duration::from_secs(42)),
        ),
        (ResponseTemplate::new(503), "http 503", None),
    ] {
        let server = answering(answer).await;
        let error = transient(revoke_in_one_attempt(&server, Reddit).await, Reddit);
        assert_eq!(error.reason(), reason);
        assert_eq!(error.retry_after(), retry_after);
    }
}
