//! Support shared by the workspace's two Lambda functions, the DELETE function
//! (`disconnect-integration`) and the token revoker (`revoke-tokens`): what any Rust Lambda
//! function of this stack needs besides its own logic. It sits above the table's vocabulary
//! and below both functions, and depends on neither.
//!
//! - [`env`]: configuration from the environment, read once at init;
//! - [`telemetry`]: the one log subscriber (JSON or text, levels, invocation ids, the panic line);
//! - [`error_chain`]: an error and its causes on one log line;
//! - [`event_json`]: reading an event without ever quoting it;
//! - [`tls`] and [`aws`]: the HTTPS client (rustls on ring, compiled-in Amazon roots) and the
//!   `SdkConfig` built on it;
//! - [`emf`]: the CloudWatch EMF writer and its sink;
//! - [`clock`]: the injected clock.

pub mod aws;
pub mod clock;
pub mod emf;
pub mod env;
pub mod error_chain;
pub mod event_json;
pub mod telemetry;
pub mod tls;

pub use error_chain::ErrorChain;
