//! Reads an event's JSON, and on failure says where its shape is wrong without quoting it.
//!
//! serde's messages quote the offending value (`invalid type: string "<the value>", expected
//! a sequence`), and an event's fields carry client data: an API key in a header, a token in a
//! stream record's old image. [`from_str`] reports instead:
//!
//! - the JSON path of the offending value (from `serde_path_to_error`), in which a map key is
//!   shown only when it is one of the names the caller reads (ASCII case ignored), `*`
//!   otherwise: a header name is client data too;
//! - what was expected (`a sequence`, `a string`, `struct RawContext`), which comes from the
//!   caller's own types, never from the event;
//! - line and column.
//!
//! `serde_path_to_error` gives the path but keeps serde's message; serde_json has no way to
//! render an error without the value, so the expected kind is cut from the message's tail (the
//! part after the last `, expected `, which serde writes after the value), and kept only if it
//! is made of the characters type descriptions use.

use std::fmt;

use serde::de::DeserializeOwned;
use serde_path_to_error::Segment;

/// Why an event's JSON does not fit the expected type. Its `Display` never quotes the event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{problem} at `{path}` (line {line}, column {column})")]
pub struct ShapeError {
    /// The JSON path of the offending value, map keys outside the names read shown as `*`.
    pub path: String,
    pub problem: Problem,
    pub line: usize,
    pub column: usize,
}

/// What is wrong at the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The text is not JSON at all (or ends early).
    NotJson,
    /// A value is not of the expected kind; the kind is described by the reading type.
    Expected(String),
    /// A value is of another type or form than the reading type takes.
    Unfit,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotJson => f.write_str("not valid JSON"),
            Self::Expected(kind) => write!(f, "expected {kind}"),
            Self::Unfit => f.write_str("a value of another type or form than expected"),
        }
    }
}

/// Deserializes `text` into `T`. On failure the error names the path, the expected kind and the
/// position, and shows a map key only if it is one of `shown_keys` (ASCII case ignored): struct
/// field names of `T` and the few map keys the caller reads.
pub fn from_str<T: DeserializeOwned>(text: &str, shown_keys: &[&str]) -> Result<T, ShapeError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value: Result<T, _> = serde_path_to_error::deserialize(&mut deserializer);
    let value = value.map_err(|err| shape_error(&err, shown_keys))?;
    deserializer.end().map_err(|err| ShapeError {
        path: String::new(),
        problem: Problem::NotJson,
        line: err.line(),
        column: err.column(),
    })?;
    Ok(value)
}

fn shape_error(
    err: &serde_path_to_error::Error<serde_json::Error>,
    shown_keys: &[&str],
) -> ShapeError {
    let inner = err.inner();
    let problem = match inner.classify() {
        serde_json::error::Category::Data => {
            expected_kind(inner).map_or(Problem::Unfit, Problem::Expected)
        }
        _ => Problem::NotJson,
    };
    ShapeError {
        path: path(err.path(), shown_keys),
        problem,
        line: inner.line(),
        column: inner.column(),
    }
}

/// The path with every map key outside `shown_keys` replaced by `*`.
fn path(path: &serde_path_to_error::Path, shown_keys: &[&str]) -> String {
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                let shown = shown_keys.iter().any(|k| k.eq_ignore_ascii_case(key));
                out.push_str(if shown { key } else { "*" });
            }
            Segment::Unknown => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push('?');
            }
        }
    }
    if out.is_empty() { ".".to_owned() } else { out }
}

