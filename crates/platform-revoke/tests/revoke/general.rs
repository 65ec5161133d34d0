//! What holds for every platform: secrets never reach an error, requests that cannot work are
//! never sent, endpoints are checked, and transient failures are retried within the deadline.

use std::time::{Duration, Instant};

use platform_revoke::{
    ATTEMPTS, ClientCredentials, Credentials, Endpoints, MAX_WAIT, NoJournal, Platform, Revoker,
    Token, TokenItem, TokenType,
};
use serde_json::json;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{
    CLIENT_ID, CLIENT_SECRET, MASTODON_HOST, REQUEST_TIMEOUT, SLOW, TIMEOUT, UserAgentIs,
    any_revoke_call, calls, credentials, credentials_with_secret, deadline, expecting_no_request,
    item, one_attempt_deadline, permanent, revoke, revoke_in_one_attempt, revoke_with, revoker,
    revoker_with, success, token, transient,
};

/// Every platform, refused (400) or failing (503) with a body that echoes the token and the
/// client secret in every field, answers an error that shows neither; TikTok's refresh too.
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
            "retry_after": 0,
        });
        let graph_error = json!({"error": {"type": token_value, "code": 100, "message": secret}});
        let meta_batch = json!([{"code": 400, "body": graph_error.to_string()}]);
        let mut cases = Vec::new();
        for platform in Platform::ALL {
            let bodies = match platform {
                Platform::Meta => vec![graph_error.clone(), meta_batch.clone()],
                _ => vec![echo.clone()],
            };
            for body in bodies {
                for status in [400, 503] {
                    cases.push((platform, TokenType::AccessToken, status, body.clone()));
                }
            }
        }
        cases.push((Platform::TikTok, TokenType::RefreshToken, 400, echo.clone()));
        cases.push((Platform::TikTok, TokenType::RefreshToken, 429, echo.clone()));
        for (platform, token_type, status, body) in cases {
            let server = MockServer::start().await;
            Mock::given(any())
                .respond_with(
                    ResponseTemplate::new(status)
                        .set_body_json(&body)
                        .insert_header("www-authenticate", format!("Bearer {token_value}")),
                )
                .expect(1)
                .mount(&server)
                .await;
            let revoker = revoker_with(&server, credentials_with_secret(secret), REQUEST_TIMEOUT);
            let result = revoke_with(
                &revoker,
                platform,
                &Token::new(token_value),
                token_type,
                &item(platform, &server),
                one_attempt_deadline(),
                &NoJournal,
            )
            .await;
            let error = result.expect_err("an error");
            crate::assert_clean(&error);
            for shown in [error.to_string(), format!("{error:?}")] {
                assert!(!shown.contains(token_value), "{platform} {status}: {shown}");
                assert!(!shown.contains(secret), "{platform} {status}: {shown}");
            }
        }
    }
}

#[tokio::test]
async fn an_empty_token_fails_permanently_without_a_request_at_every_platform() {
    let server = expecting_no_request().await;
    for platform in Platform::ALL {
        for token_type in [TokenType::AccessToken, TokenType::RefreshToken] {
            let result = revoke_with(
                &revoker(&server),
                platform,
                &Token::new(""),
                token_type,
                &item(platform, &server),
                deadline(),
                &NoJournal,
            )
            .await;
            let error = permanent(result, platform);
            assert_eq!(
                error.reason(),
                "the token is empty",
                "{platform} {token_type}"
            );
        }
    }
}

