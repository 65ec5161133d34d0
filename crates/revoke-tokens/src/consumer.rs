//! The per-record decision and the batch loop (see the crate's documentation for the rules).

use std::time::{Duration, Instant, SystemTime};

use function_support::clock::SharedClock;
use integrations_table::keys::TOKEN_SK_PREFIX;
use integrations_table::keys::{PK, SK};
use integrations_table::marker::{epoch_seconds, rfc3339};
use platform_revoke::{
    BoxFuture, LoginFlow, Outcome, Platform, RefreshJournal, Revocation, RevokeError, Revoker,
    Support, Token, TokenItem, TokenType,
};

use crate::marker_store::{
    Entry, MarkerStore, REVOCATION_REFRESHES, REVOCATION_RETRIES, ReadMarker,
};
use crate::outcome::{Handling, MarkerOutcome};
use crate::output::{Metrics, log};
use crate::stream::{BatchResponse, ItemFailure, RecordView, StreamEvent, StreamRecord};

pub use crate::deadline::RECORD_RESERVE;

/// How many deliveries may fail, and how old a record may get, before it is recorded `failed`.
#[derive(Debug, Clone, Copy)]
pub struct GiveUp {
    pub max_attempts: u32,
    pub after: Duration,
}

impl Default for GiveUp {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            after: Duration::from_secs(3000),
        }
    }
}

/// The consumer: one table, one revoker.
pub struct Consumer {
    store: MarkerStore,
    revoker: Revoker,
    clock: SharedClock,
    metrics: Metrics,
    give_up: GiveUp,
    platform_timeout: Duration,
}

impl Consumer {
    pub fn new(store: MarkerStore, revoker: Revoker, clock: SharedClock, metrics: Metrics) -> Self {
        Self {
            store,
            revoker,
            clock,
            metrics,
            give_up: GiveUp::default(),
            platform_timeout: Duration::from_secs(5),
        }
    }

    /// When deliveries are given up (`REVOKE_MAX_ATTEMPTS`, `REVOKE_GIVE_UP_AFTER_SECONDS`).
    pub fn with_give_up(mut self, give_up: GiveUp) -> Self {
        self.give_up = give_up;
        self
    }

    /// The revoker's timeout of one platform call (`REVOKE_TIMEOUT_MS`): a record is attempted
    /// only while the invocation has time for its calls and [`RECORD_RESERVE`].
    pub fn with_platform_timeout(mut self, timeout: Duration) -> Self {
        self.platform_timeout = timeout;
        self
    }

    /// Handles one batch, in order, until `deadline` (the invocation's). At the first record to
    /// hand back, it stops and reports that record: Lambda sends the batch again from there. So
    /// `batchItemFailures` holds only a record that was not finished.
    pub async fn handle(
        &self,
        event: &StreamEvent,
        request_id: &str,
        deadline: Instant,
    ) -> BatchResponse {
        let mut counts = std::collections::BTreeMap::new();
        let mut response = BatchResponse::default();
        for record in &event.records {
            let handling = self.process(record, request_id, deadline).await;
            log(record, &handling);
            for metric in handling.metrics() {
                *counts.entry(metric).or_insert(0u32) += 1;
            }
            if handling.hands_back() {
                response.batch_item_failures.push(ItemFailure {
                    item_identifier: record.sequence_number().to_owned(),
                });
                break;
            }
        }
        self.metrics.emit(&counts, request_id);
        response
    }

