//! Where the API keys are, in `template.yaml` against the code: the parameters that spread them
//! over units (`ApiKeysUnits`, `ApiKeysUnitsPrefix`) and name the previous layout during a
//! migration (`ApiKeysPreviousUnits`, `ApiKeysPreviousUnitsPrefix`), the variables they set,
//! which `src/config.rs` reads and accepts, the function's `secretsmanager:GetSecretValue` on
//! exactly those secrets, and the template's `Rules`, which refuse an inconsistent set.
//!
//! The template is evaluated here for a set of parameters as CloudFormation would: its
//! conditions, `!If`, `!Ref` and `!Sub` of parameters. What only a deployment knows stays in
//! `!Sub` notation: `${ApiKeysSecret}` (the stack's secret's ARN), `${AWS::Region}`.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use disconnect_integration::config::Config;
use serde_yaml::Value;
use test_support::local::template;
use test_support::template::intrinsic;

const FUNCTION: &str = "DisconnectIntegrationFunction";
const FUNCTION_ROLE: &str = "DisconnectIntegrationFunctionRole";
/// What the units' prefixes are put after in the role's policy.
const SECRET_ARN: &str =
    "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:";
/// The stack's own secret, as a `!Ref` to it reads.
const THE_STACKS_SECRET: &str = "${ApiKeysSecret}";
const AN_EXISTING_SECRET: &str =
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:api-keys-AbCdEf";
const PREFIX: &str = "disconnect-integration/api-keys";
const NEW_PREFIX: &str = "disconnect-integration/api-keys-v2";
/// The characters of a Secrets Manager secret's name.
const SECRET_NAME_CHARACTERS: &str =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_+=.@-";
/// The variables the function's environment may hold that `Config` does not read: the AWS SDK
/// reads them itself.
const READ_BY_THE_SDK: [&str; 2] = [
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_SECRETS_MANAGER",
];
/// The variables `Config` reads that the template never sets, and why.
const NOT_SET_BY_THE_TEMPLATE: [(&str, &str); 3] = [
    (
        "PANIC_PROBE_INTEGRATION_ID",
        "a test hook: tests/shipped sets it on the binary; the deployed template cannot",
    ),
    (
        "AWS_CA_BUNDLE",
        "only behind a TLS-inspecting proxy, never in Lambda",
    ),
    (
        "AWS_LAMBDA_FUNCTION_NAME",
        "set by Lambda; read only without METRICS_SERVICE",
    ),
];

// ---------------------------------------------------------------------------------------------
// The template, evaluated for one set of parameters.

fn items(value: &Value) -> &Vec<Value> {
    value
        .as_sequence()
        .unwrap_or_else(|| panic!("a list: {value:?}"))
}

pub(crate) struct Stack {
    template: Value,
    parameters: BTreeMap<String, String>,
}

impl Stack {
    /// The template with its parameters' defaults, overridden by `parameters`.
    pub(crate) fn with(template: &Value, parameters: &[(&str, &str)]) -> Self {
        let mut values: BTreeMap<String, String> = template["Parameters"]
            .as_mapping()
            .expect("Parameters")
            .iter()
            .map(|(name, parameter)| {
                let default = match &parameter["Default"] {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    other => panic!("{name:?}: a default of another kind: {other:?}"),
                };
                (name.as_str().unwrap().to_owned(), default)
            })
            .collect();
        for (name, value) in parameters {
            let known = values.insert((*name).to_owned(), (*value).to_owned());
            assert!(known.is_some(), "template.yaml has no parameter {name}");
        }
        Self {
            template: template.clone(),
            parameters: values,
        }
    }

    fn holds(&self, condition: &str) -> bool {
        let expression = &self.template["Conditions"][condition];
        assert!(
            !expression.is_null(),
            "template.yaml has no condition {condition}"
        );
        self.truth(expression, true)
    }

