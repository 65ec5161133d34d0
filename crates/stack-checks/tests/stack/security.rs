//! The stack's security posture, read from `template.yaml`: the optional customer-managed key
//! reaches everything that holds tokens, key hashes or their traces; each role may use it only
//! through the services it calls; the reserved concurrency agrees with the API's throttling;
//! and every scanner finding left unfixed is suppressed in the template with a reason.
//! `make test` also runs the scanner itself (scripts/scan-template.py).

use std::collections::BTreeMap;

use serde_yaml::Value;
use test_support::local::{repo_root, template};

use crate::least_privilege::actions;

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

/// Whether any statement of a policy document grants a `kms:` action.
fn grants_kms(document: &Value) -> bool {
    document["Statement"]
        .as_sequence()
        .unwrap()
        .iter()
        .any(|statement| {
            actions(statement)
                .iter()
                .any(|a| a.starts_with("kms:") || a == "*")
        })
}

/// The resource a role's statement granting `action` names (its one statement with it).
fn resource_of(role: &str, action: &str) -> String {
    let granting: Vec<Value> = crate::least_privilege::statements(role)
        .into_iter()
        .filter(|s| actions(s).iter().any(|a| a == action))
        .collect();
    assert_eq!(granting.len(), 1, "{role}: one statement grants {action}");
    compact(&granting[0]["Resource"])
}

