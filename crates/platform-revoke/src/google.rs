//! Google (YouTube, Google Business Profile, any Google API).
//!
//! **Request.** Using OAuth 2.0 for Web Server Applications, "Token revocation"
//! (<https://developers.google.com/identity/protocols/oauth2/web-server#tokenrevoke>, last
//! updated 2025-12-19; its text read 2026-12-04 from a copy of the page, the stored copies of
//! the address itself showing only its beginning): `POST https://oauth2.googleapis.com/revoke`,
//! `application/x-www-form-urlencoded`, the token as the parameter `token` (sent here in the
//! body, as the page's form sample does). "The token can be an access token or a refresh token.
//! If the token is an access token and it has a corresponding refresh token, the refresh token
//! will also be revoked." No client credentials.
//!
//! **Answers.** "If the revocation is successfully processed, then the HTTP status code of the
//! response is 200. For error conditions, an HTTP status code 400 is returned along with an error
//! code." (Re-read 2026-12-07 from a copy of the page.) So:
//! - 200: `revoked` ("it might take some time before the revocation has full effect"). Google
//!   answers an error, not 200, for what it cannot revoke, so a 200 proves the grant's end:
//!   "Revocation removes all OAuth 2.0 scopes previously granted to a project, invalidating any
//!   issued access or refresh tokens", and the grant's other tokens are covered by it (see
//!   [`crate::Platform::revocation_covers`]);
//! - 400, whatever its code: `failed`, with the code. The page names no code: the 400
//!   `invalid_token` that an expired or already revoked token is often said to get is not
//!   documented, so it is not read as "already revoked";
//! - 408, 429, 5xx: transient, retried (with `Retry-After` when sent; none is documented);
//! - any other answer, another 2xx included: `failed`.

use crate::http::{Attempt, Ctx};
use crate::{Endpoints, Outcome, Platform, Token};

const PATH: &str = Endpoints::revoke_path(Platform::Google);

pub(crate) async fn revoke(ctx: &Ctx<'_>, token: &Token) -> Attempt {
    let request = ctx
        .client
        .post(ctx.url(PATH)?)
        .form(&[("token", token.expose())]);
    let answer = ctx.send(request).await?;
    match answer.status.as_u16() {
        200 => Ok(Outcome::Revoked),
        _ if answer.status.is_success() => Err(answer.unrecognised()),
        _ => Err(answer.failure(answer.oauth_error().as_deref())),
    }
}
