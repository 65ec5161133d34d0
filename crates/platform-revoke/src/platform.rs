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

    /// Whether the `revoked` outcome of a token of type `revoked` proves that another token of
    /// the same grant, of type `other`, no longer works: then that token is recorded `revoked`
    /// with `via`, and no call is made for it. The one list of this knowledge.
    ///
    /// Two things must hold. The platform's documentation must say that revoking a token of
    /// type `revoked` ends tokens of type `other`. And the answer that made the outcome
    /// `revoked` must prove that the token sent was valid, so that the revocation really
    /// happened: RFC 7009 §2.2 (<https://www.rfc-editor.org/rfc/rfc7009#section-2.2>, read
    /// 2026-12-07) has a revocation endpoint answer 200 "if the token has been revoked
    /// successfully or if the client submitted an invalid token", so an RFC 7009 success proves
    /// nothing about any other token. Platform by platform:
    ///
    /// - **Google: every token of the grant covers every other.** "The token can be an access
    ///   token or a refresh token. If the token is an access token and it has a corresponding
    ///   refresh token, the refresh token will also be revoked", and "Revocation removes all
    ///   OAuth 2.0 scopes previously granted to a project, invalidating any issued access or
    ///   refresh tokens". The 200 is proof: "If the revocation is successfully processed, then
    ///   the HTTP status code of the response is 200. For error conditions, an HTTP status code
    ///   400 is returned along with an error code." (Using OAuth 2.0 for Web Server
    ///   Applications, "Token revocation",
    ///   <https://developers.google.com/identity/protocols/oauth2/web-server#tokenrevoke>, read
    ///   2026-12-07 from a copy of the page.)
    /// - **Meta: an access token covers the other access tokens.** `DELETE /{user-id}/permissions`
    ///   "must be made with a valid user access token or an app access token for the current
    ///   app. If the request is successful, your app receives a response of `true`. If the call
    ///   is successful, any user access token for the person will be invalidated" (Requesting &
    ///   Revoking Permissions,
    ///   <https://developers.facebook.com/documentation/facebook-login/guides/permissions/request-revoke>,
    ///   updated 2026-03-03, read 2026-12-07 from a copy of the page). An invalid token gets an
    ///   error (code 190, Handling Errors,
    ///   <https://developers.facebook.com/docs/graph-api/guides/error-handling>, read
    ///   2026-12-07), not `true`. The sentence speaks of user access tokens: docs/data-contract.md
    ///   has the writers store only those (no Page token) as Meta token items. Meta issues no
    ///   refresh tokens: a `refresh_token` item is never covered, it fails on its own.
    /// - **TikTok: a refresh token covers the access tokens.** A TikTok refresh token is
    ///   `revoked` only by refreshing it and revoking the fresh access token TikTok has just
    ///   issued (see `tiktok`), a token that is valid, and the revoke call "Revokes a user access
    ///   token and disconnects your app from the user's TikTok account" (Revoke a User Access
    ///   Token, <https://developers.tiktok.com/docs/en/oauth-revoke-a-user-access-token>,
    ///   updated 2026-11-02, read 2026-12-07). An access token's `revoked` covers nothing: the
    ///   stored access token has usually expired (it lives 2 hours), and what revoking an
    ///   expired or unknown token answers is not documented; so a refresh token always goes
    ///   through its own refresh and revoke.
    /// - **Discord: nothing.** "When you revoke a token, any active access or refresh tokens
    ///   associated with that authorization will be revoked, regardless of the `token` and
    ///   `token_type_hint` values you pass in" (OAuth2, "Token Revocation Example",
    ///   <https://discord.com/developers/docs/topics/oauth2>, read 2026-12-07 from the docs'
    ///   source, discord/discord-api-docs `developers/topics/oauth2.mdx` c98d64b); but its
    ///   revocation URL is an RFC 7009 one (the same page links it to RFC 7009) and no answer
    ///   for an invalid token is documented, so a 200 does not prove the token sent was live.
    ///   Each token is revoked by its own call.
    /// - **Reddit: nothing.** "Revoking a refresh token will also revoke any related access
    ///   tokens!", but "Per RFC 7009, this request will return a success (204) response even if
    ///   the passed in `token` was never valid" (OAuth2 wiki, "Manually Revoking a Token",
    ///   <https://github.com/reddit-archive/reddit/wiki/OAuth2>, read 2026-12-07): a 204 for a
    ///   bad stored refresh token would mark a live access token revoked. Each token is revoked
    ///   by its own call.
    /// - **X: nothing.** "A revoke token invalidates an access token or refresh token" (OAuth
    ///   2.0 user access token, step 6,
    ///   <https://docs.x.com/fundamentals/authentication/oauth-2-0/user-access-token>, read
    ///   2026-12-07 from a copy): one token, no word of the others.
    /// - **LinkedIn: nothing.** No page documents the call.
    /// - **Mastodon: nothing.** "Revoke an access token to make it no longer valid for use"
    ///   (<https://docs.joinmastodon.org/methods/oauth/#revoke>, read 2026-12-07 from the docs'
    ///   source); Mastodon has no refresh tokens.
    pub fn revocation_covers(self, revoked: crate::TokenType, other: crate::TokenType) -> bool {
        use crate::TokenType::{AccessToken, RefreshToken};
        match self {
            Platform::Google => true,
            Platform::Meta => revoked == AccessToken && other == AccessToken,
            Platform::TikTok => revoked == RefreshToken && other == AccessToken,
            Platform::Discord
            | Platform::Reddit
            | Platform::X
            | Platform::LinkedIn
            | Platform::Mastodon => false,
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
    use crate::TokenType;
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

    /// Every platform and every pair of token types: `via` only where a proven revocation
    /// ends the other token by the platform's documentation, never access -> refresh on an
    /// answer that RFC 7009 gives for any token.
    #[test]
    fn a_revocation_covers_another_token_only_where_its_answer_proves_it_and_the_docs_say_so() {
        let pairs = [
            (AccessToken, AccessToken),
            (AccessToken, RefreshToken),
            (RefreshToken, AccessToken),
            (RefreshToken, RefreshToken),
        ];
        let covered: &[(Platform, &[(TokenType, TokenType)])] = &[
            (Platform::Google, &pairs),
            (Platform::Meta, &[(AccessToken, AccessToken)]),
            (Platform::TikTok, &[(RefreshToken, AccessToken)]),
            (Platform::Discord, &[]),
            (Platform::Reddit, &[]),
            (Platform::X, &[]),
            (Platform::LinkedIn, &[]),
            (Platform::Mastodon, &[]),
        ];
        assert_eq!(
            covered.len(),
            Platform::ALL.len(),
            "every platform is decided"
        );
        for &(platform, expected) in covered {
            for (revoked, other) in pairs {
                assert_eq!(
                    platform.revocation_covers(revoked, other),
                    expected.contains(&(revoked, other)),
                    "{platform}: {revoked} covers {other}?"
                );
            }
        }
        // Where a 200 may answer an invalid token, an access token never covers a refresh
        // token.
        for platform in [
            Platform::TikTok,
            Platform::Discord,
            Platform::Reddit,
            Platform::X,
            Platform::LinkedIn,
            Platform::Mastodon,
            Platform::Meta,
        ] {
            assert!(
                !platform.revocation_covers(AccessToken, RefreshToken),
                "{platform}"
            );
        }
    }
}
