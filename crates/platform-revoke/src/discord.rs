//! Discord.
//!
//! **Request.** OAuth2 topic, "Token Revocation" (<https://discord.com/developers/docs/topics/oauth2>;
//! its text read 2026-12-04 from the docs' source, discord/discord-api-docs
//! `developers/topics/oauth2.mdx` c98d64b): "make a `POST` request to the token revocation URL"
//! `https://discord.com/api/oauth2/token/revoke` with `token` and `token_type_hint`; "the token
//! and token revocation URLs will **only** accept a content type of
//! `application/x-www-form-urlencoded`. JSON content is not permitted"; the page's example
//! authenticates with HTTP Basic (`auth=(CLIENT_ID, CLIENT_SECRET)`). "When you revoke a token,
//! any active access or refresh tokens associated with that authorization will be revoked".
//!
//! **Answers.** The page does not show them. Discord's authorization server metadata
//! (<https://discord.com/.well-known/oauth-authorization-server>, read 2026-12-04) advertises
//! this URL as its `revocation_endpoint`, which RFC 8414 defines as an RFC 7009 revocation
//! endpoint, and RFC 7009 §2.2 answers 200 when the token is revoked (or was invalid). So:
//! - 200: `revoked`; another 2xx: `failed` (not described);
//! - 429: transient, retried after `Retry-After` or the body's `retry_after` ("The number of
//!   seconds to wait before submitting another request", Rate Limits,
//!   <https://discord.com/developers/docs/topics/rate-limits>, read 2026-12-04); 5xx transient;
//! - anything else (401 bad client credentials, 400 `invalid_request`, ...): `failed`.

use std::time::Duration;

use serde_json::Value;

use crate::http::{Attempt, Ctx, Failure, confidential, retryable};
use crate::{ClientCredentials, Outcome, Platform, Token, TokenType};

pub(crate) const PATH: &str = "/api/oauth2/token/revoke";

pub(crate) async fn revoke(
    ctx: &Ctx<'_>,
    credentials: Option<&ClientCredentials>,
    token: &Token,
    token_type: TokenType,
) -> Attempt {
    let (client_id, client_secret) = confidential(credentials, Platform::Discord)?;
    let request = ctx
        .client
        .post(ctx.url(PATH)?)
        .basic_auth(client_id, Some(client_secret))
        .form(&[
            ("token", token.expose()),
            ("token_type_hint", token_type.as_str()),
        ]);
    let answer = ctx.send(request).await?;
    match answer.status.as_u16() {
        200 => return Ok(Outcome::Revoked),
        _ if answer.status.is_success() => return Err(answer.unrecognised()),
        _ => {}
    }
    let json = answer.json();
    let code = json
        .as_ref()
        .and_then(|j| j.get("error"))
        .and_then(Value::as_str);
    if retryable(answer.status) {
        let body_wait = json
            .as_ref()
            .and_then(|j| j.get("retry_after"))
            .and_then(Value::as_f64)
            .and_then(|s| Duration::try_from_secs_f64(s).ok());
        return Err(Failure::Transient {
            reason: answer.reason(code),
            after: answer.retry_after().or(body_wait),
        });
    }
    Err(answer.failure(code))
}
