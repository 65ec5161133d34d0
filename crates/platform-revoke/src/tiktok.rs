//! TikTok.
//!
//! **Revoke.** Revoke a user access token
//! (<https://developers.tiktok.com/docs/en/oauth-revoke-a-user-access-token>, updated
//! 2026-11-02, read 2026-12-04): "Revokes a user access token and disconnects your app from the
//! user's TikTok account." `POST https://open.tiktokapis.com/v2/oauth/revoke/`,
//! `application/x-www-form-urlencoded`, "Send all parameters as URL-encoded form data in the
//! request body": `client_key`, `client_secret`, `token` ("The user access token to revoke").
//! "A successful request returns an empty response body" (`{}`; re-read 2026-12-07): the only
//! `revoked`. The page documents no other success: TikTok's v2 envelope with code `ok`, or an
//! OAuth error struct whose `error` is empty, is `unconfirmed` (the v2 error codes page,
//! <https://developers.tiktok.com/doc/tiktok-api-v2-error-handling>, read 2026-12-07, does not
//! list `ok` either, and the OAuth endpoints answer with the OAuth struct); any other 2xx body
//! is `failed`. What revoking an expired or unknown access token answers is not documented, so
//! an access token's `revoked` proves nothing about the grant's other tokens (see
//! [`crate::Platform::revocation_covers`]).
//!
//! **Errors.** OAuth error handling (<https://developers.tiktok.com/doc/oauth-error-handling>,
//! read 2026-12-04): `{"error": "<category>", "error_description": ..., "log_id": ...}`, often
//! with HTTP 200, so the body decides. `invalid_grant` means the grant "is invalid, expired,
//! revoked, does not match the redirection URI used in the authorization request, or was issued
//! to another client": it does not say the token is gone, so it is `failed` like every other
//! code. `rate_limit_exceeded` comes with HTTP 429 (Rate limits,
//! <https://developers.tiktok.com/docs/en/tiktok-api-v2-rate-limit>, updated 2026-08-04, read
//! 2026-12-04): transient, retried. `server_error`, `temporarily_unavailable` and 5xx are
//! retried too (a retry decision, not an outcome).
//!
//! **Refresh tokens.** Manage OAuth access tokens
//! (<https://developers.tiktok.com/docs/zh-Hans/oauth-user-access-token-management>, updated
//! 2026-11-05, read 2026-12-04): an access token lives 2 hours, a refresh token 180 days. A
//! stored access token has usually expired when its integration is disconnected, while its
//! refresh token could still mint new ones, and the revoke call takes only an access token. So a
//! refresh token is revoked by refreshing it (`POST /v2/oauth/token/`, `grant_type=refresh_token`,
//! Refresh a user access token,
//! <https://developers.tiktok.com/docs/en/oauth-refresh-a-user-access-token>, updated
//! 2026-11-02, read 2026-12-04) and revoking the fresh access token within the same invocation,
//! with bounded retries. Every refresh token goes this way, whatever its access token's revoke
//! answered: an access token's answer covers no refresh token. A fresh token's successful
//! revoke does prove the disconnect (TikTok has just issued that token), so it covers the
//! grant's access tokens. That page also says: "Refresh tokens are rotated: a successful refresh
//! request will return a new refresh_token in place of the one you sent. The previous refresh
//! token stops working once a new one is issued." Hence:
//! - before refreshing, the consumer notes on the marker that this record's refresh token is
//!   about to be rotated ([`crate::RefreshJournal`]);
//! - a refresh whose answer is lost is not retried at once (it may have rotated the token); a
//!   later attempt that then gets a refusal records `failed` with
//!   `refresh_token_rotated_by_an_earlier_attempt`: the earlier attempt's fresh tokens were never
//!   revoked, and the grant may still be live;
//! - if the fresh access token cannot be revoked in time, the outcome is `failed` with
//!   `refreshed_but_fresh_token_not_revoked`: the stored refresh token is dead, its successor
//!   lived only in memory, and the grant may still be live. Never `revoked`, never "already
//!   revoked".

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::http::{Attempt, Ctx, Failure, Reply, confidential, retryable};
use crate::{ClientCredentials, Endpoints, Outcome, Platform, RefreshJournal, Token, TokenType};

