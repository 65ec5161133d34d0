//! The disconnect event (docs/events.md), run as far as it can run locally: the real handler
//! disconnects on a table created from `template.yaml`'s definition, stream included, on
//! DynamoDB Local, and `test_support::pipe` plays the Pipe (its filter through moto's
//! EventBridge, its input template, the event's schema). What needs no service (the Pipe's
//! rights, the documented example) is in `crates/stack-checks` (`events.rs`).

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use integrations_table::IntegrationId;
use integrations_table::attributes::{PK, SK, TOKEN};
use serde_json::{Value, json};
use test_support::pipe::{
    Pipe, SCHEMA, event_id, event_name, filter, marker_insert, schema_errors, sort_key, stream,
};

use crate::helpers::{ACCOUNT_A, ACCOUNT_B, KEY_A, KEY_B, TestApp};

/// Writes a token the way token writers do (README, "For token writers"): an INSERT of the
/// token and a MODIFY of the integration.
async fn put_token(app: &TestApp, id: &str, name: &str, value: &str) {
    integrations_table::tokens::put_token(
        &app.table.client,
        &app.table.name,
        &IntegrationId::parse(id).unwrap(),
        name,
        HashMap::from([(TOKEN.to_owned(), AttributeValue::S(value.to_owned()))]),
    )
    .await
    .expect("put a token");
}

async fn delete_item(app: &TestApp, pk: &str, sk: &str) {
    app.table
        .client
        .delete_item()
        .table_name(&app.table.name)
        .key(PK, AttributeValue::S(pk.to_owned()))
        .key(SK, AttributeValue::S(sk.to_owned()))
        .send()
        .await
        .expect("delete an item");
}

async fn set_attribute(app: &TestApp, pk: &str, sk: &str, name: &str, value: &str) {
    app.table
        .client
        .update_item()
        .table_name(&app.table.name)
        .key(PK, AttributeValue::S(pk.to_owned()))
        .key(SK, AttributeValue::S(sk.to_owned()))
        .update_expression("SET #n = :v")
        .expression_attribute_names("#n", name)
        .expression_attribute_values(":v", AttributeValue::S(value.to_owned()))
        .send()
        .await
        .expect("update an item");
}

