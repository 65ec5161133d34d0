//! What every adapter shares: the client, sending within the invocation's deadline, reading the
//! answer and its rate-limit signals, and the words of a failure (an HTTP status and a sanitised
//! error code, never a body).

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, StatusCode, Url};
use serde_json::Value;

use crate::{ClientCredentials, Platform};

/// At most this much of an answer is read: revoke answers are a few bytes of JSON.
const MAX_BODY: usize = 16 * 1024;
/// A request is not started with less time than this left before the deadline.
const MIN_REQUEST_TIME: Duration = Duration::from_millis(100);

/// The TLS configuration of every client: rustls on ring with the webpki roots, HTTP/1.1.
fn tls() -> rustls::ClientConfig {
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
    tls
}

/// A client of a [`crate::Revoker`]: no redirects, `timeout` on connecting and on each whole
/// request, the default `User-Agent` (a platform that asks for another gets it on its request,
/// see `user_agent`), and, for hosts that come from data, `resolver` (see [`crate::ssrf`]).
pub(crate) fn client(
    timeout: Duration,
    resolver: Option<Arc<dyn reqwest::dns::Resolve>>,
) -> reqwest::Client {
    let builder = reqwest::Client::builder()
        .tls_backend_preconfigured(tls())
        .connect_timeout(timeout)
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(crate::user_agent::DEFAULT);
    match resolver {
        Some(resolver) => builder.dns_resolver(resolver),
        None => builder,
    }
    .build()
    .expect("a client of a preconfigured rustls config always builds")
}

/// What an adapter needs to send its requests.
pub(crate) struct Ctx<'a> {
    pub client: &'a reqwest::Client,
    /// The platform's base URL (see [`crate::Endpoints`]), already checked.
    pub base: &'a str,
    /// The most one request may take.
    pub timeout: Duration,
    /// The invocation's deadline: no request runs past it.
    pub deadline: Instant,
}

impl Ctx<'_> {
    /// `base` + `path` (the documented path, starting with `/`).
    pub fn url(&self, path: &str) -> Result<Url, Failure> {
        let joined = format!("{}{}", self.base.trim_end_matches('/'), path);
        Url::parse(&joined).map_err(|_| Failure::Permanent("the endpoint is not a URL".to_owned()))
    }

    /// The time the next request may take: the timeout, or less if the deadline is nearer.
    fn request_timeout(&self) -> Result<Duration, Failure> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left < MIN_REQUEST_TIME {
            return Err(Failure::transient(
                "no time left before the invocation's deadline",
            ));
        }
        Ok(self.timeout.min(left))
    }

    /// Sends a request that is safe to send again (a revocation): a failure without an answer
    /// is [`Failure::Transient`].
    pub async fn send(&self, request: RequestBuilder) -> Result<Reply, Failure> {
        self.send_once(request)
            .await
            .map_err(|failure| match failure {
                Failure::Ambiguous(reason) => Failure::transient(reason),
                other => other,
            })
    }

    /// Sends a request that must not be sent twice by mistake (a TikTok refresh rotates the
    /// refresh token): a failure after the request may have left is [`Failure::Ambiguous`].
    pub async fn send_once(&self, request: RequestBuilder) -> Result<Reply, Failure> {
        let timeout = self.request_timeout()?;
        let response = request
            .timeout(timeout)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|error| transport(&error, timeout))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = read_body(response)
            .await
            .map_err(|error| transport(&error, timeout))?;
        Ok(Reply {
            status,
            headers,
            body,
        })
    }
}

