//! The integration store: the reads and writes of a disconnect, and nothing else. What to
//! write is decided by [`crate::disconnect::decide`].

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, TransactWriteItem, WriteRequest};
use integrations_table::batch::{BATCH_WRITE_LIMIT, until_processed};
use integrations_table::keys::{Key, SK, SortKey, partition_key};
use integrations_table::{DisconnectMarker, IntegrationId};
use serde::Deserialize;

use crate::disconnect::{IntegrationHead, Partition};
use crate::error::{Dependency, Error};

/// How a transaction ended, when DynamoDB answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Committed {
    Yes,
    /// A condition failed or another transaction got there first: read again and decide again.
    LostRace(String),
}

#[derive(Debug, Clone)]
pub struct IntegrationStore {
    client: Client,
    table: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IntegrationItem {
    account_id: String,
    #[serde(rename = "type")]
    integration_type: Option<String>,
}

impl IntegrationStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// One strongly consistent, paginated query of the partition. Only keys and the attributes
    /// the decision needs are projected: token values are never read.
    pub async fn read_partition(&self, id: &IntegrationId) -> Result<Partition, Error> {
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
            let page = page.map_err(|e| Error::from_sdk(Dependency::DynamoDb, "Query", e))?;
            for item in page.items.unwrap_or_default() {
                let Some(AttributeValue::S(sk)) = item.get(SK) else {
                    continue;
                };
                match SortKey::classify(sk) {
                    SortKey::Integration => {
                        let item: IntegrationItem = from_item(id, "integration", item)?;
                        partition.integration = Some(IntegrationHead {
                            account_id: item.account_id,
                            integration_type: item.integration_type,
                        });
                    }
                    SortKey::Marker => {
                        partition.marker = Some(
                            DisconnectMarker::from_item(item)
                                .map_err(|e| unreadable(id, "marker", e))?,
                        );
                    }
                    SortKey::Token(sk) => partition.token_sort_keys.push(sk.to_owned()),
                    SortKey::Other => {}
                }
            }
        }
        Ok(partition)
    }

    /// Deletes `keys` with `BatchWriteItem`, 25 at a time, retrying `UnprocessedItems`.
    pub async fn delete_items(&self, keys: &[Key]) -> Result<(), Error> {
        for chunk in keys.chunks(BATCH_WRITE_LIMIT) {
            let requests = chunk
                .iter()
                .map(|key| {
                    let delete = DeleteRequest::builder()
                        .set_key(Some(key.clone()))
                        .build()
                        .expect("the key is set");
                    WriteRequest::builder().delete_request(delete).build()
                })
                .collect();
            until_processed(requests, "token deletes", |requests| async move {
                let output = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(|e| Error::from_sdk(Dependency::DynamoDb, "BatchWriteItem", e))?;
                let unprocessed = output
                    .unprocessed_items
                    .and_then(|mut m| m.remove(&self.table))
                    .filter(|requests| !requests.is_empty());
                Ok::<_, Error>(((), unprocessed))
            })
            .await?;
        }
        Ok(())
    }

    /// Sends one transaction. `idempotency_token` becomes its `ClientRequestToken`.
    pub async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
        idempotency_token: Option<&str>,
    ) -> Result<Committed, Error> {
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
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
                _ => Err(Error::from_sdk(
                    Dependency::DynamoDb,
                    "TransactWriteItems",
                    err,
                )),
            },
        }
    }
}

fn from_item<T: serde::de::DeserializeOwned>(
    id: &IntegrationId,
    what: &'static str,
    item: HashMap<String, AttributeValue>,
) -> Result<T, Error> {
    serde_dynamo::from_item(item).map_err(|e| unreadable(id, what, e))
}

