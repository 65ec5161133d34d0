//! A local Lambda Runtime API (the protocol of
//! <https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html>), and [`Function`]: a
//! binary started as Lambda starts a `provided.al2023` function, its stdout read line by line.
//!
//! Served with the standard library only (a thread per connection): the runtime client's
//! `GET /next` long-polls until [`Function::invoke`] queues an event.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::emulator::Emulator;
use crate::http1::{read_body, read_headers};
use crate::local::request_id;

const PREFIX: &str = "/2018-06-01/runtime";

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `POST /invocation/{id}/response`, with its body.
    Response(String),
    /// `POST /invocation/{id}/error`, with its body.
    Error(String),
}

#[derive(Default)]
struct State {
    queue: VecDeque<(String, String)>,
    outcomes: HashMap<String, Outcome>,
    init_error: Option<String>,
    first_poll: Option<Instant>,
    /// Invocations handed to the function and not answered yet, and the most there were.
    in_flight: usize,
    max_in_flight: usize,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

/// The Runtime API on 127.0.0.1, on a port of its own.
pub struct RuntimeApi {
    address: SocketAddr,
    shared: Arc<Shared>,
}

impl RuntimeApi {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the runtime API");
        let address = listener.local_addr().unwrap();
        let shared = Arc::new(Shared::default());
        let accepting = shared.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = accepting.clone();
                std::thread::spawn(move || serve(stream, &shared));
            }
        });
        Self { address, shared }
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.address.to_string()
    }

    /// Queues `event` under a fresh request id and returns the id.
    pub fn queue(&self, event: String) -> String {
        let id = request_id();
        let mut state = self.shared.state.lock().unwrap();
        state.queue.push_back((id.clone(), event));
        self.shared.changed.notify_all();
        id
    }

    /// Waits up to `timeout` for the outcome of `id`.
    pub fn outcome(&self, id: &str, timeout: Duration) -> Option<Outcome> {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.state.lock().unwrap();
        loop {
            if let Some(outcome) = state.outcomes.remove(id) {
                return Some(outcome);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            state = self.shared.changed.wait_timeout(state, left).unwrap().0;
        }
    }

    /// The most invocations the function had at once (handed out by `/next`, not yet answered):
    /// what a test of concurrent serving asserts, rather than a duration.
    pub fn max_in_flight(&self) -> usize {
        self.shared.state.lock().unwrap().max_in_flight
    }

    /// When the function first asked for an event: the end of its init.
    pub fn first_poll(&self) -> Option<Instant> {
        self.shared.state.lock().unwrap().first_poll
    }

    /// What the function reported to `POST /init/error`, if it did.
    pub fn init_error(&self) -> Option<String> {
        self.shared.state.lock().unwrap().init_error.clone()
    }
}

/// Serves one keep-alive connection until the client closes it.
fn serve(stream: TcpStream, shared: &Shared) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone the stream"));
    let mut writer = stream;
    while let Some((method, path, body)) = read_request(&mut reader) {
        let reply = match (method.as_str(), path.as_str()) {
            ("GET", p) if p == format!("{PREFIX}/invocation/next") => {
                shared
                    .state
                    .lock()
                    .unwrap()
                    .first_poll
                    .get_or_insert_with(Instant::now);
                let (id, event) = next_event(shared);
                let deadline = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .as_millis()
                    + 30_000;
                let headers = format!(
                    "Lambda-Runtime-Aws-Request-Id: {id}\r\n\
                     Lambda-Runtime-Deadline-Ms: {deadline}\r\n\
                     Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:local\r\n\
                     Lambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000;Sampled=0\r\n\
                     Content-Type: application/json\r\n"
                );
                response("200 OK", &headers, &event)
            }
            ("POST", p) if p == format!("{PREFIX}/init/error") => {
                let mut state = shared.state.lock().unwrap();
                state.init_error = Some(body);
                shared.changed.notify_all();
                response("202 Accepted", "", "{}")
            }
            ("POST", p) if p.starts_with(&format!("{PREFIX}/invocation/")) => {
                let rest = &p[PREFIX.len() + "/invocation/".len()..];
                let (id, kind) = rest.split_once('/').unwrap_or((rest, ""));
                let outcome = match kind {
                    "response" => Outcome::Response(body),
                    _ => Outcome::Error(body),
                };
                let mut state = shared.state.lock().unwrap();
                state.in_flight = state.in_flight.saturating_sub(1);
                state.outcomes.insert(id.to_owned(), outcome);
                shared.changed.notify_all();
                response("202 Accepted", "", "{}")
            }
            _ => response("404 Not Found", "", "{}"),
        };
        if writer.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

fn next_event(shared: &Shared) -> (String, String) {
    let mut state = shared.state.lock().unwrap();
    loop {
        if let Some(next) = state.queue.pop_front() {
            state.in_flight += 1;
            state.max_in_flight = state.max_in_flight.max(state.in_flight);
            return next;
        }
        state = shared.changed.wait(state).unwrap();
    }
}

fn response(status: &str, headers: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// Reads one HTTP/1.1 request: method, path and body (`Content-Length` or chunked).
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<(String, String, String)> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let (_, length, chunked) = read_headers(reader)?;
    let body = read_body(reader, length, chunked, false)?;
    Some((method, path, String::from_utf8_lossy(&body).into_owned()))
}

/// Several function processes behind one [`RuntimeApi`], as Lambda runs several execution
/// environments of one function: each takes the next queued event when it is free.
pub struct Fleet {
    pub api: Arc<RuntimeApi>,
    children: Vec<Child>,
}

impl Fleet {
    pub fn start(binary: &Path, env: &[(&str, &str)], instances: usize) -> Self {
        let api = Arc::new(RuntimeApi::start());
        let children = (0..instances)
            .map(|_| {
                lambda_command(binary, &api.address(), env)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()))
            })
            .collect();
        Self { api, children }
    }

    /// Hands `event` to whichever instance is free and waits for the answer (30 s at most).
    pub fn invoke(&self, event: &str) -> Outcome {
        let id = self.api.queue(event.to_owned());
        self.api
            .outcome(&id, Duration::from_secs(30))
            .expect("an answer within 30 s")
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The command Lambda runs for a `provided.al2023` function: a clean environment with the
/// `AWS_LAMBDA_*` variables, plus `env`.
fn lambda_command(binary: &Path, runtime_api: &str, env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(binary);
    command
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "disconnect-integration")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            "/aws/lambda/disconnect-integration",
        )
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
        .env("AWS_REGION", "us-east-1")
        .envs(env.iter().copied())
        .stdin(Stdio::null());
    command
}

