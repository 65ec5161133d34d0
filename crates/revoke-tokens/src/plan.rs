//! The rule for one record, pure: from the record and the facts gathered so far, the next step.
//! No client, no clock: the executor ([`crate::consumer`]) reads what a step asks for, adds it
//! to [`Facts`], and plans again, until a step ends the record (see the crate's documentation
//! for the rules in prose).

use std::time::{Duration, SystemTime};

use integrations_table::attributes::{LOGIN_FLOW, PK, SERVER, SK, TOKEN, TOKEN_TYPE};
use integrations_table::keys::TOKEN_SK_PREFIX;
use platform_revoke::{LoginFlow, Outcome, Platform, RevokeError, Support, TokenItem, TokenType};

use crate::deadline::RECORD_RESERVE;
use crate::marker_store::{ReadMarker, StoreError};
use crate::outcome::{HandBack, Handling, MarkerOutcome, Reason};
use crate::stream::RecordView;

/// When a record is recorded `failed` instead of handed back: its `max_attempts`-th failing
/// delivery (the 5th by default), or a failing delivery once it is `after` old.
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

/// The settings the rule depends on.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub give_up: GiveUp,
    /// One platform call's timeout: a record is attempted only while the invocation has time for
    /// its calls and [`RECORD_RESERVE`].
    pub platform_timeout: Duration,
}

/// A token removal, as far as the rule reads the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal<'r> {
    pub pk: &'r str,
    pub sk: &'r str,
    pub event_id: &'r str,
    pub token: &'r str,
    pub token_type: TokenType,
    /// `loginFlow`, as the item had it (read when the platform needs it).
    pub login_flow: Option<&'r str>,
    /// `server` (Mastodon).
    pub server: Option<&'r str>,
    /// How long ago the token was removed, when the record says.
    pub age: Option<Duration>,
}

/// Reads a record as a token removal; or how it is handled when it is none.
pub fn removal<R: RecordView>(record: &R, now: SystemTime) -> Result<Removal<'_>, Handling> {
    if record.event_name() != "REMOVE" {
        return Err(Handling::Ignored("not a removal"));
    }
    let (Some(pk), Some(sk)) = (record.key(PK), record.key(SK)) else {
        return Err(Handling::Ignored("not an item of this table"));
    };
    if !sk.starts_with(TOKEN_SK_PREFIX) {
        return Err(Handling::Ignored("not a token"));
    }
    if record.is_ttl_removal() {
        return Err(Handling::Ignored("removed by TTL"));
    }
    let (Some(token), Some(token_type)) = (
        record.old(TOKEN).filter(|t| !t.is_empty()),
        record
            .old(TOKEN_TYPE)
            .and_then(|t| t.parse::<TokenType>().ok()),
    ) else {
        return Err(Handling::Skipped(
            "no token, or a tokenType other than access_token or refresh_token",
        ));
    };
    Ok(Removal {
        pk,
        sk,
        event_id: record.event_id(),
        token,
        token_type,
        login_flow: record.old(LOGIN_FLOW),
        server: record.old(SERVER),
        age: record.age(now),
    })
}

/// What the executor has read so far for one record; `None`: not read yet.
#[derive(Debug, Default)]
pub struct Facts {
    /// The partition's marker (`Ok(None)`: there is none).
    pub marker: Option<Result<Option<ReadMarker>, StoreError>>,
    /// Whether the integration item is still there.
    pub integration_exists: Option<Result<bool, StoreError>>,
    /// Whether another live integration has the marker's `grantId`.
    pub grant_shared: Option<Result<bool, StoreError>>,
    /// The platform's answer to the revoke call.
    pub answer: Option<Result<Outcome, RevokeError>>,
}

/// A fact to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fact {
    Marker,
    IntegrationExists,
    GrantShared(String),
}

/// The platform call to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub platform: Platform,
    pub item: TokenItem,
    /// Whether an earlier delivery refreshed this token (TikTok's refresh journal).
    pub refreshed_before: bool,
    /// The failed deliveries before this one (a transient failure now makes one more).
    pub prior_failures: usize,
}