#[tokio::test]
async fn one_disconnect_puts_exactly_one_event_and_repeats_and_neighbours_put_none() {
    let app = TestApp::spawn().await;
    app.table.enable_stream().await;
    let pipe = Pipe::from_template();
    app.seed_integration("int_ev_a", ACCOUNT_A, "youtube", 3)
        .await;
    app.seed_integration("int_ev_b", ACCOUNT_B, "tiktok", 2)
        .await;
    app.seed_integration("int_ev_c", ACCOUNT_A, "instagram", 1)
        .await;
    app.table
        .put(json!({PK: "POST#post_1", SK: "POST", "integrationId": "int_ev_a", "status": "scheduled"}))
        .await;

    let first = app.delete_integration("int_ev_a", Some(KEY_A)).await;
    assert_eq!(first.status, 200, "{}", first.raw_body);
    let written = stream(&app.sdk, &app.table).await.len();
    let repeat = app.delete_integration("int_ev_a", Some(KEY_A)).await;
    assert_eq!(repeat.status, 200, "{}", repeat.raw_body);
    assert_eq!(repeat.body, first.body, "a repeat answers as the first did");
    assert_eq!(
        stream(&app.sdk, &app.table).await.len(),
        written,
        "a repeat writes nothing, so the stream has no record of it"
    );

    // Neighbours: another integration's token written (its integration is modified too) and
    // deleted, an integration modified, a post written and modified, and the marker removed as
    // TTL would remove it.
    put_token(
        &app,
        "int_ev_c",
        "refreshed",
        "secret-token-value-refreshed",
    )
    .await;
    delete_item(&app, "INTEGRATION#int_ev_c", "TOKEN#refreshed").await;
    set_attribute(
        &app,
        "INTEGRATION#int_ev_c",
        "INTEGRATION",
        "name",
        "Renamed",
    )
    .await;
    set_attribute(&app, "POST#post_1", "POST", "status", "failed").await;
    delete_item(&app, "INTEGRATION#int_ev_a", "DISCONNECTED").await;
    // And a disconnect of another integration in the same table.
    let second = app.delete_integration("int_ev_b", Some(KEY_B)).await;
    assert_eq!(second.status, 200, "{}", second.raw_body);

    let records = stream(&app.sdk, &app.table).await;
    let kinds: BTreeSet<(&str, &str)> = records
        .iter()
        .map(|r| {
            let sk = sort_key(r);
            (event_name(r), sk.split('#').next().unwrap())
        })
        .collect();
    for kind in [
        ("INSERT", "TOKEN"),
        ("REMOVE", "TOKEN"),
        ("MODIFY", "INTEGRATION"),
        ("REMOVE", "INTEGRATION"),
        ("INSERT", "POST"),
        ("MODIFY", "POST"),
        ("INSERT", "DISCONNECTED"),
        ("REMOVE", "DISCONNECTED"),
    ] {
        assert!(
            kinds.contains(&kind),
            "the stream has a {kind:?} record, so that the filter is tried on it: {kinds:?}"
        );
    }
    for record in &records {
        assert_eq!(record["eventSource"], "aws:dynamodb");
        assert_eq!(record["dynamodb"]["StreamViewType"], "NEW_AND_OLD_IMAGES");
    }

    let passed = filter(&app.sdk, &pipe, &records).await;
    let expected: Vec<&str> = vec![
        event_id(marker_insert(&records, "int_ev_a")),
        event_id(marker_insert(&records, "int_ev_b")),
    ];
    assert_eq!(
        passed.iter().map(event_id).collect::<Vec<_>>(),
        expected,
        "the filter lets through the INSERT of each marker and nothing else, of {} records",
        records.len()
    );

    let events: Vec<Value> = passed.iter().map(|r| pipe.deliver(r)).collect();
    assert_eq!(events.len(), 2, "two disconnects, two events");
    for (event, (id, answer, account)) in events.iter().zip([
        ("int_ev_a", &first, ACCOUNT_A),
        ("int_ev_b", &second, ACCOUNT_B),
    ]) {
        assert_eq!(
            event["detail"],
            json!({
                "eventId": event_id(marker_insert(&records, id)),
                "integrationId": id,
                "accountId": account,
                "type": answer.body["data"]["type"],
                "disconnectedAt": answer.body["data"]["disconnectedAt"],
                "reason": "integration_disconnected",
            }),
            "the event of {id}"
        );
        assert_eq!(event["source"], pipe.source.as_str());
        assert_eq!(event["detail-type"], pipe.detail_type.as_str());
    }
    for (event, errors) in events.iter().zip(schema_errors(&events)) {
        assert!(errors.is_empty(), "{SCHEMA}: {errors:?} in {event}");
    }
    let delivered = serde_json::to_string(&events).unwrap();
    assert!(
        !delivered.contains("secret-token-value"),
        "no token value in any event: {delivered}"
    );
}

