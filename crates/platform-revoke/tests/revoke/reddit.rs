use std::time::Duration;

use platform_revoke::{Credentials, NoJournal, Outcome, Platform::Reddit, TokenItem, TokenType};
use serde_json::json;
use wiremock::matchers::{basic_auth, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{
    CLIENT_ID, CLIENT_SECRET, FormIs, REQUEST_TIMEOUT, TOKEN, UserAgentIs, answering_once,
    deadline, permanent, revoke, revoke_as, revoke_in_one_attempt, revoke_with, revoker_with,
    token, transient,
};

/// The User-Agent Reddit's API rules ask for, `<platform>:<app ID>:<version string> (by
/// /u/<reddit username>)`, as sent without the optional parts: the app ID is the client id,
/// and no username is invented.
fn default_user_agent() -> String {
    format!(
        "{}:{CLIENT_ID}:v{}",
        std::env::consts::OS,
        env!("CARGO_PKG_VERSION")
    )
}

/// The documented request: `POST /api/v1/revoke_token`, HTTP Basic with the client id and
/// secret, form `token` and `token_type_hint` ("in your POST data (not in the URL)"), and the
/// User-Agent of Reddit's API rules.
fn revoke_call_with(token_type: TokenType, user_agent: &str) -> wiremock::MockBuilder {
    let form: &'static [(&str, &str)] = match token_type {
        TokenType::AccessToken => &[("token", TOKEN), ("token_type_hint", "access_token")],
        TokenType::RefreshToken => &[("token", TOKEN), ("token_type_hint", "refresh_token")],
    };
    Mock::given(method("POST"))
        .and(path("/api/v1/revoke_token"))
        .and(basic_auth(CLIENT_ID, CLIENT_SECRET))
        .and(UserAgentIs(user_agent.to_owned()))
        .and(FormIs(form))
}

fn revoke_call(token_type: TokenType) -> wiremock::MockBuilder {
    revoke_call_with(token_type, &default_user_agent())
}

async fn answering(template: ResponseTemplate) -> MockServer {
    answering_once(revoke_call(TokenType::AccessToken), template).await
}

/// The wiki and Reddit's source give 204 as the call's success.
#[tokio::test]
async fn reddit_answers_204_so_the_token_is_revoked_for_either_token_type() {
    for token_type in [TokenType::AccessToken, TokenType::RefreshToken] {
        let server = answering_once(revoke_call(token_type), ResponseTemplate::new(204)).await;
        assert_eq!(
            revoke_as(&server, Reddit, token_type).await,
            Ok(Outcome::Revoked),
            "{token_type}"
        );
    }
}

/// 200 is RFC 7009's success, the rule the wiki says the call follows, but Reddit gives 204:
/// probably revoked, never claimed.
#[tokio::test]
async fn reddit_answers_200_so_the_revocation_is_unconfirmed() {
    let server = answering(ResponseTemplate::new(200)).await;
    assert_eq!(revoke(&server, Reddit).await, Ok(Outcome::Unconfirmed));
}

#[tokio::test]
async fn reddit_answers_another_2xx_so_the_revocation_fails() {
    for status in [201, 202] {
        let server = answering(ResponseTemplate::new(status)).await;
        let error = permanent(revoke(&server, Reddit).await, Reddit);
        assert_eq!(
            error.reason(),
            format!("http {status}: an answer the documentation does not describe")
        );
    }
}

/// The app ID and the username to contact come from Reddit's entry in the credentials secret.
#[tokio::test]
async fn reddit_sends_the_user_agent_of_its_api_rules_with_the_parts_from_the_secret() {
    let user_agent = format!(
        "{}:com.example.revoker:v{} (by /u/example_dev)",
        std::env::consts::OS,
        env!("CARGO_PKG_VERSION")
    );
    let server = answering_once(
        revoke_call_with(TokenType::AccessToken, &user_agent),
        ResponseTemplate::new(204),
    )
    .await;
    let credentials = Credentials::from_json(&format!(
        r#"{{"reddit": {{"clientId": "{CLIENT_ID}", "clientSecret": "{CLIENT_SECRET}",
              "userAgentAppId": "com.example.revoker", "userAgentUsername": "example_dev"}}}}"#
    ))
    .unwrap();
    let outcome = revoke_with(
        &revoker_with(&server, credentials, REQUEST_TIMEOUT),
        Reddit,
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