/// The expected kind of a data error: the tail of serde's message after its last `, expected `
/// (serde writes the value before it), without serde_json's position suffix. `None` when the
/// message has no such tail or the tail holds a character no type description uses.
fn expected_kind(err: &serde_json::Error) -> Option<String> {
    let message = err.to_string();
    let position = format!(" at line {} column {}", err.line(), err.column());
    let message = message.strip_suffix(&position).unwrap_or(&message);
    let (_, kind) = message.rsplit_once(", expected ")?;
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, ' ' | '_' | '`' | ',');
    (!kind.is_empty() && kind.len() <= 80 && kind.chars().all(plain)).then(|| kind.to_owned())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use serde::Deserialize;

    use super::*;

    const CANARY: &str = "canary_3f9a1c";

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Event {
        #[serde(default)]
        http_method: Option<String>,
        #[serde(default)]
        multi_value_headers: Option<HashMap<String, Option<Vec<String>>>>,
        #[serde(default)]
        headers: Option<HashMap<String, Option<String>>>,
        #[serde(default)]
        context: Option<Context>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Context {
        count: Option<u32>,
    }

    const SHOWN: &[&str] = &[
        "httpMethod",
        "multiValueHeaders",
        "headers",
        "context",
        "count",
        "x-api-key",
    ];

    fn error_of(json: &str) -> ShapeError {
        from_str::<Event>(json, SHOWN).unwrap_err()
    }

    #[test]
    fn a_wrongly_typed_value_is_located_and_never_quoted() {
        let cases: &[(&str, String, &str, &str)] = &[
            (
                "a string where a sequence belongs",
                format!(r#"{{"multiValueHeaders": {{"x-api-key": "{CANARY}"}}}}"#),
                "multiValueHeaders.x-api-key",
                "expected a sequence",
            ),
            (
                "a number where a string belongs",
                r#"{"httpMethod": 3915882046}"#.to_owned(),
                "httpMethod",
                "expected a string",
            ),
            (
                "a string where a struct belongs",
                format!(r#"{{"context": "{CANARY}"}}"#),
                "context",
                "expected struct Context",
            ),
            (
                "a string where a number belongs",
                format!(r#"{{"context": {{"count": "{CANARY}"}}}}"#),
                "context.count",
                "expected u32",
            ),
            (
                "a negative number where an unsigned one belongs",
                r#"{"context": {"count": -3915882046}}"#.to_owned(),
                "context.count",
                "expected u32",
            ),
            (
                "a string inside a list of strings, badly typed",
                r#"{"multiValueHeaders": {"X-Api-Key": ["a", 3915882046]}}"#.to_owned(),
                "multiValueHeaders.X-Api-Key[1]",
                "expected a string",
            ),
            (
                "a header the function does not read",
                format!(r#"{{"headers": {{"{CANARY}": ["{CANARY}"]}}}}"#),
                "headers.*",
                "expected a string",
            ),
            (
                "a value whose text mimics serde's own message",
                format!(r#"{{"httpMethod": ["x\", expected {CANARY}"], "headers": 1}}"#),
                "httpMethod",
                "expected a string",
            ),
        ];
        for (case, json, path, problem) in cases {
            let err = error_of(json);
            let shown = err.to_string();
            assert_eq!(err.path, *path, "{case}: {shown}");
            assert!(shown.starts_with(problem), "{case}: {shown}");
            assert!(shown.contains("(line 1, column "), "{case}: {shown}");
            for secret in [CANARY, "3915882046"] {
                assert!(!shown.contains(secret), "{case}: {shown}");
                assert!(!format!("{err:?}").contains(secret), "{case}: {err:?}");
            }
        }
    }

    #[test]
    fn text_that_is_not_json_is_reported_without_its_content() {
        for json in [
            format!(r#"{{"httpMethod": "{CANARY}"#),
            format!(r#"{{"httpMethod": "{CANARY}"}} trailing {CANARY}"#),
            CANARY.to_string(),
            format!(r#"{{"headers": {{"x-api-key": "{CANARY}\q"}}}}"#),
        ] {
            let err = error_of(&json);
            assert_eq!(err.problem, Problem::NotJson, "{json}: {err}");
            assert!(!err.to_string().contains(CANARY), "{err}");
        }
    }

    #[test]
    fn a_fitting_event_is_read() {
        let event: Event =
            from_str(r#"{"httpMethod": "DELETE", "other": {"a": [1]}}"#, SHOWN).unwrap();
        assert_eq!(event.http_method.as_deref(), Some("DELETE"));
    }
}
