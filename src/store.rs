//! The integration store: reads an integration's partition and disconnects it atomically.
//!
//! Layout (one table, keys `PK`/`SK`):
//! - integration: `PK = INTEGRATION#<id>`, `SK = INTEGRATION`, with `id`, `accountId`, `type`, ...
//! - its tokens:  `PK = INTEGRATION#<id>`, `SK = TOKEN#<name>`
//! - the marker:  `PK = INTEGRATION#<id>`, `SK = DISCONNECTED` (see [`crate::marker`])
//!
//! A disconnect is one strongly consistent, paginated `Query` of the partition, then one
//! `TransactWriteItems` that deletes the integration (conditioned on it still existing and still
//! belonging to the caller) and its tokens, and puts the marker. Tokens that do not fit in the
//! transaction are deleted first with `BatchWriteItem`, so at every point of a crash the
//! integration either still exists (a retried DELETE finishes the job) or is gone together with
//! the marker written in the same transaction.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, DeleteRequest, Put, TransactWriteItem, WriteRequest,
};
use serde::Deserialize;

use crate::error::Error;
use crate::ids::{AccountId, IntegrationId};
use crate::marker::DisconnectMarker;

pub const SK_INTEGRATION: &str = "INTEGRATION";
pub const SK_MARKER: &str = "DISCONNECTED";
pub const TOKEN_SK_PREFIX: &str = "TOKEN#";

/// `TransactWriteItems` takes at most 100 actions: the integration, the marker and 98 tokens.
pub const MAX_TOKENS_IN_TRANSACTION: usize = 98;
/// `BatchWriteItem` takes at most 25 requests.
const BATCH_WRITE_LIMIT: usize = 25;
/// Read-decide-write rounds before a contended disconnect gives up with 503.
const MAX_ATTEMPTS: u32 = 8;
/// Rounds of `UnprocessedItems` retries for one batch before giving up with 503.
const MAX_BATCH_ROUNDS: u32 = 8;

/// The dependency named in `Unavailable` errors from this table's calls.
pub(crate) const DEPENDENCY: &str = "DynamoDB";

/// The partition key of an integration and everything that belongs to it.
pub fn partition_key(id: &IntegrationId) -> AttributeValue {
    AttributeValue::S(format!("INTEGRATION#{id}"))
}

/// What a successful DELETE did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disconnect {
    /// This request removed the integration and wrote the marker.
    Now(DisconnectMarker),
    /// The same account had already disconnected it; the marker is the original one.
    Earlier(DisconnectMarker),
}

impl Disconnect {
    pub fn marker(&self) -> &DisconnectMarker {
        match self {
            Self::Now(m) | Self::Earlier(m) => m,
        }
    }
}

/// The parts of the integration item a disconnect needs.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IntegrationHead {
    account_id: String,
    #[serde(rename = "type")]
    integration_type: Option<String>,
}

/// What one read of the partition found.
#[derive(Debug, Default)]
struct Partition {
    integration: Option<IntegrationHead>,
    token_sort_keys: Vec<String>,
    marker: Option<DisconnectMarker>,
}

#[derive(Debug, Clone)]
pub struct IntegrationStore {
    client: Client,
    table: String,
    marker_ttl: Duration,
}

impl IntegrationStore {
    pub fn new(client: Client, table: impl Into<String>, marker_ttl: Duration) -> Self {
        Self {
            client,
            table: table.into(),
            marker_ttl,
        }
    }

