//! The DynamoDB Streams event Lambda hands the function, as far as it is read, and the partial
//! batch response (`ReportBatchItemFailures`).

use function_support::event_json::{self, ShapeError};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Every field name the event's types read: the names a shape error's path may show (an
/// attribute name of an image, say, is shown as `*`).
const NAMES_READ: &[&str] = &[
    "Records",
    "eventID",
    "eventName",
    "dynamodb",
    "userIdentity",
    "Keys",
    "OldImage",
    "SequenceNumber",
    "ApproximateCreationDateTime",
    "type",
    "principalId",
];

/// `{"Records": [...]}`.
#[derive(Debug, Deserialize)]
pub struct StreamEvent {
    #[serde(rename = "Records", default)]
    pub records: Vec<StreamRecord>,
}

impl StreamEvent {
    /// Reads the event. The error locates what does not fit and never quotes it: a record's
    /// old image holds token values.
    pub fn from_json(text: &str) -> Result<Self, ShapeError> {
        event_json::from_str(text, NAMES_READ)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamRecord {
    #[serde(rename = "eventID", default)]
    pub event_id: String,
    /// `INSERT`, `MODIFY` or `REMOVE`.
    #[serde(default)]
    pub event_name: String,
    #[serde(default)]
    pub dynamodb: Change,
    /// Present on a removal by DynamoDB's TTL: `{"type": "Service", "principalId":
    /// "dynamodb.amazonaws.com"}`.
    #[serde(default)]
    pub user_identity: Option<UserIdentity>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Change {
    #[serde(default)]
    pub keys: Value,
    #[serde(default)]
    pub old_image: Value,
    #[serde(default)]
    pub sequence_number: String,
    /// When the change was made, in epoch seconds (DynamoDB Streams' `StreamRecord`).
    #[serde(default)]
    pub approximate_creation_date_time: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub principal_id: String,
}

impl StreamRecord {
    /// A string attribute of the record's keys.
    pub fn key(&self, name: &str) -> Option<&str> {
        self.dynamodb.keys.get(name)?.get("S")?.as_str()
    }

    /// A string attribute of the item as it was before the change.
    pub fn old(&self, name: &str) -> Option<&str> {
        self.dynamodb.old_image.get(name)?.get("S")?.as_str()
    }

    /// How long ago the change was made, when the record says.
    pub fn age(&self, now: std::time::SystemTime) -> Option<std::time::Duration> {
        let created = self.dynamodb.approximate_creation_date_time?;
        let created = std::time::Duration::try_from_secs_f64(created).ok()?;
        now.duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .checked_sub(created)
    }

    /// Removed by DynamoDB's TTL, not by a request.
    pub fn is_ttl_removal(&self) -> bool {
        self.user_identity
            .as_ref()
            .is_some_and(|u| u.kind == "Service" && u.principal_id == "dynamodb.amazonaws.com")
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
