//! Revokes one OAuth token at its platform.
//!
//! Built for the stream consumer that revokes the tokens of a disconnected integration: it reads
//! the integration's `type` ([`platform_for`]), each token's value and type, and asks a
//! [`Revoker`] to revoke it. The answer is an [`Outcome`] (the token is dead now) or a
//! [`RevokeError`] that says whether retrying can help ([`RevokeError::Transient`]) or not
//! ([`RevokeError::Permanent`]).
//!
//! | platform | integration types | documented call | client credentials |
//! |---|---|---|---|
//! | [`Platform::Google`] | `youtube`, `google`, `google_business` | `POST https://oauth2.googleapis.com/revoke`, form `token` | none |
//! | [`Platform::TikTok`] | `tiktok` | `POST https://open.tiktokapis.com/v2/oauth/revoke/`, form `client_key`, `client_secret`, `token` (an access token); a refresh token is first refreshed (`POST /v2/oauth/token/`) and the fresh access token revoked | required |
//! | [`Platform::Meta`] | `facebook`, `instagram` | `DELETE https://graph.facebook.com/v25.0/me/permissions?access_token=...` | optional (`appsecret_proof`) |
//! | [`Platform::LinkedIn`] | `linkedin` | `POST https://www.linkedin.com/oauth/v2/revoke`, form `client_id`, `client_secret`, `token` | required |
//! | [`Platform::X`] | `x`, `twitter` | `POST https://api.x.com/2/oauth2/revoke`, form `token`, `token_type_hint` | required (`clientSecret` optional) |
//!
//! Each adapter module cites the documentation it follows and the decisions it makes where the
//! documentation is silent.
//!
//! **Secrets.** A [`Token`] and a client secret never appear in any `Debug` or `Display` output
//! of this crate, nor in a [`RevokeError`]'s reason: a reason keeps at most the platform's error
//! code (sanitised), never a response body, and every reason is scrubbed of the token and of every
//! client secret before it is returned.
//!
//! **HTTP.** One `reqwest` client per [`Revoker`] (connections are reused), rustls on the `ring`
//! provider with the Mozilla roots of `webpki-roots` compiled in (no aws-lc, no OS store read),
//! HTTP/1.1, no redirects followed, an explicit timeout on every request. The caller retries: a
//! [`Revoker`] sends each request once.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use integrations_table::IntegrationType;

mod credentials;
mod endpoints;
mod google;
mod http;
mod linkedin;
mod meta;
mod tiktok;
mod x;

pub use credentials::{ClientCredentials, Credentials, CredentialsError};
pub use endpoints::Endpoints;
pub use meta::GRAPH_API_VERSION;

use http::{Ctx, Failure};

/// The platforms that document a call revoking a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Platform {
    /// Google accounts: YouTube, Google Business Profile and any other Google API.
    Google,
    TikTok,
    /// Facebook and Instagram (through Facebook Login).
    Meta,
    LinkedIn,
    /// X, formerly Twitter.
    X,
}

impl Platform {
    /// Every platform, in a fixed order.
    pub const ALL: [Platform; 5] = [
        Platform::Google,
        Platform::TikTok,
        Platform::Meta,
        Platform::LinkedIn,
        Platform::X,
    ];

    /// Its name in lower case: `google`, `tiktok`, `meta`, `linkedin`, `x` (also its key in the
    /// credentials secret).
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Google => "google",
            Platform::TikTok => "tiktok",
            Platform::Meta => "meta",
            Platform::LinkedIn => "linkedin",
            Platform::X => "x",
        }
    }

    fn index(self) -> usize {
        match self {
            Platform::Google => 0,
            Platform::TikTok => 1,
            Platform::Meta => 2,
            Platform::LinkedIn => 3,
            Platform::X => 4,
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The platform that revokes the tokens of an integration of this `type` (the integration item's
/// attribute, lower case; ASCII case is ignored, nothing else is).
///
/// | `type` | platform |
/// |---|---|
/// | `youtube`, `google`, `google_business` | [`Platform::Google`] |
/// | `tiktok` | [`Platform::TikTok`] |
/// | `facebook`, `instagram` | [`Platform::Meta`] |
/// | `linkedin` | [`Platform::LinkedIn`] |
/// | `x`, `twitter` | [`Platform::X`] |
/// | anything else | `None`: the caller reports `unsupported` |
///
/// `None` includes `threads` (the Threads API documents no call that revokes a token or
/// de-authorizes the app: its tokens live on `graph.threads.net`, not the Facebook Graph API),
/// `pinterest`, `bluesky`, `reddit`, `snapchat` and `telegram`: no adapter here.
pub fn platform_for(integration_type: &str) -> Option<Platform> {
    use integrations_table::IntegrationType as T;
    // Exhaustive: a type added to the list must be decided here.
    match IntegrationType::parse(integration_type)? {
        T::Youtube | T::Google | T::GoogleBusiness => Some(Platform::Google),
        T::Tiktok => Some(Platform::TikTok),
        T::Facebook | T::Instagram => Some(Platform::Meta),
        T::Linkedin => Some(Platform::LinkedIn),
        T::X | T::Twitter => Some(Platform::X),
        T::Threads
        | T::Pinterest
        | T::Bluesky
        | T::Reddit
        | T::Discord
        | T::Mastodon
        | T::Snapchat
        | T::Telegram => None,
    }
}

/// Which token of the grant this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenType {
    AccessToken,
    RefreshToken,
}

impl TokenType {
    /// `access_token` or `refresh_token` (also the RFC 7009 `token_type_hint` values).
    pub fn as_str(self) -> &'static str {
        match self {
            TokenType::AccessToken => "access_token",
            TokenType::RefreshToken => "refresh_token",
        }
    }
}

impl fmt::Display for TokenType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A token type that is neither `access_token` nor `refresh_token`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown token type: expected access_token or refresh_token")]
pub struct UnknownTokenType;

impl FromStr for TokenType {
    type Err = UnknownTokenType;

    /// Exactly `access_token` or `refresh_token`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "access_token" => Ok(TokenType::AccessToken),
            "refresh_token" => Ok(TokenType::RefreshToken),
            _ => Err(UnknownTokenType),
        }
    }
}

