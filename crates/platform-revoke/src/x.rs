//! X (formerly Twitter), OAuth 2.0 user tokens.
//!
//! **Request.** OAuth 2.0 Authorization Code Flow with PKCE, "Step 6: POST oauth2/revoke"
//! (<https://docs.x.com/fundamentals/authentication/oauth-2-0/user-access-token>; its text read
//! 2026-12-04 from the docs' source, xdevplatform/docs `user-access-token.mdx` 1f5173f, the
//! stored page showing only its beginning): "A revoke token invalidates an access token or
//! refresh token". `POST https://api.x.com/2/oauth2/revoke`, `application/x-www-form-urlencoded`,
//! `token` and `token_type_hint`. A confidential client authenticates with HTTP Basic
//! (`client_id:client_secret`; "You don't need client id for confidential clients with a valid
//! Authorization Header"); a public client sends `client_id` in the form, as the page's example
//! does. Nothing travels in the URL.
//!
//! **Answers.** The page does not show the answer's body. X's official TypeScript SDK
//! (xdevplatform/twitter-api-typescript-sdk, `src/OAuth2User.ts`, re-read 2026-12-07:
//! `interface RevokeAccessTokenResponse { revoked: boolean; }`, the return type of
//! `revokeAccessToken`) types it `{revoked: boolean}`, and that is the only reading made. It
//! revokes the one token sent ("A revoke token invalidates an access token or refresh token"),
//! so nothing is covered `via` it:
//! - 2xx with `{"revoked": true}`: `revoked`;
//! - 2xx with `{"revoked": false}`: `failed` (`revoked false`): X says it did not revoke;
//! - 2xx with any other body: `failed` (an answer the documentation does not describe);
//! - 429 ("429 Too Many Requests", Rate limits,
//!   <https://docs.x.com/fundamentals/rate-limits>, read 2026-12-04): transient, retried after
//!   `x-rate-limit-reset` ("Unix timestamp when the limit resets"); 408 and 5xx: transient;
//! - anything else (401 bad client credentials, 400 `invalid_request`, ...): `failed`, with the
//!   code. X's 400 for an unknown token is not documented, so it is not "already revoked".

use serde_json::Value;

use crate::http::{Attempt, Ctx, Failure, Reply, retryable, until_epoch};
use crate::rfc7009::{self, Client};
use crate::{ClientCredentials, Outcome, Platform, Token, TokenType};

pub(crate) async fn revoke(
    ctx: &Ctx<'_>,
    credentials: Option<&ClientCredentials>,
    token: &Token,
    token_type: TokenType,
) -> Attempt {
    let Some(credentials) = credentials else {
        return Err(Failure::Permanent(
            "no x client credentials (clientId, and clientSecret for a confidential client) in \
             the credentials secret"
                .to_owned(),
        ));
    };
    let id = credentials.client_id();
    let client = match credentials.client_secret() {
        Some(secret) => Client::Confidential { id, secret },
        None => Client::Public { id },
    };
    classify(&rfc7009::send(ctx, Platform::X, client, token, token_type, None).await?)
}

fn classify(answer: &Reply) -> Attempt {
    if answer.status.is_success() {
        return match answer.json().as_ref().and_then(|j| j.get("revoked")) {
            Some(Value::Bool(true)) => Ok(Outcome::Revoked),
            Some(Value::Bool(false)) => Err(Failure::Permanent(format!(
                "{}: revoked false",
                answer.reason(None)
            ))),
            _ => Err(answer.unrecognised()),
        };
    }
    let code = answer.oauth_error();
    if retryable(answer.status) {
        let reset = answer
            .header("x-rate-limit-reset")
            .and_then(|r| r.trim().parse::<u64>().ok())
            .map(until_epoch);
        return Err(Failure::Transient {
            reason: answer.reason(code.as_deref()),
            after: answer.retry_after().or(reset),
        });
    }
    Err(answer.failure(code.as_deref()))
}
