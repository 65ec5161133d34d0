//! What the consumer records and counts: the outcomes written onto the marker with their
//! reasons, how each record was handled (and why one was handed back), and the metric names
//! (defined here once).

use std::time::Duration;

use platform_revoke::{RevokeError, UnknownLoginFlow};

use crate::marker_store::StoreError;

/// What became of a removed token, as written onto the marker's `revocation` list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MarkerOutcome {
    /// The platform gave the answer its documentation calls the revoke call's success, or the
    /// token went with another one whose revocation the documentation says covers it (`via`).
    Revoked,
    /// The platform said yes to a call no documentation describes (LinkedIn).
    Unconfirmed,
    /// No documented call revokes it; `reason` says why.
    Unsupported,
    /// Another live integration has the marker's `grantId`: revoking would cut it off.
    SharedGrant,
    /// Anything else; `reason` says what: a refusal, an answer the documentation does not
    /// describe, or a record given up after its retries.
    Failed,
}

impl MarkerOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Revoked => "revoked",
            Self::Unconfirmed => "unconfirmed",
            Self::Unsupported => "unsupported",
            Self::SharedGrant => "shared_grant",
            Self::Failed => "failed",
        }
    }

    /// Its metric.
    pub fn metric(self) -> Metric {
        match self {
            Self::Revoked => Metric::TokensRevoked,
            Self::Unconfirmed => Metric::TokensUnconfirmed,
            Self::Unsupported => Metric::RevocationsUnsupported,
            Self::SharedGrant => Metric::RevocationsSharedGrant,
            Self::Failed => Metric::RevocationsFailed,
        }
    }
}

/// Why a token is recorded other than `revoked`: the marker's `reason`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Reason {
    /// No documented call revokes it: the platform list's reason code.
    #[error("{0}")]
    Unsupported(&'static str),
    #[error(transparent)]
    LoginFlow(#[from] UnknownLoginFlow),
    /// The platform refused, or answered what its documentation does not explain.
    #[error("{0}")]
    Refused(String),
    /// Found with its deliveries already used up.
    #[error("gave up after {failures} failed deliveries")]
    DeliveriesUsedUp { failures: usize },
    /// Its last delivery failed too.
    #[error("gave up after {failures} failed deliveries: {last}")]
    LastDeliveryFailed { failures: usize, last: String },
    #[error("gave up: the record is older than {} s: {last}", after.as_secs())]
    TooOld { after: Duration, last: String },
}

/// Why a record is handed back to the stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandBack {
    #[error(
        "no disconnect marker yet, and the integration is still there: a disconnect in progress deletes surplus tokens before its transaction"
    )]
    DisconnectInProgress,
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The platform failed transiently.
    #[error(transparent)]
    Platform(RevokeError),
}

/// How one record was handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handling {
    /// An outcome, written onto the marker.
    Recorded {
        outcome: MarkerOutcome,
        reason: Option<Reason>,
        /// The token whose revocation covered this one.
        via: Option<String>,
        /// Recorded `failed` because its deliveries ran out (counted as `RevocationsGivenUp`).
        gave_up: bool,
    },
    /// Recorded by an earlier delivery of the same record.
    AlreadyRecorded,
    /// Not a token a disconnect removed.
    Ignored(&'static str),
    /// A token item without `token` or a known `tokenType`.
    Skipped(&'static str),
    /// Failed for now: handed back to the stream, which delivers it again.
    Retry(HandBack),
    /// Not attempted: too little of the invocation was left. Handed back, not counted as a
    /// failed delivery.
    Deferred,
}

impl Handling {
    /// Whether the stream must deliver the record again.
    pub fn hands_back(&self) -> bool {
        matches!(self, Self::Retry(_) | Self::Deferred)
    }

    /// The metrics it counts.
    pub fn metrics(&self) -> Vec<Metric> {
        match self {
            Self::Recorded {
                outcome, gave_up, ..
            } => {
                let mut counted = vec![outcome.metric()];
                if *gave_up {
                    counted.push(Metric::RevocationsGivenUp);
                }
                counted
            }
            Self::AlreadyRecorded => vec![],
            Self::Ignored(_) => vec![Metric::RemovalsIgnored],
            Self::Skipped(_) => vec![Metric::TokensSkipped],
            Self::Retry(_) => vec![Metric::RevocationsRetried],
            Self::Deferred => vec![Metric::RevocationsDeferred],
        }
    }
}

/// Every metric of the consumer (all Count, dimension `Service`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    TokensRevoked,
    TokensUnconfirmed,
    RevocationsUnsupported,
    RevocationsSharedGrant,
    RevocationsFailed,
    RevocationsGivenUp,
    RevocationsRetried,
    RevocationsDeferred,
    TokensSkipped,
    RemovalsIgnored,
}

