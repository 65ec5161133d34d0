//! The binaries under test are the artefacts that ship: built with the release profile (the one
//! `cargo lambda build --release` and SAM use), not the dev profile. Both functions: the DELETE
//! function (`SHIPPED_BINARY`) and the revoker (`SHIPPED_REVOKE_BINARY`), which `make test`
//! builds and copies out beside it.

use crate::binary::binary;

/// `[profile.release]` sets `strip = "symbols"` and no debug info; the dev profile keeps both.
/// The panic strategy (unwind) and the features are the release build's too: bodies.rs panics
/// this binary and gets the 500 envelope, and `make test` builds it alone from the template's
/// `CodeUri`, without a feature flag (crates/stack-checks/tests/stack/features.rs: the same
/// dependency features as SAM's build).
#[test]
fn the_binary_under_test_is_the_release_build_that_ships() {
    test_support::shipped::assert_release_build(&binary());
}

/// The revoker's binary, which `crates/revoke-tokens/tests/binary.rs` runs, is the release
/// build too: stripped, without debug info.
#[test]
fn the_revokers_binary_under_test_is_the_release_build_that_ships() {
    test_support::shipped::assert_release_build(&test_support::shipped::binary(
        "SHIPPED_REVOKE_BINARY",
        "cd crates/revoke-tokens && cargo build --release --bin revoke-tokens",
    ));
}
