//! The consumer's reads and writes of the table: the marker (read, annotated), an integration's
//! key, and the grant index's keys. Nothing else: the template's policy lets the role read no
//! other attribute (`dynamodb:Attributes`).

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use function_support::ErrorChain;
use integrations_table::DisconnectMarker;
use integrations_table::attributes::{
    GRANT_ID, MARKER, PK, REVOCATION, REVOCATION_EVENTS, REVOCATION_REFRESHES, REVOCATION_RETRIES,
    SK, entry,
};
use integrations_table::keys::{SK_INTEGRATION, SK_MARKER};

pub use integrations_table::attributes::GRANT_INDEX;

/// The marker's attributes: all the consumer reads of an item (besides an integration's key).
pub const MARKER_ATTRIBUTES: &[&str] = &[
    PK,
    SK,
    MARKER[0],
    MARKER[1],
    MARKER[2],
    MARKER[3],
    MARKER[4],
    MARKER[5],
    MARKER[6],
    REVOCATION,
    REVOCATION_EVENTS,
    REVOCATION_RETRIES,
    REVOCATION_REFRESHES,
];

/// What the consumer writes (`UpdateItem` of the marker, by [`MarkerStore::record`] and
/// [`MarkerStore::note`]): the keys, named in the key and the condition, and the `revocation*`
/// attributes. The template's policy lets the role write no other attribute.
pub const MARKER_WRITES: &[&str] = &[
    PK,
    SK,
    REVOCATION,
    REVOCATION_EVENTS,
    REVOCATION_RETRIES,
    REVOCATION_REFRESHES,
];

/// A DynamoDB call that failed: the record is handed back to the stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("DynamoDB {operation} failed: {cause}")]
pub struct StoreError {
    operation: &'static str,
    cause: String,
}

impl StoreError {
    /// An error with this operation and cause, for tests of what follows from one.
    #[doc(hidden)]
    pub fn for_tests(operation: &'static str, cause: &str) -> Self {
        Self {
            operation,
            cause: cause.to_owned(),
        }
    }

    fn new(operation: &'static str, error: &(dyn std::error::Error + 'static)) -> Self {
        Self {
            operation,
            cause: ErrorChain(error).to_string(),
        }
    }
}

/// An outcome already on the marker: what a later token of the same grant needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedOutcome {
    pub token_key: String,
    pub token_type: String,
    pub platform: String,
    pub outcome: String,
    /// Set when the outcome was not the token's own call but another token's revocation.
    pub via: Option<String>,
}

/// A marker as the consumer reads it.
#[derive(Debug, Clone)]
pub struct ReadMarker {
    pub marker: DisconnectMarker,
    /// `revocationEvents`.
    pub recorded_events: Vec<String>,
    /// `revocation`.
    pub outcomes: Vec<RecordedOutcome>,
    /// `revocationRetries`.
    pub retries: Vec<String>,
    /// `revocationRefreshes`.
    pub refreshes: Vec<String>,
}

impl ReadMarker {
    /// How many deliveries of `event_id` failed before.
    pub fn failed_deliveries(&self, event_id: &str) -> usize {
        let prefix = format!("{event_id}#");
        self.retries
            .iter()
            .filter(|r| r.starts_with(&prefix))
            .count()
    }
}

/// One entry of the marker's `revocation` list.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub event_id: &'a str,
    pub token_key: &'a str,
    pub token_type: &'a str,
    pub platform: Option<&'a str>,
    pub outcome: &'a str,
    pub reason: Option<&'a str>,
    /// The token whose revocation revoked this one too, by the platform's documentation.
    pub via: Option<&'a str>,
    pub at: &'a str,
}

/// The table, as the consumer uses it.
pub struct MarkerStore {
    client: Client,
    table: String,
}

