//! The disconnect event without a service: the Pipe's rights in `template.yaml`, what its input
//! template may read, and the event's documentation (docs/events.md) against its schema. The
//! Pipe's run against DynamoDB Local and moto is `tests/api/disconnect_event.rs`.

use std::collections::BTreeSet;

use integrations_table::attributes::MARKER;
use serde_json::{Value, json};
use test_support::local::{repo_root, template};
use test_support::pipe::{PIPE, Pipe, apply_input_template, placeholders, schema, schema_errors};
use test_support::template::{get_att, resource};

/// The event's reader's documentation.
const EVENTS_DOC: &str = "docs/events.md";

#[test]
fn the_pipe_reads_the_stream_puts_on_the_bus_and_dead_letters_with_least_privilege() {
    let template = template();
    let properties = &resource(&template, PIPE, "AWS::Pipes::Pipe")["Properties"];
    let source = get_att(&properties["Source"]);
    let table = source
        .strip_suffix(".StreamArn")
        .unwrap_or_else(|| panic!("{PIPE} reads a table's stream: {source}"));
    assert_eq!(
        resource(&template, table, "AWS::DynamoDB::Table")["Properties"]["StreamSpecification"]
            ["StreamViewType"]
            .as_str(),
        Some("NEW_AND_OLD_IMAGES")
    );
    let target = get_att(&properties["Target"]);
    let bus = target
        .strip_suffix(".Arn")
        .unwrap_or_else(|| panic!("{PIPE} puts on an event bus: {target}"));
    resource(&template, bus, "AWS::Events::EventBus");

    let stream = &properties["SourceParameters"]["DynamoDBStreamParameters"];
    assert_eq!(stream["StartingPosition"].as_str(), Some("LATEST"));
    let retries = stream["MaximumRetryAttempts"]
        .as_i64()
        .expect("retries set");
    assert!(
        retries >= 0,
        "bounded retries (-1 retries until the record leaves the stream): {retries}"
    );
    let age = stream["MaximumRecordAgeInSeconds"]
        .as_i64()
        .expect("a record age set");
    assert!(
        (60..86_400).contains(&age),
        "bounded, and shorter than the stream's 24 hours, so a dead letter can still be read: {age}"
    );
    let dlq = get_att(&stream["DeadLetterConfig"]["Arn"]);
    let dlq = dlq.strip_suffix(".Arn").expect("a queue's Arn");
    let queue = resource(&template, dlq, "AWS::SQS::Queue");
    assert!(
        queue["Properties"]["SqsManagedSseEnabled"].as_bool() == Some(true)
            || !queue["Properties"]["KmsMasterKeyId"].is_null(),
        "the dead-letter queue is encrypted"
    );

    // The role: exactly these actions, each on its one resource, from its inline policies and
    // the policies attached to it (the KMS one aside: it exists only with a key).
    let role_name = get_att(&properties["RoleArn"]);
    let role_name = role_name.strip_suffix(".Arn").expect("a role's Arn");
    let role = resource(&template, role_name, "AWS::IAM::Role");
    assert_eq!(
        role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"]
            .as_str(),
        Some("pipes.amazonaws.com")
    );
    assert!(role["Properties"]["ManagedPolicyArns"].is_null());
    let mut granted: BTreeSet<(String, String)> = BTreeSet::new();
    for statement in crate::least_privilege::unconditional_statements(role_name) {
        assert_eq!(statement["Effect"].as_str(), Some("Allow"));
        let resource = get_att(&statement["Resource"]);
        granted.extend(
            crate::least_privilege::actions(&statement)
                .into_iter()
                .map(|a| (a, resource.clone())),
        );
    }
    let stream_arn = format!("{table}.StreamArn");
    let expected: BTreeSet<(String, String)> = [
        ("dynamodb:DescribeStream", stream_arn.as_str()),
        ("dynamodb:GetRecords", stream_arn.as_str()),
        ("dynamodb:GetShardIterator", stream_arn.as_str()),
        ("dynamodb:ListStreams", stream_arn.as_str()),
        ("events:PutEvents", &format!("{bus}.Arn")),
        ("sqs:SendMessage", &format!("{dlq}.Arn")),
    ]
    .into_iter()
    .map(|(a, r)| (a.to_owned(), r.to_owned()))
    .collect();
    assert_eq!(granted, expected, "{PIPE}'s role grants exactly this");

    // The event: source and detail-type from parameters, and a detail that reads only the
    // stream record's eventID and the marker's attributes, and has exactly the schema's fields.
    let pipe = Pipe::from_template();
    assert_eq!(pipe.source, "integrations.disconnect");
    assert_eq!(pipe.detail_type, "Integration Disconnected");
    let allowed: BTreeSet<String> = MARKER
        .iter()
        .map(|a| format!("dynamodb.NewImage.{a}.S"))
        .chain(["eventID".to_owned()])
        .collect();
    for path in placeholders(&pipe.input_template) {
        assert!(
            allowed.contains(path),
            "the input template reads <$.{path}>: only the eventID and the marker's attributes"
        );
    }
    let detail: Value = apply_input_template(
        &pipe.input_template,
        &json!({
            "eventID": "e",
            "dynamodb": {"NewImage": MARKER
                .iter()
                .map(|a| (a.to_string(), json!({"S": a})))
                .collect::<serde_json::Map<_, _>>()},
        }),
    );
    let fields: BTreeSet<&String> = detail.as_object().unwrap().keys().collect();
    let schema = schema();
    let schema_fields: BTreeSet<&String> = schema["properties"]["detail"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(fields, schema_fields, "the detail has the schema's fields");

    // The stack tells where the events go.
    let outputs = &template["Outputs"];
    assert!(
        ["DisconnectEventBusName", "DisconnectEventBusArn"]
            .iter()
            .all(|o| !outputs[*o].is_null())
    );
}

#[test]
fn the_docs_document_every_detail_field_and_their_example_event_is_valid() {
    let section = std::fs::read_to_string(repo_root().join(EVENTS_DOC))
        .unwrap_or_else(|e| panic!("read {EVENTS_DOC}: {e}"));
    let example = section
        .split("```json\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("the section shows an example event in a json block");
    let example: Value =
        serde_json::from_str(example).unwrap_or_else(|e| panic!("the example is JSON: {e}"));
    let schema = schema();
    for field in schema["properties"]["detail"]["properties"]
        .as_object()
        .unwrap()
        .keys()
    {
        assert!(
            section.contains(&format!("`{field}`")),
            "the section documents detail.{field}"
        );
    }
    let errors = schema_errors(&[example]);
    assert!(
        errors[0].is_empty(),
        "the documented example: {:?}",
        errors[0]
    );
}
