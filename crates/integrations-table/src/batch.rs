//! Batch calls and the retry of what DynamoDB leaves unprocessed.

use std::time::{Duration, SystemTime};

/// `BatchWriteItem` takes at most 25 requests.
pub const BATCH_WRITE_LIMIT: usize = 25;
/// `BatchGetItem` reads at most 100 keys.
pub const BATCH_GET_LIMIT: usize = 100;
/// Rounds of one batch (the first send included) before giving up.
pub const MAX_BATCH_ROUNDS: u32 = 8;

/// DynamoDB kept leaving part of a batch unprocessed: it is throttling, so retry later.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} still unprocessed after {rounds} rounds")]
pub struct StillUnprocessed {
    pub what: &'static str,
    pub rounds: u32,
}

/// Sends `first`, then whatever DynamoDB left unprocessed (`UnprocessedItems`,
/// `UnprocessedKeys`), with [`backoff`] between rounds, until nothing is left. `send` returns
/// its result and the unprocessed rest, if any. Gives up with [`StillUnprocessed`] after
/// [`MAX_BATCH_ROUNDS`] rounds.
pub async fn until_processed<T, R, E, F, Fut>(
    first: T,
    what: &'static str,
    mut send: F,
) -> Result<Vec<R>, E>
where
    F: FnMut(T) -> Fut,
    Fut: Future<Output = Result<(R, Option<T>), E>>,
    E: From<StillUnprocessed>,
{
    let (result, mut pending) = send(first).await?;
    let mut results = vec![result];
    let mut rounds = 1;
    while let Some(batch) = pending.take() {
        if rounds == MAX_BATCH_ROUNDS {
            return Err(StillUnprocessed { what, rounds }.into());
        }
        tokio::time::sleep(backoff(rounds)).await;
        let (result, rest) = send(batch).await?;
        results.push(result);
        pending = rest;
        rounds += 1;
    }
    Ok(results)
}

/// Exponential back-off with jitter: about 20 ms, 40 ms, ... capped at 640 ms.
pub fn backoff(attempt: u32) -> Duration {
    let noise = u64::from(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_nanos(),
    );
    backoff_with(attempt, noise)
}

/// [`backoff`] with its jitter drawn from `noise`: half the attempt's base (20 ms doubled per
/// attempt, up to 640 ms) plus `noise` modulo the base, so in `[base / 2, base * 3 / 2)`.
fn backoff_with(attempt: u32, noise: u64) -> Duration {
    let base_ms = 20u64 << attempt.min(5);
    Duration::from_millis(base_ms / 2 + noise % base_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn backoff_grows_and_stays_bounded() {
        // The window of each attempt: its least and its greatest back-off.
        // 1279 is one less than a multiple of every base: the greatest jitter of each.
        let window = |attempt| (backoff_with(attempt, 0), backoff_with(attempt, 1279));
        let ms = Duration::from_millis;
        assert_eq!(window(0), (ms(10), ms(29)));
        assert_eq!(window(5), (ms(320), ms(959)));
        for attempt in 0..20 {
            let (least, greatest) = window(attempt);
            let (next_least, next_greatest) = window(attempt + 1);
            if attempt < 5 {
                // It doubles: the next attempt waits at least twice as long at each end.
                assert_eq!(next_least, least * 2, "{attempt}");
                assert!(next_greatest > greatest, "{attempt}");
            } else {
                assert_eq!((next_least, next_greatest), (least, greatest), "capped");
            }
            assert!(greatest < ms(1000), "{attempt}: {greatest:?}");
            let drawn = backoff(attempt);
            assert!(least <= drawn && drawn <= greatest, "{attempt}: {drawn:?}");
        }
        // The jitter spreads: different noise, different waits.
        assert_ne!(backoff_with(3, 1), backoff_with(3, 77));
    }

    #[tokio::test]
    async fn the_unprocessed_rest_is_sent_again_until_nothing_is_left() {
        let mut sent = vec![];
        let results = until_processed(3, "items", |n: u32| {
            sent.push((n, Instant::now()));
            async move { Ok::<_, StillUnprocessed>((n, (n > 1).then_some(n - 1))) }
        })
        .await
        .unwrap();
        assert_eq!(sent.iter().map(|(n, _)| *n).collect::<Vec<_>>(), [3, 2, 1]);
        assert_eq!(results, [3, 2, 1]);
        // Between rounds, at least the least back-off of the round that follows (a lower bound
        // holds on any machine, however loaded).
        for (round, pair) in (1..).zip(sent.windows(2)) {
            let waited = pair[1].1 - pair[0].1;
            assert!(
                waited >= backoff_with(round, 0),
                "round {round} came after {waited:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_batch_processed_at_once_is_sent_once() {
        let mut sent = 0;
        let results = until_processed(7, "items", |n: u32| {
            sent += 1;
            async move { Ok::<_, StillUnprocessed>((n, None)) }
        })
        .await
        .unwrap();
        assert_eq!((sent, results), (1, vec![7]));
    }

    #[tokio::test]
    async fn an_error_of_a_later_round_ends_the_batch() {
        let err = until_processed(2, "items", |n: u32| async move {
            if n == 1 {
                Err(StillUnprocessed {
                    what: "the send failed",
                    rounds: 0,
                })
            } else {
                Ok((n, Some(n - 1)))
            }
        })
        .await
        .unwrap_err();
        assert_eq!(err.what, "the send failed");
    }

    #[tokio::test]
    async fn a_batch_that_never_empties_gives_up() {
        let mut sent = 0;
        let err = until_processed(1, "token deletes", |n: u32| {
            sent += 1;
            async move { Ok::<_, StillUnprocessed>(((), Some(n))) }
        })
        .await
        .unwrap_err();
        assert_eq!(sent, MAX_BATCH_ROUNDS, "every round was sent");
        assert_eq!(
            err,
            StillUnprocessed {
                what: "token deletes",
                rounds: MAX_BATCH_ROUNDS
            }
        );
    }
}
