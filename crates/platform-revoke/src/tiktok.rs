//! TikTok.
//!
//! Documented call: <https://developers.tiktok.com/docs/en/oauth-revoke-a-user-access-token>
//! ("Revoke a User Access Token"): `POST https://open.tiktokapis.com/v2/oauth/revoke/`,
//! `application/x-www-form-urlencoded`, fields `client_key`, `client_secret` (the app's
//! credentials) and `token` ("The user access token to revoke"). It disconnects the app from the
//! user's account. "A successful request returns an empty response body" (`{}`).
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
//! Token types: the call takes the **access token**; revoking it ends the whole grant, refresh
//! token included. A refresh token is not sent (the call does not take one): it fails
//! permanently without a request, saying so.

use serde_json::Value;

use crate::http::{Answer, Ctx, Failure, Verdict, retryable};
use crate::{ClientCredentials, Outcome, Token, TokenType};

pub(crate) const PATH: &str = "/v2/oauth/revoke/";

pub(crate) async fn revoke(
    ctx: &Ctx<'_>,
    credentials: Option<&ClientCredentials>,
    token: &Token,
    token_type: TokenType,
) -> Verdict {
    if token_type == TokenType::RefreshToken {
        return Err(Failure::Permanent(
            "tiktok revokes access tokens only (revoking the access token ends the grant, \
             refresh token included)"
                .to_owned(),
        ));
    }
    let Some((client_key, client_secret)) =
        credentials.and_then(|c| Some((c.client_id(), c.client_secret()?)))
    else {
        return Err(Failure::Permanent(
            "no tiktok client credentials (clientId and clientSecret) in the credentials secret"
                .to_owned(),
        ));
    };
    let request = ctx.client.post(ctx.url(PATH)?).form(&[
        ("client_key", client_key),
        ("client_secret", client_secret),
        ("token", token.expose()),
    ]);
    classify(&ctx.send(request).await?)
}

fn classify(answer: &Answer) -> Verdict {
    let json = answer.json();
    if let Some(code) = json.as_ref().and_then(error_code) {
        return match code {
            "invalid_grant" | "access_token_invalid" | "invalid_token" => {
                Ok(Outcome::AlreadyRevoked)
            }
            "server_error"
            | "temporarily_unavailable"
            | "internal_error"
            | "rate_limit_exceeded" => Err(Failure::Transient(answer.reason(Some(code)))),
            _ if retryable(answer.status) => Err(Failure::Transient(answer.reason(Some(code)))),
            _ => Err(Failure::Permanent(answer.reason(Some(code)))),
        };
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

/// The error code of either shape; `None` for no error (absent, `""`, `null`, code `ok`).
fn error_code(json: &Value) -> Option<&str> {
    let code = match json.get("error")? {
        Value::String(code) => code.as_str(),
        Value::Object(error) => error.get("code")?.as_str()?,
        _ => return None,
    };
    (!code.is_empty() && code != "ok").then_some(code)
}
