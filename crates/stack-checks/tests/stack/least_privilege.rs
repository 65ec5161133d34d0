//! Both functions' table rights against their code (issue 30): the revoker writes only the
//! marker's `revocation*` attributes and reads only what its code reads; the DELETE function
//! never reads `token`, deletes by key and puts only the marker; both stay in integration
//! partitions (`dynamodb:LeadingKeys`); the DELETE function logs to its own group only. Each
//! allowed list is derived from the code's own constants or from the requests it builds.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use disconnect_integration::partition::{IntegrationHead, Partition};
use disconnect_integration::plan::{Decision, Plan, Request, decide};
use disconnect_integration::store::{PARTITION_ATTRIBUTES, transact_items};
use integrations_table::attributes::{PK, REVOCATION, SK};
use integrations_table::keys::partition_key;
use integrations_table::{AccountId, DisconnectMarker, IntegrationId};
use revoke_tokens::marker_store::{MARKER_ATTRIBUTES, MARKER_WRITES};
use serde_yaml::Value;
use test_support::local::template;

const DELETE_ROLE: &str = "DisconnectIntegrationFunctionRole";
const REVOKER_ROLE: &str = "RevokeTokensRole";

/// Every statement a role is granted: its inline policies and the `AWS::IAM::Policy` resources
/// attached to it (the table's rights sit apart from the roles the stream policy names).
pub(crate) fn statements(role: &str) -> Vec<Value> {
    granted(role, true)
}

/// The statements a role has in every deployment: those of [`statements`] but the ones of a
/// policy that exists only under a condition (the KMS key's).
pub(crate) fn unconditional_statements(role: &str) -> Vec<Value> {
    granted(role, false)
}

fn granted(role: &str, conditional_too: bool) -> Vec<Value> {
    let template = template();
    let inline = template["Resources"][role]["Properties"]["Policies"]
        .as_sequence()
        .unwrap_or_else(|| panic!("{role} has inline policies"))
        .iter()
        .map(|p| p["PolicyDocument"].clone());
    let attached = template["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|r| {
            r["Type"] == "AWS::IAM::Policy"
                && (conditional_too || r["Condition"].is_null())
                && r["Properties"]["Roles"]
                    .as_sequence()
                    .unwrap()
                    .iter()
                    .any(|r| yaml(r) == format!("!Ref {role}"))
        })
        .map(|r| r["Properties"]["PolicyDocument"].clone());
    inline
        .chain(attached)
        .flat_map(|document| document["Statement"].as_sequence().unwrap().clone())
        .collect()
}

fn statement(role: &str, sid: &str) -> Value {
    statements(role)
        .into_iter()
        .find(|s| s["Sid"] == sid)
        .unwrap_or_else(|| panic!("{role} has a statement {sid}"))
}

fn yaml(value: &Value) -> String {
    serde_yaml::to_string(value).unwrap().trim().to_owned()
}

