use std::time::Duration;

use platform_revoke::{
    ClientCredentials, NoJournal, Outcome, Platform::Mastodon, Revoker, Token, TokenItem, TokenType,
};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{
    CLIENT_ID, CLIENT_SECRET, FormIs, MASTODON_HOST, NoAuthorization, REQUEST_TIMEOUT, TOKEN,
    answering_once, credentials, deadline, endpoints, expecting_no_request, mastodon_server,
    permanent, revoke, revoke_as, revoke_in_one_attempt, revoke_with, revoker, revoker_with,
    transient,
};

/// The documented request, on the account's own server: `POST /oauth/revoke`, form
/// `client_id`, `client_secret`, `token`, no query, no Authorization header.
fn revoke_call() -> wiremock::MockBuilder {
    Mock::given(method("POST"))
        .and(path("/oauth/revoke"))
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

/// Revokes [`TOKEN`] at the Mastodon server `server` (the token item's `server`) through
/// `revoker`.
async fn revoke_at(
    revoker: &Revoker,
    server: &str,
    token_type: TokenType,
) -> Result<Outcome, platform_revoke::RevokeError> {
    let item = TokenItem {
        server: Some(server.to_owned()),
        ..TokenItem::default()
    };
    revoke_with(
        revoker,
        Mastodon,
        &Token::new(TOKEN),
        token_type,
        &item,
        deadline(),
        &NoJournal,
    )
    .await
}

#[tokio::test]
async fn mastodon_answers_200_so_the_token_is_revoked() {
    for answer in [
        ResponseTemplate::new(200).set_body_json(json!({})),
        ResponseTemplate::new(200),
    ] {
        let server = answering(answer).await;
        assert_eq!(revoke(&server, Mastodon).await, Ok(Outcome::Revoked));
    }
}

#[tokio::test]
async fn mastodon_server_credentials_are_found_whatever_the_case_of_its_host() {
    let server = answering(ResponseTemplate::new(200)).await;
    let credentials = platform_revoke::Credentials::default().with_mastodon_server(
        "LocalHost",
        ClientCredentials::new(CLIENT_ID, CLIENT_SECRET),
    );
    let revoker = revoker_with(&server, credentials, REQUEST_TIMEOUT);
    let address = format!("http://LOCALHOST:{}", server.address().port());
    assert_eq!(
        revoke_at(&revoker, &address, TokenType::AccessToken).await,
        Ok(Outcome::Revoked)
    );
}

#[tokio::test]
async fn mastodon_answers_403_unauthorized_client_so_the_revocation_fails() {
    let cases = [
        (
            ResponseTemplate::new(403).set_body_json(json!({
                "error": "unauthorized_client",
                "error_description": "You are not authorized to revoke this token"
            })),
            "http 403 (unauthorized_client)",
        ),
        (
            ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_client"})),
            "http 401 (invalid_client)",
        ),
        (ResponseTemplate::new(404), "http 404"),
    ];
    for (answer, reason) in cases {
        let server = answering(answer).await;
        let error = permanent(revoke(&server, Mastodon).await, Mastodon);
        assert_eq!(error.reason(), reason);
    }
}

#[tokio::test]
async fn mastodon_answers_another_2xx_or_200_with_another_body_so_the_revocation_fails() {
    for (answer, status) in [
        (ResponseTemplate::new(204), 204),
        (
            ResponseTemplate::new(200).set_body_json(json!({"revoked": true})),
            200,
        ),
        (ResponseTemplate::new(200).set_body_string("<html>"), 200),
    ] {
        let server = answering(answer).await;
        let error = permanent(revoke(&server, Mastodon).await, Mastodon);
        assert_eq!(
            error.reason(),
            format!("http {status}: an answer the documentation does not describe")
        );
    }
}

#[tokio::test]
async fn mastodon_answers_429_or_5xx_so_the_revocation_is_transient() {
    for (answer, reason, retry_after) in [
        (
            ResponseTemplate::new(429)
                .set_body_json(json!({"error": "Too many requests"}))
                .insert_header("retry-after", "30"),
            "http 429 (unrecognised error code)",
            Some(Duration::from_secs(30)),
        ),
        (ResponseTemplate::new(503), "http 503", None),
    ] {
        let server = answering(answer).await;
        let error = transient(revoke_in_one_attempt(&server, Mastodon).await, Mastodon);
        assert_eq!(error.reason(), reason);
        assert_eq!(error.retry_after(), retry_after);
    }
}

#[tokio::test]
async fn mastodon_server_without_credentials_fails_permanently_without_a_request() {
    let server = expecting_no_request().await;
    // Every platform's credentials, and another server's.
    let credentials = platform_revoke::Platform::ALL
        .iter()
        .fold(platform_revoke::Credentials::default(), |all, &platform| {
            all.with(platform, ClientCredentials::new(CLIENT_ID, CLIENT_SECRET))
        })
        .with_mastodon_server(
            "mastodon.social",
            ClientCredentials::new(CLIENT_ID, CLIENT_SECRET),
        );
    let revoker = revoker_with(&server, credentials, REQUEST_TIMEOUT);
    let error = permanent(
        revoke_at(&revoker, &mastodon_server(&server), TokenType::AccessToken).await,
        Mastodon,
    );
    assert_eq!(
        error.reason(),
        format!(
            "no mastodon client credentials for the server {MASTODON_HOST} in the credentials secret"
        )
    );
}

#[tokio::test]
async fn mastodon_refuses_a_refresh_token_permanently_without_a_request() {
    let server = expecting_no_request().await;
    let error = permanent(
        revoke_as(&server, Mastodon, TokenType::RefreshToken).await,
        Mastodon,
    );
    assert!(error.reason().contains("no refresh tokens"), "{error}");
}

#[tokio::test]
async fn mastodon_token_item_without_a_server_fails_permanently_without_a_request() {
    let server = expecting_no_request().await;
    let error = permanent(
        revoke_with(
            &revoker(&server),
            Mastodon,
            &Token::new(TOKEN),
            TokenType::AccessToken,
            &TokenItem::default(),
            deadline(),
            &NoJournal,
        )
        .await,
        Mastodon,
    );
    assert!(error.reason().contains("no server"), "{error}");
}

/// A server that is not a DNS name reached over https is refused before any request, and
/// `localhost` only passes under the local-development switch.
#[tokio::test]
async fn mastodon_server_the_address_guard_refuses_fails_permanently_without_a_request() {
    let server = expecting_no_request().await;
    let port = server.address().port();
    let strict = Revoker::new(endpoints(&server), credentials(), REQUEST_TIMEOUT);
    let local = revoker(&server);
    let cases = [
        // IP literals, even loopback ones under the switch.
        (&local, format!("http://127.0.0.1:{port}"), "not https"),
        (&local, format!("127.0.0.1:{port}"), "an IP address"),
        (&local, format!("https://[::1]:{port}"), "an IP address"),
        (&local, format!("https://127.0.0.1:{port}"), "an IP address"),
        // ... and in clear text, refused for that first.
        (&local, format!("http://[::1]:{port}"), "not https"),
        (&strict, "127.0.0.1".to_owned(), "an IP address"),
        // localhost without the switch: not https, or not a public name.
        (&strict, format!("http://localhost:{port}"), "not https"),
        (
            &strict,
            format!("localhost:{port}"),
            "not a public DNS name",
        ),
        (&strict, "localhost".to_owned(), "not a public DNS name"),
        // Anything but a host, even under the switch.
        (&local, format!("http://localhost:{port}/oauth"), "a path"),
        (
            &local,
            format!("http://user:pw@localhost:{port}"),
            "user information",
        ),
        (
            &local,
            format!("http://localhost:{port}/?next=1"),
            "a path, a query",
        ),
        (&local, format!("ftp://localhost:{port}"), "not https"),
        (&local, "intranet".to_owned(), "not a public DNS name"),
    ];
    for (revoker, address, why) in cases {
        let error = permanent(
            revoke_at(revoker, &address, TokenType::AccessToken).await,
            Mastodon,
        );
        let reason = error.reason();
        assert!(reason.contains("refused"), "{address}: {reason}");
        assert!(reason.contains(why), "{address}: {reason}");
    }
}
