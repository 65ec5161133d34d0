//! A fault-injecting HTTP proxy between the function and DynamoDB Local or moto.
//!
//! (About 500 lines, one thing: each fault kind is a few lines of the one forwarding loop, and
//! the token rule below needs that loop's view of each request; split, they would share state.)
//!
//! Each request's operation (from `x-amz-target`) and its number among the calls of that
//! operation choose a [`Fault`]: pass it on, answer an error in the service's place, drop the
//! connection, hang, answer slowly, cut the answer short, or let the write happen and then fail.
//!
//! [`FaultProxy::enforce_client_request_tokens`] adds what DynamoDB Local does not do:
//! TransactWriteItems' idempotency rule, as AWS's API reference states it: "If you submit a
//! request with the same client token but a change in other parameters within the 10-minute
//! idempotency window, DynamoDB returns an IdempotentParameterMismatch exception", and "If the
//! original TransactWriteItems call was successful, the subsequent TransactWriteItems calls with
//! the same client token return successfully without making any changes"
//! (<https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html>,
//! read 2026-12-04).
//!
//! Standard library and serde_json only; a thread per connection.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::http1::{Headers, read_body, read_headers};

/// What the proxy does with one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Forward it, answer what the service answered.
    Pass,
    /// Do not forward; answer this status and JSON body.
    Answer { status: u16, body: String },
    /// Do not forward; close the connection without an answer.
    Reset,
    /// Do not forward; never answer (the client gives up).
    Hang,
    /// Forward it; answer after this delay.
    Slow(Duration),
    /// Forward it; answer the service's status and headers with half of its body.
    Truncate,
    /// Forward it (the write happens); then answer with this fault instead of the service.
    AfterWrite(Box<Fault>),
}

