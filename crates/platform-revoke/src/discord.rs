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
//! **User-Agent.** The API reference, "User Agent": "Clients using the HTTP API must provide a
//! valid User Agent ... `User-Agent: DiscordBot ($url, $versionNumber)`"; requests without one
//! "may be blocked" (see `user_agent`, which cites it; the `$url` comes from the credentials
//! secret).
//!
//! **Answers.** The page does not show them. It names this URL the "[Token
//! Revocation](https://tools.ietf.org/html/rfc7009) URL", and Discord's authorization server
//! metadata (<https://discord.com/.well-known/oauth-authorization-server>, read 2026-12-04)
//! advertises it as its `revocation_endpoint`, which RFC 8414 defines as an RFC 7009 revocation
//! endpoint. RFC 7009 §2.2 (<https://www.rfc-editor.org/rfc/rfc7009#section-2.2>, read
//! 2026-12-07): "The authorization server responds with HTTP status code 200 if the token has
//! been revoked successfully or if the client submitted an invalid token", and "The content of
//! the response body is ignored by the client as all necessary information is conveyed in the
//! response code". So:
//! - 200, whatever its body: `revoked`: the token sent no longer works. Not proof that it was
//!   live, so not proof of the other tokens' end: nothing is covered `via` it (see
//!   [`crate::Platform::revocation_covers`]), and a refresh token is revoked by its own call;
//! - another 2xx: `failed` (not described);
//! - 429: transient, retried after `Retry-After` or the body's `retry_after` ("The number of
//!   seconds to wait before submitting another request", Rate Limits,
//!   <https://discord.com/developers/docs/topics/rate-limits>, read 2026-12-04); 5xx transient;
//! - anything else (401 bad client credentials, 400 `invalid_request`, ...): `failed`.

use std::time::Duration;

use serde_json::Value;

use crate::http::{Attempt, Ctx, Failure, confidential, retryable};
use crate::rfc7009::{self, Client};
use crate::{ClientCredentials, Outcome, Platform, Token, TokenType};

pub(crate) async fn revoke(
    ctx: &Ctx<'_>,
    credentials: Option<&ClientCredentials>,
    token: &Token,
    token_type: TokenType,
) -> Attempt {
    let (id, secret) = confidential(credentials, Platform::Discord)?;
    let client = Client::Confidential { id, secret };
    let agent = credentials.map(crate::user_agent::discord);
    let answer = rfc7009::send(ctx, Platform::Discord, client, token, token_type, agent).await?;
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
