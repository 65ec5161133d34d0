//! template.yaml's RevokeTokensFunction agrees with the code: the binary, the settings it
//! reads, the stream wiring, and the role's attribute conditions against what the code reads.

use std::collections::BTreeSet;
use std::time::Duration;

use integrations_table::attributes::{GRANT_ID, PK, SK, TOKEN};
use serde_yaml::Value;
use test_support::local::template;

fn resource(id: &str) -> Value {
    let template = template();
    let resource = template["Resources"][id].clone();
    assert!(!resource.is_null(), "template.yaml has {id}");
    resource
}

/// The strings of a YAML sequence.
fn strings(value: &Value) -> BTreeSet<String> {
    value
        .as_sequence()
        .unwrap_or_else(|| panic!("a list: {value:?}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

fn statement(sid: &str) -> Value {
    crate::least_privilege::statements("RevokeTokensRole")
        .into_iter()
        .find(|s| s["Sid"] == sid)
        .unwrap_or_else(|| panic!("the role has a statement {sid}"))
}

#[test]
fn the_function_runs_this_binary_with_the_settings_it_reads() {
    let function = resource("RevokeTokensFunction");
    assert_eq!(
        function["Metadata"]["BuildProperties"]["Binary"],
        "revoke-tokens"
    );
    let variables = &function["Properties"]["Environment"]["Variables"];
    for name in [
        "TABLE_NAME",
        "REVOKE_CREDENTIALS_SECRET_ID",
        "METRICS_NAMESPACE",
    ] {
        assert!(!variables[name].is_null(), "{name} is set");
    }
    // The Service dimension the dashboard reads.
    let service = format!("{:?}", variables["METRICS_SERVICE"]);
    assert!(
        service.contains(&format!(
            "${{AWS::StackName}}{}",
            revoke_tokens::output::SERVICE_SUFFIX
        )),
        "{service}"
    );
    assert!(!function["Properties"]["Role"].is_null(), "its own role");
}

#[test]
fn the_stream_reaches_it_filtered_to_token_removals_with_partial_batch_retries() {
    let function = resource("RevokeTokensFunction");
    let events = function["Properties"]["Events"].as_mapping().unwrap();
    assert_eq!(events.len(), 1);
    let source = &events.values().next().unwrap()["Properties"];
    assert_eq!(
        strings(&source["FunctionResponseTypes"]),
        BTreeSet::from(["ReportBatchItemFailures".to_owned()])
    );
    assert!(source["MaximumRetryAttempts"].as_u64().unwrap() > 0);
    assert!(!source["DestinationConfig"]["OnFailure"]["Destination"].is_null());
    let pattern: serde_json::Value = serde_json::from_str(
        source["FilterCriteria"]["Filters"][0]["Pattern"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        pattern,
        serde_json::json!({"eventName": ["REMOVE"], "dynamodb": {"Keys": {SK: {"S": [
            {"prefix": integrations_table::keys::TOKEN_SK_PREFIX}
        ]}}}})
    );
}

#[test]
fn the_role_lets_it_read_exactly_the_attributes_the_code_reads() {
    let granted = strings(
        &statement("ReadOnlyTheMarker")["Condition"]["ForAllValues:StringEquals"]["dynamodb:Attributes"],
    );
    let read: BTreeSet<String> = revoke_tokens::marker_store::MARKER_ATTRIBUTES
        .iter()
        .map(|a| a.to_string())
        .collect();
    assert_eq!(
        granted, read,
        "the role's attributes are the marker's the code reads and annotates"
    );
    assert!(!granted.contains(TOKEN), "never a token item's value");
    let index = strings(
        &statement("GrantIndexKeys")["Condition"]["ForAllValues:StringEquals"]["dynamodb:Attributes"],
    );
    assert_eq!(
        index,
        BTreeSet::from([PK.into(), SK.into(), GRANT_ID.into()])
    );
}

#[test]
fn the_grant_index_is_the_one_the_code_queries() {
    let table = resource("IntegrationsTable");
    let indexes = table["Properties"]["GlobalSecondaryIndexes"]
        .as_sequence()
        .unwrap();
    let index = indexes
        .iter()
        .find(|i| i["IndexName"] == revoke_tokens::marker_store::GRANT_INDEX)
        .expect("the table has the GrantIndex");
    assert_eq!(index["KeySchema"][0]["AttributeName"], GRANT_ID);
    assert_eq!(index["Projection"]["ProjectionType"], "KEYS_ONLY");
}

fn number(value: &Value) -> u64 {
    match value {
        Value::Number(n) => n.as_u64().unwrap(),
        Value::String(s) => s.parse().unwrap(),
        other => panic!("not a number: {other:?}"),
    }
}

/// The arithmetic the template's comments write out: the worst single record fits the timeout,
/// a failing record is recorded `failed` before the stream's retries or its age limit drop it.
#[test]
fn the_timeout_and_the_stream_limits_follow_from_the_worst_record() {
    let function = resource("RevokeTokensFunction");
    let properties = &function["Properties"];
    let variables = &properties["Environment"]["Variables"];
    let source = &properties["Events"]["TokenRemovals"]["Properties"];
    let timeout = Duration::from_secs(number(&properties["Timeout"]));
    let call = Duration::from_millis(number(&variables["REVOKE_TIMEOUT_MS"]));
    let aws_call = Duration::from_secs(5);
    let attempts = platform_revoke::ATTEMPTS;
    let worst = 2 * aws_call // the marker and the grant index
        + (attempts - 1) * (aws_call + call) // throttled attempts: note the refresh, refresh
        + (attempts - 1) * platform_revoke::MAX_WAIT // their rate-limit waits
        + aws_call + call + 3 * call + Duration::from_millis(750) // the last attempt
        + revoke_tokens::consumer::RECORD_RESERVE;
    assert!(
        worst <= timeout,
        "the worst record takes {worst:?}, the timeout is {timeout:?}"
    );

    let max_attempts = number(&variables["REVOKE_MAX_ATTEMPTS"]);
    assert!(
        number(&source["MaximumRetryAttempts"]) >= 2 * max_attempts,
        "the stream retries at least twice REVOKE_MAX_ATTEMPTS"
    );
    let give_up = Duration::from_secs(number(&variables["REVOKE_GIVE_UP_AFTER_SECONDS"]));
    let max_age = Duration::from_secs(number(&source["MaximumRecordAgeInSeconds"]));
    assert!(
        give_up + 2 * timeout <= max_age,
        "a record given up for its age is recorded before the stream drops it"
    );
    assert!(
        variables["REVOKE_ALLOW_LOOPBACK"].is_null(),
        "REVOKE_ALLOW_LOOPBACK is for local development only"
    );
    let config = revoke_tokens::Config::from_lookup(|name| match name {
        "TABLE_NAME" | "REVOKE_CREDENTIALS_SECRET_ID" => Some("x".to_owned()),
        other => variables[other].as_str().map(str::to_owned),
    })
    .expect("the template's settings are valid");
    assert_eq!(config.max_attempts as u64, max_attempts);
    assert_eq!(config.give_up_after, give_up);
    assert_eq!(config.platform_timeout, call);
}

/// The arithmetic beside `REVOKE_CONCURRENCY`, `REVOKE_PLATFORM_CONCURRENCY` and `BatchSize`: a
/// shard whose removals are all for one platform answering in 150 ms drains at 100 records a
/// second or more, and a batch holds enough integrations to keep the concurrency busy.
#[test]
fn the_batch_and_the_concurrency_drain_one_shard_at_100_records_a_second() {
    let function = resource("RevokeTokensFunction");
    let properties = &function["Properties"];
    let variables = &properties["Environment"]["Variables"];
    let source = &properties["Events"]["TokenRemovals"]["Properties"];
    let config = revoke_tokens::Config::from_lookup(|name| match name {
        "TABLE_NAME" | "REVOKE_CREDENTIALS_SECRET_ID" => Some("x".to_owned()),
        other => variables[other].as_str().map(str::to_owned),
    })
    .expect("the template's settings are valid");
    let per_record = 0.150 + 0.030; // the platform's answer, and the record's DynamoDB calls
    let one_platform = config.concurrency.per_platform as f64 / per_record;
    assert!(
        one_platform >= 100.0,
        "{one_platform:.0} records/s for one platform"
    );
    assert!(config.concurrency.per_platform <= config.concurrency.records);
    let batch = number(&source["BatchSize"]) as usize;
    assert!(
        batch >= 2 * 2 * config.concurrency.records,
        "a batch of {batch} records (about two an integration) fills the concurrency twice"
    );
    assert!(
        batch * 2 * 1024 <= 6 * 1024 * 1024,
        "about 2 KB a record within Lambda's 6 MB invocation payload"
    );
    assert_eq!(number(&source["ParallelizationFactor"]), 1);
}
