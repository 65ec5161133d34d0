//! A property test of the event boundary: generated events of the four front doors, with
//! everything a client controls (method, path, headers and their values, query, body) drawn at
//! random, through the real handler. It never panics, never answers 5xx while its backends are
//! healthy (any failure then is the client's fault), and always answers the documented
//! envelope. Events no front door sends (fields of the wrong JSON type, not JSON at all) may
//! get a 500, and still the envelope.
//!
//! Exactly `FUZZ_CASES` cases (default 10000), however long they take: a slow machine runs them
//! all, slowly, rather than fewer. The seed is fixed unless `FUZZ_SEED` is set, and a failure
//! names the seed and the case to replay it.

use std::time::Instant;

use disconnect_integration::App;
use function_support::clock::SystemClock;
use integrations_table::attributes::{ACCOUNT_ID, PK, SK, TYPE};
use serde_json::{Map, Value, json};
use test_support::fake_aws::{FakeAws, Reply, wire_item};
use test_support::lambda_response::HttpAnswer;
use test_support::local::hash_key;

use disconnect_integration::Config;
use test_support::local::function_env;

const KEY: &str = "fuzz_key_0123456789";

/// xorshift64*: small, fast, and the same sequence for the same seed everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// A string of 0 to `max` characters drawn from a mix of tricky ones.
    fn text(&mut self, max: usize) -> String {
        const PIECES: &[&str] = &[
            "a",
            "Z",
            "0",
            "_",
            "-",
            "%",
            "%2F",
            "%25",
            "%61",
            "%FF",
            "%C3%A9",
            "%00",
            "/",
            "//",
            ".",
            "..",
            "?",
            "#",
            " ",
            ",",
            ";",
            "\"",
            "'",
            "\\",
            "\u{e9}",
            "\u{1F600}",
            "\t",
            "\n",
            "\u{0}",
            "int_yt_abc123",
            "v1",
            "integration",
        ];
        let len = self.below(max + 1);
        (0..len).map(|_| *self.pick(PIECES)).collect()
    }
}

/// A value of any JSON type, sometimes nested.
fn any_json(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth > 1 { 5 } else { 7 }) {
        0 => Value::Null,
        1 => json!(rng.chance(50)),
        2 => json!(rng.next() as i64),
        3 => json!(rng.text(12)),
        4 => json!(-1.5e300),
        5 => Value::Array(
            (0..rng.below(3))
                .map(|_| any_json(rng, depth + 1))
                .collect(),
        ),
        _ => {
            let mut map = Map::new();
            for _ in 0..rng.below(3) {
                map.insert(rng.text(6), any_json(rng, depth + 1));
            }
            Value::Object(map)
        }
    }
}

/// The path a client sends.
fn path(rng: &mut Rng) -> String {
    let id = match rng.below(6) {
        0 => "int_known".to_owned(),
        1 => "int_unknown".to_owned(),
        2 => "a".repeat(*rng.pick(&[127, 128, 129, 400])),
        _ => rng.text(10),
    };
    match rng.below(8) {
        0 => format!("/prod/v1/integration/{id}"),
        1 => format!("/v1/integration/{id}/"),
        2 => format!("/v1/integration/{id}/{}", rng.text(4)),
        3 => format!("/{}", rng.text(16)),
        4 => rng.text(20),
        _ => format!("/v1/integration/{id}"),
    }
}

