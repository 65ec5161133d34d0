//! Meta: Facebook Login tokens (`facebook`, and `instagram` connected through Facebook Login).
//!
//! **Which login.** A token item's `loginFlow` says which Meta product issued the token:
//! `facebook_login` (the default, for items written before the attribute existed) or
//! `instagram_login`. An Instagram User token from "Instagram API with Instagram Login" is not a
//! Facebook token, and that product documents no revoke call: its reference lists the token
//! exchange and refresh calls on `graph.instagram.com` only
//! (<https://developers.facebook.com/documentation/instagram-platform/reference/refresh_access_token>,
//! <https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login/business-login>,
//! updated 2026-03-13, both read 2026-12-04): such a token is `unsupported`
//! (`instagram_login_documents_no_revoke_call`), and nothing is sent to Facebook.
//!
//! **Request.** Requesting and Revoking Permissions
//! (<https://developers.facebook.com/docs/facebook-login/guides/permissions/request-revoke>,
//! updated 2026-03-03, read 2026-12-04 from a copy of the page): "You can also let people
//! completely de-authorize an app, or revoke authorization for login, by making a call to this
//! Graph API endpoint: `DELETE /{user-id}/permissions`. This request must be made with a valid
//! user access token". `me` names the token's own user. So that the token never travels in a
//! URL (where proxies and servers log it), the call goes as a one-operation batch, whose
//! parameters are form fields of a POST: Batch Requests
//! (<https://developers.facebook.com/docs/graph-api/batch-requests>, read 2026-12-04: "send a
//! POST request to an endpoint where the batch parameter is your JSON object"; operations may
//! be DELETEs), with `access_token` and `appsecret_proof` as form fields, as Securing Requests
//! shows them (<https://developers.facebook.com/docs/graph-api/guides/secure-requests>, read
//! 2026-12-04 from a copy: `curl -F 'access_token=…' -F 'appsecret_proof=…' -F 'batch=[…]'
//! https://graph.facebook.com`). `appsecret_proof` (hex HMAC-SHA256 of the token keyed by the
//! app secret) is sent when the Meta app's credentials are configured.
//!
//! **Which token.** A Facebook *user* access token (what Facebook Login returns): the page says
//! the call "must be made with a valid user access token or an app access token for the current
//! app" (re-read 2026-12-07 from a copy of the page). docs/data-contract.md asks the token
//! writers to store that one. A Page access token is not one: with it, `me` is the Page, which
//! has no `permissions` to delete. Meta documents no error for that case: Handling Errors
//! (<https://developers.facebook.com/docs/graph-api/guides/error-handling>, read 2026-12-07)
//! lists codes 1, 2, 3, 4, 10, 17, 102, 190, 200-299, 341, 368, 506, 1609005 and the 190
//! subcodes, none of which says "a Page token". So a Page token's answer cannot be told apart
//! from other errors and is not guessed at: it is `failed` with the Graph error's type, code
//! and subcode, like any other error.
//!
//! **Answers.** The batch answers an array with one `{"code": ..., "body": "<JSON text>"}`; an
//! error of the whole request comes as a plain Graph error. Graph errors
//! (<https://developers.facebook.com/docs/graph-api/guides/error-handling>, read 2026-12-07):
//! - the operation's 200 with `true`: `revoked` ("If the request is successful, your app
//!   receives a response of `true`. If the call is successful, any user access token for the
//!   person will be invalidated"). A valid token is required for it, so it proves the grant's
//!   end and covers the person's other access tokens (see
//!   [`crate::Platform::revocation_covers`]);
//! - the operation's 200 with `{"success": true}`: `unconfirmed`. It is the Graph API's usual
//!   answer to a write, but neither the Requesting & Revoking page nor the User permissions
//!   reference (<https://developers.facebook.com/docs/graph-api/reference/user/permissions/>,
//!   read 2026-12-07: "If the request is successful, you will receive a response of true")
//!   gives it for this call;
//! - codes 4, 17, 32, 341 and 613 (throttling and application limits, "Wait and retry the
//!   operation"; Rate Limiting, <https://developers.facebook.com/docs/graph-api/overview/rate-limiting>)
//!   and 1, 2 (temporary): transient, retried; so are HTTP 408, 429 and 5xx;
//! - code 190 (and its subcodes: 463 expired, 467 invalid, 460 password changed, 458 app not
//!   installed, ...) says the *token* cannot be used, not that the grant is gone: `failed`, with
//!   code and subcode;
//! - any other error or answer: `failed`.
//!
//! **Token types.** Meta issues no refresh tokens; a `refresh_token` item fails without a
//! request.

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::http::{Attempt, Ctx, Failure, Reply, retryable, sanitize};
use crate::{ClientCredentials, Endpoints, LoginFlow, Outcome, Platform, Token, TokenType};

