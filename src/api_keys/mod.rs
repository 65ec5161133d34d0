//! API keys: SHA-256 hashes in Secrets Manager ([`format`]), cached in memory.
//!
//! The keys are in one secret, or spread over N secrets, the *units*: a key's unit follows from
//! its hash ([`Layout`]), and a request reads only its key's unit. The rules below hold for each
//! unit on its own, with one bound across them.
//!
//! During a move to another layout (from one secret to units, or to more units), the previous
//! layout is read too: a hash that its unit in the new layout does not list at all is looked up
//! there, under the same rules, so that no key is refused while the entries are copied. An
//! entry in the new layout wins, a disabled one included.
//!
//! Caching rules:
//! - the parsed secret is trusted for the configured TTL, then read again;
//! - an unknown key may force an early read of its unit, at most once per
//!   [`MIN_FORCED_REFRESH_INTERVAL`] per unit and once per [`MIN_FORCED_READ_SPACING`] across
//!   all units, so a new key works at once while a flood of bad keys, spread over the units or
//!   not, cannot hammer Secrets Manager;
//! - when a read fails (Secrets Manager unavailable, refusing, or hanging), the last good key
//!   set keeps serving for up to the configured maximum staleness after its TTL, with a
//!   warning per read attempt; a secret whose content is unusable is never served around;
//! - after a failed read no other read of that unit is tried for [`FAILURE_BACKOFF`], and after
//!   a transient one (Secrets Manager unavailable or throttling) no read of any unit: an outage
//!   costs one read a second per environment, not one per unit;
//! - only one read of a unit is in flight at a time.

pub mod format;
pub mod layout;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use aws_sdk_secretsmanager::Client;
use integrations_table::AccountId;
use tokio::sync::Mutex;

use crate::error::{Dependency, Error};
use crate::metrics::{self, Metric};
pub use format::{
    KeySet, Lookup, MalformedSecret, NEAR_LIMIT_BYTES, Parsed, SCOPE_DELETE,
    SECRET_VALUE_LIMIT_BYTES, SkippedEntry, authorize, hash_key,
};
use function_support::clock::SharedClock;
pub use layout::Layout;

/// An unknown key forces a fresh read of its unit at most this often.
pub const MIN_FORCED_REFRESH_INTERVAL: Duration = Duration::from_secs(10);
/// Forced reads of different units are at least this far apart: at most 10 a second, whatever
/// the number of units.
pub const MIN_FORCED_READ_SPACING: Duration = Duration::from_millis(100);
/// After a failed read of the secret, wait this long before trying again.
pub const FAILURE_BACKOFF: Duration = Duration::from_secs(1);
/// The read of the secret during init gives up after this long; the first request reads then.
pub const INIT_READ_TIMEOUT: Duration = Duration::from_secs(2);
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FailureKind {
    /// Secrets Manager did not answer with the secret: the last good keys may serve on.
    Call { transient: bool },
    /// The secret's content is unusable: never served around.
    Content,
}

/// A failed read, and whether the last good keys may serve in its place.
struct ReadFailure {
    kind: FailureKind,
    error: Error,
}

/// Why no read of the secret was tried: one failed less than [`FAILURE_BACKOFF`] ago.
#[derive(Debug, thiserror::Error)]
#[error(
    "a read of the API-keys secret failed less than {FAILURE_BACKOFF:?} ago; not trying again yet"
)]
struct RecentlyFailed;

/// The read of the secret took longer than allowed.
#[derive(Debug, thiserror::Error)]
#[error("the read of the API-keys secret took longer than {0:?}")]
struct ReadTimedOut(Duration);

/// One secret of keys and what the function knows of it.
struct Unit {
    secret_id: String,
    current: RwLock<Option<Snapshot>>,
    refresh: Mutex<RefreshState>,
}

impl Unit {
    fn new(secret_id: String) -> Self {
        Self {
            secret_id,
            current: RwLock::new(None),
            refresh: Mutex::new(RefreshState::default()),
        }
    }

    fn cached(&self) -> Option<(Arc<KeySet>, ReadAt)> {
        let guard = self.current.read().unwrap_or_else(|e| e.into_inner());
        guard.as_ref().map(|s| (s.keys.clone(), s.fetched_at))
    }
}

/// Verifies API keys against the cached secrets.
pub struct ApiKeyVerifier {
    client: Client,
    layout: Layout,
    units: Vec<Unit>,
    /// The layout the keys are moving from, read for hashes the new one does not list.
    previous: Option<(Layout, Vec<Unit>)>,
    ttl: Duration,
    max_stale: Duration,
    forced_refresh_interval: Duration,
    clock: SharedClock,
    /// When the last forced read of any unit started.
    last_forced_any: std::sync::Mutex<Option<ReadAt>>,
    /// When a read of any unit last failed transiently, until a read succeeds.
    last_transient_failure_any: std::sync::Mutex<Option<ReadAt>>,
}

