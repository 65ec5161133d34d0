//! Parse-once newtypes for the identifiers that cross the HTTP edge.

use std::fmt;

use percent_encoding::percent_decode_str;

/// Longest integration id accepted, in bytes.
pub const MAX_INTEGRATION_ID_LEN: usize = 128;

/// An integration id that is known to be well formed: 1 to 128 bytes of `[A-Za-z0-9_-]`.
///
/// Nothing downstream of the HTTP edge ever handles a raw id string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IntegrationId(String);

/// Why a path segment is not an integration id. The variants are for logs and tests;
/// clients only ever see `invalid_integration_id`.
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
    /// Parses an id exactly as it appears in a URL path segment: percent-decoded once, then checked.
    pub fn from_path_segment(segment: &str) -> Result<Self, InvalidIntegrationId> {
        let decoded = percent_decode_str(segment)
            .decode_utf8()
            .map_err(|_| InvalidIntegrationId::NotUtf8)?;
        Self::parse(&decoded)
    }

    /// Parses an already-decoded id.
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
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccountId(String);

impl AccountId {
    /// Account ids come from our own secret, so the only rule is that one is never empty.
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
            let id = IntegrationId::from_path_segment(raw)
                .unwrap_or_else(|e| panic!("{raw:?} should parse: {e}"));
            assert_eq!(id.as_str(), raw);
        }
    }

    #[test]
    fn percent_encoded_ids_are_decoded_once() {
        let id = IntegrationId::from_path_segment("int%5Fyt%2Dabc").unwrap();
        assert_eq!(id.as_str(), "int_yt-abc");
        // %2541 decodes to the literal "%41", which is not a valid id.
        assert_eq!(
            IntegrationId::from_path_segment("%2541"),
            Err(InvalidIntegrationId::BadCharacter)
        );
    }

    #[test]
    fn malformed_ids_are_rejected_with_the_reason() {
        let too_long = "x".repeat(129);
        let cases: &[(&str, &str, InvalidIntegrationId)] = &[
            ("empty", "", InvalidIntegrationId::Empty),
            ("129 bytes", &too_long, InvalidIntegrationId::TooLong),
            ("bang", "bad!id", InvalidIntegrationId::BadCharacter),
            (
                "encoded bang",
                "bad%21id",
                InvalidIntegrationId::BadCharacter,
            ),
            ("space", "int%20yt", InvalidIntegrationId::BadCharacter),
            ("dot", "int.yt", InvalidIntegrationId::BadCharacter),
            (
                "encoded slash",
                "int%2Fyt",
                InvalidIntegrationId::BadCharacter,
            ),
            (
                "non-ascii letter",
                "int%C3%A9",
                InvalidIntegrationId::BadCharacter,
            ),
            ("invalid utf-8", "int%FF", InvalidIntegrationId::NotUtf8),
            ("percent alone", "int%", InvalidIntegrationId::BadCharacter),
            ("encoded nul", "int%00", InvalidIntegrationId::BadCharacter),
        ];
        for (name, raw, expected) in cases {
            assert_eq!(
                IntegrationId::from_path_segment(raw),
                Err(*expected),
                "case {name}: {raw:?}"
            );
        }
    }

    #[test]
    fn the_length_limit_counts_bytes_after_decoding() {
        // 128 'a's written as %61 each is 384 characters on the wire but 128 bytes decoded.
        let encoded = "%61".repeat(128);
        assert_eq!(
            IntegrationId::from_path_segment(&encoded).unwrap().as_str(),
            "a".repeat(128)
        );
        assert_eq!(
            IntegrationId::from_path_segment(&"%61".repeat(129)),
            Err(InvalidIntegrationId::TooLong)
        );
    }

    #[test]
    fn account_ids_are_never_blank() {
        assert!(AccountId::new("").is_none());
        assert!(AccountId::new("  ").is_none());
        assert_eq!(AccountId::new("acct_1").unwrap().as_str(), "acct_1");
    }
}
