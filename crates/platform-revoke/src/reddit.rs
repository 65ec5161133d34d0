//! Reddit.
//!
//! **Request.** Reddit's OAuth2 wiki, "Manually Revoking a Token"
//! (<https://github.com/reddit-archive/reddit/wiki/OAuth2>, read 2026-12-04): "POST to
//! `https://www.reddit.com/api/v1/revoke_token`", with `token=TOKEN&token_type_hint=TOKEN_TYPE`
//! "in your POST data (not in the URL)"; "Your client must be authenticated using HTTP Basic
//! Authentication in the same manner as when requesting the original token."
//!
//! **Answers.**
//! - 204, or another 2xx: `revoked`. The wiki: "Per RFC 7009, this request will return a success
//!   (204) response even if the passed in token was never valid", and RFC 7009 §2.2 answers 200
//!   "if the token has been revoked successfully or if the client submitted an invalid token":
//!   either way the token no longer works after the call. "Revoking a refresh token will also
//!   revoke any related access tokens!"
//! - 401 ("Client credentials sent as HTTP Basic Authorization were invalid"): `failed`;
//! - 429 and 5xx: transient, retried after `Retry-After` or Reddit's `X-Ratelimit-Reset`
//!   ("Approximate number of seconds to end of period", the API wiki,
//!   <https://github.com/reddit/reddit/wiki/API>, read 2026-12-04);
//! - anything else (400 `unauthorized_client`, another client's token, per Reddit's source
//!   code): `failed`, with the code.

use std::time::Duration;

use crate::http::{Attempt, Ctx, Failure, confidential, retryable};
use crate::{ClientCredentials, Outcome, Platform, Token, TokenType};

pub(crate) const PATH: &str = "/api/v1/revoke_token";

pub(crate) async fn revoke(
    ctx: &Ctx<'_>,
    credentials: Option<&ClientCredentials>,
    token: &Token,
    token_type: TokenType,
) -> Attempt {
    let (client_id, client_secret) = confidential(credentials, Platform::Reddit)?;
    let request = ctx
        .client
        .post(ctx.url(PATH)?)
        .basic_auth(client_id, Some(client_secret))
        .form(&[
            ("token", token.expose()),
            ("token_type_hint", token_type.as_str()),
        ]);
    let answer = ctx.send(request).await?;
    if answer.status.is_success() {
        return Ok(Outcome::Revoked);
    }
    let code = answer.oauth_error();
    if retryable(answer.status) {
        let reset = answer
            .header("x-ratelimit-reset")
            .and_then(|r| r.trim().parse::<f64>().ok())
            .and_then(|s| Duration::try_from_secs_f64(s).ok());
        return Err(Failure::Transient {
            reason: answer.reason(code.as_deref()),
            after: answer.retry_after().or(reset),
        });
    }
    Err(answer.failure(code.as_deref()))
}
