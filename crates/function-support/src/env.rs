//! Configuration from the environment: the one reader both functions use, read once at init.
//!
//! A value is trimmed, and an empty one counts as absent. Errors name the variable (and a
//! number's allowed range), so a failed init says what to fix.

use std::ops::RangeInclusive;

/// Why a setting is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    #[error("missing required environment variable {0}")]
    Missing(&'static str),
    #[error("environment variable {name} must be an integer from {min} to {max}, got {value:?}")]
    OutOfRange {
        name: &'static str,
        value: String,
        min: u64,
        max: u64,
    },
    #[error("environment variable {name} must be true or false, got {value:?}")]
    NotAFlag { name: &'static str, value: String },
    #[error(
        "environment variable {name} names {path:?}, which cannot be read as PEM certificates: {reason}"
    )]
    NotPem {
        name: &'static str,
        path: String,
        reason: String,
    },
}

/// The settings, read through a lookup: the process environment, or a test's map.
pub struct Env<F> {
    lookup: F,
}

/// The process environment.
pub fn process() -> Env<fn(&str) -> Option<String>> {
    Env::new(|name| std::env::var(name).ok())
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    pub fn new(lookup: F) -> Self {
        Self { lookup }
    }

    /// The raw value, as the lookup gives it.
    pub fn raw(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
    }

    /// The trimmed value; `None` when absent or empty.
    pub fn optional(&self, name: &str) -> Option<String> {
        self.raw(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// The trimmed value, which must be there.
    pub fn required(&self, name: &'static str) -> Result<String, EnvError> {
        self.optional(name).ok_or(EnvError::Missing(name))
    }

    /// An integer in `range`, `default` when absent.
    pub fn number(
        &self,
        name: &'static str,
        default: u64,
        range: RangeInclusive<u64>,
    ) -> Result<u64, EnvError> {
        let Some(value) = self.optional(name) else {
            return Ok(default);
        };
        value
            .parse::<u64>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or(EnvError::OutOfRange {
                name,
                value,
                min: *range.start(),
                max: *range.end(),
            })
    }

    /// `true` or `false`, `false` when absent.
    pub fn flag(&self, name: &'static str) -> Result<bool, EnvError> {
        match self.optional(name).as_deref() {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(other) => Err(EnvError::NotAFlag {
                name,
                value: other.to_owned(),
            }),
        }
    }

    /// The PEM file a variable names (such as `AWS_CA_BUNDLE`), which must hold at least one
    /// certificate; `None` when the variable is absent.
    pub fn pem_file(&self, name: &'static str) -> Result<Option<Vec<u8>>, EnvError> {
        let Some(path) = self.optional(name) else {
            return Ok(None);
        };
        let not_pem = |reason: String| EnvError::NotPem {
            name,
            path: path.clone(),
            reason,
        };
        let pem = std::fs::read(&path).map_err(|e| not_pem(e.to_string()))?;
        match crate::tls::count_certificates(&pem) {
            0 => Err(not_pem("it holds no certificate".into())),
            _ => Ok(Some(pem)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &'static [(&'static str, &'static str)]) -> Env<impl Fn(&str) -> Option<String>> {
        Env::new(move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn values_are_trimmed_and_empty_ones_are_absent() {
        let env = env(&[("A", " a "), ("B", "  ")]);
        assert_eq!(env.optional("A").as_deref(), Some("a"));
        assert_eq!(env.optional("B"), None);
        assert_eq!(env.required("B"), Err(EnvError::Missing("B")));
        assert_eq!(
            env.required("C").unwrap_err().to_string(),
            "missing required environment variable C"
        );
        assert_eq!(env.raw("A").as_deref(), Some(" a "));
    }

    #[test]
    fn numbers_take_their_default_or_a_value_in_range() {
        let env = env(&[
            ("N", " 7 "),
            ("LOW", "0"),
            ("HIGH", "11"),
            ("WORD", "seven"),
            ("NEG", "-1"),
        ]);
        assert_eq!(env.number("N", 3, 1..=10), Ok(7));
        assert_eq!(env.number("ABSENT", 3, 1..=10), Ok(3));
        assert_eq!(env.number("LOW", 3, 0..=10), Ok(0));
        for name in ["LOW", "HIGH", "WORD", "NEG"] {
            let err = env.number(name, 3, 1..=10).unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
            assert!(err.to_string().contains("from 1 to 10"), "{err}");
        }
        assert_eq!(env.number("HIGH", 3, 1..=11), Ok(11));
    }

    #[test]
    fn flags_are_true_or_false() {
        let env = env(&[("YES", "true"), ("NO", "false"), ("MAYBE", "yes")]);
        assert_eq!(env.flag("YES"), Ok(true));
        assert_eq!(env.flag("NO"), Ok(false));
        assert_eq!(env.flag("ABSENT"), Ok(false));
        assert!(env.flag("MAYBE").unwrap_err().to_string().contains("MAYBE"));
    }

    #[test]
    fn a_pem_file_must_be_readable_and_hold_a_certificate() {
        let dir = std::env::temp_dir().join(format!("env-pem-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.pem");
        std::fs::write(&good, crate::tls::AMAZON_ROOTS_PEM).unwrap();
        let bad = dir.join("bad.pem");
        std::fs::write(&bad, "not a certificate").unwrap();
        let leak = |p: &std::path::Path| -> &'static str {
            Box::leak(p.to_str().unwrap().to_owned().into_boxed_str())
        };
        let vars: &'static [(&'static str, &'static str)] = Box::leak(Box::new([
            ("GOOD", leak(&good)),
            ("BAD", leak(&bad)),
            ("MISSING", leak(&dir.join("missing.pem"))),
        ]));
        let env = env(vars);
        assert!(env.pem_file("GOOD").unwrap().is_some());
        assert_eq!(env.pem_file("ABSENT"), Ok(None));
        for name in ["BAD", "MISSING"] {
            let err = env.pem_file(name).unwrap_err().to_string();
            assert!(err.contains(name), "{err}");
        }
    }
}
