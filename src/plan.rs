//! The rule of a disconnect: [`decide`], a pure function over what one read of the partition
//! found, in the table's own terms: a repeat (answer with the original marker), not found, or a
//! [`Plan`]: the surplus tokens to delete first, and the one [`Transaction`] (delete the
//! integration if it is still as read, delete the remaining tokens, put the marker). No SDK
//! type: `store.rs` turns a plan into DynamoDB's calls.

use std::time::{Duration, SystemTime};

use integrations_table::{AccountId, DisconnectMarker, IntegrationId};
use serde::Serialize;

use crate::partition::Partition;

/// `TransactWriteItems` takes at most 100 actions
/// (<https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html>):
/// the integration, the marker and 98 tokens.
pub const MAX_TOKENS_IN_TRANSACTION: usize = 98;

/// What to do about one DELETE.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// The same account disconnected it earlier and the marker lives: delete any token still
    /// there (written by a writer that ignored the token protocol), then answer with that
    /// marker.
    Repeat {
        marker: DisconnectMarker,
        /// The sort keys (`TOKEN#...`) of the tokens left behind.
        leftover: Vec<String>,
    },
    /// No integration, another account's, or only an expired or foreign marker.
    NotFound,
    Commit(Plan),
}

/// The writes of a disconnect, in the table's terms (no SDK type: the store builds the calls).
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The sort keys of the tokens that do not fit the transaction: deleted first, by key.
    pub surplus: Vec<String>,
    pub transaction: Transaction,
}

impl Plan {
    pub fn marker(&self) -> &DisconnectMarker {
        &self.transaction.marker
    }
}

/// The one transaction of a disconnect, all in `id`'s partition.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Transaction {
    pub id: IntegrationId,
    /// Delete the integration item, on the condition that it is still as read.
    pub integration: AsRead,
    /// Delete these tokens (their sort keys, `TOKEN#...`).
    pub tokens: Vec<String>,
    /// Put the marker.
    pub marker: DisconnectMarker,
}

/// The integration item as the decision read it: it still exists, is still this account's, and
/// its `version` is still this one (`None`: still absent). Token writers bump `version` in the
/// same transaction as their put (`integrations_table::tokens`), so a token written since the
/// read cancels the transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AsRead {
    pub account_id: AccountId,
    pub version: Option<String>,
}

impl Transaction {
    /// The `ClientRequestToken` of this transaction: 36 hexadecimal characters (the most
    /// DynamoDB takes) of the SHA-256 of the request id and the transaction. The same request's
    /// same transaction gets the same token; a different transaction, or another request, a
    /// different one.
    ///
    /// DynamoDB keeps a token for 10 minutes and answers `IdempotentParameterMismatch` to the
    /// same token with other parameters
    /// (<https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html>):
    /// with one token per request, every round after a lost race would be refused.
    pub fn token(&self, request_id: &str) -> String {
        use sha2::{Digest, Sha256};
        let text = serde_json::to_string(&(request_id, self))
            .expect("a transaction of strings and numbers always serializes");
        let mut token = hex::encode(Sha256::digest(text.as_bytes()));
        token.truncate(36);
        token
    }
}

/// What a disconnect is asked to do.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub account: &'a AccountId,
    pub id: &'a IntegrationId,
    pub now: SystemTime,
    pub marker_ttl: Duration,
}

