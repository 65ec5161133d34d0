//! Writing a token by the protocol that no disconnect can orphan.
//!
//! A token writer (the OAuth refresher, the connect flow) puts `TOKEN#<name>` in one
//! `TransactWriteItems` with an update of the integration item that
//! - is conditioned on the integration existing (`attribute_exists(PK)`), and
//! - adds one to its `version` attribute.
//!
//! A disconnect reads `version` with the partition and conditions its own transaction on it.
//! So a token written after the disconnect's read changes `version` and cancels the
//! disconnect's transaction, which reads again (and sees the token); a token written after the
//! disconnect committed finds no integration and is not written. Either way no token outlives
//! a disconnect.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use crate::ids::IntegrationId;
use crate::keys::{PK, SK, SK_INTEGRATION, TOKEN_SK_PREFIX, item_key, partition_key};

/// The integration item's attribute that every token write bumps.
pub const VERSION_ATTRIBUTE: &str = "version";

#[derive(Debug, thiserror::Error)]
pub enum PutTokenError {
    /// The integration does not exist (never connected, or disconnected): nothing was written.
    #[error(
        "integration {0} does not exist (disconnected, or never connected); the token was not written"
    )]
    IntegrationGone(IntegrationId),
    /// The token name is empty.
    #[error("a token needs a name")]
    EmptyName,
    /// DynamoDB did not write it (throttling, a conflict, ...): nothing was written; retry.
    #[error("DynamoDB did not write the token")]
    Failed(#[source] Box<SdkError<TransactWriteItemsError, HttpResponse>>),
}

/// Writes (creates or replaces) the token `name` of integration `id`, with `attributes`
/// (`token`, `tokenType`, `expiresAt`, ...; `PK` and `SK` are set here), by the protocol above.
pub async fn put_token(
    client: &Client,
    table: &str,
    id: &IntegrationId,
    name: &str,
    attributes: HashMap<String, AttributeValue>,
) -> Result<(), PutTokenError> {
    if name.is_empty() {
        return Err(PutTokenError::EmptyName);
    }
    let mut item = attributes;
    item.insert(PK.to_owned(), partition_key(id));
    item.insert(
        SK.to_owned(),
        AttributeValue::S(format!("{TOKEN_SK_PREFIX}{name}")),
    );
    let bump = Update::builder()
        .table_name(table)
        .set_key(Some(item_key(id, SK_INTEGRATION)))
        .update_expression("SET #version = if_not_exists(#version, :zero) + :one")
        .condition_expression("attribute_exists(#pk)")
        .expression_attribute_names("#version", VERSION_ATTRIBUTE)
        .expression_attribute_names("#pk", PK)
        .expression_attribute_values(":zero", AttributeValue::N("0".into()))
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .build()
        .expect("table, key and expression are set");
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .build()
        .expect("table and item are set");
    let result = client
        .transact_write_items()
        .transact_items(TransactWriteItem::builder().update(bump).build())
        .transact_items(TransactWriteItem::builder().put(put).build())
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(err) => match err.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(cancelled))
                if cancelled
                    .cancellation_reasons()
                    .first()
                    .and_then(|r| r.code())
                    == Some("ConditionalCheckFailed") =>
            {
                Err(PutTokenError::IntegrationGone(id.clone()))
            }
            _ => Err(PutTokenError::Failed(Box::new(err))),
        },
    }
}
