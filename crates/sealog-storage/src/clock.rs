//! The one wall clock of a server (leaves' receive times, checkpoints' signing times, the
//! events the server records), a test-only offset of it, and the clock retention trusts.
//!
//! **The test clock.** `SEALOG_TEST_ONLY_CLOCK_OFFSET_SECONDS` (read by `sealog serve`) shifts
//! this clock by a number of seconds, so that a test can record events "200 days ago" and
//! prune them today. It exists for tests alone: `sealog serve` accepts it only together with
//! a listen address on the loopback interface and without TLS, logs a warning, and the log's
//! metadata (`GET /v1/logs/{log}`) and every `prune` event show the offset.
//!
//! **The retention clock.** A wall clock can jump (an NTP step, an operator's mistake, the
//! test offset); retention must never prune sooner than its period says. [`RetentionClock`]
//! therefore counts time since the server started by the monotonic clock as well as the wall
//! clock, and takes the smaller: a jump forward while the server runs moves it no further
//! than the monotonic clock did, and a jump backward holds pruning back. What it cannot see is
//! a jump while the server was stopped: the wall time at start is taken as given (and logged).

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Instant;

static OFFSET_MICROS: AtomicI64 = AtomicI64::new(0);

/// Shifts the server's clock by `seconds`; for tests only (see the module's documentation).
pub fn set_test_offset(seconds: i64) {
    OFFSET_MICROS.store(seconds.saturating_mul(1_000_000), Ordering::Relaxed);
}

/// The test offset in force, in seconds (0 in production).
pub fn test_offset_seconds() -> i64 {
    OFFSET_MICROS.load(Ordering::Relaxed) / 1_000_000
}

/// The current time in µs since the Unix epoch, by the server's clock.
pub fn now_micros() -> i64 {
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
    wall.saturating_add(OFFSET_MICROS.load(Ordering::Relaxed))
}

/// A clock that never runs ahead of the monotonic time since it was made.
#[derive(Clone, Copy, Debug)]
pub struct RetentionClock {
    wall_at_start: i64,
    started: Instant,
}

impl RetentionClock {
    /// A clock starting now.
    pub fn start() -> RetentionClock {
        RetentionClock {
            wall_at_start: now_micros(),
            started: Instant::now(),
        }
    }

    /// The wall time at start, µs since the Unix epoch.
    pub fn wall_at_start(&self) -> i64 {
        self.wall_at_start
    }

    /// The time now, µs since the epoch: the wall time at start plus the smaller of the wall
    /// and the monotonic time elapsed since.
    pub fn now_micros(&self) -> i64 {
        let monotonic = i64::try_from(self.started.elapsed().as_micros()).unwrap_or(i64::MAX);
        self.at(now_micros(), monotonic)
    }

    fn at(&self, wall_now: i64, monotonic_elapsed: i64) -> i64 {
        let wall_elapsed = wall_now.saturating_sub(self.wall_at_start);
        self.wall_at_start
            .saturating_add(wall_elapsed.min(monotonic_elapsed).max(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jump_of_the_wall_clock_never_moves_retention_faster_than_the_monotonic_clock() {
        let clock = RetentionClock {
            wall_at_start: 1_000,
            started: Instant::now(),
        };
        // Both clocks agree: the time moves with them.
        assert_eq!(clock.at(1_500, 500), 1_500);
        // The wall clock jumped a year ahead: only the monotonic time counts.
        assert_eq!(clock.at(1_000 + 31_536_000_000_000, 500), 1_500);
        // The wall clock jumped back before the start: the time stands still at the start.
        assert_eq!(clock.at(-5_000, 500), 1_000);
        // The wall clock ran slow (or was set back a little): it holds pruning back.
        assert_eq!(clock.at(1_200, 500), 1_200);
    }
}
