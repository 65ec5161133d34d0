//! The DynamoDB Streams event Lambda hands the function, read into `aws_lambda_events`' own
//! types, and the partial batch response (`ReportBatchItemFailures`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use function_support::event_json::{self, ShapeError};
use serde::Serialize;
use serde_dynamo::AttributeValue;

pub use aws_lambda_events::event::dynamodb::{Event as StreamEvent, EventRecord as StreamRecord};

/// Every field name the event's types read: the names a shape error's path may show. An
/// attribute name of an image is client data (shown as `*`); the attribute types are not.
const NAMES_READ: &[&str] = &[
    "Records",
    "awsRegion",
    "eventID",
    "eventName",
    "eventSource",
    "eventVersion",
    "eventSourceARN",
    "recordFormat",
    "tableName",
    "dynamodb",
    "userIdentity",
    "type",
    "principalId",
    "ApproximateCreationDateTime",
    "Keys",
    "NewImage",
    "OldImage",
    "SequenceNumber",
    "SizeBytes",
    "StreamViewType",
    "S",
    "N",
    "B",
    "SS",
    "NS",
    "BS",
    "M",
    "L",
    "NULL",
    "BOOL",
];

/// Reads the event. The error locates what does not fit and never quotes it: a record's old
/// image holds token values.
pub fn read_event(text: &str) -> Result<StreamEvent, ShapeError> {
    event_json::from_str(text, NAMES_READ)
}

/// What the consumer reads of a record.
pub trait RecordView {
    /// `INSERT`, `MODIFY` or `REMOVE`.
    fn event_name(&self) -> &str;
    /// The record's `eventID`.
    fn event_id(&self) -> &str;
    /// A string attribute of the record's keys.
    fn key(&self, name: &str) -> Option<&str>;
    /// A string attribute of the item as it was before the change.
    fn old(&self, name: &str) -> Option<&str>;
    /// Removed by DynamoDB's TTL, not by a request.
    fn is_ttl_removal(&self) -> bool;
    /// How long ago the change was made, when the record says.
    fn age(&self, now: SystemTime) -> Option<Duration>;
    /// The record's sequence number (its `itemIdentifier` when it is handed back).
    fn sequence_number(&self) -> &str;
}

fn string<'a>(item: &'a serde_dynamo::Item, name: &str) -> Option<&'a str> {
    match item.get(name)? {
        AttributeValue::S(value) => Some(value),
        _ => None,
    }
}

impl RecordView for StreamRecord {
    fn event_name(&self) -> &str {
        &self.event_name
    }

    fn event_id(&self) -> &str {
        &self.event_id
    }

    fn key(&self, name: &str) -> Option<&str> {
        string(&self.change.keys, name)
    }

    fn old(&self, name: &str) -> Option<&str> {
        string(&self.change.old_image, name)
    }

    fn is_ttl_removal(&self) -> bool {
        self.user_identity
            .as_ref()
            .is_some_and(|u| u.type_ == "Service" && u.principal_id == "dynamodb.amazonaws.com")
    }

    fn age(&self, now: SystemTime) -> Option<Duration> {
        // The types default a missing time to the epoch: that is no age.
        let created_ms = u64::try_from(
            self.change
                .approximate_creation_date_time
                .timestamp_millis(),
        )
        .ok()
        .filter(|ms| *ms > 0)?;
        now.duration_since(UNIX_EPOCH + Duration::from_millis(created_ms))
            .ok()
    }

    fn sequence_number(&self) -> &str {
        self.change.sequence_number.as_deref().unwrap_or_default()
    }
}

/// `{"batchItemFailures": [{"itemIdentifier": "<SequenceNumber>"}]}`: Lambda retries the batch
/// from the first of them.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct BatchResponse {
    pub batch_item_failures: Vec<ItemFailure>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ItemFailure {
    pub item_identifier: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use integrations_table::attributes::{PK, SK, TOKEN};
    use serde_json::json;

    fn record(extra: serde_json::Value) -> StreamRecord {
        let mut record = json!({
            "awsRegion": "us-east-1", "eventID": "ev-1", "eventName": "REMOVE",
            "dynamodb": {"ApproximateCreationDateTime": 1_796_000_000, "SizeBytes": 10,
                         "SequenceNumber": "42",
                         "Keys": {PK: {"S": "INTEGRATION#i"}, SK: {"S": "TOKEN#a"}},
                         "OldImage": {TOKEN: {"S": "t"}, "n": {"N": "1"}}}
        });
        for (k, v) in extra.as_object().unwrap() {
            record[k] = v.clone();
        }
        read_event(&json!({"Records": [record]}).to_string())
            .unwrap()
            .records
            .remove(0)
    }

    #[test]
    fn a_record_is_read_by_its_keys_old_image_age_and_sequence() {
        let r = record(json!({}));
        assert_eq!(r.key(SK), Some("TOKEN#a"));
        assert_eq!(r.old(TOKEN), Some("t"));
        assert_eq!(r.old("n"), None, "a number is not a string");
        assert_eq!(r.old("absent"), None);
        assert_eq!(r.sequence_number(), "42");
        let now = UNIX_EPOCH + Duration::from_secs(1_796_000_060);
        assert_eq!(r.age(now), Some(Duration::from_secs(60)));
        assert!(!r.is_ttl_removal());
        let ttl = record(
            json!({"userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"}}),
        );
        assert!(ttl.is_ttl_removal());
        let user = record(json!({"userIdentity": {"type": "Service", "principalId": "someone"}}));
        assert!(!user.is_ttl_removal());
    }

    #[test]
    fn a_record_without_a_time_has_no_age() {
        let mut r = record(json!({}));
        r.change.approximate_creation_date_time = Default::default();
        assert_eq!(r.age(SystemTime::now()), None);
    }
}