/// The rule. Another account's integration, a missing one and an expired marker are all
/// [`Decision::NotFound`], indistinguishable to the caller.
pub fn decide(partition: &Partition, request: &Request<'_>) -> Decision {
    let Some(head) = &partition.integration else {
        return match &partition.marker {
            Some(m) if m.account_id == request.account.as_str() && m.is_live(request.now) => {
                Decision::Repeat {
                    marker: m.clone(),
                    leftover: partition.token_sort_keys.clone(),
                }
            }
            _ => Decision::NotFound,
        };
    };
    if head.account_id != request.account.as_str() {
        return Decision::NotFound;
    }
    let marker = DisconnectMarker::new(
        request.id,
        request.account,
        head.integration_type.as_deref().unwrap_or("unknown"),
        request.now,
        request.marker_ttl,
    )
    .with_grant_id(head.grant_id.clone());
    let tokens = &partition.token_sort_keys;
    let (surplus, last) = tokens.split_at(tokens.len().saturating_sub(MAX_TOKENS_IN_TRANSACTION));
    Decision::Commit(Plan {
        surplus: surplus.to_vec(),
        transaction: Transaction {
            id: request.id.clone(),
            integration: AsRead {
                account_id: request.account.clone(),
                version: head.version.clone(),
            },
            tokens: last.to_vec(),
            marker,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::partition::IntegrationHead;
    use std::time::UNIX_EPOCH;

    const NOW_SECS: u64 = 1_795_860_000; // 2026-11-28T10:00:00Z

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(NOW_SECS)
    }

    fn account(raw: &str) -> AccountId {
        AccountId::new(raw).unwrap()
    }

    fn id() -> IntegrationId {
        IntegrationId::parse("int_1").unwrap()
    }

    fn integration(account: &str, tokens: usize) -> Partition {
        Partition {
            integration: Some(IntegrationHead {
                account_id: account.into(),
                integration_type: Some("youtube".into()),
                version: None,
                grant_id: Some("grant_1".into()),
            }),
            token_sort_keys: (0..tokens).map(|i| format!("TOKEN#{i:03}")).collect(),
            marker: None,
        }
    }

    fn marker(account: &str, expires_at: i64) -> DisconnectMarker {
        DisconnectMarker {
            id: "int_1".into(),
            account_id: account.into(),
            integration_type: "tiktok".into(),
            disconnected_at: "2026-11-01T00:00:00Z".into(),
            reason: "integration_disconnected".into(),
            expires_at,
            grant_id: None,
        }
    }

    fn decide_for(partition: &Partition, caller: &str) -> Decision {
        let (caller, id) = (account(caller), id());
        decide(
            partition,
            &Request {
                account: &caller,
                id: &id,
                now: now(),
                marker_ttl: Duration::from_secs(86_400),
            },
        )
    }

    fn plan(decision: Decision) -> Plan {
        match decision {
            Decision::Commit(plan) => plan,
            other => panic!("expected a commit, got {other:?}"),
        }
    }

    fn tokens(range: std::ops::Range<usize>) -> Vec<String> {
        range.map(|i| format!("TOKEN#{i:03}")).collect()
    }

    #[test]
    fn what_is_found_decides_the_answer() {
        let live = NOW_SECS as i64 + 1;
        let expired = NOW_SECS as i64;
        let gone = |m| Partition {
            marker: Some(m),
            ..Partition::default()
        };
        let cases: Vec<(&str, Partition, &str, &str)> = vec![
            ("nothing at all", Partition::default(), "a", "not found"),
            (
                "the caller's integration",
                integration("a", 2),
                "a",
                "commit",
            ),
            (
                "another account's integration",
                integration("b", 2),
                "a",
                "not found",
            ),
            (
                "the caller's live marker",
                gone(marker("a", live)),
                "a",
                "repeat",
            ),
            (
                "another account's live marker",
                gone(marker("b", live)),
                "a",
                "not found",
            ),
            (
                "the caller's expired marker",
                gone(marker("a", expired)),
                "a",
                "not found",
            ),
        ];
        for (case, partition, caller, expected) in cases {
            let got = match decide_for(&partition, caller) {
                Decision::Repeat { marker, leftover } => {
                    assert_eq!(
                        marker,
                        partition.marker.clone().unwrap(),
                        "{case}: the original marker"
                    );
                    assert!(leftover.is_empty(), "{case}");
                    "repeat"
                }
                Decision::NotFound => "not found",
                Decision::Commit(_) => "commit",
            };
            assert_eq!(got, expected, "{case}");
        }
    }

    #[test]
    fn a_commit_deletes_the_integration_if_still_the_callers_and_puts_the_marker() {
        let plan = plan(decide_for(&integration("a", 3), "a"));
        assert_eq!(
            plan,
            Plan {
                surplus: vec![],
                transaction: Transaction {
                    id: id(),
                    integration: AsRead {
                        account_id: account("a"),
                        version: None,
                    },
                    tokens: tokens(0..3),
                    marker: DisconnectMarker {
                        id: "int_1".into(),
                        account_id: "a".into(),
                        integration_type: "youtube".into(),
                        disconnected_at: "2026-11-28T10:00:00Z".into(),
                        reason: "integration_disconnected".into(),
                        expires_at: NOW_SECS as i64 + 86_400,
                        // The grant is copied.
                        grant_id: Some("grant_1".into()),
                    },
                },
            }
        );
    }

    #[test]
    fn tokens_beyond_98_are_surplus_for_the_batch_and_the_rest_fit_the_transaction() {
        // TransactWriteItems takes at most 100 actions: the integration, the marker, 98 tokens.
        for (count, surplus) in [(0, 0), (98, 0), (99, 1), (150, 52)] {
            let plan = plan(decide_for(&integration("a", count), "a"));
            assert_eq!(plan.surplus, tokens(0..surplus), "{count} tokens");
            assert_eq!(
                plan.transaction.tokens,
                tokens(surplus..count),
                "{count} tokens"
            );
            assert!(plan.transaction.tokens.len() + 2 <= 100);
        }
    }

    #[test]
    fn the_transaction_is_conditioned_on_the_version_read() {
        let unversioned = plan(decide_for(&integration("a", 1), "a"));
        assert_eq!(unversioned.transaction.integration.version, None);
        let mut partition = integration("a", 1);
        partition.integration.as_mut().unwrap().version = Some("7".into());
        let versioned = plan(decide_for(&partition, "a"));
        assert_eq!(
            versioned.transaction.integration.version.as_deref(),
            Some("7")
        );
    }

    #[test]
    fn a_repeat_deletes_tokens_left_behind_but_never_another_accounts() {
        let live = NOW_SECS as i64 + 1;
        let with_tokens = |owner| Partition {
            integration: None,
            token_sort_keys: vec!["TOKEN#late".into()],
            marker: Some(marker(owner, live)),
        };
        match decide_for(&with_tokens("a"), "a") {
            Decision::Repeat { leftover, .. } => assert_eq!(leftover, ["TOKEN#late"]),
            other => panic!("{other:?}"),
        }
        assert_eq!(decide_for(&with_tokens("b"), "a"), Decision::NotFound);
    }

    #[test]
    fn an_integration_without_a_type_gets_an_unknown_marker() {
        let mut partition = integration("a", 0);
        partition.integration.as_mut().unwrap().integration_type = None;
        assert_eq!(
            plan(decide_for(&partition, "a")).marker().integration_type,
            "unknown"
        );
    }

    /// The token is the hash of the request id and the plan's transaction: pinned to the
    /// letter for one transaction, so that dropping a part from the hash fails here too.
    #[test]
    fn a_transactions_token_is_the_hash_of_the_request_and_the_transaction() {
        use integrations_table::attributes::{
            ACCOUNT_ID, DISCONNECTED_AT, EXPIRES_AT, GRANT_ID, ID, REASON, TYPE, VERSION,
        };
        use sha2::{Digest, Sha256};
        let mut partition = integration("a", 3);
        let base = plan(decide_for(&partition, "a")).transaction;
        let token = base.token("req-1");
        // The marker's serde names are the table's ([`DisconnectMarker`]'s own test).
        let marker = format!(
            r#"{{"{ID}":"int_1","{ACCOUNT_ID}":"a","{TYPE}":"youtube","{DISCONNECTED_AT}":"2026-11-28T10:00:00Z","{REASON}":"integration_disconnected","{EXPIRES_AT}":1795946400,"{GRANT_ID}":"grant_1"}}"#
        );
        let json = format!(
            r#"["req-1",{{"id":"int_1","integration":{{"{ACCOUNT_ID}":"a","{VERSION}":null}},"tokens":["TOKEN#000","TOKEN#001","TOKEN#002"],"marker":{marker}}}]"#
        );
        assert_eq!(token, hex::encode(Sha256::digest(json))[..36]);
        assert_eq!(
            plan(decide_for(&partition, "a")).transaction.token("req-1"),
            token
        );

        // Another request, a new version, one token more, another time: other tokens.
        assert_ne!(base.token("req-2"), token);
        partition.integration.as_mut().unwrap().version = Some("2".into());
        assert_ne!(
            plan(decide_for(&partition, "a")).transaction.token("req-1"),
            token
        );
        assert_ne!(
            plan(decide_for(&integration("a", 4), "a"))
                .transaction
                .token("req-1"),
            token
        );
        let (caller, id) = (account("a"), id());
        let later = decide(
            &integration("a", 3),
            &Request {
                account: &caller,
                id: &id,
                now: now() + Duration::from_secs(1),
                marker_ttl: Duration::from_secs(86_400),
            },
        );
        assert_ne!(plan(later).transaction.token("req-1"), token);
    }
}