/// A platform's reply (`Answer` is the function's own, to its client): its status, its headers
/// and up to [`MAX_BODY`] bytes of its body.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as JSON; `None` when empty or not JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// Whether the body is empty or only whitespace.
    pub fn is_empty(&self) -> bool {
        self.body.iter().all(u8::is_ascii_whitespace)
    }

    /// A header's value, when it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
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

    /// The wait `Retry-After` asks for (RFC 9110 §10.2.3: seconds, or an HTTP date).
    pub fn retry_after(&self) -> Option<Duration> {
        let value = self.header("retry-after")?.trim();
        if let Ok(seconds) = value.parse::<u64>() {
            return Some(Duration::from_secs(seconds));
        }
        let at = httpdate::parse_http_date(value).ok()?;
        Some(at.duration_since(SystemTime::now()).unwrap_or_default())
    }

    /// The answer as a failure when its status alone decides: 408, 429 and 5xx transient (with
    /// the wait `Retry-After` asks for), anything else permanent; `code` is the platform's error
    /// code, when it gave one.
    pub fn failure(&self, code: Option<&str>) -> Failure {
        if retryable(self.status) {
            Failure::Transient {
                reason: self.reason(code),
                after: self.retry_after(),
            }
        } else {
            Failure::Permanent(self.reason(code))
        }
    }

    /// The failure of a 2xx the documentation does not describe.
    pub fn unrecognised(&self) -> Failure {
        Failure::Permanent(format!(
            "{}: an answer the documentation does not describe",
            self.reason(None)
        ))
    }
}

/// Whether retrying can help by the status alone: 408, 429 and every 5xx.
pub(crate) fn retryable(status: StatusCode) -> bool {
    status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
}

/// The wait until `epoch_seconds` (a rate limit's reset time), from now.
pub(crate) fn until_epoch(epoch_seconds: u64) -> Duration {
    (SystemTime::UNIX_EPOCH + Duration::from_secs(epoch_seconds))
        .duration_since(SystemTime::now())
        .unwrap_or_default()
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

/// How an attempt failed, before it is given its platform (see [`crate::RevokeError`]).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Retrying may work, in this invocation too, after `after` when the platform said.
    Transient {
        reason: String,
        after: Option<Duration>,
    },
    /// Retrying later may work, but not at once: the request may have taken effect.
    Ambiguous(String),
    /// Retrying will not work, or the answer is not one the documentation explains.
    Permanent(String),
}

impl Failure {
    pub fn transient(reason: impl Into<String>) -> Self {
        Failure::Transient {
            reason: reason.into(),
            after: None,
        }
    }

    /// This failure with `step` named before its reason.
    pub fn during(self, step: &str) -> Self {
        match self {
            Failure::Transient { reason, after } => Failure::Transient {
                reason: format!("{step}: {reason}"),
                after,
            },
            Failure::Ambiguous(reason) => Failure::Ambiguous(format!("{step}: {reason}")),
            Failure::Permanent(reason) => Failure::Permanent(format!("{step}: {reason}")),
        }
    }
}

/// The result of one attempt at a platform.
pub(crate) type Attempt = Result<crate::Outcome, Failure>;

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

/// A request that got no answer. `reqwest::Error`'s own text names the URL, so only its kind is
/// kept. A request that failed to connect never left; any other may have.
fn transport(error: &reqwest::Error, timeout: Duration) -> Failure {
    if error.is_builder() {
        Failure::Permanent("the request could not be built".to_owned())
    } else if error.is_redirect() {
        Failure::Permanent("the platform answered with a redirect".to_owned())
    } else if error.is_connect() {
        Failure::transient("could not connect")
    } else if error.is_timeout() {
        Failure::Ambiguous(format!("no answer within {} ms", timeout.as_millis()))
    } else {
        // The answer broke off or could not be read: the request may have taken effect.
        Failure::Ambiguous("no complete answer".to_owned())
    }
}

async fn read_body(mut response: reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if keep_capped(&mut body, &chunk) {
            break;
        }
    }
    Ok(body)
}