    /// A condition function's value. `conditions`: whether `!Condition` may appear (not in
    /// `Rules`, which CloudFormation evaluates before the conditions).
    fn truth(&self, expression: &Value, conditions: bool) -> bool {
        if let Some(args) = intrinsic(expression, "Equals") {
            let args = items(args);
            assert_eq!(args.len(), 2, "!Equals of two values");
            return self.string(&args[0]) == self.string(&args[1]);
        }
        // Rules only: whether the list holds the value (as strings, as CloudFormation compares).
        if let Some(args) = intrinsic(expression, "Contains") {
            let args = items(args);
            assert_eq!(args.len(), 2, "Fn::Contains of a list and a value");
            return self.values(&args[0]).contains(&self.string(&args[1]));
        }
        if let Some(args) = intrinsic(expression, "Not") {
            return !self.truth(&items(args)[0], conditions);
        }
        if let Some(args) = intrinsic(expression, "And") {
            return items(args).iter().all(|a| self.truth(a, conditions));
        }
        if let Some(args) = intrinsic(expression, "Or") {
            return items(args).iter().any(|a| self.truth(a, conditions));
        }
        if let Some(name) = intrinsic(expression, "Condition") {
            assert!(
                conditions,
                "!Condition where only parameters count: {expression:?}"
            );
            return self.holds(name.as_str().expect("!Condition of a name"));
        }
        panic!("not a condition function: {expression:?}")
    }

