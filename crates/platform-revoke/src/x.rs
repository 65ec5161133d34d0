//! X (formerly Twitter), OAuth 2.0 user tokens.
//!
//! Documented call: <https://docs.x.com/fundamentals/authentication/oauth-2-0/user-access-token>
//! (OAuth 2.0 Authorization Code Flow with PKCE): `POST https://api.x.com/2/oauth2/revoke`,
//! `application/x-www-form-urlencoded`, fields `token` and `token_type_hint`
//! (`access_token` or `refresh_token`; X answers `invalid_request` "Missing required parameter
//! [token_type_hint]" without it, so it is always sent).
//!
//! Client authentication, from the same page: "If you are working with confidential clients,
//! you will need to use a basic authentication scheme for generating an authorization header
//! with base64 encoding while making requests to the token endpoints", the client id and secret
//! joined by `:`. So a confidential client (the secret holds `clientSecret`) sends
//! `Authorization: Basic base64(client_id:client_secret)` and no client fields in the form; a
//! public client (no `clientSecret`) sends `client_id` in the form, as the page's example does.
//!
//! Verdicts: 2xx revoked (`{"revoked": true}`; RFC 7009 also answers 200 for an invalid
//! token); 408, 429, 5xx transient; 400 with `invalid_token`, or with `invalid_request` whose
//! description says "Value passed for the token was invalid" (X's answer for an unknown token at
//! its OAuth 2.0 endpoints), already revoked; anything else (401 or `invalid_client` for bad
//! client credentials, `unauthorized_client`, other 4xx) permanent.

use serde_json::Value;

use crate::http::{Answer, Ctx, Failure, Verdict, retryable};
use crate::{ClientCredentials, Outcome, Token, TokenType};

pub(crate) const PATH: &str = "/2/oauth2/revoke";

pub(crate) async fn revoke(
    ctx: &Ctx<'_>,
    credentials: Option<&ClientCredentials>,
    token: &Token,
    token_type: TokenType,
) -> Verdict {
    let Some(credentials) = credentials else {
        return Err(Failure::Permanent(
            "no x client credentials (clientId, and clientSecret for a confidential client) in \
             the credentials secret"
                .to_owned(),
        ));
    };
    let url = ctx.url(PATH)?;
    let hint = token_type.as_str();
    let request = match credentials.client_secret() {
        Some(secret) => ctx
            .client
            .post(url)
            .basic_auth(credentials.client_id(), Some(secret))
            .form(&[("token", token.expose()), ("token_type_hint", hint)]),
        None => ctx.client.post(url).form(&[
            ("token", token.expose()),
            ("token_type_hint", hint),
            ("client_id", credentials.client_id()),
        ]),
    };
    classify(&ctx.send(request).await?)
}

fn classify(answer: &Answer) -> Verdict {
    if answer.status.is_success() {
        return Ok(Outcome::Revoked);
    }
    let json = answer.json().unwrap_or(Value::Null);
    let code = json.get("error").and_then(Value::as_str);
    let description = json
        .get("error_description")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_lowercase();
    let dead = code == Some("invalid_token")
        || (code == Some("invalid_request") && description.contains("token was invalid"));
    if dead {
        Ok(Outcome::AlreadyRevoked)
    } else if retryable(answer.status) {
        Err(Failure::Transient(answer.reason(code)))
    } else {
        Err(Failure::Permanent(answer.reason(code)))
    }
}
