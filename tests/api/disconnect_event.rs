//! The disconnect event (README, "The disconnect event"), run as far as it can run locally.
//!
//! The real handler disconnects on a table created from `template.yaml`'s definition, stream
//! included, on DynamoDB Local. The test reads that stream (`aws-sdk-dynamodbstreams`: every
//! shard from TRIM_HORIZON), turns each record into the JSON a Pipe receives from DynamoDB
//! Streams, keeps the records that the template's filter pattern matches (moto's EventBridge
//! pattern matcher), applies the template's input template to them, and wraps each result as
//! EventBridge delivers it. Every delivered event is checked against
//! `schemas/integration-disconnected.schema.json`. Nothing of the Pipe is copied here: the
//! pattern, the input template and the defaults of `source` and `detail-type` are read from
//! `template.yaml`.
//!
//! **The matcher.** moto (5.2.5, pinned in `scripts/pins/constraints-tools.txt`) answers
//! `TestEventPattern` with an empty 200: its handler is a stub, so the SDK would find no
//! `Result` at all. moto's real matcher is the one its rules use: `PutEvents` builds the
//! EventBridge envelope (`version`, `id`, `detail-type`, `source`, `account`, `time`, `region`,
//! `resources`, `detail`) and delivers it to the targets of each rule whose pattern matches it.
//! A rule sees that envelope, not a raw stream record, so each record goes in as the `detail` of
//! one event, and the template's pattern, unchanged, goes in under `"detail"`; the rule's SQS
//! queue then receives exactly the records the pattern matches. (AWS's own `TestEventPattern`
//! also wants the envelope's fields, so a raw record could not be tested there either.)
//!
//! **The input template.** [`apply_input_template`] implements the part of Pipes' input
//! transformation that the template uses: `<$.a.b.c>` placeholders in dot notation (names of
//! `[A-Za-z0-9_-]`), inside a JSON string (the value's text is inserted, escaped as JSON) or
//! outside one (the value's JSON is inserted). Array indices, wildcards and the reserved
//! `<aws.pipes...>` variables are not implemented: a template that uses them fails here, loudly.
//!
//! **The schema validator.** A Rust JSON Schema crate would add features to the function's own
//! dependencies (`jsonschema` turns on serde_json's `float_roundtrip`; it and the others looked
//! at, `boon` among them, pull in `regex`, which turns on regex-automata's and regex-syntax's full
//! engines), which Cargo.toml rules out for a dev-dependency. So the schema is checked by the two
//! validators the project's tools already pin in `.tools/venv`: python-jsonschema (the reference
//! implementation, which also checks the schema against the 2020-12 meta-schema) and
//! `jsonschema_rs` (the `jsonschema` crate's own binding). Both must agree.
//!
//! Each test has its own table, event bus, rule and queue, so they run in parallel with the
//! others on the same DynamoDB Local and moto.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::SystemTime;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodbstreams::types::{AttributeValue as StreamValue, ShardIteratorType};
use aws_sdk_eventbridge::types::{PutEventsRequestEntry, Target};
use aws_sdk_sqs::types::QueueAttributeName;
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use integrations_table::IntegrationId;
use serde_json::{Value, json};
use serde_yaml::Value as Yaml;
use test_support::local::{repo_root, request_id, template, unique};

use crate::helpers::{ACCOUNT_A, ACCOUNT_B, KEY_A, KEY_B, TestApp};

const SCHEMA: &str = "schemas/integration-disconnected.schema.json";
/// The Pipe's logical id in template.yaml.
const PIPE: &str = "DisconnectEventPipe";
/// The README section that documents the event.
/// The event's reader's documentation.
const EVENTS_DOC: &str = "docs/events.md";
/// The marker's attributes (README, "The data contract"): all the input template may read.
const MARKER_ATTRIBUTES: [&str; 5] = ["id", "accountId", "type", "disconnectedAt", "reason"];

// ---------------------------------------------------------------------------------------------
// The Pipe, as template.yaml defines it.

/// The resource `id`, checked to be of type `kind`.
fn resource<'a>(template: &'a Yaml, id: &str, kind: &str) -> &'a Yaml {
    let resource = &template["Resources"][id];
    assert_eq!(
        resource["Type"].as_str(),
        Some(kind),
        "template.yaml's {id} is a {kind}"
    );
    resource
}

