//! Configuration from the environment, read and checked once at init.

use std::time::Duration;

use function_support::env::{Env, EnvError};
use function_support::tls::EXTRA_CA_VARIABLE;
use integrations_table::IntegrationId;

use crate::api_keys::Layout;
use crate::api_keys::layout::{LayoutError, MAX_UNITS};

pub const DEFAULT_MARKER_TTL_DAYS: u64 = 90;
pub const DEFAULT_API_KEYS_CACHE_TTL_SECONDS: u64 = 300;
pub const DEFAULT_API_KEYS_MAX_STALE_SECONDS: u64 = 900;
pub const DEFAULT_REQUEST_DEADLINE_MS: u64 = 8_000;
/// Below the template's function `Timeout` (10 s) and API Gateway's 29 s and 30 s.
const MAX_REQUEST_DEADLINE_MS: u64 = 25_000;
const MAX_MARKER_TTL_DAYS: u64 = 3650;
const MAX_API_KEYS_CACHE_TTL_SECONDS: u64 = 86_400;
const MAX_API_KEYS_MAX_STALE_SECONDS: u64 = 86_400;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `TABLE_NAME`: the one DynamoDB table of integrations, tokens and markers.
    pub table_name: String,
    /// `API_KEYS_SECRET_ID` and `API_KEYS_UNITS`: where the API-key hashes are. The name or ARN
    /// of the one secret that lists them; or, with `API_KEYS_UNITS` above 1, the name their
    /// units' secrets start with (`<id>/0000`, ...).
    pub api_keys: Layout,
    /// `API_KEYS_PREVIOUS_SECRET_ID` and `API_KEYS_PREVIOUS_UNITS`: while keys move to
    /// `api_keys`, where they were; read for the hashes `api_keys` does not list.
    pub api_keys_previous: Option<Layout>,
    /// `MARKER_TTL_DAYS`: how long a disconnect marker lives.
    pub marker_ttl: Duration,
    /// `API_KEYS_CACHE_TTL_SECONDS`: how long the parsed API-keys secret is trusted.
    pub api_keys_cache_ttl: Duration,
    /// `API_KEYS_MAX_STALE_SECONDS`: how long past its TTL the last good key set keeps serving
    /// while Secrets Manager fails; 0 disables it.
    pub api_keys_max_stale: Duration,
    /// `REQUEST_DEADLINE_MS`: the most a request may take, every AWS call, retry and back-off
    /// included; the Lambda invocation's own deadline shortens it further.
    pub request_deadline: Duration,
    /// `AWS_CA_BUNDLE`: the PEM certificates of a file trusted besides the compiled-in Amazon
    /// roots (behind a TLS-inspecting proxy). Read at init.
    pub extra_ca_pem: Option<Vec<u8>>,
    /// `PANIC_PROBE_INTEGRATION_ID`: an authenticated DELETE of exactly this id panics inside
    /// the handler, so that an operator (and the black-box tests) can check in a deployed
    /// stage that a panic ends as the 500 envelope, not the front door's 502. Unset in normal
    /// operation.
    pub panic_probe: Option<IntegrationId>,
    /// `METRICS_NAMESPACE`: the CloudWatch namespace of the EMF metrics.
    pub metrics_namespace: String,
    /// `METRICS_SERVICE` (else `AWS_LAMBDA_FUNCTION_NAME`): the `Service` dimension of every
    /// metric; the template sets the stack name.
    pub metrics_service: String,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error("environment variable {name} is not a valid integration id: {reason}")]
    NotAnId {
        name: &'static str,
        reason: integrations_table::InvalidIntegrationId,
    },
    #[error("{secret_id} and {units}: {source}")]
    Layout {
        secret_id: &'static str,
        units: &'static str,
        source: LayoutError,
    },
    #[error("API_KEYS_PREVIOUS_UNITS is set, but not API_KEYS_PREVIOUS_SECRET_ID")]
    PreviousUnitsWithoutSecret,
    #[error(
        "API_KEYS_PREVIOUS_SECRET_ID and API_KEYS_PREVIOUS_UNITS name the layout API_KEYS_SECRET_ID and API_KEYS_UNITS already read"
    )]
    PreviousIsCurrent,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env::new(lookup);
        let config = Self {
            table_name: env.required("TABLE_NAME")?,
            api_keys: layout(&env, "API_KEYS_SECRET_ID", "API_KEYS_UNITS")?,
            api_keys_previous: match env.optional("API_KEYS_PREVIOUS_SECRET_ID") {
                Some(_) => Some(layout(
                    &env,
                    "API_KEYS_PREVIOUS_SECRET_ID",
                    "API_KEYS_PREVIOUS_UNITS",
                )?),
                None if env.optional("API_KEYS_PREVIOUS_UNITS").is_some() => {
                    return Err(ConfigError::PreviousUnitsWithoutSecret);
                }
                None => None,
            },
            marker_ttl: Duration::from_secs(
                86_400
                    * env.number(
                        "MARKER_TTL_DAYS",
                        DEFAULT_MARKER_TTL_DAYS,
                        1..=MAX_MARKER_TTL_DAYS,
                    )?,
            ),
            api_keys_cache_ttl: Duration::from_secs(env.number(
                "API_KEYS_CACHE_TTL_SECONDS",
                DEFAULT_API_KEYS_CACHE_TTL_SECONDS,
                1..=MAX_API_KEYS_CACHE_TTL_SECONDS,
            )?),
            api_keys_max_stale: Duration::from_secs(env.number(
                "API_KEYS_MAX_STALE_SECONDS",
                DEFAULT_API_KEYS_MAX_STALE_SECONDS,
                0..=MAX_API_KEYS_MAX_STALE_SECONDS,
            )?),
            request_deadline: Duration::from_millis(env.number(
                "REQUEST_DEADLINE_MS",
                DEFAULT_REQUEST_DEADLINE_MS,
                100..=MAX_REQUEST_DEADLINE_MS,
            )?),
            extra_ca_pem: env.pem_file(EXTRA_CA_VARIABLE)?,
            panic_probe: match env.optional("PANIC_PROBE_INTEGRATION_ID") {
                Some(raw) => {
                    Some(
                        IntegrationId::parse(&raw).map_err(|reason| ConfigError::NotAnId {
                            name: "PANIC_PROBE_INTEGRATION_ID",
                            reason,
                        })?,
                    )
                }
                None => None,
            },
            metrics_namespace: env
                .optional("METRICS_NAMESPACE")
                .unwrap_or_else(|| crate::metrics::DEFAULT_NAMESPACE.to_owned()),
            metrics_service: env
                .optional("METRICS_SERVICE")
                .or_else(|| env.optional("AWS_LAMBDA_FUNCTION_NAME"))
                .unwrap_or_else(|| crate::metrics::DEFAULT_SERVICE.to_owned()),
        };
        if config.api_keys_previous.as_ref() == Some(&config.api_keys) {
            return Err(ConfigError::PreviousIsCurrent);
        }
        Ok(config)
    }
}

