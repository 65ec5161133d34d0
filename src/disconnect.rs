//! The disconnect: read the partition, decide, write, and read again when the write lost a race.
//!
//! [`Disconnector`] runs the read-decide-write loop: [`IntegrationStore`] reads the partition,
//! [`decide`] (the rule, in [`crate::plan`]) makes a plan of it in the table's terms, and the
//! store turns the plan into DynamoDB calls.
//!
//! At every point of a crash the integration either still exists (a retried DELETE finishes the
//! job) or is gone together with the marker written in the same transaction: surplus tokens are
//! deleted *before* the transaction, never after.

use std::time::Duration;

use integrations_table::batch::backoff;
use integrations_table::{AccountId, DisconnectMarker, IntegrationId};

use crate::error::{Dependency, Error};
use crate::plan::{Decision, Request, decide};
use crate::store::{Committed, IntegrationStore};
use function_support::clock::SharedClock;

/// What a successful DELETE did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disconnect {
    /// This request removed the integration and wrote the marker.
    Now(DisconnectMarker),
    /// The same account had already disconnected it; the marker is the original one.
    Repeat(DisconnectMarker),
}

impl Disconnect {
    pub fn marker(&self) -> &DisconnectMarker {
        match self {
            Self::Now(m) | Self::Repeat(m) => m,
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

/// Read-decide-write rounds before a contended disconnect gives up with 503.
pub const MAX_ATTEMPTS: u32 = 8;

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
    /// `request_id` (the Lambda request id) and the transaction
    /// ([`crate::plan::Transaction::token`]): the SDK's retries of one call send the same token,
    /// so a retry of a transaction that was applied succeeds without applying it twice; a later
    /// round, whose transaction differs, never reuses a token.
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
                        self.store.delete_tokens(id, &leftover).await?;
                    }
                    return Ok(Disconnect::Repeat(marker));
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
            self.store.delete_tokens(id, &plan.surplus).await?;
            match self.store.transact(&plan.transaction, request_id).await? {
                Committed::Yes => return Ok(Disconnect::Now(plan.transaction.marker)),
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
mod wire_tests {
    //! The loop over a fake DynamoDB: what each answer on the wire makes of a disconnect.
    use std::time::Duration;

    use integrations_table::AccountId;
    use integrations_table::attributes::{
        ACCOUNT_ID, DISCONNECTED_AT, EXPIRES_AT, ID, PK, REASON, SK, TYPE, VERSION,
    };
    use serde_json::{Value, json};
    use test_support::fake_aws::{Call, FakeAws, Reply, wire_item};

    use integrations_table::IntegrationId;

    use std::time::SystemTime;

    use crate::plan::MAX_TOKENS_IN_TRANSACTION;
    use crate::store::IntegrationStore;
    use function_support::clock::SystemClock;

    use super::*;

    /// A Query answer holding `first` then `tokens` token items, all in `int_1`'s partition.
    fn page(first: Value, tokens: usize) -> Reply {
        let mut items = vec![first];
        items.extend(
            (0..tokens).map(|i| json!({PK: "INTEGRATION#int_1", SK: format!("TOKEN#{i:03}")})),
        );
        let items: Vec<Value> = items.iter().map(wire_item).collect();
        let n = items.len();
        Reply::ok(json!({"Items": items, "Count": n, "ScannedCount": n}).to_string())
    }

    /// A Query answer: acct_1's youtube integration `int_1` with `tokens` tokens.
    fn integration_page(tokens: usize) -> Reply {
        page(
            json!({PK: "INTEGRATION#int_1", SK: "INTEGRATION", ACCOUNT_ID: "acct_1", TYPE: "youtube"}),
            tokens,
        )
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
        let secret = "secret-value-in-the-body";
        let whole = json!({"Items": [wire_item(&json!({PK: "INTEGRATION#int_1", SK: secret}))]});
        let whole = whole.to_string();
        let cut = whole[..whole.find(secret).unwrap() + secret.len()].to_owned();
        let (result, _) = disconnect_with(move |_| Reply::ok(cut.clone())).await;
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
            "BatchWriteItem" if call.nth == 0 => {
                let key = wire_item(&json!({PK: "INTEGRATION#int_1", SK: "TOKEN#000"}));
                let unprocessed = json!({"t": [{"DeleteRequest": {"Key": key}}]});
                Reply::ok(json!({ "UnprocessedItems": unprocessed }).to_string())
            }
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
        let batches = fake
            .calls()
            .iter()
            .filter(|c| c.operation == "BatchWriteItem")
            .map(|c| deleted_keys(&c.body))
            .collect::<Vec<_>>();
        assert_eq!(
            batches,
            [
                vec!["TOKEN#000", "TOKEN#001", "TOKEN#002"],
                vec!["TOKEN#000"]
            ],
            "the three surplus tokens, then only the unprocessed one again"
        );
        assert_eq!(fake.count("TransactWriteItems"), 1);
    }

    /// The sort keys a `BatchWriteItem` body deletes, each checked to be in `int_1`'s partition.
    fn deleted_keys(body: &str) -> Vec<String> {
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        body["RequestItems"]["t"]
            .as_array()
            .unwrap()
            .iter()
            .map(|request| {
                let key = &request["DeleteRequest"]["Key"];
                assert_eq!(key[PK]["S"], "INTEGRATION#int_1", "{key}");
                key[SK]["S"].as_str().unwrap().to_owned()
            })
            .collect()
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

    /// Each round sends exactly the token derived from its transaction (the SHA-256 of the
    /// request id and the transaction, written out here by hand), so a missing token, which the
    /// SDK would fill with a random one of the same length, fails; the SDK's own retries of one
    /// call carry the same token (what makes them idempotent); a later round, with another
    /// transaction, carries another.
    #[tokio::test]
    async fn each_round_sends_the_token_of_its_own_transaction_and_sdk_retries_keep_it() {
        use sha2::{Digest, Sha256};
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
        let sent: Vec<serde_json::Value> = fake
            .calls()
            .iter()
            .filter(|c| c.operation == "TransactWriteItems")
            .map(|c| serde_json::from_str(&c.body).unwrap())
            .collect();
        assert_eq!(sent.len(), 3);
        // The token each body must carry: its marker's times, read from its put.
        let expected = |body: &serde_json::Value, tokens: usize| {
            let items = body["TransactItems"].as_array().unwrap();
            let put = &items.last().unwrap()["Put"]["Item"];
            let tokens: Vec<String> = (0..tokens).map(|i| format!(r#""TOKEN#{i:03}""#)).collect();
            let tokens = tokens.join(",");
            let at = put[DISCONNECTED_AT]["S"].as_str().unwrap();
            let expires = put[EXPIRES_AT]["N"].as_str().unwrap();
            // The marker's serde names are the table's ([`integrations_table::DisconnectMarker`]).
            let marker = format!(
                r#"{{"{ID}":"int_1","{ACCOUNT_ID}":"acct_1","{TYPE}":"youtube","{DISCONNECTED_AT}":"{at}","{REASON}":"integration_disconnected","{EXPIRES_AT}":{expires}}}"#
            );
            let json = format!(
                r#"["req",{{"id":"int_1","integration":{{"{ACCOUNT_ID}":"acct_1","{VERSION}":null}},"tokens":[{tokens}],"marker":{marker}}}]"#
            );
            hex::encode(Sha256::digest(json))[..36].to_owned()
        };
        let token =
            |body: &serde_json::Value| body["ClientRequestToken"].as_str().map(str::to_owned);
        assert_eq!(token(&sent[0]), Some(expected(&sent[0], 2)), "round 1");
        assert_eq!(
            token(&sent[1]),
            token(&sent[0]),
            "the SDK's retry keeps the token"
        );
        assert_eq!(token(&sent[2]), Some(expected(&sent[2], 3)), "round 2");
        assert_ne!(
            token(&sent[2]),
            token(&sent[1]),
            "the next round has its own"
        );
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
            let marker = json!({
                PK: "INTEGRATION#int_1", SK: "DISCONNECTED", ID: "int_1", ACCOUNT_ID: "acct_1",
                TYPE: "youtube", DISCONNECTED_AT: "2026-11-28T10:00:00Z",
                REASON: "integration_disconnected", EXPIRES_AT: expires,
            });
            page(marker, tokens)
        };
        for tokens in [0, 2] {
            let (result, fake) = disconnect_with(move |call| match call.operation.as_str() {
                "Query" => marker_page(tokens),
                _ => Reply::ok("{}"),
            })
            .await;
            let outcome = result.unwrap_or_else(|e| panic!("{tokens}: {e:?}"));
            assert!(matches!(outcome, Disconnect::Repeat(_)), "{tokens}");
            let deleted: Vec<Vec<String>> = fake
                .calls()
                .iter()
                .filter(|c| c.operation == "BatchWriteItem")
                .map(|c| deleted_keys(&c.body))
                .collect();
            let expected: Vec<Vec<String>> = if tokens == 0 {
                vec![]
            } else {
                vec![(0..tokens).map(|i| format!("TOKEN#{i:03}")).collect()]
            };
            assert_eq!(
                deleted, expected,
                "{tokens} leftover tokens, and never the marker"
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
        // The documented figure (docs/data-contract.md): up to 8 rounds.
        assert_eq!(fake.count("TransactWriteItems"), 8);
    }

    #[tokio::test]
    async fn a_malformed_integration_item_is_internal_and_names_the_integration() {
        let (result, _) = disconnect_with(|_| {
            let item = wire_item(&json!({SK: "INTEGRATION", ACCOUNT_ID: 1}));
            Reply::ok(json!({"Items": [item], "Count": 1}).to_string())
        })
        .await;
        let err = result.unwrap_err();
        assert!(matches!(err, Error::Internal { .. }), "{err:?}");
        assert!(err.to_string().contains("int_1"), "{err}");
    }
}