impl MarkerStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// The partition's marker, if there is one, with what the consumer keeps on it.
    pub async fn marker(&self, pk: &str) -> Result<Option<ReadMarker>, StoreError> {
        let Some(item) = self.get_item(pk, SK_MARKER, MARKER_ATTRIBUTES).await? else {
            return Ok(None);
        };
        let set = |name: &str| match item.get(name) {
            Some(AttributeValue::Ss(values)) => values.clone(),
            _ => vec![],
        };
        let (recorded_events, retries, refreshes) = (
            set(REVOCATION_EVENTS),
            set(REVOCATION_RETRIES),
            set(REVOCATION_REFRESHES),
        );
        let outcomes = match item.get(REVOCATION) {
            Some(AttributeValue::L(entries)) => entries.iter().filter_map(recorded).collect(),
            _ => vec![],
        };
        let marker = DisconnectMarker::from_item(item).map_err(|e| StoreError {
            operation: "GetItem",
            cause: format!("the marker of {pk} is unreadable: {e}"),
        })?;
        Ok(Some(ReadMarker {
            marker,
            recorded_events,
            outcomes,
            retries,
            refreshes,
        }))
    }

    /// Whether the partition still has its integration item.
    pub async fn integration_exists(&self, pk: &str) -> Result<bool, StoreError> {
        Ok(self.get_item(pk, SK_INTEGRATION, &[PK]).await?.is_some())
    }

    /// One item, consistently, with only `attributes`.
    async fn get_item(
        &self,
        pk: &str,
        sk: &str,
        attributes: &[&str],
    ) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
        let mut get = self
            .client
            .get_item()
            .table_name(&self.table)
            .consistent_read(true)
            .key(PK, s(pk))
            .key(SK, s(sk));
        let mut names = Vec::with_capacity(attributes.len());
        for (i, attribute) in attributes.iter().enumerate() {
            let name = format!("#a{i}");
            get = get.expression_attribute_names(&name, *attribute);
            names.push(name);
        }
        get.projection_expression(names.join(", "))
            .send()
            .await
            .map(|out| out.item)
            .map_err(|e| StoreError::new("GetItem", &e))
    }

    /// Whether another live integration has `grant` (the index is eventually consistent: an
    /// integration connected in the last second may be missed).
    pub async fn grant_shared(&self, pk: &str, grant: &str) -> Result<bool, StoreError> {
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GRANT_INDEX)
            .key_condition_expression("#grant = :grant")
            .expression_attribute_names("#grant", GRANT_ID)
            .expression_attribute_values(":grant", s(grant))
            .projection_expression("#pk, #sk")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| StoreError::new("Query of GrantIndex", &e))?;
            let other = page.items().iter().any(|item| {
                matches!(item.get(SK), Some(AttributeValue::S(sk)) if sk == SK_INTEGRATION)
                    && matches!(item.get(PK), Some(AttributeValue::S(other)) if other != pk)
            });
            if other {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Appends `entry` to the marker's `revocation` list and its event to `revocationEvents`,
    /// once: a record already recorded, or a marker gone, writes nothing.
    pub async fn record(&self, pk: &str, record: &Entry<'_>) -> Result<(), StoreError> {
        let mut fields = HashMap::from([
            (entry::EVENT_ID.to_owned(), s(record.event_id)),
            (entry::TOKEN_KEY.to_owned(), s(record.token_key)),
            (entry::TOKEN_TYPE.to_owned(), s(record.token_type)),
            (entry::OUTCOME.to_owned(), s(record.outcome)),
            (entry::AT.to_owned(), s(record.at)),
        ]);
        for (name, value) in [
            (entry::PLATFORM, record.platform),
            (entry::REASON, record.reason),
            (entry::VIA, record.via),
        ] {
            if let Some(value) = value {
                fields.insert(name.to_owned(), s(value));
            }
        }
        let written = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(pk))
            .key(SK, s(SK_MARKER))
            .update_expression(
                "SET #rev = list_append(if_not_exists(#rev, :none), :entry) ADD #seen :event_set",
            )
            .condition_expression("attribute_exists(#pk) AND NOT contains(#seen, :event)")
            .expression_attribute_names("#rev", REVOCATION)
            .expression_attribute_names("#seen", REVOCATION_EVENTS)
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":none", AttributeValue::L(vec![]))
            .expression_attribute_values(
                ":entry",
                AttributeValue::L(vec![AttributeValue::M(fields)]),
            )
            .expression_attribute_values(
                ":event_set",
                AttributeValue::Ss(vec![record.event_id.to_owned()]),
            )
            .expression_attribute_values(":event", s(record.event_id))
            .send()
            .await;
        match written {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(StoreError::new("UpdateItem of the marker", &e)),
        }
    }

    /// Adds `value` to the marker's string set `set` (creating it), if the marker is there.
    pub async fn note(&self, pk: &str, set: &'static str, value: &str) -> Result<(), StoreError> {
        debug_assert!(MARKER_WRITES.contains(&set), "{set} is in MARKER_WRITES");
        let written = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(pk))
            .key(SK, s(SK_MARKER))
            .update_expression("ADD #set :value")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#set", set)
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":value", AttributeValue::Ss(vec![value.to_owned()]))
            .send()
            .await;
        match written {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(StoreError::new("UpdateItem of the marker", &e)),
        }
    }
}

/// An entry of `revocation`, as far as it is read back.
fn recorded(entry: &AttributeValue) -> Option<RecordedOutcome> {
    let AttributeValue::M(fields) = entry else {
        return None;
    };
    let text = |name: &str| match fields.get(name) {
        Some(AttributeValue::S(value)) => Some(value.clone()),
        _ => None,
    };
    Some(RecordedOutcome {
        token_key: text(entry::TOKEN_KEY)?,
        token_type: text(entry::TOKEN_TYPE)?,
        platform: text(entry::PLATFORM).unwrap_or_default(),
        outcome: text(entry::OUTCOME)?,
        via: text(entry::VIA),
    })
}

fn s(text: &str) -> AttributeValue {
    AttributeValue::S(text.to_owned())
}
