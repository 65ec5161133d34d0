use platform_revoke::{
    Credentials, GRAPH_API_VERSION, LoginFlow, NoJournal, Outcome, Platform::Meta, TokenItem,
    TokenType,
};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{
    FormIs, NoAuthorization, REQUEST_TIMEOUT, TOKEN, answering_once, deadline,
    expecting_no_request, permanent, revoke, revoke_in_one_attempt, revoke_with, revoker,
    revoker_with, token, transient,
};

/// HMAC-SHA256 of [`TOKEN`] keyed by [`crate::CLIENT_SECRET`], hex (computed independently with
/// `printf %s "$TOKEN" | openssl dgst -sha256 -hmac "$CLIENT_SECRET"`).
const PROOF: &str = "a74459bc0c6e7a2be659009c47d8e43ef5bfb8f47dfbef1fc98cfc9590bc9e08";

/// The batch's one operation: `DELETE v25.0/me/permissions`.
const BATCH: &str = r#"[{"method":"DELETE","relative_url":"v25.0/me/permissions"}]"#;

/// The documented request: `POST /` (the Graph root), form `access_token`, `batch`,
/// `include_headers=false` and `appsecret_proof` (when the app secret is known), no query, no
/// Authorization header.
fn revoke_call(with_proof: bool) -> wiremock::MockBuilder {
    assert_eq!(GRAPH_API_VERSION, "v25.0");
    let form: &'static [(&str, &str)] = if with_proof {
        &[
            ("access_token", TOKEN),
            ("batch", BATCH),
            ("include_headers", "false"),
            ("appsecret_proof", PROOF),
        ]
    } else {
        &[
            ("access_token", TOKEN),
            ("batch", BATCH),
            ("include_headers", "false"),
        ]
    };
    Mock::given(method("POST"))
        .and(path("/"))
        .and(FormIs(form))
        .and(NoAuthorization)
}

async fn answering(template: ResponseTemplate) -> MockServer {
    answering_once(revoke_call(true), template).await
}

/// The batch's answer: its one operation's status and body (a JSON text).
fn batch(code: u16, body: &Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!([{"code": code, "body": body.to_string()}]))
}

fn graph_error(code: i64, subcode: Option<i64>) -> Value {
    let mut error = json!({
        "message": "Error validating access token",
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "AbCdEf"
    });
    if let Some(subcode) = subcode {
        error["error_subcode"] = json!(subcode);
    }
    json!({ "error": error })
}

/// "If the request is successful, your app receives a response of `true`."
#[tokio::test]
async fn meta_answers_the_operations_true_so_the_token_is_revoked() {
    let server = answering(batch(200, &json!(true))).await;
    assert_eq!(revoke(&server, Meta).await, Ok(Outcome::Revoked));
}

/// `{"success": true}` is the Graph API's usual answer to a write, but not the one its page
/// gives for this call: probably revoked, never claimed.
#[tokio::test]
async fn meta_answers_the_operations_success_true_so_the_revocation_is_unconfirmed() {
    let server = answering(batch(200, &json!({"success": true}))).await;
    assert_eq!(revoke(&server, Meta).await, Ok(Outcome::Unconfirmed));
}

/// A Page token: `me` is the Page, which has no permissions to delete. Meta documents no error
/// for this case, so it is not told apart: failed with the Graph error's words, like any other.
#[tokio::test]
async fn meta_answers_a_page_tokens_error_so_the_revocation_fails_with_its_code() {
    let page_error = json!({"error": {
        "message": "Unsupported delete request.",
        "type": "GraphMethodException",
        "code": 100,
        "error_subcode": 33,
        "fbtrace_id": "AbCdEf"
    }});
    let server = answering(batch(400, &page_error)).await;
    let error = permanent(revoke(&server, Meta).await, Meta);
    assert_eq!(
        error.reason(),
        "http 400 (GraphMethodException code 100 subcode 33)"
    );
}

#[tokio::test]
async fn meta_without_the_app_secret_revokes_without_appsecret_proof() {
    let server = answering_once(revoke_call(false), batch(200, &json!(true))).await;
    let revoker = revoker_with(&server, Credentials::default(), REQUEST_TIMEOUT);
    let outcome = revoke_with(
        &revoker,
        Meta,
        &token(),
        TokenType::AccessToken,
        &TokenItem::default(),
        deadline(),
        &NoJournal,
    )
    .await;
    assert_eq!(outcome, Ok(Outcome::Revoked));
}

/// Code 190 says the token cannot be used, not that the grant is gone: the revocation fails,
/// whether the operation or the whole request carries it.
#[tokio::test]
async fn meta_answers_oauth_exception_190_so_the_revocation_fails_with_its_code() {
    for subcode in [Some(463), Some(467), Some(460), Some(458), None] {
        let words = match subcode {
            Some(subcode) => format!("OAuthException code 190 subcode {subcode}"),
            None => "OAuthException code 190".to_owned(),
        };
        let error_body = graph_error(190, subcode);
        for answer in [
            batch(400, &error_body),
            ResponseTemplate::new(400).set_body_json(&error_body),
        ] {
            let server = answering(answer).await;
            let error = permanent(revoke(&server, Meta).await, Meta);
            assert!(error.reason().contains("code 190"), "{error}");
            assert_eq!(error.reason(), format!("http 400 ({words})"));
        }
    }
}