#[tokio::test]
async fn a_redelivered_record_carries_the_same_event_id_so_consumers_can_deduplicate() {
    let app = TestApp::spawn().await;
    app.table.enable_stream().await;
    let pipe = Pipe::from_template();
    app.seed_integration("int_ev_once", ACCOUNT_A, "linkedin", 2)
        .await;
    app.seed_integration("int_ev_other", ACCOUNT_A, "linkedin", 1)
        .await;
    let answer = app.delete_integration("int_ev_once", Some(KEY_A)).await;
    assert_eq!(answer.status, 200, "{}", answer.raw_body);

    // A Pipe that retries reads the same record again: DynamoDB Local's stream, read twice from
    // its start, gives the marker's INSERT with the same eventID both times...
    let first_read = filter(&app.sdk, &pipe, &stream(&app.sdk, &app.table).await).await;
    let second_read = filter(&app.sdk, &pipe, &stream(&app.sdk, &app.table).await).await;
    assert_eq!((first_read.len(), second_read.len()), (1, 1));
    let stream_id = first_read[0]["eventID"]
        .as_str()
        .expect("an eventID")
        .to_owned();
    assert_eq!(
        second_read[0]["eventID"],
        stream_id.as_str(),
        "the stream's id is stable"
    );
    // ... and each delivery's event carries that id as `eventId`.
    for read in [&first_read[0], &second_read[0]] {
        assert_eq!(pipe.deliver(read)["detail"]["eventId"], stream_id.as_str());
    }

    // Another disconnect is another event, with another eventId.
    let answer = app.delete_integration("int_ev_other", Some(KEY_A)).await;
    assert_eq!(answer.status, 200, "{}", answer.raw_body);
    let both = filter(&app.sdk, &pipe, &stream(&app.sdk, &app.table).await).await;
    assert_eq!(both.len(), 2);
    let ids: Vec<Value> = both
        .iter()
        .map(|r| pipe.deliver(r)["detail"]["eventId"].clone())
        .collect();
    assert!(ids.contains(&json!(stream_id)), "{ids:?}");
    assert_ne!(ids[0], ids[1], "two disconnects, two eventIds");
    let events: Vec<Value> = both.iter().map(|r| pipe.deliver(r)).collect();
    assert!(schema_errors(&events).iter().all(Vec::is_empty));
}

#[tokio::test]
async fn a_token_remove_does_not_match_the_filter_and_an_event_without_event_id_fails_the_schema() {
    let app = TestApp::spawn().await;
    app.table.enable_stream().await;
    let pipe = Pipe::from_template();
    app.seed_integration("int_ev_neg", ACCOUNT_A, "youtube", 2)
        .await;
    let answer = app.delete_integration("int_ev_neg", Some(KEY_A)).await;
    assert_eq!(answer.status, 200, "{}", answer.raw_body);
    let records = stream(&app.sdk, &app.table).await;
    let token_remove = records
        .iter()
        .find(|r| event_name(r) == "REMOVE" && sort_key(r).starts_with("TOKEN#"))
        .expect("the disconnect removed a token")
        .clone();
    let marker = marker_insert(&records, "int_ev_neg").clone();

    // The matcher can say no, and yes: the same call sees the marker's INSERT match.
    let mut as_modify = marker.clone();
    as_modify["eventName"] = json!("MODIFY");
    as_modify["eventID"] = json!("synthetic-modify");
    let mut as_remove = marker.clone();
    as_remove["eventName"] = json!("REMOVE");
    as_remove["eventID"] = json!("synthetic-remove");
    let passed = filter(
        &app.sdk,
        &pipe,
        &[token_remove, as_modify, as_remove, marker.clone()],
    )
    .await;
    assert_eq!(
        passed,
        std::slice::from_ref(&marker),
        "a token REMOVE, a marker MODIFY and a marker REMOVE do not match; the marker INSERT does"
    );

    // The schema can say no, and yes.
    let event = pipe.deliver(&marker);
    let mut without_event_id = event.clone();
    without_event_id["detail"]
        .as_object_mut()
        .unwrap()
        .remove("eventId");
    let mut with_a_token = event.clone();
    with_a_token["detail"]["token"] = json!("secret-token-value-0");
    let mut other_reason = event.clone();
    other_reason["detail"]["reason"] = json!("deleted");
    let mut local_time = event.clone();
    local_time["detail"]["disconnectedAt"] = json!("2026-11-28T10:00:00+01:00");
    let errors = schema_errors(&[
        event,
        without_event_id,
        with_a_token,
        other_reason,
        local_time,
    ]);
    assert!(errors[0].is_empty(), "the event is valid: {:?}", errors[0]);
    assert!(
        errors[1].iter().any(|e| e.contains("eventId")),
        "a detail without eventId fails: {:?}",
        errors[1]
    );
    assert!(
        errors[2].iter().any(|e| e.contains("token")),
        "a detail with any other field fails: {:?}",
        errors[2]
    );
    assert!(!errors[3].is_empty(), "another reason fails");
    assert!(
        !errors[4].is_empty(),
        "disconnectedAt is UTC, whole seconds"
    );
}
