//! `openapi.yaml` and the code tell the same story.
//!
//! `make test` lints the spec and sends it generated requests (scripts/contract-test.sh); these
//! tests catch what that cannot reach: an error no generated request provokes (500, 503), a
//! status, code, header or success field added on one side only, and examples that say
//! something else than the code or the README. They need no services: errors come from
//! `ErrorCode::ALL`, the success from the real handler over fake AWS answers.

use std::collections::{BTreeMap, BTreeSet};

use disconnect_integration::App;
use disconnect_integration::api_keys::hash_key;
use disconnect_integration::http::response::{Answer, ErrorCode};
use function_support::clock::SystemClock;
use integrations_table::attributes::{ACCOUNT_ID, PK, SK, TYPE};
use serde_json::{Value as Json, json};
use serde_yaml::Value;
use test_support::fake_aws::{FakeAws, Reply, wire_item};

use disconnect_integration::Config;
use test_support::doors::Door;
use test_support::lambda_response::TestResponse;
use test_support::local::function_env;

const PATH: &str = "/v1/integration/{integrationId}";
const MEDIA_TYPE: &str = "application/json";

/// The parsed `openapi.yaml`.
struct Spec(Value);

impl Spec {
    fn load() -> Self {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml");
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}"));
        Self(serde_yaml::from_str(&text).expect("openapi.yaml is valid YAML"))
    }

    /// Follows `$ref`s (local ones, the only kind this spec uses) to the node they point at.
    fn resolve<'a>(&'a self, mut node: &'a Value) -> &'a Value {
        while let Some(reference) = node.get("$ref").and_then(Value::as_str) {
            let pointer = reference
                .strip_prefix("#/")
                .unwrap_or_else(|| panic!("not a local $ref: {reference}"));
            node = pointer.split('/').fold(&self.0, |node, key| {
                &node[key.replace("~1", "/").replace("~0", "~").as_str()]
            });
            assert!(!node.is_null(), "{reference} points at nothing");
        }
        node
    }

    /// The operation's responses, by status, with their `$ref`s resolved.
    fn responses(&self) -> BTreeMap<u16, &Value> {
        self.0["paths"][PATH]["delete"]["responses"]
            .as_mapping()
            .unwrap_or_else(|| panic!("openapi.yaml has no responses for DELETE {PATH}"))
            .iter()
            .map(|(status, response)| {
                let status = match status {
                    Value::String(s) => s.parse(),
                    other => serde_yaml::to_string(other).unwrap().trim().parse(),
                }
                .unwrap_or_else(|_| panic!("not a status code: {status:?}"));
                (status, self.resolve(response))
            })
            .collect()
    }

    fn response(&self, status: u16) -> &Value {
        self.responses()
            .get(&status)
            .copied()
            .unwrap_or_else(|| panic!("openapi.yaml has no {status} response"))
    }

    fn json_schema<'a>(&'a self, response: &'a Value) -> &'a Value {
        let schema = self.resolve(&response["content"][MEDIA_TYPE]["schema"]);
        assert!(
            schema.is_mapping(),
            "a response without a {MEDIA_TYPE} schema"
        );
        schema
    }

    /// The `error.code` values a schema allows, following `allOf`; `None` if it leaves them open.
    fn error_codes(&self, schema: &Value) -> Option<BTreeSet<String>> {
        let schema = self.resolve(schema);
        let mut allowed: Option<BTreeSet<String>> = None;
        let mut narrow = |codes: BTreeSet<String>| {
            allowed = Some(match allowed.take() {
                None => codes,
                Some(before) => before.intersection(&codes).cloned().collect(),
            });
        };
        let error = self.resolve(&schema["properties"]["error"]);
        let code = self.resolve(&error["properties"]["code"]);
        if let Some(values) = code["enum"].as_sequence() {
            narrow(
                values
                    .iter()
                    .map(|v| text(v).expect("string codes"))
                    .collect(),
            );
        }
        if let Some(value) = text(&code["const"]) {
            narrow(BTreeSet::from([value]));
        }
        for branch in schema["allOf"].as_sequence().into_iter().flatten() {
            if let Some(codes) = self.error_codes(branch) {
                narrow(codes);
            }
        }
        allowed
    }

    /// Every (status, `error.code`) pair the spec lists.
    fn error_pairs(&self) -> BTreeSet<(u16, String)> {
        let mut pairs = BTreeSet::new();
        for (status, response) in self.responses().into_iter().filter(|(s, _)| *s >= 400) {
            let codes = self
                .error_codes(self.json_schema(response))
                .unwrap_or_else(|| panic!("the {status} response leaves error.code open"));
            pairs.extend(codes.into_iter().map(|code| (status, code)));
        }
        pairs
    }

    /// The headers the spec declares for `status`, by lowercase name.
    fn headers(&self, status: u16) -> BTreeMap<String, &Value> {
        self.response(status)["headers"]
            .as_mapping()
            .into_iter()
            .flatten()
            .map(|(name, header)| {
                let name = name.as_str().expect("header names are strings");
                (name.to_ascii_lowercase(), self.resolve(header))
            })
            .collect()
    }

    /// The examples of a response's JSON body.
    fn examples(&self, response: &Value) -> Vec<Json> {
        let content = &response["content"][MEDIA_TYPE];
        let named = content["examples"].as_mapping().into_iter().flatten();
        named
            .map(|(_, example)| &self.resolve(example)["value"])
            .chain(Some(&content["example"]).filter(|e| !e.is_null()))
            .map(|example| serde_json::to_value(example).expect("examples are JSON"))
            .collect()
    }
}

