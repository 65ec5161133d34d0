//! The disconnect marker: what a disconnect leaves behind for the schedule processors.
//!
//! Item `PK = INTEGRATION#<id>`, `SK = DISCONNECTED`, with `id`, `accountId`, `type`,
//! `disconnectedAt` (RFC 3339, UTC), `reason = "integration_disconnected"` and `expiresAt`
//! (epoch seconds, the table's TTL attribute). DynamoDB removes expired items only within days
//! of `expiresAt`, so every reader must treat a marker whose `expiresAt` has passed as absent:
//! [`DisconnectMarker::is_live`] and [`MarkerReader`] do that.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::primitives::{DateTime, DateTimeFormat};
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use futures_util::future::try_join_all;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::ids::{AccountId, IntegrationId};
use crate::store::{DEPENDENCY, SK_MARKER, partition_key, until_processed};

type Item = HashMap<String, AttributeValue>;

/// `BatchGetItem` reads at most 100 keys.
const BATCH_GET_LIMIT: usize = 100;

/// The `reason` every marker written by this function carries.
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
            expires_at: now_secs.saturating_add(ttl.as_secs() as i64),
        }
    }

    /// Whether the marker still counts at `now`: `expiresAt` is strictly in the future.
    pub fn is_live(&self, now: SystemTime) -> bool {
        self.expires_at > epoch_seconds(now)
    }
}

/// Whole seconds since the epoch (negative before it, which never happens in practice).
pub fn epoch_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

/// RFC 3339 in UTC with a `Z` suffix and whole seconds.
pub fn rfc3339(epoch_secs: i64) -> String {
    DateTime::from_secs(epoch_secs)
        .fmt(DateTimeFormat::DateTime)
        .expect("any epoch second within i64 years formats as RFC 3339")
}

/// Reads markers, for the schedule processors: "was this integration disconnected?".
#[derive(Debug, Clone)]
pub struct MarkerReader {
    client: Client,
    table: String,
}