/// Headers as (name, value) pairs, `x-api-key` among them in any state.
fn headers(rng: &mut Rng) -> Vec<(String, String)> {
    let mut headers = vec![];
    let key_names = ["x-api-key", "X-Api-Key", "X-API-KEY"];
    match rng.below(7) {
        0 => {}
        1 => headers.push((rng.pick(&key_names).to_string(), String::new())),
        2 => headers.push(("x-api-key".into(), rng.text(30))),
        3 => {
            headers.push(("x-api-key".into(), KEY.into()));
            headers.push((rng.pick(&key_names).to_string(), KEY.into()));
        }
        4 => headers.push(("x-api-key".into(), format!(" {KEY}\t"))),
        _ => headers.push((rng.pick(&key_names).to_string(), KEY.into())),
    }
    for _ in 0..rng.below(4) {
        let name = rng.pick(&[
            "host",
            "Host",
            "content-type",
            "x-forwarded-proto",
            "cookie",
        ]);
        let value = if rng.chance(50) {
            rng.pick(&["%", "[::1", "a@b:c", "api.example.test:99999", ""])
                .to_string()
        } else {
            rng.text(12)
        };
        headers.push((name.to_string(), value));
    }
    headers
}

fn method(rng: &mut Rng) -> Value {
    match rng.below(9) {
        0..=5 => json!("DELETE"),
        6 => json!(*rng.pick(&["GET", "POST", "PUT", "PATCH", "HEAD", "OPTIONS"])),
        7 => json!("delete"),
        // Any other token: a front door never delivers an empty method.
        _ => json!(format!("X{}", rng.text(5))),
    }
}

/// One event of one front door, as the door sends a client's random request.
fn event(rng: &mut Rng) -> Value {
    let path = path(rng);
    let headers = headers(rng);
    let single: Map<String, Value> = headers.iter().map(|(n, v)| (n.clone(), json!(v))).collect();
    let mut multi = Map::new();
    for (name, value) in &headers {
        let entry = multi.entry(name.clone()).or_insert_with(|| json!([]));
        entry.as_array_mut().unwrap().push(json!(value));
    }
    let parameter = path
        .strip_prefix("/v1/integration/")
        .map(|id| json!({ "integrationId": id }));
    let mut event = match rng.below(4) {
        0 => json!({
            "resource": "/v1/integration/{integrationId}", "path": path, "httpMethod": method(rng),
            "headers": single, "multiValueHeaders": multi, "pathParameters": parameter,
            "requestContext": {"stage": "prod"}, "body": null, "isBase64Encoded": false,
        }),
        1 => json!({
            "version": "2.0", "routeKey": "ANY /v1/integration/{integrationId}", "rawPath": path,
            "headers": single, "pathParameters": parameter,
            "requestContext": {"domainName": "api.example.test", "http": {"method": method(rng)}},
        }),
        2 => json!({
            "version": "2.0", "routeKey": "$default", "rawPath": path, "headers": single,
            "requestContext": {"domainName": "x.lambda-url.us-east-1.on.aws", "http": {"method": method(rng)}},
        }),
        _ => {
            let mut alb = json!({
                "httpMethod": method(rng), "path": path, "body": "",
                "requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:x"}},
            });
            if rng.chance(50) {
                alb["multiValueHeaders"] = Value::Object(multi);
            } else {
                alb["headers"] = Value::Object(single);
            }
            alb
        }
    };
    // What else a client controls: a query string and a body.
    if rng.chance(30) {
        event["queryStringParameters"] = json!({ rng.text(5): rng.text(8) });
        event["rawQueryString"] = json!(rng.text(12));
    }
    if rng.chance(30) {
        event["body"] = json!(rng.text(40));
    }
    event
}

/// Breaks an event the way no front door would: a field of the wrong JSON type, or removed.
fn broken(rng: &mut Rng, mut event: Value) -> Value {
    let fields = [
        "path",
        "rawPath",
        "httpMethod",
        "headers",
        "multiValueHeaders",
        "pathParameters",
        "body",
        "isBase64Encoded",
        "queryStringParameters",
        "cookies",
        "version",
    ];
    for _ in 0..1 + rng.below(2) {
        let field = *rng.pick(&fields);
        match rng.below(3) {
            0 => {
                event.as_object_mut().unwrap().remove(field);
            }
            _ => {
                event[field] = any_json(rng, 0);
            }
        }
    }
    event
}