    /// The node `value` stands for: the branch an `!If` takes, `None` for `!Ref AWS::NoValue`.
    fn pick<'a>(&self, value: &'a Value) -> Option<&'a Value> {
        if let Some(args) = intrinsic(value, "If") {
            let args = items(args);
            let condition = args[0].as_str().expect("!If on a condition's name");
            return self.pick(&args[if self.holds(condition) { 1 } else { 2 }]);
        }
        if intrinsic(value, "Ref").and_then(Value::as_str) == Some("AWS::NoValue") {
            return None;
        }
        Some(value)
    }

    /// A scalar as CloudFormation gives it: parameters substituted, anything else in `!Sub`
    /// notation; `None` for `AWS::NoValue`.
    fn value(&self, value: &Value) -> Option<String> {
        let value = self.pick(value)?;
        if let Some(target) = intrinsic(value, "Ref") {
            let target = target.as_str().expect("!Ref of a name");
            if let Some(parameter) = self.parameters.get(target) {
                return Some(parameter.clone());
            }
            assert!(
                target.starts_with("AWS::") || !self.template["Resources"][target].is_null(),
                "!Ref {target} names nothing in the template"
            );
            return Some(format!("${{{target}}}"));
        }
        if let Some(string) = intrinsic(value, "Sub") {
            let string = string.as_str().expect("!Sub of one string");
            return Some(self.substitute(string));
        }
        match value {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            other => panic!("not a scalar: {other:?}"),
        }
    }

    fn string(&self, value: &Value) -> String {
        self.value(value)
            .unwrap_or_else(|| panic!("a value, not AWS::NoValue: {value:?}"))
    }

    /// `${Parameter}` replaced by its value; pseudo parameters and resources kept.
    fn substitute(&self, string: &str) -> String {
        let mut out = String::new();
        let mut rest = string;
        while let Some(start) = rest.find("${") {
            let end = rest[start..].find('}').expect("a closing brace") + start;
            let name = &rest[start + 2..end];
            out.push_str(&rest[..start]);
            match self.parameters.get(name) {
                Some(value) => out.push_str(value),
                None => out.push_str(&rest[start..=end]),
            }
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        out
    }

    /// A list's values, each `!If` resolved and `AWS::NoValue` left out; a scalar is a list of one.
    fn values(&self, value: &Value) -> Vec<String> {
        match self.pick(value) {
            Some(Value::Sequence(list)) => list.iter().filter_map(|v| self.value(v)).collect(),
            Some(Value::Null) | None => vec![],
            Some(_) => self.value(value).into_iter().collect(),
        }
    }

    /// The DELETE function's environment.
    fn environment(&self) -> BTreeMap<String, String> {
        self.template["Resources"][FUNCTION]["Properties"]["Environment"]["Variables"]
            .as_mapping()
            .expect("the function's Environment.Variables")
            .iter()
            .filter_map(|(name, value)| Some((name.as_str()?.to_owned(), self.value(value)?)))
            .collect()
    }

    /// The API_KEYS_* part of the function's environment.
    fn api_keys_environment(&self) -> BTreeMap<String, String> {
        let mut environment = self.environment();
        environment.retain(|name, _| name.starts_with("API_KEYS_") && !name.ends_with("_SECONDS"));
        environment
    }

    /// The statements of the function's role that name a Secrets Manager action.
    fn secrets_manager_statements(&self) -> Vec<Value> {
        let role = &self.template["Resources"][FUNCTION_ROLE];
        assert_eq!(
            serde_yaml::to_string(&self.template["Resources"][FUNCTION]["Properties"]["Role"])
                .unwrap()
                .trim(),
            format!("!GetAtt {FUNCTION_ROLE}.Arn"),
            "the function's role is {FUNCTION_ROLE}"
        );
        let policies = items(&role["Properties"]["Policies"]);
        let mut found = vec![];
        for policy in policies
            .iter()
            .filter_map(|p| self.pick(&p["PolicyDocument"]))
        {
            let statements = policy["Statement"].as_sequence().unwrap_or_else(|| {
                panic!("the function's policies are inline documents: {policy:?}")
            });
            for statement in statements.iter().filter_map(|s| self.pick(s)) {
                if self
                    .values(&statement["Action"])
                    .iter()
                    .chain(&self.values(&statement["NotAction"]))
                    .any(|a| a.starts_with("secretsmanager:") || a == "*")
                {
                    found.push(statement.clone());
                }
            }
        }
        found
    }

    /// The resources the function may read secrets from: its one Secrets Manager statement's,
    /// checked to be `Allow` of `secretsmanager:GetSecretValue` alone.
    fn readable_secrets(&self) -> BTreeSet<String> {
        let statements = self.secrets_manager_statements();
        assert_eq!(
            statements.len(),
            1,
            "one Secrets Manager statement: {statements:?}"
        );
        let statement = &statements[0];
        assert_eq!(statement["Sid"].as_str(), Some("ApiKeysSecretRead"));
        assert_eq!(statement["Effect"].as_str(), Some("Allow"));
        assert!(statement["NotResource"].is_null() && statement["Condition"].is_null());
        assert_eq!(
            self.values(&statement["Action"]),
            ["secretsmanager:GetSecretValue"],
            "reading a secret's value, nothing else"
        );
        let resources = self.values(&statement["Resource"]);
        let set: BTreeSet<String> = resources.iter().cloned().collect();
        assert_eq!(
            set.len(),
            resources.len(),
            "no resource twice: {resources:?}"
        );
        set
    }

    /// The names of the rules that refuse this set of parameters.
    pub(crate) fn refusing_rules(&self) -> Vec<String> {
        let rules = self.template["Rules"]
            .as_mapping()
            .expect("template.yaml has Rules");
        let mut refusing = vec![];
        for (name, rule) in rules {
            let applies = match rule.get("RuleCondition") {
                Some(condition) => self.truth(condition, false),
                None => true,
            };
            if applies
                && !items(&rule["Assertions"])
                    .iter()
                    .all(|a| self.truth(&a["Assert"], false))
            {
                refusing.push(name.as_str().unwrap().to_owned());
            }
        }
        refusing
    }
}

/// The secrets a layout's variables name, as the role must grant them: the one secret itself,
/// or the units under the prefix: four digits, then the hyphen and six random characters that
/// end every secret's ARN.
fn layout_resource(secret_id: &str, units: &str) -> String {
    if units == "1" {
        secret_id.to_owned()
    } else {
        format!("{SECRET_ARN}{secret_id}/{UNIT_NAME}")
    }
}