/// A YAML scalar as the text it stands for (a header value or an enum entry).
fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Every (status, `error.code`) pair the code can produce.
fn code_pairs() -> BTreeSet<(u16, String)> {
    ErrorCode::ALL
        .iter()
        .map(|c| (c.status(), c.as_str().to_owned()))
        .collect()
}

fn body_of(answer: &Answer) -> Json {
    serde_json::from_str(&answer.body).expect("a JSON body")
}

fn headers_of(answer: &Answer) -> BTreeMap<String, String> {
    answer
        .headers
        .iter()
        .map(|(n, v)| (n.to_string(), v.clone()))
        .collect()
}

/// A real success, from the handler over fake Secrets Manager and DynamoDB answers.
async fn a_real_success() -> TestResponse {
    const KEY: &str = "spec_test_key";
    let secret =
        json!({"keys": [{"sha256": hash_key(KEY), "accountId": "acct_spec", "name": "spec"}]})
            .to_string();
    let secrets = FakeAws::new(move |_| {
        Reply::ok(json!({"Name": "spec", "SecretString": secret}).to_string())
    });
    let dynamodb = FakeAws::new(|call| match call.operation.as_str() {
        "Query" => {
            let item = json!({PK: "INTEGRATION#int_yt_abc123", SK: "INTEGRATION", ACCOUNT_ID: "acct_spec", TYPE: "youtube"});
            Reply::ok(json!({"Items": [wire_item(&item)], "Count": 1}).to_string())
        }
        _ => Reply::ok("{}"),
    });
    let app = App::from_clients(
        &Config::from_lookup(function_env("spec-table", "spec/api-keys"))
            .expect("a valid configuration"),
        dynamodb.dynamodb(),
        secrets.secrets_manager(),
        SystemClock::shared(),
    )
    .with_metrics_sink(function_support::emf::Sink::Off);
    let event = Door::HttpApi.event(
        "DELETE",
        "/v1/integration/int_yt_abc123",
        &[("x-api-key", KEY)],
    );
    let lambda = serde_json::to_value(app.handle(&event, &Default::default()).await).unwrap();
    let response = TestResponse::from_lambda(lambda);
    assert_eq!(response.status, 200, "{}", response.raw_body);
    response
}

