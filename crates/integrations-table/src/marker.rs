//! The disconnect marker: what a disconnect leaves behind for the schedule processors.
//!
//! Item `PK = INTEGRATION#<id>`, `SK = DISCONNECTED`, with `id`, `accountId`, `type`,
//! `disconnectedAt` (RFC 3339, UTC), `reason = "integration_disconnected"` and `expiresAt`
//! (epoch seconds, the table's TTL attribute). DynamoDB removes expired items only within days
//! of `expiresAt`, so every reader must treat a marker whose `expiresAt` has passed as absent:
//! [`DisconnectMarker::is_live`] does that.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::primitives::{DateTime, DateTimeFormat};
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use crate::ids::{AccountId, IntegrationId};
use crate::keys::{PK, SK, SK_MARKER, partition_key};

/// The `reason` every marker written by the disconnect carries.
pub const REASON_DISCONNECTED: &str = "integration_disconnected";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DisconnectMarker {
    pub id: String,
    pub account_id: String,
    #[serde(rename = "type")]
    pub integration_type: String,
    /// RFC 3339, UTC, whole seconds: `2026-11-28T10:00:00Z`.
    pub disconnected_at: String,
    pub reason: String,
    /// Epoch seconds after which the marker no longer counts.
    pub expires_at: i64,
    /// The integration's `grantId` (the platform grant behind its tokens), when it had one:
    /// the token revoker skips revoking a grant another live integration still uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<String>,
}

impl DisconnectMarker {
    /// The marker of a disconnect happening at `now`.
    pub fn new(
        id: &IntegrationId,
        account: &AccountId,
        integration_type: &str,
        now: SystemTime,
        ttl: Duration,
    ) -> Self {
        let now_secs = epoch_seconds(now);
        Self {
            id: id.as_str().to_owned(),
            account_id: account.as_str().to_owned(),
            integration_type: integration_type.to_owned(),
            disconnected_at: rfc3339(now_secs),
            reason: REASON_DISCONNECTED.to_owned(),
            expires_at: now_secs.saturating_add(ttl.as_secs().try_into().unwrap_or(i64::MAX)),
            grant_id: None,
        }
    }

    /// The marker with the integration's `grantId`, if it had one.
    pub fn with_grant_id(mut self, grant_id: Option<String>) -> Self {
        self.grant_id = grant_id.filter(|g| !g.is_empty());
        self
    }

    /// Whether the marker still counts at `now`: `expiresAt` is strictly in the future.
    pub fn is_live(&self, now: SystemTime) -> bool {
        self.expires_at > epoch_seconds(now)
    }

    /// The whole item, keys included, as `PutItem` takes it.
    pub fn to_item(&self) -> Result<HashMap<String, AttributeValue>, serde_dynamo::Error> {
        let mut item: HashMap<String, AttributeValue> = serde_dynamo::to_item(self)?;
        let id = IntegrationId::parse(&self.id).map_err(serde::ser::Error::custom)?;
        item.insert(PK.to_owned(), partition_key(&id));
        item.insert(SK.to_owned(), AttributeValue::S(SK_MARKER.to_owned()));
        Ok(item)
    }

    /// Reads a marker item (extra attributes, the keys among them, are ignored).
    pub fn from_item(item: HashMap<String, AttributeValue>) -> Result<Self, serde_dynamo::Error> {
        serde_dynamo::from_item(item)
    }
}

/// Whole seconds since the epoch (negative before it, which never happens in practice).
pub fn epoch_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// RFC 3339 in UTC with a `Z` suffix and whole seconds. Years beyond 9999 cannot be written in
/// RFC 3339; they are clamped to the last second of 9999.
pub fn rfc3339(epoch_secs: i64) -> String {
    const LAST_RFC3339_SECOND: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
    DateTime::from_secs(epoch_secs.clamp(0, LAST_RFC3339_SECOND))
        .fmt(DateTimeFormat::DateTime)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn marker() -> DisconnectMarker {
        DisconnectMarker::new(
            &IntegrationId::parse("int_yt_abc123").unwrap(),
            &AccountId::new("acct_1").unwrap(),
            "youtube",
            UNIX_EPOCH + Duration::from_millis(1_795_860_000_999), // 2026-11-28T10:00:00.999Z
            Duration::from_secs(90 * 86_400),
        )
    }

    #[test]
    fn a_marker_records_the_disconnect_time_and_its_expiry() {
        let now = UNIX_EPOCH + Duration::from_secs(1_795_860_000);
        let marker = marker();
        assert_eq!(marker.disconnected_at, "2026-11-28T10:00:00Z");
        assert_eq!(marker.expires_at, 1_795_860_000 + 90 * 86_400);
        assert_eq!(marker.reason, "integration_disconnected");
        assert!(marker.is_live(now));
        let expiry = UNIX_EPOCH + Duration::from_secs(marker.expires_at as u64);
        assert!(marker.is_live(expiry - Duration::from_secs(1)));
        assert!(!marker.is_live(expiry), "expired at expiresAt exactly");
    }

    /// The serde names of [`DisconnectMarker`] are the table's attribute names
    /// ([`crate::attributes::MARKER`]): a field renamed in one place only fails here.
    #[test]
    fn a_marker_item_has_the_keys_and_the_data_contract() {
        use crate::attributes::{EXPIRES_AT, MARKER, PK, SK};
        let with_grant = marker().with_grant_id(Some("g_1".into()));
        let item = with_grant.to_item().unwrap();
        let names: BTreeSet<&str> = item.keys().map(String::as_str).collect();
        let expected: BTreeSet<&str> = [PK, SK].into_iter().chain(MARKER).collect();
        assert_eq!(names, expected);
        assert_eq!(
            item[PK],
            AttributeValue::S("INTEGRATION#int_yt_abc123".into())
        );
        assert_eq!(item[SK], AttributeValue::S("DISCONNECTED".into()));
        assert_eq!(
            item[EXPIRES_AT],
            AttributeValue::N((1_795_860_000i64 + 90 * 86_400).to_string())
        );
        assert_eq!(DisconnectMarker::from_item(item).unwrap(), with_grant);
        let without = marker().to_item().unwrap();
        assert!(!without.contains_key(crate::attributes::GRANT_ID));
    }

    #[test]
    fn times_outside_rfc3339_are_clamped_not_a_panic() {
        assert_eq!(rfc3339(i64::MAX), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339(-5), "1970-01-01T00:00:00Z");
        let far = DisconnectMarker::new(
            &IntegrationId::parse("i").unwrap(),
            &AccountId::new("a").unwrap(),
            "x",
            UNIX_EPOCH,
            Duration::MAX,
        );
        assert_eq!(far.expires_at, i64::MAX);
    }

    #[test]
    fn a_grant_id_is_kept_and_a_blank_one_is_none() {
        assert_eq!(
            marker()
                .with_grant_id(Some("g_1".into()))
                .grant_id
                .as_deref(),
            Some("g_1")
        );
        assert_eq!(marker().with_grant_id(Some(String::new())).grant_id, None);
        assert_eq!(marker().with_grant_id(None).grant_id, None);
    }

    #[test]
    fn epoch_seconds_count_back_before_the_epoch() {
        assert_eq!(epoch_seconds(UNIX_EPOCH + Duration::from_secs(5)), 5);
        assert_eq!(epoch_seconds(UNIX_EPOCH - Duration::from_secs(5)), -5);
    }
}