#[tokio::test]
async fn missing_client_credentials_fail_permanently_without_a_request_where_the_call_needs_them() {
    let server = expecting_no_request().await;
    let others = |platform: Platform| {
        Platform::ALL
            .iter()
            .filter(|&&p| p != platform)
            .fold(Credentials::default(), |all, &p| {
                all.with(p, ClientCredentials::new(CLIENT_ID, CLIENT_SECRET))
            })
    };
    let public =
        |platform: Platform| others(platform).with(platform, ClientCredentials::public(CLIENT_ID));
    let cases: Vec<(Platform, TokenType, Credentials, &str)> = vec![
        (
            Platform::TikTok,
            TokenType::AccessToken,
            others(Platform::TikTok),
            "no tiktok client credentials",
        ),
        (
            Platform::TikTok,
            TokenType::RefreshToken,
            others(Platform::TikTok),
            "no tiktok client credentials",
        ),
        (
            Platform::TikTok,
            TokenType::AccessToken,
            public(Platform::TikTok),
            "no tiktok client credentials",
        ),
        (
            Platform::LinkedIn,
            TokenType::AccessToken,
            others(Platform::LinkedIn),
            "no linkedin client credentials",
        ),
        (
            Platform::LinkedIn,
            TokenType::AccessToken,
            public(Platform::LinkedIn),
            "no linkedin client credentials",
        ),
        (
            Platform::X,
            TokenType::AccessToken,
            others(Platform::X),
            "no x client credentials",
        ),
        (
            Platform::X,
            TokenType::RefreshToken,
            others(Platform::X),
            "no x client credentials",
        ),
        (
            Platform::Reddit,
            TokenType::AccessToken,
            others(Platform::Reddit),
            "no reddit client credentials",
        ),
        (
            Platform::Reddit,
            TokenType::AccessToken,
            public(Platform::Reddit),
            "no reddit client credentials",
        ),
        (
            Platform::Discord,
            TokenType::AccessToken,
            others(Platform::Discord),
            "no discord client credentials",
        ),
        (
            Platform::Discord,
            TokenType::AccessToken,
            public(Platform::Discord),
            "no discord client credentials",
        ),
        // Mastodon's come per server: every platform's credentials, none for this server.
        (
            Platform::Mastodon,
            TokenType::AccessToken,
            others(Platform::Mastodon),
            "no mastodon client credentials for the server localhost",
        ),
        (
            Platform::Mastodon,
            TokenType::AccessToken,
            others(Platform::Mastodon).with_mastodon_server(
                "mastodon.social",
                ClientCredentials::new(CLIENT_ID, CLIENT_SECRET),
            ),
            "no mastodon client credentials for the server localhost",
        ),
        (
            Platform::Mastodon,
            TokenType::AccessToken,
            others(Platform::Mastodon)
                .with_mastodon_server(MASTODON_HOST, ClientCredentials::public(CLIENT_ID)),
            "no mastodon client secret for the server localhost",
        ),
    ];
    for (platform, token_type, credentials, reason) in cases {
        let revoker = revoker_with(&server, credentials, REQUEST_TIMEOUT);
        let result = revoke_with(
            &revoker,
            platform,
            &token(),
            token_type,
            &item(platform, &server),
            deadline(),
            &NoJournal,
        )
        .await;
        let error = permanent(result, platform);
        assert!(
            error.reason().contains(reason),
            "{platform} {token_type}: {error}"
        );
    }
}

/// A platform that does not answer within the timeout: transient, at every platform, long
/// before the answer would come.
#[tokio::test]
async fn a_platform_not_answering_within_the_timeout_is_transient() {
    for platform in Platform::ALL {
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(ResponseTemplate::new(200).set_delay(SLOW))
            .expect(1)
            .mount(&server)
            .await;
        let revoker = revoker_with(&server, credentials(), TIMEOUT);
        let started = Instant::now();
        let result = revoke_with(
            &revoker,
            platform,
            &token(),
            TokenType::AccessToken,
            &item(platform, &server),
            one_attempt_deadline(),
            &NoJournal,
        )
        .await;
        assert!(
            started.elapsed() < SLOW / 4,
            "{platform}: {:?}",
            started.elapsed()
        );
        let error = transient(result, platform);
        assert_eq!(error.reason(), "no answer within 300 ms", "{platform}");
        assert_eq!(error.retry_after(), None, "{platform}");
    }
}

