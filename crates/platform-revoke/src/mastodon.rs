//! Mastodon: the account's own server.
//!
//! **Request.** OAuth methods, "Revoke a token"
//! (<https://docs.joinmastodon.org/methods/oauth/#revoke>; its text read 2026-12-04 from the
//! docs' source, mastodon/documentation `content/en/methods/oauth.md` 2903485): `POST
//! /oauth/revoke` on the account's server, form fields `client_id`, `client_secret` and `token`
//! ("Revoke an access token to make it no longer valid for use"). Mastodon has no refresh tokens.
//! Apps are registered per server, so the client comes from the credentials secret's
//! `mastodon.<server host>`.
//!
//! The server's host comes from data (the token item's `server`), so it passes the address guard
//! first ([`crate::ssrf`]): `https`, a public DNS name, every address public.
//!
//! **Answers.**
//! - 200 with `{}` or an empty body: `revoked`. "If you own the provided token, the API call
//!   will provide an empty response. This operation is idempotent, so calling this API multiple
//!   times will still return OK", its example being `{}` (re-read 2026-12-07 from the docs'
//!   source). Another body: `failed`, not described;
//! - 403 `unauthorized_client` ("If you provide a token you do not own, or no token at all"):
//!   `failed`;
//! - 429 and 5xx: transient, retried after `Retry-After` when sent (the rate-limit page,
//!   <https://docs.joinmastodon.org/api/rate-limits/>, gives 300 requests per 5 minutes);
//! - anything else, another 2xx included: `failed`.

use crate::http::{Attempt, Ctx, Failure};
use crate::{Credentials, Endpoints, Outcome, Platform, Token};

const PATH: &str = Endpoints::revoke_path(Platform::Mastodon);

pub(crate) async fn revoke(ctx: &Ctx<'_>, credentials: &Credentials, token: &Token) -> Attempt {
    let host = ctx.url("/")?.host_str().unwrap_or_default().to_owned();
    let Some(client) = credentials.mastodon_server(&host) else {
        return Err(Failure::Permanent(format!(
            "no mastodon client credentials for the server {host} in the credentials secret"
        )));
    };
    let Some(client_secret) = client.client_secret() else {
        return Err(Failure::Permanent(format!(
            "no mastodon client secret for the server {host}"
        )));
    };
    let request = ctx.client.post(ctx.url(PATH)?).form(&[
        ("client_id", client.client_id()),
        ("client_secret", client_secret),
        ("token", token.expose()),
    ]);
    let answer = ctx.send(request).await?;
    let empty = answer.is_empty()
        || answer
            .json()
            .as_ref()
            .and_then(serde_json::Value::as_object)
            .is_some_and(|o| o.is_empty());
    match answer.status.as_u16() {
        200 if empty => Ok(Outcome::Revoked),
        _ if answer.status.is_success() => Err(answer.unrecognised()),
        _ => Err(answer.failure(answer.oauth_error().as_deref())),
    }
}