/// The argument of intrinsic `name` (`Ref`, `GetAtt`), in its short or long form.
fn intrinsic<'a>(value: &'a Yaml, name: &str) -> Option<&'a Yaml> {
    match value {
        Yaml::Tagged(tagged) if tagged.tag == name => Some(&tagged.value),
        Yaml::Mapping(map) if map.len() == 1 => map.get(if name == "Ref" {
            "Ref".to_owned()
        } else {
            format!("Fn::{name}")
        }),
        _ => None,
    }
}

/// `!GetAtt Resource.Attribute` as `Resource.Attribute`.
fn get_att(value: &Yaml) -> String {
    match intrinsic(value, "GetAtt").unwrap_or_else(|| panic!("a !GetAtt: {value:?}")) {
        Yaml::Sequence(parts) => parts
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect::<Vec<_>>()
            .join("."),
        other => other.as_str().expect("!GetAtt of a name").to_owned(),
    }
}

/// The default of the parameter that `value` (`!Ref Parameter`) names.
fn parameter_default(template: &Yaml, value: &Yaml) -> String {
    let name = intrinsic(value, "Ref")
        .and_then(Yaml::as_str)
        .unwrap_or_else(|| panic!("a !Ref to a parameter: {value:?}"));
    template["Parameters"][name]["Default"]
        .as_str()
        .unwrap_or_else(|| panic!("parameter {name} has a default"))
        .to_owned()
}

/// What the Pipe does to a stream record, read from template.yaml.
struct Pipe {
    /// The filter pattern (`FilterCriteria`), parsed.
    pattern: Value,
    /// `TargetParameters.InputTemplate`, as written.
    input_template: String,
    /// The defaults of the parameters that give the event's `source` and `detail-type`.
    source: String,
    detail_type: String,
}

impl Pipe {
    fn from_template() -> Self {
        let template = template();
        let id = PIPE;
        let properties = &resource(&template, id, "AWS::Pipes::Pipe")["Properties"];
        let filters = properties["SourceParameters"]["FilterCriteria"]["Filters"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{id} filters its source"));
        assert_eq!(filters.len(), 1, "{id} has one filter pattern");
        let pattern = filters[0]["Pattern"]
            .as_str()
            .unwrap_or_else(|| panic!("{id}'s pattern is a literal string"));
        let bus = &properties["TargetParameters"]["EventBridgeEventBusParameters"];
        Self {
            pattern: serde_json::from_str(pattern)
                .unwrap_or_else(|e| panic!("{id}'s pattern is JSON: {e}: {pattern}")),
            input_template: properties["TargetParameters"]["InputTemplate"]
                .as_str()
                .unwrap_or_else(|| panic!("{id} has an InputTemplate"))
                .to_owned(),
            source: parameter_default(&template, &bus["Source"]),
            detail_type: parameter_default(&template, &bus["DetailType"]),
        }
    }

    /// The event EventBridge delivers for a record the filter let through: the input template
    /// is the `detail`; the envelope's own fields are EventBridge's (`id` differs on every
    /// delivery).
    fn deliver(&self, record: &Value) -> Value {
        let time = DateTime::from_secs(DateTime::from(SystemTime::now()).secs())
            .fmt(Format::DateTime)
            .unwrap();
        json!({
            "version": "0",
            "id": request_id(),
            "detail-type": self.detail_type,
            "source": self.source,
            "account": "123456789012",
            "time": time,
            "region": "us-east-1",
            "resources": [],
            "detail": apply_input_template(&self.input_template, record),
        })
    }
}

/// The `<$.path>` placeholders of an input template, in order.
fn placeholders(template: &str) -> Vec<&str> {
    template
        .match_indices("<$.")
        .map(|(start, _)| {
            let end = template[start..]
                .find('>')
                .expect("a placeholder ends with >")
                + start;
            &template[start + 3..end]
        })
        .collect()
}

/// Pipes' input transformation, for the subset documented at the top of this file.
fn apply_input_template(template: &str, record: &Value) -> Value {
    assert!(
        !template.contains("<aws."),
        "reserved <aws.pipes...> variables are not implemented here: {template}"
    );
    let mut out = String::new();
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = template;
    while let Some(c) = rest.chars().next() {
        if c == '<' && rest.starts_with("<$.") {
            let end = rest.find('>').expect("a placeholder ends with >");
            let path = &rest[3..end];
            let value = lookup(record, path);
            if in_string {
                let text = match value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let quoted = Value::String(text).to_string();
                out.push_str(&quoted[1..quoted.len() - 1]);
            } else {
                out.push_str(&value.to_string());
            }
            rest = &rest[end + 1..];
            continue;
        }
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("the input template gives JSON: {e}: {out}"))
}

/// The value at a dot-notation path (`dynamodb.NewImage.id.S`).
fn lookup<'a>(record: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(record, |node, name| {
        assert!(
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
            "only dot notation is implemented here: <$.{path}>"
        );
        node.get(name)
            .unwrap_or_else(|| panic!("<$.{path}> is not in the record {record}"))
    })
}