/// The environment as the deployed function sees it: a secret's `!Ref` is its ARN, a table's
/// its name, the stack's name some name.
fn deployed(template: &Value, environment: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let stack = Stack::with(template, &[]);
    environment
        .iter()
        .map(|(name, value)| {
            let mut value = value.clone();
            while let Some(start) = value.find("${") {
                let end = value[start..].find('}').unwrap() + start;
                let target = value[start + 2..end].to_owned();
                let resolved = match stack.template["Resources"][target.as_str()]["Type"].as_str() {
                    Some("AWS::SecretsManager::Secret") => {
                        format!(
                            "arn:aws:secretsmanager:us-east-1:123456789012:secret:{target}-AbCdEf"
                        )
                    }
                    _ => target.replace("AWS::", "").to_lowercase(),
                };
                value.replace_range(start..=end, &resolved);
            }
            (name.clone(), value)
        })
        .collect()
}

/// The config the deployed function reads from `environment`, and the names it looked up.
fn config(environment: &BTreeMap<String, String>) -> (Result<Config, String>, BTreeSet<String>) {
    let read = RefCell::new(BTreeSet::new());
    let config = Config::from_lookup(|name| {
        read.borrow_mut().insert(name.to_owned());
        environment.get(name).cloned()
    })
    .map_err(|e| e.to_string());
    (config, read.into_inner())
}

// ---------------------------------------------------------------------------------------------
// The layouts a deployment goes through.

/// Parameter names and values.
type Parameters = &'static [(&'static str, &'static str)];

struct Case {
    what: &'static str,
    parameters: Parameters,
    /// API_KEYS_SECRET_ID, API_KEYS_UNITS, and the previous layout's two when it is read.
    environment: &'static [(&'static str, &'static str)],
    readable: &'static [&'static str],
}

/// A unit's name after its prefix, as the role matches it: `0042-AbCdEf`.
const UNIT_NAME: &str = "????-??????";
const UNITS_ARN: &str = "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:disconnect-integration/api-keys/????-??????";
const NEW_UNITS_ARN: &str = "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:disconnect-integration/api-keys-v2/????-??????";

const LAYOUTS: [Case; 6] = [
    Case {
        what: "the default: the stack's one secret, as before units",
        parameters: &[],
        environment: &[
            ("API_KEYS_SECRET_ID", THE_STACKS_SECRET),
            ("API_KEYS_UNITS", "1"),
        ],
        readable: &[THE_STACKS_SECRET],
    },
    Case {
        what: "an existing secret",
        parameters: &[("ExistingApiKeysSecretArn", AN_EXISTING_SECRET)],
        environment: &[
            ("API_KEYS_SECRET_ID", AN_EXISTING_SECRET),
            ("API_KEYS_UNITS", "1"),
        ],
        readable: &[AN_EXISTING_SECRET],
    },
    Case {
        what: "320 units",
        parameters: &[("ApiKeysUnits", "320"), ("ApiKeysUnitsPrefix", PREFIX)],
        environment: &[("API_KEYS_SECRET_ID", PREFIX), ("API_KEYS_UNITS", "320")],
        readable: &[UNITS_ARN],
    },
    Case {
        what: "moving from the stack's one secret to 320 units",
        parameters: &[
            ("ApiKeysUnits", "320"),
            ("ApiKeysUnitsPrefix", PREFIX),
            ("ApiKeysPreviousUnits", "1"),
        ],
        environment: &[
            ("API_KEYS_SECRET_ID", PREFIX),
            ("API_KEYS_UNITS", "320"),
            ("API_KEYS_PREVIOUS_SECRET_ID", THE_STACKS_SECRET),
            ("API_KEYS_PREVIOUS_UNITS", "1"),
        ],
        readable: &[THE_STACKS_SECRET, UNITS_ARN],
    },
    Case {
        what: "moving from an existing secret to 320 units",
        parameters: &[
            ("ExistingApiKeysSecretArn", AN_EXISTING_SECRET),
            ("ApiKeysUnits", "320"),
            ("ApiKeysUnitsPrefix", PREFIX),
            ("ApiKeysPreviousUnits", "1"),
        ],
        environment: &[
            ("API_KEYS_SECRET_ID", PREFIX),
            ("API_KEYS_UNITS", "320"),
            ("API_KEYS_PREVIOUS_SECRET_ID", AN_EXISTING_SECRET),
            ("API_KEYS_PREVIOUS_UNITS", "1"),
        ],
        readable: &[AN_EXISTING_SECRET, UNITS_ARN],
    },
    Case {
        what: "resharding 320 units into 640 under a new prefix",
        parameters: &[
            ("ApiKeysUnits", "640"),
            ("ApiKeysUnitsPrefix", NEW_PREFIX),
            ("ApiKeysPreviousUnits", "320"),
            ("ApiKeysPreviousUnitsPrefix", PREFIX),
        ],
        environment: &[
            ("API_KEYS_SECRET_ID", NEW_PREFIX),
            ("API_KEYS_UNITS", "640"),
            ("API_KEYS_PREVIOUS_SECRET_ID", PREFIX),
            ("API_KEYS_PREVIOUS_UNITS", "320"),
        ],
        readable: &[NEW_UNITS_ARN, UNITS_ARN],
    },
];

