//! The binary refuses to start without its required configuration, and says which is missing.

use std::process::Command;

fn start_with(vars: &[(&str, &str)]) -> (bool, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_disconnect-integration"));
    command.env_clear();
    for (name, value) in vars {
        command.env(name, value);
    }
    let output = command.output().expect("run the binary");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn a_missing_required_variable_fails_init_and_is_named() {
    let cases = [
        ("TABLE_NAME", vec![("API_KEYS_SECRET_ID", "s")]),
        ("API_KEYS_SECRET_ID", vec![("TABLE_NAME", "t")]),
    ];
    for (missing, vars) in cases {
        let (ok, output) = start_with(&vars);
        assert!(!ok, "{missing}: the binary started");
        assert!(
            output.contains(&format!("missing required environment variable {missing}")),
            "{missing}: {output}"
        );
    }
}

#[test]
fn an_out_of_range_number_fails_init_and_is_named() {
    let (ok, output) = start_with(&[
        ("TABLE_NAME", "t"),
        ("API_KEYS_SECRET_ID", "s"),
        ("MARKER_TTL_DAYS", "0"),
    ]);
    assert!(!ok);
    assert!(output.contains("MARKER_TTL_DAYS"), "{output}");
}