/// A revocation is safe to send again: one that got no answer is retried, after a back-off,
/// while [`ATTEMPTS`] and the deadline allow.
#[tokio::test]
async fn a_revocation_that_timed_out_is_sent_again_up_to_attempts_times() {
    let server = MockServer::start().await;
    any_revoke_call(Platform::Google)
        .respond_with(ResponseTemplate::new(200).set_delay(SLOW))
        .expect(u64::from(ATTEMPTS))
        .mount(&server)
        .await;
    let revoker = revoker_with(&server, credentials(), TIMEOUT);
    let started = Instant::now();
    let result = revoke_with(
        &revoker,
        Platform::Google,
        &token(),
        TokenType::AccessToken,
        &TokenItem::default(),
        deadline(),
        &NoJournal,
    )
    .await;
    let error = transient(result, Platform::Google);
    assert_eq!(error.reason(), "no answer within 300 ms");
    // Three timeouts and the back-offs between them (500 ms, then 1 s).
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(2400), "{elapsed:?}");
    assert!(elapsed < SLOW, "{elapsed:?}");
}

#[tokio::test]
async fn an_endpoint_override_in_clear_text_to_another_host_is_refused_naming_its_variable() {
    for platform in Platform::ALL {
        let Some(variable) = Endpoints::variable(platform) else {
            assert_eq!(platform, Platform::Mastodon);
            continue;
        };
        for value in [
            "http://oauth2.googleapis.com",
            "http://10.0.0.5:8080",
            "http://localhost.evil.example",
            "ftp://127.0.0.1",
        ] {
            let error = Endpoints::from_lookup(|name| (name == variable).then(|| value.to_owned()))
                .expect_err(value);
            let shown = error.to_string();
            assert!(shown.starts_with(variable), "{value}: {shown}");
            assert!(shown.contains("must be an https URL"), "{value}: {shown}");
            let error = Endpoints::defaults()
                .with_base(platform, value)
                .expect_err(value);
            assert!(error.to_string().starts_with(variable), "{value}: {error}");
        }
        let error =
            Endpoints::from_lookup(|name| (name == variable).then(|| "not a url".to_owned()))
                .expect_err("not a url");
        assert_eq!(error.to_string(), format!("{variable} is not a URL"));
        for value in [
            "https://stub.example",
            "http://localhost:9000",
            "http://127.0.0.1:9000",
            "http://[::1]:9000",
        ] {
            let endpoints =
                Endpoints::from_lookup(|name| (name == variable).then(|| value.to_owned()))
                    .expect(value);
            assert_eq!(endpoints.base(platform), Some(value));
        }
    }
}

#[tokio::test]
async fn a_refused_connection_is_transient() {
    // A port that was free a moment ago and is closed now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    for platform in Platform::ALL
        .into_iter()
        .filter(|&p| p != Platform::Mastodon)
    {
        let endpoints = Endpoints::defaults()
            .with_base(platform, format!("http://127.0.0.1:{port}"))
            .expect("a loopback endpoint");
        let revoker = Revoker::new(endpoints, credentials(), REQUEST_TIMEOUT);
        let result = revoke_with(
            &revoker,
            platform,
            &token(),
            TokenType::AccessToken,
            &TokenItem::default(),
            one_attempt_deadline(),
            &NoJournal,
        )
        .await;
        let error = transient(result, platform);
        assert_eq!(error.reason(), "could not connect", "{platform}");
    }
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_fails_permanently() {
    let elsewhere = expecting_no_request().await;
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(307)
                .insert_header("location", format!("{}/elsewhere", elsewhere.uri())),
        )
        .expect(Platform::ALL.len() as u64)
        .mount(&server)
        .await;
    for platform in Platform::ALL {
        let error = permanent(revoke(&server, platform).await, platform);
        assert_eq!(error.reason(), "http 307", "{platform}");
    }
}

#[tokio::test]
async fn one_revoker_serves_many_revocations_across_platforms() {
    let server = MockServer::start().await;
    for platform in Platform::ALL {
        any_revoke_call(platform)
            .respond_with(success(platform).0)
            .expect(2)
            .mount(&server)
            .await;
    }
    let revoker = revoker(&server);
    for _ in 0..2 {
        for platform in Platform::ALL {
            let outcome = revoke_with(
                &revoker,
                platform,
                &token(),
                TokenType::AccessToken,
                &item(platform, &server),
                deadline(),
                &NoJournal,
            )
            .await;
            assert_eq!(outcome, Ok(success(platform).1), "{platform}");
        }
    }
}

