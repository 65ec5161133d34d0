//! The disconnect: read the partition, decide, write, and read again when the write lost a race.
//!
//! [`decide`] is the rule, a pure function over what the `Query` returned: a repeat (answer
//! with the original marker), not found, or a commit plan with the marker, the surplus tokens
//! for `BatchWriteItem` and the items of the one `TransactWriteItems`. [`Disconnector`] runs
//! the read-decide-write loop over [`IntegrationStore`], which only reads and writes.
//!
//! At every point of a crash the integration either still exists (a retried DELETE finishes the
//! job) or is gone together with the marker written in the same transaction: surplus tokens are
//! deleted *before* the transaction, never after.

use std::time::{Duration, SystemTime};

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use integrations_table::batch::backoff;
use integrations_table::keys::{Key, PK, SK_INTEGRATION, item_key};
use integrations_table::tokens::VERSION_ATTRIBUTE;
use integrations_table::{AccountId, DisconnectMarker, IntegrationId};

use crate::error::{Dependency, Error};
use crate::partition::Partition;
use crate::store::{Committed, IntegrationStore};
use function_support::clock::SharedClock;

/// `TransactWriteItems` takes at most 100 actions: the integration, the marker and 98 tokens.
pub const MAX_TOKENS_IN_TRANSACTION: usize = 98;
/// Read-decide-write rounds before a contended disconnect gives up with 503.
pub const MAX_ATTEMPTS: u32 = 8;

/// What to do about one DELETE.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// The same account disconnected it earlier and the marker lives: delete any token still
    /// there (written by a writer that ignored the token protocol), then answer with that
    /// marker.
    Repeat {
        marker: DisconnectMarker,
        leftover: Vec<Key>,
    },
    /// No integration, another account's, or only an expired or foreign marker.
    NotFound,
    Commit(Plan),
}

/// The writes of a disconnect.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub marker: DisconnectMarker,
    /// Tokens that do not fit the transaction: deleted first, with `BatchWriteItem`.
    pub surplus: Vec<Key>,
    /// The one transaction: the conditional delete of the integration, the delete of every
    /// remaining token, the put of the marker.
    pub transaction: Vec<TransactWriteItem>,
}

/// What a disconnect is asked to do.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub account: &'a AccountId,
    pub id: &'a IntegrationId,
    pub table: &'a str,
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
                    leftover: partition
                        .token_sort_keys
                        .iter()
                        .map(|sk| item_key(request.id, sk))
                        .collect(),
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

    // Still there, still the caller's, and no token written since the read (token writers bump
    // `version` in the same transaction as their put; see integrations_table::tokens).
    let integration = Delete::builder()
        .table_name(request.table)
        .set_key(Some(item_key(request.id, SK_INTEGRATION)))
        .expression_attribute_names("#pk", PK)
        .expression_attribute_names("#account", "accountId")
        .expression_attribute_names("#version", VERSION_ATTRIBUTE)
        .expression_attribute_values(
            ":account",
            AttributeValue::S(request.account.as_str().to_owned()),
        );
    let integration = match &head.version {
        Some(version) => integration
            .condition_expression(
                "attribute_exists(#pk) AND #account = :account AND #version = :version",
            )
            .expression_attribute_values(":version", AttributeValue::N(version.clone())),
        None => integration.condition_expression(
            "attribute_exists(#pk) AND #account = :account AND attribute_not_exists(#version)",
        ),
    };
    let mut transaction = Vec::with_capacity(last.len() + 2);
    transaction.push(
        TransactWriteItem::builder()
            .delete(integration.build().expect("table name and key are set"))
            .build(),
    );
    transaction.extend(last.iter().map(|sk| {
        TransactWriteItem::builder()
            .delete(
                Delete::builder()
                    .table_name(request.table)
                    .set_key(Some(item_key(request.id, sk)))
                    .build()
                    .expect("table name and key are set"),
            )
            .build()
    }));
    transaction.push(
        TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(request.table)
                    .set_item(Some(
                        marker
                            .to_item()
                            .expect("a marker built from a parsed id always serializes"),
                    ))
                    .build()
                    .expect("table name and item are set"),
            )
            .build(),
    );
    Decision::Commit(Plan {
        marker,
        surplus: surplus.iter().map(|sk| item_key(request.id, sk)).collect(),
        transaction,
    })
}

