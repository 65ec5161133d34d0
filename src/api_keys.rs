//! API keys: SHA-256 hashes in a Secrets Manager secret, cached in memory.
//!
//! The secret's `SecretString` is `{"keys": [{"sha256": "<hex>", "accountId": "...", "name": "..."}]}`.
//! Plaintext keys exist only in the request being served: they are hashed at once, never stored,
//! logged or echoed, and the hash is compared with every entry in constant time.
//!
//! Caching rules:
//! - the parsed secret is trusted for the configured TTL, then fetched again;
//! - an unknown key may force an early fetch, at most once per [`MIN_FORCED_REFRESH_INTERVAL`],
//!   so a new key works at once while a flood of bad keys cannot hammer Secrets Manager;
//! - after a failed fetch no other fetch is tried for [`FAILURE_BACKOFF`], and requests in that
//!   window get the same kind of error;
//! - only one fetch is in flight at a time.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use aws_sdk_secretsmanager::Client;
use integrations_table::AccountId;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::Mutex;

use crate::clock::SharedClock;
use crate::error::{Dependency, Error};

/// An unknown key forces a fresh read of the secret at most this often.
pub const MIN_FORCED_REFRESH_INTERVAL: Duration = Duration::from_secs(10);
/// After a failed read of the secret, wait this long before trying again.
pub const FAILURE_BACKOFF: Duration = Duration::from_secs(1);

/// The API keys of one secret version, ready to check presented keys against.
#[derive(Debug, Clone)]
pub struct KeySet {
    entries: Vec<KeyEntry>,
}

#[derive(Clone)]
struct KeyEntry {
    digest: [u8; 32],
    account_id: AccountId,
}

impl std::fmt::Debug for KeyEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Even a hash is key material: keep it out of any debug output.
        f.debug_struct("KeyEntry")
            .field("account_id", &self.account_id)
            .finish_non_exhaustive()
    }
}

/// Why the secret could not be used. Says where the problem is, never what the values are.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum MalformedSecret {
    #[error("the secret has no SecretString")]
    NoSecretString,
    #[error(
        "the secret is not the expected JSON ({category} error at line {line}, column {column})"
    )]
    Json {
        category: &'static str,
        line: usize,
        column: usize,
    },
    #[error("keys[{index}].sha256 is not 64 lowercase hexadecimal characters")]
    BadHash { index: usize },
    #[error("keys[{index}].accountId is empty")]
    EmptyAccount { index: usize },
}

#[derive(Deserialize)]
struct SecretDocument {
    keys: Vec<SecretEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SecretEntry {
    sha256: String,
    account_id: String,
}

impl KeySet {
    /// Parses the secret's JSON. Errors name the position or entry index only, since
    /// `serde_json`'s own messages can quote the offending value.
    pub fn parse(secret_string: &str) -> Result<Self, MalformedSecret> {
        let document: SecretDocument =
            serde_json::from_str(secret_string).map_err(|e| MalformedSecret::Json {
                category: match e.classify() {
                    serde_json::error::Category::Io => "io",
                    serde_json::error::Category::Syntax => "syntax",
                    serde_json::error::Category::Data => "shape",
                    serde_json::error::Category::Eof => "unexpected end",
                },
                line: e.line(),
                column: e.column(),
            })?;
        let entries = document
            .keys
            .into_iter()
            .enumerate()
            .map(|(index, entry)| {
                let is_lower_hex = entry
                    .sha256
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
                let mut digest = [0u8; 32];
                if !is_lower_hex || hex::decode_to_slice(&entry.sha256, &mut digest).is_err() {
                    return Err(MalformedSecret::BadHash { index });
                }
                let account_id = AccountId::new(entry.account_id)
                    .ok_or(MalformedSecret::EmptyAccount { index })?;
                Ok(KeyEntry { digest, account_id })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { entries })
    }

    /// Finds the account of a presented key. Every entry is compared, in constant time, whatever
    /// matches.
    pub fn account_for(&self, presented_key: &str) -> Option<&AccountId> {
        let digest: [u8; 32] = Sha256::digest(presented_key.as_bytes()).into();
        let mut found = None;
        for entry in &self.entries {
            if bool::from(entry.digest.ct_eq(&digest)) {
                found = Some(&entry.account_id);
            }
        }
        found
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Lowercase hex SHA-256 of a key: the form the secret stores.
pub fn hash_key(plaintext: &str) -> String {
    hex::encode(Sha256::digest(plaintext.as_bytes()))
}

/// When the cached keys were read, on the clock's monotonic scale.
type ReadAt = Duration;

struct Snapshot {
    keys: Arc<KeySet>,
    fetched_at: ReadAt,
}

#[derive(Default)]
struct RefreshState {
    last_forced: Option<ReadAt>,
    last_failure: Option<(ReadAt, FailureKind)>,
}

#[derive(Debug, Clone, Copy)]
enum FailureKind {
    Unavailable,
    Internal,
}

/// Why no read of the secret was tried: one failed less than [`FAILURE_BACKOFF`] ago.
#[derive(Debug, thiserror::Error)]
#[error(
    "a read of the API-keys secret failed less than {FAILURE_BACKOFF:?} ago; not trying again yet"
)]
struct RecentlyFailed;

/// Verifies API keys against the cached secret.
pub struct ApiKeyVerifier {
    client: Client,
    secret_id: String,
    ttl: Duration,
    forced_refresh_interval: Duration,
    clock: SharedClock,
    current: RwLock<Option<Snapshot>>,
    refresh: Mutex<RefreshState>,
}

impl ApiKeyVerifier {
    pub fn new(
        client: Client,
        secret_id: impl Into<String>,
        ttl: Duration,
        clock: SharedClock,
    ) -> Self {
        Self {
            client,
            secret_id: secret_id.into(),
            ttl,
            forced_refresh_interval: MIN_FORCED_REFRESH_INTERVAL,
            clock,
            current: RwLock::new(None),
            refresh: Mutex::new(RefreshState::default()),
        }
    }

