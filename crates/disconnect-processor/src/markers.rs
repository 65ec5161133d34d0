//! Reading disconnect markers: one at a time, or many at once.

use std::collections::{HashMap, HashSet};
use std::time::SystemTime;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use futures_util::future::try_join_all;
use integrations_table::attributes::PK;
use integrations_table::batch::{BATCH_GET_LIMIT, until_processed};
use integrations_table::keys::marker_key;
use integrations_table::{DisconnectMarker, IntegrationId};

use crate::Error;

type Item = HashMap<String, AttributeValue>;

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
            .set_key(Some(marker_key(id)))
            .consistent_read(true)
            .send()
            .await?;
        let Some(item) = output.item else {
            return Ok(None);
        };
        let marker = read_marker(id.as_str(), item)?;
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
                let pk = match item.get(PK) {
                    Some(AttributeValue::S(pk)) => pk.clone(),
                    _ => String::new(),
                };
                let marker = read_marker(&pk, item)?;
                if !marker.is_live(now) {
                    continue;
                }
                let id = IntegrationId::parse(&marker.id).map_err(|e| Error::MalformedMarker {
                    id: pk,
                    source: Box::new(e),
                })?;
                markers.insert(id, marker);
            }
        }
        Ok(markers)
    }

    async fn batch_get(&self, ids: &[&IntegrationId]) -> Result<Vec<Item>, Error> {
        let keys = KeysAndAttributes::builder()
            .set_keys(Some(ids.iter().map(|id| marker_key(id)).collect()))
            .consistent_read(true)
            .build()
            .map_err(|e| Error::Refused(Box::new(e)))?;
        let pages = until_processed(keys, "marker reads", |keys| async move {
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, keys)
                .send()
                .await?;
            let found = output
                .responses
                .and_then(|mut r| r.remove(&self.table))
                .unwrap_or_default();
            let unprocessed = output
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table))
                .filter(|k| !k.keys().is_empty());
            Ok::<_, Error>((found, unprocessed))
        })
        .await?;
        Ok(pages.into_iter().flatten().collect())
    }
}

fn read_marker(id: &str, item: Item) -> Result<DisconnectMarker, Error> {
    DisconnectMarker::from_item(item).map_err(|e| Error::MalformedMarker {
        id: id.to_owned(),
        source: Box::new(e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use integrations_table::attributes::{
        ACCOUNT_ID, DISCONNECTED_AT, EXPIRES_AT, ID, PK, REASON, SK, TYPE,
    };
    use serde_json::{Value, json};
    use test_support::fake_aws::{FakeAws, Reply, wire_item};

    /// `int_1`'s key, on the wire.
    fn key() -> Value {
        wire_item(&json!({PK: "INTEGRATION#int_1", SK: "DISCONNECTED"}))
    }

    /// `int_1`'s live marker, on the wire.
    fn marker() -> Value {
        wire_item(&json!({
            PK: "INTEGRATION#int_1", SK: "DISCONNECTED", ID: "int_1", ACCOUNT_ID: "a",
            TYPE: "youtube", DISCONNECTED_AT: "2026-11-28T10:00:00Z",
            REASON: "integration_disconnected", EXPIRES_AT: 9_999_999_999_i64,
        }))
    }

    #[tokio::test]
    async fn unprocessed_marker_reads_are_retried() {
        let fake = FakeAws::new(|call| {
            match call.nth {
            0 => Reply::ok(
                json!({"Responses": {}, "UnprocessedKeys": {"t": {"Keys": [key()], "ConsistentRead": true}}})
                    .to_string(),
            ),
            _ => Reply::ok(json!({"Responses": {"t": [marker()]}}).to_string()),
        }
        });
        let reader = MarkerReader::new(fake.dynamodb(), "t");
        let id = IntegrationId::parse("int_1").unwrap();

        let markers = reader.live_markers([&id], SystemTime::now()).await.unwrap();

        assert_eq!(fake.count("BatchGetItem"), 2);
        assert_eq!(markers[&id].integration_type, "youtube");
    }

    #[tokio::test]
    async fn throttling_is_transient_and_a_missing_table_is_not() {
        for (code, transient) in [
            ("ProvisionedThroughputExceededException", true),
            ("ResourceNotFoundException", false),
        ] {
            let fake = FakeAws::new(move |_| Reply::error(400, code));
            let reader = MarkerReader::new(fake.dynamodb(), "t");
            let id = IntegrationId::parse("int_1").unwrap();
            let err = reader
                .live_marker(&id, SystemTime::now())
                .await
                .unwrap_err();
            assert_eq!(err.is_transient(), transient, "{code}: {err:?}");
        }
    }

    #[tokio::test]
    async fn a_malformed_marker_names_its_integration() {
        let fake = FakeAws::new(|_| {
            let item = wire_item(&json!({PK: "INTEGRATION#int_1", ID: "int_1"}));
            Reply::ok(json!({ "Item": item }).to_string())
        });
        let reader = MarkerReader::new(fake.dynamodb(), "t");
        let id = IntegrationId::parse("int_1").unwrap();
        let err = reader
            .live_marker(&id, SystemTime::now())
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::MalformedMarker { id, .. } if id == "int_1"),
            "{err:?}"
        );
    }
}
