//! The executor: runs a batch's records side by side within bounds, and each record's steps as
//! the pure rule ([`crate::plan`]) gives them (see the crate's documentation for the rules).
//!
//! - The records of one partition (one integration) run one after another, in the batch's
//!   order: what an earlier token's outcome covers, and TikTok's refresh journal, depend on it.
//!   At a partition's first record handed back, its later records wait for the redelivery.
//! - Partitions run side by side, at most [`Concurrency::records`] at once, and the calls to one
//!   platform at most [`Concurrency::per_platform`] at once, so that one slow or throttling
//!   platform (its `Retry-After` waits are the revoker's, as before) holds only its own share.
//! - The checkpoint: the first record in the batch's order that is handed back is reported, and
//!   Lambda delivers the batch again from it. Every record before it is finished. A record after
//!   it that finished meanwhile is delivered again too and found on the marker's
//!   `revocationEvents` (`AlreadyRecorded`): never revoked or recorded twice.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use function_support::clock::SharedClock;
use futures_util::stream::{self, StreamExt};
use integrations_table::marker::{epoch_seconds, rfc3339};
use platform_revoke::{
    BoxFuture, Outcome, Platform, RefreshJournal, Revocation, RevokeError, Revoker, Token,
};
use tokio::sync::Semaphore;

use crate::marker_store::{Entry, MarkerStore};
use crate::outcome::Handling;
use crate::output::{Metrics, log};
use crate::plan::{self, Call, Fact, Facts, Removal, Rules, Step, Verdict};
use crate::stream::{BatchResponse, ItemFailure, RecordView, StreamEvent, StreamRecord};
use integrations_table::attributes::{REVOCATION_REFRESHES, REVOCATION_RETRIES};

pub use crate::deadline::RECORD_RESERVE;
pub use crate::plan::GiveUp;

/// How much of a batch runs at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Concurrency {
    /// Partitions (integrations) in progress at once (`REVOKE_CONCURRENCY`).
    pub records: usize,
    /// Calls to one platform at once (`REVOKE_PLATFORM_CONCURRENCY`).
    pub per_platform: usize,
}

impl Default for Concurrency {
    fn default() -> Self {
        Self {
            records: 48,
            per_platform: 24,
        }
    }
}

/// The consumer: one table, one revoker.
pub struct Consumer {
    store: MarkerStore,
    revoker: Revoker,
    clock: SharedClock,
    metrics: Metrics,
    rules: Rules,
    concurrency: Concurrency,
    /// One per platform, in `Platform::ALL`'s order.
    platform_slots: Vec<Semaphore>,
}

impl Consumer {
    pub fn new(store: MarkerStore, revoker: Revoker, clock: SharedClock, metrics: Metrics) -> Self {
        Self {
            store,
            revoker,
            clock,
            metrics,
            rules: Rules {
                give_up: GiveUp::default(),
                platform_timeout: Duration::from_secs(5),
            },
            concurrency: Concurrency::default(),
            platform_slots: slots(Concurrency::default().per_platform),
        }
    }

    /// When deliveries are given up (`REVOKE_MAX_ATTEMPTS`, `REVOKE_GIVE_UP_AFTER_SECONDS`).
    pub fn with_give_up(mut self, give_up: GiveUp) -> Self {
        self.rules.give_up = give_up;
        self
    }

    /// The revoker's timeout of one platform call (`REVOKE_TIMEOUT_MS`): a record is attempted
    /// only while the invocation has time for its calls and [`RECORD_RESERVE`].
    pub fn with_platform_timeout(mut self, timeout: Duration) -> Self {
        self.rules.platform_timeout = timeout;
        self
    }

    /// How much of a batch runs at once (each at least 1).
    pub fn with_concurrency(mut self, concurrency: Concurrency) -> Self {
        self.concurrency = Concurrency {
            records: concurrency.records.max(1),
            per_platform: concurrency.per_platform.max(1),
        };
        self.platform_slots = slots(self.concurrency.per_platform);
        self
    }

    /// Handles one batch until `deadline` (the invocation's), and reports the first record, in
    /// the batch's order, to be delivered again.
    pub async fn handle(
        &self,
        event: &StreamEvent,
        request_id: &str,
        deadline: Instant,
    ) -> BatchResponse {
        let records = &event.records;
        let mut handled: Vec<Option<Handling>> = vec![None; records.len()];
        let partitions = stream::iter(partitions(records))
            .map(|indices| self.partition(records, indices, request_id, deadline))
            .buffer_unordered(self.concurrency.records);
        let mut partitions = std::pin::pin!(partitions);
        while let Some(done) = partitions.next().await {
            for (index, handling) in done {
                handled[index] = Some(handling);
            }
        }
        // Every record after its partition's first hand-back was left for the redelivery, and
        // that hand-back comes before it: so this is the first record not finished.
        let checkpoint = handled
            .iter()
            .position(|h| h.as_ref().is_none_or(Handling::hands_back));
        let mut counts = BTreeMap::new();
        for (index, handling) in handled.iter().enumerate() {
            let Some(handling) = handling else { continue };
            // A record after the checkpoint comes back: unless this delivery settled it
            // (recorded, or a failed delivery), it is handled and counted then.
            let again = checkpoint.is_some_and(|c| index > c) && !settled(handling);
            if !again {
                for metric in handling.metrics() {
                    *counts.entry(metric).or_insert(0u32) += 1;
                }
            }
        }
        self.metrics.emit(&counts, request_id);
        BatchResponse {
            batch_item_failures: checkpoint
                .map(|index| ItemFailure {
                    item_identifier: records[index].sequence_number().to_owned(),
                })
                .into_iter()
                .collect(),
        }
    }

