use std::sync::Mutex;
use std::time::{Duration, Instant};

use platform_revoke::{
    ATTEMPTS, BoxFuture, NoJournal, Outcome, Platform::TikTok, REFRESHED_BUT_NOT_REVOKED,
    ROTATED_BY_AN_EARLIER_ATTEMPT, RefreshJournal, RevokeError, Revoker, Token, TokenItem,
    TokenType,
};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{
    CLIENT_ID, CLIENT_SECRET, FormIs, NoAuthorization, SLOW, TIMEOUT, TOKEN, answering_once, calls,
    credentials, deadline, permanent, revoke, revoke_in_one_attempt, revoke_with, revoker,
    revoker_with, transient,
};

/// The documented request: `POST /v2/oauth/revoke/`, form `client_key`, `client_secret`,
/// `token`, no query, no Authorization header.
fn revoke_call() -> wiremock::MockBuilder {
    Mock::given(method("POST"))
        .and(path("/v2/oauth/revoke/"))
        .and(FormIs(&[
            ("client_key", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("token", TOKEN),
        ]))
        .and(NoAuthorization)
}

async fn answering(template: ResponseTemplate) -> MockServer {
    answering_once(revoke_call(), template).await
}

/// "A successful request returns an empty response body": `{}`, the page's example.
#[tokio::test]
async fn tiktok_answers_an_empty_object_so_the_token_is_revoked() {
    for answer in [
        ResponseTemplate::new(200).set_body_string("{}"),
        ResponseTemplate::new(200),
    ] {
        let server = answering(answer).await;
        assert_eq!(revoke(&server, TikTok).await, Ok(Outcome::Revoked));
    }
}

/// "No error" in a shape the revoke page does not give (the OAuth struct with an empty error,
/// the v2 envelope with code `ok`): probably revoked, never claimed.
#[tokio::test]
async fn tiktok_answers_no_error_in_a_shape_its_page_does_not_give_so_the_revocation_is_unconfirmed()
 {
    for answer in [
        ResponseTemplate::new(200)
            .set_body_json(json!({"error": "", "error_description": "", "log_id": "2024"})),
        ResponseTemplate::new(200).set_body_json(
            json!({"data": {}, "error": {"code": "ok", "message": "", "log_id": "x"}}),
        ),
        ResponseTemplate::new(200).set_body_json(json!({"error": {"code": "ok"}})),
    ] {
        let server = answering(answer).await;
        assert_eq!(revoke(&server, TikTok).await, Ok(Outcome::Unconfirmed));
    }
}

/// `invalid_grant` says the grant is "invalid, expired, revoked, ...": not that the token is
/// gone, so it fails like every other code.
#[tokio::test]
async fn tiktok_answers_invalid_grant_so_the_revocation_fails_and_is_not_read_as_already_revoked() {
    let cases = [
        (
            ResponseTemplate::new(200).set_body_json(json!({
                "error": "invalid_grant",
                "error_description": "Access token is invalid or expired.",
                "log_id": "20240101000000ABCDEF"
            })),
            "http 200 (invalid_grant)",
        ),
        (
            ResponseTemplate::new(401).set_body_json(json!({
                "error": {"code": "access_token_invalid", "message": "The access token is invalid", "log_id": "x"}
            })),
            "http 401 (access_token_invalid)",
        ),
        (
            ResponseTemplate::new(200).set_body_json(json!({
                "error": "invalid_client",
                "error_description": "Client key or secret is incorrect.",
                "log_id": "x"
            })),
            "http 200 (invalid_client)",
        ),
        (
            ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_request"})),
            "http 400 (invalid_request)",
        ),
        (ResponseTemplate::new(403), "http 403"),
    ];
    for (answer, reason) in cases {
        let server = answering(answer).await;
        let error = permanent(revoke(&server, TikTok).await, TikTok);
        assert_eq!(error.reason(), reason);
    }
}

#[tokio::test]
async fn tiktok_answers_200_with_a_body_it_does_not_document_so_the_revocation_fails() {
    for answer in [
        ResponseTemplate::new(200).set_body_string("<html>gateway</html>"),
        ResponseTemplate::new(200).set_body_json(json!({"revoked": true})),
        ResponseTemplate::new(200).set_body_json(json!([])),
        // The v2 envelope says ok, but its data is not the empty success.
        ResponseTemplate::new(200)
            .set_body_json(json!({"data": {"revoked": 0}, "error": {"code": "ok"}})),
    ] {
        let server = answering(answer).await;
        let error = permanent(revoke(&server, TikTok).await, TikTok);
        assert_eq!(
            error.reason(),
            "http 200: an answer the documentation does not describe"
        );
    }
}

#[tokio::test]
async fn tiktok_answers_429_rate_limit_exceeded_so_the_revocation_is_transient_after_its_retry_after()
 {
    for body in [
        json!({"error": {"code": "rate_limit_exceeded", "message": "slow down", "log_id": "x"}}),
        json!({"error": "rate_limit_exceeded"}),
    ] {
        let server = answering(
            ResponseTemplate::new(429)
                .set_body_json(body)
                .insert_header("retry-after", "7"),
        )
        .await;
        let error = transient(revoke_in_one_attempt(&server, TikTok).await, TikTok);
        assert_eq!(error.reason(), "http 429 (rate_limit_exceeded)");
        assert_eq!(error.retry_after(), Some(Duration::from_secs(7)));
    }
}

#[tokio::test]
async fn tiktok_waits_a_429s_retry_after_and_revokes_on_the_second_call() {
    let server = MockServer::start().await;
    revoke_call()
        .respond_with(
            ResponseTemplate::new(429)
                .set_body_json(json!({"error": {"code": "rate_limit_exceeded", "message": ""}}))
                .insert_header("retry-after", "1"),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    revoke_call()
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .expect(1)
        .mount(&server)
        .await;
    let started = Instant::now();
    assert_eq!(revoke(&server, TikTok).await, Ok(Outcome::Revoked));
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(calls(&server).await, 2);
}

#[tokio::test]
async fn tiktok_answers_a_temporary_error_or_5xx_so_the_revocation_is_transient() {
    for (answer, reason) in [
        (
            ResponseTemplate::new(200).set_body_json(json!({"error": "temporarily_unavailable"})),
            "http 200 (temporarily_unavailable)",
        ),
        (
            ResponseTemplate::new(200).set_body_json(json!({"error": "server_error"})),
            "http 200 (server_error)",
        ),
        (ResponseTemplate::new(503), "http 503"),
    ] {
        let server = answering(answer).await;
        let error = transient(revoke_in_one_attempt(&server, TikTok).await, TikTok);
        assert_eq!(error.reason(), reason);
    }
}

// Refresh tokens: refreshed, and the fresh access token revoked.

/// A fresh access token as a refresh gives it (it holds `SECRET`: no error text may show it).
const FRESH: &str = "act.fresh+SECRET/1";

/// The documented refresh: `POST /v2/oauth/token/`, form `client_key`, `client_secret`,
/// `grant_type=refresh_token`, `refresh_token`.
fn refresh_call() -> wiremock::MockBuilder {
    Mock::given(method("POST"))
        .and(path("/v2/oauth/token/"))
        .and(FormIs(&[
            ("client_key", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("grant_type", "refresh_token"),
            ("refresh_token", TOKEN),
        ]))
        .and(NoAuthorization)
}

/// The revoke call of the fresh access token.
fn revoke_fresh_call() -> wiremock::MockBuilder {
    Mock::given(method("POST"))
        .and(path("/v2/oauth/revoke/"))
        .and(FormIs(&[
            ("client_key", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("token", FRESH),
        ]))
        .and(NoAuthorization)
}

/// TikTok's documented refresh answer, with [`FRESH`].
fn refreshed() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "access_token": FRESH,
        "expires_in": 86400,
        "open_id": "open-id-1",
        "refresh_expires_in": 31_536_000,
        "refresh_token": "rft.next+SECRET",
        "scope": "user.info.basic,video.publish",
        "token_type": "Bearer"
    }))
}