fn units_of(layout: &Layout) -> Vec<Unit> {
    (0..layout.units())
        .map(|unit| Unit::new(layout.unit_secret_id(unit)))
        .collect()
}

impl ApiKeyVerifier {
    /// `ttl`: how long a read is trusted. `max_stale`: how long past its TTL the last good read
    /// may serve while Secrets Manager fails (zero: never).
    /// The keys are in the one secret `secret_id`.
    pub fn new(
        client: Client,
        secret_id: impl Into<String>,
        ttl: Duration,
        max_stale: Duration,
        clock: SharedClock,
    ) -> Self {
        Self::with_layout(client, Layout::one(secret_id), ttl, max_stale, clock)
    }

    /// The keys are where `layout` says.
    pub fn with_layout(
        client: Client,
        layout: Layout,
        ttl: Duration,
        max_stale: Duration,
        clock: SharedClock,
    ) -> Self {
        Self {
            client,
            units: units_of(&layout),
            layout,
            previous: None,
            ttl,
            max_stale,
            forced_refresh_interval: MIN_FORCED_REFRESH_INTERVAL,
            clock,
            last_forced_any: std::sync::Mutex::new(None),
            last_transient_failure_any: std::sync::Mutex::new(None),
        }
    }

    /// Reads `previous` too, for the hashes the layout does not list: while keys move to it.
    pub fn reading_previous(mut self, previous: Option<Layout>) -> Self {
        self.previous = previous.map(|layout| {
            let units = units_of(&layout);
            (layout, units)
        });
        self
    }

    fn elapsed_since(&self, at: ReadAt) -> Duration {
        self.clock.monotonic().saturating_sub(at)
    }

    /// Returns the account that owns `presented_key` if the key may use `scope`; otherwise
    /// `UnknownApiKey`, `DisabledApiKey` or `InsufficientScope`.
    pub async fn verify(&self, presented_key: &str, scope: &str) -> Result<AccountId, Error> {
        // Hashed once: the hash picks the unit and is what the unit's entries are compared with.
        let digest = format::digest(presented_key);
        let unit = &self.units[self.layout.unit_of(&digest)];
        match self.verify_in(unit, &digest, scope).await {
            Err(Error::UnknownApiKey) => match &self.previous {
                Some((layout, units)) => {
                    let found = self
                        .verify_in(&units[layout.unit_of(&digest)], &digest, scope)
                        .await;
                    if !matches!(found, Err(Error::UnknownApiKey)) {
                        metrics::count(Metric::ApiKeysFoundInPrevious);
                    }
                    found
                }
                None => Err(Error::UnknownApiKey),
            },
            other => other,
        }
    }

    /// The key with `digest` checked against `unit`, read again if the key is unknown there.
    async fn verify_in(
        &self,
        unit: &Unit,
        digest: &[u8; 32],
        scope: &str,
    ) -> Result<AccountId, Error> {
        let (keys, fetched_at) = self.fresh_keys(unit).await?;
        let found = match keys.lookup_digest(digest) {
            Lookup::Unknown => {
                // The key may have been added since the secret was read.
                match self.forced_refresh(unit, fetched_at).await {
                    Some(newer) => return authorize(newer.lookup_digest(digest), scope),
                    None => Lookup::Unknown,
                }
            }
            other => other,
        };
        authorize(found, scope)
    }

    /// Reads the secret now if nothing usable is cached, for at most [`INIT_READ_TIMEOUT`].
    /// Used at init, so the first request of a cold start does not wait for Secrets Manager; a
    /// failure leaves the read to that request. With several units it reads none: which unit
    /// the first request needs is not known before its key, and reading them all would cost
    /// the cold start N reads.
    pub async fn warm_up(&self) -> Result<(), Error> {
        let [unit] = self.units.as_slice() else {
            return Ok(());
        };
        match tokio::time::timeout(INIT_READ_TIMEOUT, self.fresh_keys(unit)).await {
            Ok(result) => result.map(|_| ()),
            Err(_) => Err(Error::Unavailable {
                dependency: Dependency::SecretsManager,
                source: Box::new(ReadTimedOut(INIT_READ_TIMEOUT)),
            }),
        }
    }

    /// The cached keys if within the TTL, otherwise a fresh read; when that read fails, the
    /// cached keys while within the allowed staleness.
    async fn fresh_keys(&self, unit: &Unit) -> Result<(Arc<KeySet>, ReadAt), Error> {
        let fresh = |(_, at): &(Arc<KeySet>, ReadAt)| self.elapsed_since(*at) < self.ttl;
        if let Some(hit) = unit.cached().filter(fresh) {
            return Ok(hit);
        }
        let mut state = unit.refresh.lock().await;
        // Another request may have refreshed while this one waited for the lock.
        if let Some(hit) = unit.cached().filter(fresh) {
            return Ok(hit);
        }
        match self.fetch(unit, &mut state).await {
            Ok(read) => Ok(read),
            Err(failure) => self.stale_or(unit, failure),
        }
    }

