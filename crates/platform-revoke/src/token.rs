//! A token to revoke: its value (never shown), its type, and the attributes of its item that
//! decide where it is revoked.

use std::fmt;
use std::str::FromStr;

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

/// Which Meta login product issued a token: the token item's `loginFlow`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LoginFlow {
    /// Facebook Login (a Facebook user access token, `graph.facebook.com`). The default: an
    /// item without `loginFlow` was written before the attribute existed, when every `facebook`
    /// and `instagram` integration connected through Facebook Login.
    #[default]
    FacebookLogin,
    /// Instagram API with Instagram Login (an Instagram user access token,
    /// `graph.instagram.com`).
    InstagramLogin,
}

impl LoginFlow {
    pub fn as_str(self) -> &'static str {
        match self {
            LoginFlow::FacebookLogin => "facebook_login",
            LoginFlow::InstagramLogin => "instagram_login",
        }
    }

    /// `facebook_login` or `instagram_login`; absent is [`LoginFlow::FacebookLogin`].
    pub fn parse(attribute: Option<&str>) -> Result<Self, UnknownLoginFlow> {
        match attribute {
            None | Some("facebook_login") => Ok(LoginFlow::FacebookLogin),
            Some("instagram_login") => Ok(LoginFlow::InstagramLogin),
            Some(_) => Err(UnknownLoginFlow),
        }
    }
}

/// A `loginFlow` that is neither `facebook_login` nor `instagram_login`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown loginFlow: expected facebook_login or instagram_login")]
pub struct UnknownLoginFlow;

/// The attributes of a token item, besides its value and type, that decide where it goes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenItem {
    /// `loginFlow` (Meta tokens).
    pub login_flow: LoginFlow,
    /// `server` (Mastodon tokens): the host of the account's server, such as `mastodon.social`.
    pub server: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_token_never_shows_its_value() {
        let token = Token::new("tok-SECRET");
        assert_eq!(format!("{token:?}"), "Token(<redacted>)");
        assert_eq!(token.to_string(), "<redacted>");
        assert_eq!(Token::from("x".to_owned()).expose(), "x");
    }

    #[test]
    fn an_absent_login_flow_is_facebook_login_and_an_unknown_one_is_refused() {
        assert_eq!(LoginFlow::parse(None), Ok(LoginFlow::FacebookLogin));
        for flow in [LoginFlow::FacebookLogin, LoginFlow::InstagramLogin] {
            assert_eq!(LoginFlow::parse(Some(flow.as_str())), Ok(flow));
        }
        for other in ["", "Instagram_Login", "instagram", "threads_login"] {
            assert_eq!(
                LoginFlow::parse(Some(other)),
                Err(UnknownLoginFlow),
                "{other:?}"
            );
        }
    }
}
