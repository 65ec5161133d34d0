//! The handler against fake AWS answers, no service needed (plain `cargo test` runs them): the
//! OpenAPI spec and the code agree (`spec.rs`), and any event a client can cause gets the
//! envelope (`fuzz.rs`).

#[path = "../common/mod.rs"]
mod common;
mod fuzz;
mod spec;