    /// The records of one partition, in order, until one is handed back.
    async fn partition(
        &self,
        records: &[StreamRecord],
        indices: Vec<usize>,
        request_id: &str,
        deadline: Instant,
    ) -> Vec<(usize, Handling)> {
        let mut done = Vec::with_capacity(indices.len());
        for index in indices {
            let handling = self.process(&records[index], request_id, deadline).await;
            log(&records[index], &handling);
            let stop = handling.hands_back();
            done.push((index, handling));
            if stop {
                break;
            }
        }
        done
    }

    /// Does what the rule asks for one record, step by step.
    pub async fn process(
        &self,
        record: &StreamRecord,
        request_id: &str,
        deadline: Instant,
    ) -> Handling {
        let now = self.clock.now();
        let removal = match plan::removal(record, now) {
            Ok(removal) => removal,
            Err(handling) => return handling,
        };
        let mut facts = Facts::default();
        loop {
            let time_left = deadline.saturating_duration_since(Instant::now());
            match plan::plan(&removal, &facts, now, time_left, &self.rules) {
                Step::Done(handling) => return handling,
                Step::Read(Fact::Marker) => {
                    facts.marker = Some(self.store.marker(removal.pk).await);
                }
                Step::Read(Fact::IntegrationExists) => {
                    facts.integration_exists =
                        Some(self.store.integration_exists(removal.pk).await);
                }
                Step::Read(Fact::GrantShared(grant)) => {
                    facts.grant_shared = Some(self.store.grant_shared(removal.pk, &grant).await);
                }
                Step::Revoke(call) => {
                    facts.answer = Some(self.revoke(&removal, call, deadline).await);
                }
                Step::Record(verdict) => return self.record(&removal, verdict, now).await,
                Step::HandBack { cause, counts } => {
                    if counts {
                        // Best effort: an unnoted failure only costs one more delivery.
                        let retry = format!("{}#{request_id}", removal.event_id);
                        let _ = self
                            .store
                            .note(removal.pk, REVOCATION_RETRIES, &retry)
                            .await;
                    }
                    return Handling::Retry(cause);
                }
            }
        }
    }

    /// The platform call, within the platform's share of the batch.
    async fn revoke(
        &self,
        removal: &Removal<'_>,
        call: Call,
        deadline: Instant,
    ) -> Result<Outcome, RevokeError> {
        let slots = &self.platform_slots[index_of(call.platform)];
        let _slot = slots
            .acquire()
            .await
            .expect("the semaphores are never closed");
        let token = Token::new(removal.token);
        let revocation = Revocation {
            platform: call.platform,
            token: &token,
            token_type: removal.token_type,
            item: &call.item,
            deadline: deadline - RECORD_RESERVE,
        };
        let journal = Journal {
            store: &self.store,
            pk: removal.pk,
            event_id: removal.event_id,
            refreshed_before: call.refreshed_before,
        };
        self.revoker.revoke(&revocation, &journal).await
    }

    /// Writes the verdict onto the marker.
    async fn record(
        &self,
        removal: &Removal<'_>,
        verdict: Verdict,
        now: std::time::SystemTime,
    ) -> Handling {
        let at = rfc3339(epoch_seconds(now));
        let reason = verdict.reason.as_ref().map(ToString::to_string);
        let entry = Entry {
            event_id: removal.event_id,
            token_key: removal.sk,
            token_type: removal.token_type.as_str(),
            platform: verdict.platform.map(Platform::as_str),
            outcome: verdict.outcome.as_str(),
            reason: reason.as_deref(),
            via: verdict.via.as_deref(),
            at: &at,
        };
        match self.store.record(removal.pk, &entry).await {
            Ok(()) => Handling::Recorded {
                outcome: verdict.outcome,
                reason: verdict.reason,
                via: verdict.via,
                gave_up: verdict.gave_up,
            },
            Err(e) => Handling::Retry(e.into()),
        }
    }
}

fn slots(per_platform: usize) -> Vec<Semaphore> {
    Platform::ALL
        .iter()
        .map(|_| Semaphore::new(per_platform))
        .collect()
}

fn index_of(platform: Platform) -> usize {
    Platform::ALL
        .iter()
        .position(|p| *p == platform)
        .expect("ALL lists every platform")
}

/// The batch's record indices by partition key, each partition in the batch's order; a record
/// without one is a partition of its own (the rule ignores it at once).
fn partitions<R: RecordView>(records: &[R]) -> Vec<Vec<usize>> {
    let mut order: Vec<Vec<usize>> = Vec::new();
    let mut by_key: HashMap<&str, usize> = HashMap::new();
    for (index, record) in records.iter().enumerate() {
        match record.key(integrations_table::keys::PK) {
            Some(pk) => match by_key.get(pk) {
                Some(&at) => order[at].push(index),
                None => {
                    by_key.insert(pk, order.len());
                    order.push(vec![index]);
                }
            },
            None => order.push(vec![index]),
        }
    }
    order
}

/// Whether this delivery settled something a redelivery will not count again: an outcome on
/// the marker, or a failed delivery.
fn settled(handling: &Handling) -> bool {
    matches!(
        handling,
        Handling::Recorded { .. } | Handling::AlreadyRecorded | Handling::Retry(_)
    )
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