    /// Decides and does what one record asks.
    pub async fn process(
        &self,
        record: &StreamRecord,
        request_id: &str,
        deadline: Instant,
    ) -> Handling {
        if record.event_name != "REMOVE" {
            return Handling::Ignored("not a removal");
        }
        let (Some(pk), Some(sk)) = (record.key(PK), record.key(SK)) else {
            return Handling::Ignored("not an item of this table");
        };
        if !sk.starts_with(TOKEN_SK_PREFIX) {
            return Handling::Ignored("not a token");
        }
        if record.is_ttl_removal() {
            return Handling::Ignored("removed by TTL");
        }
        let (Some(token), Some(token_type)) = (
            record.old("token").filter(|t| !t.is_empty()),
            record
                .old("tokenType")
                .and_then(|t| t.parse::<TokenType>().ok()),
        ) else {
            return Handling::Skipped(
                "no token, or a tokenType other than access_token or refresh_token",
            );
        };
        if deadline.saturating_duration_since(Instant::now()) < RECORD_RESERVE * 2 {
            return Handling::Deferred;
        }
        let marker = match self.store.marker(pk).await {
            Ok(Some(marker)) if marker.marker.is_live(self.clock.now()) => marker,
            Ok(_) => {
                return match self.store.integration_exists(pk).await {
                    Ok(true) => Handling::Retry(
                        "no disconnect marker yet, and the integration is still there: a disconnect in progress deletes surplus tokens before its transaction".to_owned(),
                    ),
                    Ok(false) => Handling::Ignored("no live disconnect marker"),
                    Err(e) => Handling::Retry(e.to_string()),
                };
            }
            Err(e) => return Handling::Retry(e.to_string()),
        };
        if marker.recorded_events.iter().any(|e| e == &record.event_id) {
            return Handling::AlreadyRecorded;
        }
        let at = rfc3339(epoch_seconds(self.clock.now()));
        let recording = Recording {
            store: &self.store,
            pk,
            sk,
            event_id: &record.event_id,
            token_type,
            at: &at,
        };

        let platform = match platform_revoke::support(&marker.marker.integration_type) {
            Support::Unsupported(reason) => {
                return recording
                    .write(None, MarkerOutcome::Unsupported, Some(reason), None, false)
                    .await;
            }
            Support::Adapter(platform) => platform,
        };
        let login_flow = match LoginFlow::parse(record.old("loginFlow")) {
            Ok(flow) => flow,
            Err(e) => {
                let reason = e.to_string();
                return recording
                    .write(
                        Some(platform),
                        MarkerOutcome::Failed,
                        Some(&reason),
                        None,
                        false,
                    )
                    .await;
            }
        };
        if let Some(grant) = marker.marker.grant_id.as_deref() {
            match self.store.grant_shared(pk, grant).await {
                Err(e) => return Handling::Retry(e.to_string()),
                Ok(true) => {
                    return recording
                        .write(
                            Some(platform),
                            MarkerOutcome::SharedGrant,
                            None,
                            None,
                            false,
                        )
                        .await;
                }
                Ok(false) => {}
            }
        }
        if let Some(via) = covered_by(&marker, platform, sk, token_type) {
            return recording
                .write(
                    Some(platform),
                    MarkerOutcome::Revoked,
                    None,
                    Some(&via),
                    false,
                )
                .await;
        }
        let prior_failures = marker.failed_deliveries(&record.event_id);
        if prior_failures >= self.give_up.max_attempts as usize {
            let reason = format!("gave up after {prior_failures} failed deliveries");
            return recording
                .write(
                    Some(platform),
                    MarkerOutcome::Failed,
                    Some(&reason),
                    None,
                    true,
                )
                .await;
        }
        if deadline.saturating_duration_since(Instant::now())
            < RECORD_RESERVE + self.calls_needed(platform, token_type)
        {
            return Handling::Deferred;
        }

        let item = TokenItem {
            login_flow,
            server: record.old("server").map(str::to_owned),
        };
        let journal = Journal {
            store: &self.store,
            pk,
            event_id: &record.event_id,
            refreshed_before: marker.refreshes.iter().any(|e| e == &record.event_id),
        };
        let token = Token::new(token);
        let revocation = Revocation {
            platform,
            token: &token,
            token_type,
            item: &item,
            deadline: deadline - RECORD_RESERVE,
        };
        let (outcome, reason, gave_up) = match self.revoker.revoke(&revocation, &journal).await {
            Ok(Outcome::Revoked) => (MarkerOutcome::Revoked, None, false),
            Ok(Outcome::Unconfirmed) => (MarkerOutcome::Unconfirmed, None, false),
            Ok(Outcome::Unsupported(reason)) => {
                (MarkerOutcome::Unsupported, Some(reason.to_owned()), false)
            }
            Err(e @ RevokeError::Permanent { .. }) => {
                (MarkerOutcome::Failed, Some(e.reason().to_owned()), false)
            }
            Err(e) => {
                let failures = prior_failures + 1;
                let age = record.age(SystemTime::now());
                if failures >= self.give_up.max_attempts as usize {
                    let reason =
                        format!("gave up after {failures} failed deliveries: {}", e.reason());
                    (MarkerOutcome::Failed, Some(reason), true)
                } else if age.is_some_and(|age| age >= self.give_up.after) {
                    let reason = format!(
                        "gave up: the record is older than {} s: {}",
                        self.give_up.after.as_secs(),
                        e.reason()
                    );
                    (MarkerOutcome::Failed, Some(reason), true)
                } else {
                    // Best effort: an unnoted failure only costs one more delivery.
                    let _ = self
                        .store
                        .note(
                            pk,
                            REVOCATION_RETRIES,
                            &format!("{}#{request_id}", record.event_id),
                        )
                        .await;
                    return Handling::Retry(e.to_string());
                }
            }
        };
        recording
            .write(Some(platform), outcome, reason.as_deref(), None, gave_up)
            .await
    }

