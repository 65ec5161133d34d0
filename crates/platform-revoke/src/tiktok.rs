//! TikTok.
//!
//! Documented calls, both on
//! <https://developers.tiktok.com/doc/oauth-user-access-token-management> ("Manage User Access
//! Tokens"), `application/x-www-form-urlencoded`, with the app's `client_key` and
//! `client_secret`:
//! - **Revoke** ("Revoke a User Access Token",
//!   <https://developers.tiktok.com/docs/en/oauth-revoke-a-user-access-token>):
//!   `POST https://open.tiktokapis.com/v2/oauth/revoke/`, field `token` ("The user access token
//!   to revoke"). It disconnects the app from the user's account, refresh token included. "A
//!   successful request returns an empty response body" (`{}`).
//! - **Refresh** ("Refresh an access token using a refresh token"):
//!   `POST https://open.tiktokapis.com/v2/oauth/token/`, fields `grant_type=refresh_token` and
//!   `refresh_token`. It answers a new `access_token` (and `refresh_token`, `open_id`, ...).
//!
//! Error format: <https://developers.tiktok.com/doc/oauth-error-handling>. The OAuth endpoints
//! answer a flat `{"error": "<category>", "error_description": "...", "log_id": "..."}`, often
//! with HTTP 200, so the body decides, not the status. The rest of the v2 API nests
//! `{"error": {"code": "...", "message": "...", "log_id": "..."}}` with `"code": "ok"` on success
//! (<https://developers.tiktok.com/doc/tiktok-api-v2-error-handling>); both shapes are read.
//!
//! Verdicts, by error code first:
//! - `invalid_grant` ("... invalid, expired, revoked ..."), `access_token_invalid`,
//!   `invalid_token`: already revoked;
//! - `server_error`, `temporarily_unavailable`, `internal_error`, `rate_limit_exceeded`, or any
//!   code with HTTP 408/429/5xx: transient;
//! - any other code (`invalid_client` for bad credentials, `invalid_request`, ...): permanent.
//!
//! With no error code: 2xx with an empty or JSON body revoked, 2xx with another body transient
//! (not a TikTok answer; revoking again is harmless), 408/429/5xx transient, else permanent.
//!
//! Token types. The revoke call takes only an **access token**, which lives 24 hours; the
//! refresh token lives 365 days. An access token that has expired cannot revoke anything (TikTok
//! calls it invalid: `already_revoked`), while its refresh token could still mint new ones. So a
//! **refresh token** is revoked by refreshing it and revoking the fresh access token at once:
//! that ends the grant whatever the age of the stored access token. A refresh TikTok refuses as
//! `invalid_grant` means the refresh token is dead already (expired, or the grant was revoked,
//! for example by this integration's access token a moment before): `already_revoked`, with no
//! revoke call. The fresh access token lives only in memory, in a [`Token`], for that one call.
//! The order in which the two items arrive does not matter: whichever comes second finds the
//! grant gone.

use serde_json::Value;

use crate::http::{Answer, Ctx, Failure, Verdict, confidential, retryable};
use crate::{ClientCredentials, Outcome, Platform, Token, TokenType};

pub(crate) const PATH: &str = "/v2/oauth/revoke/";
pub(crate) const TOKEN_PATH: &str = "/v2/oauth/token/";

pub(crate) async fn revoke(
    ctx: &Ctx<'_>,
    credentials: Option<&ClientCredentials>,
    token: &Token,
    token_type: TokenType,
) -> Verdict {
    let (client_key, client_secret) = confidential(credentials, Platform::TikTok)?;
    let app = App {
        client_key,
        client_secret,
    };
    match token_type {
        TokenType::AccessToken => app.revoke(ctx, token).await,
        TokenType::RefreshToken => match app.refresh(ctx, token).await? {
            Refreshed::Access(fresh) => app.revoke(ctx, &fresh).await,
            Refreshed::Dead => Ok(Outcome::AlreadyRevoked),
        },
    }
}

/// The app's credentials, sent with each call.
struct App<'a> {
    client_key: &'a str,
    client_secret: &'a str,
}

