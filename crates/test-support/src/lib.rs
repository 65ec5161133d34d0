//! Test fixtures shared by the workspace's tests (a dev-dependency only):
//!
//! - [`doors`]: the event each front door sends for a client's request;
//! - [`local`]: per-test tables and secrets on DynamoDB Local and moto, created from
//!   `template.yaml`'s own table definition, and typed helpers to seed and read them;
//! - [`pipe`]: a stand-in for the disconnect event's EventBridge Pipe, read from
//!   `template.yaml`, and the event's schema check;
//! - [`fault_proxy`]: a fault-injecting HTTP proxy in front of DynamoDB Local or moto;
//! - [`fake_aws`]: an SDK HTTP client that answers from a closure, for the unit tests of
//!   error mapping that a real server cannot produce on demand;
//! - [`function`]: a shipped binary started as Lambda starts it, behind cargo-lambda's
//!   Runtime API emulator ([`emulator`]) or the hand-written stand-in ([`runtime_api`]) for
//!   what the emulator cannot do;
//! - [`lambda_response`]: a Lambda HTTP response object read as the front door reads it;
//! - [`emf`]: the embedded metric format's rules, against both functions' metric documents;
//! - [`template`]: reading `template.yaml`'s resources and intrinsic functions;
//! - [`shipped`]: the binaries that ship, as `make test` builds them, and the check that a
//!   binary is the release build.

pub mod doors;
pub mod emf;
pub mod emulator;
pub mod fake_aws;
pub mod fault_proxy;
pub mod function;
mod http1;
pub mod lambda_response;
pub mod local;
pub mod pipe;
pub mod runtime_api;
pub mod shipped;
pub mod template;
