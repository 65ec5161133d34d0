//! A stand-in for the EventBridge Pipe of the disconnect event (`DisconnectEventPipe`), read
//! from `template.yaml`, and the event's schema check: what `tests/api/disconnect_event.rs`
//! runs against DynamoDB Local and moto, and `crates/stack-checks` checks without a service.
//!
//! There, the real handler disconnects on a table created from `template.yaml`'s definition, stream
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

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::SystemTime;

use aws_config::SdkConfig;
use aws_sdk_dynamodbstreams::types::{AttributeValue as StreamValue, ShardIteratorType};
use aws_sdk_eventbridge::types::{PutEventsRequestEntry, Target};
use aws_sdk_sqs::types::QueueAttributeName;
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use integrations_table::attributes::{PK, SK};
use serde_json::{Value, json};

use crate::local::{Table, repo_root, request_id, template, unique};
use crate::template::{parameter_default, resource};

/// The event's schema.
pub const SCHEMA: &str = "schemas/integration-disconnected.schema.json";
/// The Pipe's logical id in template.yaml.
pub const PIPE: &str = "DisconnectEventPipe";

// ---------------------------------------------------------------------------------------------
// The Pipe, as template.yaml defines it.

/// What the Pipe does to a stream record, read from template.yaml.
pub struct Pipe {
    /// The filter pattern (`FilterCriteria`), parsed.
    pub pattern: Value,
    /// `TargetParameters.InputTemplate`, as written.
    pub input_template: String,
    /// The defaults of the parameters that give the event's `source` and `detail-type`.
    pub source: String,
    pub detail_type: String,
}

impl Pipe {
    pub fn from_template() -> Self {
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
    pub fn deliver(&self, record: &Value) -> Value {
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
pub fn placeholders(template: &str) -> Vec<&str> {
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
pub fn apply_input_template(template: &str, record: &Value) -> Value {
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
pub fn lookup<'a>(record: &'a Value, path: &str) -> &'a Value {
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
pub async fn stream(sdk: &SdkConfig, table: &Table) -> Vec<Value> {
    let arn = table.stream_arn().await;
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
        .expect("AWS_ENDPOINT_URL_DYNAMODB: source scripts/lib/env.sh");
    // DynamoDB Local serves the Streams API on its own endpoint.
    let client = aws_sdk_dynamodbstreams::Client::from_conf(
        aws_sdk_dynamodbstreams::config::Builder::from(sdk)
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

pub fn event_name(record: &Value) -> &str {
    record["eventName"].as_str().unwrap()
}

pub fn sort_key(record: &Value) -> &str {
    record["dynamodb"]["Keys"][SK]["S"].as_str().unwrap()
}

pub fn partition_key(record: &Value) -> &str {
    record["dynamodb"]["Keys"][PK]["S"].as_str().unwrap()
}

pub fn event_id(record: &Value) -> &str {
    record["eventID"].as_str().unwrap()
}

/// The INSERT of `id`'s marker, which must be in the stream exactly once.
pub fn marker_insert<'a>(records: &'a [Value], id: &str) -> &'a Value {
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
pub async fn filter(sdk: &SdkConfig, pipe: &Pipe, records: &[Value]) -> Vec<Value> {
    let matcher = PatternMatcher::new(sdk, &pipe.pattern).await;
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
pub fn schema_errors(instances: &[Value]) -> Vec<Vec<String>> {
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

pub fn schema() -> Value {
    serde_json::from_str(&std::fs::read_to_string(repo_root().join(SCHEMA)).unwrap()).unwrap()
}

// ---------------------------------------------------------------------------------------------
// The tests.