impl MarkerReader {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// The live marker of `id`, or `None` if it was never disconnected or the marker expired.
    pub async fn live_marker(
        &self,
        id: &IntegrationId,
        now: SystemTime,
    ) -> Result<Option<DisconnectMarker>, Error> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("PK", partition_key(id))
            .key(
                "SK",
                aws_sdk_dynamodb::types::AttributeValue::S(SK_MARKER.into()),
            )
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| Error::from_sdk(DEPENDENCY, e))?;
        let Some(item) = output.item else {
            return Ok(None);
        };
        let marker: DisconnectMarker = serde_dynamo::from_item(item)
            .map_err(|e| Error::internal(format!("unreadable marker of {id}: {e}")))?;
        Ok(marker.is_live(now).then_some(marker))
    }
    /// The live markers of many integrations at once, keyed by id; ids without a live marker
    /// are absent from the map. Duplicates are read once. One `BatchGetItem` per 100 distinct
    /// ids, sent concurrently, with `UnprocessedKeys` retried.
    pub async fn live_markers<'a>(
        &self,
        ids: impl IntoIterator<Item = &'a IntegrationId>,
        now: SystemTime,
    ) -> Result<HashMap<IntegrationId, DisconnectMarker>, Error> {
        let distinct: Vec<&IntegrationId> = ids
            .into_iter()
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let batches = distinct
            .chunks(BATCH_GET_LIMIT)
            .map(|chunk| self.batch_get(chunk));
        let mut markers = HashMap::new();
        for items in try_join_all(batches).await? {
            for item in items {
                let marker: DisconnectMarker = serde_dynamo::from_item(item)
                    .map_err(|e| Error::internal(format!("unreadable marker: {e}")))?;
                if !marker.is_live(now) {
                    continue;
                }
                let id = IntegrationId::parse(&marker.id)
                    .map_err(|e| Error::internal(format!("marker with a bad id: {e}")))?;
                markers.insert(id, marker);
            }
        }
        Ok(markers)
    }

    async fn batch_get(&self, ids: &[&IntegrationId]) -> Result<Vec<Item>, Error> {
        let keys = ids
            .iter()
            .map(|id| {
                HashMap::from([
                    ("PK".to_owned(), partition_key(id)),
                    ("SK".to_owned(), AttributeValue::S(SK_MARKER.into())),
                ])
            })
            .collect();
        let keys = KeysAndAttributes::builder()
            .set_keys(Some(keys))
            .consistent_read(true)
            .build()
            .map_err(|e| Error::internal(format!("building a marker batch read: {e}")))?;
        let pages = until_processed(keys, "marker reads", |keys| async move {
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, keys)
                .send()
                .await
                .map_err(|e| Error::from_sdk(DEPENDENCY, e))?;
            let found = output
                .responses
                .and_then(|mut r| r.remove(&self.table))
                .unwrap_or_default();
            let unprocessed = output
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table))
                .filter(|k| !k.keys().is_empty());
            Ok((found, unprocessed))
        })
        .await?;
        Ok(pages.into_iter().flatten().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marker_records_the_disconnect_time_and_its_expiry() {
        let now = UNIX_EPOCH + Duration::from_secs(1_795_860_000); // 2026-11-28T10:00:00Z
        let marker = DisconnectMarker::new(
            &IntegrationId::parse("int_yt_abc123").unwrap(),
            &AccountId::new("acct_1").unwrap(),
            "youtube",
            now + Duration::from_millis(999),
            Duration::from_secs(90 * 86_400),
        );
        assert_eq!(marker.disconnected_at, "2026-11-28T10:00:00Z");
        assert_eq!(marker.expires_at, 1_795_860_000 + 90 * 86_400);
        assert_eq!(marker.reason, "integration_disconnected");
        assert!(marker.is_live(now));
        let expiry = UNIX_EPOCH + Duration::from_secs(marker.expires_at as u64);
        assert!(marker.is_live(expiry - Duration::from_secs(1)));
        assert!(!marker.is_live(expiry), "expired at expiresAt exactly");
    }

    #[test]
    fn markers_serialize_to_the_data_contract() {
        let marker = DisconnectMarker {
            id: "i".into(),
            account_id: "a".into(),
            integration_type: "tiktok".into(),
            disconnected_at: "2026-01-01T00:00:00Z".into(),
            reason: REASON_DISCONNECTED.into(),
            expires_at: 42,
        };
        let item: serde_dynamo::Item = serde_dynamo::to_item(&marker).unwrap();
        let mut names: Vec<_> = item.keys().cloned().collect();
        names.sort();
        assert_eq!(
            names,
            [
                "accountId",
                "disconnectedAt",
                "expiresAt",
                "id",
                "reason",
                "type"
            ]
        );
        let item: std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> =
            serde_dynamo::to_item(&marker).unwrap();
        assert_eq!(
            item["expiresAt"],
            aws_sdk_dynamodb::types::AttributeValue::N("42".into())
        );
    }

    #[tokio::test]
    async fn unprocessed_marker_reads_are_retried() {
        use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemOutput;
        use aws_smithy_mocks::{RuleMode, mock, mock_client};

        let marker_item = || -> Item {
            serde_dynamo::to_item(DisconnectMarker {
                id: "int_1".into(),
                account_id: "a".into(),
                integration_type: "youtube".into(),
                disconnected_at: "2026-11-28T10:00:00Z".into(),
                reason: REASON_DISCONNECTED.into(),
                expires_at: i64::MAX,
            })
            .unwrap()
        };
        let rule = mock!(Client::batch_get_item)
            .sequence()
            .output(|| {
                let keys = KeysAndAttributes::builder()
                    .keys(HashMap::from([
                        (
                            "PK".to_owned(),
                            AttributeValue::S("INTEGRATION#int_1".into()),
                        ),
                        ("SK".to_owned(), AttributeValue::S(SK_MARKER.into())),
                    ]))
                    .build()
                    .unwrap();
                BatchGetItemOutput::builder()
                    .unprocessed_keys("t", keys)
                    .build()
            })
            .output(move || {
                BatchGetItemOutput::builder()
                    .responses("t", vec![marker_item()])
                    .build()
            })
            .build();
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&rule]);
        let reader = MarkerReader::new(client, "t");
        let id = IntegrationId::parse("int_1").unwrap();

        let markers = reader.live_markers([&id], SystemTime::now()).await.unwrap();

        assert_eq!(rule.num_calls(), 2);
        assert_eq!(markers[&id].integration_type, "youtube");
    }
}