fn strings(value: &Value) -> BTreeSet<String> {
    match value {
        Value::Sequence(values) => values
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect(),
        Value::String(one) => BTreeSet::from([one.clone()]),
        other => panic!("a string or a list: {other:?}"),
    }
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

fn attributes(statement: &Value) -> BTreeSet<String> {
    strings(&statement["Condition"]["ForAllValues:StringEquals"]["dynamodb:Attributes"])
}

pub(crate) fn actions(statement: &Value) -> BTreeSet<String> {
    strings(&statement["Action"])
}

/// The writes of one disconnect, as the code builds them: a partition with more tokens than a
/// transaction holds, so that there are surplus deletes too.
fn plan() -> Plan {
    let account = AccountId::new("acct_1").unwrap();
    let id = IntegrationId::parse("int_yt_abc123").unwrap();
    let partition = Partition {
        integration: Some(IntegrationHead {
            account_id: "acct_1".into(),
            integration_type: Some("youtube".into()),
            version: Some("3".into()),
            grant_id: Some("grant-1".into()),
        }),
        token_sort_keys: (0..120).map(|i| format!("TOKEN#{i}")).collect(),
        marker: None,
    };
    let request = Request {
        account: &account,
        id: &id,
        now: SystemTime::now(),
        marker_ttl: Duration::from_secs(86_400),
    };
    match decide(&partition, &request) {
        Decision::Commit(plan) => plan,
        other => panic!("a commit: {other:?}"),
    }
}

#[test]
fn the_revoker_writes_only_the_revocation_attributes_its_code_writes() {
    let annotate = statement(REVOKER_ROLE, "AnnotateOnlyTheMarker");
    assert_eq!(actions(&annotate), set(&["dynamodb:UpdateItem"]));
    assert_eq!(attributes(&annotate), set(MARKER_WRITES));
    for attribute in MARKER_WRITES.iter().filter(|a| ![PK, SK].contains(a)) {
        assert!(
            attribute.starts_with(REVOCATION),
            "{attribute}: only revocation* besides the keys"
        );
    }
    assert_eq!(
        strings(&annotate["Condition"]["StringEqualsIfExists"]["dynamodb:ReturnValues"]),
        set(&["NONE"]),
        "no value back from an update"
    );
    // No other statement may update an item.
    for s in statements(REVOKER_ROLE) {
        if s["Sid"] != "AnnotateOnlyTheMarker" {
            assert!(
                !actions(&s).iter().any(|a| a == "dynamodb:UpdateItem"
                    || a == "dynamodb:PutItem"
                    || a == "dynamodb:*"
                    || a == "*"),
                "{:?} writes no item",
                s["Sid"]
            );
        }
    }
}

#[test]
fn the_revoker_reads_only_the_attributes_its_code_reads() {
    let read = statement(REVOKER_ROLE, "ReadOnlyTheMarker");
    assert_eq!(actions(&read), set(&["dynamodb:GetItem"]));
    assert_eq!(attributes(&read), set(MARKER_ATTRIBUTES));
    assert!(!attributes(&read).contains("token"));
}

#[test]
fn the_delete_role_cannot_read_token() {
    let query = statement(DELETE_ROLE, "QueryThePartitionWithoutTokens");
    assert_eq!(actions(&query), set(&["dynamodb:Query"]));
    assert_eq!(
        attributes(&query),
        set(PARTITION_ATTRIBUTES),
        "the policy's attributes are the Query's projection in src/store.rs"
    );
    assert!(
        !attributes(&query).contains("token"),
        "never a token's value"
    );
    assert_eq!(
        yaml(&query["Condition"]["StringEquals"]["dynamodb:Select"]),
        "SPECIFIC_ATTRIBUTES",
        "Select is required, not IfExists: a Query without it would return whole items"
    );
    // No other statement may read.
    for s in statements(DELETE_ROLE) {
        if s["Sid"] != "QueryThePartitionWithoutTokens" {
            assert!(
                !actions(&s).iter().any(|a| a.starts_with("dynamodb:")
                    && ["Get", "Query", "Scan", "BatchGet", "*"]
                        .iter()
                        .any(|read| a["dynamodb:".len()..].starts_with(read))),
                "{:?} reads nothing of the table",
                s["Sid"]
            );
        }
    }
}

#[test]
fn the_delete_role_writes_only_what_the_plan_writes_and_never_a_token() {
    let plan = plan();
    assert!(
        !plan.surplus.is_empty(),
        "the plan has BatchWriteItem deletes"
    );
    let mut deletes = BTreeSet::new();
    let mut puts = BTreeSet::new();
    // Surplus tokens are deleted by their key alone (PK and SK).
    deletes.extend([PK.to_owned(), SK.to_owned()]);
    for item in &transact_items("integrations", &plan.transaction) {
        if let Some(delete) = item.delete() {
            deletes.extend(delete.key().keys().cloned());
            deletes.extend(
                delete
                    .expression_attribute_names()
                    .into_iter()
                    .flat_map(|names| names.values().cloned()),
            );
        } else if let Some(put) = item.put() {
            puts.extend(put.item().keys().cloned());
            puts.extend(
                put.expression_attribute_names()
                    .into_iter()
                    .flat_map(|names| names.values().cloned()),
            );
        } else {
            panic!("only deletes and the marker's put: {item:?}");
        }
    }
    // Every attribute a marker can have (its grantId included), from integrations_table.
    let marker = DisconnectMarker::new(
        &IntegrationId::parse("int_yt_abc123").unwrap(),
        &AccountId::new("acct_1").unwrap(),
        "youtube",
        SystemTime::now(),
        Duration::from_secs(60),
    )
    .with_grant_id(Some("grant-1".into()));
    let marker_attributes: BTreeSet<String> = marker.to_item().unwrap().into_keys().collect();
    assert_eq!(puts, marker_attributes);

    assert!(
        !deletes.contains("token") && !puts.contains("token"),
        "never writes a token"
    );
    // The write path has no attribute condition (template.yaml says why): its one statement
    // grants exactly the actions the plan uses, in integrations' partitions only.
    let write = statement(DELETE_ROLE, "DeleteByKeyAndPutTheMarker");
    assert_eq!(
        actions(&write),
        set(&[
            "dynamodb:DeleteItem",
            "dynamodb:BatchWriteItem",
            "dynamodb:PutItem"
        ])
    );
    assert!(
        write["Condition"]["ForAllValues:StringEquals"]["dynamodb:Attributes"].is_null(),
        "an attribute list on the write path must first be checked against AWS"
    );
}

#[test]
fn every_table_statement_of_both_roles_stays_in_integration_partitions() {
    let id = IntegrationId::parse("int_yt_abc123").unwrap();
    let Some(pk) = partition_key(&id).as_s().ok().cloned() else {
        panic!("a string partition key")
    };
    let prefix = pk.strip_suffix(id.as_str()).expect("the id ends the key");
    let expected = set(&[&format!("{prefix}*")]);
    for role in [DELETE_ROLE, REVOKER_ROLE] {
        let on_table: Vec<Value> = statements(role)
            .into_iter()
            .filter(|s| yaml(&s["Resource"]) == "!GetAtt IntegrationsTable.Arn")
            .collect();
        assert!(!on_table.is_empty(), "{role} has table statements");
        for s in on_table {
            assert_eq!(
                strings(&s["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]),
                expected,
                "{role} {:?}: LeadingKeys",
                s["Sid"]
            );
        }
        // Any other resource of the table is its stream or the grant index, never a wildcard.
        for s in statements(role) {
            let resource = yaml(&s["Resource"]);
            assert!(
                !resource.contains("table/*") && resource != "'*'",
                "{role} {:?}: {resource}",
                s["Sid"]
            );
        }
    }
}

#[test]
fn the_delete_function_logs_only_to_its_own_group() {
    let template = template();
    let function = &template["Resources"]["DisconnectIntegrationFunction"]["Properties"];
    assert_eq!(
        yaml(&function["Role"]),
        format!("!GetAtt {DELETE_ROLE}.Arn")
    );
    assert!(function["Policies"].is_null(), "no SAM-generated role");
    assert_eq!(
        yaml(&function["LoggingConfig"]["LogGroup"]),
        "!Ref FunctionLogGroup"
    );
    let role = &template["Resources"][DELETE_ROLE]["Properties"];
    assert!(
        role["ManagedPolicyArns"].is_null(),
        "no managed policy (AWSLambdaBasicExecutionRole allows every log group)"
    );
    let logs: Vec<Value> = statements(DELETE_ROLE)
        .into_iter()
        .filter(|s| {
            actions(s)
                .iter()
                .any(|a| a.starts_with("logs:") || a == "*")
        })
        .collect();
    assert_eq!(logs.len(), 1, "one logs statement");
    assert_eq!(
        actions(&logs[0]),
        set(&["logs:CreateLogStream", "logs:PutLogEvents"])
    );
    assert_eq!(yaml(&logs[0]["Resource"]), "!GetAtt FunctionLogGroup.Arn");
}