/// A stub where the refresh answers `refresh` `refreshes` times and the revoke call of the fresh
/// token answers `revoke` (`None`: it must not be called). The stored refresh token is never
/// sent to the revoke call.
async fn refreshing(
    refresh: ResponseTemplate,
    refreshes: u64,
    revoke: Option<(ResponseTemplate, std::ops::RangeInclusive<u64>)>,
) -> MockServer {
    let server = MockServer::start().await;
    refresh_call()
        .respond_with(refresh)
        .expect(refreshes)
        .mount(&server)
        .await;
    let (answer, times) = revoke.unwrap_or((ResponseTemplate::new(200), 0..=0));
    revoke_fresh_call()
        .respond_with(answer)
        .expect(times)
        .mount(&server)
        .await;
    revoke_call()
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    server
}

/// A journal that records, at each `note_refresh`, how many requests the stub had received,
/// and says what `refreshed_before` it is given.
struct Journal<'s> {
    server: &'s MockServer,
    refreshed_before: bool,
    fails: bool,
    notes: Mutex<Vec<usize>>,
}

impl<'s> Journal<'s> {
    fn new(server: &'s MockServer, refreshed_before: bool) -> Self {
        Journal {
            server,
            refreshed_before,
            fails: false,
            notes: Mutex::new(Vec::new()),
        }
    }

