//! Running cargo itself, for the checks that read what it says of the workspace.

use std::path::Path;

/// The stdout of `cargo <args>` run in `folder` (the cargo that runs these tests); fails the
/// test, with cargo's stderr, if cargo does.
pub fn stdout(folder: &Path, args: &[&str]) -> Vec<u8> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = std::process::Command::new(cargo)
        .args(args)
        .current_dir(folder)
        .output()
        .unwrap_or_else(|e| panic!("run cargo {args:?}: {e}"));
    assert!(
        output.status.success(),
        "cargo {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}
