//! The integration store: the reads and writes of a disconnect, and nothing else. What to
//! write is decided by [`crate::disconnect::decide`].

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, DeleteRequest, Select, TransactWriteItem, WriteRequest,
};
use integrations_table::batch::{BATCH_WRITE_LIMIT, until_processed};
use integrations_table::keys::{Key, PK, SK, SortKey, TTL_ATTRIBUTE, partition_key};
use integrations_table::tokens::VERSION_ATTRIBUTE;
use integrations_table::{DisconnectMarker, IntegrationId};
use serde::Deserialize;

use crate::error::{Dependency, Error};
use crate::partition::{IntegrationHead, Partition};

/// The attributes the Query of a partition reads: the keys, the integration's head
/// ([`IntegrationHead`]) and the marker ([`DisconnectMarker`]). Never `token`: a token item
/// comes back as its keys alone. The template's policy lets the role read no other attribute
/// (`dynamodb:Attributes`, with `dynamodb:Select` `SPECIFIC_ATTRIBUTES`).
pub const PARTITION_ATTRIBUTES: &[&str] = &[
    PK,
    SK,
    "id",
    "accountId",
    "type",
    VERSION_ATTRIBUTE,
    "disconnectedAt",
    "reason",
    TTL_ATTRIBUTE,
    "grantId",
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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IntegrationItem {
    account_id: String,
    #[serde(rename = "type")]
    integration_type: Option<String>,
    grant_id: Option<String>,
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
                        let version = match item.get(VERSION_ATTRIBUTE) {
                            Some(AttributeValue::N(n)) => Some(n.clone()),
                            None => None,
                            Some(_) => {
                                return Err(Error::internal(
                                    format!("the integration item of {id} is unreadable"),
                                    "its version is not a number",
                                ));
                            }
                        };
                        let item: IntegrationItem = from_item(id, "integration", item)?;
                        partition.integration = Some(IntegrationHead {
                            account_id: item.account_id,
                            integration_type: item.integration_type,
                            version,
                            grant_id: item.grant_id,
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

    /// Sends one transaction. `idempotency_token` becomes its `ClientRequestToken`; it must be
    /// the token of exactly these items (see `disconnect::transaction_token`).
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
                // Each transaction has a token of its own, derived from its content
                // (`disconnect::transaction_token`): DynamoDB saying that this token came with
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