const PATH: &str = Endpoints::revoke_path(Platform::TikTok);
const TOKEN_PATH: &str = Endpoints::TIKTOK_REFRESH_PATH;

/// The reason of a refresh refused after an earlier attempt noted a refresh.
pub const ROTATED_BY_AN_EARLIER_ATTEMPT: &str = "refresh_token_rotated_by_an_earlier_attempt";
/// The reason of a refresh whose fresh access token could not be revoked.
pub const REFRESHED_BUT_NOT_REVOKED: &str = "refreshed_but_fresh_token_not_revoked";
/// Attempts at revoking a fresh access token, within the invocation.
const FRESH_REVOKE_ATTEMPTS: u32 = 3;

pub(crate) async fn revoke(
    ctx: &Ctx<'_>,
    credentials: Option<&ClientCredentials>,
    token: &Token,
    token_type: TokenType,
    journal: &dyn RefreshJournal,
) -> Attempt {
    let (client_key, client_secret) = confidential(credentials, Platform::TikTok)?;
    let app = App {
        client_key,
        client_secret,
    };
    match token_type {
        TokenType::AccessToken => app.revoke(ctx, token).await,
        TokenType::RefreshToken => {
            journal.note_refresh().await.map_err(|e| {
                Failure::transient(format!("noting the refresh on the marker: {e}"))
            })?;
            let fresh = match app.refresh(ctx, token).await {
                Ok(fresh) => fresh,
                Err(Failure::Permanent(reason)) if journal.refreshed_before() => {
                    return Err(Failure::Permanent(format!(
                        "{ROTATED_BY_AN_EARLIER_ATTEMPT}: {reason}"
                    )));
                }
                Err(failure) => return Err(failure),
            };
            app.revoke_fresh(ctx, &fresh).await
        }
    }
}

/// The app's credentials, sent with each call.
struct App<'a> {
    client_key: &'a str,
    client_secret: &'a str,
}