    fn notes(&self) -> Vec<usize> {
        self.notes.lock().unwrap().clone()
    }
}

impl RefreshJournal for Journal<'_> {
    fn refreshed_before(&self) -> bool {
        self.refreshed_before
    }

    fn note_refresh(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            let seen = crate::calls(self.server).await;
            self.notes.lock().unwrap().push(seen);
            if self.fails {
                Err("the marker store is unavailable".to_owned())
            } else {
                Ok(())
            }
        })
    }
}

async fn revoke_refresh_token_with(
    revoker: &Revoker,
    journal: &Journal<'_>,
) -> Result<Outcome, RevokeError> {
    revoke_with(
        revoker,
        TikTok,
        &Token::new(TOKEN),
        TokenType::RefreshToken,
        &TokenItem::default(),
        deadline(),
        journal,
    )
    .await
}

async fn revoke_refresh_token(
    server: &MockServer,
    journal: &Journal<'_>,
) -> Result<Outcome, RevokeError> {
    revoke_refresh_token_with(&revoker(server), journal).await
}

#[tokio::test]
async fn tiktok_refresh_token_is_noted_refreshed_and_the_fresh_access_token_revoked() {
    let server = refreshing(
        refreshed(),
        1,
        Some((ResponseTemplate::new(200).set_body_string("{}"), 1..=1)),
    )
    .await;
    let journal = Journal::new(&server, false);
    assert_eq!(
        revoke_refresh_token(&server, &journal).await,
        Ok(Outcome::Revoked)
    );
    // Noted once, before any request reached the platform.
    assert_eq!(journal.notes(), vec![0]);
    let paths: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|request| request.url.path().to_owned())
        .collect();
    assert_eq!(paths, ["/v2/oauth/token/", "/v2/oauth/revoke/"]);
}

#[tokio::test]
async fn tiktok_fresh_access_token_that_cannot_be_revoked_fails_as_refreshed_but_not_revoked() {
    let server = refreshing(refreshed(), 1, Some((ResponseTemplate::new(503), 2..=3))).await;
    let journal = Journal::new(&server, false);
    let error = permanent(revoke_refresh_token(&server, &journal).await, TikTok);
    assert!(
        error.reason().starts_with(REFRESHED_BUT_NOT_REVOKED),
        "{error}"
    );
    assert!(error.reason().contains("http 503"), "{error}");
    // One refresh, noted once: the revoke of the fresh token was retried, never the refresh.
    assert_eq!(journal.notes(), vec![0]);
    let revokes = calls(&server).await - 1;
    assert!((2..=3).contains(&revokes), "{revokes}");
}

#[tokio::test]
async fn tiktok_fresh_access_token_refused_fails_as_refreshed_but_not_revoked_without_retry() {
    let server = refreshing(
        refreshed(),
        1,
        Some((
            ResponseTemplate::new(200).set_body_json(json!({"error": "invalid_grant"})),
            1..=1,
        )),
    )
    .await;
    let journal = Journal::new(&server, false);
    let error = permanent(revoke_refresh_token(&server, &journal).await, TikTok);
    assert_eq!(
        error.reason(),
        format!(
            "{REFRESHED_BUT_NOT_REVOKED}: revoking the fresh access token: http 200 (invalid_grant)"
        )
    );
}

/// A refresh refused after an earlier attempt noted one: that attempt rotated the token, and its
/// fresh tokens were never revoked. Without such a note, the refusal is a plain failure. Never
/// `revoked`, and no revoke call.
#[tokio::test]
async fn tiktok_refresh_refused_as_invalid_grant_fails_and_says_when_an_earlier_attempt_rotated_it()
{
    for refreshed_before in [true, false] {
        let server = refreshing(
            ResponseTemplate::new(200).set_body_json(json!({
                "error": "invalid_grant",
                "error_description": "Refresh token is invalid or expired.",
                "log_id": "20240101000000ABCDEF"
            })),
            1,
            None,
        )
        .await;
        let journal = Journal::new(&server, refreshed_before);
        let error = permanent(revoke_refresh_token(&server, &journal).await, TikTok);
        let reason = error.reason();
        assert!(reason.contains("invalid_grant"), "{reason}");
        assert_eq!(
            reason.starts_with(ROTATED_BY_AN_EARLIER_ATTEMPT),
            refreshed_before,
            "{reason}"
        );
        if !refreshed_before {
            assert_eq!(reason, "refreshing: http 200 (invalid_grant)");
        }
        assert_eq!(journal.notes(), vec![0]);
    }
}