    /// The last good keys in place of a failed read, if the failure allows and they are not
    /// too old; the failure's error otherwise.
    fn stale_or(&self, unit: &Unit, failure: ReadFailure) -> Result<(Arc<KeySet>, ReadAt), Error> {
        let usable = |(_, at): &(Arc<KeySet>, ReadAt)| {
            self.elapsed_since(*at) < self.ttl.saturating_add(self.max_stale)
        };
        match (failure.kind, unit.cached().filter(usable)) {
            (FailureKind::Call { .. }, Some(stale)) => {
                metrics::count(Metric::StaleKeysServed);
                Ok(stale)
            }
            _ => Err(failure.error),
        }
    }

    /// Reads the unit again because a key was unknown, unless that unit was read less than
    /// `forced_refresh_interval` ago, or any unit less than [`MIN_FORCED_READ_SPACING`] ago.
    /// `seen` is when the keys the caller checked were read. `None`: nothing newer (a failed
    /// read included: the caller's keys stand).
    async fn forced_refresh(&self, unit: &Unit, seen: ReadAt) -> Option<Arc<KeySet>> {
        let mut state = unit.refresh.lock().await;
        // Someone else read the unit after our caller's copy: use theirs.
        if let Some((keys, _)) = unit.cached().filter(|(_, at)| *at > seen) {
            return Some(keys);
        }
        if state
            .last_forced
            .is_some_and(|t| self.elapsed_since(t) < self.forced_refresh_interval)
        {
            return None;
        }
        {
            let mut last_any = self
                .last_forced_any
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if last_any.is_some_and(|t| self.elapsed_since(t) < MIN_FORCED_READ_SPACING) {
                return None;
            }
            *last_any = Some(self.clock.monotonic());
        }
        state.last_forced = Some(self.clock.monotonic());
        self.fetch(unit, &mut state)
            .await
            .ok()
            .map(|(keys, _)| keys)
    }

    async fn fetch(
        &self,
        unit: &Unit,
        state: &mut RefreshState,
    ) -> Result<(Arc<KeySet>, ReadAt), ReadFailure> {
        let transient = FailureKind::Call { transient: true };
        let other_unit_failed = *self
            .last_transient_failure_any
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let recent = |(at, _): &(ReadAt, FailureKind)| self.elapsed_since(*at) < FAILURE_BACKOFF;
        if let Some((_, kind)) = state
            .last_failure
            .filter(recent)
            .or(other_unit_failed.map(|at| (at, transient)).filter(recent))
        {
            let error = match kind {
                FailureKind::Call { transient: true } => Error::Unavailable {
                    dependency: Dependency::SecretsManager,
                    source: Box::new(RecentlyFailed),
                },
                _ => Error::internal("the API-keys secret is unusable", RecentlyFailed),
            };
            return Err(ReadFailure { kind, error });
        }
        let read = self.read_secret(unit).await;
        metrics::count(if read.is_ok() {
            Metric::KeyCacheRefreshes
        } else {
            Metric::KeyCacheRefreshFailures
        });
        *self
            .last_transient_failure_any
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = match &read {
            Err(failure) if failure.kind == transient => Some(self.clock.monotonic()),
            _ => None,
        };
        match read {
            Ok(keys) => {
                let keys = Arc::new(keys);
                let now = self.clock.monotonic();
                *unit.current.write().unwrap_or_else(|e| e.into_inner()) = Some(Snapshot {
                    keys: keys.clone(),
                    fetched_at: now,
                });
                state.last_failure = None;
                Ok((keys, now))
            }
            Err(failure) => {
                state.last_failure = Some((self.clock.monotonic(), failure.kind));
                if let (FailureKind::Call { .. }, Some((_, at))) = (failure.kind, unit.cached()) {
                    tracing::warn!(
                        secretId = %unit.secret_id,
                        ageSeconds = self.elapsed_since(at).as_secs(),
                        maxStaleSeconds = self.max_stale.as_secs(),
                        error = %function_support::ErrorChain(&failure.error),
                        "could not read the API-keys secret; the last good keys serve while they are within the allowed staleness"
                    );
                }
                Err(failure)
            }
        }
    }