// ---------------------------------------------------------------------------------------------
// The table's stream on DynamoDB Local, as a Pipe receives it.

/// Every record of the table's stream, from TRIM_HORIZON of every shard, each as the JSON a
/// Pipe receives from DynamoDB Streams.
async fn stream(app: &TestApp) -> Vec<Value> {
    let arn = app.table.stream_arn().await;
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
        .expect("AWS_ENDPOINT_URL_DYNAMODB: source scripts/lib/env.sh");
    // DynamoDB Local serves the Streams API on its own endpoint.
    let client = aws_sdk_dynamodbstreams::Client::from_conf(
        aws_sdk_dynamodbstreams::config::Builder::from(&app.sdk)
            .endpoint_url(endpoint)
            .build(),
    );
    let mut shards = Vec::new();
    let mut start: Option<String> = None;
    loop {
        let description = client
            .describe_stream()
            .stream_arn(&arn)
            .set_exclusive_start_shard_id(start.take())
            .send()
            .await
            .expect("DescribeStream")
            .stream_description
            .expect("a stream description");
        shards.extend(
            description
                .shards
                .unwrap_or_default()
                .into_iter()
                .filter_map(|s| s.shard_id),
        );
        match description.last_evaluated_shard_id {
            Some(last) => start = Some(last),
            None => break,
        }
    }
    assert!(!shards.is_empty(), "the stream has a shard");
    let mut records = Vec::new();
    for shard in shards {
        let mut iterator = client
            .get_shard_iterator()
            .stream_arn(&arn)
            .shard_id(&shard)
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .expect("GetShardIterator")
            .shard_iterator;
        // An open shard always hands out a next iterator: stop at the first empty page (this
        // test's writes are all done), within a bound.
        for _ in 0..100 {
            let Some(current) = iterator.take() else {
                break;
            };
            let page = client
                .get_records()
                .shard_iterator(current)
                .send()
                .await
                .expect("GetRecords");
            let page_records = page.records.unwrap_or_default();
            if page_records.is_empty() {
                break;
            }
            records.extend(page_records.iter().map(|r| pipe_record(r, &arn)));
            iterator = page.next_shard_iterator;
        }
    }
    records
}

/// One stream record as a Pipe receives it: attribute values in DynamoDB JSON (`{"S": ...}`).
fn pipe_record(record: &aws_sdk_dynamodbstreams::types::Record, stream_arn: &str) -> Value {
    let change = record
        .dynamodb()
        .expect("a stream record carries its change");
    let mut dynamodb = serde_json::Map::new();
    if let Some(time) = change.approximate_creation_date_time() {
        dynamodb.insert("ApproximateCreationDateTime".into(), json!(time.secs()));
    }
    dynamodb.insert(
        "Keys".into(),
        image(change.keys.as_ref().expect("a record has its keys")),
    );
    if let Some(new) = &change.new_image {
        dynamodb.insert("NewImage".into(), image(new));
    }
    if let Some(old) = &change.old_image {
        dynamodb.insert("OldImage".into(), image(old));
    }
    dynamodb.insert("SequenceNumber".into(), json!(change.sequence_number()));
    dynamodb.insert("SizeBytes".into(), json!(change.size_bytes()));
    dynamodb.insert(
        "StreamViewType".into(),
        json!(change.stream_view_type().map(|v| v.as_str())),
    );
    json!({
        "eventID": record.event_id().expect("an eventID"),
        "eventName": record.event_name().expect("an eventName").as_str(),
        "eventVersion": record.event_version(),
        "eventSource": record.event_source().unwrap_or("aws:dynamodb"),
        "awsRegion": record.aws_region(),
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    })
}