    /// Disconnects `id` for `account`.
    ///
    /// `idempotency_token` (the Lambda request id) becomes the transaction's
    /// `ClientRequestToken`, so a replayed invocation does not apply twice. Another account's
    /// integration, a missing one and an expired marker are all `IntegrationNotFound`.
    pub async fn disconnect(
        &self,
        account: &AccountId,
        id: &IntegrationId,
        idempotency_token: Option<&str>,
        now: SystemTime,
    ) -> Result<Disconnect, Error> {
        let token = idempotency_token.filter(|t| (1..=36).contains(&t.len()));
        for attempt in 0..MAX_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(backoff(attempt)).await;
            }
            let partition = self.read_partition(id).await?;
            let Some(head) = partition.integration else {
                return match partition.marker {
                    Some(m) if m.account_id == account.as_str() && m.is_live(now) => {
                        Ok(Disconnect::Earlier(m))
                    }
                    _ => Err(Error::IntegrationNotFound),
                };
            };
            if head.account_id != account.as_str() {
                return Err(Error::IntegrationNotFound);
            }
            let integration_type = head.integration_type.unwrap_or_else(|| {
                tracing::warn!(integration_id = %id, "integration item has no type");
                "unknown".to_owned()
            });
            let marker =
                DisconnectMarker::new(id, account, &integration_type, now, self.marker_ttl);

            let tokens = partition.token_sort_keys;
            let in_transaction = tokens.len().min(MAX_TOKENS_IN_TRANSACTION);
            let (surplus, last) = tokens.split_at(tokens.len() - in_transaction);
            self.batch_delete(id, surplus).await?;
            match self.commit(account, id, last, &marker, token).await? {
                Committed::Yes => return Ok(Disconnect::Now(marker)),
                Committed::LostRace(reason) => {
                    tracing::info!(integration_id = %id, attempt, reason, "disconnect transaction cancelled; reading again");
                }
            }
        }
        Err(Error::Unavailable {
            dependency: DEPENDENCY,
            detail: format!("disconnect of {id} still contended after {MAX_ATTEMPTS} attempts"),
        })
    }

    /// One strongly consistent, paginated query of the partition. Only keys and the attributes
    /// the decision needs are projected: token values are never read.
    async fn read_partition(&self, id: &IntegrationId) -> Result<Partition, Error> {
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .key_condition_expression("#pk = :pk")
            .projection_expression("#pk, #sk, #id, #account, #type, #at, #reason, #expires")
            .expression_attribute_names("#pk", "PK")
            .expression_attribute_names("#sk", "SK")
            .expression_attribute_names("#id", "id")
            .expression_attribute_names("#account", "accountId")
            .expression_attribute_names("#type", "type")
            .expression_attribute_names("#at", "disconnectedAt")
            .expression_attribute_names("#reason", "reason")
            .expression_attribute_names("#expires", "expiresAt")
            .expression_attribute_values(":pk", partition_key(id))
            .into_paginator()
            .send();

        let mut partition = Partition::default();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| Error::from_sdk(DEPENDENCY, e))?;
            for item in page.items.unwrap_or_default() {
                let Some(AttributeValue::S(sk)) = item.get("SK") else {
                    continue;
                };
                if sk == SK_INTEGRATION {
                    partition.integration = Some(from_item(id, "integration", item)?);
                } else if sk == SK_MARKER {
                    partition.marker = Some(from_item(id, "marker", item)?);
                } else if sk.starts_with(TOKEN_SK_PREFIX) {
                    partition.token_sort_keys.push(sk.clone());
                }
                // Any other sort key under the partition is not ours to touch.
            }
        }
        Ok(partition)
    }

    /// Deletes tokens that do not fit the final transaction, retrying `UnprocessedItems`.
    async fn batch_delete(
        &self,
        id: &IntegrationId,
        token_sort_keys: &[String],
    ) -> Result<(), Error> {
        for chunk in token_sort_keys.chunks(BATCH_WRITE_LIMIT) {
            let requests = chunk
                .iter()
                .map(|sk| {
                    let delete = DeleteRequest::builder()
                        .key("PK", partition_key(id))
                        .key("SK", AttributeValue::S(sk.clone()))
                        .build()
                        .map_err(|e| Error::internal(format!("building a delete request: {e}")))?;
                    Ok(WriteRequest::builder().delete_request(delete).build())
                })
                .collect::<Result<Vec<_>, Error>>()?;
            until_processed(requests, "token deletes", |requests| async move {
                let output = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(|e| Error::from_sdk(DEPENDENCY, e))?;
                let unprocessed = output
                    .unprocessed_items
                    .and_then(|mut m| m.remove(&self.table))
                    .filter(|requests| !requests.is_empty());
                Ok(((), unprocessed))
            })
            .await?;
        }
        Ok(())
    }

    /// The one transaction: delete the integration if it is still the caller's, delete the
    /// remaining tokens, put the marker.
    async fn commit(
        &self,
        account: &AccountId,
        id: &IntegrationId,
        token_sort_keys: &[String],
        marker: &DisconnectMarker,
        idempotency_token: Option<&str>,
    ) -> Result<Committed, Error> {
        let build_error = |e: aws_sdk_dynamodb::error::BuildError| {
            Error::internal(format!("building the disconnect transaction: {e}"))
        };
        let mut actions = Vec::with_capacity(token_sort_keys.len() + 2);
        actions.push(
            TransactWriteItem::builder()
                .delete(
                    Delete::builder()
                        .table_name(&self.table)
                        .key("PK", partition_key(id))
                        .key("SK", AttributeValue::S(SK_INTEGRATION.into()))
                        .condition_expression("attribute_exists(#pk) AND #account = :account")
                        .expression_attribute_names("#pk", "PK")
                        .expression_attribute_names("#account", "accountId")
                        .expression_attribute_values(
                            ":account",
                            AttributeValue::S(account.as_str().into()),
                        )
                        .build()
                        .map_err(build_error)?,
                )
                .build(),
        );
        for sk in token_sort_keys {
            actions.push(
                TransactWriteItem::builder()
                    .delete(
                        Delete::builder()
                            .table_name(&self.table)
                            .key("PK", partition_key(id))
                            .key("SK", AttributeValue::S(sk.clone()))
                            .build()
                            .map_err(build_error)?,
                    )
                    .build(),
            );
        }
        let mut item: HashMap<String, AttributeValue> = serde_dynamo::to_item(marker)
            .map_err(|e| Error::internal(format!("serializing the marker: {e}")))?;
        item.insert("PK".into(), partition_key(id));
        item.insert("SK".into(), AttributeValue::S(SK_MARKER.into()));
        actions.push(
            TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(item))
                        .build()
                        .map_err(build_error)?,
                )
                .build(),
        );

        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(actions))
            .set_client_request_token(idempotency_token.map(str::to_owned))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Committed::Yes),
            Err(err) => match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(e)) => {
                    let reasons: Vec<&str> = e
                        .cancellation_reasons()
                        .iter()
                        .filter_map(|r| r.code())
                        .filter(|c| *c != "None")
                        .collect();
                    Ok(Committed::LostRace(if reasons.is_empty() {
                        "cancelled".into()
                    } else {
                        reasons.join(",")
                    }))
                }
                // The same request id was used with other items (a replay after the partition
                // changed), or the same transaction is still in flight: read again and decide.
                Some(TransactWriteItemsError::IdempotentParameterMismatchException(_)) => {
                    Ok(Committed::LostRace("IdempotentParameterMismatch".into()))
                }
                Some(TransactWriteItemsError::TransactionInProgressException(_)) => {
                    Ok(Committed::LostRace("TransactionInProgress".into()))
                }
                _ => Err(Error::from_sdk(DEPENDENCY, err)),
            },
        }
    }
}

