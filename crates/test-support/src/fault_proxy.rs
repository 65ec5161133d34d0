//! A fault-injecting HTTP proxy between the function and DynamoDB Local or moto.
//!
//! Each request's operation (from `x-amz-target`) and its number among the calls of that
//! operation choose a [`Fault`]: pass it on, answer an error in the service's place, drop the
//! connection, hang, answer slowly, cut the answer short, or let the write happen and then fail.
//! Standard library only; a thread per connection.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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

/// An upstream's answer: status line, headers, body.
struct Answer {
    status_line: String,
    headers: Headers,
    body: Vec<u8>,
}

struct Shared {
    connections: std::sync::atomic::AtomicUsize,
    upstream: SocketAddr,
    plan: Mutex<Arc<Plan>>,
    calls: Mutex<HashMap<String, usize>>,
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
        });
        let accepting = shared.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = accepting.clone();
                shared
                    .connections
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
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

    /// How many connections clients opened, ever.
    pub fn connections(&self) -> usize {
        self.shared
            .connections
            .load(std::sync::atomic::Ordering::SeqCst)
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
        let plan = shared.plan.lock().unwrap().clone();
        let fault = plan(&request.operation, nth);
        let keep_open = answer(&mut client, shared, &request, fault);
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
            let _ = forward(shared.upstream, request);
            answer(client, shared, request, *then)
        }
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
