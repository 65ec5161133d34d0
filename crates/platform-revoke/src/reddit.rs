//! Reddit.
//!
//! **Request.** Reddit's OAuth2 wiki, "Manually Revoking a Token"
//! (<https://github.com/reddit-archive/reddit/wiki/OAuth2>, read 2026-12-04): "POST to
//! `https://www.reddit.com/api/v1/revoke_token`", with `token=TOKEN&token_type_hint=TOKEN_TYPE`
//! "in your POST data (not in the URL)"; "Your client must be authenticated using HTTP Basic
//! Authentication in the same manner as when requesting the original token."
//!
//! **User-Agent.** The form Reddit's API rules ask for, `<platform>:<app ID>:<version string>
//! (by /u/<reddit username>)`, with the parts from the credentials secret (see `user_agent`).
//!
//! **Answers** (wiki read 2026-12-07; Reddit's source,
//! reddit-archive/reddit `r2/r2/controllers/oauth2.py` `POST_revoke_token`, read 2026-12-07).
//! - 204: `revoked`. The wiki: "Note: Per RFC 7009, this request will return a success (204)
//!   response even if the passed in `token` was never valid"; the source: "In success cases,
//!   this endpoint returns no data", `response.status = 204`. Either way the token sent no
//!   longer works after the call, and that is all a 204 says: it proves nothing about the
//!   token's siblings ("Revoking a refresh token will also revoke any related access tokens!"
//!   holds only for a refresh token that was valid), so nothing is covered `via` it (see
//!   [`crate::Platform::revocation_covers`]).
//! - 200: `unconfirmed`. It is RFC 7009 §2.2's success status, the rule the wiki says the call
//!   follows, but neither the wiki nor the source gives it for this call;
//! - another 2xx: `failed` (an answer the documentation does not describe);
//! - 401 ("Client credentials sent as HTTP Basic Authorization were invalid"): `failed`;
//! - 429 and 5xx: transient, retried after `Retry-After` or Reddit's `X-Ratelimit-Reset`
//!   ("Approximate number of seconds to end of period", the API wiki,
//!   <https://github.com/reddit/reddit/wiki/API>, read 2026-12-04);
//! - anything else (400 `unauthorized_client`, another client's token, per Reddit's source
//!   code): `failed`, with the code.

use std::time::Duration;

use crate::http::{Attempt, Ctx, Failure, confidential, retryable};
use crate::rfc7009::{self, Client};
use crate::{ClientCredentials, Outcome, Platform, Token, TokenType};

pub(crate) async fn revoke(
    ctx: &Ctx<'_>,
    credentials: Option<&ClientCredentials>,
    token: &Token,
    token_type: TokenType,
) -> Attempt {
    let (id, secret) = confidential(credentials, Platform::Reddit)?;
    let client = Client::Confidential { id, secret };
    let agent = credentials.map(crate::user_agent::reddit);
    let answer = rfc7009::send(ctx, Platform::Reddit, client, token, token_type, agent).await?;
    match answer.status.as_u16() {
        204 => return Ok(Outcome::Revoked),
        200 => return Ok(Outcome::Unconfirmed),
        _ if answer.status.is_success() => return Err(answer.unrecognised()),
        _ => {}
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