/// An outcome to write onto the marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub platform: Option<Platform>,
    pub outcome: MarkerOutcome,
    pub reason: Option<Reason>,
    /// The token whose revocation, by the platform's documentation, revoked this one.
    pub via: Option<String>,
    /// Recorded `failed` because its deliveries ran out.
    pub gave_up: bool,
}

/// The next step for one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The record is done, with nothing to write.
    Done(Handling),
    /// Read this, then plan again.
    Read(Fact),
    /// Ask the platform, then plan again with its answer.
    Revoke(Call),
    /// Write this onto the marker; then the record is done.
    Record(Verdict),
    /// Hand the record back to the stream. `counts`: a failed delivery, noted on the marker so
    /// that the deliveries run out.
    HandBack { cause: HandBack, counts: bool },
}

/// The next step for `removal`, given `facts`, the time `now` and the invocation's `time_left`.
pub fn plan(
    removal: &Removal<'_>,
    facts: &Facts,
    now: SystemTime,
    time_left: Duration,
    rules: &Rules,
) -> Step {
    let marker = match &facts.marker {
        None if time_left < RECORD_RESERVE * 2 => return Step::Done(Handling::Deferred),
        None => return Step::Read(Fact::Marker),
        Some(Err(e)) => return hand_back(e.clone()),
        Some(Ok(marker)) => marker.as_ref().filter(|m| m.marker.is_live(now)),
    };
    let Some(marker) = marker else {
        return match &facts.integration_exists {
            None => Step::Read(Fact::IntegrationExists),
            Some(Err(e)) => hand_back(e.clone()),
            Some(Ok(true)) => Step::HandBack {
                cause: HandBack::DisconnectInProgress,
                counts: false,
            },
            Some(Ok(false)) => Step::Done(Handling::Ignored("no live disconnect marker")),
        };
    };
    if marker.recorded_events.iter().any(|e| e == removal.event_id) {
        return Step::Done(Handling::AlreadyRecorded);
    }
    let platform = match platform_revoke::support(&marker.marker.integration_type) {
        Support::Unsupported(code) => {
            return record(None, MarkerOutcome::Unsupported, Reason::Unsupported(code));
        }
        Support::Adapter(platform) => platform,
    };
    let login_flow = match LoginFlow::parse(removal.login_flow) {
        Ok(flow) => flow,
        Err(e) => return record(Some(platform), MarkerOutcome::Failed, e.into()),
    };
    if let Some(grant) = marker.marker.grant_id.as_deref() {
        match &facts.grant_shared {
            None => return Step::Read(Fact::GrantShared(grant.to_owned())),
            Some(Err(e)) => return hand_back(e.clone()),
            Some(Ok(true)) => {
                return Step::Record(Verdict {
                    platform: Some(platform),
                    outcome: MarkerOutcome::SharedGrant,
                    reason: None,
                    via: None,
                    gave_up: false,
                });
            }
            Some(Ok(false)) => {}
        }
    }
    if let Some(via) = covered_by(marker, platform, removal.sk, removal.token_type) {
        return Step::Record(Verdict {
            platform: Some(platform),
            outcome: MarkerOutcome::Revoked,
            reason: None,
            via: Some(via),
            gave_up: false,
        });
    }
    let prior_failures = marker.failed_deliveries(removal.event_id);
    let max_attempts = rules.give_up.max_attempts as usize;
    if prior_failures >= max_attempts {
        return give_up(
            platform,
            Reason::DeliveriesUsedUp {
                failures: prior_failures,
            },
        );
    }
    let Some(answer) = &facts.answer else {
        if time_left < RECORD_RESERVE + calls_needed(rules, platform, removal.token_type) {
            return Step::Done(Handling::Deferred);
        }
        return Step::Revoke(Call {
            platform,
            item: TokenItem {
                login_flow,
                server: removal.server.map(str::to_owned),
            },
            refreshed_before: marker.refreshes.iter().any(|e| e == removal.event_id),
            prior_failures,
        });
    };
    let (outcome, reason) = match answer {
        Ok(Outcome::Revoked) => (MarkerOutcome::Revoked, None),
        Ok(Outcome::Unconfirmed) => (MarkerOutcome::Unconfirmed, None),
        Ok(Outcome::Unsupported(code)) => {
            (MarkerOutcome::Unsupported, Some(Reason::Unsupported(code)))
        }
        Err(e @ RevokeError::Permanent { .. }) => (
            MarkerOutcome::Failed,
            Some(Reason::Refused(e.reason().to_owned())),
        ),
        Err(e) => {
            let failures = prior_failures + 1;
            let last = e.reason().to_owned();
            if failures >= max_attempts {
                return give_up(platform, Reason::LastDeliveryFailed { failures, last });
            }
            if removal.age.is_some_and(|age| age >= rules.give_up.after) {
                let after = rules.give_up.after;
                return give_up(platform, Reason::TooOld { after, last });
            }
            return Step::HandBack {
                cause: HandBack::Platform(e.clone()),
                counts: true,
            };
        }
    };
    Step::Record(Verdict {
        platform: Some(platform),
        outcome,
        reason,
        via: None,
        gave_up: false,
    })
}