impl Fault {
    /// An AWS JSON error of type `code` with `status`.
    pub fn error(status: u16, code: &str) -> Self {
        Self::Answer {
            status,
            body: format!(r#"{{"__type":"com.amazonaws.fault#{code}","message":"injected"}}"#),
        }
    }

    pub fn internal_error() -> Self {
        Self::error(500, "InternalServerError")
    }

    pub fn throttling() -> Self {
        Self::error(400, "ThrottlingException")
    }

    pub fn conflict() -> Self {
        Self::error(400, "TransactionConflictException")
    }

    /// A transaction cancelled because another transaction got there first.
    pub fn cancelled() -> Self {
        Self::Answer {
            status: 400,
            body: r#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","message":"Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict]","CancellationReasons":[{"Code":"TransactionConflict","Message":"Transaction is ongoing for the item"}]}"#.into(),
        }
    }
}

type Plan = dyn Fn(&str, usize) -> Fault + Send + Sync;
type Hook = Box<dyn FnOnce() + Send>;

/// An upstream's answer: status line, headers, body.
struct Answer {
    status_line: String,
    headers: Headers,
    body: Vec<u8>,
}

/// The idempotency window of a `ClientRequestToken`.
pub const IDEMPOTENCY_WINDOW: Duration = Duration::from_secs(600);

/// One `ClientRequestToken` as DynamoDB remembers it.
struct TokenUse {
    /// The request's parameters, the token left out, in a canonical form.
    parameters: String,
    completed: Instant,
    succeeded: bool,
}

struct Shared {
    connections: AtomicUsize,
    upstream: SocketAddr,
    plan: Mutex<Arc<Plan>>,
    calls: Mutex<HashMap<String, usize>>,
    /// Per operation: the calls being handled now, and the most there were at once.
    in_flight: Mutex<HashMap<String, (usize, usize)>>,
    enforce_tokens: AtomicBool,
    tokens: Mutex<HashMap<String, TokenUse>>,
    mismatches: AtomicUsize,
    /// Run once, before the first call of its operation is handled: another writer acting
    /// between the function's read and its write.
    before_first: Mutex<Option<(String, Hook)>>,
    /// `Fault::AfterWrite` requests whose write the upstream answered with a 2xx.
    writes_applied: AtomicUsize,
    /// `Fault::AfterWrite` requests the upstream did not answer, or answered otherwise.
    writes_not_applied: AtomicUsize,
}

/// The proxy, on 127.0.0.1, in front of one upstream.
pub struct FaultProxy {
    address: SocketAddr,
    shared: Arc<Shared>,
}

impl FaultProxy {
    /// Starts a proxy in front of `upstream_url` (`http://127.0.0.1:8765`) that passes
    /// everything on until [`FaultProxy::set`] says otherwise.
    pub fn start(upstream_url: &str) -> Self {
        let upstream = upstream_url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .unwrap_or_else(|e| panic!("{upstream_url} is not http://host:port: {e}"));
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let address = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            connections: Default::default(),
            upstream,
            plan: Mutex::new(Arc::new(|_: &str, _: usize| Fault::Pass)),
            calls: Mutex::default(),
            in_flight: Mutex::default(),
            enforce_tokens: AtomicBool::new(false),
            tokens: Mutex::default(),
            mismatches: AtomicUsize::new(0),
            before_first: Mutex::default(),
            writes_applied: AtomicUsize::new(0),
            writes_not_applied: AtomicUsize::new(0),
        });
        let accepting = shared.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = accepting.clone();
                shared.connections.fetch_add(1, Ordering::SeqCst);
                std::thread::spawn(move || serve(stream, &shared));
            }
        });
        Self { address, shared }
    }

    /// The endpoint to give the function: `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// From now on, `plan(operation, nth)` decides each request (`nth` counts from 0 per
    /// operation, from this call on).
    pub fn set(&self, plan: impl Fn(&str, usize) -> Fault + Send + Sync + 'static) {
        *self.shared.plan.lock().unwrap() = Arc::new(plan);
        self.shared.calls.lock().unwrap().clear();
        self.shared.in_flight.lock().unwrap().clear();
    }

    /// Faults `fault` on every call of `operation`, passes everything else.
    pub fn on(&self, operation: &'static str, fault: Fault) {
        self.set(move |op, _| {
            if op == operation {
                fault.clone()
            } else {
                Fault::Pass
            }
        });
    }

    /// Passes everything on again.
    pub fn heal(&self) {
        self.set(|_, _| Fault::Pass);
    }

    /// From now on, TransactWriteItems calls follow DynamoDB's `ClientRequestToken` rule (see
    /// the module's documentation): a token seen with other parameters within the window is
    /// answered `IdempotentParameterMismatchException`, a token seen with the same parameters
    /// after a success is answered success without forwarding.
    pub fn enforce_client_request_tokens(&self) {
        self.shared.enforce_tokens.store(true, Ordering::SeqCst);
    }

    /// Runs `action` once, just before the next call of `operation` is handled (and so before
    /// it reaches the upstream); the call waits for it.
    pub fn before_first(&self, operation: &str, action: impl FnOnce() + Send + 'static) {
        *self.shared.before_first.lock().unwrap() = Some((operation.to_owned(), Box::new(action)));
    }

    /// Whether the action of [`FaultProxy::before_first`] has run.
    pub fn before_first_ran(&self) -> bool {
        self.shared.before_first.lock().unwrap().is_none()
    }

    /// How many TransactWriteItems calls were answered `IdempotentParameterMismatchException`.
    pub fn idempotency_mismatches(&self) -> usize {
        self.shared.mismatches.load(Ordering::SeqCst)
    }

    /// How many `Fault::AfterWrite` writes the upstream applied (answered with a 2xx), and how
    /// many it did not: a test of "the write happened, then the answer failed" asserts the
    /// second is 0, or it would be testing a plain fault.
    pub fn writes_after_write_faults(&self) -> (usize, usize) {
        (
            self.shared.writes_applied.load(Ordering::SeqCst),
            self.shared.writes_not_applied.load(Ordering::SeqCst),
        )
    }

    /// How many connections clients opened, ever.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// The most calls of `operation` the proxy handled at once since the last
    /// [`FaultProxy::set`]: proof that requests overlapped.
    pub fn max_in_flight(&self, operation: &str) -> usize {
        self.shared
            .in_flight
            .lock()
            .unwrap()
            .get(operation)
            .map_or(0, |(_, max)| *max)
    }

    /// How many calls of `operation` came since the last [`FaultProxy::set`].
    pub fn calls(&self, operation: &str) -> usize {
        self.shared
            .calls
            .lock()
            .unwrap()
            .get(operation)
            .copied()
            .unwrap_or(0)
    }
}

