//! The SDK floor of `make bench`: a Lambda function that, for each event, makes the two DynamoDB
//! calls of a warm disconnect through the AWS SDK, with the function's own `SdkConfig`
//! ([`disconnect_integration::sdk_config_with`]: its HTTPS client, timeouts and retries), and
//! nothing else: no key check, no deciding, no log line, no metrics document. The calls are a
//! consistent Query of the integration's partition, then one TransactWriteItems that deletes
//! every item it found (the integration on a condition) and puts a marker (on a condition).
//!
//! Its CPU per request is what any function making those two calls with the SDK spends, so
//! `bench/bench.py` sets the function's figure beside it. Not shipped: an example is built only
//! by `cargo build --example` (the bench) and `cargo test`, never by `cargo build`, `cargo
//! lambda build` or SAM.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use integrations_table::attributes::{ID, PK, SK};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let table: Arc<str> = std::env::var("TABLE_NAME")?.into();
    let extra_ca =
        function_support::env::process().pem_file(function_support::tls::EXTRA_CA_VARIABLE)?;
    let sdk = function_support::aws::sdk_config(extra_ca.as_deref(), Duration::from_secs(5)).await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let (client, table) = (client.clone(), Arc::clone(&table));
        async move {
            let id = event.payload["pathParameters"]["integrationId"]
                .as_str()
                .unwrap_or_default();
            disconnect(&client, &table, id).await?;
            Ok::<_, Error>(json!({"statusCode": 200}))
        }
    }))
    .await
}

async fn disconnect(client: &aws_sdk_dynamodb::Client, table: &str, id: &str) -> Result<(), Error> {
    let pk = AttributeValue::S(format!("INTEGRATION#{id}"));
    let found = client
        .query()
        .table_name(table)
        .consistent_read(true)
        .key_condition_expression("#pk = :pk")
        .expression_attribute_names("#pk", PK)
        .expression_attribute_values(":pk", pk.clone())
        .send()
        .await?;
    let mut writes = Vec::new();
    for item in found.items() {
        let Some(sk) = item.get(SK) else { continue };
        let mut delete = Delete::builder()
            .table_name(table)
            .key(PK, pk.clone())
            .key(SK, sk.clone());
        if sk.as_s().is_ok_and(|sk| sk == "INTEGRATION") {
            delete = delete
                .condition_expression("attribute_exists(#pk)")
                .expression_attribute_names("#pk", PK);
        }
        writes.push(TransactWriteItem::builder().delete(delete.build()?).build());
    }
    let marker = Put::builder()
        .table_name(table)
        .item(PK, pk)
        .item(SK, AttributeValue::S("DISCONNECTED".to_owned()))
        .item(ID, AttributeValue::S(id.to_owned()))
        .condition_expression("attribute_not_exists(#pk)")
        .expression_attribute_names("#pk", PK)
        .build()?;
    writes.push(TransactWriteItem::builder().put(marker).build());
    client
        .transact_write_items()
        .set_transact_items(Some(writes))
        .send()
        .await?;
    Ok(())
}
