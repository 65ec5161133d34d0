//! Google (YouTube, Google Business Profile, any Google API).
//!
//! Documented call: <https://developers.google.com/identity/protocols/oauth2/web-server#tokenrevoke>
//! ("Revoking a token"): `POST https://oauth2.googleapis.com/revoke` with the form field `token`,
//! which may be an access token or a refresh token (revoking an access token that has a refresh
//! token revokes that too). No client credentials. "If the revocation is successfully processed,
//! then the HTTP status code of the response is 200. For error conditions, an HTTP status code
//! 400 is returned along with an error code." A token that is already revoked or expired answers
//! 400 `{"error": "invalid_token", ...}`.
//!
//! Verdicts: 2xx revoked; 400 `invalid_token` already revoked; 408, 429, 5xx transient; any
//! other answer permanent.

use crate::http::{Ctx, Verdict, by_status};
use crate::{Outcome, Token};

pub(crate) const PATH: &str = "/revoke";

pub(crate) async fn revoke(ctx: &Ctx<'_>, token: &Token) -> Verdict {
    let request = ctx
        .client
        .post(ctx.url(PATH)?)
        .form(&[("token", token.expose())]);
    let answer = ctx.send(request).await?;
    if answer.status.as_u16() == 400 && answer.oauth_error().as_deref() == Some("invalid_token") {
        return Ok(Outcome::AlreadyRevoked);
    }
    by_status(&answer)
}
