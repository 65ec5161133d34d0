//! The platforms, and which integration type each one revokes (the one place that decides it).

use std::fmt;

use integrations_table::IntegrationType;

/// The platforms whose documentation describes a call that revokes a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Platform {
    /// Google accounts: YouTube, Google Business Profile and any other Google API.
    Google,
    TikTok,
    /// Facebook Login tokens (`facebook`, and `instagram` connected through Facebook Login).
    Meta,
    LinkedIn,
    /// X, formerly Twitter.
    X,
    Reddit,
    Discord,
    /// The account's own Mastodon server (its host comes from the token item's `server`).
    Mastodon,
}

impl Platform {
    /// Every platform, in a fixed order.
    pub const ALL: [Platform; 8] = [
        Platform::Google,
        Platform::TikTok,
        Platform::Meta,
        Platform::LinkedIn,
        Platform::X,
        Platform::Reddit,
        Platform::Discord,
        Platform::Mastodon,
    ];

    /// Its name in lower case (also its key in the credentials secret, and the `platform` of a
    /// marker's outcome).
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Google => "google",
            Platform::TikTok => "tiktok",
            Platform::Meta => "meta",
            Platform::LinkedIn => "linkedin",
            Platform::X => "x",
            Platform::Reddit => "reddit",
            Platform::Discord => "discord",
            Platform::Mastodon => "mastodon",
        }
    }

    pub(crate) fn index(self) -> usize {
        Self::ALL
            .iter()
            .position(|p| *p == self)
            .expect("ALL lists every platform")
    }

    /// Whether, by the platform's documentation, a successful revocation of a token of type
    /// `revoked` also revokes the other tokens of the same grant of type `other`:
    ///
    /// - Google: "Revocation removes all OAuth 2.0 scopes previously granted to a project,
    ///   invalidating any issued access or refresh tokens" (Using OAuth 2.0 for Web Server
    ///   Applications, "Token revocation", read 2026-12-04);
    /// - TikTok: the revoke call "disconnects your app from the user's TikTok account" (Revoke
    ///   a user access token, updated 2026-11-02, read 2026-12-04);
    /// - Meta: "any user access token for the person will be invalidated" (Requesting and
    ///   Revoking Permissions, updated 2026-03-03, read 2026-12-04);
    /// - Discord: "any active access or refresh tokens associated with that authorization will
    ///   be revoked" (OAuth2 topic, discord-api-docs c98d64b, read 2026-12-04);
    /// - Reddit: "Revoking a refresh token will also revoke any related access tokens!" (the
    ///   OAuth2 wiki, read 2026-12-04), and not the other way round;
    /// - X, LinkedIn, Mastodon: no such sentence; each token is revoked on its own.
    pub fn revocation_covers(self, revoked: crate::TokenType, other: crate::TokenType) -> bool {
        use crate::TokenType::{AccessToken, RefreshToken};
        match self {
            Platform::Google | Platform::TikTok | Platform::Meta | Platform::Discord => true,
            Platform::Reddit => revoked == RefreshToken && other == AccessToken,
            Platform::X | Platform::LinkedIn | Platform::Mastodon => false,
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What can be done about the tokens of an integration type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    /// The platform's documented revoke call.
    Adapter(Platform),
    /// No documented call revokes these tokens; the reason code says why (the README's platform
    /// table cites the page).
    Unsupported(&'static str),
}

/// The reason code of a type the integration-type list does not know.
pub const UNKNOWN_TYPE: &str = "unknown_integration_type";

/// What can be done about the tokens of an integration of this `type` (the item's attribute;
/// ASCII case is ignored, nothing else is). Exhaustive over the one list of types, so a type
/// added there must be decided here.
///
/// | `type` | support |
/// |---|---|
/// | `youtube`, `google`, `google_business` | [`Platform::Google`] |
/// | `tiktok` | [`Platform::TikTok`] |
/// | `facebook`, `instagram` | [`Platform::Meta`] (Facebook Login; an Instagram Login token is `unsupported`, see `meta`) |
/// | `linkedin` | [`Platform::LinkedIn`] (the endpoint is undocumented: a success is `unconfirmed`) |
/// | `x`, `twitter` | [`Platform::X`] |
/// | `reddit` | [`Platform::Reddit`] |
/// | `discord` | [`Platform::Discord`] |
/// | `mastodon` | [`Platform::Mastodon`] |
/// | `threads` | unsupported: the Threads API reference lists no revoke call (developers.facebook.com/documentation/threads/reference, updated 2025-10-17, read 2026-12-04) |
/// | `pinterest` | unsupported: v5 `POST /oauth/token/revoke` says "Only tokens issued for system users are currently supported" (pinterest/api-description v5 openapi.yaml 5.23.0, read 2026-12-04) |
/// | `bluesky` | unsupported: the atproto OAuth profile does not require a revocation endpoint, and revoking needs DPoP and a client assertion (atproto.com/specs/oauth, read 2026-12-04) |
/// | `snapchat`, `telegram` | unsupported: no adapter, and no documentation was checked |
pub fn support(integration_type: &str) -> Support {
    use IntegrationType as T;
    let Some(kind) = IntegrationType::parse(integration_type) else {
        return Support::Unsupported(UNKNOWN_TYPE);
    };
    match kind {
        T::Youtube | T::Google | T::GoogleBusiness => Support::Adapter(Platform::Google),
        T::Tiktok => Support::Adapter(Platform::TikTok),
        T::Facebook | T::Instagram => Support::Adapter(Platform::Meta),
        T::Linkedin => Support::Adapter(Platform::LinkedIn),
        T::X | T::Twitter => Support::Adapter(Platform::X),
        T::Reddit => Support::Adapter(Platform::Reddit),
        T::Discord => Support::Adapter(Platform::Discord),
        T::Mastodon => Support::Adapter(Platform::Mastodon),
        T::Threads => Support::Unsupported("threads_documents_no_revoke_call"),
        T::Pinterest => Support::Unsupported("pinterest_revokes_only_system_user_tokens"),
        T::Bluesky => Support::Unsupported("atproto_oauth_requires_no_revocation_endpoint"),
        T::Snapchat | T::Telegram => Support::Unsupported("no_adapter_documentation_not_checked"),
    }
}

/// The platform that revokes the tokens of an integration of this `type`, if any (see
/// [`support`]).
pub fn platform_for(integration_type: &str) -> Option<Platform> {
    match support(integration_type) {
        Support::Adapter(platform) => Some(platform),
        Support::Unsupported(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TokenType::{AccessToken, RefreshToken};

    #[test]
    fn every_type_of_the_list_is_decided_and_nothing_else_is_forgiven() {
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
            ("reddit", Some(Platform::Reddit)),
            ("discord", Some(Platform::Discord)),
            ("mastodon", Some(Platform::Mastodon)),
            ("threads", None),
            ("pinterest", None),
            ("bluesky", None),
            ("snapchat", None),
            ("telegram", None),
            ("other", None),
            ("YouTube", Some(Platform::Google)),
            ("TikTok", Some(Platform::TikTok)),
            ("Reddit", Some(Platform::Reddit)),
            ("", None),
            (" youtube", None),
            ("google-business", None),
            ("meta", None),
            ("ｙoutube", None),
        ];
        for &(integration_type, expected) in table {
            assert_eq!(
                platform_for(integration_type),
                expected,
                "platform_for({integration_type:?})"
            );
        }
        for kind in IntegrationType::ALL {
            match support(kind.as_str()) {
                Support::Adapter(_) => {}
                Support::Unsupported(reason) => {
                    assert_ne!(reason, UNKNOWN_TYPE, "{kind}");
                    assert!(reason.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
                }
            }
        }
        assert_eq!(support("myspace"), Support::Unsupported(UNKNOWN_TYPE));
    }

    #[test]
    fn names_and_indexes_are_distinct() {
        for (i, platform) in Platform::ALL.iter().enumerate() {
            assert_eq!(platform.index(), i);
            assert_eq!(platform.to_string(), platform.as_str());
        }
    }

    #[test]
    fn a_revocation_covers_the_grant_only_where_the_docs_say_so() {
        for platform in [
            Platform::Google,
            Platform::TikTok,
            Platform::Meta,
            Platform::Discord,
        ] {
            for (revoked, other) in [
                (AccessToken, RefreshToken),
                (RefreshToken, AccessToken),
                (AccessToken, AccessToken),
            ] {
                assert!(platform.revocation_covers(revoked, other), "{platform}");
            }
        }
        assert!(Platform::Reddit.revocation_covers(RefreshToken, AccessToken));
        assert!(!Platform::Reddit.revocation_covers(AccessToken, RefreshToken));
        assert!(!Platform::Reddit.revocation_covers(AccessToken, AccessToken));
        for platform in [Platform::X, Platform::LinkedIn, Platform::Mastodon] {
            assert!(
                !platform.revocation_covers(RefreshToken, AccessToken),
                "{platform}"
            );
            assert!(
                !platform.revocation_covers(AccessToken, RefreshToken),
                "{platform}"
            );
        }
    }
}
