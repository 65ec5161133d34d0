//! The hand-written stand-in for the Lambda Runtime API (the protocol of
//! <https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html>), for what cargo-lambda's
//! emulator ([`crate::emulator`]) cannot do: a chosen deadline, the request id of each
//! invocation, `/init/error`, the time of the first poll, the invocations in flight.
//!
//! Served with the standard library only (a thread per connection): the runtime client's
//! `GET /next` long-polls until [`RuntimeApi::queue`] queues an event.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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

/// The deadline an invocation gets unless it was queued with one of its own
/// ([`RuntimeApi::queue_with_deadline`]): this long after `/next` hands it out.
const DEFAULT_DEADLINE: Duration = Duration::from_secs(30);

/// An event waiting for the function's `/next`: its request id, its body, and its deadline if
/// the test chose one.
struct Queued {
    id: String,
    event: String,
    deadline: Option<SystemTime>,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Queued>,
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

    /// Queues `event` under a fresh request id and returns the id. Its deadline is
    /// [`DEFAULT_DEADLINE`] from when the function takes it.
    pub fn queue(&self, event: String) -> String {
        self.push(event, None)
    }

    /// Queues `event` with `deadline` as its `Lambda-Runtime-Deadline-Ms`, the instant in epoch
    /// milliseconds as Lambda sends it (cargo-lambda's emulator sends none), and returns its
    /// request id.
    pub fn queue_with_deadline(&self, event: String, deadline: SystemTime) -> String {
        self.push(event, Some(deadline))
    }

    fn push(&self, event: String, deadline: Option<SystemTime>) -> String {
        let id = request_id();
        let mut state = self.shared.state.lock().unwrap();
        state.queue.push_back(Queued {
            id: id.clone(),
            event,
            deadline,
        });
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
                let Queued {
                    id,
                    event,
                    deadline,
                } = next_event(shared);
                let deadline = deadline
                    .unwrap_or_else(|| SystemTime::now() + DEFAULT_DEADLINE)
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .as_millis();
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

fn next_event(shared: &Shared) -> Queued {
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
