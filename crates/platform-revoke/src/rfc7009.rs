//! The revocation request X, Reddit and Discord document, written once: RFC 7009 §2.1's
//! (<https://www.rfc-editor.org/rfc/rfc7009#section-2.1>) `POST` to the platform's revoke path
//! ([`crate::Endpoints::revoke_path`]), form-encoded `token` and `token_type_hint`, the client
//! authenticated by HTTP Basic with its id and secret (RFC 6749 §2.3.1). A public client (X
//! allows one) has no secret: its `client_id` goes in the form and no `Authorization` is sent.
//! Each adapter's module cites its own page for the request, and reads the answer itself.

use reqwest::header::USER_AGENT;

use crate::http::{Ctx, Failure, Reply};
use crate::{Endpoints, Platform, Token, TokenType};

/// How the client is authenticated.
pub(crate) enum Client<'a> {
    /// HTTP Basic with the id and secret of a confidential client.
    Confidential { id: &'a str, secret: &'a str },
    /// The id of a public client, in the form.
    Public { id: &'a str },
}

/// Sends `platform`'s revocation of `token` (see the module), with `user_agent` where the
/// platform asks for its own form (see `user_agent`), else the client's default.
pub(crate) async fn send(
    ctx: &Ctx<'_>,
    platform: Platform,
    client: Client<'_>,
    token: &Token,
    token_type: TokenType,
    user_agent: Option<String>,
) -> Result<Reply, Failure> {
    let mut request = ctx.client.post(ctx.url(Endpoints::revoke_path(platform))?);
    if let Some(user_agent) = user_agent {
        request = request.header(USER_AGENT, user_agent);
    }
    let mut form = vec![
        ("token", token.expose()),
        ("token_type_hint", token_type.as_str()),
    ];
    let request = match client {
        Client::Confidential { id, secret } => request.basic_auth(id, Some(secret)),
        Client::Public { id } => {
            form.push(("client_id", id));
            request
        }
    };
    ctx.send(request.form(&form)).await
}