/// Where the headers the spec declares for `status` and the ones the code sends differ.
fn header_drift(spec: &Spec, status: u16, sent: &BTreeMap<String, String>) -> Vec<String> {
    let declared = spec.headers(status);
    let mut problems = vec![];
    for name in sent.keys().map(String::as_str) {
        if name != "content-type" && !declared.contains_key(name) {
            problems.push(format!(
                "{status}: the code sends `{name}`, the spec does not declare it"
            ));
        }
    }
    for (name, header) in &declared {
        let Some(value) = sent.get(name) else {
            if header["required"].as_bool() == Some(true) {
                problems.push(format!(
                    "{status}: the spec requires `{name}`, the code does not send it"
                ));
            }
            continue;
        };
        let schema = spec.resolve(&header["schema"]);
        if let Some(wanted) = text(&schema["const"]).filter(|wanted| wanted != value) {
            problems.push(format!(
                "{status}: `{name}` is {value:?}, the spec says {wanted:?}"
            ));
        }
        if schema["type"].as_str() == Some("integer") {
            let minimum = schema["minimum"].as_i64().unwrap_or(i64::MIN);
            if !value.parse::<i64>().is_ok_and(|n| n >= minimum) {
                problems.push(format!(
                    "{status}: `{name}` is {value:?}, the spec says an integer >= {minimum}"
                ));
            }
        }
    }
    problems
}

/// Where a JSON body and an object schema differ: the fields (required and declared alike) and
/// the `const` values, nested objects included.
fn body_drift(spec: &Spec, schema: &Value, body: &Json, at: &str, problems: &mut Vec<String>) {
    let schema = spec.resolve(schema);
    let Some(fields) = body.as_object() else {
        problems.push(format!("{at}: not an object"));
        return;
    };
    let sent: BTreeSet<&str> = fields.keys().map(String::as_str).collect();
    let required: BTreeSet<&str> = schema["required"]
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let declared: BTreeSet<&str> = schema["properties"]
        .as_mapping()
        .into_iter()
        .flatten()
        .filter_map(|(name, _)| name.as_str())
        .collect();
    if required != sent {
        problems.push(format!(
            "{at}: the code sends {sent:?}, the spec requires {required:?}"
        ));
    }
    if declared != sent {
        problems.push(format!(
            "{at}: the code sends {sent:?}, the spec declares {declared:?}"
        ));
    }
    for (name, value) in fields {
        let property = spec.resolve(&schema["properties"][name.as_str()]);
        let constant = &property["const"];
        if !constant.is_null() && serde_json::to_value(constant).ok().as_ref() != Some(value) {
            problems.push(format!(
                "{at}.{name}: the code sends {value}, the spec says const {constant:?}"
            ));
        }
        if value.is_object() {
            body_drift(spec, property, value, &format!("{at}.{name}"), problems);
        }
    }
}

#[test]
fn every_error_the_code_can_produce_is_in_the_spec() {
    let in_spec = Spec::load().error_pairs();
    let missing: Vec<_> = code_pairs().difference(&in_spec).cloned().collect();
    assert!(
        missing.is_empty(),
        "(status, error.code) pairs of src/http/response.rs missing from openapi.yaml: {missing:?}"
    );
}

#[test]
fn the_spec_lists_no_error_the_code_cannot_produce() {
    let from_code = code_pairs();
    let extra: Vec<_> = Spec::load()
        .error_pairs()
        .difference(&from_code)
        .cloned()
        .collect();
    assert!(
        extra.is_empty(),
        "(status, error.code) pairs in openapi.yaml that src/http/response.rs never produces: {extra:?}"
    );
}

#[test]
fn the_spec_lists_no_status_but_success_and_the_errors() {
    let statuses: BTreeSet<u16> = Spec::load().responses().into_keys().collect();
    let mut expected: BTreeSet<u16> = code_pairs().into_iter().map(|(s, _)| s).collect();
    expected.insert(200);
    assert_eq!(statuses, expected);
}

#[test]
fn the_405_response_declares_the_allow_header_the_code_sends() {
    let spec = Spec::load();
    let allow = spec.headers(405);
    let allow = allow
        .get("allow")
        .expect("the 405 response declares `Allow`");
    assert_eq!(
        allow["required"].as_bool(),
        Some(true),
        "`Allow` is required"
    );
    let sent = Answer::error(ErrorCode::MethodNotAllowed, "r");
    assert_eq!(
        header_drift(&spec, 405, &headers_of(&sent)),
        Vec::<String>::new()
    );
}