#[tokio::test]
async fn tiktok_refresh_refused_otherwise_fails_permanently_with_no_revoke_call() {
    for (answer, reason) in [
        (
            ResponseTemplate::new(200).set_body_json(json!({
                "error": "invalid_client",
                "error_description": "Client key or secret is invalid."
            })),
            "refreshing: http 200 (invalid_client)",
        ),
        (ResponseTemplate::new(403), "refreshing: http 403"),
    ] {
        let server = refreshing(answer, 1, None).await;
        let error = permanent(
            revoke_refresh_token(&server, &Journal::new(&server, false)).await,
            TikTok,
        );
        assert_eq!(error.reason(), reason);
    }
}

/// A throttled refresh was not applied: transient, and safe to send again, so the revoker does
/// (noting each refresh first).
#[tokio::test]
async fn tiktok_refresh_answered_429_is_transient_and_sent_again() {
    for body in [
        json!({"error": "rate_limit_exceeded"}),
        json!({"error": {"code": "rate_limit_exceeded", "message": ""}}),
    ] {
        let server = refreshing(
            ResponseTemplate::new(429)
                .set_body_json(body)
                .insert_header("retry-after", "0"),
            u64::from(ATTEMPTS),
            None,
        )
        .await;
        let journal = Journal::new(&server, false);
        let error = transient(revoke_refresh_token(&server, &journal).await, TikTok);
        assert_eq!(error.reason(), "refreshing: http 429 (rate_limit_exceeded)");
        assert_eq!(error.retry_after(), Some(Duration::ZERO));
        assert_eq!(journal.notes(), vec![0, 1, 2]);
    }
    let server = refreshing(
        ResponseTemplate::new(429).insert_header("retry-after", "5"),
        1,
        None,
    )
    .await;
    let journal = Journal::new(&server, false);
    let revocation = platform_revoke::Revocation {
        platform: TikTok,
        token: &Token::new(TOKEN),
        token_type: TokenType::RefreshToken,
        item: &TokenItem::default(),
        deadline: crate::one_attempt_deadline(),
    };
    let error = transient(revoker(&server).revoke(&revocation, &journal).await, TikTok);
    assert_eq!(error.reason(), "refreshing: http 429");
    assert_eq!(error.retry_after(), Some(Duration::from_secs(5)));
}

/// A refresh whose answer is lost may have rotated the refresh token: transient (the record is
/// retried later, where a refusal then reads as rotated), but never sent again within the call.
#[tokio::test]
async fn tiktok_refresh_not_answering_within_the_timeout_is_transient_and_not_sent_again() {
    let server = refreshing(refreshed().set_delay(SLOW), 1, None).await;
    let journal = Journal::new(&server, false);
    let revoker = revoker_with(&server, credentials(), TIMEOUT);
    let started = Instant::now();
    let error = transient(revoke_refresh_token_with(&revoker, &journal).await, TikTok);
    assert!(started.elapsed() < SLOW / 4, "{:?}", started.elapsed());
    assert_eq!(error.reason(), "refreshing: no answer within 300 ms");
    assert_eq!(error.retry_after(), None);
    assert_eq!(journal.notes(), vec![0]);
    assert_eq!(calls(&server).await, 1);
}

#[tokio::test]
async fn tiktok_refresh_answered_without_a_fresh_token_is_transient_and_not_sent_again() {
    let cases = [
        (
            ResponseTemplate::new(503),
            "refreshing: http 503 without an access token",
        ),
        (
            ResponseTemplate::new(200).set_body_json(json!({"open_id": "open-id-1"})),
            "refreshing: http 200 without an access token",
        ),
        (
            ResponseTemplate::new(200).set_body_string("<html>SECRET</html>"),
            "refreshing: http 200 without an access token",
        ),
        (
            ResponseTemplate::new(200).set_body_json(json!({"error": "server_error"})),
            "refreshing: http 200 (server_error)",
        ),
    ];
    for (answer, reason) in cases {
        let server = refreshing(answer, 1, None).await;
        let journal = Journal::new(&server, false);
        let error = transient(revoke_refresh_token(&server, &journal).await, TikTok);
        assert_eq!(error.reason(), reason);
        assert_eq!(journal.notes(), vec![0]);
    }
}