impl App<'_> {
    async fn revoke(&self, ctx: &Ctx<'_>, access_token: &Token) -> Attempt {
        let request = ctx.client.post(ctx.url(PATH)?).form(&[
            ("client_key", self.client_key),
            ("client_secret", self.client_secret),
            ("token", access_token.expose()),
        ]);
        classify(&ctx.send(request).await?)
    }

    /// Revokes a fresh access token, retrying transient failures while the deadline allows. Its
    /// only failure is permanent: the refresh token is rotated, so the record cannot be retried.
    async fn revoke_fresh(&self, ctx: &Ctx<'_>, fresh: &Token) -> Attempt {
        let mut attempt = 1;
        loop {
            let failure = match self.revoke(ctx, fresh).await {
                Ok(outcome) => return Ok(outcome),
                Err(failure) => failure,
            };
            let wait = match &failure {
                Failure::Transient { after, .. } if attempt < FRESH_REVOKE_ATTEMPTS => {
                    after.unwrap_or_else(|| crate::backoff(attempt))
                }
                _ => Duration::MAX,
            };
            let fits = Instant::now()
                .checked_add(wait)
                .is_some_and(|then| then + ctx.timeout <= ctx.deadline);
            if !fits {
                let reason = match failure {
                    Failure::Transient { reason, .. }
                    | Failure::Ambiguous(reason)
                    | Failure::Permanent(reason) => reason,
                };
                // The fresh token is no secret the revoker knows to scrub: an answer that
                // echoes it as its error code must not carry it into the reason.
                let reason = reason.replace(fresh.expose(), "<redacted>");
                return Err(Failure::Permanent(format!(
                    "{REFRESHED_BUT_NOT_REVOKED}: revoking the fresh access token: {reason}"
                )));
            }
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn refresh(&self, ctx: &Ctx<'_>, refresh_token: &Token) -> Result<Token, Failure> {
        let request = ctx.client.post(ctx.url(TOKEN_PATH)?).form(&[
            ("client_key", self.client_key),
            ("client_secret", self.client_secret),
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
        ]);
        let answer = ctx
            .send_once(request)
            .await
            .map_err(|f| f.during("refreshing"))?;
        classify_refresh(&answer).map_err(|f| f.during("refreshing"))
    }
}

/// A refresh's answer: the fresh access token, or why not. A refusal is permanent; a throttled
/// refresh was not applied (transient); any other failure may have rotated the token
/// (ambiguous).
fn classify_refresh(answer: &Reply) -> Result<Token, Failure> {
    let json = answer.json();
    if let Some(code) = json.as_ref().and_then(error_code) {
        return Err(match by_code(answer, code) {
            Failure::Transient { reason, after }
                if code == "rate_limit_exceeded" || answer.status == 429 =>
            {
                Failure::Transient { reason, after }
            }
            Failure::Transient { reason, .. } => Failure::Ambiguous(reason),
            other => other,
        });
    }
    let access_token = json
        .as_ref()
        .and_then(|json| json.get("access_token"))
        .and_then(Value::as_str)
        .filter(|token| !token.is_empty());
    match access_token {
        Some(token) if answer.status.is_success() => Ok(Token::new(token)),
        _ if answer.status == 429 => Err(answer.failure(None)),
        _ if answer.status.is_success() || retryable(answer.status) => Err(Failure::Ambiguous(
            format!("{} without an access token", answer.reason(None)),
        )),
        _ => Err(answer.failure(None)),
    }
}

/// A revoke's answer. Only the documented success is `revoked`: "A successful request returns
/// an empty response body", shown as `{}` (Revoke a User Access Token, read 2026-12-07). A 2xx
/// whose body says "no error" in a shape that page does not give (the OAuth error struct with an
/// empty `error`, the v2 API's envelope `{"data": {}, "error": {"code": "ok", ...}}`) is
/// `unconfirmed`; any other 2xx body `failed`.
fn classify(answer: &Reply) -> Attempt {
    let json = answer.json();
    if let Some(code) = json.as_ref().and_then(error_code) {
        return Err(by_code(answer, code));
    }
    if !answer.status.is_success() {
        return Err(answer.failure(None));
    }
    let documented = answer.is_empty()
        || json
            .as_ref()
            .and_then(Value::as_object)
            .is_some_and(|o| o.is_empty());
    if documented {
        return Ok(Outcome::Revoked);
    }
    // `error_code` found no error: an `error` here is absent, empty, `null` or code `ok`.
    let says_no_error = json.as_ref().and_then(Value::as_object).is_some_and(|o| {
        o.iter().all(|(k, v)| match k.as_str() {
            "data" => v.as_object().is_some_and(|d| d.is_empty()),
            "error" | "error_description" | "log_id" => true,
            _ => false,
        })
    });
    if says_no_error {
        Ok(Outcome::Unconfirmed)
    } else {
        Err(answer.unrecognised())
    }
}

/// The failure of an answer with an error code: throttling and temporary codes transient,
/// any other code permanent.
fn by_code(answer: &Reply, code: &str) -> Failure {
    let transient = matches!(
        code,
        "rate_limit_exceeded" | "server_error" | "temporarily_unavailable" | "internal_error"
    ) || retryable(answer.status);
    if transient {
        Failure::Transient {
            reason: answer.reason(Some(code)),
            after: answer.retry_after(),
        }
    } else {
        Failure::Permanent(answer.reason(Some(code)))
    }
}

/// The error code of the OAuth shape (`{"error": "invalid_grant"}`) or of the v2 API's
/// (`{"error": {"code": "..."}}`); `None` for no error (absent, `""`, `null`, code `ok`).
fn error_code(json: &Value) -> Option<&str> {
    let code = match json.get("error")? {
        Value::String(code) => code.as_str(),
        Value::Object(error) => error.get("code")?.as_str()?,
        _ => return None,
    };
    (!code.is_empty() && code != "ok").then_some(code)
}