    async fn read_secret(&self, unit: &Unit) -> Result<KeySet, ReadFailure> {
        let output = self
            .client
            .get_secret_value()
            .secret_id(&unit.secret_id)
            .send()
            .await
            .map_err(|e| {
                let error = Error::from_sdk(Dependency::SecretsManager, "GetSecretValue", e);
                ReadFailure {
                    kind: FailureKind::Call {
                        transient: error.is_transient(),
                    },
                    error,
                }
            })?;
        if let Some(text) = output.secret_string()
            && text.len() >= NEAR_LIMIT_BYTES
        {
            metrics::count(Metric::ApiKeysSecretNearLimit);
            tracing::warn!(
                secretId = %unit.secret_id,
                bytes = text.len(),
                limitBytes = SECRET_VALUE_LIMIT_BYTES,
                "the API-keys secret is near Secrets Manager's size limit; a write past it is refused, so remove disabled or unused keys (docs/api-keys.md)"
            );
        }
        let parsed = output
            .secret_string()
            .ok_or(MalformedSecret::NoSecretString)
            .and_then(KeySet::parse)
            .map_err(|e| ReadFailure {
                kind: FailureKind::Content,
                error: Error::internal(
                    format!(
                        "the API-keys secret {} is malformed; every request whose key it would hold fails until it is fixed",
                        unit.secret_id
                    ),
                    e,
                ),
            })?;
        for problem in &parsed.skipped {
            tracing::error!(secretId = %unit.secret_id, reason = %problem, "an entry of the API-keys secret is left out");
        }
        if parsed.keys.is_empty() {
            tracing::warn!(secretId = %unit.secret_id, "the API-keys secret lists no usable keys");
        }
        tracing::debug!(keys = parsed.keys.len(), "read the API-keys secret");
        Ok(parsed.keys)
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
    use function_support::clock::OffsetClock;
    use serde_json::json;
    use test_support::fake_aws::{FakeAws, Reply};

    use test_support::local::secret_json as secret;

    /// A GetSecretValue answer whose SecretString is `text`.
    fn secret_value(text: &str) -> Reply {
        Reply::ok(json!({"Name": "s", "SecretString": text}).to_string())
    }

    /// A verifier of the keys in the secret "s" spread over `units`, on a clock of its own.
    fn verifier_of(fake: &FakeAws, ttl: Duration, units: usize) -> (ApiKeyVerifier, OffsetClock) {
        let clock = OffsetClock::default();
        let verifier = ApiKeyVerifier::with_layout(
            fake.secrets_manager(),
            Layout::new("s", units).unwrap(),
            ttl,
            Duration::from_secs(900),
            Arc::new(clock.clone()),
        );
        (verifier, clock)
    }

    fn verifier(fake: &FakeAws, ttl: Duration) -> (ApiKeyVerifier, OffsetClock) {
        verifier_of(fake, ttl, 1)
    }

    #[tokio::test]
    async fn a_flood_of_unknown_keys_forces_at_most_one_read_per_interval() {
        let fake = FakeAws::new(|_| secret_value(&secret(&[("good", "acct_1")])));
        let (verifier, clock) = verifier(&fake, Duration::from_secs(300));

        for i in 0..100 {
            let result = verifier.verify(&format!("bad-{i}"), SCOPE_DELETE).await;
            assert!(matches!(result, Err(Error::UnknownApiKey)));
        }
        // One read to fill the cache, one forced by the first unknown key.
        assert_eq!(fake.count("GetSecretValue"), 2);

        // The documented figure (docs/api-keys.md): at most one forced read per 10 seconds.
        clock.advance(Duration::from_millis(9_900));
        assert!(verifier.verify("bad", SCOPE_DELETE).await.is_err());
        assert_eq!(fake.count("GetSecretValue"), 2, "none before 10 s");
        clock.advance(Duration::from_millis(100));
        for _ in 0..10 {
            assert!(verifier.verify("bad", SCOPE_DELETE).await.is_err());
        }
        assert_eq!(fake.count("GetSecretValue"), 3);
        let account = verifier.verify("good", SCOPE_DELETE).await.unwrap();
        assert_eq!(account.as_str(), "acct_1");
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

        verifier.verify("good", SCOPE_DELETE).await.unwrap();
        clock.advance(Duration::from_secs(59));
        verifier.verify("good", SCOPE_DELETE).await.unwrap();
        assert_eq!(fake.count("GetSecretValue"), 1);
        clock.advance(Duration::from_secs(1));
        verifier.verify("good", SCOPE_DELETE).await.unwrap();
        assert_eq!(fake.count("GetSecretValue"), 2);
    }

    #[tokio::test]
    async fn throttling_without_cached_keys_is_unavailable_and_backs_off() {
        let fake = FakeAws::new(|_| Reply::error(400, "ThrottlingException"));
        let (verifier, clock) = verifier(&fake, Duration::from_secs(60));

        let err = verifier.verify("k", SCOPE_DELETE).await.unwrap_err();
        assert!(err.is_transient(), "{err:?}");
        let calls = fake.count("GetSecretValue");
        let err = verifier.verify("k", SCOPE_DELETE).await.unwrap_err();
        assert!(err.is_transient(), "{err:?}");
        assert_eq!(
            fake.count("GetSecretValue"),
            calls,
            "no new read within the back-off"
        );
        // The documented figure (docs/api-keys.md): no other read for one second.
        clock.advance(Duration::from_millis(990));
        let _ = verifier.verify("k", SCOPE_DELETE).await;
        assert_eq!(fake.count("GetSecretValue"), calls, "none before 1 s");
        clock.advance(Duration::from_millis(10));
        let _ = verifier.verify("k", SCOPE_DELETE).await;
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
            (
                "malformed",
                secret_value("{\"keys\": 1}"),
                "without a \"keys\" array",
            ),
        ];
        for (case, reply, cause) in cases {
            let fake = FakeAws::new(move |_| reply.clone());
            let (verifier, _) = verifier(&fake, Duration::from_secs(60));
            let err = verifier.verify("k", SCOPE_DELETE).await.unwrap_err();
            assert!(matches!(err, Error::Internal { .. }), "{case}: {err:?}");
            let chain = function_support::ErrorChain(&err).to_string();
            assert!(chain.contains(cause), "{case}: {chain}");
        }
    }

