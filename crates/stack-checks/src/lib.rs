//! Checks of the whole stack, in `tests/stack`: `template.yaml` against the code of both
//! functions (routes, metrics, alarms, the dashboard, the revoker's role and wiring, where the
//! API keys are and what the role may read of them), the security posture, and the layering of
//! the workspace's crates and of the DELETE function's modules. Static: they need no service,
//! and plain `cargo test` runs them.