/// The `ClientRequestToken` of one transaction: 36 hexadecimal characters (the most DynamoDB
/// takes) of the SHA-256 of the request id and the transaction's content, rendered in a
/// canonical form (map entries sorted). The same request's same transaction gets the same
/// token; a different transaction, or another request, a different one.
///
/// DynamoDB keeps a token for 10 minutes and answers `IdempotentParameterMismatch` to the
/// same token with other parameters
/// (<https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html>):
/// with one token per request, every round after a lost race would be refused.
pub fn transaction_token(request_id: &str, transaction: &[TransactWriteItem]) -> String {
    use sha2::{Digest, Sha256};
    let mut text = String::new();
    text.push_str(request_id);
    for item in transaction {
        text.push('\n');
        canonical_item(&mut text, item);
    }
    let digest = Sha256::digest(text.as_bytes());
    let mut token = hex::encode(digest);
    token.truncate(36);
    token
}

fn canonical_item(out: &mut String, item: &TransactWriteItem) {
    if let Some(delete) = item.delete() {
        out.push_str("delete ");
        out.push_str(delete.table_name());
        canonical_map(out, "key", delete.key());
        canonical_expression(
            out,
            delete.condition_expression(),
            delete.expression_attribute_names(),
            delete.expression_attribute_values(),
        );
    }
    if let Some(put) = item.put() {
        out.push_str("put ");
        out.push_str(put.table_name());
        canonical_map(out, "item", put.item());
        canonical_expression(
            out,
            put.condition_expression(),
            put.expression_attribute_names(),
            put.expression_attribute_values(),
        );
    }
    if item.delete().is_none() && item.put().is_none() {
        // Not written by `decide`: its Debug form still tells it apart from any other.
        out.push_str(&format!("{item:?}"));
    }
}

fn canonical_expression(
    out: &mut String,
    condition: Option<&str>,
    names: Option<&std::collections::HashMap<String, String>>,
    values: Option<&std::collections::HashMap<String, AttributeValue>>,
) {
    out.push_str(" if ");
    out.push_str(condition.unwrap_or(""));
    let mut names: Vec<_> = names.into_iter().flatten().collect();
    names.sort();
    for (name, attribute) in names {
        out.push_str(&format!(" {name:?}={attribute:?}"));
    }
    canonical_map(out, "values", values.unwrap_or(&Default::default()));
}

fn canonical_map(
    out: &mut String,
    label: &str,
    map: &std::collections::HashMap<String, AttributeValue>,
) {
    out.push_str(&format!(" {label}{{"));
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    for (name, value) in entries {
        out.push_str(&format!("{name:?}:"));
        canonical_value(out, value);
        out.push(',');
    }
    out.push('}');
}

fn canonical_value(out: &mut String, value: &AttributeValue) {
    match value {
        AttributeValue::M(map) => canonical_map(out, "M", map),
        AttributeValue::L(items) => {
            out.push_str("L[");
            for item in items {
                canonical_value(out, item);
                out.push(',');
            }
            out.push(']');
        }
        // Scalars and sets (a Vec, in the order given): their Debug form is deterministic.
        other => out.push_str(&format!("{other:?}")),
    }
}

/// What a successful DELETE did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disconnect {
    /// This request removed the integration and wrote the marker.
    Now(DisconnectMarker),
    /// The same account had already disconnected it; the marker is the original one.
    Earlier(DisconnectMarker),
}

impl Disconnect {
    pub fn marker(&self) -> &DisconnectMarker {
        match self {
            Self::Now(m) | Self::Earlier(m) => m,
        }
    }
}

/// Every attempt lost a race: the partition keeps changing under us.
#[derive(Debug, thiserror::Error)]
#[error("the disconnect of {id} was still contended after {attempts} attempts")]
pub struct Contended {
    id: IntegrationId,
    attempts: u32,
}

/// Runs the read-decide-write loop.
#[derive(Debug, Clone)]
pub struct Disconnector {
    store: IntegrationStore,
    marker_ttl: Duration,
    clock: SharedClock,
}

impl Disconnector {
    pub fn new(store: IntegrationStore, marker_ttl: Duration, clock: SharedClock) -> Self {
        Self {
            store,
            marker_ttl,
            clock,
        }
    }