struct Request {
    head: String,
    body: Vec<u8>,
    operation: String,
}

fn serve(client: TcpStream, shared: &Shared) {
    let mut reader = BufReader::new(client.try_clone().expect("clone the stream"));
    let mut client = client;
    while let Some(request) = read_request(&mut reader) {
        let nth = {
            let mut calls = shared.calls.lock().unwrap();
            let count = calls.entry(request.operation.clone()).or_insert(0);
            *count += 1;
            *count - 1
        };
        let hook = {
            let mut slot = shared.before_first.lock().unwrap();
            match slot.as_ref() {
                Some((operation, _)) if *operation == request.operation => slot.take(),
                _ => None,
            }
        };
        if let Some((_, action)) = hook {
            action();
        }
        let plan = shared.plan.lock().unwrap().clone();
        let fault = plan(&request.operation, nth);
        {
            let mut in_flight = shared.in_flight.lock().unwrap();
            let (now, max) = in_flight.entry(request.operation.clone()).or_default();
            *now += 1;
            *max = (*max).max(*now);
        }
        let keep_open = if shared.enforce_tokens.load(Ordering::SeqCst)
            && request.operation == "TransactWriteItems"
            && fault == Fault::Pass
        {
            idempotent_answer(&mut client, shared, &request)
        } else {
            answer(&mut client, shared, &request, fault)
        };
        if let Some((now, _)) = shared.in_flight.lock().unwrap().get_mut(&request.operation) {
            *now = now.saturating_sub(1);
        }
        if !keep_open {
            return;
        }
    }
}

/// Carries out `fault` for `request`; false when the connection is to be closed.
fn answer(client: &mut TcpStream, shared: &Shared, request: &Request, fault: Fault) -> bool {
    match fault {
        Fault::Pass => match forward(shared.upstream, request) {
            Some(up) => send(client, &up.status_line, &up.headers, &up.body),
            None => drop_connection(client),
        },
        Fault::Answer { status, body } => send(
            client,
            &format!("HTTP/1.1 {status} Injected"),
            &[("Content-Type".into(), "application/x-amz-json-1.0".into())],
            body.as_bytes(),
        ),
        Fault::Reset => drop_connection(client),
        Fault::Hang => {
            std::thread::sleep(Duration::from_secs(30));
            drop_connection(client)
        }
        Fault::Slow(delay) => match forward(shared.upstream, request) {
            Some(up) => {
                std::thread::sleep(delay);
                send(client, &up.status_line, &up.headers, &up.body)
            }
            None => drop_connection(client),
        },
        Fault::Truncate => match forward(shared.upstream, request) {
            Some(up) => send(
                client,
                &up.status_line,
                &up.headers,
                &up.body[..up.body.len() / 2],
            ),
            None => drop_connection(client),
        },
        Fault::AfterWrite(then) => {
            let applied = forward(shared.upstream, request).is_some_and(|up| {
                up.status_line
                    .split(' ')
                    .nth(1)
                    .is_some_and(|s| s.starts_with('2'))
            });
            let counter = if applied {
                &shared.writes_applied
            } else {
                &shared.writes_not_applied
            };
            counter.fetch_add(1, Ordering::SeqCst);
            answer(client, shared, request, *then)
        }
    }
}