#[test]
fn the_503_response_declares_the_retry_after_header_the_code_sends() {
    let spec = Spec::load();
    let retry_after = spec.headers(503);
    let retry_after = retry_after
        .get("retry-after")
        .expect("the 503 response declares `Retry-After`");
    assert_eq!(
        retry_after["required"].as_bool(),
        Some(true),
        "`Retry-After` is required"
    );
    let sent = Answer::error(ErrorCode::ServiceUnavailable, "r");
    assert_eq!(
        header_drift(&spec, 503, &headers_of(&sent)),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn every_response_declares_exactly_the_headers_the_code_sends() {
    let spec = Spec::load();
    let mut problems = header_drift(&spec, 200, &a_real_success().await.headers);
    for code in ErrorCode::ALL {
        problems.extend(header_drift(
            &spec,
            code.status(),
            &headers_of(&Answer::error(code, "r")),
        ));
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[tokio::test]
async fn the_success_schema_requires_exactly_the_fields_of_the_success_body() {
    let spec = Spec::load();
    let schema = spec.json_schema(spec.response(200));
    let body = a_real_success().await.body;
    let mut problems = vec![];
    body_drift(&spec, schema, &body, "body", &mut problems);
    assert!(problems.is_empty(), "{problems:#?}\nthe body: {body}");
}

#[test]
fn the_error_envelope_schema_has_exactly_the_fields_of_every_error() {
    let spec = Spec::load();
    let mut problems = vec![];
    for code in ErrorCode::ALL {
        let status = code.status();
        let schema = spec.json_schema(spec.response(status));
        let body = body_of(&Answer::error(code, "r"));
        // The envelope is the first `allOf` branch; the others only narrow error.code.
        let envelope = &schema["allOf"][0];
        body_drift(
            &spec,
            envelope,
            &body,
            &format!("{status} body"),
            &mut problems,
        );
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn every_error_code_has_an_example_with_the_message_the_code_sends() {
    let spec = Spec::load();
    let messages: BTreeMap<(u16, &str), &str> = ErrorCode::ALL
        .iter()
        .map(|c| ((c.status(), c.as_str()), c.message()))
        .collect();
    let mut problems = vec![];
    let mut exemplified = BTreeSet::new();
    for (status, response) in spec.responses().into_iter().filter(|(s, _)| *s >= 400) {
        for example in spec.examples(response) {
            let code = example["error"]["code"].as_str().unwrap_or_default();
            match messages.get(&(status, code)) {
                None => problems.push(format!("{status}: an example with code {code:?}")),
                Some(message) if example["message"] != *message => problems.push(format!(
                    "{status} {code}: the example says {}, the code {message:?}",
                    example["message"]
                )),
                Some(_) => {}
            }
            exemplified.insert((status, code.to_owned()));
        }
    }
    let without: Vec<_> = code_pairs().difference(&exemplified).cloned().collect();
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(
        without.is_empty(),
        "error codes without an example: {without:?}"
    );
}

#[test]
fn the_success_and_error_examples_are_the_documented_examples() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/api.md"))
        .expect("read docs/api.md");
    let blocks: Vec<Json> = readme
        .split("```json\n")
        .skip(1)
        .filter_map(|rest| rest.split("```").next())
        .filter_map(|block| serde_json::from_str(block).ok())
        .collect();
    let readme_body = |success: bool| {
        blocks
            .iter()
            .find(|b| b["success"] == success)
            .unwrap_or_else(|| panic!("docs/api.md has no JSON block with success {success}"))
    };
    let spec = Spec::load();
    assert_eq!(
        spec.examples(spec.response(200)),
        vec![readme_body(true).clone()],
        "the 200 example"
    );
    let readme_error = readme_body(false);
    let spec_errors: Vec<Json> = spec
        .responses()
        .into_iter()
        .filter(|(s, _)| *s >= 400)
        .flat_map(|(_, response)| spec.examples(response))
        .collect();
    assert!(
        spec_errors.contains(readme_error),
        "docs/api.md's error example {readme_error} is none of the spec's: {spec_errors:#?}"
    );
}