/// Every set of the four layout parameters (and an existing secret or not) over a few values
/// each, the inconsistent ones included.
fn every_parameter_set() -> Vec<Vec<(&'static str, &'static str)>> {
    let mut sets = vec![];
    for existing in ["", AN_EXISTING_SECRET] {
        for units in ["1", "2", "320"] {
            for prefix in ["", PREFIX, NEW_PREFIX] {
                for previous in ["0", "1", "2", "320"] {
                    for previous_prefix in ["", PREFIX, NEW_PREFIX] {
                        sets.push(vec![
                            ("ExistingApiKeysSecretArn", existing),
                            ("ApiKeysUnits", units),
                            ("ApiKeysUnitsPrefix", prefix),
                            ("ApiKeysPreviousUnits", previous),
                            ("ApiKeysPreviousUnitsPrefix", previous_prefix),
                        ]);
                    }
                }
            }
        }
    }
    sets
}

// ---------------------------------------------------------------------------------------------
// The tests.

#[test]
fn the_function_reads_the_api_keys_where_the_layout_parameters_put_them() {
    let template = template();
    for layout in LAYOUTS {
        let stack = Stack::with(&template, layout.parameters);
        let expected: BTreeMap<String, String> = layout
            .environment
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        assert_eq!(stack.api_keys_environment(), expected, "{}", layout.what);
    }
}

#[test]
fn the_function_may_read_exactly_the_api_key_secrets_of_its_layout() {
    let template = template();
    for layout in LAYOUTS {
        let stack = Stack::with(&template, layout.parameters);
        let expected: BTreeSet<String> = layout.readable.iter().map(|r| (*r).to_owned()).collect();
        assert_eq!(stack.readable_secrets(), expected, "{}", layout.what);
    }
}

#[test]
fn the_units_output_is_what_the_role_reads_under_the_prefix() {
    let template = template();
    let output = &template["Outputs"]["ApiKeysUnitsSecretArns"];
    assert_eq!(output["Condition"].as_str(), Some("ApiKeysInUnits"));
    for layout in LAYOUTS {
        let stack = Stack::with(&template, layout.parameters);
        if stack.holds("ApiKeysInUnits") {
            let arns = stack.string(&output["Value"]);
            assert!(
                stack.readable_secrets().contains(&arns),
                "{}: {arns}",
                layout.what
            );
        }
    }
}

