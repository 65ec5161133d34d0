//! Revokes one OAuth token at its platform, and says only what the platform's documentation
//! backs.
//!
//! Built for the stream consumer that revokes the tokens of a disconnected integration: it reads
//! the integration's `type` ([`support`]), each token's value, type and item attributes, and asks
//! a [`Revoker`] to revoke it. The answer is an [`Outcome`] or a [`RevokeError`]:
//!
//! - [`Outcome::Revoked`] only for the answer the platform's documentation gives as its revoke
//!   call's success; [`Outcome::Unconfirmed`] for a success of a call no documentation describes
//!   (LinkedIn) or a success the call's page does not give (Reddit's 200, Meta's
//!   `{"success": true}`, TikTok's `ok` envelope); [`Outcome::Unsupported`] where no documented
//!   call revokes the token;
//! - [`Platform::revocation_covers`]: which `revoked` token proves another of the grant gone
//!   (the one list of it: only where the answer proves the token sent was live and the docs say
//!   its revocation ends the other);
//! - [`RevokeError::Permanent`] (the outcome `failed`) for every other answer, unknown bodies and
//!   codes that mean "invalid for some reason" included: no answer is read as "already revoked",
//!   because no platform documents one that means it;
//! - [`RevokeError::Transient`] for what a later attempt may fix: no answer, 408, 429, 5xx, a
//!   platform's throttling code. Within the invocation's deadline, the [`Revoker`] waits as the
//!   platform asks (`Retry-After`, X's `x-rate-limit-reset`, Discord's `retry_after`, ...) and
//!   tries again, a bounded number of times.
//!
//! Each adapter module cites the page it follows for the request and for each answer class,
//! with the date it was read, and says so where no page exists.
//!
//! | platform | integration types | call |
//! |---|---|---|
//! | [`Platform::Google`] | `youtube`, `google`, `google_business` | `POST https://oauth2.googleapis.com/revoke`, form `token` |
//! | [`Platform::TikTok`] | `tiktok` | `POST https://open.tiktokapis.com/v2/oauth/revoke/`, form `client_key`, `client_secret`, `token` (an access token); a refresh token is refreshed (`POST /v2/oauth/token/`) and the fresh access token revoked |
//! | [`Platform::Meta`] | `facebook`, `instagram` | `POST https://graph.facebook.com/`, form `access_token`, `appsecret_proof`, `batch` of one `DELETE v25.0/me/permissions`; Instagram Login tokens are unsupported |
//! | [`Platform::LinkedIn`] | `linkedin` | `POST https://www.linkedin.com/oauth/v2/revoke` (undocumented), form `client_id`, `client_secret`, `token` |
//! | [`Platform::X`] | `x`, `twitter` | `POST https://api.x.com/2/oauth2/revoke`, form `token`, `token_type_hint`, HTTP Basic |
//! | [`Platform::Reddit`] | `reddit` | `POST https://www.reddit.com/api/v1/revoke_token`, form `token`, `token_type_hint`, HTTP Basic |
//! | [`Platform::Discord`] | `discord` | `POST https://discord.com/api/oauth2/token/revoke`, form `token`, `token_type_hint`, HTTP Basic |
//! | [`Platform::Mastodon`] | `mastodon` | `POST https://<server>/oauth/revoke`, form `client_id`, `client_secret`, `token`; the server passes the address guard ([`ssrf`]) |
//!
//! **Secrets.** A [`Token`] and a client secret never appear in any `Debug` or `Display` output
//! of this crate, nor in a [`RevokeError`]'s reason: a reason keeps at most the HTTP status and
//! the platform's sanitised error code, never a body, and every reason is scrubbed of the token
//! and of every client secret before it is returned. Nothing secret travels in a URL.
//!
//! **HTTP.** `reqwest` on rustls with the `ring` provider and the Mozilla roots of
//! `webpki-roots` compiled in (no aws-lc, no OS store read), HTTP/1.1, no redirects followed, a
//! timeout on every request, no request past the deadline. `User-Agent: platform-revoke/<version>`,
//! except where a platform asks for its own form (Reddit, Discord: `user_agent`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod credentials;
mod discord;
mod endpoints;
mod google;
mod http;
mod linkedin;
mod mastodon;
mod meta;
mod outcome;
mod platform;
mod reddit;
mod rfc7009;
pub mod ssrf;
mod tiktok;
mod token;
mod user_agent;
mod x;