/// A token's value. Its `Debug` is `Token(<redacted>)` and its `Display` `<redacted>`: the
/// value leaves this crate only in the request to its platform.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    pub fn new(value: impl Into<String>) -> Self {
        Token(value.into())
    }

    /// The value, for the request only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Token {
    fn from(value: String) -> Self {
        Token(value)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A revocation that worked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The platform revoked the token.
    Revoked,
    /// The platform says the token is already dead: revoked, expired or invalid.
    AlreadyRevoked,
}

impl Outcome {
    /// `revoked` or `already_revoked`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Revoked => "revoked",
            Outcome::AlreadyRevoked => "already_revoked",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A revocation that did not work. `reason` never holds a token or a client secret: at most the
/// HTTP status and the platform's error code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RevokeError {
    /// Retrying may work: a network error, a timeout, HTTP 408, 429 or 5xx, or the platform's
    /// own code for a temporary failure.
    #[error("transient failure revoking a {platform} token: {reason}")]
    Transient { platform: Platform, reason: String },
    /// Retrying will not work: bad or missing client credentials, a request the platform
    /// refuses (another 4xx), a token this platform cannot revoke.
    #[error("permanent failure revoking a {platform} token: {reason}")]
    Permanent { platform: Platform, reason: String },
}

impl RevokeError {
    pub fn platform(&self) -> Platform {
        match self {
            RevokeError::Transient { platform, .. } | RevokeError::Permanent { platform, .. } => {
                *platform
            }
        }
    }

    pub fn reason(&self) -> &str {
        match self {
            RevokeError::Transient { reason, .. } | RevokeError::Permanent { reason, .. } => reason,
        }
    }

    pub fn is_transient(&self) -> bool {
        matches!(self, RevokeError::Transient { .. })
    }
}

/// Revokes tokens. Holds one HTTP client (its connections are reused across calls): build one
/// per process and share it.
pub struct Revoker {
    client: reqwest::Client,
    endpoints: Endpoints,
    credentials: Credentials,
    timeout: Duration,
}

impl Revoker {
    /// `timeout` bounds each request, from connecting to reading the whole answer; a request
    /// that runs out of it is [`RevokeError::Transient`].
    pub fn new(endpoints: Endpoints, credentials: Credentials, timeout: Duration) -> Self {
        Revoker {
            client: http::client(timeout),
            endpoints,
            credentials,
            timeout,
        }
    }

    /// Revokes `token` at `platform`. Sends one request (none when it cannot work: an empty
    /// token, missing client credentials, a token type the platform cannot revoke), or two for
    /// a TikTok refresh token (refresh, then revoke the fresh access token).
    pub async fn revoke(
        &self,
        platform: Platform,
        token: &Token,
        token_type: TokenType,
    ) -> Result<Outcome, RevokeError> {
        let verdict = if token.expose().is_empty() {
            Err(Failure::Permanent("the token is empty".to_owned()))
        } else {
            let ctx = Ctx {
                client: &self.client,
                base: self.endpoints.base(platform),
                variable: Endpoints::variable(platform),
                timeout: self.timeout,
            };
            let credentials = self.credentials.get(platform);
            match platform {
                Platform::Google => google::revoke(&ctx, token).await,
                Platform::TikTok => tiktok::revoke(&ctx, credentials, token, token_type).await,
                Platform::Meta => meta::revoke(&ctx, credentials, token, token_type).await,
                Platform::LinkedIn => linkedin::revoke(&ctx, credentials, token).await,
                Platform::X => x::revoke(&ctx, credentials, token, token_type).await,
            }
        };
        verdict.map_err(|failure| self.error(platform, failure, token))
    }