fn image(item: &HashMap<String, StreamValue>) -> Value {
    Value::Object(
        item.iter()
            .map(|(name, value)| (name.clone(), dynamodb_json(value)))
            .collect(),
    )
}

fn dynamodb_json(value: &StreamValue) -> Value {
    let base64 = |blob: &aws_smithy_types::Blob| aws_smithy_types::base64::encode(blob.as_ref());
    match value {
        StreamValue::S(s) => json!({ "S": s }),
        StreamValue::N(n) => json!({ "N": n }),
        StreamValue::B(b) => json!({ "B": base64(b) }),
        StreamValue::Ss(v) => json!({ "SS": v }),
        StreamValue::Ns(v) => json!({ "NS": v }),
        StreamValue::Bs(v) => json!({ "BS": v.iter().map(base64).collect::<Vec<_>>() }),
        StreamValue::M(m) => json!({ "M": image(m) }),
        StreamValue::L(l) => json!({ "L": l.iter().map(dynamodb_json).collect::<Vec<_>>() }),
        StreamValue::Null(n) => json!({ "NULL": n }),
        StreamValue::Bool(b) => json!({ "BOOL": b }),
        other => panic!("an attribute value of a type this test does not know: {other:?}"),
    }
}

fn event_name(record: &Value) -> &str {
    record["eventName"].as_str().unwrap()
}

fn sort_key(record: &Value) -> &str {
    record["dynamodb"]["Keys"]["SK"]["S"].as_str().unwrap()
}

fn partition_key(record: &Value) -> &str {
    record["dynamodb"]["Keys"]["PK"]["S"].as_str().unwrap()
}

fn event_id(record: &Value) -> &str {
    record["eventID"].as_str().unwrap()
}

/// The INSERT of `id`'s marker, which must be in the stream exactly once.
fn marker_insert<'a>(records: &'a [Value], id: &str) -> &'a Value {
    let pk = format!("INTEGRATION#{id}");
    let inserts: Vec<&Value> = records
        .iter()
        .filter(|r| {
            event_name(r) == "INSERT" && sort_key(r) == "DISCONNECTED" && partition_key(r) == pk
        })
        .collect();
    assert_eq!(inserts.len(), 1, "one INSERT of {id}'s marker");
    inserts[0]
}

// ---------------------------------------------------------------------------------------------
// moto's EventBridge pattern matcher (see the top of this file for why a rule and a queue).

/// A bus with one rule, whose pattern is the Pipe's under `"detail"`, delivering to a queue.
struct PatternMatcher {
    events: aws_sdk_eventbridge::Client,
    sqs: aws_sdk_sqs::Client,
    name: String,
    queue_url: String,
}

