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

use crate::attributes::VERSION;
use crate::ids::IntegrationId;
use crate::keys::{PK, SK, SK_INTEGRATION, TOKEN_SK_PREFIX, item_key, partition_key};

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
        .expression_attribute_names("#version", VERSION)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attributes::TOKEN;
    use test_support::fake_aws::{FakeAws, Reply};

    fn cancelled(first_reason: &str) -> Reply {
        Reply {
            body: format!(
                r#"{{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","message":"cancelled","CancellationReasons":[{{"Code":"{first_reason}"}},{{"Code":"None"}}]}}"#
            ),
            ..Reply::error(400, "TransactionCanceledException")
        }
    }

    async fn put(fake: &FakeAws, name: &str) -> Result<(), PutTokenError> {
        let attributes = HashMap::from([(TOKEN.to_owned(), AttributeValue::S("t".into()))]);
        put_token(
            &fake.dynamodb(),
            "table",
            &IntegrationId::parse("int_1").unwrap(),
            name,
            attributes,
        )
        .await
    }

    #[tokio::test]
    async fn a_token_is_put_with_a_conditional_bump_of_the_version_in_one_transaction() {
        let fake = FakeAws::new(|_| Reply::ok("{}"));
        put(&fake, "access").await.unwrap();
        let calls = fake.calls();
        assert_eq!(calls.len(), 1, "one call");
        assert_eq!(calls[0].operation, "TransactWriteItems");
        let body: serde_json::Value = serde_json::from_str(&calls[0].body).unwrap();
        let update = &body["TransactItems"][0]["Update"];
        assert_eq!(update["ConditionExpression"], "attribute_exists(#pk)");
        assert_eq!(update["Key"][SK]["S"], SK_INTEGRATION);
        // The bump: version + 1, starting from 0 when the integration has none.
        assert_eq!(
            update["UpdateExpression"],
            "SET #version = if_not_exists(#version, :zero) + :one"
        );
        assert_eq!(update["ExpressionAttributeNames"]["#version"], VERSION);
        assert_eq!(update["ExpressionAttributeNames"]["#pk"], PK);
        assert_eq!(update["ExpressionAttributeValues"][":zero"]["N"], "0");
        assert_eq!(update["ExpressionAttributeValues"][":one"]["N"], "1");
        let item = &body["TransactItems"][1]["Put"]["Item"];
        assert_eq!(item[PK]["S"], "INTEGRATION#int_1");
        assert_eq!(item[SK]["S"], "TOKEN#access");
        assert_eq!(item[TOKEN]["S"], "t");
    }

    #[tokio::test]
    async fn a_failed_condition_on_the_integration_means_it_is_gone() {
        let fake = FakeAws::new(|_| cancelled("ConditionalCheckFailed"));
        let err = put(&fake, "access").await.unwrap_err();
        assert!(matches!(err, PutTokenError::IntegrationGone(_)), "{err:?}");
    }

    #[tokio::test]
    async fn any_other_failure_is_a_failed_write_to_retry() {
        for reply in [
            cancelled("TransactionConflict"),
            Reply::error(400, "ValidationException"),
        ] {
            let fake = FakeAws::new(move |_| reply.clone());
            let err = put(&fake, "access").await.unwrap_err();
            assert!(matches!(err, PutTokenError::Failed(_)), "{err:?}");
        }
    }

    #[tokio::test]
    async fn a_token_without_a_name_is_refused_before_any_call() {
        let fake = FakeAws::new(|_| Reply::ok("{}"));
        let err = put(&fake, "").await.unwrap_err();
        assert!(matches!(err, PutTokenError::EmptyName), "{err:?}");
        assert!(fake.calls().is_empty());
    }
}
