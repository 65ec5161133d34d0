//! The stack's security posture, read from `template.yaml`: the optional customer-managed key
//! reaches everything that holds tokens, key hashes or their traces; each role may use it only
//! through the services it calls; the reserved concurrency agrees with the API's throttling;
//! and every scanner finding left unfixed is suppressed in the template with a reason.
//! `make test` also runs the scanner itself (scripts/scan-template.py).

use std::collections::BTreeMap;

use serde_yaml::Value;
use test_support::local::{repo_root, template};

fn resources_of_type(template: &Value, kind: &str) -> BTreeMap<String, Value> {
    template["Resources"]
        .as_mapping()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some(kind))
        .map(|(id, r)| (id.as_str().unwrap().to_owned(), r.clone()))
        .collect()
}

/// A value in the compact form of its YAML: `!If [HasKmsKey, !Ref KmsKeyArn, !Ref AWS::NoValue]`
/// reads `If[HasKmsKey,Ref(KmsKeyArn),Ref(AWS::NoValue)]`.
fn compact(value: &Value) -> String {
    match value {
        Value::Tagged(tagged) => format!(
            "{}{}",
            tagged.tag.to_string().trim_start_matches('!'),
            match &tagged.value {
                Value::Sequence(_) => compact(&tagged.value),
                other => format!("({})", compact(other)),
            }
        ),
        Value::Sequence(items) => {
            format!(
                "[{}]",
                items.iter().map(compact).collect::<Vec<_>>().join(",")
            )
        }
        Value::String(s) => s.clone(),
        other => format!("{other:?}"),
    }
}

const THE_KEY_OR_AWS_MANAGED: &str = "If[HasKmsKey,Ref(KmsKeyArn),Ref(AWS::NoValue)]";

#[test]
fn everything_that_holds_tokens_keys_or_their_traces_takes_the_customer_managed_key() {
    let template = template();
    // Type, where its key goes, how many the stack has.
    let holders = [
        (
            "AWS::DynamoDB::Table",
            &["SSESpecification", "KMSMasterKeyId"][..],
            1,
        ),
        ("AWS::SecretsManager::Secret", &["KmsKeyId"][..], 2),
        ("AWS::Logs::LogGroup", &["KmsKeyId"][..], 3),
        ("AWS::SQS::Queue", &["KmsMasterKeyId"][..], 2),
        ("AWS::Events::EventBus", &["KmsKeyIdentifier"][..], 1),
        ("AWS::Pipes::Pipe", &["KmsKeyIdentifier"][..], 1),
    ];
    for (kind, path, count) in holders {
        let resources = resources_of_type(&template, kind);
        assert_eq!(resources.len(), count, "{kind}");
        for (id, resource) in resources {
            let value = path
                .iter()
                .fold(&resource["Properties"], |value, key| &value[*key]);
            assert_eq!(compact(value), THE_KEY_OR_AWS_MANAGED, "{id}");
        }
    }
    let table = &resources_of_type(&template, "AWS::DynamoDB::Table")["IntegrationsTable"];
    assert_eq!(table["Properties"]["SSESpecification"]["SSEType"], "KMS");
    for (id, queue) in resources_of_type(&template, "AWS::SQS::Queue") {
        assert_eq!(
            compact(&queue["Properties"]["SqsManagedSseEnabled"]),
            "If[HasKmsKey,Ref(AWS::NoValue),Bool(true)]",
            "{id}: SSE-SQS without the key, as before"
        );
    }
}

#[test]
fn each_role_may_use_the_key_only_through_the_services_it_calls() {
    let template = template();
    let policies = resources_of_type(&template, "AWS::IAM::Policy");
    let mut roles = BTreeMap::new();
    for (id, policy) in &policies {
        assert_eq!(
            policy["Condition"], "HasKmsKey",
            "{id} exists only with a key"
        );
        let role = compact(&policy["Properties"]["Roles"]);
        let mut services = vec![];
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
            .as_sequence()
            .unwrap()
        {
            let actions: Vec<String> = match &statement["Action"] {
                Value::Sequence(actions) => actions.iter().map(compact).collect(),
                other => vec![compact(other)],
            };
            for action in &actions {
                assert!(
                    ["kms:Decrypt", "kms:GenerateDataKey"].contains(&action.as_str()),
                    "{id}: {action}"
                );
            }
            assert_eq!(compact(&statement["Resource"]), "Ref(KmsKeyArn)", "{id}");
            let via = compact(&statement["Condition"]["StringEquals"]["kms:ViaService"]);
            let service = via
                .strip_prefix("Sub(")
                .and_then(|v| v.strip_suffix(".${AWS::Region}.amazonaws.com)"))
                .unwrap_or_else(|| panic!("{id}: conditioned on kms:ViaService: {via}"));
            services.push(service.to_owned());
        }
        roles.insert(role, services);
    }
    assert_eq!(
        roles,
        BTreeMap::from([
            (
                "[Ref(DisconnectIntegrationFunctionRole)]".to_owned(),
                vec!["dynamodb".to_owned(), "secretsmanager".to_owned()]
            ),
            (
                "[Ref(RevokeTokensRole)]".to_owned(),
                vec![
                    "dynamodb".to_owned(),
                    "secretsmanager".to_owned(),
                    "sqs".to_owned()
                ]
            ),
            (
                "[Ref(DisconnectEventPipeRole)]".to_owned(),
                vec!["dynamodb".to_owned(), "events".to_owned(), "sqs".to_owned()]
            ),
        ])
    );
}