/// The batch goes to the Graph API's root.
const PATH: &str = Endpoints::revoke_path(Platform::Meta);

/// The Graph API version of the call: the newest in the documentation this crate follows.
/// Versions live about two years; move it forward with the platform.
pub const GRAPH_API_VERSION: &str = "v25.0";

/// The reason code of an Instagram Login token.
pub(crate) const INSTAGRAM_LOGIN: &str = "instagram_login_documents_no_revoke_call";

/// Meta's codes for temporary failures and throttling (see the module documentation).
const TRANSIENT_CODES: &[i64] = &[1, 2, 4, 17, 32, 341, 613];

/// The batch's one operation.
pub(crate) fn operation() -> String {
    json!([{"method": "DELETE", "relative_url": format!("{GRAPH_API_VERSION}/me/permissions")}])
        .to_string()
}

pub(crate) async fn revoke(
    ctx: &Ctx<'_>,
    credentials: Option<&ClientCredentials>,
    token: &Token,
    token_type: TokenType,
    login_flow: LoginFlow,
) -> Attempt {
    if login_flow == LoginFlow::InstagramLogin {
        return Ok(Outcome::Unsupported(INSTAGRAM_LOGIN));
    }
    if token_type == TokenType::RefreshToken {
        return Err(Failure::Permanent(
            "meta issues no refresh tokens: only an access token can be revoked".to_owned(),
        ));
    }
    let operation = operation();
    let mut form = vec![
        ("access_token", token.expose().to_owned()),
        ("batch", operation),
        ("include_headers", "false".to_owned()),
    ];
    if let Some(secret) = credentials.and_then(ClientCredentials::client_secret) {
        form.push(("appsecret_proof", appsecret_proof(token.expose(), secret)));
    }
    let request = ctx.client.post(ctx.url(PATH)?).form(&form);
    classify(&ctx.send(request).await?)
}

/// Hex HMAC-SHA256 of `token` keyed by the app secret.
pub(crate) fn appsecret_proof(token: &str, app_secret: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(token.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn classify(answer: &Reply) -> Attempt {
    let json = answer.json();
    // An error of the whole request.
    if let Some(error) = json.as_ref().and_then(|j| j.get("error")?.as_object()) {
        return Err(graph_error(answer.status.as_u16(), error));
    }
    if !answer.status.is_success() {
        return Err(answer.failure(None));
    }
    let Some(Value::Array(results)) = json else {
        return Err(answer.unrecognised());
    };
    let [result] = results.as_slice() else {
        return Err(answer.unrecognised());
    };
    let code = result.get("code").and_then(Value::as_u64).unwrap_or(0) as u16;
    let body: Option<Value> = result
        .get("body")
        .and_then(Value::as_str)
        .and_then(|b| serde_json::from_str(b).ok());
    if let Some(error) = body.as_ref().and_then(|b| b.get("error")?.as_object()) {
        return Err(graph_error(code, error));
    }
    let documented = body == Some(Value::Bool(true));
    let success_struct = body
        .as_ref()
        .and_then(Value::as_object)
        .is_some_and(|o| o.len() == 1 && o.get("success") == Some(&Value::Bool(true)));
    match code {
        200 if documented => Ok(Outcome::Revoked),
        200 if success_struct => Ok(Outcome::Unconfirmed),
        _ if retryable_code(code) => Err(Failure::transient(format!("operation http {code}"))),
        _ => Err(Failure::Permanent(format!(
            "operation http {code}: an answer the documentation does not describe"
        ))),
    }
}

fn retryable_code(code: u16) -> bool {
    reqwest::StatusCode::from_u16(code).is_ok_and(retryable)
}

/// A Graph error: transient for the temporary and throttling codes (and HTTP 408/429/5xx),
/// else a failure with its type, code and subcode.
fn graph_error(status: u16, error: &serde_json::Map<String, Value>) -> Failure {
    let code = error.get("code").and_then(Value::as_i64);
    let subcode = error.get("error_subcode").and_then(Value::as_i64);
    let kind = error.get("type").and_then(Value::as_str).map(sanitize);
    let mut words = Vec::new();
    words.extend(kind.map(str::to_owned));
    words.extend(code.map(|code| format!("code {code}")));
    words.extend(subcode.map(|subcode| format!("subcode {subcode}")));
    let reason = format!("http {status} ({})", words.join(" "));
    let transient = code.is_some_and(|c| TRANSIENT_CODES.contains(&c)) || retryable_code(status);
    if transient {
        Failure::transient(reason)
    } else {
        Failure::Permanent(reason)
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

    #[test]
    fn the_operation_deletes_the_tokens_own_permissions_at_the_pinned_version() {
        assert_eq!(
            operation(),
            r#"[{"method":"DELETE","relative_url":"v25.0/me/permissions"}]"#
        );
    }
}