/// Appends what of `chunk` fits under [`MAX_BODY`]; whether the body is full.
fn keep_capped(body: &mut Vec<u8>, chunk: &[u8]) -> bool {
    let room = MAX_BODY.saturating_sub(body.len());
    body.extend_from_slice(&chunk[..chunk.len().min(room)]);
    body.len() >= MAX_BODY
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_kept_up_to_16_kib_across_chunks() {
        assert_eq!(MAX_BODY, 16_384);
        let mut body = vec![];
        assert!(!keep_capped(&mut body, &[b'a'; 100]));
        assert!(!keep_capped(&mut body, &[b'b'; 200]));
        assert_eq!(body.len(), 300, "several chunks are kept");
        assert!(keep_capped(&mut body, &vec![b'c'; MAX_BODY]));
        assert_eq!(body.len(), MAX_BODY, "cut at the cap");
        assert_eq!(&body[..101], &[&[b'a'; 100][..], b"b"].concat()[..]);
        assert!(keep_capped(&mut body, b"more"), "full stays full");
        assert_eq!(body.len(), MAX_BODY);
        let mut exact = vec![];
        assert!(keep_capped(&mut exact, &vec![b'x'; MAX_BODY]));
        let mut short = vec![];
        assert!(!keep_capped(&mut short, &vec![b'x'; MAX_BODY - 1]));
    }

    #[test]
    fn only_code_shaped_text_survives_sanitising() {
        for code in [
            "invalid_token",
            "OAuthException",
            "access_token_invalid",
            "190",
            "a.b-c:d",
            &"x".repeat(64),
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

    fn answer(status: u16, headers: &[(&'static str, &str)]) -> Reply {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, value.parse().unwrap());
        }
        Reply {
            status: StatusCode::from_u16(status).unwrap(),
            headers: map,
            body: vec![],
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        assert_eq!(
            answer(429, &[("retry-after", "7")]).retry_after(),
            Some(Duration::from_secs(7))
        );
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
        let wait = answer(503, &[("retry-after", &later)])
            .retry_after()
            .unwrap();
        assert!(
            wait > Duration::from_secs(100) && wait <= Duration::from_secs(120),
            "{wait:?}"
        );
        let past = httpdate::fmt_http_date(SystemTime::now() - Duration::from_secs(120));
        assert_eq!(
            answer(503, &[("retry-after", &past)]).retry_after(),
            Some(Duration::ZERO)
        );
        assert_eq!(answer(429, &[("retry-after", "soon")]).retry_after(), None);
        assert_eq!(answer(429, &[]).retry_after(), None);
    }

    #[test]
    fn the_status_alone_decides_transient_or_permanent() {
        for status in [408, 429, 500, 502, 503, 504] {
            assert!(
                matches!(answer(status, &[]).failure(None), Failure::Transient { .. }),
                "{status}"
            );
        }
        for status in [200, 204, 301, 400, 401, 403, 404, 409, 422] {
            assert!(
                matches!(answer(status, &[]).failure(None), Failure::Permanent(_)),
                "{status}"
            );
        }
        assert_eq!(
            answer(429, &[("retry-after", "3")]).failure(Some("slow_down")),
            Failure::Transient {
                reason: "http 429 (slow_down)".into(),
                after: Some(Duration::from_secs(3))
            }
        );
    }

    #[test]
    fn an_epoch_reset_time_is_a_wait_from_now() {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let wait = until_epoch(now + 30);
        assert!(
            wait > Duration::from_secs(28) && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        assert_eq!(until_epoch(now - 30), Duration::ZERO);
    }

    #[test]
    fn a_base_with_a_trailing_slash_or_a_prefix_joins_the_documented_path() {
        let client = client(Duration::from_secs(1), None);
        let ctx = |base| Ctx {
            client: &client,
            base,
            timeout: Duration::from_secs(1),
            deadline: Instant::now() + Duration::from_secs(5),
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
    }

    #[test]
    fn no_request_starts_without_time_before_the_deadline() {
        let client = client(Duration::from_secs(1), None);
        let ctx = Ctx {
            client: &client,
            base: "https://example.invalid",
            timeout: Duration::from_secs(5),
            deadline: Instant::now() + Duration::from_millis(20),
        };
        assert!(matches!(
            ctx.request_timeout(),
            Err(Failure::Transient { .. })
        ));
        let ctx = Ctx {
            deadline: Instant::now() + Duration::from_secs(2),
            ..ctx
        };
        let timeout = ctx.request_timeout().unwrap();
        assert!(timeout <= Duration::from_secs(2) && timeout > Duration::from_secs(1));
    }
}
