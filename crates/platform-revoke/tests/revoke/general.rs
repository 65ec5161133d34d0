//! What holds for every platform.

use std::time::Duration;

use platform_revoke::{
    ClientCredentials, Credentials, Endpoints, Outcome, Platform, Revoker, Token, TokenType,
};
use serde_json::json;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{
    CLIENT_ID, CLIENT_SECRET, credentials, expecting_no_request, permanent, revoker, token,
    transient,
};

/// Every platform, refused with a 400 whose body echoes the token and the client secret in
/// every field, answers an error that shows neither.
#[tokio::test]
async fn an_answer_that_echoes_the_token_and_the_secret_never_reaches_the_error() {
    // A code-shaped token and secret survive code sanitising: the scrub must catch them.
    let code_shaped_token = "tokSECRETcode";
    let code_shaped_secret = "clientSECRETcode";
    for (token_value, secret) in [
        (crate::TOKEN, CLIENT_SECRET),
        (code_shaped_token, code_shaped_secret),
    ] {
        let echo = json!({
            "error": token_value,
            "error_description": format!("token {token_value} secret {secret}"),
            "code": secret,
            "message": token_value,
        });
        let meta_echo = json!({"error": {"type": token_value, "code": 100, "message": secret}});
        for platform in Platform::ALL {
            let server = MockServer::start().await;
            let body = if platform == Platform::Meta {
                &meta_echo
            } else {
                &echo
            };
            Mock::given(any())
                .respond_with(ResponseTemplate::new(400).set_body_json(body))
                .expect(1)
                .mount(&server)
                .await;
            let credentials = Platform::ALL
                .iter()
                .fold(Credentials::default(), |all, &p| {
                    all.with(p, ClientCredentials::new(CLIENT_ID, secret))
                });
            let revoker = crate::revoker_with(&server, credentials, Duration::from_secs(5));
            let result = revoker
                .revoke(platform, &Token::new(token_value), TokenType::AccessToken)
                .await;
            let error = permanent(result, platform);
            for shown in [error.to_string(), format!("{error:?}")] {
                assert!(!shown.contains(token_value), "{platform}: {shown}");
                assert!(!shown.contains(secret), "{platform}: {shown}");
            }
        }
    }
}

#[tokio::test]
async fn an_empty_token_fails_permanently_without_a_request() {
    let server = expecting_no_request().await;
    for platform in Platform::ALL {
        let error = permanent(
            revoker(&server)
                .revoke(platform, &Token::new(""), TokenType::AccessToken)
                .await,
            platform,
        );
        assert_eq!(error.reason(), "the token is empty");
    }
}

#[tokio::test]
async fn an_endpoint_override_that_is_not_a_url_fails_permanently_naming_its_variable() {
    for platform in Platform::ALL {
        let endpoints = Endpoints::defaults().with_base(platform, "not a url");
        let revoker = Revoker::new(endpoints, credentials(), Duration::from_secs(5));
        let error = permanent(
            revoker
                .revoke(platform, &token(), TokenType::AccessToken)
                .await,
            platform,
        );
        assert!(
            error.reason().contains(Endpoints::variable(platform)),
            "{platform}: {error}"
        );
    }
}

#[tokio::test]
async fn a_refused_connection_is_transient() {
    // A port that was free a moment ago and is closed now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    for platform in Platform::ALL {
        let endpoints =
            Endpoints::defaults().with_base(platform, format!("http://127.0.0.1:{port}"));
        let revoker = Revoker::new(endpoints, credentials(), Duration::from_secs(5));
        let error = transient(
            revoker
                .revoke(platform, &token(), TokenType::AccessToken)
                .await,
            platform,
        );
        assert_eq!(error.reason(), "could not connect", "{platform}");
    }
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_fails_permanently() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(307).insert_header("location", "http://127.0.0.1:9/elsewhere"),
        )
        .expect(5)
        .mount(&server)
        .await;
    for platform in Platform::ALL {
        let error = permanent(
            revoker(&server)
                .revoke(platform, &token(), TokenType::AccessToken)
                .await,
            platform,
        );
        assert_eq!(error.reason(), "http 307", "{platform}");
    }
}

#[tokio::test]
async fn one_revoker_serves_many_revocations_across_platforms() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .expect(10)
        .mount(&server)
        .await;
    let revoker = revoker(&server);
    for _ in 0..2 {
        for platform in Platform::ALL {
            let outcome = revoker
                .revoke(platform, &token(), TokenType::AccessToken)
                .await;
            assert_eq!(outcome, Ok(Outcome::Revoked), "{platform}");
        }
    }
}

#[test]
fn a_revoker_with_the_real_endpoints_builds_and_its_debug_shows_no_secret() {
    let revoker = Revoker::new(Endpoints::defaults(), credentials(), Duration::from_secs(5));
    let debug = format!("{revoker:?}");
    assert!(!debug.contains("SECRET"), "{debug}");
    assert!(debug.contains("https://oauth2.googleapis.com"), "{debug}");
}
