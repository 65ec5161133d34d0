//! The handler against fake AWS answers, no service needed (plain `cargo test` runs them): the
//! OpenAPI spec and the code agree (`spec.rs`), and any event a client can cause gets the
//! envelope (`fuzz.rs`).

// proptest's async test body nests the whole handler's future: its layout needs more than the
// default query depth of 128.
#![recursion_limit = "256"]

mod fuzz;
mod spec;
