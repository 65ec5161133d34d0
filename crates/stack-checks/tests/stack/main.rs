//! The stack's drift tests: each reads `template.yaml`, the manifests or the sources, and the
//! code of the functions it concerns. No service is needed.

mod api_keys;
mod attributes;
mod cargo;
mod crates;
mod env_docs;
mod events;
mod features;
mod layers;
mod least_privilege;
mod operability;
mod platform_stub;
mod revoker;
mod security;
mod template;
