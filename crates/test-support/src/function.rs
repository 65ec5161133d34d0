//! A function binary started as Lambda starts a `provided.al2023` function: a clean
//! environment with the `AWS_LAMBDA_*` variables, behind cargo-lambda's Runtime API emulator
//! ([`crate::emulator`]) or the stand-in ([`crate::runtime_api`]), its stdout and stderr read
//! line by line. [`Fleet`]: several processes behind one stand-in, as Lambda runs several
//! execution environments.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use crate::emulator::Emulator;
use crate::runtime_api::{Outcome, RuntimeApi};

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
        self.answered(id, outcome)
    }

    /// Hands `event` to the function with `deadline` as the invocation's
    /// `Lambda-Runtime-Deadline-Ms` (an instant, as Lambda gives it) and waits for its answer
    /// (30 s at most). Panics for a function on cargo-lambda's emulator, which sends no instant.
    pub fn invoke_with_deadline(&self, event: &str, deadline: SystemTime) -> (String, Outcome) {
        let api = self.api();
        let id = api.queue_with_deadline(event.to_owned(), deadline);
        let outcome = api.outcome(&id, Duration::from_secs(30));
        self.answered(id, outcome)
    }

    fn answered(&self, id: String, outcome: Option<Outcome>) -> (String, Outcome) {
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