/// Reddit and Discord ask for a User-Agent of their own (their tests check it); no page read
/// for the others asks for one, and they get the client's own.
#[tokio::test]
async fn every_other_platform_gets_the_clients_own_user_agent() {
    let server = MockServer::start().await;
    let others = Platform::ALL
        .into_iter()
        .filter(|p| ![Platform::Reddit, Platform::Discord].contains(p));
    for platform in others.clone() {
        any_revoke_call(platform)
            .and(UserAgentIs(format!(
                "platform-revoke/{}",
                env!("CARGO_PKG_VERSION")
            )))
            .respond_with(success(platform).0)
            .expect(1)
            .mount(&server)
            .await;
    }
    let revoker = revoker(&server);
    for platform in others {
        let outcome = revoke_with(
            &revoker,
            platform,
            &token(),
            TokenType::AccessToken,
            &item(platform, &server),
            deadline(),
            &NoJournal,
        )
        .await;
        assert_eq!(outcome, Ok(success(platform).1), "{platform}");
    }
}

#[test]
fn a_revoker_with_the_real_endpoints_builds_and_its_debug_shows_no_secret() {
    let revoker = Revoker::new(Endpoints::defaults(), credentials(), REQUEST_TIMEOUT);
    let debug = format!("{revoker:?}");
    assert!(!debug.contains("SECRET"), "{debug}");
    assert!(debug.contains("https://oauth2.googleapis.com"), "{debug}");
    assert!(debug.contains("allow_loopback_servers: false"), "{debug}");
    let local = format!("{:?}", revoker.allowing_loopback_servers());
    assert!(local.contains("allow_loopback_servers: true"), "{local}");
    assert!(!local.contains("SECRET"), "{local}");
}

/// Every platform, answered 429 with `Retry-After: 1` and then its success, waits the second
/// and revokes on the second call, well within the deadline.
#[tokio::test]
async fn every_platform_waits_out_a_429s_retry_after_and_succeeds_on_the_second_call() {
    let mut tasks = Vec::new();
    for platform in Platform::ALL {
        tasks.push(tokio::spawn(async move {
            let server = MockServer::start().await;
            any_revoke_call(platform)
                .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
                .up_to_n_times(1)
                .expect(1)
                .mount(&server)
                .await;
            let (answer, outcome) = success(platform);
            any_revoke_call(platform)
                .respond_with(answer)
                .expect(1)
                .mount(&server)
                .await;
            let started = Instant::now();
            let deadline = deadline();
            let result = revoke_with(
                &revoker(&server),
                platform,
                &token(),
                TokenType::AccessToken,
                &item(platform, &server),
                deadline,
                &NoJournal,
            )
            .await;
            let finished = Instant::now();
            (
                platform,
                result,
                outcome,
                started,
                finished,
                deadline,
                calls(&server).await,
            )
        }));
    }
    for task in tasks {
        let (platform, result, outcome, started, finished, deadline, calls) =
            task.await.expect("the task completes");
        assert_eq!(result, Ok(outcome), "{platform}");
        assert_eq!(calls, 2, "{platform}");
        let waited = finished - started;
        assert!(waited >= Duration::from_secs(1), "{platform}: {waited:?}");
        assert!(finished < deadline, "{platform}");
    }
}