enum Committed {
    Yes,
    /// The condition failed or another transaction got there first.
    LostRace(String),
}

fn from_item<T: serde::de::DeserializeOwned>(
    id: &IntegrationId,
    what: &str,
    item: HashMap<String, AttributeValue>,
) -> Result<T, Error> {
    serde_dynamo::from_item(item)
        .map_err(|e| Error::internal(format!("unreadable {what} item of {id}: {e}")))
}

/// Sends `first`, then whatever DynamoDB left unprocessed (`UnprocessedItems`,
/// `UnprocessedKeys`), with back-off between rounds, until nothing is left. `send` returns its
/// result and the unprocessed rest. Gives up with 503 after [`MAX_BATCH_ROUNDS`] rounds.
pub(crate) async fn until_processed<T, R, F, Fut>(
    first: T,
    what: &str,
    mut send: F,
) -> Result<Vec<R>, Error>
where
    F: FnMut(T) -> Fut,
    Fut: Future<Output = Result<(R, Option<T>), Error>>,
{
    let mut results = Vec::new();
    let mut pending = Some(first);
    let mut round = 0;
    while let Some(batch) = pending.take() {
        if round > 0 {
            if round >= MAX_BATCH_ROUNDS {
                return Err(Error::Unavailable {
                    dependency: DEPENDENCY,
                    detail: format!("{what} still unprocessed after {MAX_BATCH_ROUNDS} rounds"),
                });
            }
            tokio::time::sleep(backoff(round)).await;
        }
        let (result, rest) = send(batch).await?;
        results.push(result);
        pending = rest;
        round += 1;
    }
    Ok(results)
}