pub use credentials::{ClientCredentials, Credentials, CredentialsError};
pub use endpoints::{EndpointError, Endpoints};
pub use meta::GRAPH_API_VERSION;
pub use outcome::{Outcome, RevokeError};
pub use platform::{Platform, Support, UNKNOWN_TYPE, platform_for, support};
pub use tiktok::{REFRESHED_BUT_NOT_REVOKED, ROTATED_BY_AN_EARLIER_ATTEMPT};
pub use token::{LoginFlow, Token, TokenItem, TokenType, UnknownLoginFlow, UnknownTokenType};

use http::{Attempt, Ctx, Failure};

/// Attempts at one revocation within an invocation, the first included.
pub const ATTEMPTS: u32 = 3;
/// The longest single wait for a rate limit within an invocation; a platform that asks for more
/// gets the record back to the stream.
pub const MAX_WAIT: Duration = Duration::from_secs(20);

/// The wait after the `attempt`-th transient failure when the platform did not say: 500 ms,
/// then 1 s.
pub(crate) fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(500) * 2u32.pow(attempt.saturating_sub(1))
}

/// A boxed future, for [`RefreshJournal`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where the consumer notes, before a TikTok refresh rotates a refresh token, that it is about
/// to (see `tiktok`): so that a later attempt at the same record knows what a refused refresh
/// means.
pub trait RefreshJournal: Send + Sync {
    /// Whether an earlier attempt at this record noted a refresh.
    fn refreshed_before(&self) -> bool;
    /// Notes that a refresh is about to be sent.
    fn note_refresh(&self) -> BoxFuture<'_, Result<(), String>>;
}

/// A journal for callers that revoke no TikTok refresh token twice (tests, tools).
pub struct NoJournal;

impl RefreshJournal for NoJournal {
    fn refreshed_before(&self) -> bool {
        false
    }

    fn note_refresh(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }
}

/// One revocation to make.
#[derive(Debug)]
pub struct Revocation<'a> {
    pub platform: Platform,
    pub token: &'a Token,
    pub token_type: TokenType,
    pub item: &'a TokenItem,
    /// No request and no wait runs past it (the invocation's deadline, less what the caller
    /// keeps to record the outcome).
    pub deadline: Instant,
}

/// Revokes tokens. Holds its HTTP clients (connections are reused across calls): build one per
/// process and share it.
pub struct Revoker {
    client: reqwest::Client,
    /// For hosts from data (Mastodon servers): every connection through the address guard.
    guarded: reqwest::Client,
    guard: ssrf::Guard,
    endpoints: Endpoints,
    credentials: Credentials,
    timeout: Duration,
}

impl Revoker {
    /// `timeout` bounds each request, from connecting to reading the whole answer.
    pub fn new(endpoints: Endpoints, credentials: Credentials, timeout: Duration) -> Self {
        Self::with_guard(
            endpoints,
            credentials,
            timeout,
            ssrf::Guard {
                allow_loopback: false,
                lookup: ssrf::system_lookup(),
            },
        )
    }

    /// Lets a Mastodon `server` be `localhost` (over `http` too): the local-development switch
    /// `REVOKE_ALLOW_LOOPBACK=true`, never set in the template.
    pub fn allowing_loopback_servers(self) -> Self {
        let guard = ssrf::Guard {
            allow_loopback: true,
            ..self.guard.clone()
        };
        Self::with_guard(self.endpoints, self.credentials, self.timeout, guard)
    }

    fn with_guard(
        endpoints: Endpoints,
        credentials: Credentials,
        timeout: Duration,
        guard: ssrf::Guard,
    ) -> Self {
        Revoker {
            client: http::client(timeout, None),
            guarded: http::client(
                timeout,
                Some(Arc::new(ssrf::GuardedResolver(guard.clone()))),
            ),
            guard,
            endpoints,
            credentials,
            timeout,
        }
    }

