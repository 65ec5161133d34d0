//! LinkedIn.
//!
//! Call: `POST https://www.linkedin.com/oauth/v2/revoke`, `application/x-www-form-urlencoded`,
//! fields `client_id`, `client_secret` and `token`: the endpoint the issue names, on the host and
//! path prefix of LinkedIn's OAuth 2.0 endpoints
//! (<https://learn.microsoft.com/en-us/linkedin/shared/authentication/authorization-code-flow>),
//! with the client authentication of its sibling `POST /oauth/v2/introspectToken`
//! (<https://learn.microsoft.com/en-us/linkedin/shared/authentication/token-introspection>:
//! `client_id`, `client_secret`, `token` form fields). The stored copies of LinkedIn's
//! documentation describe no response of the revoke call itself, so the answer is read as an
//! RFC 7009 revocation endpoint answers (<https://www.rfc-editor.org/rfc/rfc7009#section-2.2>):
//! 200 for a revoked token and for an invalid one, an RFC 6749 error body otherwise.
//!
//! Verdicts: 2xx revoked; 408, 429, 5xx transient; an error saying the token is dead, already
//! revoked: the OAuth codes `invalid_token` and `invalid_grant`, and LinkedIn's API error body
//! (`{"status": 401, "serviceErrorCode": 65601, "code": "REVOKED_ACCESS_TOKEN", ...}`, as its
//! other endpoints answer) with `code` `REVOKED_ACCESS_TOKEN`, `EXPIRED_ACCESS_TOKEN` or
//! `INVALID_ACCESS_TOKEN`, or `serviceErrorCode` 65600 (invalid), 65601 (revoked) or 65602
//! (expired); anything else (`invalid_client` for bad credentials, `invalid_request`, ...)
//! permanent.
//!
//! Both token types are sent as `token` (LinkedIn documents no `token_type_hint`).

use serde_json::Value;

use crate::http::{Answer, Ctx, Failure, Verdict, confidential, retryable};
use crate::{ClientCredentials, Outcome, Platform, Token};

pub(crate) const PATH: &str = "/oauth/v2/revoke";

pub(crate) async fn revoke(
    ctx: &Ctx<'_>,
    credentials: Option<&ClientCredentials>,
    token: &Token,
) -> Verdict {
    let (client_id, client_secret) = confidential(credentials, Platform::LinkedIn)?;
    let request = ctx.client.post(ctx.url(PATH)?).form(&[
        ("client_id", client_id),
        ("client_secret", client_secret),
        ("token", token.expose()),
    ]);
    classify(&ctx.send(request).await?)
}

fn classify(answer: &Answer) -> Verdict {
    if answer.status.is_success() {
        return Ok(Outcome::Revoked);
    }
    let json = answer.json().unwrap_or(Value::Null);
    let oauth_error = json.get("error").and_then(Value::as_str);
    let api_code = json.get("code").and_then(Value::as_str);
    let service_code = json.get("serviceErrorCode").and_then(Value::as_i64);
    let dead = matches!(oauth_error, Some("invalid_token" | "invalid_grant"))
        || matches!(
            api_code,
            Some("REVOKED_ACCESS_TOKEN" | "EXPIRED_ACCESS_TOKEN" | "INVALID_ACCESS_TOKEN")
        )
        || matches!(service_code, Some(65600..=65602));
    if dead {
        return Ok(Outcome::AlreadyRevoked);
    }
    let code = oauth_error.or(api_code);
    if retryable(answer.status) {
        Err(Failure::Transient(answer.reason(code)))
    } else {
        Err(Failure::Permanent(answer.reason(code)))
    }
}