#[test]
fn the_rules_refuse_an_inconsistent_layout_and_only_that() {
    let template = template();
    for layout in LAYOUTS {
        let refusing = Stack::with(&template, layout.parameters).refusing_rules();
        assert!(
            refusing.is_empty(),
            "{}: refused by {refusing:?}",
            layout.what
        );
    }
    let inconsistent: [(&str, Parameters, &str); 4] = [
        (
            "units without a prefix",
            &[("ApiKeysUnits", "320")],
            "ApiKeysUnitsNeedAPrefix",
        ),
        (
            "previous units without their prefix",
            &[
                ("ApiKeysUnits", "640"),
                ("ApiKeysUnitsPrefix", NEW_PREFIX),
                ("ApiKeysPreviousUnits", "320"),
            ],
            "ApiKeysPreviousUnitsNeedAPreviousPrefix",
        ),
        (
            "previous units under the same prefix",
            &[
                ("ApiKeysUnits", "640"),
                ("ApiKeysUnitsPrefix", PREFIX),
                ("ApiKeysPreviousUnits", "320"),
                ("ApiKeysPreviousUnitsPrefix", PREFIX),
            ],
            "ApiKeysPreviousPrefixIsNotThePrefix",
        ),
        (
            "the one secret as both the layout and the previous one",
            &[("ApiKeysPreviousUnits", "1")],
            "ApiKeysPreviousSecretOnlyBesideUnits",
        ),
    ];
    for (what, parameters, rule) in inconsistent {
        let refusing = Stack::with(&template, parameters).refusing_rules();
        assert_eq!(refusing, [rule], "{what}");
    }
    for (name, rule) in template["Rules"].as_mapping().unwrap() {
        if !name.as_str().unwrap().starts_with("ApiKeys") {
            continue;
        }
        for assertion in items(&rule["Assertions"]) {
            let description = assertion["AssertDescription"].as_str().unwrap_or_default();
            assert!(
                description.contains("ApiKeys"),
                "{name:?}: a description that names the parameters: {description:?}"
            );
        }
    }
}

/// Over every set of the layout parameters: a set the rules let through deploys a function
/// whose config starts, and whose role reads exactly the secrets its variables name.
#[test]
fn every_layout_the_rules_accept_starts_the_function_and_reads_only_its_secrets() {
    let template = template();
    let mut accepted = 0;
    for parameters in every_parameter_set() {
        let stack = Stack::with(&template, &parameters);
        if !stack.refusing_rules().is_empty() {
            continue;
        }
        accepted += 1;
        let environment = stack.environment();
        let (config, _) = config(&deployed(&template, &environment));
        if let Err(e) = config {
            panic!("{parameters:?}: the function fails init: {e}");
        }
        let mut expected = BTreeSet::from([layout_resource(
            &environment["API_KEYS_SECRET_ID"],
            &environment["API_KEYS_UNITS"],
        )]);
        if let Some(previous) = environment.get("API_KEYS_PREVIOUS_SECRET_ID") {
            expected.insert(layout_resource(
                previous,
                &environment["API_KEYS_PREVIOUS_UNITS"],
            ));
        }
        assert_eq!(stack.readable_secrets(), expected, "{parameters:?}");
        for resource in &expected {
            let wildcards = resource.matches(['*', '?']).count();
            assert!(
                wildcards == 0 || (wildcards == 10 && resource.ends_with(UNIT_NAME)),
                "{parameters:?}: wildcards only for a unit's name after its prefix: {resource}"
            );
            assert!(!resource.contains('*'), "{parameters:?}: {resource}");
        }
    }
    assert!(
        accepted >= 20,
        "only {accepted} parameter sets were accepted"
    );
}