    fn elapsed_since(&self, at: ReadAt) -> Duration {
        self.clock.monotonic().saturating_sub(at)
    }

    /// Returns the account that owns `presented_key`, or `UnknownApiKey`.
    pub async fn verify(&self, presented_key: &str) -> Result<AccountId, Error> {
        let (keys, fetched_at) = self.fresh_keys().await?;
        if let Some(account) = keys.account_for(presented_key) {
            return Ok(account.clone());
        }
        // The key may have been added since the secret was read.
        match self.forced_refresh(fetched_at).await? {
            Some(keys) => keys
                .account_for(presented_key)
                .cloned()
                .ok_or(Error::UnknownApiKey),
            None => Err(Error::UnknownApiKey),
        }
    }

    /// Reads the secret now if nothing is cached yet. Used at init, so the first request of a
    /// cold start does not wait for Secrets Manager.
    pub async fn warm_up(&self) -> Result<(), Error> {
        self.fresh_keys().await.map(|_| ())
    }

    fn cached(&self) -> Option<(Arc<KeySet>, ReadAt)> {
        let guard = self.current.read().unwrap_or_else(|e| e.into_inner());
        guard.as_ref().map(|s| (s.keys.clone(), s.fetched_at))
    }

    /// The cached keys if within the TTL, otherwise a fresh read.
    async fn fresh_keys(&self) -> Result<(Arc<KeySet>, ReadAt), Error> {
        let fresh = |(_, at): &(Arc<KeySet>, ReadAt)| self.elapsed_since(*at) < self.ttl;
        if let Some(hit) = self.cached().filter(fresh) {
            return Ok(hit);
        }
        let mut state = self.refresh.lock().await;
        // Another request may have refreshed while this one waited for the lock.
        if let Some(hit) = self.cached().filter(fresh) {
            return Ok(hit);
        }
        self.fetch(&mut state).await
    }

    /// Reads the secret again because a key was unknown, unless that was done less than
    /// `forced_refresh_interval` ago. `seen` is when the keys the caller checked were read.
    async fn forced_refresh(&self, seen: ReadAt) -> Result<Option<Arc<KeySet>>, Error> {
        let mut state = self.refresh.lock().await;
        // Someone else read the secret after our caller's copy: use theirs.
        if let Some((keys, _)) = self.cached().filter(|(_, at)| *at > seen) {
            return Ok(Some(keys));
        }
        if state
            .last_forced
            .is_some_and(|t| self.elapsed_since(t) < self.forced_refresh_interval)
        {
            return Ok(None);
        }
        state.last_forced = Some(self.clock.monotonic());
        self.fetch(&mut state).await.map(|(keys, _)| Some(keys))
    }