    /// The time the platform calls of one token may take: three for a TikTok refresh token
    /// (refresh, and the fresh token's revoke with its retries), one otherwise.
    fn calls_needed(&self, platform: Platform, token_type: TokenType) -> Duration {
        let calls = if platform == Platform::TikTok && token_type == TokenType::RefreshToken {
            3
        } else {
            1
        };
        self.platform_timeout * calls
    }
}

/// The earlier outcome on the marker whose revocation, by `platform`'s documentation, revoked
/// this token too: its token key.
fn covered_by(
    marker: &ReadMarker,
    platform: Platform,
    token_key: &str,
    token_type: TokenType,
) -> Option<String> {
    marker
        .outcomes
        .iter()
        .filter(|o| o.outcome == MarkerOutcome::Revoked.as_str())
        .filter(|o| o.platform == platform.as_str() && o.token_key != token_key)
        .find(|o| {
            o.token_type
                .parse::<TokenType>()
                .is_ok_and(|revoked| platform.revocation_covers(revoked, token_type))
        })
        .map(|o| o.token_key.clone())
}

/// Writing one record's outcome.
struct Recording<'a> {
    store: &'a MarkerStore,
    pk: &'a str,
    sk: &'a str,
    event_id: &'a str,
    token_type: TokenType,
    at: &'a str,
}

impl Recording<'_> {
    async fn write(
        &self,
        platform: Option<Platform>,
        outcome: MarkerOutcome,
        reason: Option<&str>,
        via: Option<&str>,
        gave_up: bool,
    ) -> Handling {
        let entry = Entry {
            event_id: self.event_id,
            token_key: self.sk,
            token_type: self.token_type.as_str(),
            platform: platform.map(Platform::as_str),
            outcome: outcome.as_str(),
            reason,
            via,
            at: self.at,
        };
        match self.store.record(self.pk, &entry).await {
            Ok(()) => Handling::Recorded {
                outcome,
                reason: reason.map(str::to_owned),
                via: via.map(str::to_owned),
                gave_up,
            },
            Err(e) => Handling::Retry(e.to_string()),
        }
    }
}

/// The marker as TikTok's refresh journal.
struct Journal<'a> {
    store: &'a MarkerStore,
    pk: &'a str,
    event_id: &'a str,
    refreshed_before: bool,
}

impl RefreshJournal for Journal<'_> {
    fn refreshed_before(&self) -> bool {
        self.refreshed_before
    }

    fn note_refresh(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            self.store
                .note(self.pk, REVOCATION_REFRESHES, self.event_id)
                .await
                .map_err(|e| e.to_string())
        })
    }
}