/// A TransactWriteItems call under DynamoDB's `ClientRequestToken` rule.
fn idempotent_answer(client: &mut TcpStream, shared: &Shared, request: &Request) -> bool {
    let Ok(mut body) = serde_json::from_slice::<Value>(&request.body) else {
        return answer(client, shared, request, Fault::Pass);
    };
    let token = body
        .as_object_mut()
        .and_then(|o| o.remove("ClientRequestToken"))
        .and_then(|t| t.as_str().map(str::to_owned));
    let Some(token) = token else {
        return answer(client, shared, request, Fault::Pass);
    };
    let parameters = canonical(&body);
    {
        let mut tokens = shared.tokens.lock().unwrap();
        tokens.retain(|_, used| used.completed.elapsed() < IDEMPOTENCY_WINDOW);
        if let Some(used) = tokens.get(&token) {
            if used.parameters != parameters {
                drop(tokens);
                shared.mismatches.fetch_add(1, Ordering::SeqCst);
                return answer(
                    client,
                    shared,
                    request,
                    Fault::Answer {
                        status: 400,
                        body: r#"{"__type":"com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException","message":"Request has a client token that was used with other parameters"}"#.into(),
                    },
                );
            }
            if used.succeeded {
                drop(tokens);
                return answer(
                    client,
                    shared,
                    request,
                    Fault::Answer {
                        status: 200,
                        body: "{}".into(),
                    },
                );
            }
        }
    }
    let Some(up) = forward(shared.upstream, request) else {
        return drop_connection(client);
    };
    let succeeded = up.status_line.split(' ').nth(1) == Some("200");
    shared.tokens.lock().unwrap().insert(
        token,
        TokenUse {
            parameters,
            completed: Instant::now(),
            succeeded,
        },
    );
    send(client, &up.status_line, &up.headers, &up.body)
}

/// JSON with every object's members sorted, so that the same parameters compare equal whatever
/// order a client wrote them in.
fn canonical(value: &Value) -> String {
    match value {
        Value::Object(members) => {
            let mut members: Vec<(&String, &Value)> = members.iter().collect();
            members.sort_by(|a, b| a.0.cmp(b.0));
            let inner: Vec<String> = members
                .iter()
                .map(|(k, v)| format!("{}:{}", Value::from(k.as_str()), canonical(v)))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(items) => {
            format!(
                "[{}]",
                items.iter().map(canonical).collect::<Vec<_>>().join(",")
            )
        }
        other => other.to_string(),
    }
}

fn drop_connection(client: &mut TcpStream) -> bool {
    let _ = client.shutdown(Shutdown::Both);
    false
}

/// Writes an answer with a `Content-Length` of `body`; false if the client is gone.
fn send(
    client: &mut TcpStream,
    status_line: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> bool {
    let mut head = format!("{status_line}\r\n");
    for (name, value) in headers {
        let lower = name.to_ascii_lowercase();
        if lower == "content-length" || lower == "transfer-encoding" || lower == "connection" {
            continue;
        }
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    client.write_all(head.as_bytes()).is_ok() && client.write_all(body).is_ok()
}

/// Sends the request to the upstream on a connection of its own and reads the whole answer.
fn forward(upstream: SocketAddr, request: &Request) -> Option<Answer> {
    let mut stream = TcpStream::connect_timeout(&upstream, Duration::from_secs(5)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    stream.write_all(request.head.as_bytes()).ok()?;
    stream.write_all(&request.body).ok()?;
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line).ok()?;
    let (headers, length, chunked) = read_headers(&mut reader)?;
    let body = read_body(&mut reader, length, chunked, true)?;
    Some(Answer {
        status_line: status_line.trim_end().to_owned(),
        headers,
        body,
    })
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).ok()? == 0 {
        return None;
    }
    let (headers, length, chunked) = read_headers(reader)?;
    let body = read_body(reader, length, chunked, false)?;
    let operation = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("x-amz-target"))
        .map(|(_, v)| v.rsplit('.').next().unwrap_or_default().to_owned())
        .unwrap_or_default();
    // Re-emit the request with its body length, asking the upstream to close when done.
    let mut head = request_line;
    for (name, value) in &headers {
        let lower = name.to_ascii_lowercase();
        if lower == "content-length" || lower == "transfer-encoding" || lower == "connection" {
            continue;
        }
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    Some(Request {
        head,
        body,
        operation,
    })
}