    async fn fetch(&self, state: &mut RefreshState) -> Result<(Arc<KeySet>, ReadAt), Error> {
        if let Some((at, kind)) = state.last_failure
            && self.elapsed_since(at) < FAILURE_BACKOFF
        {
            return Err(match kind {
                FailureKind::Unavailable => Error::Unavailable {
                    dependency: Dependency::SecretsManager,
                    source: Box::new(RecentlyFailed),
                },
                FailureKind::Internal => {
                    Error::internal("the API-keys secret is unusable", RecentlyFailed)
                }
            });
        }
        match self.read_secret().await {
            Ok(keys) => {
                let keys = Arc::new(keys);
                let now = self.clock.monotonic();
                *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(Snapshot {
                    keys: keys.clone(),
                    fetched_at: now,
                });
                state.last_failure = None;
                Ok((keys, now))
            }
            Err(err) => {
                let kind = match err {
                    Error::Unavailable { .. } => FailureKind::Unavailable,
                    _ => FailureKind::Internal,
                };
                state.last_failure = Some((self.clock.monotonic(), kind));
                Err(err)
            }
        }
    }

    async fn read_secret(&self) -> Result<KeySet, Error> {
        let output = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .send()
            .await
            .map_err(|e| Error::from_sdk(Dependency::SecretsManager, "GetSecretValue", e))?;
        let parsed = output
            .secret_string()
            .ok_or(MalformedSecret::NoSecretString)
            .and_then(KeySet::parse);
        let keys = parsed.map_err(|e| {
            Error::internal(
                format!(
                    "the API-keys secret {} is malformed; every request fails until it is fixed",
                    self.secret_id
                ),
                e,
            )
        })?;
        if keys.is_empty() {
            tracing::warn!(secretId = %self.secret_id, "the API-keys secret lists no keys");
        }
        tracing::debug!(keys = keys.len(), "read the API-keys secret");
        Ok(keys)
    }

