//! The consumer's configuration, from the environment, checked once at init.

use std::time::Duration;

use function_support::emf::DEFAULT_NAMESPACE;
use function_support::env::{Env, EnvError};
use function_support::tls::EXTRA_CA_VARIABLE;
use platform_revoke::{EndpointError, Endpoints};

/// The consumer's configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// `TABLE_NAME`.
    pub table_name: String,
    /// `REVOKE_CREDENTIALS_SECRET_ID`: the platforms' client ids and secrets.
    pub credentials_secret_id: String,
    /// `REVOKE_ENDPOINT_<PLATFORM>` overrides (tests, local stubs): `https`, or `http` to a
    /// loopback host; anything else fails init, naming the variable.
    pub endpoints: Endpoints,
    /// `REVOKE_TIMEOUT_MS` (default 5000, 100 to 60000): one call to a platform.
    pub platform_timeout: Duration,
    /// `REVOKE_MAX_ATTEMPTS` (default 5, 1 to 100): how many deliveries of one record may fail
    /// transiently; the one that reaches this number (the 5th by default) is itself recorded
    /// `failed`, so that the record is never lost silently. The template's
    /// `MaximumRetryAttempts` leaves room above it.
    pub max_attempts: u32,
    /// `REVOKE_GIVE_UP_AFTER_SECONDS` (default 3000, 60 to 604800): a record older than this that
    /// fails transiently is recorded `failed`; the template's `MaximumRecordAgeInSeconds` is
    /// above it.
    pub give_up_after: Duration,
    /// `REVOKE_CONCURRENCY` (default 48, 1 to 1000): the integrations of a batch in progress at
    /// once; `REVOKE_PLATFORM_CONCURRENCY` (default 24, 1 to 1000): calls to one platform at once.
    pub concurrency: crate::Concurrency,
    /// `REVOKE_ALLOW_LOOPBACK` (`true` only; default off): a Mastodon `server` may be
    /// `localhost`. Local development only; the template never sets it.
    pub allow_loopback_servers: bool,
    /// `AWS_CA_BUNDLE`, as for the DELETE function.
    pub extra_ca_pem: Option<Vec<u8>>,
    /// `METRICS_NAMESPACE` and `METRICS_SERVICE`, as for the DELETE function.
    pub metrics_namespace: String,
    pub metrics_service: String,
}

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    #[error("could not read the platform credentials secret {id}: {reason}")]
    Credentials { id: String, reason: String },
}

impl Config {
    pub fn from_env() -> Result<Self, InitError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, InitError> {
        let env = Env::new(&lookup);
        Ok(Self {
            table_name: env.required("TABLE_NAME")?,
            credentials_secret_id: env.required("REVOKE_CREDENTIALS_SECRET_ID")?,
            endpoints: Endpoints::from_lookup(&lookup)?,
            platform_timeout: Duration::from_millis(env.number(
                "REVOKE_TIMEOUT_MS",
                5_000,
                100..=60_000,
            )?),
            max_attempts: env.number("REVOKE_MAX_ATTEMPTS", 5, 1..=100)? as u32,
            give_up_after: Duration::from_secs(env.number(
                "REVOKE_GIVE_UP_AFTER_SECONDS",
                3_000,
                60..=604_800,
            )?),
            concurrency: crate::Concurrency {
                records: env.number(
                    "REVOKE_CONCURRENCY",
                    crate::Concurrency::default().records as u64,
                    1..=1000,
                )? as usize,
                per_platform: env.number(
                    "REVOKE_PLATFORM_CONCURRENCY",
                    crate::Concurrency::default().per_platform as u64,
                    1..=1000,
                )? as usize,
            },
            allow_loopback_servers: env.flag("REVOKE_ALLOW_LOOPBACK")?,
            extra_ca_pem: env.pem_file(EXTRA_CA_VARIABLE)?,
            metrics_namespace: env
                .optional("METRICS_NAMESPACE")
                .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned()),
            metrics_service: env
                .optional("METRICS_SERVICE")
                .or_else(|| env.optional("AWS_LAMBDA_FUNCTION_NAME"))
                .unwrap_or_else(|| "revoke-tokens".to_owned()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, InitError> {
        let pairs: Vec<(String, String)> =
            [("TABLE_NAME", "t"), ("REVOKE_CREDENTIALS_SECRET_ID", "s")]
                .iter()
                .chain(pairs)
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        Config::from_lookup(|name| {
            pairs
                .iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn the_defaults_hold_when_nothing_else_is_set() {
        let config = config(&[]).unwrap();
        assert_eq!(config.platform_timeout, Duration::from_secs(5));
        assert_eq!(config.max_attempts, 5);
        assert_eq!(config.give_up_after, Duration::from_secs(3000));
        assert!(!config.allow_loopback_servers);
        assert_eq!(config.endpoints, Endpoints::defaults());
        assert_eq!(
            (config.concurrency.records, config.concurrency.per_platform),
            (48, 24)
        );
    }

    #[test]
    fn a_bad_setting_fails_init_naming_the_variable() {
        let cases = [
            ("TABLE_NAME", " ", "TABLE_NAME"),
            ("REVOKE_TIMEOUT_MS", "99", "REVOKE_TIMEOUT_MS"),
            ("REVOKE_MAX_ATTEMPTS", "0", "REVOKE_MAX_ATTEMPTS"),
            (
                "REVOKE_GIVE_UP_AFTER_SECONDS",
                "ten",
                "REVOKE_GIVE_UP_AFTER_SECONDS",
            ),
            ("REVOKE_ALLOW_LOOPBACK", "yes", "REVOKE_ALLOW_LOOPBACK"),
            ("REVOKE_CONCURRENCY", "0", "REVOKE_CONCURRENCY"),
            (
                "REVOKE_PLATFORM_CONCURRENCY",
                "1001",
                "REVOKE_PLATFORM_CONCURRENCY",
            ),
            (
                "REVOKE_ENDPOINT_GOOGLE",
                "http://oauth2.googleapis.com",
                "REVOKE_ENDPOINT_GOOGLE",
            ),
            (
                "REVOKE_ENDPOINT_REDDIT",
                "http://10.0.0.1",
                "REVOKE_ENDPOINT_REDDIT",
            ),
        ];
        for (name, value, named) in cases {
            let error = config(&[(name, value)]).expect_err(name);
            assert!(error.to_string().contains(named), "{name}: {error}");
        }
        assert!(
            config(&[("REVOKE_ALLOW_LOOPBACK", "true")])
                .unwrap()
                .allow_loopback_servers
        );
    }
}