#[tokio::test]
async fn meta_answers_a_throttling_or_temporary_code_so_the_revocation_is_transient() {
    for code in [4, 17, 613, 32, 341, 1, 2] {
        for answer in [
            batch(400, &graph_error(code, None)),
            ResponseTemplate::new(400).set_body_json(graph_error(code, None)),
        ] {
            let server = answering(answer).await;
            let error = transient(revoke_in_one_attempt(&server, Meta).await, Meta);
            assert_eq!(
                error.reason(),
                format!("http 400 (OAuthException code {code})")
            );
        }
    }
}

#[tokio::test]
async fn meta_answers_5xx_or_429_so_the_revocation_is_transient() {
    for (answer, reason) in [
        (
            ResponseTemplate::new(500).set_body_string("oops"),
            "http 500",
        ),
        (ResponseTemplate::new(429), "http 429"),
        (batch(503, &json!({})), "operation http 503"),
        (batch(500, &json!(null)), "operation http 500"),
    ] {
        let server = answering(answer).await;
        let error = transient(revoke_in_one_attempt(&server, Meta).await, Meta);
        assert_eq!(error.reason(), reason);
    }
}

#[tokio::test]
async fn meta_answers_another_graph_error_so_the_revocation_fails() {
    let invalid_proof = json!({"error": {
        "message": "Invalid appsecret_proof provided in the API argument",
        "type": "GraphMethodException",
        "code": 100,
        "fbtrace_id": "x"
    }});
    for (answer, reason) in [
        (
            ResponseTemplate::new(400).set_body_json(&invalid_proof),
            "http 400 (GraphMethodException code 100)",
        ),
        (
            batch(403, &graph_error(200, None)),
            "http 403 (OAuthException code 200)",
        ),
        (
            batch(400, &graph_error(190, Some(459))),
            "http 400 (OAuthException code 190 subcode 459)",
        ),
    ] {
        let server = answering(answer).await;
        let error = permanent(revoke(&server, Meta).await, Meta);
        assert_eq!(error.reason(), reason);
    }
}

/// Only one operation answering 200 with `true` is the documented success (and `{"success":
/// true}` the unconfirmed one): anything else fails, a plain `{"success": true}` outside a
/// batch answer included.
#[tokio::test]
async fn meta_answers_something_the_batch_documentation_does_not_describe_so_the_revocation_fails()
{
    let undescribed = "http 200: an answer the documentation does not describe";
    let operation = "operation http 200: an answer the documentation does not describe";
    for (answer, reason) in [
        (batch(200, &json!(false)), operation),
        (batch(200, &json!({"success": false})), operation),
        (
            batch(200, &json!({"success": true, "revoked": 0})),
            operation,
        ),
        (batch(200, &json!({})), operation),
        (
            ResponseTemplate::new(200).set_body_json(json!([{"code": 200, "body": "not json"}])),
            operation,
        ),
        (
            batch(204, &json!(true)),
            "operation http 204: an answer the documentation does not describe",
        ),
        (
            ResponseTemplate::new(200).set_body_json(json!({"success": true})),
            undescribed,
        ),
        (
            ResponseTemplate::new(200).set_body_string("true"),
            undescribed,
        ),
        (
            ResponseTemplate::new(200).set_body_json(json!([])),
            undescribed,
        ),
        (
            ResponseTemplate::new(200).set_body_json(json!([
                {"code": 200, "body": "true"},
                {"code": 200, "body": "true"}
            ])),
            undescribed,
        ),
    ] {
        let server = answering(answer).await;
        let error = permanent(revoke(&server, Meta).await, Meta);
        assert_eq!(error.reason(), reason);
    }
}

/// Instagram API with Instagram Login documents no revoke call: nothing is sent to Facebook.
#[tokio::test]
async fn meta_instagram_login_token_is_unsupported_without_a_request() {
    let server = expecting_no_request().await;
    let item = TokenItem {
        login_flow: LoginFlow::InstagramLogin,
        ..TokenItem::default()
    };
    for token_type in [TokenType::AccessToken, TokenType::RefreshToken] {
        let outcome = revoke_with(
            &revoker(&server),
            Meta,
            &token(),
            token_type,
            &item,
            deadline(),
            &NoJournal,
        )
        .await;
        assert_eq!(
            outcome,
            Ok(Outcome::Unsupported(
                "instagram_login_documents_no_revoke_call"
            )),
            "{token_type}"
        );
    }
}

#[tokio::test]
async fn meta_refuses_a_refresh_token_permanently_without_a_request() {
    let server = expecting_no_request().await;
    let error = permanent(
        crate::revoke_as(&server, Meta, TokenType::RefreshToken).await,
        Meta,
    );
    assert!(error.reason().contains("no refresh tokens"), "{error}");
}