    /// Answers the first read with the keys, every later one with `failure`.
    fn fails_after_the_first_read(failure: Reply) -> FakeAws {
        FakeAws::new(move |call| match call.nth {
            0 => secret_value(&secret(&[("good", "acct_1")])),
            _ => failure.clone(),
        })
    }

    #[tokio::test]
    async fn the_last_good_keys_serve_while_secrets_manager_fails_up_to_the_max_staleness() {
        for failure in [
            Reply::error(503, "InternalServiceError"),
            Reply::error(400, "AccessDeniedException"),
        ] {
            let fake = fails_after_the_first_read(failure.clone());
            let (verifier, clock) = verifier(&fake, Duration::from_secs(60));
            verifier.verify("good", SCOPE_DELETE).await.unwrap();

            clock.advance(Duration::from_secs(60 + 899));
            let served = verifier.verify("good", SCOPE_DELETE).await;
            assert_eq!(
                served.unwrap().as_str(),
                "acct_1",
                "{failure:?}: stale but served"
            );
            assert_eq!(
                fake.count("GetSecretValue"),
                2,
                "{failure:?}: a read was tried"
            );

            clock.advance(Duration::from_secs(1));
            let err = verifier.verify("good", SCOPE_DELETE).await.unwrap_err();
            assert!(
                !matches!(err, Error::UnknownApiKey),
                "{failure:?}: past the max staleness the failure shows: {err:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_malformed_new_secret_is_not_served_around() {
        let fake = fails_after_the_first_read(secret_value("not json"));
        let (verifier, clock) = verifier(&fake, Duration::from_secs(60));
        verifier.verify("good", SCOPE_DELETE).await.unwrap();
        clock.advance(Duration::from_secs(61));
        let err = verifier.verify("good", SCOPE_DELETE).await.unwrap_err();
        assert!(matches!(err, Error::Internal { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn a_zero_max_staleness_serves_nothing_stale() {
        let fake = fails_after_the_first_read(Reply::error(503, "InternalServiceError"));
        let clock = OffsetClock::default();
        let verifier = ApiKeyVerifier::new(
            fake.secrets_manager(),
            "s",
            Duration::from_secs(60),
            Duration::ZERO,
            Arc::new(clock.clone()),
        );
        verifier.verify("good", SCOPE_DELETE).await.unwrap();
        clock.advance(Duration::from_secs(60));
        let err = verifier.verify("good", SCOPE_DELETE).await.unwrap_err();
        assert!(err.is_transient(), "{err:?}");
    }

    #[tokio::test]
    async fn an_unknown_key_while_secrets_manager_fails_is_unknown_not_unavailable() {
        let fake = fails_after_the_first_read(Reply::error(503, "InternalServiceError"));
        let (verifier, _) = verifier(&fake, Duration::from_secs(60));
        verifier.verify("good", SCOPE_DELETE).await.unwrap();
        let err = verifier.verify("new", SCOPE_DELETE).await.unwrap_err();
        assert!(matches!(err, Error::UnknownApiKey), "{err:?}");
        assert_eq!(fake.count("GetSecretValue"), 2, "the forced read was tried");
    }

    #[tokio::test]
    async fn a_secret_answer_cut_short_is_transient_and_its_content_is_not_in_the_error() {
        let whole = json!({"Name": "s", "SecretString": secret(&[("good", "acct_1")])}).to_string();
        let cut = whole[..whole.len() - 20].to_owned();
        let fake = FakeAws::new(move |_| Reply::ok(cut.clone()));
        let (verifier, _) = verifier(&fake, Duration::from_secs(60));
        let err = verifier.verify("good", SCOPE_DELETE).await.unwrap_err();
        let chain = function_support::ErrorChain(&err).to_string();
        assert!(err.is_transient(), "{chain}");
        assert!(!chain.contains(&hash_key("good")[..12]), "{chain}");
    }

    /// The secret id a GetSecretValue call asked for.
    fn secret_id(call: &test_support::fake_aws::Call) -> String {
        let body: serde_json::Value = serde_json::from_str(&call.body).unwrap();
        body["SecretId"].as_str().unwrap().to_owned()
    }

    /// Units: the secret ids a fake was asked for, in order.
    fn secret_ids_read(fake: &FakeAws) -> Vec<String> {
        fake.calls()
            .iter()
            .filter(|c| c.operation == "GetSecretValue")
            .map(secret_id)
            .collect()
    }

    /// `count` keys named `prefix-<n>` that belong to `unit` of `units`.
    fn keys_in_unit(prefix: &str, unit: usize, units: usize, count: usize) -> Vec<String> {
        (0..)
            .map(|n| format!("{prefix}-{n}"))
            .filter(|k| layout::unit_of(&format::digest(k), units) == unit)
            .take(count)
            .collect()
    }

    /// A fake Secrets Manager holding `keys` spread over `units` under the secret id "s";
    /// `broken` units answer a malformed secret.
    fn fake_units(keys: Vec<String>, units: usize, broken: &'static [usize]) -> FakeAws {
        FakeAws::new(move |call| {
            let id = secret_id(call);
            let unit = (0..units)
                .find(|u| layout::unit_secret_id("s", *u, units) == id)
                .expect("a unit's secret id");
            if broken.contains(&unit) {
                return secret_value("not json");
            }
            let listed: Vec<(&str, &str)> = keys
                .iter()
                .filter(|k| layout::unit_of(&format::digest(k), units) == unit)
                .map(|k| (k.as_str(), "acct_1"))
                .collect();
            secret_value(&secret(&listed))
        })
    }

    fn unit_verifier(fake: &FakeAws, units: usize) -> (ApiKeyVerifier, OffsetClock) {
        verifier_of(fake, Duration::from_secs(300), units)
    }

    #[tokio::test]
    async fn a_request_reads_only_the_unit_of_its_key_and_init_reads_none() {
        let units = 8;
        let keys: Vec<String> = (0..units)
            .flat_map(|u| keys_in_unit("k", u, units, 2))
            .collect();
        let fake = fake_units(keys.clone(), units, &[]);
        let (verifier, _) = unit_verifier(&fake, units);
        verifier.warm_up().await.unwrap();
        assert_eq!(
            fake.count("GetSecretValue"),
            0,
            "which unit is not known at init"
        );

        let in_unit_3 = keys_in_unit("k", 3, units, 2);
        verifier.verify(&in_unit_3[0], SCOPE_DELETE).await.unwrap();
        verifier.verify(&in_unit_3[1], SCOPE_DELETE).await.unwrap();
        assert_eq!(secret_ids_read(&fake), ["s/0003"]);
        verifier
            .verify(&keys_in_unit("k", 5, units, 1)[0], SCOPE_DELETE)
            .await
            .unwrap();
        assert_eq!(secret_ids_read(&fake), ["s/0003", "s/0005"]);
    }

    #[tokio::test]
    async fn an_unknown_key_forces_a_read_of_its_unit_only() {
        let units = 4;
        let fake = fake_units(keys_in_unit("k", 1, units, 1), units, &[]);
        let (verifier, _) = unit_verifier(&fake, units);
        verifier
            .verify(&keys_in_unit("k", 1, units, 1)[0], SCOPE_DELETE)
            .await
            .unwrap();
        let unknown_in_2 = keys_in_unit("unknown", 2, units, 1);
        assert!(matches!(
            verifier.verify(&unknown_in_2[0], SCOPE_DELETE).await,
            Err(Error::UnknownApiKey)
        ));
        // Unit 2's first read fills its cache; it is not forced again within the interval.
        assert_eq!(secret_ids_read(&fake), ["s/0001", "s/0002", "s/0002"]);
    }

    #[tokio::test]
    async fn a_flood_of_unknown_keys_over_every_unit_forces_reads_at_most_ten_a_second() {
        let units = 64;
        let fake = fake_units(vec![], units, &[]);
        let (verifier, clock) = unit_verifier(&fake, units);
        // Fill every unit's cache first, as a busy environment would have.
        for unit in 0..units {
            let key = &keys_in_unit("fill", unit, units, 1)[0];
            let _ = verifier.verify(key, SCOPE_DELETE).await;
            clock.advance(MIN_FORCED_READ_SPACING);
        }
        let before = fake.count("GetSecretValue");
        assert!(before >= units, "each unit read at least once: {before}");
        // Past the per-unit interval: every unit may be forced again, but not all at once.
        clock.advance(MIN_FORCED_REFRESH_INTERVAL);
        for unit in 0..units {
            for key in keys_in_unit("flood", unit, units, 3) {
                assert!(verifier.verify(&key, SCOPE_DELETE).await.is_err());
            }
        }
        assert_eq!(
            fake.count("GetSecretValue") - before,
            1,
            "one forced read, then the spacing holds while no time passes"
        );
        for _ in 0..10 {
            clock.advance(MIN_FORCED_READ_SPACING);
            for unit in 0..units {
                let _ = verifier
                    .verify(&keys_in_unit("flood", unit, units, 1)[0], SCOPE_DELETE)
                    .await;
            }
        }
        assert_eq!(
            fake.count("GetSecretValue") - before,
            11,
            "at most one per spacing"
        );
    }

    #[tokio::test]
    async fn while_secrets_manager_is_unavailable_one_read_a_second_is_tried_whatever_the_units() {
        let units = 16;
        let fake = FakeAws::new(|_| Reply::error(503, "InternalServiceError"));
        let (verifier, clock) = unit_verifier(&fake, units);
        for unit in 0..units {
            let err = verifier
                .verify(&keys_in_unit("k", unit, units, 1)[0], SCOPE_DELETE)
                .await
                .unwrap_err();
            assert!(err.is_transient(), "unit {unit}: {err:?}");
        }
        let first = fake.count("GetSecretValue");
        assert!(first >= 1);
        assert_eq!(
            secret_ids_read(&fake)
                .iter()
                .collect::<std::collections::BTreeSet<_>>()
                .len(),
            1,
            "one unit tried, the others backed off with it: {:?}",
            secret_ids_read(&fake)
        );
        // Another unit tries first this time: the one tried before, whose own failure is now
        // old, still backs off with the newer failure of the other.
        clock.advance(FAILURE_BACKOFF);
        for unit in (0..units).rev() {
            let _ = verifier
                .verify(&keys_in_unit("k", unit, units, 1)[0], SCOPE_DELETE)
                .await;
        }
        assert_eq!(
            fake.count("GetSecretValue") - first,
            first,
            "one more read: {first}"
        );
    }

    #[tokio::test]
    async fn a_malformed_unit_fails_only_the_keys_it_would_hold() {
        let units = 4;
        let good = keys_in_unit("k", 0, units, 1);
        let in_broken = keys_in_unit("k", 2, units, 1);
        let fake = fake_units([good.clone(), in_broken.clone()].concat(), units, &[2]);
        let (verifier, _) = unit_verifier(&fake, units);
        let err = verifier
            .verify(&in_broken[0], SCOPE_DELETE)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Internal { .. }), "{err:?}");
        let chain = function_support::ErrorChain(&err).to_string();
        assert!(chain.contains("s/0002"), "{chain}");
        assert_eq!(
            verifier
                .verify(&good[0], SCOPE_DELETE)
                .await
                .unwrap()
                .as_str(),
            "acct_1"
        );
    }

    /// A secret at 80% of Secrets Manager's 65,536 bytes is counted (and warned about) on each
    /// read; one a byte smaller is not.
    #[tokio::test]
    async fn a_secret_near_the_size_limit_is_counted_on_each_read() {
        assert_eq!(NEAR_LIMIT_BYTES, 52_429, "80% of 65,536 bytes, rounded up");
        for (padding_to, counted) in [(52_429, 1.0), (52_428, 0.0)] {
            let base = secret(&[("good", "acct_1")]);
            // Whitespace inside the object pads the value to the size wanted.
            let text = format!("{{{}{}", " ".repeat(padding_to - base.len()), &base[1..]);
            assert_eq!(text.len(), padding_to);
            let fake = FakeAws::new(move |_| secret_value(&text));
            let (verifier, _) = verifier(&fake, Duration::from_secs(60));
            let (_, recorder) = metrics::collect(metrics::Recorder::default(), async {
                verifier.verify("good", SCOPE_DELETE).await.unwrap();
            })
            .await;
            assert_eq!(
                recorder
                    .values(Metric::ApiKeysSecretNearLimit)
                    .iter()
                    .sum::<f64>(),
                counted,
                "a {padding_to}-byte secret"
            );
        }
    }

    /// A fake Secrets Manager answering each secret id from `secrets`, `{"keys": []}` for any
    /// other id.
    fn fake_secrets(secrets: Vec<(String, serde_json::Value)>) -> FakeAws {
        FakeAws::new(move |call| {
            let id = secret_id(call);
            let value = secrets
                .iter()
                .find(|(name, _)| *name == id)
                .map_or_else(|| json!({"keys": []}), |(_, value)| value.clone());
            secret_value(&value.to_string())
        })
    }

    fn entry(key: &str, disabled: bool) -> serde_json::Value {
        json!({"sha256": hash_key(key), "accountId": "acct_1", "name": "t", "disabled": disabled})
    }

    /// The new layout, 4 units under "s", and the previous one, the one secret "old".
    fn moving_verifier(fake: &FakeAws) -> ApiKeyVerifier {
        verifier_of(fake, Duration::from_secs(300), 4)
            .0
            .reading_previous(Some(Layout::one("old")))
    }

    /// Checks that `key` passes for acct_1; how many times it counted `ApiKeysFoundInPrevious`.
    async fn account_and_previous_count(verifier: &ApiKeyVerifier, key: &str) -> f64 {
        let (account, recorder) = metrics::collect(metrics::Recorder::default(), async {
            verifier.verify(key, SCOPE_DELETE).await.unwrap()
        })
        .await;
        assert_eq!(account.as_str(), "acct_1");
        recorder.values(Metric::ApiKeysFoundInPrevious).iter().sum()
    }

    #[tokio::test]
    async fn during_a_move_a_key_the_new_layout_does_not_list_is_found_in_the_previous_one() {
        let copied = keys_in_unit("copied", 1, 4, 1).remove(0);
        let not_yet = keys_in_unit("not-yet", 1, 4, 1).remove(0);
        let fake = fake_secrets(vec![
            ("s/0001".into(), json!({"keys": [entry(&copied, false)]})),
            (
                "old".into(),
                json!({"keys": [entry(&copied, false), entry(&not_yet, false)]}),
            ),
        ]);
        let verifier = moving_verifier(&fake);

        assert_eq!(account_and_previous_count(&verifier, &copied).await, 0.0);
        assert_eq!(
            secret_ids_read(&fake),
            ["s/0001"],
            "a copied key reads only its unit"
        );
        assert_eq!(
            account_and_previous_count(&verifier, &not_yet).await,
            1.0,
            "counted, so that operators see the move finish"
        );
        assert_eq!(
            secret_ids_read(&fake),
            ["s/0001", "s/0001", "old"],
            "its unit, forced once, then the previous secret"
        );
        assert!(matches!(
            verifier.verify("never-listed-anywhere", SCOPE_DELETE).await,
            Err(Error::UnknownApiKey)
        ));
    }

    #[tokio::test]
    async fn during_a_move_an_entry_in_the_new_layout_wins_over_the_previous_one() {
        let key = keys_in_unit("disabled", 2, 4, 1).remove(0);
        let fake = fake_secrets(vec![
            ("s/0002".into(), json!({"keys": [entry(&key, true)]})),
            ("old".into(), json!({"keys": [entry(&key, false)]})),
        ]);
        let verifier = moving_verifier(&fake);
        assert!(matches!(
            verifier.verify(&key, SCOPE_DELETE).await,
            Err(Error::DisabledApiKey)
        ));
        assert_eq!(
            secret_ids_read(&fake),
            ["s/0002"],
            "the previous layout is not read"
        );
    }

    /// Growing from 2 units under "old" to 4 under "s": the previous layout is units too, and
    /// a key not yet copied is read from its unit there.
    #[tokio::test]
    async fn during_a_move_to_more_units_a_key_not_yet_copied_is_found_in_its_previous_unit() {
        let key = keys_in_unit("k", 3, 4, 1).remove(0);
        let previous_unit = layout::unit_of(&format::digest(&key), 2);
        let fake = fake_secrets(vec![(
            layout::unit_secret_id("old", previous_unit, 2),
            json!({"keys": [entry(&key, false)]}),
        )]);
        let verifier = verifier_of(&fake, Duration::from_secs(300), 4)
            .0
            .reading_previous(Some(Layout::new("old", 2).unwrap()));
        assert_eq!(
            verifier.verify(&key, SCOPE_DELETE).await.unwrap().as_str(),
            "acct_1"
        );
        assert_eq!(
            secret_ids_read(&fake),
            [
                "s/0003".to_owned(),
                "s/0003".to_owned(),
                format!("old/{previous_unit:04}")
            ],
            "its new unit, forced once, then its previous unit only"
        );
    }

    #[tokio::test]
    async fn during_a_move_a_failing_previous_secret_fails_only_the_keys_not_yet_copied() {
        let copied = keys_in_unit("copied", 0, 4, 1).remove(0);
        let fake = FakeAws::new(move |call| match secret_id(call).as_str() {
            "old" => secret_value("not json"),
            _ => secret_value(&secret(&[(&copied, "acct_1")])),
        });
        let verifier = moving_verifier(&fake);
        let copied = keys_in_unit("copied", 0, 4, 1).remove(0);
        assert!(verifier.verify(&copied, SCOPE_DELETE).await.is_ok());
        let err = verifier
            .verify(&keys_in_unit("not-yet", 0, 4, 1)[0], SCOPE_DELETE)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Internal { .. }), "{err:?}");
        assert!(verifier.verify(&copied, SCOPE_DELETE).await.is_ok());
    }

    #[tokio::test]
    async fn the_read_at_init_gives_up_after_its_bound() {
        let fake = FakeAws::new(|_| Reply::ok("{}").after(Duration::from_secs(60)));
        let (verifier, _) = verifier(&fake, Duration::from_secs(60));
        let started = std::time::Instant::now();
        let err = verifier.warm_up().await.unwrap_err();
        assert!(err.is_transient(), "{err:?}");
        // The documented figure (docs/api-keys.md): the read at init gives up after 2 seconds.
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_secs(2) && waited < Duration::from_millis(2_500),
            "{waited:?}"
        );
    }
}