impl Metric {
    pub const ALL: [Metric; 10] = [
        Metric::TokensRevoked,
        Metric::TokensUnconfirmed,
        Metric::RevocationsUnsupported,
        Metric::RevocationsSharedGrant,
        Metric::RevocationsFailed,
        Metric::RevocationsGivenUp,
        Metric::RevocationsRetried,
        Metric::RevocationsDeferred,
        Metric::TokensSkipped,
        Metric::RemovalsIgnored,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Metric::TokensRevoked => "TokensRevoked",
            Metric::TokensUnconfirmed => "TokensUnconfirmed",
            Metric::RevocationsUnsupported => "RevocationsUnsupported",
            Metric::RevocationsSharedGrant => "RevocationsSharedGrant",
            Metric::RevocationsFailed => "RevocationsFailed",
            Metric::RevocationsGivenUp => "RevocationsGivenUp",
            Metric::RevocationsRetried => "RevocationsRetried",
            Metric::RevocationsDeferred => "RevocationsDeferred",
            Metric::TokensSkipped => "TokensSkipped",
            Metric::RemovalsIgnored => "RemovalsIgnored",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names_are_distinct_and_in_upper_camel_case() {
        let mut names: Vec<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Metric::ALL.len());
        for name in names {
            assert!(name.starts_with(|c: char| c.is_ascii_uppercase()), "{name}");
            assert!(name.chars().all(|c| c.is_ascii_alphanumeric()), "{name}");
        }
    }

    #[test]
    fn every_handling_counts_names_of_the_catalogue() {
        let outcomes = [
            MarkerOutcome::Revoked,
            MarkerOutcome::Unconfirmed,
            MarkerOutcome::Unsupported,
            MarkerOutcome::SharedGrant,
            MarkerOutcome::Failed,
        ];
        let mut counted: Vec<Metric> = outcomes.iter().map(|o| o.metric()).collect();
        for handling in [
            Handling::Recorded {
                outcome: MarkerOutcome::Failed,
                reason: None,
                via: None,
                gave_up: true,
            },
            Handling::Ignored("x"),
            Handling::Skipped("x"),
            Handling::Retry(HandBack::DisconnectInProgress),
            Handling::Deferred,
        ] {
            counted.extend(handling.metrics());
        }
        counted.sort();
        counted.dedup();
        assert_eq!(
            counted,
            Metric::ALL.to_vec(),
            "every metric is counted somewhere"
        );
        assert!(Handling::AlreadyRecorded.metrics().is_empty());
        assert!(Handling::Deferred.hands_back());
        assert!(Handling::Retry(HandBack::DisconnectInProgress).hands_back());
        for done in [
            Handling::AlreadyRecorded,
            Handling::Ignored("x"),
            Handling::Skipped("x"),
            Handling::Recorded {
                outcome: MarkerOutcome::Revoked,
                reason: None,
                via: None,
                gave_up: false,
            },
        ] {
            assert!(!done.hands_back(), "{done:?} is done");
        }
    }
}