    /// The error of a failure, its reason scrubbed of the token and of every client secret
    /// (a second line of defence: adapters keep only sanitised error codes already).
    fn error(&self, platform: Platform, failure: Failure, token: &Token) -> RevokeError {
        let (transient, mut reason) = match failure {
            Failure::Transient(reason) => (true, reason),
            Failure::Permanent(reason) => (false, reason),
        };
        let secrets = std::iter::once(token.expose())
            .chain(self.credentials.secrets())
            .filter(|secret| !secret.is_empty());
        for secret in secrets {
            if reason.contains(secret) {
                reason = reason.replace(secret, "<redacted>");
            }
        }
        if transient {
            RevokeError::Transient { platform, reason }
        } else {
            RevokeError::Permanent { platform, reason }
        }
    }
}

impl fmt::Debug for Revoker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Revoker")
            .field("endpoints", &self.endpoints)
            .field("credentials", &self.credentials)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_for_maps_every_documented_type_and_nothing_else() {
        let table: &[(&str, Option<Platform>)] = &[
            ("youtube", Some(Platform::Google)),
            ("google", Some(Platform::Google)),
            ("google_business", Some(Platform::Google)),
            ("tiktok", Some(Platform::TikTok)),
            ("facebook", Some(Platform::Meta)),
            ("instagram", Some(Platform::Meta)),
            ("linkedin", Some(Platform::LinkedIn)),
            ("x", Some(Platform::X)),
            ("twitter", Some(Platform::X)),
            // The README's other integration types: no documented revoke call here.
            ("threads", None),
            ("pinterest", None),
            ("bluesky", None),
            ("reddit", None),
            ("snapchat", None),
            ("telegram", None),
            ("other", None),
            // ASCII case is ignored (the metrics lower-case `type` too) ...
            ("YouTube", Some(Platform::Google)),
            ("TikTok", Some(Platform::TikTok)),
            ("Instagram", Some(Platform::Meta)),
            ("X", Some(Platform::X)),
            // ... but nothing else is forgiven.
            ("", None),
            (" youtube", None),
            ("youtube ", None),
            ("you tube", None),
            ("google-business", None),
            ("googlebusiness", None),
            ("meta", None),
            ("fb", None),
            ("ig", None),
            ("twitter.com", None),
            ("xx", None),
            ("linked_in", None),
            ("tik_tok", None),
            ("ｙoutube", None),
        ];
        for &(integration_type, expected) in table {
            assert_eq!(
                platform_for(integration_type),
                expected,
                "platform_for({integration_type:?})"
            );
        }
    }

    #[test]
    fn token_types_parse_from_their_snake_case_names_only() {
        assert_eq!("access_token".parse(), Ok(TokenType::AccessToken));
        assert_eq!("refresh_token".parse(), Ok(TokenType::RefreshToken));
        for text in ["", "Access_Token", "access", "id_token", " refresh_token"] {
            assert_eq!(text.parse::<TokenType>(), Err(UnknownTokenType), "{text:?}");
        }
        assert_eq!(TokenType::AccessToken.to_string(), "access_token");
        assert_eq!(TokenType::RefreshToken.to_string(), "refresh_token");
    }

    #[test]
    fn a_token_never_shows_its_value_in_debug_or_display() {
        let token = Token::new("ya29.a0-very-secret-value");
        assert_eq!(format!("{token:?}"), "Token(<redacted>)");
        assert_eq!(format!("{token:#?}"), "Token(<redacted>)");
        assert_eq!(token.to_string(), "<redacted>");
        let in_a_struct = format!("{:?}", Some(&token));
        assert!(!in_a_struct.contains("secret"), "{in_a_struct}");
    }

    #[test]
    fn outcomes_and_platforms_have_stable_names() {
        assert_eq!(Outcome::Revoked.to_string(), "revoked");
        assert_eq!(Outcome::AlreadyRevoked.to_string(), "already_revoked");
        let names: Vec<_> = Platform::ALL.iter().map(|p| p.to_string()).collect();
        assert_eq!(names, ["google", "tiktok", "meta", "linkedin", "x"]);
    }

    #[test]
    fn an_error_reason_is_scrubbed_of_the_token_and_every_client_secret() {
        let credentials = Credentials::default()
            .with(
                Platform::TikTok,
                ClientCredentials::new("key", "tiktok-secret-1"),
            )
            .with(Platform::X, ClientCredentials::new("id", "x-secret-2"));
        let revoker = Revoker::new(Endpoints::defaults(), credentials, Duration::from_secs(1));
        let token = Token::new("the-token-value");
        let error = revoker.error(
            Platform::X,
            Failure::Permanent("the-token-value x-secret-2 tiktok-secret-1".to_owned()),
            &token,
        );
        assert_eq!(
            error,
            RevokeError::Permanent {
                platform: Platform::X,
                reason: "<redacted> <redacted> <redacted>".to_owned(),
            }
        );
        let debug = format!("{revoker:?}");
        assert!(!debug.contains("secret-"), "{debug}");
    }
}