fn unreadable(id: &IntegrationId, what: &'static str, err: serde_dynamo::Error) -> Error {
    Error::internal(format!("the {what} item of {id} is unreadable"), err)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use integrations_table::AccountId;
    use test_support::fake_aws::{Call, FakeAws, Reply};

    use crate::clock::SystemClock;
    use crate::disconnect::{Disconnect, Disconnector, MAX_ATTEMPTS, MAX_TOKENS_IN_TRANSACTION};
    use crate::error::Error;

    use super::*;

    /// A Query answer: acct_1's youtube integration `int_1` with `tokens` tokens.
    fn integration_page(tokens: usize) -> Reply {
        let mut items = vec![
            r#"{"PK": {"S": "INTEGRATION#int_1"}, "SK": {"S": "INTEGRATION"}, "accountId": {"S": "acct_1"}, "type": {"S": "youtube"}}"#.to_owned(),
        ];
        items.extend((0..tokens).map(|i| {
            format!(r#"{{"PK": {{"S": "INTEGRATION#int_1"}}, "SK": {{"S": "TOKEN#{i:03}"}}}}"#)
        }));
        Reply::ok(format!(
            r#"{{"Items": [{}], "Count": {n}, "ScannedCount": {n}}}"#,
            items.join(","),
            n = items.len()
        ))
    }

    /// Disconnects acct_1's `int_1` against a fake DynamoDB that answers with `respond`.
    async fn disconnect_with(
        respond: impl Fn(&Call) -> Reply + Send + Sync + 'static,
    ) -> (Result<Disconnect, Error>, FakeAws) {
        let fake = FakeAws::new(respond);
        let disconnector = Disconnector::new(
            IntegrationStore::new(fake.dynamodb(), "t"),
            Duration::from_secs(86_400),
            SystemClock::shared(),
        );
        let result = disconnector
            .disconnect(
                &AccountId::new("acct_1").unwrap(),
                &IntegrationId::parse("int_1").unwrap(),
                Some("req"),
            )
            .await;
        (result, fake)
    }

    #[tokio::test]
    async fn dynamodb_errors_are_transient_or_internal_by_the_sdk_lists() {
        let cases = [
            (400, "ProvisionedThroughputExceededException", true),
            (400, "ThrottlingException", true),
            (400, "RequestLimitExceeded", true),
            (500, "InternalServerError", true),
            (503, "ServiceUnavailable", true),
            (400, "ResourceNotFoundException", false),
            (400, "AccessDeniedException", false),
            (400, "ValidationException", false),
        ];
        for (status, code, transient) in cases {
            let (result, _) = disconnect_with(move |_| Reply::error(status, code)).await;
            let err = result.unwrap_err();
            assert_eq!(err.is_transient(), transient, "{status} {code}: {err:?}");
            let chain = crate::error::ErrorChain(&err).to_string();
            assert!(
                chain.contains(code),
                "{status} {code}: the cause is kept: {chain}"
            );
        }
    }

    #[tokio::test]
    async fn unprocessed_batch_deletes_are_retried_until_done() {
        let (result, fake) = disconnect_with(|call| match call.operation.as_str() {
            "Query" => integration_page(MAX_TOKENS_IN_TRANSACTION + 3),
            "BatchWriteItem" if call.nth == 0 => Reply::ok(
                r#"{"UnprocessedItems": {"t": [{"DeleteRequest": {"Key": {
                    "PK": {"S": "INTEGRATION#int_1"}, "SK": {"S": "TOKEN#000"}}}}]}}"#,
            ),
            "BatchWriteItem" => Reply::ok(r#"{"UnprocessedItems": {}}"#),
            "TransactWriteItems" => {
                let items = call.body.matches("\"TableName\"").count();
                assert_eq!(items, MAX_TOKENS_IN_TRANSACTION + 2, "a full transaction");
                Reply::ok("{}")
            }
            other => panic!("unexpected {other}"),
        })
        .await;
        assert!(matches!(result.unwrap(), Disconnect::Now(_)));
        assert_eq!(
            fake.count("BatchWriteItem"),
            2,
            "the unprocessed item was sent again"
        );
        assert_eq!(fake.count("TransactWriteItems"), 1);
    }

    #[tokio::test]
    async fn a_cancelled_or_conflicting_transaction_is_decided_again_after_a_fresh_read() {
        for code in [
            "TransactionCanceledException",
            "IdempotentParameterMismatchException",
            "TransactionInProgressException",
        ] {
            let (result, fake) = disconnect_with(move |call| match call.operation.as_str() {
                "Query" => integration_page(2),
                _ if call.nth == 0 => Reply::error(400, code),
                _ => Reply::ok("{}"),
            })
            .await;
            let outcome = result.unwrap_or_else(|e| panic!("{code}: {e:?}"));
            assert!(matches!(outcome, Disconnect::Now(_)), "{code}");
            assert_eq!(fake.count("Query"), 2, "{code}: read again");
            assert_eq!(fake.count("TransactWriteItems"), 2, "{code}");
        }
    }

    #[tokio::test]
    async fn endless_contention_gives_up_as_unavailable() {
        let (result, fake) = disconnect_with(|call| match call.operation.as_str() {
            "Query" => integration_page(0),
            _ => Reply::error(400, "TransactionCanceledException"),
        })
        .await;
        let err = result.unwrap_err();
        assert!(err.is_transient(), "{err:?}");
        assert_eq!(fake.count("TransactWriteItems"), MAX_ATTEMPTS as usize);
    }

    #[tokio::test]
    async fn a_malformed_integration_item_is_internal_and_names_the_integration() {
        let (result, _) = disconnect_with(|_| {
            Reply::ok(
                r#"{"Items": [{"SK": {"S": "INTEGRATION"}, "accountId": {"N": "1"}}], "Count": 1}"#,
            )
        })
        .await;
        let err = result.unwrap_err();
        assert!(matches!(err, Error::Internal { .. }), "{err:?}");
        assert!(err.to_string().contains("int_1"), "{err}");
    }
}