impl PatternMatcher {
    async fn new(sdk: &SdkConfig, pattern: &Value) -> Self {
        // moto serves every service on one port; scripts/lib/env.sh names it for Secrets Manager.
        let moto = std::env::var("AWS_ENDPOINT_URL_SECRETS_MANAGER")
            .expect("AWS_ENDPOINT_URL_SECRETS_MANAGER (moto): source scripts/lib/env.sh");
        let events = aws_sdk_eventbridge::Client::from_conf(
            aws_sdk_eventbridge::config::Builder::from(sdk)
                .endpoint_url(&moto)
                .build(),
        );
        let sqs = aws_sdk_sqs::Client::from_conf(
            aws_sdk_sqs::config::Builder::from(sdk)
                .endpoint_url(&moto)
                .build(),
        );
        let name = unique("pipe-filter");
        events
            .create_event_bus()
            .name(&name)
            .send()
            .await
            .expect("create an event bus on moto");
        let queue_url = sqs
            .create_queue()
            .queue_name(&name)
            .send()
            .await
            .expect("create a queue on moto")
            .queue_url
            .expect("a queue URL");
        let queue_arn = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("GetQueueAttributes")
            .attributes
            .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
            .expect("the queue's ARN");
        events
            .put_rule()
            .name(&name)
            .event_bus_name(&name)
            .event_pattern(json!({ "detail": pattern }).to_string())
            .send()
            .await
            .expect("moto takes the template's filter pattern as a rule's pattern");
        events
            .put_targets()
            .rule(&name)
            .event_bus_name(&name)
            .targets(
                Target::builder()
                    .id("matched")
                    .arn(queue_arn)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .expect("PutTargets");
        Self {
            events,
            sqs,
            name,
            queue_url,
        }
    }

    /// The records the pattern matches, each as the rule delivered it.
    async fn matching(&self, records: &[Value]) -> Vec<Value> {
        for chunk in records.chunks(10) {
            let entries = chunk
                .iter()
                .map(|record| {
                    PutEventsRequestEntry::builder()
                        .event_bus_name(&self.name)
                        .source("local.dynamodb-stream")
                        .detail_type("DynamoDB stream record")
                        .detail(record.to_string())
                        .build()
                })
                .collect();
            let out = self
                .events
                .put_events()
                .set_entries(Some(entries))
                .send()
                .await
                .expect("PutEvents");
            assert_eq!(out.failed_entry_count(), 0, "moto took every record");
        }
        // moto delivers to a rule's targets within PutEvents: the queue holds every match now.
        let mut matched = Vec::new();
        loop {
            let messages = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .expect("ReceiveMessage")
                .messages
                .unwrap_or_default();
            if messages.is_empty() {
                break;
            }
            for message in messages {
                let envelope: Value =
                    serde_json::from_str(message.body().expect("a body")).expect("JSON");
                matched.push(envelope["detail"].clone());
            }
        }
        matched
    }

    async fn delete(self) {
        let _ = self
            .events
            .remove_targets()
            .rule(&self.name)
            .event_bus_name(&self.name)
            .ids("matched")
            .send()
            .await;
        let _ = self
            .events
            .delete_rule()
            .name(&self.name)
            .event_bus_name(&self.name)
            .send()
            .await;
        let _ = self.events.delete_event_bus().name(&self.name).send().await;
        let _ = self
            .sqs
            .delete_queue()
            .queue_url(&self.queue_url)
            .send()
            .await;
    }
}

/// The stream records the Pipe's filter lets through, in stream order.
async fn filter(app: &TestApp, pipe: &Pipe, records: &[Value]) -> Vec<Value> {
    let matcher = PatternMatcher::new(&app.sdk, &pipe.pattern).await;
    let matched = matcher.matching(records).await;
    matcher.delete().await;
    let by_id: BTreeMap<&str, &Value> = matched.iter().map(|r| (event_id(r), r)).collect();
    assert_eq!(by_id.len(), matched.len(), "each record matched once");
    let passed: Vec<Value> = records
        .iter()
        .filter(|r| by_id.contains_key(event_id(r)))
        .cloned()
        .collect();
    assert_eq!(passed.len(), matched.len(), "every match is a record put");
    for record in &passed {
        assert_eq!(
            by_id[event_id(record)],
            record,
            "a matched record arrives as it was put"
        );
    }
    passed
}

// ---------------------------------------------------------------------------------------------
// The schema.

/// The validators' errors for each instance (empty: valid). Both validators must agree.
fn schema_errors(instances: &[Value]) -> Vec<Vec<String>> {
    const VALIDATE: &str = r#"
import json, sys
import jsonschema, jsonschema_rs
job = json.load(sys.stdin)
schema = job["schema"]
jsonschema.Draft202012Validator.check_schema(schema)
reference = jsonschema.Draft202012Validator(
    schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
rust = jsonschema_rs.Draft202012Validator(schema, validate_formats=True)
out = []
for instance in job["instances"]:
    out.append({
        "reference": sorted("/".join(map(str, e.absolute_path)) + ": " + e.message
                            for e in reference.iter_errors(instance)),
        "jsonschema_rs": [e.message for e in rust.iter_errors(instance)],
    })
json.dump(out, sys.stdout)
"#;
    let path = repo_root().join(SCHEMA);
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {SCHEMA}: {e}")),
    )
    .unwrap_or_else(|e| panic!("{SCHEMA} is JSON: {e}"));
    let python = std::env::var_os("VENV_PY")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".tools/venv/bin/python"));
    let mut child = Command::new(&python)
        .args(["-c", VALIDATE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "run {}: {e} (scripts/bootstrap.sh installs the tools' venv)",
                python.display()
            )
        });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            json!({ "schema": schema, "instances": instances })
                .to_string()
                .as_bytes(),
        )
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "the schema validators failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let results: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    results
        .iter()
        .map(|result| {
            let messages = |key: &str| -> Vec<String> {
                result[key]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| m.as_str().unwrap().to_owned())
                    .collect()
            };
            let (reference, rust) = (messages("reference"), messages("jsonschema_rs"));
            assert_eq!(
                reference.is_empty(),
                rust.is_empty(),
                "the validators disagree: python-jsonschema {reference:?}, jsonschema_rs {rust:?}"
            );
            reference
        })
        .collect()
}

