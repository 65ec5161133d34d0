//! The key layout of the one table (keys `PK`/`SK`).
//!
//! | item | `PK` | `SK` |
//! |---|---|---|
//! | integration | `INTEGRATION#<id>` | `INTEGRATION` |
//! | its tokens | `INTEGRATION#<id>` | `TOKEN#<name>` |
//! | the disconnect marker | `INTEGRATION#<id>` | `DISCONNECTED` |
//!
//! Any other sort key under an integration's partition belongs to someone else and is never
//! touched.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::ids::IntegrationId;

pub use crate::attributes::{PK, SK};

pub const SK_INTEGRATION: &str = "INTEGRATION";
pub const SK_MARKER: &str = "DISCONNECTED";
pub const TOKEN_SK_PREFIX: &str = "TOKEN#";

/// A key of the table: `PK` and `SK`.
pub type Key = HashMap<String, AttributeValue>;

/// The partition key of an integration and everything that belongs to it.
pub fn partition_key(id: &IntegrationId) -> AttributeValue {
    AttributeValue::S(format!("INTEGRATION#{id}"))
}

/// The key of the item with sort key `sk` in `id`'s partition.
pub fn item_key(id: &IntegrationId, sk: &str) -> Key {
    HashMap::from([
        (PK.to_owned(), partition_key(id)),
        (SK.to_owned(), AttributeValue::S(sk.to_owned())),
    ])
}

/// The key of `id`'s disconnect marker.
pub fn marker_key(id: &IntegrationId) -> Key {
    item_key(id, SK_MARKER)
}

/// What an item of an integration's partition is, by its sort key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey<'a> {
    Integration,
    Marker,
    /// A token; the whole sort key, `TOKEN#<name>`.
    Token(&'a str),
    /// Somebody else's item: never read for a decision, never deleted.
    Other,
}

impl<'a> SortKey<'a> {
    pub fn classify(sk: &'a str) -> Self {
        match sk {
            SK_INTEGRATION => Self::Integration,
            SK_MARKER => Self::Marker,
            token if token.starts_with(TOKEN_SK_PREFIX) => Self::Token(token),
            _ => Self::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_keys_are_classified() {
        assert_eq!(SortKey::classify("INTEGRATION"), SortKey::Integration);
        assert_eq!(SortKey::classify("DISCONNECTED"), SortKey::Marker);
        assert_eq!(SortKey::classify("TOKEN#a"), SortKey::Token("TOKEN#a"));
        assert_eq!(SortKey::classify("AUDIT#2026"), SortKey::Other);
        assert_eq!(SortKey::classify("INTEGRATION#x"), SortKey::Other);
    }

    #[test]
    fn keys_name_the_partition_of_the_integration() {
        let id = IntegrationId::parse("int_1").unwrap();
        let key = marker_key(&id);
        assert_eq!(
            key[crate::attributes::PK],
            AttributeValue::S("INTEGRATION#int_1".into())
        );
        assert_eq!(
            key[crate::attributes::SK],
            AttributeValue::S("DISCONNECTED".into())
        );
    }
}
