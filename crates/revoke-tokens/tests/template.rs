//! template.yaml's RevokeTokensFunction agrees with the code: the binary, the settings it
//! reads, the stream wiring, and the role's attribute conditions against what the code reads.

use std::collections::BTreeSet;

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
    let role = resource("RevokeTokensRole");
    role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == sid)
        .unwrap_or_else(|| panic!("the role has a statement {sid}"))
        .clone()
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
            disconnect_integration::metrics::REVOCATION_SERVICE_SUFFIX
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
        serde_json::json!({"eventName": ["REMOVE"], "dynamodb": {"Keys": {"SK": {"S": [
            {"prefix": integrations_table::keys::TOKEN_SK_PREFIX}
        ]}}}})
    );
}

#[test]
fn the_role_lets_it_read_exactly_the_attributes_the_code_reads() {
    let granted = strings(
        &statement("ReadAndAnnotateOnlyTheMarker")["Condition"]["ForAllValues:StringEquals"]["dynamodb:Attributes"],
    );
    let read: BTreeSet<String> = revoke_tokens::MARKER_ATTRIBUTES
        .iter()
        .chain(&[revoke_tokens::REVOCATION])
        .map(|a| a.to_string())
        .collect();
    assert_eq!(
        granted, read,
        "the role's attributes are the marker's the code reads plus the revocation list it appends to"
    );
    assert!(!granted.contains("token"), "never a token item's value");
    let index = strings(
        &statement("GrantIndexKeys")["Condition"]["ForAllValues:StringEquals"]["dynamodb:Attributes"],
    );
    assert_eq!(
        index,
        BTreeSet::from(["PK".into(), "SK".into(), "grantId".into()])
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
        .find(|i| i["IndexName"] == revoke_tokens::GRANT_INDEX)
        .expect("the table has the GrantIndex");
    assert_eq!(index["KeySchema"][0]["AttributeName"], "grantId");
    assert_eq!(index["Projection"]["ProjectionType"], "KEYS_ONLY");
}