fn hand_back(error: StoreError) -> Step {
    Step::HandBack {
        cause: HandBack::Store(error),
        counts: false,
    }
}

fn record(platform: Option<Platform>, outcome: MarkerOutcome, reason: Reason) -> Step {
    Step::Record(Verdict {
        platform,
        outcome,
        reason: Some(reason),
        via: None,
        gave_up: false,
    })
}

fn give_up(platform: Platform, reason: Reason) -> Step {
    Step::Record(Verdict {
        platform: Some(platform),
        outcome: MarkerOutcome::Failed,
        reason: Some(reason),
        via: None,
        gave_up: true,
    })
}

/// The time the platform calls of one token may take: three for a TikTok refresh token
/// (refresh, and the fresh token's revoke with its retries), one otherwise.
pub fn calls_needed(rules: &Rules, platform: Platform, token_type: TokenType) -> Duration {
    let calls = if platform == Platform::TikTok && token_type == TokenType::RefreshToken {
        3
    } else {
        1
    };
    rules.platform_timeout * calls
}

/// The earlier outcome on the marker whose own revoke call, by `platform`'s documentation,
/// revoked this token too: its token key. An outcome that was itself covered (`via`) made no
/// call, so it proves nothing about another token.
fn covered_by(
    marker: &ReadMarker,
    platform: Platform,
    token_key: &str,
    token_type: TokenType,
) -> Option<String> {
    marker
        .outcomes
        .iter()
        .filter(|o| o.outcome == MarkerOutcome::Revoked.as_str() && o.via.is_none())
        .filter(|o| o.platform == platform.as_str() && o.token_key != token_key)
        .find(|o| {
            o.token_type
                .parse::<TokenType>()
                .is_ok_and(|revoked| platform.revocation_covers(revoked, token_type))
        })
        .map(|o| o.token_key.clone())
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use integrations_table::marker::DisconnectMarker;
    use platform_revoke::LoginFlow;

    use super::*;
    use crate::marker_store::RecordedOutcome;

    const NOW_SECS: u64 = 1_796_000_000;
    const EVENT: &str = "ev-1";
    const PLENTY: Duration = Duration::from_secs(100);

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(NOW_SECS)
    }

    fn rules() -> Rules {
        Rules {
            give_up: GiveUp {
                max_attempts: 3,
                after: Duration::from_secs(3000),
            },
            platform_timeout: Duration::from_secs(5),
        }
    }

    /// A record as the rule reads it: a REMOVE of `TOKEN#a`, unless changed.
    #[derive(Clone)]
    struct Record {
        event_name: &'static str,
        pk: Option<&'static str>,
        sk: &'static str,
        ttl: bool,
        old: Vec<(&'static str, &'static str)>,
        age: Option<Duration>,
    }

    impl Default for Record {
        fn default() -> Self {
            Self {
                event_name: "REMOVE",
                pk: Some("INTEGRATION#i"),
                sk: "TOKEN#a",
                ttl: false,
                old: vec![(TOKEN, "t0k3n"), (TOKEN_TYPE, "refresh_token")],
                age: Some(Duration::from_secs(10)),
            }
        }
    }

    impl RecordView for Record {
        fn event_name(&self) -> &str {
            self.event_name
        }
        fn event_id(&self) -> &str {
            EVENT
        }
        fn key(&self, name: &str) -> Option<&str> {
            match name {
                PK => self.pk,
                SK => Some(self.sk),
                _ => None,
            }
        }
        fn old(&self, name: &str) -> Option<&str> {
            self.old.iter().find(|(k, _)| *k == name).map(|(_, v)| *v)
        }
        fn is_ttl_removal(&self) -> bool {
            self.ttl
        }
        fn age(&self, _now: SystemTime) -> Option<Duration> {
            self.age
        }
        fn sequence_number(&self) -> &str {
            "1"
        }
    }

    fn marker(integration_type: &str) -> ReadMarker {
        ReadMarker {
            marker: DisconnectMarker {
                id: "i".into(),
                account_id: "acct_1".into(),
                integration_type: integration_type.into(),
                disconnected_at: "2026-11-28T10:00:00Z".into(),
                reason: "user".into(),
                expires_at: NOW_SECS as i64 + 3600,
                grant_id: None,
            },
            recorded_events: vec![],
            outcomes: vec![],
            retries: vec![],
            refreshes: vec![],
        }
    }

    fn revoked(
        token_key: &str,
        token_type: &str,
        platform: &str,
        via: Option<&str>,
    ) -> RecordedOutcome {
        RecordedOutcome {
            token_key: token_key.into(),
            token_type: token_type.into(),
            platform: platform.into(),
            outcome: "revoked".into(),
            via: via.map(str::to_owned),
        }
    }

    fn with_marker(marker: ReadMarker) -> Facts {
        Facts {
            marker: Some(Ok(Some(marker))),
            ..Facts::default()
        }
    }

    fn store_error() -> StoreError {
        StoreError::for_tests("GetItem of the marker", "throttled")
    }

    fn transient() -> RevokeError {
        RevokeError::Transient {
            platform: Platform::Google,
            reason: "HTTP 503".into(),
            retry_after: None,
        }
    }

    fn plan_for(record: &Record, facts: &Facts, time_left: Duration) -> Step {
        let removal = removal(record, now()).expect("a token removal");
        plan(&removal, facts, now(), time_left, &rules())
    }

    fn recorded(
        platform: Option<Platform>,
        outcome: MarkerOutcome,
        reason: Option<Reason>,
    ) -> Step {
        Step::Record(Verdict {
            platform,
            outcome,
            reason,
            via: None,
            gave_up: false,
        })
    }

    #[test]
    fn records_that_are_not_a_token_removal_end_at_once() {
        let cases: [(&str, Record, Handling); 6] = [
            (
                "an insert",
                Record {
                    event_name: "INSERT",
                    ..Record::default()
                },
                Handling::Ignored("not a removal"),
            ),
            (
                "no partition key",
                Record {
                    pk: None,
                    ..Record::default()
                },
                Handling::Ignored("not an item of this table"),
            ),
            (
                "the integration item",
                Record {
                    sk: "INTEGRATION",
                    ..Record::default()
                },
                Handling::Ignored("not a token"),
            ),
            (
                "a TTL removal",
                Record {
                    ttl: true,
                    ..Record::default()
                },
                Handling::Ignored("removed by TTL"),
            ),
            (
                "no token value",
                Record {
                    old: vec![(TOKEN_TYPE, "access_token")],
                    ..Record::default()
                },
                Handling::Skipped(
                    "no token, or a tokenType other than access_token or refresh_token",
                ),
            ),
            (
                "an unknown token type",
                Record {
                    old: vec![(TOKEN, "t"), (TOKEN_TYPE, "id_token")],
                    ..Record::default()
                },
                Handling::Skipped(
                    "no token, or a tokenType other than access_token or refresh_token",
                ),
            ),
        ];
        for (name, record, expected) in cases {
            assert_eq!(removal(&record, now()), Err(expected), "{name}");
        }
        let record = Record::default();
        let read = removal(&record, now()).unwrap();
        assert_eq!(
            (read.pk, read.sk, read.token),
            ("INTEGRATION#i", "TOKEN#a", "t0k3n")
        );
        assert_eq!(read.token_type, TokenType::RefreshToken);
    }

    #[test]
    fn the_marker_decides_whether_the_removal_is_a_disconnects() {
        let record = Record::default();
        let mut expired = marker("youtube");
        expired.marker.expires_at = NOW_SECS as i64;
        let cases: Vec<(&str, Facts, Duration, Step)> = vec![
            (
                "first, the marker",
                Facts::default(),
                PLENTY,
                Step::Read(Fact::Marker),
            ),
            (
                "no time even to read it",
                Facts::default(),
                RECORD_RESERVE * 2 - Duration::from_millis(1),
                Step::Done(Handling::Deferred),
            ),
            (
                "just the time to read it",
                Facts::default(),
                RECORD_RESERVE * 2,
                Step::Read(Fact::Marker),
            ),
            (
                "its read failed",
                Facts {
                    marker: Some(Err(store_error())),
                    ..Facts::default()
                },
                PLENTY,
                Step::HandBack {
                    cause: HandBack::Store(store_error()),
                    counts: false,
                },
            ),
            (
                "no marker: is the integration there?",
                Facts {
                    marker: Some(Ok(None)),
                    ..Facts::default()
                },
                PLENTY,
                Step::Read(Fact::IntegrationExists),
            ),
            (
                "an expired marker counts as none",
                with_marker(expired),
                PLENTY,
                Step::Read(Fact::IntegrationExists),
            ),
            (
                "no marker and the integration is there: a disconnect in progress",
                Facts {
                    marker: Some(Ok(None)),
                    integration_exists: Some(Ok(true)),
                    ..Facts::default()
                },
                PLENTY,
                Step::HandBack {
                    cause: HandBack::DisconnectInProgress,
                    counts: false,
                },
            ),
            (
                "no marker and no integration: not a disconnect's",
                Facts {
                    marker: Some(Ok(None)),
                    integration_exists: Some(Ok(false)),
                    ..Facts::default()
                },
                PLENTY,
                Step::Done(Handling::Ignored("no live disconnect marker")),
            ),
            (
                "the integration's read failed",
                Facts {
                    marker: Some(Ok(None)),
                    integration_exists: Some(Err(store_error())),
                    ..Facts::default()
                },
                PLENTY,
                Step::HandBack {
                    cause: HandBack::Store(store_error()),
                    counts: false,
                },
            ),
        ];
        for (name, facts, time_left, expected) in cases {
            assert_eq!(plan_for(&record, &facts, time_left), expected, "{name}");
        }
    }

    #[test]
    fn what_the_marker_says_decides_before_any_call() {
        let record = Record::default();
        let mut seen = marker("youtube");
        seen.recorded_events = vec![EVENT.into()];
        let mut shared = marker("youtube");
        shared.marker.grant_id = Some("g-1".into());
        let mut used_up = marker("youtube");
        used_up.retries = (0..3).map(|n| format!("{EVENT}#req-{n}")).collect();
        let instagram = Record {
            old: vec![
                (TOKEN, "t"),
                (TOKEN_TYPE, "access_token"),
                (LOGIN_FLOW, "carrier_pigeon"),
            ],
            ..Record::default()
        };
        let cases: Vec<(&str, &Record, Facts, Step)> = vec![
            (
                "already recorded",
                &record,
                with_marker(seen),
                Step::Done(Handling::AlreadyRecorded),
            ),
            (
                "a type no documented call revokes",
                &record,
                with_marker(marker("pinterest")),
                recorded(
                    None,
                    MarkerOutcome::Unsupported,
                    Some(Reason::Unsupported(
                        "pinterest_revokes_only_system_user_tokens",
                    )),
                ),
            ),
            (
                "an unknown type",
                &record,
                with_marker(marker("myspace")),
                recorded(
                    None,
                    MarkerOutcome::Unsupported,
                    Some(Reason::Unsupported(platform_revoke::UNKNOWN_TYPE)),
                ),
            ),
            (
                "an unknown login flow",
                &instagram,
                with_marker(marker("instagram")),
                recorded(
                    Some(Platform::Meta),
                    MarkerOutcome::Failed,
                    Some(Reason::LoginFlow(platform_revoke::UnknownLoginFlow)),
                ),
            ),
            (
                "a grant: is it shared?",
                &record,
                with_marker(shared.clone()),
                Step::Read(Fact::GrantShared("g-1".into())),
            ),
            (
                "a shared grant",
                &record,
                Facts {
                    grant_shared: Some(Ok(true)),
                    ..with_marker(shared.clone())
                },
                recorded(Some(Platform::Google), MarkerOutcome::SharedGrant, None),
            ),
            (
                "the grant's read failed",
                &record,
                Facts {
                    grant_shared: Some(Err(store_error())),
                    ..with_marker(shared)
                },
                Step::HandBack {
                    cause: HandBack::Store(store_error()),
                    counts: false,
                },
            ),
            (
                "its deliveries used up",
                &record,
                with_marker(used_up),
                Step::Record(Verdict {
                    platform: Some(Platform::Google),
                    outcome: MarkerOutcome::Failed,
                    reason: Some(Reason::DeliveriesUsedUp { failures: 3 }),
                    via: None,
                    gave_up: true,
                }),
            ),
        ];
        for (name, record, facts, expected) in cases {
            assert_eq!(plan_for(record, &facts, PLENTY), expected, "{name}");
        }
        assert_eq!(
            Reason::DeliveriesUsedUp { failures: 3 }.to_string(),
            "gave up after 3 failed deliveries"
        );
    }

    #[test]
    fn a_token_is_covered_only_by_another_tokens_own_revoke_call() {
        let access = Record {
            sk: "TOKEN#access",
            old: vec![(TOKEN, "a"), (TOKEN_TYPE, "access_token")],
            ..Record::default()
        };
        // Google: revoking one token of a grant revokes the others (the platform list says so,
        // citing its page).
        let mut by_call = marker("youtube");
        by_call.outcomes = vec![revoked("TOKEN#refresh", "refresh_token", "google", None)];
        let mut by_coverage = marker("youtube");
        by_coverage.outcomes = vec![revoked(
            "TOKEN#refresh",
            "refresh_token",
            "google",
            Some("TOKEN#x"),
        )];
        let mut other_platform = marker("youtube");
        other_platform.outcomes = vec![revoked("TOKEN#refresh", "refresh_token", "tiktok", None)];
        let mut itself = marker("youtube");
        itself.outcomes = vec![revoked("TOKEN#access", "refresh_token", "google", None)];
        let mut not_revoked = marker("youtube");
        not_revoked.outcomes = vec![RecordedOutcome {
            outcome: "unconfirmed".into(),
            ..revoked("TOKEN#refresh", "refresh_token", "google", None)
        }];
        // Discord: a 200 proves nothing about another token (RFC 7009).
        let mut discord = marker("discord");
        discord.outcomes = vec![revoked("TOKEN#refresh", "refresh_token", "discord", None)];
        assert_eq!(
            plan_for(&access, &with_marker(by_call), PLENTY),
            Step::Record(Verdict {
                platform: Some(Platform::Google),
                outcome: MarkerOutcome::Revoked,
                reason: None,
                via: Some("TOKEN#refresh".into()),
                gave_up: false,
            })
        );
        for (name, marker) in [
            (
                "an outcome that was itself covered made no call",
                by_coverage,
            ),
            ("another platform's outcome", other_platform),
            ("the token's own key", itself),
            ("an outcome other than revoked", not_revoked),
            (
                "a platform whose answer proves nothing of other tokens",
                discord,
            ),
        ] {
            assert!(
                matches!(
                    plan_for(&access, &with_marker(marker), PLENTY),
                    Step::Revoke(_)
                ),
                "{name}"
            );
        }
    }

    #[test]
    fn a_call_is_made_only_with_time_for_it_and_the_record() {
        let record = Record {
            old: vec![
                (TOKEN, "t"),
                (TOKEN_TYPE, "refresh_token"),
                ("server", "m.example"),
            ],
            ..Record::default()
        };
        let mut tiktok = marker("tiktok");
        tiktok.refreshes = vec![EVENT.into()];
        tiktok.retries = vec![format!("{EVENT}#req-0")];
        let needed = RECORD_RESERVE + Duration::from_secs(15); // three calls of 5 s
        assert_eq!(
            plan_for(&record, &with_marker(tiktok.clone()), needed),
            Step::Revoke(Call {
                platform: Platform::TikTok,
                item: TokenItem {
                    login_flow: LoginFlow::FacebookLogin,
                    server: Some("m.example".into()),
                },
                refreshed_before: true,
                prior_failures: 1,
            })
        );
        assert_eq!(
            plan_for(
                &record,
                &with_marker(tiktok),
                needed - Duration::from_millis(1)
            ),
            Step::Done(Handling::Deferred)
        );
        let google = with_marker(marker("youtube"));
        let one_call = RECORD_RESERVE + Duration::from_secs(5);
        assert!(matches!(
            plan_for(&record, &google, one_call),
            Step::Revoke(_)
        ));
        assert_eq!(
            plan_for(&record, &google, one_call - Duration::from_millis(1)),
            Step::Done(Handling::Deferred)
        );
    }

    #[test]
    fn the_platforms_answer_decides_the_outcome_or_a_hand_back() {
        let record = Record::default();
        let answered = |answer: Result<Outcome, RevokeError>, retries: usize, age: u64| {
            let mut m = marker("youtube");
            m.retries = (0..retries).map(|n| format!("{EVENT}#req-{n}")).collect();
            let facts = Facts {
                answer: Some(answer),
                ..with_marker(m)
            };
            let record = Record {
                age: Some(Duration::from_secs(age)),
                ..record.clone()
            };
            plan_for(&record, &facts, Duration::ZERO)
        };
        let google = Some(Platform::Google);
        let refused = RevokeError::Permanent {
            platform: Platform::Google,
            reason: "HTTP 400 invalid_token".into(),
        };
        let cases: Vec<(&str, Step, Step)> = vec![
            (
                "revoked",
                answered(Ok(Outcome::Revoked), 0, 10),
                recorded(google, MarkerOutcome::Revoked, None),
            ),
            (
                "unconfirmed",
                answered(Ok(Outcome::Unconfirmed), 0, 10),
                recorded(google, MarkerOutcome::Unconfirmed, None),
            ),
            (
                "unsupported by the adapter",
                answered(Ok(Outcome::Unsupported("instagram_login")), 0, 10),
                recorded(
                    google,
                    MarkerOutcome::Unsupported,
                    Some(Reason::Unsupported("instagram_login")),
                ),
            ),
            (
                "refused",
                answered(Err(refused), 0, 10),
                recorded(
                    google,
                    MarkerOutcome::Failed,
                    Some(Reason::Refused("HTTP 400 invalid_token".into())),
                ),
            ),
            (
                "a transient failure with deliveries left",
                answered(Err(transient()), 1, 10),
                Step::HandBack {
                    cause: HandBack::Platform(transient()),
                    counts: true,
                },
            ),
            (
                "a transient failure on the last delivery",
                answered(Err(transient()), 2, 10),
                Step::Record(Verdict {
                    platform: google,
                    outcome: MarkerOutcome::Failed,
                    reason: Some(Reason::LastDeliveryFailed {
                        failures: 3,
                        last: "HTTP 503".into(),
                    }),
                    via: None,
                    gave_up: true,
                }),
            ),
            (
                "a transient failure of a record too old",
                answered(Err(transient()), 0, 3000),
                Step::Record(Verdict {
                    platform: google,
                    outcome: MarkerOutcome::Failed,
                    reason: Some(Reason::TooOld {
                        after: Duration::from_secs(3000),
                        last: "HTTP 503".into(),
                    }),
                    via: None,
                    gave_up: true,
                }),
            ),
            (
                "a transient failure of a record just young enough",
                answered(Err(transient()), 0, 2999),
                Step::HandBack {
                    cause: HandBack::Platform(transient()),
                    counts: true,
                },
            ),
        ];
        for (name, got, expected) in cases {
            assert_eq!(got, expected, "{name}");
        }
        assert_eq!(
            Reason::LastDeliveryFailed {
                failures: 3,
                last: "HTTP 503".into()
            }
            .to_string(),
            "gave up after 3 failed deliveries: HTTP 503"
        );
        assert_eq!(
            Reason::TooOld {
                after: Duration::from_secs(3000),
                last: "x".into()
            }
            .to_string(),
            "gave up: the record is older than 3000 s: x"
        );
    }
}
