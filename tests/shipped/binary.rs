//! Starting the shipped binary against a table and a secret of its own.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;
use test_support::function::Function;
use test_support::lambda_response::HttpAnswer;
use test_support::local::{KeysSecret, Table, hash_key, sdk_config};
use test_support::runtime_api::Outcome;

pub const ACCOUNT: &str = "acct_shipped";
pub const KEY: &str = "shipped_test_key_0123456789";
pub const OTHER_KEY: &str = "shipped_other_key_0123456789";
pub const DEMO_KEY: &str = "demo_local_key_do_not_use_in_prod";
pub const DEMO_ACCOUNT: &str = "acct_demo";

/// The binary under test: `SHIPPED_BINARY`, which `make test` sets.
pub fn binary() -> PathBuf {
    test_support::shipped::binary(
        "SHIPPED_BINARY",
        "cargo build --release --bin disconnect-integration",
    )
}

/// A table, a secret, and the environment the function gets in the template.
pub struct Stage {
    pub table: Table,
    pub secret: KeysSecret,
}

impl Stage {
    pub async fn new() -> Self {
        let sdk = sdk_config().await;
        let table = Table::create(&sdk).await;
        let secret = KeysSecret::create(
            &sdk,
            &[
                (KEY, ACCOUNT),
                (OTHER_KEY, "acct_other"),
                (DEMO_KEY, DEMO_ACCOUNT),
            ],
        )
        .await;
        Self { table, secret }
    }

    /// The function's environment: what the template sets, the local endpoints and dummy
    /// credentials, then `extra` (which wins).
    pub fn env(&self, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut env: BTreeMap<String, String> = BTreeMap::new();
        for (name, value) in [
            ("TABLE_NAME", self.table.name.as_str()),
            ("API_KEYS_SECRET_ID", self.secret.id.as_str()),
            ("MARKER_TTL_DAYS", "90"),
            ("API_KEYS_CACHE_TTL_SECONDS", "300"),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ("AWS_LAMBDA_LOG_LEVEL", "INFO"),
            ("AWS_ACCESS_KEY_ID", "local"),
            ("AWS_SECRET_ACCESS_KEY", "local"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("AWS_CONFIG_FILE", "/dev/null"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
        ] {
            env.insert(name.into(), value.into());
        }
        for name in [
            "AWS_ENDPOINT_URL_DYNAMODB",
            "AWS_ENDPOINT_URL_SECRETS_MANAGER",
        ] {
            let value = std::env::var(name)
                .unwrap_or_else(|_| panic!("{name} is not set: run with `make test`"));
            env.insert(name.into(), value);
        }
        for (name, value) in extra {
            env.insert(name.to_string(), value.to_string());
        }
        env.into_iter().collect()
    }

    /// Starts the binary with [`Stage::env`] plus `extra`, behind cargo-lambda's own Runtime
    /// API emulator (`cargo lambda watch --only-lambda-apis`). [`Answer::request_id`] is empty:
    /// the emulator does not say which id it gave the function.
    pub fn start(&self, extra: &[(&str, &str)]) -> Shipped {
        let env = self.env(extra);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Shipped(Function::start_on_emulator(&binary(), &env))
    }

    /// Starts the binary with [`Stage::env`] plus `extra`, behind the hand-written stand-in,
    /// for a test that needs what the emulator cannot do: a chosen deadline, the request id
    /// the function was given, the time of its first poll, the invocations in flight
    /// (`test_support::emulator` lists them).
    pub fn start_on_stand_in(&self, extra: &[(&str, &str)]) -> Shipped {
        let env = self.env(extra);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Shipped(Function::start(&binary(), &env))
    }
}

/// The running binary.
pub struct Shipped(pub Function);

/// One answer, as the front door would read it.
#[derive(Debug)]
pub struct Answer {
    /// The request id the function was given; empty behind the emulator.
    pub request_id: String,
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    /// The body exactly as sent.
    pub body: String,
    pub lambda: Value,
}

impl Shipped {
    /// Invokes the function with `event` and reads its response object.
    pub fn invoke(&self, event: &str) -> Answer {
        let (request_id, outcome) = self.0.invoke(event);
        let payload = match outcome {
            Outcome::Response(payload) => payload,
            Outcome::Error(error) => panic!(
                "the function reported an invocation error (the front door would answer 502): {error}\nstdout:\n{}",
                self.0.stdout().join("\n")
            ),
        };
        let lambda: Value = serde_json::from_str(&payload)
            .unwrap_or_else(|e| panic!("the response is not JSON ({e}): {payload}"));
        let answer = HttpAnswer::from_lambda(lambda);
        Answer {
            request_id,
            status: answer.status,
            headers: answer.headers,
            body: answer.body,
            lambda: answer.lambda,
        }
    }

    /// Stops the process: its output is then complete.
    pub fn stop(&mut self) {
        self.0.stop();
    }

    /// Every line the process wrote to stdout, parsed; panics on any line that is not JSON.
    /// [`Shipped::stop`] first to read everything.
    pub fn stdout_lines(&self) -> Vec<Value> {
        self.0
            .stdout()
            .iter()
            .map(|line| {
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("a stdout line that is not JSON ({e}): {line}"))
            })
            .collect()
    }

    /// The log lines on stdout (the EMF metric documents left out).
    pub fn log_lines(&self) -> Vec<Value> {
        let lines = self.stdout_lines();
        lines
            .into_iter()
            .filter(|l| l.get("_aws").is_none())
            .collect()
    }

    /// The EMF metric documents on stdout, one per invocation.
    pub fn metric_documents(&self) -> Vec<Value> {
        let lines = self.stdout_lines();
        lines
            .into_iter()
            .filter(|l| l.get("_aws").is_some())
            .collect()
    }

    /// Everything the process wrote, stdout and stderr.
    pub fn all_output(&self) -> String {
        let mut all = self.0.stdout();
        all.extend(self.0.stderr());
        all.join("\n")
    }
}

/// An endpoint where nothing listens: port 1 is privileged, so no test's server can take it.
pub const DEAD_ENDPOINT: &str = "http://127.0.0.1:1";

/// What must never appear in any output: keys, their hashes, token values.
pub fn secrets() -> Vec<String> {
    let mut secrets = vec!["secret-token-value".to_owned()];
    // The start of a hash too, as an answer cut short would show it.
    for key in [KEY, OTHER_KEY, DEMO_KEY] {
        secrets.push(hash_key(key)[..16].to_owned());
    }
    for key in [KEY, OTHER_KEY, DEMO_KEY] {
        secrets.push(key.to_owned());
        secrets.push(hash_key(key));
    }
    secrets
}

/// An HTTP API (payload 2.0) event: the template's front door.
pub fn http_api(method: &str, raw_path: &str, headers: &[(&str, &str)]) -> String {
    let segment = raw_path
        .strip_prefix("/v1/integration/")
        .filter(|rest| !rest.contains('/'));
    let headers: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(n, v)| (n.to_string(), Value::from(*v)))
        .collect();
    serde_json::json!({
        "version": "2.0",
        "routeKey": if segment.is_some() { "ANY /v1/integration/{integrationId}" } else { "$default" },
        "rawPath": raw_path, "rawQueryString": "",
        "headers": headers,
        "pathParameters": segment.map(|s| serde_json::json!({"integrationId": s})),
        "requestContext": {"domainName": "api.example.test", "stage": "$default",
                           "http": {"method": method, "path": raw_path}},
        "isBase64Encoded": false,
    })
    .to_string()
}