/// Each role may use the key through the services it calls, and through each only for the one
/// resource the role uses there, by the encryption context the service documents (the sources
/// are in the template's comment above the policies): a wrong table, secret, queue or bus in a
/// condition fails here.
#[test]
fn each_role_may_use_the_key_only_through_the_services_it_calls_for_its_own_resources() {
    let template = template();
    let mut roles = BTreeMap::new();
    for role in resources_of_type(&template, "AWS::IAM::Role").keys() {
        let inline = &template["Resources"][role.as_str()]["Properties"]["Policies"];
        for policy in inline.as_sequence().unwrap() {
            assert!(
                !grants_kms(&policy["PolicyDocument"]),
                "{role}: no KMS right inline, only in a policy that exists with a key"
            );
        }
    }
    for (id, policy) in resources_of_type(&template, "AWS::IAM::Policy") {
        if !grants_kms(&policy["Properties"]["PolicyDocument"]) {
            continue;
        }
        assert_eq!(
            policy["Condition"], "HasKmsKey",
            "{id} exists only with a key"
        );
        let roles_of = compact(&policy["Properties"]["Roles"]);
        let role = roles_of
            .strip_prefix("[Ref(")
            .and_then(|r| r.strip_suffix(")]"))
            .unwrap_or_else(|| panic!("{id}: one role: {roles_of}"))
            .to_owned();
        let mut services = vec![];
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
            .as_sequence()
            .unwrap()
        {
            for action in actions(statement) {
                assert!(
                    ["kms:Decrypt", "kms:GenerateDataKey"].contains(&action.as_str()),
                    "{id}: {action}"
                );
            }
            assert_eq!(compact(&statement["Resource"]), "Ref(KmsKeyArn)", "{id}");
            let equals = &statement["Condition"]["StringEquals"];
            let via = compact(&equals["kms:ViaService"]);
            let service = via
                .strip_prefix("Sub(")
                .and_then(|v| v.strip_suffix(".${AWS::Region}.amazonaws.com)"))
                .unwrap_or_else(|| panic!("{id}: conditioned on kms:ViaService: {via}"))
                .to_owned();
            // The encryption context: the resource the role uses through that service.
            let context = |key: &str| {
                let value = if equals[key].is_null() {
                    &statement["Condition"]["StringLike"][key]
                } else {
                    &equals[key]
                };
                assert!(!value.is_null(), "{id} {service}: conditioned on {key}");
                compact(value)
            };
            match service.as_str() {
                "dynamodb" => {
                    assert_eq!(
                        context("kms:EncryptionContext:aws:dynamodb:tableName"),
                        "Ref(IntegrationsTable)",
                        "{id}"
                    );
                    assert_eq!(
                        context("kms:EncryptionContext:aws:dynamodb:subscriberId"),
                        "Ref(AWS::AccountId)",
                        "{id}"
                    );
                }
                "secretsmanager" => assert_eq!(
                    context("kms:EncryptionContext:SecretARN"),
                    resource_of(&role, "secretsmanager:GetSecretValue"),
                    "{id}"
                ),
                "sqs" => assert_eq!(
                    context("kms:EncryptionContext:aws:sqs:arn"),
                    resource_of(&role, "sqs:SendMessage"),
                    "{id}"
                ),
                "events" => assert_eq!(
                    context("kms:EncryptionContext:aws:events:event-bus:arn"),
                    resource_of(&role, "events:PutEvents"),
                    "{id}"
                ),
                other => panic!("{id}: a service without a documented context: {other}"),
            }
            services.push(service);
        }
        roles.insert(role, services);
    }
    let expected = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        roles,
        BTreeMap::from([
            (
                "DisconnectIntegrationFunctionRole".to_owned(),
                expected(&["dynamodb", "secretsmanager"])
            ),
            (
                "RevokeTokensRole".to_owned(),
                expected(&["dynamodb", "secretsmanager", "sqs"])
            ),
            (
                "DisconnectEventPipeRole".to_owned(),
                expected(&["dynamodb", "events", "sqs"])
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

/// The table's stream holds every token any writer puts or removes (docs/security.md): its
/// resource policy denies its reads to every principal but the roles that read it, and those
/// are exactly the roles granted a stream read, the revoker's and the Pipe's (and an operator's
/// role only while `StreamReaderRoleArn` names one). Each of their stream rights sits in a policy
/// the stream's reader waits for, so no mapping or Pipe starts before it may read.
#[test]
fn only_the_revoker_and_the_pipe_may_read_the_stream() {
    let template = template();
    let stream = &template["Resources"]["IntegrationsTable"]["Properties"]["StreamSpecification"];
    let statements = stream["ResourcePolicy"]["PolicyDocument"]["Statement"]
        .as_sequence()
        .expect("a stream resource policy");
    assert_eq!(statements.len(), 1, "one statement");
    let deny = &statements[0];
    assert_eq!(deny["Effect"], "Deny");
    assert_eq!(deny["Principal"], "*", "every principal, of any account");
    let denied = actions(deny);
    let reads = [
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
    ];
    assert_eq!(
        denied.iter().map(String::as_str).collect::<Vec<_>>(),
        reads,
        "the stream's reads, and not the management of its policy"
    );
    assert_eq!(
        deny["Resource"], "*",
        "the stream the policy is attached to"
    );
    let conditions = deny["Condition"].as_mapping().unwrap();
    assert_eq!(conditions.len(), 1, "{conditions:?}");
    let excepted = compact(&deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]);

    // The roles granted a read of the stream, by any of their policies.
    let mut readers = vec![];
    for role in resources_of_type(&template, "AWS::IAM::Role").keys() {
        let reading: Vec<Value> = crate::least_privilege::statements(role)
            .into_iter()
            .filter(|s| {
                actions(s).iter().any(|a| reads.contains(&a.as_str()))
                    && compact(&s["Resource"]).contains("IntegrationsTable")
            })
            .collect();
        if !reading.is_empty() {
            readers.push(role.clone());
        }
    }
    assert_eq!(readers, ["DisconnectEventPipeRole", "RevokeTokensRole"]);
    assert_eq!(
        excepted,
        "[GetAtt(RevokeTokensRole.Arn),GetAtt(DisconnectEventPipeRole.Arn),\
         If[HasStreamReader,Ref(StreamReaderRoleArn),Ref(AWS::NoValue)]]"
    );
    assert_eq!(
        template["Parameters"]["StreamReaderRoleArn"]["Default"].as_str(),
        Some(""),
        "no operator reads the stream unless a deployment names one"
    );
    assert_eq!(
        compact(&template["Conditions"]["HasStreamReader"]),
        "Not[Equals[Ref(StreamReaderRoleArn),]]"
    );

    // Both readers wait for the policy that lets them read.
    for (reader, policy, role) in [
        (
            "RevokeTokensFunction",
            "RevokeTokensTablePolicy",
            "RevokeTokensRole",
        ),
        (
            "DisconnectEventPipe",
            "DisconnectEventPipeStreamPolicy",
            "DisconnectEventPipeRole",
        ),
    ] {
        assert_eq!(
            template["Resources"][reader]["DependsOn"].as_str(),
            Some(policy),
            "{reader}"
        );
        let resource = &template["Resources"][policy];
        assert_eq!(resource["Type"], "AWS::IAM::Policy");
        assert_eq!(
            compact(&resource["Properties"]["Roles"]),
            format!("[Ref({role})]")
        );
        let grants_read = resource["Properties"]["PolicyDocument"]["Statement"]
            .as_sequence()
            .unwrap()
            .iter()
            .any(|s| actions(s).iter().any(|a| a == "dynamodb:GetRecords"));
        assert!(grants_read, "{policy} grants {role} the stream's reads");
    }
}

/// The Pipe's role trusts only this stack's Pipe: its trust names the Pipe's own ARN, built
/// from the same fixed name the Pipe has (no `pipe/*`).
#[test]
fn the_pipe_role_trusts_only_this_stacks_pipe() {
    let template = template();
    let trust = &template["Resources"]["DisconnectEventPipeRole"]["Properties"]["AssumeRolePolicyDocument"]
        ["Statement"];
    let trust = trust.as_sequence().unwrap();
    assert_eq!(trust.len(), 1);
    let condition = trust[0]["Condition"].as_mapping().unwrap();
    assert_eq!(
        condition.len(),
        1,
        "StringEquals only, no ArnLike: {condition:?}"
    );
    let source = &trust[0]["Condition"]["StringEquals"]["aws:SourceArn"];
    let name = template["Resources"]["DisconnectEventPipe"]["Properties"]["Name"].clone();
    assert!(!name.is_null(), "the Pipe has a fixed name");
    let Value::Tagged(sub) = source else {
        panic!("a !Sub: {source:?}")
    };
    assert_eq!(sub.tag.to_string(), "!Sub");
    assert_eq!(
        sub.value[0].as_str(),
        Some("arn:${AWS::Partition}:pipes:${AWS::Region}:${AWS::AccountId}:pipe/${PipeName}")
    );
    assert_eq!(sub.value[1]["PipeName"], name, "the Pipe's own name");
    assert_eq!(
        compact(&trust[0]["Condition"]["StringEquals"]["aws:SourceAccount"]),
        "Ref(AWS::AccountId)"
    );
    // A Pipe's name has at most 64 characters; the stack id's UUID has 36.
    assert_eq!(
        compact(&name),
        "Join[-,[disconnect-events,Select[Number(2),Split[/,Ref(AWS::StackId)]]]]"
    );
    assert!("disconnect-events-".len() + 36 <= 64);
}

/// The test hooks: the endpoint overrides stay in the template, loopback or the Docker host
/// only (above); the panic probe is out of it: no parameter sets it, only `tests/shipped` does.
#[test]
fn the_panic_probe_is_not_in_the_deployed_template() {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    assert!(!text.contains("PANIC_PROBE"), "no variable");
    assert!(!text.to_lowercase().contains("panicprobe"), "no parameter");
}

/// `ThrottlingBurstLimit` <= `ReservedConcurrency` and `ThrottlingRateLimit` <=
/// `ThrottlingBurstLimit`, enforced by the template's Rules: over every combination of the
/// three parameters' allowed values, CloudFormation accepts exactly those that keep both
/// relations, and the defaults are among them.
#[test]
fn the_throttle_rules_accept_exactly_a_burst_within_the_reserved_concurrency_and_a_rate_within_the_burst()
 {
    let template = template();
    let ladder = |name: &str| -> Vec<u64> {
        template["Parameters"][name]["AllowedValues"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{name} has AllowedValues"))
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect()
    };
    let values = ladder("ReservedConcurrency");
    assert_eq!(values, ladder("ThrottlingBurstLimit"));
    assert_eq!(values, ladder("ThrottlingRateLimit"));
    let mut accepted = 0;
    for reserved in &values {
        for burst in &values {
            for rate in &values {
                let (reserved, burst, rate) =
                    (reserved.to_string(), burst.to_string(), rate.to_string());
                let stack = crate::api_keys::Stack::with(
                    &template,
                    &[
                        ("ReservedConcurrency", &reserved),
                        ("ThrottlingBurstLimit", &burst),
                        ("ThrottlingRateLimit", &rate),
                    ],
                );
                let ok = burst.parse::<u64>().unwrap() <= reserved.parse::<u64>().unwrap()
                    && rate.parse::<u64>().unwrap() <= burst.parse::<u64>().unwrap();
                let refusing = stack.refusing_rules();
                assert_eq!(
                    refusing.is_empty(),
                    ok,
                    "reserved {reserved}, burst {burst}, rate {rate}: {refusing:?}"
                );
                accepted += usize::from(ok);
            }
        }
    }
    assert!(accepted > 0);
    assert!(
        crate::api_keys::Stack::with(&template, &[])
            .refusing_rules()
            .is_empty(),
        "the defaults are accepted"
    );
}

/// CORS for a hosted API playground: off unless `PlaygroundOrigins` names origins, and then
/// only those origins, `DELETE` and `x-api-key` (make build's check-transform.py checks what the
/// SAM transform makes of it). An origin is `https://` and a host, or loopback over `http://`:
/// never a wildcard, a path or a list of everything.
#[test]
fn cors_is_off_unless_playground_origins_names_them_and_then_only_delete_with_x_api_key() {
    let template = template();
    let parameter = &template["Parameters"]["PlaygroundOrigins"];
    assert_eq!(parameter["Type"], "CommaDelimitedList");
    assert_eq!(
        parameter["Default"].as_str(),
        Some(""),
        "no CORS by default"
    );
    let pattern = parameter["AllowedPattern"].as_str().unwrap();
    assert!(pattern.starts_with("^$|"), "{pattern}");
    assert_eq!(
        pattern,
        r"^$|^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^http://(127\.0\.0\.1|localhost)(:[0-9]{1,5})?$",
        "empty, an https origin (host and port only), or loopback over http"
    );
    assert!(
        !pattern.contains('*') && !pattern.contains("/."),
        "no wildcard, no path"
    );
    assert_eq!(
        compact(&template["Conditions"]["HasPlaygroundOrigins"]),
        "Not[Equals[Join[,Ref(PlaygroundOrigins)],]]"
    );
    let cors = &template["Resources"]["HttpApi"]["Properties"]["CorsConfiguration"];
    let Value::Tagged(choice) = cors else {
        panic!("an !If: {cors:?}")
    };
    assert_eq!(choice.tag.to_string(), "!If");
    assert_eq!(choice.value[0], "HasPlaygroundOrigins");
    assert_eq!(compact(&choice.value[2]), "Ref(AWS::NoValue)");
    let on = &choice.value[1];
    assert_eq!(compact(&on["AllowOrigins"]), "Ref(PlaygroundOrigins)");
    assert_eq!(compact(&on["AllowMethods"]), "[DELETE]");
    assert_eq!(compact(&on["AllowHeaders"]), "[x-api-key]");
    assert_eq!(
        compact(&on["ExposeHeaders"]),
        "[x-request-id,retry-after,allow]",
        "what the page shows of an answer"
    );
    assert!(
        on["AllowCredentials"].is_null(),
        "no credentials: the key is a header"
    );
    let keys: Vec<&str> = on
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "AllowOrigins",
            "AllowMethods",
            "AllowHeaders",
            "ExposeHeaders",
            "MaxAge"
        ]
    );
}
