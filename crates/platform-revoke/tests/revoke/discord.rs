use std::time::{Duration, Instant};

use platform_revoke::{Credentials, NoJournal, Outcome, Platform::Discord, TokenItem, TokenType};
use serde_json::json;
use wiremock::matchers::{basic_auth, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{
    CLIENT_ID, CLIENT_SECRET, FormIs, REQUEST_TIMEOUT, TOKEN, UserAgentIs, answering_once, calls,
    deadline, permanent, revoke, revoke_as, revoke_in_one_attempt, revoke_with, revoker_with,
    token, transient,
};

/// The User-Agent Discord's API reference asks for, `DiscordBot ($url, $versionNumber)`, as sent
/// without a URL in the secret: the app's own authorization URL.
fn default_user_agent() -> String {
    format!(
        "DiscordBot (https://discord.com/oauth2/authorize?client_id={CLIENT_ID}, {})",
        env!("CARGO_PKG_VERSION")
    )
}

/// The documented request: `POST /api/oauth2/token/revoke`, HTTP Basic with the client id and
/// secret, form `token` and `token_type_hint`, no query, and the User-Agent of Discord's API
/// reference.
fn revoke_call_with(token_type: TokenType, user_agent: &str) -> wiremock::MockBuilder {
    let form: &'static [(&str, &str)] = match token_type {
        TokenType::AccessToken => &[("token", TOKEN), ("token_type_hint", "access_token")],
        TokenType::RefreshToken => &[("token", TOKEN), ("token_type_hint", "refresh_token")],
    };
    Mock::given(method("POST"))
        .and(path("/api/oauth2/token/revoke"))
        .and(basic_auth(CLIENT_ID, CLIENT_SECRET))
        .and(UserAgentIs(user_agent.to_owned()))
        .and(FormIs(form))
}

fn revoke_call(token_type: TokenType) -> wiremock::MockBuilder {
    revoke_call_with(token_type, &default_user_agent())
}

/// The `$url` comes from Discord's entry in the credentials secret.
#[tokio::test]
async fn discord_sends_the_user_agent_of_its_api_reference_with_the_url_from_the_secret() {
    let user_agent = format!(
        "DiscordBot (https://example.com/revoker, {})",
        env!("CARGO_PKG_VERSION")
    );
    let server = answering_once(
        revoke_call_with(TokenType::AccessToken, &user_agent),
        ResponseTemplate::new(200),
    )
    .await;
    let credentials = Credentials::from_json(&format!(
        r#"{{"discord": {{"clientId": "{CLIENT_ID}", "clientSecret": "{CLIENT_SECRET}",
              "userAgentUrl": "https://example.com/revoker"}}}}"#
    ))
    .unwrap();
    let outcome = revoke_with(
        &revoker_with(&server, credentials, REQUEST_TIMEOUT),
        Discord,
        &token(),
        TokenType::AccessToken,
        &TokenItem::default(),
        deadline(),
        &NoJournal,
    )
    .await;
    assert_eq!(outcome, Ok(Outcome::Revoked));
}

async fn answering(template: ResponseTemplate) -> MockServer {
    answering_once(revoke_call(TokenType::AccessToken), template).await
}

#[tokio::test]
async fn discord_answers_200_so_the_token_is_revoked_for_either_token_type() {
    for token_type in [TokenType::AccessToken, TokenType::RefreshToken] {
        let server = answering_once(
            revoke_call(token_type),
            ResponseTemplate::new(200).set_body_json(json!({})),
        )
        .await;
        assert_eq!(
            revoke_as(&server, Discord, token_type).await,
            Ok(Outcome::Revoked),
            "{token_type}"
        );
    }
}

#[tokio::test]
async fn discord_answers_another_2xx_so_the_revocation_fails() {
    for status in [201, 204] {
        let server = answering(ResponseTemplate::new(status)).await;
        let error = permanent(revoke(&server, Discord).await, Discord);
        assert_eq!(
            error.reason(),
            format!("http {status}: an answer the documentation does not describe")
        );
    }
}

#[tokio::test]
async fn discord_answers_401_or_400_so_the_revocation_fails() {
    for (answer, reason) in [
        (
            ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_client"})),
            "http 401 (invalid_client)",
        ),
        (
            ResponseTemplate::new(401)
                .set_body_json(json!({"message": "401: Unauthorized", "code": 0})),
            "http 401",
        ),
        (
            ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_request"})),
            "http 400 (invalid_request)",
        ),
    ] {
        let server = answering(answer).await;
        let error = permanent(revoke(&server, Discord).await, Discord);
        assert_eq!(error.reason(), reason);
    }
}

#[tokio::test]
async fn discord_answers_429_so_the_revocation_is_transient_after_the_bodys_retry_after() {
    for (answer, retry_after) in [
        (
            ResponseTemplate::new(429).set_body_json(json!({
                "message": "You are being rate limited.",
                "retry_after": 2.5,
                "global": false
            })),
            Duration::from_millis(2500),
        ),
        (
            ResponseTemplate::new(429)
                .set_body_json(
                    json!({"message": "You are being rate limited.", "retry_after": 64.57}),
                )
                .insert_header("retry-after", "65"),
            Duration::from_secs(65),
        ),
    ] {
        let server = answering(answer).await;
        let error = transient(revoke_in_one_attempt(&server, Discord).await, Discord);
        assert_eq!(error.reason(), "http 429");
        assert_eq!(error.retry_after(), Some(retry_after));
    }
}

#[tokio::test]
async fn discord_waits_the_bodys_retry_after_and_revokes_on_the_second_call() {
    let server = MockServer::start().await;
    revoke_call(TokenType::AccessToken)
        .respond_with(ResponseTemplate::new(429).set_body_json(json!({
            "message": "You are being rate limited.",
            "retry_after": 1.2,
            "global": false
        })))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    revoke_call(TokenType::AccessToken)
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let started = Instant::now();
    assert_eq!(revoke(&server, Discord).await, Ok(Outcome::Revoked));
    // The 1.2 s asked for, not the 500 ms back-off of an answer without a wait.
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(1200), "{waited:?}");
    assert_eq!(calls(&server).await, 2);
}

#[tokio::test]
async fn discord_answers_5xx_so_the_revocation_is_transient() {
    let server = answering(ResponseTemplate::new(502)).await;
    let error = transient(revoke_in_one_attempt(&server, Discord).await, Discord);
    assert_eq!(error.reason(), "http 502");
}