/// The variables the template sets are those `Config` reads (the SDK's own endpoint variables
/// aside), and every one `Config` reads is set by the template (or listed with its reason).
#[test]
fn the_template_sets_exactly_the_variables_the_config_reads() {
    let template = template();
    let mut sets: Vec<Vec<(&str, &str)>> = LAYOUTS.iter().map(|l| l.parameters.to_vec()).collect();
    // Every optional variable the template can set besides the layout's.
    sets.push(vec![
        ("DynamoDbEndpointUrl", "http://localhost:8000"),
        ("SecretsManagerEndpointUrl", "http://localhost:5000"),
    ]);
    let mut set_anywhere = BTreeSet::new();
    let mut read_anywhere = BTreeSet::new();
    for parameters in sets {
        let environment = deployed(
            &template,
            &Stack::with(&template, &parameters).environment(),
        );
        let (config, read) = config(&environment);
        if let Err(e) = config {
            panic!("{parameters:?}: the function fails init: {e}");
        }
        let unread: Vec<&String> = environment
            .keys()
            .filter(|name| !read.contains(*name) && !READ_BY_THE_SDK.contains(&name.as_str()))
            .collect();
        assert!(
            unread.is_empty(),
            "{parameters:?}: the template sets {unread:?}, which src/config.rs does not read"
        );
        set_anywhere.extend(environment.into_keys());
        read_anywhere.extend(read);
    }
    let unset: Vec<&String> = read_anywhere
        .iter()
        .filter(|name| {
            !set_anywhere.contains(*name) && !NOT_SET_BY_THE_TEMPLATE.iter().any(|(n, _)| n == name)
        })
        .collect();
    assert!(
        unset.is_empty(),
        "src/config.rs reads {unset:?}, which the template never sets"
    );
    for name in [
        "API_KEYS_SECRET_ID",
        "API_KEYS_UNITS",
        "API_KEYS_PREVIOUS_SECRET_ID",
        "API_KEYS_PREVIOUS_UNITS",
    ] {
        assert!(set_anywhere.contains(name), "the template sets {name}");
    }
}

/// The parameters' ranges are the config's, and their defaults today's one secret.
#[test]
fn the_layout_parameters_default_to_one_secret_within_the_ranges_the_config_accepts() {
    let template = template();
    let parameters = &template["Parameters"];
    for (name, default, min) in [("ApiKeysUnits", 1, 1), ("ApiKeysPreviousUnits", 0, 0)] {
        let parameter = &parameters[name];
        assert_eq!(parameter["Type"].as_str(), Some("Number"), "{name}");
        assert_eq!(parameter["Default"].as_u64(), Some(default), "{name}");
        assert_eq!(parameter["MinValue"].as_u64(), Some(min), "{name}");
        let max = parameter["MaxValue"]
            .as_u64()
            .expect("a MaxValue")
            .to_string();
        let too_many = (max.parse::<u64>().unwrap() + 1).to_string();
        for (units, accepted) in [(max.as_str(), true), (too_many.as_str(), false)] {
            let environment = BTreeMap::from([
                ("TABLE_NAME".to_owned(), "t".to_owned()),
                ("API_KEYS_SECRET_ID".to_owned(), PREFIX.to_owned()),
                ("API_KEYS_UNITS".to_owned(), units.to_owned()),
            ]);
            assert_eq!(config(&environment).0.is_ok(), accepted, "{name} {units}");
        }
    }
    for name in ["ApiKeysUnitsPrefix", "ApiKeysPreviousUnitsPrefix"] {
        assert_eq!(parameters[name]["Default"].as_str(), Some(""), "{name}");
    }
    let stack = Stack::with(&template, &[]);
    assert!(stack.holds("ApiKeysInOneSecret") && !stack.holds("ReadsPreviousApiKeys"));
}

