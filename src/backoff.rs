//! Back-off between retries, the one function every retry loop uses (feed
//! fetches, SMTP deliveries): each caller passes its own [`BackOff`], built
//! and documented where it retries.

use std::time::Duration;

/// How one retry loop waits: exponential from `base_ms`, capped, with a
/// spread that differs per key so that many retries do not come in step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BackOff {
    /// The wait before the second try, in milliseconds.
    pub(crate) base_ms: u64,
    /// The wait doubles at most this many times; after that it stays.
    pub(crate) max_doublings: u32,
    /// Up to `1 / spread_divisor` of the wait is added, varied per key and
    /// attempt (2: up to half; 4: up to a quarter).
    pub(crate) spread_divisor: u64,
}

impl BackOff {
    /// The wait after failed try number `attempt` (1 for the first):
    /// `base_ms × 2^(attempt-1)`, plus up to `1 / spread_divisor` of it that
    /// depends on `key` (a URL, an address) and `attempt`.
    pub(crate) fn delay(&self, attempt: u32, key: &str) -> Duration {
        let doublings = attempt.saturating_sub(1).min(self.max_doublings).min(63);
        let wait = self.base_ms.saturating_mul(1 << doublings);
        let spread = key.bytes().fold(u64::from(attempt), |h, b| {
            h.wrapping_mul(131).wrapping_add(b.into())
        });
        let most = wait / self.spread_divisor.max(1);
        Duration::from_millis(wait.saturating_add(spread % most.saturating_add(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::BackOff;
    use std::time::Duration;

    const HALF: BackOff = BackOff {
        base_ms: 1000,
        max_doublings: 3,
        spread_divisor: 2,
    };

    fn within(wait: Duration, from_ms: u64, to_ms: u64) -> bool {
        wait >= Duration::from_millis(from_ms) && wait <= Duration::from_millis(to_ms)
    }

    #[test]
    fn doubles_up_to_the_cap_with_a_bounded_spread() {
        let key = "https://a.example/feed";
        assert!(within(HALF.delay(1, key), 1000, 1500));
        assert!(within(HALF.delay(2, key), 2000, 3000));
        assert!(within(HALF.delay(4, key), 8000, 12000));
        assert!(within(HALF.delay(9, key), 8000, 12000), "capped at 3 doublings");
        let quarter = BackOff {
            spread_divisor: 4,
            ..HALF
        };
        assert!(within(quarter.delay(2, key), 2000, 2500));
    }

    #[test]
    fn keys_spread_apart_and_nothing_overflows() {
        let waits: std::collections::HashSet<Duration> = (0..20)
            .map(|i| HALF.delay(1, &format!("reader{i}@example.eu")))
            .collect();
        assert!(
            waits.len() > 10,
            "retries of many keys do not come in step: {waits:?}"
        );
        let huge = BackOff {
            base_ms: u64::MAX,
            max_doublings: 99,
            spread_divisor: 0,
        };
        assert_eq!(huge.delay(u32::MAX, "x"), Duration::from_millis(u64::MAX));
    }
}
