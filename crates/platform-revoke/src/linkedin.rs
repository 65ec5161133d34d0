//! LinkedIn.
//!
//! **No official documentation of a revoke call was found** (searched 2026-12-04): LinkedIn's
//! OAuth pages on learn.microsoft.com document the authorization code flow, refresh tokens and
//! `POST /oauth/v2/introspectToken`
//! (<https://learn.microsoft.com/en-us/linkedin/shared/authentication/token-introspection>,
//! read 2026-12-04), not `/oauth/v2/revoke`. The call made is the one LinkedIn's OAuth server
//! answers at that path, with the client authentication of its documented sibling:
//! `POST https://www.linkedin.com/oauth/v2/revoke`, `application/x-www-form-urlencoded`, fields
//! `client_id`, `client_secret`, `token`.
//!
//! **Answers.** None is documented, so none is read as a fact:
//! - 2xx: `unconfirmed` (an outcome of its own, counted as `TokensUnconfirmed`): the server said
//!   yes to a call no page describes;
//! - 408, 429, 5xx: transient, retried;
//! - anything else: `failed`, with the status and the OAuth error code when there is one.

use crate::http::{Attempt, Ctx, confidential};
use crate::{ClientCredentials, Endpoints, Outcome, Platform, Token};

const PATH: &str = Endpoints::revoke_path(Platform::LinkedIn);

pub(crate) async fn revoke(
    ctx: &Ctx<'_>,
    credentials: Option<&ClientCredentials>,
    token: &Token,
) -> Attempt {
    let (client_id, client_secret) = confidential(credentials, Platform::LinkedIn)?;
    let request = ctx.client.post(ctx.url(PATH)?).form(&[
        ("client_id", client_id),
        ("client_secret", client_secret),
        ("token", token.expose()),
    ]);
    let answer = ctx.send(request).await?;
    if answer.status.is_success() {
        return Ok(Outcome::Unconfirmed);
    }
    Err(answer.failure(answer.oauth_error().as_deref()))
}