    /// Revokes one token. Sends no request when it cannot work (an empty token, missing client
    /// credentials, a token the platform cannot revoke, a refused server), one per attempt
    /// otherwise (two for a TikTok refresh token), and retries a transient failure while
    /// [`ATTEMPTS`] and the deadline allow, waiting as the platform asks (at most
    /// [`MAX_WAIT`]).
    pub async fn revoke(
        &self,
        revocation: &Revocation<'_>,
        journal: &dyn RefreshJournal,
    ) -> Result<Outcome, RevokeError> {
        let mut attempt = 1;
        loop {
            let result = self.attempt(revocation, journal).await;
            let wait = match &result {
                Err(Failure::Transient { after, .. }) if attempt < ATTEMPTS => {
                    after.unwrap_or_else(|| backoff(attempt))
                }
                _ => return result.map_err(|f| self.error(revocation, f)),
            };
            let fits = wait <= MAX_WAIT
                && Instant::now() + wait + self.timeout.min(Duration::from_secs(1))
                    <= revocation.deadline;
            if !fits {
                return result.map_err(|f| self.error(revocation, f));
            }
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn attempt(&self, r: &Revocation<'_>, journal: &dyn RefreshJournal) -> Attempt {
        if r.token.expose().is_empty() {
            return Err(Failure::Permanent("the token is empty".to_owned()));
        }
        let credentials = self.credentials.get(r.platform);
        if r.platform == Platform::Mastodon {
            if r.token_type == TokenType::RefreshToken {
                return Err(Failure::Permanent(
                    "mastodon issues no refresh tokens: only an access token can be revoked"
                        .to_owned(),
                ));
            }
            let Some(server) = r.item.server.as_deref() else {
                return Err(Failure::Permanent(
                    "the token item has no server (the Mastodon account's host)".to_owned(),
                ));
            };
            let base = self.guard.base_url(server).await?;
            let ctx = self.ctx(&self.guarded, base.as_str(), r.deadline);
            return mastodon::revoke(&ctx, &self.credentials, r.token).await;
        }
        let base = self
            .endpoints
            .base(r.platform)
            .expect("every platform but Mastodon has a base");
        let ctx = self.ctx(&self.client, base, r.deadline);
        match r.platform {
            Platform::Google => google::revoke(&ctx, r.token).await,
            Platform::TikTok => {
                tiktok::revoke(&ctx, credentials, r.token, r.token_type, journal).await
            }
            Platform::Meta => {
                meta::revoke(&ctx, credentials, r.token, r.token_type, r.item.login_flow).await
            }
            Platform::LinkedIn => linkedin::revoke(&ctx, credentials, r.token).await,
            Platform::X => x::revoke(&ctx, credentials, r.token, r.token_type).await,
            Platform::Reddit => reddit::revoke(&ctx, credentials, r.token, r.token_type).await,
            Platform::Discord => discord::revoke(&ctx, credentials, r.token, r.token_type).await,
            Platform::Mastodon => unreachable!("handled above"),
        }
    }

    fn ctx<'a>(&self, client: &'a reqwest::Client, base: &'a str, deadline: Instant) -> Ctx<'a> {
        Ctx {
            client,
            base,
            timeout: self.timeout,
            deadline,
        }
    }

    /// The error of a failure, its reason scrubbed of the token and of every client secret
    /// (a second line of defence: adapters keep only sanitised error codes already).
    fn error(&self, r: &Revocation<'_>, failure: Failure) -> RevokeError {
        let (transient, retry_after, mut reason) = match failure {
            Failure::Transient { reason, after } => (true, after, reason),
            Failure::Ambiguous(reason) => (true, None, reason),
            Failure::Permanent(reason) => (false, None, reason),
        };
        let secrets = std::iter::once(r.token.expose())
            .chain(self.credentials.secrets())
            .filter(|secret| !secret.is_empty());
        for secret in secrets {
            if reason.contains(secret) {
                reason = reason.replace(secret, "<redacted>");
            }
        }
        let platform = r.platform;
        if transient {
            RevokeError::Transient {
                platform,
                reason,
                retry_after,
            }
        } else {
            RevokeError::Permanent { platform, reason }
        }
    }
}

impl std::fmt::Debug for Revoker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Revoker")
            .field("endpoints", &self.endpoints)
            .field("credentials", &self.credentials)
            .field("timeout", &self.timeout)
            .field("allow_loopback_servers", &self.guard.allow_loopback)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_word_from_the_platform_the_waits_double_from_half_a_second() {
        assert_eq!(backoff(1), Duration::from_millis(500));
        assert_eq!(backoff(2), Duration::from_secs(1));
        assert_eq!(backoff(3), Duration::from_secs(2));
    }

    #[test]
    fn no_journal_knows_of_no_earlier_refresh_and_notes_nothing() {
        assert!(!NoJournal.refreshed_before());
        let noted = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(NoJournal.note_refresh());
        assert_eq!(noted, Ok(()));
    }

    /// DNS rebinding: the Mastodon server's name passes the guard's first look (loopback,
    /// allowed under the local switch) and then resolves to a private address. The client the
    /// adapter gets must ask the guard again when it connects, and refuse: no request leaves.
    /// Built with the plain client (`http::client(timeout, None)`), the system's resolver would
    /// take `localhost` to the stub, and the token would be sent.
    #[tokio::test]
    async fn a_server_name_that_resolves_to_a_private_address_at_connect_time_gets_no_request() {
        use std::net::IpAddr;
        use std::sync::atomic::{AtomicUsize, Ordering};

        let stub = wiremock::MockServer::start().await;
        wiremock::Mock::given(wiremock::matchers::any())
            .respond_with(wiremock::ResponseTemplate::new(200).set_body_string("{}"))
            .expect(0)
            .mount(&stub)
            .await;
        // Every first look of an attempt sees loopback, every second one a private address.
        let looks = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&looks);
        let lookup: ssrf::Lookup = Arc::new(move |_name| {
            let look = counted.fetch_add(1, Ordering::SeqCst);
            let address: IpAddr = if look.is_multiple_of(2) {
                "127.0.0.1".parse().unwrap()
            } else {
                "10.0.0.7".parse().unwrap()
            };
            Box::pin(async move { Ok(vec![address]) })
        });
        let credentials = Credentials::default().with_mastodon_server(
            "localhost",
            ClientCredentials::new("masto-id", "masto-SECRET"),
        );
        let revoker = Revoker::with_guard(
            Endpoints::defaults(),
            credentials,
            Duration::from_secs(2),
            ssrf::Guard {
                allow_loopback: true,
                lookup,
            },
        );
        let token = Token::new("tok-SECRET");
        let item = TokenItem {
            server: Some(format!("http://localhost:{}", stub.address().port())),
            ..TokenItem::default()
        };
        let revocation = Revocation {
            platform: Platform::Mastodon,
            token: &token,
            token_type: TokenType::AccessToken,
            item: &item,
            // Time for one attempt only: the verdict of the first connection.
            deadline: Instant::now() + Duration::from_secs(1),
        };

        let result = revoker.revoke(&revocation, &NoJournal).await;

        let error = result.expect_err("the connection is refused");
        assert!(error.is_transient(), "{error:?}");
        assert_eq!(error.reason(), "could not connect");
        assert_eq!(
            looks.load(Ordering::SeqCst),
            2,
            "the guard looked before the request and again at connect time"
        );
        stub.verify().await;
    }

    #[test]
    fn outcomes_read_as_the_marker_writes_them() {
        for (outcome, text) in [
            (Outcome::Revoked, "revoked"),
            (Outcome::Unconfirmed, "unconfirmed"),
            (Outcome::Unsupported("why"), "unsupported"),
        ] {
            assert_eq!(outcome.as_str(), text);
            assert_eq!(outcome.to_string(), text);
        }
    }
}
