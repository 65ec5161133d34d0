//! No code: its `Cargo.toml` gives every build of the workspace one feature set (see there).
