//! cargo-lambda's own Runtime API emulator: `cargo lambda watch --only-lambda-apis`, which
//! serves the Runtime API and the Invoke API without building or starting any function. The
//! test starts the binary under test itself, with `AWS_LAMBDA_RUNTIME_API` pointing at it
//! ([`crate::function::Function::start_on_emulator`]), and invokes it as
//! `cargo lambda invoke` does.
//!
//! What it cannot do, and [`crate::runtime_api::RuntimeApi`] (the stand-in) does: hand over a
//! chosen deadline (it sends `Lambda-Runtime-Deadline-Ms: 600000`), tell which request id it
//! gave the function, report an `/init/error` (it hands it to a waiting invoke as a 200), say
//! when the function first polled, or count invocations in flight.

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::http1::{read_body, read_headers};
use crate::local::repo_root;
use crate::runtime_api::Outcome;

/// The program: `cargo-lambda` on `PATH` (`scripts/lib/env.sh` puts the pinned one first).
const PROGRAM: &str = "cargo-lambda";
/// The function name of a function that is not one of the workspace's binaries
/// (cargo-lambda's `DEFAULT_PACKAGE_FUNCTION`): the runtime routes without a name serve it.
const FUNCTION: &str = "_";

/// One emulator on 127.0.0.1, on a port of its own; stopped when dropped.
pub struct Emulator {
    address: SocketAddr,
    child: Child,
}

impl Emulator {
    pub fn start() -> Self {
        // A free port can be taken between the probe and the start: try another.
        for _ in 0..3 {
            if let Some(emulator) = Self::try_start() {
                return emulator;
            }
        }
        panic!("cargo lambda watch --only-lambda-apis did not start on 127.0.0.1");
    }

    fn try_start() -> Option<Self> {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let mut child = Command::new(PROGRAM)
            .args(["lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1"])
            .args(["-P", &port.to_string()])
            .current_dir(repo_root())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("start {PROGRAM}: {e} (scripts/bootstrap.sh installs it; run `make test`)")
            });
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if TcpStream::connect(address).is_ok() {
                return Some(Self { address, child });
            }
            if child.try_wait().ok().flatten().is_some() {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }

    /// The value of `AWS_LAMBDA_RUNTIME_API` for a function served by this emulator.
    pub fn runtime_api(&self) -> String {
        format!("http://{}/.rt", self.address)
    }

    /// Invokes the function with `event` through the Invoke API, as `cargo lambda invoke
    /// --data-file` does, and waits for the answer (`timeout` at most): a 200 carries the
    /// function's response, anything else its invocation error.
    pub fn invoke(&self, event: &str, timeout: Duration) -> Option<Outcome> {
        let mut stream = TcpStream::connect(self.address).ok()?;
        stream.set_read_timeout(Some(timeout)).ok()?;
        let request = format!(
            "POST /2015-03-31/functions/{FUNCTION}/invocations HTTP/1.1\r\n\
             Host: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{event}",
            self.address,
            event.len()
        );
        stream.write_all(request.as_bytes()).ok()?;
        let mut reader = BufReader::new(stream);
        let mut status_line = String::new();
        reader.read_line(&mut status_line).ok()?;
        let status: u16 = status_line.split_whitespace().nth(1)?.parse().ok()?;
        let (_, length, chunked) = read_headers(&mut reader)?;
        let body = read_body(&mut reader, length, chunked, true)?;
        let body = String::from_utf8_lossy(&body).into_owned();
        Some(if status == 200 {
            Outcome::Response(body)
        } else {
            Outcome::Error(body)
        })
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
