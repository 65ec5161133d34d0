//! Meta: Facebook, and Instagram through Facebook Login.
//!
//! Documented call: <https://developers.facebook.com/docs/facebook-login/guides/permissions/request-revoke>
//! ("Revoking Permissions": an app can "completely de-authorize" itself, "revoke login", with
//! `DELETE /{user-id}/permissions`, made with a user access token or the app's token) and
//! <https://developers.facebook.com/docs/graph-api/reference/user/permissions/> (the edge; "If
//! the request is successful, you will receive a response of true", which current Graph API
//! versions send as `{"success": true}`; both are read). `me` names the token's own user, so
//! no user id is needed: `DELETE https://graph.facebook.com/v25.0/me/permissions` with the token
//! in the `access_token` query parameter (a DELETE has no form body in the Graph SDKs either).
//!
//! When the Meta app's credentials are in the secret, `appsecret_proof` (hex HMAC-SHA256 of the
//! token keyed by the app secret) is sent too: apps with "Require App Secret" refuse calls
//! without it (<https://developers.facebook.com/docs/graph-api/guides/secure-requests>).
//! Without credentials the call is made without it.
//!
//! Errors: <https://developers.facebook.com/docs/graph-api/guides/error-handling>, the body
//! `{"error": {"type": "OAuthException", "code": 190, "error_subcode": 463, "is_transient": false,
//! "fbtrace_id": ...}}`. Verdicts:
//! - code 190 ("Access token has expired": expired, revoked, invalid, app not installed,
//!   password changed, ...) and 102 (API session: login status or token expired or invalid):
//!   already revoked, except 190 with subcode 459 (user checkpointed) or 464 (unconfirmed
//!   user): the token is suspended until the user acts on facebook.com, not dead, and cannot be
//!   revoked meanwhile: permanent;
//! - `is_transient: true`, the temporary and throttling codes 1, 2, 4, 17, 32, 341, 368, 613,
//!   80001-80014, or HTTP 408/429/5xx: transient;
//! - any other error (10 and 200-299 permissions, 100 parameters, ...): permanent.
//!
//! Without an error: 2xx with `true` or `{"success": true}` revoked; 2xx with anything else
//! (`{"success": false}`, not JSON) transient; 408/429/5xx transient; else permanent.
//!
//! Token types: Meta issues no refresh tokens (short- and long-lived access tokens only). A
//! token of type `refresh_token` is therefore not a Meta token this call is documented for, and
//! fails permanently without a request rather than being sent as an access token.

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::http::{Answer, Ctx, Failure, Verdict, retryable, sanitize};
use crate::{ClientCredentials, Outcome, Token, TokenType};

/// The Graph API version of the call: the newest in the documentation this crate follows.
/// Versions live about two years; move it forward with the platform.
pub const GRAPH_API_VERSION: &str = "v25.0";

pub(crate) fn path() -> String {
    format!("/{GRAPH_API_VERSION}/me/permissions")
}

/// Meta's codes for temporary failures and throttling (see the module documentation).
const TRANSIENT_CODES: &[i64] = &[1, 2, 4, 17, 32, 341, 368, 613];

pub(crate) async fn revoke(
    ctx: &Ctx<'_>,
    credentials: Option<&ClientCredentials>,
    token: &Token,
    token_type: TokenType,
) -> Verdict {
    if token_type == TokenType::RefreshToken {
        return Err(Failure::Permanent(
            "meta issues no refresh tokens: only an access token can be revoked".to_owned(),
        ));
    }
    let mut url = ctx.url(&path())?;
    {
        let mut query = url.query_pairs_mut();
        query.append_pair("access_token", token.expose());
        if let Some(secret) = credentials.and_then(ClientCredentials::client_secret) {
            query.append_pair("appsecret_proof", &appsecret_proof(token.expose(), secret));
        }
    }
    classify(&ctx.send(ctx.client.delete(url)).await?)
}

/// Hex HMAC-SHA256 of `token` keyed by the app secret.
pub(crate) fn appsecret_proof(token: &str, app_secret: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(token.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn classify(answer: &Answer) -> Verdict {
    let json = answer.json();
    if let Some(error) = json
        .as_ref()
        .and_then(|json| json.get("error")?.as_object())
    {
        let code = error.get("code").and_then(Value::as_i64);
        let subcode = error.get("error_subcode").and_then(Value::as_i64);
        let transient = error.get("is_transient").and_then(Value::as_bool) == Some(true);
        let kind = error.get("type").and_then(Value::as_str).map(sanitize);
        let reason = describe(answer, kind, code, subcode);
        return match (code, subcode) {
            (Some(190), Some(459 | 464)) => Err(Failure::Permanent(reason)),
            (Some(190 | 102), _) => Ok(Outcome::AlreadyRevoked),
            (Some(code), _)
                if TRANSIENT_CODES.contains(&code) || (80001..=80014).contains(&code) =>
            {
                Err(Failure::Transient(reason))
            }
            _ if transient || retryable(answer.status) => Err(Failure::Transient(reason)),
            _ => Err(Failure::Permanent(reason)),
        };
    }
    if retryable(answer.status) {
        return Err(Failure::Transient(answer.reason(None)));
    }
    if !answer.status.is_success() {
        return Err(Failure::Permanent(answer.reason(None)));
    }
    let success = match &json {
        Some(Value::Bool(success)) => Some(*success),
        Some(json) => json.get("success").and_then(Value::as_bool),
        None => None,
    };
    match success {
        Some(true) => Ok(Outcome::Revoked),
        Some(false) => Err(Failure::Transient(format!(
            "{} with success false",
            answer.reason(None)
        ))),
        None => Err(Failure::Transient(format!(
            "{} without success true",
            answer.reason(None)
        ))),
    }
}

/// `http 400 (OAuthException code 190 subcode 463)`.
fn describe(
    answer: &Answer,
    kind: Option<&str>,
    code: Option<i64>,
    subcode: Option<i64>,
) -> String {
    let mut words = Vec::new();
    words.extend(kind.map(str::to_owned));
    words.extend(code.map(|code| format!("code {code}")));
    words.extend(subcode.map(|subcode| format!("subcode {subcode}")));
    if words.is_empty() {
        answer.reason(None)
    } else {
        format!("http {} ({})", answer.status.as_u16(), words.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appsecret_proof_is_the_hex_hmac_sha256_of_the_token_keyed_by_the_app_secret() {
        // RFC 4231, test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            appsecret_proof("what do ya want for nothing?", "Jefe"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