/// What a refresh gave.
enum Refreshed {
    /// A new access token of the same grant.
    Access(Token),
    /// TikTok says the refresh token is dead: the grant is gone already.
    Dead,
}

impl App<'_> {
    async fn revoke(&self, ctx: &Ctx<'_>, access_token: &Token) -> Verdict {
        let request = ctx.client.post(ctx.url(PATH)?).form(&[
            ("client_key", self.client_key),
            ("client_secret", self.client_secret),
            ("token", access_token.expose()),
        ]);
        classify(&ctx.send(request).await?)
    }

    async fn refresh(&self, ctx: &Ctx<'_>, refresh_token: &Token) -> Result<Refreshed, Failure> {
        let request = ctx.client.post(ctx.url(TOKEN_PATH)?).form(&[
            ("client_key", self.client_key),
            ("client_secret", self.client_secret),
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
        ]);
        classify_refresh(&ctx.send(request).await.map_err(refreshing)?)
    }
}

/// A refresh's answer. An error code is read as for a revoke, with the step named in the reason;
/// a 2xx without an access token is transient (not a TikTok answer).
fn classify_refresh(answer: &Answer) -> Result<Refreshed, Failure> {
    let json = answer.json();
    let access_token = json
        .as_ref()
        .and_then(|json| json.get("access_token"))
        .and_then(Value::as_str)
        .filter(|token| !token.is_empty());
    match (json.as_ref().and_then(error_code), access_token) {
        (None, Some(token)) if answer.status.is_success() => {
            Ok(Refreshed::Access(Token::new(token)))
        }
        (Some(code), _) => match by_code(answer, code) {
            // A code's only good verdict: the token is dead (expired, or its grant revoked).
            Ok(_) => Ok(Refreshed::Dead),
            Err(failure) => Err(refreshing(failure)),
        },
        (None, _) if answer.status.is_success() => Err(Failure::Transient(format!(
            "refreshing: {} without an access token",
            answer.reason(None)
        ))),
        (None, _) if retryable(answer.status) => {
            Err(refreshing(Failure::Transient(answer.reason(None))))
        }
        (None, _) => Err(refreshing(Failure::Permanent(answer.reason(None)))),
    }
}

fn refreshing(failure: Failure) -> Failure {
    match failure {
        Failure::Transient(reason) => Failure::Transient(format!("refreshing: {reason}")),
        Failure::Permanent(reason) => Failure::Permanent(format!("refreshing: {reason}")),
    }
}

fn classify(answer: &Answer) -> Verdict {
    let json = answer.json();
    if let Some(code) = json.as_ref().and_then(error_code) {
        return by_code(answer, code);
    }
    if retryable(answer.status) {
        Err(Failure::Transient(answer.reason(None)))
    } else if answer.status.is_success() {
        if json.is_some() || answer.is_empty() {
            Ok(Outcome::Revoked)
        } else {
            Err(Failure::Transient(format!(
                "{} with a body that is not JSON",
                answer.reason(None)
            )))
        }
    } else {
        Err(Failure::Permanent(answer.reason(None)))
    }
}

/// The verdict of an answer with an error code: already revoked, transient or permanent.
fn by_code(answer: &Answer, code: &str) -> Verdict {
    match code {
        "invalid_grant" | "access_token_invalid" | "invalid_token" => Ok(Outcome::AlreadyRevoked),
        "server_error" | "temporarily_unavailable" | "internal_error" | "rate_limit_exceeded" => {
            Err(Failure::Transient(answer.reason(Some(code))))
        }
        _ if retryable(answer.status) => Err(Failure::Transient(answer.reason(Some(code)))),
        _ => Err(Failure::Permanent(answer.reason(Some(code)))),
    }
}

/// The error code of either shape; `None` for no error (absent, `""`, `null`, code `ok`).
fn error_code(json: &Value) -> Option<&str> {
    let code = match json.get("error")? {
        Value::String(code) => code.as_str(),
        Value::Object(error) => error.get("code")?.as_str()?,
        _ => return None,
    };
    (!code.is_empty() && code != "ok").then_some(code)
}