/// Exponential back-off with jitter: about 20 ms, 40 ms, ... capped at 640 ms.
fn backoff(attempt: u32) -> Duration {
    let base_ms = 20u64 << attempt.min(5);
    let jitter_ms = u64::from(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_nanos(),
    ) % base_ms.max(1);
    Duration::from_millis(base_ms / 2 + jitter_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemOutput;
    use aws_sdk_dynamodb::operation::query::QueryOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    fn no_retries(config: aws_sdk_dynamodb::config::Builder) -> aws_sdk_dynamodb::config::Builder {
        config.retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
    }

    fn json_error(status: u16, kind: &str) -> aws_smithy_runtime_api::http::Response {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(status).unwrap(),
            aws_smithy_types::body::SdkBody::from(format!(
                r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{kind}","message":"nope"}}"#
            )),
        )
    }

    /// A Query that always finds acct_1's youtube integration `int_1` and no tokens.
    fn integration_query() -> aws_smithy_mocks::Rule {
        mock!(Client::query).then_output(|| {
            QueryOutput::builder()
                .items(HashMap::from([
                    ("SK".into(), AttributeValue::S("INTEGRATION".into())),
                    ("accountId".into(), AttributeValue::S("acct_1".into())),
                    ("type".into(), AttributeValue::S("youtube".into())),
                ]))
                .build()
        })
    }

    /// Disconnects acct_1's `int_1` through a client that answers with `rules`.
    async fn disconnect_with(rules: &[&aws_smithy_mocks::Rule]) -> Result<Disconnect, Error> {
        let client = mock_client!(
            aws_sdk_dynamodb,
            RuleMode::MatchAny,
            rules.iter().copied(),
            no_retries
        );
        let (account, id) = ids();
        store(client)
            .disconnect(&account, &id, Some("req"), SystemTime::now())
            .await
    }

    fn store(client: Client) -> IntegrationStore {
        IntegrationStore::new(client, "t", Duration::from_secs(86_400))
    }

    fn ids() -> (AccountId, IntegrationId) {
        (
            AccountId::new("acct_1").unwrap(),
            IntegrationId::parse("int_1").unwrap(),
        )
    }

    #[test]
    fn backoff_grows_and_stays_bounded() {
        for attempt in 0..20 {
            let d = backoff(attempt);
            assert!(d >= Duration::from_millis(10), "{attempt}: {d:?}");
            assert!(d < Duration::from_millis(1000), "{attempt}: {d:?}");
        }
    }

    #[tokio::test]
    async fn dynamodb_errors_map_to_503_when_transient_and_500_otherwise() {
        let cases = [
            (
                400,
                "ProvisionedThroughputExceededException",
                "service_unavailable",
            ),
            (400, "ThrottlingException", "service_unavailable"),
            (400, "RequestLimitExceeded", "service_unavailable"),
            (500, "InternalServerError", "service_unavailable"),
            (503, "ServiceUnavailable", "service_unavailable"),
            (400, "ResourceNotFoundException", "internal_error"),
            (400, "AccessDeniedException", "internal_error"),
            (400, "ValidationException", "internal_error"),
        ];
        for (status, kind, code) in cases {
            let rule = mock!(Client::query).then_http_response(move || json_error(status, kind));
            let err = disconnect_with(&[&rule]).await.unwrap_err();
            assert_eq!(err.code(), code, "{status} {kind}: {err}");
        }
    }

    #[tokio::test]
    async fn unprocessed_batch_deletes_are_retried_until_done() {
        let tokens: Vec<HashMap<String, AttributeValue>> = (0..MAX_TOKENS_IN_TRANSACTION + 3)
            .map(|i| {
                HashMap::from([
                    ("PK".into(), AttributeValue::S("INTEGRATION#int_1".into())),
                    ("SK".into(), AttributeValue::S(format!("TOKEN#{i:03}"))),
                ])
            })
            .chain(std::iter::once(HashMap::from([
                ("PK".into(), AttributeValue::S("INTEGRATION#int_1".into())),
                ("SK".into(), AttributeValue::S("INTEGRATION".into())),
                ("accountId".into(), AttributeValue::S("acct_1".into())),
                ("type".into(), AttributeValue::S("youtube".into())),
            ])))
            .collect();
        let query = mock!(Client::query).then_output(move || {
            QueryOutput::builder()
                .set_items(Some(tokens.clone()))
                .build()
        });
        let batch = mock!(Client::batch_write_item)
            .sequence()
            .output(|| {
                let leftover = WriteRequest::builder()
                    .delete_request(
                        DeleteRequest::builder()
                            .key("PK", AttributeValue::S("INTEGRATION#int_1".into()))
                            .key("SK", AttributeValue::S("TOKEN#000".into()))
                            .build()
                            .unwrap(),
                    )
                    .build();
                BatchWriteItemOutput::builder()
                    .unprocessed_items("t", vec![leftover])
                    .build()
            })
            .output(|| BatchWriteItemOutput::builder().build())
            .build();
        let transact = mock!(Client::transact_write_items)
            .match_requests(|req| req.transact_items().len() == MAX_TOKENS_IN_TRANSACTION + 2)
            .then_output(|| {
                aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsOutput::builder()
                    .build()
            });
        let outcome = disconnect_with(&[&query, &batch, &transact]).await.unwrap();
        assert!(matches!(outcome, Disconnect::Now(_)));
        assert_eq!(batch.num_calls(), 2, "the unprocessed item was sent again");
        assert_eq!(transact.num_calls(), 1);
    }

    #[tokio::test]
    async fn throttled_transactions_are_503() {
        let query = integration_query();
        let transact = mock!(Client::transact_write_items)
            .then_http_response(|| json_error(400, "ThrottlingException"));
        let err = disconnect_with(&[&query, &transact]).await.unwrap_err();
        assert_eq!(err.code(), "service_unavailable");
    }

    #[tokio::test]
    async fn a_cancelled_or_conflicting_transaction_is_decided_again_after_a_fresh_read() {
        use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsOutput;
        let cases = [
            "TransactionCanceledException",
            "IdempotentParameterMismatchException",
            "TransactionInProgressException",
        ];
        for kind in cases {
            let query = integration_query();
            let transact = mock!(Client::transact_write_items)
                .sequence()
                .http_response(move || json_error(400, kind))
                .output(|| TransactWriteItemsOutput::builder().build())
                .build();
            let outcome = disconnect_with(&[&query, &transact])
                .await
                .unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert!(matches!(outcome, Disconnect::Now(_)), "{kind}");
            assert_eq!(query.num_calls(), 2, "{kind}: read again");
            assert_eq!(transact.num_calls(), 2, "{kind}");
        }
    }

    #[tokio::test]
    async fn endless_contention_gives_up_with_503() {
        let query = integration_query();
        let transact = mock!(Client::transact_write_items)
            .then_http_response(|| json_error(400, "TransactionCanceledException"));
        let err = disconnect_with(&[&query, &transact]).await.unwrap_err();
        assert_eq!(err.code(), "service_unavailable");
        assert_eq!(transact.num_calls(), MAX_ATTEMPTS as usize);
    }
}