/// The layout named by a secret id variable and a units variable (default 1).
fn layout(
    env: &Env<impl Fn(&str) -> Option<String>>,
    secret_id: &'static str,
    units: &'static str,
) -> Result<Layout, ConfigError> {
    let id = env.required(secret_id)?;
    let count = env.number(units, 1, 1..=MAX_UNITS as u64)? as usize;
    Layout::new(id, count).map_err(|source| ConfigError::Layout {
        secret_id,
        units,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn required_variables_are_named_when_missing() {
        assert_eq!(
            config(&[("API_KEYS_SECRET_ID", "s")]),
            Err(ConfigError::Env(EnvError::Missing("TABLE_NAME")))
        );
        assert_eq!(
            config(&[("TABLE_NAME", "t"), ("API_KEYS_SECRET_ID", " ")]),
            Err(ConfigError::Env(EnvError::Missing("API_KEYS_SECRET_ID")))
        );
        let message = config(&[]).unwrap_err().to_string();
        assert!(message.contains("TABLE_NAME"), "{message}");
    }

    #[test]
    fn optional_variables_default() {
        let c = config(&[("TABLE_NAME", "t"), ("API_KEYS_SECRET_ID", "s")]).unwrap();
        assert_eq!(c.marker_ttl, Duration::from_secs(90 * 86_400));
        assert_eq!(c.api_keys_cache_ttl, Duration::from_secs(300));
        assert_eq!(c.api_keys_max_stale, Duration::from_secs(900));
        assert_eq!(c.request_deadline, Duration::from_secs(8));
        assert_eq!(c.panic_probe, None);
        assert_eq!(c.api_keys, Layout::one("s"), "one secret, as before units");
        assert_eq!(c.api_keys_previous, None);
    }

    #[test]
    fn an_extra_ca_bundle_must_be_a_readable_pem_file() {
        let base = [("TABLE_NAME", "t"), ("API_KEYS_SECRET_ID", "s")];
        let dir = std::env::temp_dir().join(format!("ca-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.pem");
        std::fs::write(&good, function_support::tls::AMAZON_ROOTS_PEM).unwrap();
        let bad = dir.join("bad.pem");
        std::fs::write(&bad, "not a certificate").unwrap();
        let with = |path: &std::path::Path| {
            let mut vars = base.to_vec();
            let path = path.to_str().unwrap().to_owned();
            vars.push(("AWS_CA_BUNDLE", Box::leak(path.into_boxed_str())));
            config(&vars)
        };
        assert!(with(&good).unwrap().extra_ca_pem.is_some());
        for path in [bad, dir.join("missing.pem")] {
            let err = with(&path).unwrap_err().to_string();
            assert!(err.contains("AWS_CA_BUNDLE"), "{err}");
        }
        assert_eq!(config(&base).unwrap().extra_ca_pem, None);
    }

    #[test]
    fn optional_variables_are_validated() {
        let base = [("TABLE_NAME", "t"), ("API_KEYS_SECRET_ID", "s")];
        for (name, value) in [
            ("MARKER_TTL_DAYS", "0"),
            ("MARKER_TTL_DAYS", "-1"),
            ("MARKER_TTL_DAYS", "ninety"),
            ("MARKER_TTL_DAYS", "99999"),
            ("API_KEYS_CACHE_TTL_SECONDS", "0"),
            ("API_KEYS_CACHE_TTL_SECONDS", "1.5"),
            ("PANIC_PROBE_INTEGRATION_ID", "not/an id"),
            ("API_KEYS_MAX_STALE_SECONDS", "-1"),
            ("API_KEYS_MAX_STALE_SECONDS", "86401"),
            ("REQUEST_DEADLINE_MS", "99"),
            ("REQUEST_DEADLINE_MS", "25001"),
            ("API_KEYS_UNITS", "0"),
            ("API_KEYS_UNITS", "10001"),
            ("API_KEYS_UNITS", "many"),
        ] {
            let mut vars = base.to_vec();
            vars.push((name, value));
            let err = config(&vars).unwrap_err();
            assert!(err.to_string().contains(name), "{name}={value}: {err}");
        }
        let mut vars = base.to_vec();
        vars.extend([
            ("MARKER_TTL_DAYS", "7"),
            ("API_KEYS_CACHE_TTL_SECONDS", "5"),
            ("API_KEYS_MAX_STALE_SECONDS", "0"),
            ("API_KEYS_UNITS", "320"),
        ]);
        let c = config(&vars).unwrap();
        assert_eq!(c.api_keys, Layout::new("s", 320).unwrap());
        let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:keys-AbCdEf";
        let mut vars = vec![("TABLE_NAME", "t"), ("API_KEYS_SECRET_ID", arn)];
        assert!(config(&vars).is_ok(), "one secret may be named by its ARN");
        vars.push(("API_KEYS_UNITS", "2"));
        let err = config(&vars).unwrap_err().to_string();
        assert!(
            err.contains("API_KEYS_SECRET_ID") && err.contains("ARN"),
            "{err}"
        );
        assert_eq!(c.api_keys_max_stale, Duration::ZERO, "0 disables it");
        assert_eq!(c.marker_ttl, Duration::from_secs(7 * 86_400));
        assert_eq!(c.api_keys_cache_ttl, Duration::from_secs(5));
    }

    #[test]
    fn a_previous_layout_is_read_only_when_named_and_never_the_current_one() {
        let base = [
            ("TABLE_NAME", "t"),
            ("API_KEYS_SECRET_ID", "prod/keys"),
            ("API_KEYS_UNITS", "320"),
        ];
        let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:keys-AbCdEf";
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut vars = base.to_vec();
            vars.extend_from_slice(extra);
            config(&vars)
        };
        assert_eq!(with(&[]).unwrap().api_keys_previous, None);
        assert_eq!(
            with(&[("API_KEYS_PREVIOUS_SECRET_ID", arn)])
                .unwrap()
                .api_keys_previous,
            Some(Layout::one(arn)),
            "from the one secret, named by its ARN"
        );
        assert_eq!(
            with(&[
                ("API_KEYS_PREVIOUS_SECRET_ID", "prod/old-keys"),
                ("API_KEYS_PREVIOUS_UNITS", "160"),
            ])
            .unwrap()
            .api_keys_previous,
            Some(Layout::new("prod/old-keys", 160).unwrap()),
            "from fewer units"
        );
        for (extra, named) in [
            (
                &[("API_KEYS_PREVIOUS_UNITS", "2")][..],
                "API_KEYS_PREVIOUS_SECRET_ID",
            ),
            (
                &[
                    ("API_KEYS_PREVIOUS_SECRET_ID", arn),
                    ("API_KEYS_PREVIOUS_UNITS", "2"),
                ][..],
                "ARN",
            ),
            (
                &[
                    ("API_KEYS_PREVIOUS_SECRET_ID", "prod/keys"),
                    ("API_KEYS_PREVIOUS_UNITS", "320"),
                ][..],
                "already read",
            ),
            (
                &[
                    ("API_KEYS_PREVIOUS_SECRET_ID", "prod/old-keys"),
                    ("API_KEYS_PREVIOUS_UNITS", "0"),
                ][..],
                "API_KEYS_PREVIOUS_UNITS",
            ),
        ] {
            let err = with(extra).unwrap_err().to_string();
            assert!(err.contains(named), "{extra:?}: {err}");
        }
    }
}
