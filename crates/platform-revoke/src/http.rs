//! What every adapter shares: the client, sending, reading the answer, and the words of a
//! failure (an HTTP status and a sanitised error code, never a body).

use std::sync::Arc;
use std::time::Duration;

use reqwest::{RequestBuilder, StatusCode, Url};
use serde_json::Value;

use crate::{ClientCredentials, Outcome, Platform};

/// At most this much of an answer is read: revoke answers are a few bytes of JSON.
const MAX_BODY: usize = 16 * 1024;

/// The client of a [`crate::Revoker`]: rustls on ring with the webpki roots, HTTP/1.1, no
/// redirects, `timeout` on connecting and on each whole request.
pub(crate) fn client(timeout: Duration) -> reqwest::Client {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let mut tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("ring supports TLS 1.2 and 1.3")
    .with_root_certificates(roots)
    .with_no_client_auth();
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .connect_timeout(timeout)
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("platform-revoke/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("a client of a preconfigured rustls config always builds")
}

/// What an adapter needs to send its request.
pub(crate) struct Ctx<'a> {
    pub client: &'a reqwest::Client,
    /// The platform's base URL (see [`crate::Endpoints`]).
    pub base: &'a str,
    /// The variable that overrides `base`, for the error when it is not a URL.
    pub variable: &'static str,
    pub timeout: Duration,
}

impl Ctx<'_> {
    /// `base` + `path` (the documented path, starting with `/`).
    pub fn url(&self, path: &str) -> Result<Url, Failure> {
        let joined = format!("{}{}", self.base.trim_end_matches('/'), path);
        match Url::parse(&joined) {
            Ok(url) if matches!(url.scheme(), "https" | "http") => Ok(url),
            _ => Err(Failure::Permanent(format!(
                "the endpoint is not an http(s) URL (check {})",
                self.variable
            ))),
        }
    }

    /// Sends `request` once, with the timeout set on it explicitly, and reads the answer.
    pub async fn send(&self, request: RequestBuilder) -> Result<Answer, Failure> {
        let response = request
            .timeout(self.timeout)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|error| transport(&error, self.timeout))?;
        let status = response.status();
        let body = read_body(response)
            .await
            .map_err(|error| transport(&error, self.timeout))?;
        Ok(Answer { status, body })
    }
}

/// A platform's answer: its status and up to [`MAX_BODY`] bytes of its body.
pub(crate) struct Answer {
    pub status: StatusCode,
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as JSON; `None` when empty or not JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// Whether the body is empty or only whitespace.
    pub fn is_empty(&self) -> bool {
        self.body.iter().all(u8::is_ascii_whitespace)
    }

    /// `http 400` or `http 400 (invalid_request)`.
    pub fn reason(&self, code: Option<&str>) -> String {
        match code {
            Some(code) => format!("http {} ({})", self.status.as_u16(), sanitize(code)),
            None => format!("http {}", self.status.as_u16()),
        }
    }

    /// The OAuth 2.0 error code of the body (`{"error": "invalid_token", ...}`, RFC 6749 5.2).
    pub fn oauth_error(&self) -> Option<String> {
        self.json()?.get("error")?.as_str().map(str::to_owned)
    }
}

/// Whether retrying can help by the status alone: 408, 429 and every 5xx.
pub(crate) fn retryable(status: StatusCode) -> bool {
    status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
}

/// The verdict of an answer whose status alone decides: 2xx revoked, 408/429/5xx transient,
/// anything else permanent (with the OAuth error code, when there is one).
pub(crate) fn by_status(answer: &Answer) -> Verdict {
    if answer.status.is_success() {
        Ok(Outcome::Revoked)
    } else if retryable(answer.status) {
        Err(Failure::Transient(
            answer.reason(answer.oauth_error().as_deref()),
        ))
    } else {
        Err(Failure::Permanent(
            answer.reason(answer.oauth_error().as_deref()),
        ))
    }
}

/// The id and secret of a confidential client, for a `platform` whose call needs both; without
/// them, the permanent failure that says so (no request is sent).
pub(crate) fn confidential(
    credentials: Option<&ClientCredentials>,
    platform: Platform,
) -> Result<(&str, &str), Failure> {
    credentials
        .and_then(|c| Some((c.client_id(), c.client_secret()?)))
        .ok_or_else(|| {
            Failure::Permanent(format!(
                "no {platform} client credentials (clientId and clientSecret) in the credentials \
                 secret"
            ))
        })
}

/// How a revocation failed, before it is given its platform (see [`crate::RevokeError`]).
#[derive(Debug)]
pub(crate) enum Failure {
    Transient(String),
    Permanent(String),
}

pub(crate) type Verdict = Result<Outcome, Failure>;

/// An error code as the platform gave it when it looks like one (up to 64 letters, digits and
/// `_-.:`), else a placeholder: a code is the only text of an answer a reason keeps, and it must
/// not smuggle anything else in.
pub(crate) fn sanitize(code: &str) -> &str {
    let looks_like_a_code = !code.is_empty()
        && code.len() <= 64
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'));
    if looks_like_a_code {
        code
    } else {
        "unrecognised error code"
    }
}

/// A request that got no answer. `reqwest::Error`'s own text names the URL (Meta's carries the
/// token in its query), so only its kind is kept.
fn transport(error: &reqwest::Error, timeout: Duration) -> Failure {
    if error.is_timeout() {
        Failure::Transient(format!("no answer within {} ms", timeout.as_millis()))
    } else if error.is_builder() {
        Failure::Permanent("the request could not be built".to_owned())
    } else if error.is_redirect() {
        Failure::Permanent("the platform answered with a redirect".to_owned())
    } else if error.is_connect() {
        Failure::Transient("could not connect".to_owned())
    } else if error.is_body() || error.is_decode() {
        Failure::Transient("the answer could not be read".to_owned())
    } else {
        Failure::Transient("the request failed".to_owned())
    }
}

async fn read_body(mut response: reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = MAX_BODY - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() == MAX_BODY {
            break;
        }
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_code_shaped_text_survives_sanitising() {
        for code in [
            "invalid_token",
            "OAuthException",
            "access_token_invalid",
            "190",
            "a.b-c:d",
        ] {
            assert_eq!(sanitize(code), code);
        }
        for text in [
            "",
            "Token ya29.abc is invalid",
            "<html>",
            "invalid token",
            &"x".repeat(65),
        ] {
            assert_eq!(sanitize(text), "unrecognised error code", "{text:?}");
        }
    }

    #[test]
    fn a_base_with_a_trailing_slash_or_a_prefix_joins_the_documented_path() {
        let client = client(Duration::from_secs(1));
        let ctx = |base| Ctx {
            client: &client,
            base,
            variable: "REVOKE_ENDPOINT_GOOGLE",
            timeout: Duration::from_secs(1),
        };
        let url = |base| ctx(base).url("/revoke").map(|u| u.to_string()).ok();
        assert_eq!(
            url("https://oauth2.googleapis.com"),
            Some("https://oauth2.googleapis.com/revoke".to_owned())
        );
        assert_eq!(
            url("http://127.0.0.1:9000/stub/"),
            Some("http://127.0.0.1:9000/stub/revoke".to_owned())
        );
        assert_eq!(url("not a url"), None);
        assert_eq!(url("ftp://example.com"), None);
        match ctx("not a url").url("/revoke") {
            Err(Failure::Permanent(reason)) => {
                assert!(reason.contains("REVOKE_ENDPOINT_GOOGLE"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
    }
}