/// When the wait the platform asks for does not fit before the deadline, nothing more is sent:
/// the error is transient and carries the wait, for the caller to schedule.
#[tokio::test]
async fn a_wait_the_deadline_cannot_hold_is_not_waited_and_the_error_carries_it() {
    let server = MockServer::start().await;
    any_revoke_call(Platform::Google)
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .expect(1)
        .mount(&server)
        .await;
    let started = Instant::now();
    let result = revoke_with(
        &revoker(&server),
        Platform::Google,
        &token(),
        TokenType::AccessToken,
        &TokenItem::default(),
        Instant::now() + Duration::from_millis(1500),
        &NoJournal,
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let error = transient(result, Platform::Google);
    assert_eq!(error.reason(), "http 429");
    assert_eq!(error.retry_after(), Some(Duration::from_secs(1)));
    assert_eq!(calls(&server).await, 1);
}

/// A platform that asks for more than [`MAX_WAIT`] is not waited for, even with time left.
#[tokio::test]
async fn a_wait_longer_than_max_wait_is_left_to_a_later_invocation() {
    let asked = MAX_WAIT + Duration::from_secs(1);
    let server = MockServer::start().await;
    any_revoke_call(Platform::Google)
        .respond_with(
            ResponseTemplate::new(503).insert_header("retry-after", asked.as_secs().to_string()),
        )
        .expect(1)
        .mount(&server)
        .await;
    let started = Instant::now();
    let result = revoke_with(
        &revoker(&server),
        Platform::Google,
        &token(),
        TokenType::AccessToken,
        &TokenItem::default(),
        Instant::now() + Duration::from_secs(60),
        &NoJournal,
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let error = transient(result, Platform::Google);
    assert_eq!(error.retry_after(), Some(asked));
}

/// A platform that keeps failing transiently gets 3 requests in all (the documented figure:
/// docs/revocation.md, "tried up to 3 times in all"), then the transient error.
#[tokio::test]
async fn a_transient_failure_is_retried_at_most_attempts_times_at_every_platform() {
    const DOCUMENTED_ATTEMPTS: u32 = 3;
    assert_eq!(
        ATTEMPTS, DOCUMENTED_ATTEMPTS,
        "the code's figure is the documented one"
    );
    for platform in Platform::ALL {
        let server = MockServer::start().await;
        any_revoke_call(platform)
            .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "0"))
            .expect(u64::from(DOCUMENTED_ATTEMPTS))
            .mount(&server)
            .await;
        let error = transient(revoke(&server, platform).await, platform);
        assert_eq!(error.reason(), "http 503", "{platform}");
        assert_eq!(error.retry_after(), Some(Duration::ZERO), "{platform}");
        assert_eq!(
            calls(&server).await,
            DOCUMENTED_ATTEMPTS as usize,
            "{platform}"
        );
    }
}

/// A permanent failure is final at once: one request.
#[tokio::test]
async fn a_permanent_failure_is_never_retried() {
    for platform in Platform::ALL {
        let server = MockServer::start().await;
        any_revoke_call(platform)
            .respond_with(ResponseTemplate::new(400))
            .expect(1)
            .mount(&server)
            .await;
        permanent(revoke(&server, platform).await, platform);
    }
}

/// With the deadline reached, no request starts: transient, nothing sent.
#[tokio::test]
async fn no_request_is_sent_at_the_deadline() {
    let server = expecting_no_request().await;
    for platform in Platform::ALL {
        for token_type in [TokenType::AccessToken, TokenType::RefreshToken] {
            if matches!(platform, Platform::Meta | Platform::Mastodon)
                && token_type == TokenType::RefreshToken
            {
                continue; // refused before any request is considered
            }
            let result = revoke_with(
                &revoker(&server),
                platform,
                &token(),
                token_type,
                &item(platform, &server),
                Instant::now(),
                &NoJournal,
            )
            .await;
            let error = transient(result, platform);
            assert!(
                error
                    .reason()
                    .contains("no time left before the invocation's deadline"),
                "{platform} {token_type}: {error}"
            );
        }
    }
}

#[tokio::test]
async fn google_and_meta_send_their_call_without_client_credentials() {
    // The two platforms whose call works without client credentials send it all the same.
    for platform in [Platform::Google, Platform::Meta] {
        let server = MockServer::start().await;
        let (answer, outcome) = success(platform);
        any_revoke_call(platform)
            .respond_with(answer)
            .expect(1)
            .mount(&server)
            .await;
        let revoker = revoker_with(&server, Credentials::default(), REQUEST_TIMEOUT);
        let result = revoke_with(
            &revoker,
            platform,
            &token(),
            TokenType::AccessToken,
            &TokenItem::default(),
            deadline(),
            &NoJournal,
        )
        .await;
        assert_eq!(result, Ok(outcome), "{platform}");
    }
}

#[tokio::test]
async fn the_one_attempt_helper_really_leaves_no_room_for_a_retry() {
    // Guards the other tests' use of `revoke_in_one_attempt` for transient answers.
    let server = MockServer::start().await;
    any_revoke_call(Platform::Reddit)
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "0"))
        .expect(1)
        .mount(&server)
        .await;
    transient(
        revoke_in_one_attempt(&server, Platform::Reddit).await,
        Platform::Reddit,
    );
}