fn app() -> App {
    let secret = json!({"keys": [{"sha256": hash_key(KEY), "accountId": "acct_fuzz"}]}).to_string();
    let secrets =
        FakeAws::new(move |_| Reply::ok(json!({"Name": "s", "SecretString": secret}).to_string()));
    let dynamodb = FakeAws::new(|call| match call.operation.as_str() {
        "Query" if call.body.contains("INTEGRATION#int_known") => {
            let item = json!({PK: "INTEGRATION#int_known", SK: "INTEGRATION", ACCOUNT_ID: "acct_fuzz", TYPE: "youtube"});
            Reply::ok(json!({"Items": [wire_item(&item)], "Count": 1}).to_string())
        }
        "Query" => Reply::ok(r#"{"Items": [], "Count": 0}"#),
        _ => Reply::ok("{}"),
    });
    App::from_clients(
        &Config::from_lookup(function_env("t", "s")).expect("a valid configuration"),
        dynamodb.dynamodb(),
        secrets.secrets_manager(),
        SystemClock::shared(),
    )
    .with_metrics_sink(function_support::emf::Sink::Off)
}

/// What must hold of every answer.
fn check(lambda: Value, client_made: bool) -> Result<(), String> {
    let answer = HttpAnswer::from_lambda(lambda);
    if client_made && answer.status >= 500 {
        return Err(format!(
            "a {} for a client's event: {}",
            answer.status, answer.body
        ));
    }
    if !matches!(answer.status, 200 | 400 | 401 | 403 | 404 | 405 | 500) {
        return Err(format!("an undocumented status {}", answer.status));
    }
    let body: Value = serde_json::from_str(&answer.body)
        .map_err(|e| format!("not JSON ({e}): {}", answer.body))?;
    let keys: Vec<&str> = body
        .as_object()
        .ok_or("not an object")?
        .keys()
        .map(String::as_str)
        .collect();
    let expected = if answer.status == 200 {
        ["success", "message", "data"]
    } else {
        ["success", "message", "error"]
    };
    let mut sorted = keys.clone();
    sorted.sort();
    let mut wanted = expected.to_vec();
    wanted.sort();
    if sorted != wanted {
        return Err(format!("members {keys:?}: {}", answer.body));
    }
    if answer.status != 200 && body["error"]["code"].as_str().is_none_or(str::is_empty) {
        return Err(format!("no error.code: {}", answer.body));
    }
    if answer.headers.get("content-type").map(String::as_str) != Some("application/json") {
        return Err("no JSON content type".into());
    }
    Ok(())
}

#[tokio::test]
async fn any_event_gets_the_envelope_and_no_5xx_while_the_backends_are_healthy() {
    let seed: u64 = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_128);
    let cases: usize = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let app = app();
    let mut rng = Rng(seed);
    let started = Instant::now();
    let mut statuses = std::collections::BTreeMap::new();
    let mut ran = 0;
    for case in 0..cases {
        let event = event(&mut rng);
        let (text, client_made) = match rng.below(10) {
            0 => (rng.text(30), false),
            1 => (broken(&mut rng, event).to_string(), false),
            _ => (event.to_string(), true),
        };
        let mut context = lambda_runtime::Context::default();
        context.request_id = format!("fuzz-{case}");
        let lambda = serde_json::to_value(app.handle(&text, &context).await).unwrap();
        *statuses
            .entry(lambda["statusCode"].as_u64().unwrap_or(0))
            .or_insert(0) += 1;
        if let Err(problem) = check(lambda, client_made) {
            panic!("FUZZ_SEED={seed}, case {case}: {problem}\nthe event: {text}");
        }
        ran += 1;
    }
    eprintln!(
        "fuzz: {ran} events in {:?}, statuses {statuses:?}",
        started.elapsed()
    );
    assert_eq!(ran, cases, "every case ran");
    for status in [200, 400, 401, 404, 405, 500] {
        assert!(
            statuses.contains_key(&status),
            "the cases reach {status}: {statuses:?}"
        );
    }
}
