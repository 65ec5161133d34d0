//! The vocabulary of the integrations table, shared by the function that writes it
//! (`disconnect-integration`) and the processors that read it (`disconnect-processor`).
//!
//! - [`attributes`]: every attribute name, once;
//! - [`ids`]: the parse-once identifiers;
//! - [`integration_type`]: the one list of known integration types (`type`);
//! - [`keys`]: the key layout (`PK`/`SK`, the sort keys of an integration's partition);
//! - [`marker`]: the disconnect marker and its TTL rule;
//! - [`batch`]: the retry of `UnprocessedItems` / `UnprocessedKeys`;
//! - [`sdk`]: which SDK errors are worth retrying later;
//! - [`tokens`]: writing a token by the protocol that no disconnect can orphan.
//!
//! Nothing here performs a request of its own, and no module here imports a crate that imports
//! it back: the writer and the readers both depend on this crate, never on each other.

pub mod attributes;
pub mod batch;
pub mod ids;
pub mod integration_type;
pub mod keys;
pub mod marker;
pub mod sdk;
pub mod tokens;

pub use ids::{AccountId, IntegrationId, InvalidIntegrationId};
pub use integration_type::IntegrationType;
pub use marker::DisconnectMarker;