    /// Opens the connection to DynamoDB ahead of the first request: one consistent Query of a
    /// partition no integration has (`INTEGRATION#__prime__`: `_` is a valid id character, but
    /// no real id starts with two).
    pub async fn prime(&self) -> Result<(), Error> {
        let id = IntegrationId::parse("__prime__").expect("a valid id");
        self.store.read_partition(&id).await.map(|_| ())
    }

    /// Disconnects `id` for `account`.
    ///
    /// Each round's transaction gets a `ClientRequestToken` of its own, derived from
    /// `request_id` (the Lambda request id) and the transaction's content
    /// ([`transaction_token`]): the SDK's retries of one call send the same token, so a retry of
    /// a transaction that was applied succeeds without applying it twice; a later round, whose
    /// transaction differs, never reuses a token.
    pub async fn disconnect(
        &self,
        account: &AccountId,
        id: &IntegrationId,
        request_id: Option<&str>,
    ) -> Result<Disconnect, Error> {
        let mut attempt = 0;
        loop {
            let partition = self.store.read_partition(id).await?;
            let request = Request {
                account,
                id,
                table: self.store.table(),
                now: self.clock.now(),
                marker_ttl: self.marker_ttl,
            };
            let plan = match decide(&partition, &request) {
                Decision::Repeat { marker, leftover } => {
                    if !leftover.is_empty() {
                        tracing::warn!(
                            integrationId = %id,
                            tokens = leftover.len(),
                            "tokens were written after the disconnect, outside the token protocol; deleting them"
                        );
                        self.store.delete_items(&leftover).await?;
                    }
                    return Ok(Disconnect::Earlier(marker));
                }
                Decision::NotFound => return Err(Error::IntegrationNotFound),
                Decision::Commit(plan) => plan,
            };
            if partition
                .integration
                .as_ref()
                .is_some_and(|i| i.integration_type.is_none())
            {
                tracing::warn!(integrationId = %id, "the integration item has no type; the marker says \"unknown\"");
            }
            self.store.delete_items(&plan.surplus).await?;
            let token = request_id.map(|r| transaction_token(r, &plan.transaction));
            match self
                .store
                .transact(plan.transaction, token.as_deref())
                .await?
            {
                Committed::Yes => return Ok(Disconnect::Now(plan.marker)),
                Committed::LostRace(reason) => {
                    tracing::info!(integrationId = %id, attempt, reason, "the disconnect transaction lost a race; reading again");
                }
            }
            attempt += 1;
            if attempt == MAX_ATTEMPTS {
                break;
            }
            tokio::time::sleep(backoff(attempt)).await;
        }
        Err(Error::Unavailable {
            dependency: Dependency::DynamoDb,
            source: Box::new(Contended {
                id: id.clone(),
                attempts: MAX_ATTEMPTS,
            }),
        })
    }
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
                table: "t",
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
        assert!(plan.surplus.is_empty());
        assert_eq!(plan.transaction.len(), 5, "integration, 3 tokens, marker");
        let first = plan.transaction[0].delete().expect("a delete first");
        assert_eq!(first.key()["SK"], AttributeValue::S("INTEGRATION".into()));
        assert!(
            first
                .condition_expression()
                .unwrap()
                .starts_with("attribute_exists(#pk) AND #account = :account AND ")
        );
        assert_eq!(
            first.expression_attribute_values().unwrap()[":account"],
            AttributeValue::S("a".into())
        );
        let put = plan.transaction[4].put().expect("the marker last");
        assert_eq!(put.item()["SK"], AttributeValue::S("DISCONNECTED".into()));
        assert_eq!(plan.marker.disconnected_at, "2026-11-28T10:00:00Z");
        assert_eq!(plan.marker.expires_at, NOW_SECS as i64 + 86_400);
        assert_eq!(plan.marker.integration_type, "youtube");
        assert_eq!(
            plan.marker.grant_id.as_deref(),
            Some("grant_1"),
            "the grant is copied"
        );
    }

    #[test]
    fn tokens_beyond_98_are_surplus_for_the_batch_and_the_rest_fit_the_transaction() {
        for (tokens, surplus) in [(0, 0), (98, 0), (99, 1), (150, 52)] {
            let plan = plan(decide_for(&integration("a", tokens), "a"));
            assert_eq!(plan.surplus.len(), surplus, "{tokens} tokens");
            assert_eq!(
                plan.transaction.len(),
                tokens - surplus + 2,
                "{tokens} tokens"
            );
            assert!(plan.transaction.len() <= 100);
        }
    }

    #[test]
    fn the_transaction_is_conditioned_on_the_version_read() {
        let unversioned = plan(decide_for(&integration("a", 1), "a"));
        let delete = unversioned.transaction[0].delete().unwrap();
        assert_eq!(
            delete.condition_expression(),
            Some(
                "attribute_exists(#pk) AND #account = :account AND attribute_not_exists(#version)"
            )
        );
        let mut partition = integration("a", 1);
        partition.integration.as_mut().unwrap().version = Some("7".into());
        let versioned = plan(decide_for(&partition, "a"));
        let delete = versioned.transaction[0].delete().unwrap();
        assert_eq!(
            delete.condition_expression(),
            Some("attribute_exists(#pk) AND #account = :account AND #version = :version")
        );
        assert_eq!(
            delete.expression_attribute_values().unwrap()[":version"],
            AttributeValue::N("7".into())
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
            Decision::Repeat { leftover, .. } => {
                assert_eq!(leftover, [item_key(&id(), "TOKEN#late")]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(decide_for(&with_tokens("b"), "a"), Decision::NotFound);
    }

    #[test]
    fn an_integration_without_a_type_gets_an_unknown_marker() {
        let mut partition = integration("a", 0);
        partition.integration.as_mut().unwrap().integration_type = None;
        assert_eq!(
            plan(decide_for(&partition, "a")).marker.integration_type,
            "unknown"
        );
    }

    #[test]
    fn a_transactions_token_depends_on_its_content_and_request_and_not_on_map_order() {
        let mut partition = integration("a", 3);
        let base = plan(decide_for(&partition, "a")).transaction;
        let token = transaction_token("req-1", &base);
        assert_eq!(token.len(), 36);
        assert!(token.chars().all(|c| c.is_ascii_hexdigit()), "{token}");

        // The same content built again (its maps filled in another order) has the same token.
        let again = plan(decide_for(&partition, "a")).transaction;
        assert_eq!(transaction_token("req-1", &again), token);
        let mut reordered = base.clone();
        let marker = reordered.pop().unwrap();
        // A new map (a new hasher seed) filled in reverse key order.
        let mut item: Vec<_> = marker.put().unwrap().item().clone().into_iter().collect();
        item.sort_by(|a, b| b.0.cmp(&a.0));
        let rebuilt = Put::builder()
            .table_name("t")
            .set_item(Some(item.into_iter().collect()))
            .build()
            .unwrap();
        reordered.push(TransactWriteItem::builder().put(rebuilt).build());
        assert_eq!(transaction_token("req-1", &reordered), token);

        // Another request, a new version, one token more, another time: other tokens.
        assert_ne!(transaction_token("req-2", &base), token);
        partition.integration.as_mut().unwrap().version = Some("2".into());
        assert_ne!(
            transaction_token("req-1", &plan(decide_for(&partition, "a")).transaction),
            token
        );
        assert_ne!(
            transaction_token(
                "req-1",
                &plan(decide_for(&integration("a", 4), "a")).transaction
            ),
            token
        );
        let (caller, id) = (account("a"), id());
        let later = decide(
            &integration("a", 3),
            &Request {
                account: &caller,
                id: &id,
                table: "t",
                now: now() + Duration::from_secs(1),
                marker_ttl: Duration::from_secs(86_400),
            },
        );
        assert_ne!(transaction_token("req-1", &plan(later).transaction), token);
    }
}

#[cfg(test)]
mod wire_tests {
    //! The loop over a fake DynamoDB: what each answer on the wire makes of a disconnect.
    use std::time::Duration;

    use integrations_table::AccountId;
    use test_support::fake_aws::{Call, FakeAws, Reply};

    use integrations_table::IntegrationId;

    use crate::store::IntegrationStore;
    use function_support::clock::SystemClock;

    use super::*;

    /// A Query answer: acct_1's youtube integration `int_1` with `tokens` tokens.
    fn integration_page(tokens: usize) -> Reply {
        let mut items = vec![
            r#"{"PK": {"S": "INTEGRATION#int_1"}, "SK": {"S": "INTEGRATION"}, "accountId": {"S": "acct_1"}, "type": {"S": "youtube"}}"#.to_owned(),
        ];
        items.extend((0..tokens).map(|i| {
            format!(r#"{{"PK": {{"S": "INTEGRATION#int_1"}}, "SK": {{"S": "TOKEN#{i:03}"}}}}"#)
        }));
        Reply::ok(format!(
            r#"{{"Items": [{}], "Count": {n}, "ScannedCount": {n}}}"#,
            items.join(","),
            n = items.len()
        ))
    }

    /// Disconnects acct_1's `int_1` against a fake DynamoDB that answers with `respond`.
    async fn disconnect_with(
        respond: impl Fn(&Call) -> Reply + Send + Sync + 'static,
    ) -> (Result<Disconnect, Error>, FakeAws) {
        let fake = FakeAws::new(respond);
        let disconnector = Disconnector::new(
            IntegrationStore::new(fake.dynamodb(), "t"),
            Duration::from_secs(86_400),
            SystemClock::shared(),
        );
        let result = disconnector
            .disconnect(
                &AccountId::new("acct_1").unwrap(),
                &IntegrationId::parse("int_1").unwrap(),
                Some("req"),
            )
            .await;
        (result, fake)
    }

    #[tokio::test]
    async fn dynamodb_errors_are_transient_or_internal_by_the_sdk_lists() {
        let cases = [
            (400, "ProvisionedThroughputExceededException", true),
            (400, "ThrottlingException", true),
            (400, "RequestLimitExceeded", true),
            (500, "InternalServerError", true),
            (503, "ServiceUnavailable", true),
            (400, "ResourceNotFoundException", false),
            (400, "AccessDeniedException", false),
            (400, "ValidationException", false),
            (400, "TransactionConflictException", true),
            (400, "ReplicatedWriteConflictException", true),
        ];
        for (status, code, transient) in cases {
            let (result, _) = disconnect_with(move |_| Reply::error(status, code)).await;
            let err = result.unwrap_err();
            assert_eq!(err.is_transient(), transient, "{status} {code}: {err:?}");
            let chain = function_support::ErrorChain(&err).to_string();
            assert!(
                chain.contains(code),
                "{status} {code}: the cause is kept: {chain}"
            );
        }
    }

    #[tokio::test]
    async fn an_answer_cut_short_is_transient_and_its_body_is_not_in_the_error() {
        let (result, _) = disconnect_with(|_| {
            Reply::ok(r#"{"Items": [{"PK": {"S": "INTEGRATION#int_1"}, "SK": {"S": "secret-value-in-the-body"#)
        })
        .await;
        let err = result.unwrap_err();
        let chain = function_support::ErrorChain(&err).to_string();
        assert!(err.is_transient(), "{chain}");
        // The log line shows the chain (Display); the SDK's Debug output holds the raw body.
        assert!(!chain.contains("secret-value-in-the-body"), "{chain}");
    }

    #[tokio::test]
    async fn unprocessed_batch_deletes_are_retried_until_done() {
        let (result, fake) = disconnect_with(|call| match call.operation.as_str() {
            "Query" => integration_page(MAX_TOKENS_IN_TRANSACTION + 3),
            "BatchWriteItem" if call.nth == 0 => Reply::ok(
                r#"{"UnprocessedItems": {"t": [{"DeleteRequest": {"Key": {
                    "PK": {"S": "INTEGRATION#int_1"}, "SK": {"S": "TOKEN#000"}}}}]}}"#,
            ),
            "BatchWriteItem" => Reply::ok(r#"{"UnprocessedItems": {}}"#),
            "TransactWriteItems" => {
                let items = call.body.matches("\"TableName\"").count();
                assert_eq!(items, MAX_TOKENS_IN_TRANSACTION + 2, "a full transaction");
                Reply::ok("{}")
            }
            other => panic!("unexpected {other}"),
        })
        .await;
        assert!(matches!(result.unwrap(), Disconnect::Now(_)));
        assert_eq!(
            fake.count("BatchWriteItem"),
            2,
            "the unprocessed item was sent again"
        );
        assert_eq!(fake.count("TransactWriteItems"), 1);
    }

    #[tokio::test]
    async fn a_cancelled_or_conflicting_transaction_is_decided_again_after_a_fresh_read() {
        for code in [
            "TransactionCanceledException",
            "TransactionInProgressException",
        ] {
            let (result, fake) = disconnect_with(move |call| match call.operation.as_str() {
                "Query" => integration_page(2),
                _ if call.nth == 0 => Reply::error(400, code),
                _ => Reply::ok("{}"),
            })
            .await;
            let outcome = result.unwrap_or_else(|e| panic!("{code}: {e:?}"));
            assert!(matches!(outcome, Disconnect::Now(_)), "{code}");
            assert_eq!(fake.count("Query"), 2, "{code}: read again");
            assert_eq!(fake.count("TransactWriteItems"), 2, "{code}");
        }
    }

    /// Every token is the token of one transaction: DynamoDB saying otherwise is a bug to log,
    /// not a race to retry.
    #[tokio::test]
    async fn an_idempotent_parameter_mismatch_is_an_internal_error_not_a_retry() {
        let (result, fake) = disconnect_with(|call| match call.operation.as_str() {
            "Query" => integration_page(2),
            _ => Reply::error(400, "IdempotentParameterMismatchException"),
        })
        .await;
        let err = result.unwrap_err();
        assert!(matches!(err, Error::Internal { .. }), "{err:?}");
        assert!(
            err.to_string().contains("IdempotentParameterMismatch"),
            "{err}"
        );
        assert_eq!(fake.count("TransactWriteItems"), 1, "no retry");
    }

    /// The SDK's own retries of one call carry the same token (what makes them idempotent); a
    /// later round, with another transaction, carries another.
    #[tokio::test]
    async fn each_round_sends_the_token_of_its_own_transaction_and_sdk_retries_keep_it() {
        let fake = FakeAws::new(|call| match call.operation.as_str() {
            // The second read finds one token more: the second round's transaction differs.
            "Query" => integration_page(2 + call.nth),
            // Round 1: a 500 (retried by the SDK), then a lost race; round 2 commits.
            _ if call.nth == 0 => Reply::error(500, "InternalServerError"),
            _ if call.nth == 1 => Reply::error(400, "TransactionCanceledException"),
            _ => Reply::ok("{}"),
        });
        let retrying = aws_sdk_dynamodb::Client::from_conf(
            fake.dynamodb()
                .config()
                .to_builder()
                .retry_config(
                    aws_sdk_dynamodb::config::retry::RetryConfig::standard()
                        .with_max_attempts(2)
                        .with_initial_backoff(Duration::from_millis(1)),
                )
                .build(),
        );
        let result = Disconnector::new(
            IntegrationStore::new(retrying, "t"),
            Duration::from_secs(86_400),
            SystemClock::shared(),
        )
        .disconnect(
            &AccountId::new("acct_1").unwrap(),
            &IntegrationId::parse("int_1").unwrap(),
            Some("req"),
        )
        .await;
        assert!(matches!(result, Ok(Disconnect::Now(_))), "{result:?}");
        let tokens: Vec<String> = fake
            .calls()
            .iter()
            .filter(|c| c.operation == "TransactWriteItems")
            .map(|c| {
                let body: serde_json::Value = serde_json::from_str(&c.body).unwrap();
                body["ClientRequestToken"].as_str().unwrap().to_owned()
            })
            .collect();
        assert_eq!(tokens.len(), 3, "{tokens:?}");
        assert_eq!(tokens[0], tokens[1], "the SDK's retry keeps the token");
        assert_ne!(
            tokens[1], tokens[2],
            "the next round's transaction has its own"
        );
        for token in &tokens {
            assert_eq!(token.len(), 36, "{token}");
        }
    }

    /// Priming reads the partition no integration has, once, and reports a failed read.
    #[tokio::test]
    async fn priming_reads_one_empty_partition_and_reports_a_failure() {
        let disconnector = |fake: &FakeAws| {
            Disconnector::new(
                IntegrationStore::new(fake.dynamodb(), "t"),
                Duration::from_secs(86_400),
                SystemClock::shared(),
            )
        };
        let fake = FakeAws::new(|_| Reply::ok(r#"{"Items": [], "Count": 0, "ScannedCount": 0}"#));
        disconnector(&fake).prime().await.unwrap();
        let calls = fake.calls();
        assert_eq!(calls.len(), 1, "{calls:?}");
        assert_eq!(calls[0].operation, "Query");
        assert!(
            calls[0].body.contains("INTEGRATION#__prime__"),
            "{}",
            calls[0].body
        );
        let failing = FakeAws::new(|_| Reply::error(400, "ResourceNotFoundException"));
        assert!(disconnector(&failing).prime().await.is_err());
    }

    /// A repeat deletes what a writer outside the token protocol left, and only then.
    #[tokio::test]
    async fn a_repeat_deletes_leftover_tokens_and_nothing_when_there_are_none() {
        let marker_page = |tokens: usize| {
            let expires = integrations_table::marker::epoch_seconds(SystemTime::now()) + 3600;
            let mut items = vec![format!(
                r#"{{"PK": {{"S": "INTEGRATION#int_1"}}, "SK": {{"S": "DISCONNECTED"}}, "id": {{"S": "int_1"}}, "accountId": {{"S": "acct_1"}}, "type": {{"S": "youtube"}}, "disconnectedAt": {{"S": "2026-11-28T10:00:00Z"}}, "reason": {{"S": "integration_disconnected"}}, "expiresAt": {{"N": "{expires}"}}}}"#
            )];
            items.extend((0..tokens).map(|i| {
                format!(r#"{{"PK": {{"S": "INTEGRATION#int_1"}}, "SK": {{"S": "TOKEN#{i:03}"}}}}"#)
            }));
            Reply::ok(format!(
                r#"{{"Items": [{}], "Count": {n}, "ScannedCount": {n}}}"#,
                items.join(","),
                n = items.len()
            ))
        };
        for tokens in [0, 2] {
            let (result, fake) = disconnect_with(move |call| match call.operation.as_str() {
                "Query" => marker_page(tokens),
                _ => Reply::ok("{}"),
            })
            .await;
            let outcome = result.unwrap_or_else(|e| panic!("{tokens}: {e:?}"));
            assert!(matches!(outcome, Disconnect::Earlier(_)), "{tokens}");
            assert_eq!(
                fake.count("BatchWriteItem"),
                usize::from(tokens > 0),
                "{tokens} leftover tokens"
            );
            assert_eq!(fake.count("TransactWriteItems"), 0, "{tokens}");
        }
    }

    /// Each round after a lost race waits at least its back-off's least value (a lower bound,
    /// which holds however loaded the machine).
    #[tokio::test]
    async fn each_round_after_a_lost_race_waits_its_back_off() {
        use std::sync::{Arc, Mutex};
        use std::time::Instant;
        let reads = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&reads);
        let (result, _) = disconnect_with(move |call| match call.operation.as_str() {
            "Query" => {
                seen.lock().unwrap().push(Instant::now());
                integration_page(0)
            }
            _ if call.nth < 3 => Reply::error(400, "TransactionCanceledException"),
            _ => Reply::ok("{}"),
        })
        .await;
        assert!(matches!(result, Ok(Disconnect::Now(_))), "{result:?}");
        let reads = reads.lock().unwrap().clone();
        assert_eq!(reads.len(), 4, "read again after each lost race");
        // `batch::backoff`'s floor: half of 20 ms doubled per attempt, capped at 640 ms.
        let least = |attempt: u32| Duration::from_millis(10 << attempt.min(5));
        for (attempt, pair) in (1..).zip(reads.windows(2)) {
            let waited = pair[1] - pair[0];
            assert!(waited >= least(attempt), "round {attempt} after {waited:?}");
        }
    }

    #[tokio::test]
    async fn endless_contention_gives_up_as_unavailable() {
        let (result, fake) = disconnect_with(|call| match call.operation.as_str() {
            "Query" => integration_page(0),
            _ => Reply::error(400, "TransactionCanceledException"),
        })
        .await;
        let err = result.unwrap_err();
        assert!(err.is_transient(), "{err:?}");
        assert_eq!(fake.count("TransactWriteItems"), MAX_ATTEMPTS as usize);
    }

    #[tokio::test]
    async fn a_malformed_integration_item_is_internal_and_names_the_integration() {
        let (result, _) = disconnect_with(|_| {
            Reply::ok(
                r#"{"Items": [{"SK": {"S": "INTEGRATION"}, "accountId": {"N": "1"}}], "Count": 1}"#,
            )
        })
        .await;
        let err = result.unwrap_err();
        assert!(matches!(err, Error::Internal { .. }), "{err:?}");
        assert!(err.to_string().contains("int_1"), "{err}");
    }
}