/// At the API's steady rate, with every request under a second (the function's p99 is tens of
/// milliseconds), the function needs at most ThrottlingRateLimit environments: the API answers
/// 429 before the function throttles. A slower backend then meets the reserved concurrency,
/// which FunctionThrottlesAlarm reports.
#[test]
fn the_reserved_concurrency_lets_the_api_throttle_first_and_its_throttles_are_alarmed() {
    let template = template();
    let default = |name: &str| template["Parameters"][name]["Default"].as_u64().unwrap();
    assert!(default("ReservedConcurrency") >= default("ThrottlingRateLimit"));
    let function = &template["Resources"]["DisconnectIntegrationFunction"]["Properties"];
    assert_eq!(
        compact(&function["ReservedConcurrentExecutions"]),
        "If[OnManagedInstances,Ref(AWS::NoValue),Ref(ReservedConcurrency)]"
    );
    let alarm = &template["Resources"]["FunctionThrottlesAlarm"]["Properties"];
    assert_eq!(alarm["MetricName"], "Throttles");
}

#[test]
fn every_scanner_suppression_is_in_the_template_with_a_reason() {
    let template = template();
    let mut suppressed = 0;
    for (id, resource) in template["Resources"].as_mapping().unwrap() {
        let Some(skips) = resource["Metadata"]["checkov"]["skip"].as_sequence() else {
            continue;
        };
        for skip in skips {
            let check = skip["id"].as_str().unwrap_or_default();
            let reason = skip["comment"].as_str().unwrap_or_default();
            assert!(check.starts_with("CKV_"), "{id:?}: {skip:?}");
            assert!(
                reason.trim().len() > 20,
                "{id:?} {check}: a reason, in a sentence"
            );
            suppressed += 1;
        }
    }
    assert_eq!(suppressed, 8, "the suppressions docs/security.md lists");
    for global in [".checkov.yaml", ".checkov.yml", ".bridgecrew.yml"] {
        assert!(
            !repo_root().join(global).exists(),
            "{global}: no global skip list"
        );
    }
}

#[test]
fn the_table_is_protected_from_deletion_unless_a_parameter_says_otherwise() {
    let template = template();
    let parameter = &template["Parameters"]["TableDeletionProtection"];
    assert_eq!(parameter["Default"].as_str(), Some("true"), "on by default");
    let table = &template["Resources"]["IntegrationsTable"];
    assert_eq!(
        table["Properties"]["DeletionProtectionEnabled"],
        serde_yaml::from_str::<Value>("!Ref TableDeletionProtection").unwrap()
    );
    assert_eq!(table["DeletionPolicy"].as_str(), Some("Retain"));
}

/// The endpoint overrides exist for `sam local invoke` only: a deployed stack cannot be pointed
/// at another endpoint, which would then judge its API keys or hold its table.
#[test]
fn the_endpoint_overrides_admit_only_empty_or_a_loopback_or_docker_host_url() {
    let template = template();
    for name in ["DynamoDbEndpointUrl", "SecretsManagerEndpointUrl"] {
        let parameter = &template["Parameters"][name];
        assert_eq!(parameter["Default"].as_str(), Some(""), "{name}");
        assert_eq!(
            parameter["AllowedPattern"].as_str(),
            Some(r"^$|^http://(127\.0\.0\.1|localhost|host\.docker\.internal):[0-9]{1,5}$"),
            "{name}: empty, or http to loopback (or the Docker host sam local uses) and a port"
        );
    }
    // The sample env file of sam local stays within it.
    let env: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("events/sam-env.json")).unwrap(),
    )
    .unwrap();
    for (_, url) in env["DisconnectIntegrationFunction"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.starts_with("AWS_ENDPOINT_URL_"))
    {
        assert!(
            url.as_str()
                .unwrap()
                .starts_with("http://host.docker.internal:"),
            "{url}"
        );
    }
}
