//! The clock, injected: production reads the system's; tests advance one instead of sleeping.

use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// Wall time for what is written (`disconnectedAt`, `expiresAt`), monotonic time for what is
/// measured (cache ages).
pub trait Clock: Send + Sync + Debug {
    fn now(&self) -> SystemTime;
    /// Time since an arbitrary fixed origin; never goes backwards.
    fn monotonic(&self) -> Duration;
}

/// A shared clock.
pub type SharedClock = Arc<dyn Clock>;

/// The system's clocks.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    pub fn shared() -> SharedClock {
        Arc::new(Self {
            origin: Instant::now(),
        })
    }
}

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn monotonic(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// The system's clocks plus an offset that only [`OffsetClock::advance`] changes: time runs at
/// real speed, and a test can jump it forward instead of sleeping.
#[derive(Debug, Clone)]
pub struct OffsetClock {
    system: SystemClock,
    offset: Arc<Mutex<Duration>>,
}

impl Default for OffsetClock {
    fn default() -> Self {
        Self {
            system: SystemClock {
                origin: Instant::now(),
            },
            offset: Arc::default(),
        }
    }
}

impl OffsetClock {
    pub fn advance(&self, by: Duration) {
        *self.offset.lock().unwrap_or_else(|e| e.into_inner()) += by;
    }

    fn offset(&self) -> Duration {
        *self.offset.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> SystemTime {
        self.system.now() + self.offset()
    }

    fn monotonic(&self) -> Duration {
        self.system.monotonic() + self.offset()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offset_clock_jumps_both_clocks_forward() {
        let clock = OffsetClock::default();
        let (wall, mono) = (clock.now(), clock.monotonic());
        clock.advance(Duration::from_secs(3600));
        assert!(clock.now() >= wall + Duration::from_secs(3600));
        assert!(clock.monotonic() >= mono + Duration::from_secs(3600));
    }
}