fn schema() -> Value {
    serde_json::from_str(&std::fs::read_to_string(repo_root().join(SCHEMA)).unwrap()).unwrap()
}

// ---------------------------------------------------------------------------------------------
// The tests.

/// Writes a token the way token writers do (README, "For token writers"): an INSERT of the
/// token and a MODIFY of the integration.
async fn put_token(app: &TestApp, id: &str, name: &str, value: &str) {
    integrations_table::tokens::put_token(
        &app.table.client,
        &app.table.name,
        &IntegrationId::parse(id).unwrap(),
        name,
        HashMap::from([("token".to_owned(), AttributeValue::S(value.to_owned()))]),
    )
    .await
    .expect("put a token");
}

async fn delete_item(app: &TestApp, pk: &str, sk: &str) {
    app.table
        .client
        .delete_item()
        .table_name(&app.table.name)
        .key("PK", AttributeValue::S(pk.to_owned()))
        .key("SK", AttributeValue::S(sk.to_owned()))
        .send()
        .await
        .expect("delete an item");
}

async fn set_attribute(app: &TestApp, pk: &str, sk: &str, name: &str, value: &str) {
    app.table
        .client
        .update_item()
        .table_name(&app.table.name)
        .key("PK", AttributeValue::S(pk.to_owned()))
        .key("SK", AttributeValue::S(sk.to_owned()))
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
        .put(json!({"PK": "POST#post_1", "SK": "POST", "integrationId": "int_ev_a", "status": "scheduled"}))
        .await;

    let first = app.delete_integration("int_ev_a", Some(KEY_A)).await;
    assert_eq!(first.status, 200, "{}", first.raw_body);
    let written = stream(&app).await.len();
    let repeat = app.delete_integration("int_ev_a", Some(KEY_A)).await;
    assert_eq!(repeat.status, 200, "{}", repeat.raw_body);
    assert_eq!(repeat.body, first.body, "a repeat answers as the first did");
    assert_eq!(
        stream(&app).await.len(),
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

    let records = stream(&app).await;
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

    let passed = filter(&app, &pipe, &records).await;
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
    let first_read = filter(&app, &pipe, &stream(&app).await).await;
    let second_read = filter(&app, &pipe, &stream(&app).await).await;
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
    let both = filter(&app, &pipe, &stream(&app).await).await;
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
    let records = stream(&app).await;
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
        &app,
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
    let attached = template["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|r| {
            r["Type"].as_str() == Some("AWS::IAM::Policy")
                && r["Condition"].is_null()
                && r["Properties"]["Roles"]
                    .as_sequence()
                    .unwrap()
                    .iter()
                    .any(|r| intrinsic(r, "Ref").and_then(Yaml::as_str) == Some(role_name))
        })
        .map(|r| &r["Properties"]["PolicyDocument"]);
    let inline = role["Properties"]["Policies"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|p| &p["PolicyDocument"]);
    for document in inline.chain(attached) {
        for statement in document["Statement"].as_sequence().unwrap() {
            assert_eq!(statement["Effect"].as_str(), Some("Allow"));
            let actions: Vec<String> = match &statement["Action"] {
                Yaml::Sequence(list) => list
                    .iter()
                    .map(|a| a.as_str().unwrap().to_owned())
                    .collect(),
                one => vec![one.as_str().unwrap().to_owned()],
            };
            let resource = get_att(&statement["Resource"]);
            granted.extend(actions.into_iter().map(|a| (a, resource.clone())));
        }
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
    let allowed: BTreeSet<String> = MARKER_ATTRIBUTES
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
            "dynamodb": {"NewImage": MARKER_ATTRIBUTES
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