/// The characters a match of `pattern` can hold: those of its character classes and its
/// literals. A pattern of `[...]` classes, groups, `|`, `^`, `$`, `+` and `{m,n}` only: no `.`,
/// no escape, no negated class, which could admit anything.
fn admitted_characters(pattern: &str) -> BTreeSet<char> {
    let mut admitted = BTreeSet::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '[' => {
                assert_ne!(chars.peek(), Some(&'^'), "{pattern}: a negated class");
                let mut class: Vec<char> = vec![];
                for c in chars.by_ref() {
                    if c == ']' {
                        break;
                    }
                    assert_ne!(c, '\\', "{pattern}: an escape in a class");
                    class.push(c);
                }
                let mut i = 0;
                while i < class.len() {
                    if i + 2 < class.len() && class[i + 1] == '-' {
                        admitted.extend(class[i]..=class[i + 2]);
                        i += 3;
                    } else {
                        admitted.insert(class[i]);
                        i += 1;
                    }
                }
            }
            '{' => {
                for c in chars.by_ref() {
                    if c == '}' {
                        break;
                    }
                    assert!(c.is_ascii_digit() || c == ',', "{pattern}: a repeat count");
                }
            }
            '^' | '$' | '|' | '(' | ')' | '+' => {}
            '.' | '\\' | '*' | '?' => panic!("{pattern}: `{c}` could admit anything"),
            literal => {
                admitted.insert(literal);
            }
        }
    }
    admitted
}

#[test]
fn a_units_prefix_is_a_secret_name_never_an_arn_or_a_wildcard() {
    let template = template();
    let name_characters: BTreeSet<char> = SECRET_NAME_CHARACTERS.chars().collect();
    for name in ["ApiKeysUnitsPrefix", "ApiKeysPreviousUnitsPrefix"] {
        let parameter = &template["Parameters"][name];
        let pattern = parameter["AllowedPattern"]
            .as_str()
            .expect("an AllowedPattern");
        let admitted = admitted_characters(pattern);
        assert!(
            admitted.is_subset(&name_characters),
            "{name} admits {:?}, which no secret name has",
            admitted.difference(&name_characters).collect::<Vec<_>>()
        );
        assert!(!admitted.contains(&':'), "{name}: never an ARN");
        assert!(pattern.starts_with("^$|"), "{name} may be empty: {pattern}");
        let max = parameter["MaxLength"].as_u64().expect("a MaxLength");
        assert!(
            max + "/0000".len() as u64 <= 512,
            "{name}: a unit's name, <prefix>/nnnn, fits a secret name's 512 characters"
        );
    }
    for name in [
        "ExistingApiKeysSecretArn",
        "ExistingRevokeCredentialsSecretArn",
    ] {
        let existing = template["Parameters"][name]["AllowedPattern"]
            .as_str()
            .unwrap_or_else(|| panic!("{name} has an AllowedPattern"));
        let admitted = admitted_characters(existing);
        assert!(
            !admitted.contains(&'*') && !admitted.contains(&'?'),
            "{name}: {existing}"
        );
        assert!(
            existing.starts_with("^$|^arn:") && existing.contains(":secretsmanager:"),
            "{name}: empty, or a secret's ARN: {existing}"
        );
    }
}

/// `make api-keys ACTION=init` encrypts the units with the stack's `KmsKeyArn`: over every
/// accepted layout, the role's key statement through Secrets Manager admits, by the `SecretARN`
/// encryption context, exactly the secrets the role reads (units included), no other.
#[test]
fn the_key_decrypts_through_secrets_manager_exactly_the_secrets_the_role_reads() {
    let template = template();
    let statements = items(
        &template["Resources"]["DisconnectIntegrationKmsPolicy"]["Properties"]["PolicyDocument"]["Statement"],
    );
    let statement = statements
        .iter()
        .find(|s| s["Sid"] == "KmsThroughSecretsManager")
        .expect("a KmsThroughSecretsManager statement");
    let mut checked = 0;
    for parameters in every_parameter_set() {
        let stack = Stack::with(&template, &parameters);
        if !stack.refusing_rules().is_empty() {
            continue;
        }
        let context: BTreeSet<String> = stack
            .values(&statement["Condition"]["StringLike"]["kms:EncryptionContext:SecretARN"])
            .into_iter()
            .collect();
        assert_eq!(context, stack.readable_secrets(), "{parameters:?}");
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} layouts checked");
}
