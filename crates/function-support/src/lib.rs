//! Support shared by the workspace's two Lambda functions (the DELETE function and the
//! revoker). It sits above the table's vocabulary and below both functions: it depends on
//! neither, and neither function depends on the other.
//!
//! - [`event_json`]: reads an event's JSON into the function's own types, and says where and
//!   why it does not fit without ever quoting a value of it.

pub mod event_json;
