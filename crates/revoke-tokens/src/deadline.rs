//! The invocation's clock: its deadline, and what is kept back from it.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Time kept back from the invocation's deadline to record an outcome after a platform call (one
/// `UpdateItem`, whose retries end within 5 s).
pub const RECORD_RESERVE: Duration = Duration::from_secs(6);

/// The deadline of an invocation, from the Runtime API's `Lambda-Runtime-Deadline-Ms` (epoch
/// milliseconds). A value that is no epoch time (`cargo lambda watch` sends a relative one)
/// gives `fallback` from now.
pub fn invocation_deadline(deadline_ms: u64, fallback: Duration) -> Instant {
    // 2001-09-09 in epoch milliseconds: any real invocation deadline is later.
    const PLAUSIBLE_EPOCH_MS: u64 = 1_000_000_000_000;
    if deadline_ms < PLAUSIBLE_EPOCH_MS {
        return Instant::now() + fallback;
    }
    let ends = UNIX_EPOCH + Duration::from_millis(deadline_ms);
    Instant::now() + ends.duration_since(SystemTime::now()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_epoch_deadline_is_that_far_from_now_and_a_relative_one_takes_the_fallback() {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let left = invocation_deadline(now_ms + 30_000, Duration::from_secs(60))
            .saturating_duration_since(Instant::now());
        assert!(
            left > Duration::from_secs(29) && left <= Duration::from_secs(30),
            "{left:?}"
        );
        let past = invocation_deadline(now_ms - 5_000, Duration::from_secs(60));
        assert!(past <= Instant::now(), "a passed deadline is now");
        let local = invocation_deadline(600_000, Duration::from_secs(60))
            .saturating_duration_since(Instant::now());
        assert!(
            local > Duration::from_secs(59) && local <= Duration::from_secs(60),
            "{local:?}"
        );
    }
}