#[tokio::test]
async fn tiktok_refresh_is_not_sent_when_the_journal_cannot_note_it() {
    let server = refreshing(refreshed(), 0, None).await;
    let journal = Journal {
        fails: true,
        ..Journal::new(&server, false)
    };
    let revocation = platform_revoke::Revocation {
        platform: TikTok,
        token: &Token::new(TOKEN),
        token_type: TokenType::RefreshToken,
        item: &TokenItem::default(),
        deadline: crate::one_attempt_deadline(),
    };
    let error = transient(revoker(&server).revoke(&revocation, &journal).await, TikTok);
    assert!(
        error
            .reason()
            .starts_with("noting the refresh on the marker"),
        "{error}"
    );
    assert_eq!(calls(&server).await, 0);
}

#[tokio::test]
async fn tiktok_echoing_the_fresh_access_token_never_shows_it_in_the_error() {
    // A code-shaped fresh token survives code sanitising: only a scrub can keep it out.
    let fresh = "actFRESHSECRETtoken";
    let server = MockServer::start().await;
    refresh_call()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": fresh})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/oauth/revoke/"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": fresh})))
        .expect(1)
        .mount(&server)
        .await;
    let error = permanent(
        revoke_with(
            &revoker(&server),
            TikTok,
            &Token::new(TOKEN),
            TokenType::RefreshToken,
            &TokenItem::default(),
            deadline(),
            &NoJournal,
        )
        .await,
        TikTok,
    );
    assert!(
        error.reason().starts_with(REFRESHED_BUT_NOT_REVOKED),
        "{error}"
    );
    assert!(!error.to_string().contains(fresh), "{error}");
}

/// TikTok's OAuth endpoints answer errors with HTTP 200 too: a refresh refused as throttled,
/// whatever its status, was not applied and is sent again.
#[tokio::test]
async fn tiktok_refresh_throttled_with_http_200_is_sent_again_too() {
    let server = refreshing(
        ResponseTemplate::new(200).set_body_json(json!({"error": "rate_limit_exceeded"})),
        u64::from(ATTEMPTS),
        None,
    )
    .await;
    let journal = Journal::new(&server, false);
    let error = transient(revoke_refresh_token(&server, &journal).await, TikTok);
    assert_eq!(error.reason(), "refreshing: http 200 (rate_limit_exceeded)");
}

/// Only a successful answer's access token is fresh: a server error that carries one is not
/// a refresh, and nothing is revoked with it.
#[tokio::test]
async fn tiktok_refresh_failing_with_a_token_in_its_body_revokes_nothing() {
    let server = refreshing(
        ResponseTemplate::new(503).set_body_json(json!({"access_token": FRESH})),
        1,
        None,
    )
    .await;
    let journal = Journal::new(&server, false);
    let error = transient(revoke_refresh_token(&server, &journal).await, TikTok);
    assert!(
        error.reason().starts_with("refreshing: http 503"),
        "{error}"
    );
    server.verify().await;
}

/// The fresh token's revoke is retried only while a retry and its call end before the
/// deadline: with too little time left, one call, and the refresh's outcome is failed.
#[tokio::test]
async fn tiktok_fresh_token_revoke_is_not_retried_past_the_deadline() {
    let server = refreshing(refreshed(), 1, Some((ResponseTemplate::new(503), 1..=1))).await;
    let journal = Journal::new(&server, false);
    let revoker = revoker_with(&server, credentials(), Duration::from_secs(5));
    let revocation = platform_revoke::Revocation {
        platform: TikTok,
        token: &Token::new(TOKEN),
        token_type: TokenType::RefreshToken,
        item: &TokenItem::default(),
        // Time for the calls, not for a 5 s call after a back-off.
        deadline: std::time::Instant::now() + Duration::from_secs(3),
    };
    let error = permanent(revoker.revoke(&revocation, &journal).await, TikTok);
    assert!(
        error
            .reason()
            .starts_with(platform_revoke::REFRESHED_BUT_NOT_REVOKED),
        "{error}"
    );
    server.verify().await;
}
