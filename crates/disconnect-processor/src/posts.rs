//! The verdict on each pending post: ready, or failed because its integration is disconnected.

use std::time::SystemTime;

use integrations_table::IntegrationId;
use serde::{Deserialize, Serialize};

use crate::{Error, MarkerReader};

/// A post whose scheduled time has come. Other fields are carried through untouched.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingPost {
    pub id: String,
    pub integration_id: String,
    #[serde(flatten)]
    pub rest: serde_json::Map<String, serde_json::Value>,
}

/// What the processor should do with a post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "status", content = "error")]
pub enum Verdict {
    /// Publish it.
    Ready,
    /// Fail it with this error message.
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckedPost {
    #[serde(flatten)]
    pub post: PendingPost,
    #[serde(flatten)]
    pub verdict: Verdict,
}

/// The error message of a post whose integration was disconnected at `disconnected_at`.
pub fn disconnected_message(disconnected_at: &str) -> String {
    format!("Integration disconnected at {disconnected_at}")
}

/// Checks `posts` against the markers of their integrations, in the order given.
pub async fn check_pending_posts(
    reader: &MarkerReader,
    posts: Vec<PendingPost>,
    now: SystemTime,
) -> Result<Vec<CheckedPost>, Error> {
    let ids: Vec<Option<IntegrationId>> = posts
        .iter()
        .map(|p| IntegrationId::parse(&p.integration_id).ok())
        .collect();
    let markers = reader.live_markers(ids.iter().flatten(), now).await?;
    Ok(posts
        .into_iter()
        .zip(ids)
        .map(|(post, id)| {
            let verdict = match id {
                None => Verdict::Failed("Invalid integration id".into()),
                Some(id) => match markers.get(&id) {
                    Some(marker) => Verdict::Failed(disconnected_message(&marker.disconnected_at)),
                    None => Verdict::Ready,
                },
            };
            CheckedPost { post, verdict }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn checked_posts_serialize_with_status_and_error() {
        let post: PendingPost = serde_json::from_value(
            json!({"id": "p1", "integrationId": "int_1", "scheduledAt": "2026-11-28T10:00:00Z"}),
        )
        .unwrap();
        let failed = CheckedPost {
            post: post.clone(),
            verdict: Verdict::Failed(disconnected_message("2026-11-27T09:00:00Z")),
        };
        assert_eq!(
            serde_json::to_value(&failed).unwrap(),
            json!({"id": "p1", "integrationId": "int_1", "scheduledAt": "2026-11-28T10:00:00Z",
                   "status": "failed", "error": "Integration disconnected at 2026-11-27T09:00:00Z"})
        );
        let ready = CheckedPost {
            post,
            verdict: Verdict::Ready,
        };
        assert_eq!(serde_json::to_value(&ready).unwrap()["status"], "ready");
        assert!(serde_json::to_value(&ready).unwrap().get("error").is_none());
    }
}
