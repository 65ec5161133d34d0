//! The integration store: the reads and writes of a disconnect, and nothing else. What to
//! write is decided by [`crate::plan::decide`], in the table's terms; this module turns
//! that plan into DynamoDB's calls ([`transact_items`]).

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, DeleteRequest, Put, Select, TransactWriteItem, WriteRequest,
};
use integrations_table::attributes::{
    ACCOUNT_ID, DISCONNECTED_AT, EXPIRES_AT, GRANT_ID, ID, PK, REASON, SK, TYPE, VERSION,
};
use integrations_table::batch::{BATCH_WRITE_LIMIT, until_processed};
use integrations_table::keys::{SK_INTEGRATION, SortKey, item_key, partition_key};
use integrations_table::{DisconnectMarker, IntegrationId};

use crate::error::{Dependency, Error};
use crate::partition::{IntegrationHead, Partition};
use crate::plan::Transaction;

/// The attributes the Query of a partition reads: the keys, the integration's head
/// ([`IntegrationHead`]) and the marker ([`DisconnectMarker`]). Never `token`: a token item
/// comes back as its keys alone. The template's policy lets the role read no other attribute
/// (`dynamodb:Attributes`, with `dynamodb:Select` `SPECIFIC_ATTRIBUTES`).
pub const PARTITION_ATTRIBUTES: &[&str] = &[
    PK,
    SK,
    ID,
    ACCOUNT_ID,
    TYPE,
    VERSION,
    DISCONNECTED_AT,
    REASON,
    EXPIRES_AT,
    GRANT_ID,
];

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
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .select(Select::SpecificAttributes)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", PK);
        let mut names = Vec::with_capacity(PARTITION_ATTRIBUTES.len());
        for (i, attribute) in PARTITION_ATTRIBUTES.iter().enumerate() {
            let name = format!("#a{i}");
            query = query.expression_attribute_names(&name, *attribute);
            names.push(name);
        }
        let mut pages = query
            .projection_expression(names.join(", "))
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
                        partition.integration = Some(integration_head(id, &item)?);
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

    /// Deletes the tokens `sort_keys` of `id` with `BatchWriteItem`, 25 at a time, retrying
    /// `UnprocessedItems`.
    pub async fn delete_tokens(
        &self,
        id: &IntegrationId,
        sort_keys: &[String],
    ) -> Result<(), Error> {
        for chunk in sort_keys.chunks(BATCH_WRITE_LIMIT) {
            let requests = chunk
                .iter()
                .map(|sk| {
                    let delete = DeleteRequest::builder()
                        .set_key(Some(item_key(id, sk)))
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

    /// Sends the transaction, with the `ClientRequestToken` derived from `request_id` and the
    /// transaction ([`Transaction::token`]; none without a request id).
    pub async fn transact(
        &self,
        transaction: &Transaction,
        request_id: Option<&str>,
    ) -> Result<Committed, Error> {
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(transact_items(&self.table, transaction)))
            .set_client_request_token(request_id.map(|r| transaction.token(r)))
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
                // Each transaction has a token of its own, derived from its content
                // (`Transaction::token`): DynamoDB saying that this token came with
                // other parameters means that derivation is broken. Not a race to retry.
                Some(TransactWriteItemsError::IdempotentParameterMismatchException(_)) => {
                    Err(Error::internal(
                        "DynamoDB refused the transaction's ClientRequestToken as used with other parameters (IdempotentParameterMismatch): the token derivation is broken",
                        err,
                    ))
                }
                // The same transaction (same token) is still in flight: read again and decide.
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

/// The items of `transaction` as `TransactWriteItems` takes them: the integration's delete,
/// conditioned on its being as read; each token's delete; the marker's put, last.
pub fn transact_items(table: &str, transaction: &Transaction) -> Vec<TransactWriteItem> {
    let id = &transaction.id;
    let expected = &transaction.integration;
    let integration = Delete::builder()
        .table_name(table)
        .set_key(Some(item_key(id, SK_INTEGRATION)))
        .expression_attribute_names("#pk", PK)
        .expression_attribute_names("#account", ACCOUNT_ID)
        .expression_attribute_names("#version", VERSION)
        .expression_attribute_values(
            ":account",
            AttributeValue::S(expected.account_id.as_str().to_owned()),
        );
    let integration = match &expected.version {
        Some(version) => integration
            .condition_expression(
                "attribute_exists(#pk) AND #account = :account AND #version = :version",
            )
            .expression_attribute_values(":version", AttributeValue::N(version.clone())),
        None => integration.condition_expression(
            "attribute_exists(#pk) AND #account = :account AND attribute_not_exists(#version)",
        ),
    };
    let mut items = Vec::with_capacity(transaction.tokens.len() + 2);
    items.push(
        TransactWriteItem::builder()
            .delete(integration.build().expect("table name and key are set"))
            .build(),
    );
    items.extend(transaction.tokens.iter().map(|sk| {
        TransactWriteItem::builder()
            .delete(
                Delete::builder()
                    .table_name(table)
                    .set_key(Some(item_key(id, sk)))
                    .build()
                    .expect("table name and key are set"),
            )
            .build()
    }));
    items.push(
        TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(table)
                    .set_item(Some(
                        transaction
                            .marker
                            .to_item()
                            .expect("a marker built from a parsed id always serializes"),
                    ))
                    .build()
                    .expect("table name and item are set"),
            )
            .build(),
    );
    items
}

/// The integration item's head: `accountId` (a string, required), `type` and `grantId`
/// (strings, optional) and `version` (a number, optional).
fn integration_head(
    id: &IntegrationId,
    item: &HashMap<String, AttributeValue>,
) -> Result<IntegrationHead, Error> {
    let unreadable =
        |why: String| Error::internal(format!("the integration item of {id} is unreadable"), why);
    let string = |name: &str| match item.get(name) {
        Some(AttributeValue::S(s)) => Ok(Some(s.clone())),
        None => Ok(None),
        Some(_) => Err(unreadable(format!("its {name} is not a string"))),
    };
    let version = match item.get(VERSION) {
        Some(AttributeValue::N(n)) => Some(n.clone()),
        None => None,
        Some(_) => return Err(unreadable(format!("its {VERSION} is not a number"))),
    };
    Ok(IntegrationHead {
        account_id: string(ACCOUNT_ID)?
            .ok_or_else(|| unreadable(format!("it has no {ACCOUNT_ID}")))?,
        integration_type: string(TYPE)?,
        version,
        grant_id: string(GRANT_ID)?,
    })
}

fn unreadable(id: &IntegrationId, what: &'static str, err: serde_dynamo::Error) -> Error {
    Error::internal(format!("the {what} item of {id} is unreadable"), err)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use integrations_table::AccountId;

    use super::*;
    use crate::plan::AsRead;

    fn transaction(version: Option<&str>, tokens: usize) -> Transaction {
        let id = IntegrationId::parse("int_1").unwrap();
        let account = AccountId::new("a").unwrap();
        Transaction {
            marker: DisconnectMarker::new(
                &id,
                &account,
                "youtube",
                UNIX_EPOCH + Duration::from_secs(1_795_860_000),
                Duration::from_secs(86_400),
            ),
            id,
            integration: AsRead {
                account_id: account,
                version: version.map(str::to_owned),
            },
            tokens: (0..tokens).map(|i| format!("TOKEN#{i}")).collect(),
        }
    }

    fn s(value: &str) -> AttributeValue {
        AttributeValue::S(value.to_owned())
    }

    #[test]
    fn the_integration_is_deleted_only_if_still_the_accounts_at_the_version_read() {
        for (version, condition) in [
            (
                None,
                "attribute_exists(#pk) AND #account = :account AND attribute_not_exists(#version)",
            ),
            (
                Some("7"),
                "attribute_exists(#pk) AND #account = :account AND #version = :version",
            ),
        ] {
            let items = transact_items("t", &transaction(version, 0));
            let delete = items[0].delete().expect("the integration's delete first");
            assert_eq!(delete.table_name(), "t");
            assert_eq!(delete.key()[SK], s("INTEGRATION"));
            assert_eq!(delete.key()[PK], s("INTEGRATION#int_1"));
            assert_eq!(
                delete.condition_expression(),
                Some(condition),
                "{version:?}"
            );
            let names = delete.expression_attribute_names().unwrap();
            assert_eq!(names["#pk"], PK);
            assert_eq!(names["#account"], ACCOUNT_ID);
            assert_eq!(names["#version"], VERSION);
            let values = delete.expression_attribute_values().unwrap();
            assert_eq!(values[":account"], s("a"));
            assert_eq!(
                values.get(":version"),
                version.map(|v| AttributeValue::N(v.to_owned())).as_ref()
            );
        }
    }

    #[test]
    fn each_token_is_deleted_by_key_and_the_marker_is_put_last() {
        let transaction = transaction(None, 3);
        let items = transact_items("t", &transaction);
        assert_eq!(items.len(), 5, "integration, 3 tokens, marker");
        for (i, item) in items[1..4].iter().enumerate() {
            let delete = item.delete().expect("a token's delete");
            assert_eq!(delete.key()[SK], s(&format!("TOKEN#{i}")));
            assert_eq!(delete.key()[PK], s("INTEGRATION#int_1"));
            assert_eq!(delete.condition_expression(), None, "unconditional");
        }
        let put = items[4].put().expect("the marker last");
        assert_eq!(put.item(), &transaction.marker.to_item().unwrap());
        assert_eq!(put.item()[SK], s("DISCONNECTED"));
        assert_eq!(put.condition_expression(), None);
    }
}
