//! Parse-once newtypes for the identifiers of the table.

use std::fmt;

/// Longest integration id accepted, in bytes.
pub const MAX_INTEGRATION_ID_LEN: usize = 128;

/// An integration id that is known to be well formed: 1 to 128 bytes of `[A-Za-z0-9_-]`.
///
/// Nothing downstream of the edge that parses it ever handles a raw id string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct IntegrationId(String);

/// Why a string is not an integration id. The variants are for logs and tests; clients of the
/// HTTP API only ever see `invalid_integration_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidIntegrationId {
    #[error("the integration id is empty")]
    Empty,
    #[error("the integration id is longer than {MAX_INTEGRATION_ID_LEN} bytes")]
    TooLong,
    #[error("the integration id is not valid percent-encoded UTF-8")]
    NotUtf8,
    #[error("the integration id has a character outside [A-Za-z0-9_-]")]
    BadCharacter,
}

impl IntegrationId {
    /// Parses an id that is already decoded (no percent-encoding is undone here).
    pub fn parse(raw: &str) -> Result<Self, InvalidIntegrationId> {
        if raw.is_empty() {
            return Err(InvalidIntegrationId::Empty);
        }
        if raw.len() > MAX_INTEGRATION_ID_LEN {
            return Err(InvalidIntegrationId::TooLong);
        }
        if !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(InvalidIntegrationId::BadCharacter);
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IntegrationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The account that owns an API key, as configured in the API-keys secret.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct AccountId(String);

impl AccountId {
    /// Account ids come from our own secret, so the only rule is that one is never blank.
    pub fn new(raw: impl Into<String>) -> Option<Self> {
        let raw = raw.into();
        (!raw.trim().is_empty()).then_some(Self(raw))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_ids_are_accepted_as_they_are() {
        for raw in ["int_yt_abc123", "a", "A-b_C-9", &"x".repeat(128)] {
            let id = IntegrationId::parse(raw).unwrap_or_else(|e| panic!("{raw:?}: {e}"));
            assert_eq!(id.as_str(), raw);
        }
    }

    #[test]
    fn malformed_ids_are_rejected_with_the_reason() {
        let too_long = "x".repeat(129);
        let cases: &[(&str, &str, InvalidIntegrationId)] = &[
            ("empty", "", InvalidIntegrationId::Empty),
            ("129 bytes", &too_long, InvalidIntegrationId::TooLong),
            ("bang", "bad!id", InvalidIntegrationId::BadCharacter),
            ("percent", "int%5Fyt", InvalidIntegrationId::BadCharacter),
            ("space", "int yt", InvalidIntegrationId::BadCharacter),
            ("dot", "int.yt", InvalidIntegrationId::BadCharacter),
            ("slash", "int/yt", InvalidIntegrationId::BadCharacter),
            (
                "non-ascii letter",
                "inté",
                InvalidIntegrationId::BadCharacter,
            ),
            ("nul", "int\0", InvalidIntegrationId::BadCharacter),
        ];
        for (name, raw, expected) in cases {
            assert_eq!(IntegrationId::parse(raw), Err(*expected), "case {name}");
        }
    }

    #[test]
    fn account_ids_are_never_blank() {
        assert!(AccountId::new("").is_none());
        assert!(AccountId::new("  ").is_none());
        assert_eq!(AccountId::new("acct_1").unwrap().as_str(), "acct_1");
    }

    #[test]
    fn ids_display_as_they_are() {
        assert_eq!(AccountId::new("acct_1").unwrap().to_string(), "acct_1");
        assert_eq!(IntegrationId::parse("int_1").unwrap().to_string(), "int_1");
    }
}