/// What serves the function's Runtime API.
enum Host {
    /// [`RuntimeApi`]: a chosen deadline, the request id, `/init/error`, polls, in-flight counts.
    StandIn(RuntimeApi),
    /// cargo-lambda's emulator ([`Emulator`]): the Runtime API as `cargo lambda watch` serves it.
    Emulator(Emulator),
}

/// A function process behind a Runtime API of its own, started as Lambda starts a custom
/// runtime: a clean environment with the `AWS_LAMBDA_*` variables, plus `env`.
pub struct Function {
    host: Host,
    /// When the process was started.
    pub started: Instant,
    child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl Function {
    /// The binary behind the hand-written stand-in, [`RuntimeApi`]: for the tests that need
    /// what cargo-lambda's emulator cannot do (see [`crate::emulator`]).
    pub fn start(binary: &Path, env: &[(&str, &str)]) -> Self {
        Self::spawn(Host::StandIn(RuntimeApi::start()), binary, env)
    }

    /// The binary behind cargo-lambda's own Runtime API emulator.
    pub fn start_on_emulator(binary: &Path, env: &[(&str, &str)]) -> Self {
        Self::spawn(Host::Emulator(Emulator::start()), binary, env)
    }

    fn spawn(host: Host, binary: &Path, env: &[(&str, &str)]) -> Self {
        let runtime_api = match &host {
            Host::StandIn(api) => api.address(),
            Host::Emulator(emulator) => emulator.runtime_api(),
        };
        let started = Instant::now();
        let mut command = lambda_command(binary, &runtime_api, env);
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()));
        let (stdout, out_reader) = collect_lines(child.stdout.take().unwrap());
        let (stderr, err_reader) = collect_lines(child.stderr.take().unwrap());
        Self {
            host,
            started,
            child,
            stdout,
            stderr,
            readers: vec![out_reader, err_reader],
        }
    }

    /// The stand-in Runtime API: its record of polls, init errors and invocations in flight.
    /// Panics for a function on cargo-lambda's emulator, which keeps no such record.
    pub fn api(&self) -> &RuntimeApi {
        match &self.host {
            Host::StandIn(api) => api,
            Host::Emulator(_) => panic!(
                "cargo-lambda's emulator reports no poll, init error or in-flight count: \
                 start this test's function with Function::start"
            ),
        }
    }

    /// Waits until the function has finished its init (it asks for an event), 10 s at most.
    pub fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.api().first_poll().is_none() {
            assert!(
                Instant::now() < deadline,
                "no poll for an event within 10 s; stderr:\n{}",
                self.stderr().join("\n")
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Hands `event` to the function and waits for its answer (30 s at most). The request id
    /// is the one the function was given; empty on the emulator, which does not tell it.
    pub fn invoke(&self, event: &str) -> (String, Outcome) {
        let timeout = Duration::from_secs(30);
        let (id, outcome) = match &self.host {
            Host::StandIn(api) => {
                let id = api.queue(event.to_owned());
                (id.clone(), api.outcome(&id, timeout))
            }
            Host::Emulator(emulator) => (String::new(), emulator.invoke(event, timeout)),
        };
        let outcome = outcome.unwrap_or_else(|| {
            panic!(
                "no answer within 30 s; stdout:\n{}\nstderr:\n{}",
                self.stdout().join("\n"),
                self.stderr().join("\n")
            )
        });
        (id, outcome)
    }

    /// Stops the process and waits until everything it wrote has been read, so that
    /// [`Function::stdout`] and [`Function::stderr`] are complete.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
    }

    /// Every line the process wrote to stdout so far.
    pub fn stdout(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    /// Every line the process wrote to stderr so far.
    pub fn stderr(&self) -> Vec<String> {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits up to `timeout` for the process to exit and returns its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                for reader in self.readers.drain(..) {
                    let _ = reader.join();
                }
                return Some(status.code().unwrap_or(-1));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }
}

type Lines = Arc<Mutex<Vec<String>>>;

fn collect_lines(stream: impl Read + Send + 'static) -> (Lines, std::thread::JoinHandle<()>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    (lines, reader)
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