    #[cfg(test)]
    fn with_forced_refresh_interval(mut self, interval: Duration) -> Self {
        self.forced_refresh_interval = interval;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::OffsetClock;
    use test_support::fake_aws::{FakeAws, Reply};

    fn secret(entries: &[(&str, &str)]) -> String {
        let keys: Vec<_> = entries
            .iter()
            .map(|(key, account)| {
                serde_json::json!({"sha256": hash_key(key), "accountId": account, "name": "t"})
            })
            .collect();
        serde_json::json!({ "keys": keys }).to_string()
    }

    /// A GetSecretValue answer whose SecretString is `text`.
    fn secret_value(text: &str) -> Reply {
        Reply::ok(serde_json::json!({"Name": "s", "SecretString": text}).to_string())
    }

    fn verifier(fake: &FakeAws, ttl: Duration) -> (ApiKeyVerifier, OffsetClock) {
        let clock = OffsetClock::default();
        let verifier =
            ApiKeyVerifier::new(fake.secrets_manager(), "s", ttl, Arc::new(clock.clone()));
        (verifier, clock)
    }

    #[test]
    fn hash_key_is_lowercase_hex_sha256() {
        assert_eq!(
            hash_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_known_key_maps_to_its_account_and_others_to_none() {
        let keys = KeySet::parse(&secret(&[("k1", "acct_1"), ("k2", "acct_2")])).unwrap();
        assert_eq!(keys.account_for("k2").unwrap().as_str(), "acct_2");
        assert_eq!(keys.account_for("k1").unwrap().as_str(), "acct_1");
        assert!(keys.account_for("k3").is_none());
        assert!(keys.account_for("").is_none());
    }

    #[test]
    fn malformed_secrets_are_rejected_without_quoting_values() {
        let good_hash = hash_key("k");
        let cases: Vec<(&str, String, MalformedSecret)> = vec![
            (
                "not json",
                "sk_live_plaintext".into(),
                MalformedSecret::Json {
                    category: "syntax",
                    line: 1,
                    column: 1,
                },
            ),
            (
                "keys is a string",
                r#"{"keys": "sk_live_plaintext"}"#.into(),
                MalformedSecret::Json {
                    category: "shape",
                    line: 1,
                    column: 28,
                },
            ),
            (
                "plaintext instead of a hash",
                r#"{"keys": [{"sha256": "sk_live_plaintext", "accountId": "a"}]}"#.into(),
                MalformedSecret::BadHash { index: 0 },
            ),
            (
                "uppercase hash",
                format!(
                    r#"{{"keys": [{{"sha256": "{good_hash}", "accountId": "a"}}, {{"sha256": "{}", "accountId": "a"}}]}}"#,
                    good_hash.to_uppercase()
                ),
                MalformedSecret::BadHash { index: 1 },
            ),
            (
                "empty account",
                format!(r#"{{"keys": [{{"sha256": "{good_hash}", "accountId": ""}}]}}"#),
                MalformedSecret::EmptyAccount { index: 0 },
            ),
        ];
        for (name, text, expected) in cases {
            let err = KeySet::parse(&text).unwrap_err();
            assert_eq!(err, expected, "case {name}");
            assert!(
                !err.to_string().contains("sk_live"),
                "case {name}: {err} quotes the value"
            );
        }
    }

    #[test]
    fn debug_output_never_shows_hashes() {
        let keys = KeySet::parse(&secret(&[("k1", "acct_1")])).unwrap();
        let debug = format!("{keys:?}");
        assert!(!debug.contains(&hash_key("k1")[..16]), "{debug}");
    }

    #[tokio::test]
    async fn a_flood_of_unknown_keys_forces_at_most_one_read_per_interval() {
        let fake = FakeAws::new(|_| secret_value(&secret(&[("good", "acct_1")])));
        let (verifier, clock) = verifier(&fake, Duration::from_secs(300));

        for i in 0..100 {
            let result = verifier.verify(&format!("bad-{i}")).await;
            assert!(matches!(result, Err(Error::UnknownApiKey)));
        }
        // One read to fill the cache, one forced by the first unknown key.
        assert_eq!(fake.count("GetSecretValue"), 2);

        clock.advance(MIN_FORCED_REFRESH_INTERVAL);
        for _ in 0..10 {
            assert!(verifier.verify("bad").await.is_err());
        }
        assert_eq!(fake.count("GetSecretValue"), 3);
        assert_eq!(verifier.verify("good").await.unwrap().as_str(), "acct_1");
        assert_eq!(
            fake.count("GetSecretValue"),
            3,
            "a known key never reads the secret"
        );
    }

    #[tokio::test]
    async fn the_cache_is_trusted_for_its_ttl_then_read_again() {
        let fake = FakeAws::new(|_| secret_value(&secret(&[("good", "acct_1")])));
        let (verifier, clock) = verifier(&fake, Duration::from_secs(60));
        let verifier = verifier.with_forced_refresh_interval(Duration::from_secs(3600));

        verifier.verify("good").await.unwrap();
        clock.advance(Duration::from_secs(59));
        verifier.verify("good").await.unwrap();
        assert_eq!(fake.count("GetSecretValue"), 1);
        clock.advance(Duration::from_secs(1));
        verifier.verify("good").await.unwrap();
        assert_eq!(fake.count("GetSecretValue"), 2);
    }

    #[tokio::test]
    async fn throttling_is_unavailable_and_backs_off() {
        let fake = FakeAws::new(|_| Reply::error(400, "ThrottlingException"));
        let (verifier, clock) = verifier(&fake, Duration::from_secs(60));

        let err = verifier.verify("k").await.unwrap_err();
        assert!(err.is_transient(), "{err:?}");
        let calls = fake.count("GetSecretValue");
        let err = verifier.verify("k").await.unwrap_err();
        assert!(err.is_transient(), "{err:?}");
        assert_eq!(
            fake.count("GetSecretValue"),
            calls,
            "no new read within the back-off"
        );
        clock.advance(FAILURE_BACKOFF);
        let _ = verifier.verify("k").await;
        assert!(fake.count("GetSecretValue") > calls);
    }

    #[tokio::test]
    async fn a_missing_or_malformed_secret_is_an_internal_error_that_names_the_cause() {
        let cases = [
            (
                "missing",
                Reply::error(400, "ResourceNotFoundException"),
                "ResourceNotFoundException",
            ),
            ("malformed", secret_value("{\"keys\": 1}"), "shape error"),
        ];
        for (case, reply, cause) in cases {
            let fake = FakeAws::new(move |_| reply.clone());
            let (verifier, _) = verifier(&fake, Duration::from_secs(60));
            let err = verifier.verify("k").await.unwrap_err();
            assert!(matches!(err, Error::Internal { .. }), "{case}: {err:?}");
            let chain = crate::error::ErrorChain(&err).to_string();
            assert!(chain.contains(cause), "{case}: {chain}");
        }
    }
}
