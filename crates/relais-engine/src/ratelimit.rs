//! Throughput limits counted in segments: an async token bucket per connector.
//!
//! governor (DESIGN.md's rate limiter) checks one cell or `n ≤ burst` cells at a
//! time; a batch of long messages needs to wait for an arbitrary number of
//! segments, so this small bucket lets the balance go negative and sleeps the
//! debt off, which spreads any batch evenly over time.

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

pub struct SegmentRate {
    per_second: f64,
    burst: f64,
    state: Mutex<Bucket>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl SegmentRate {
    /// `per_second` segments on average, up to `burst` at once.
    pub fn new(per_second: u32, burst: u32) -> Self {
        let per_second = f64::from(per_second.max(1));
        let burst = f64::from(burst.max(1));
        SegmentRate {
            per_second,
            burst,
            state: Mutex::new(Bucket {
                tokens: burst,
                at: Instant::now(),
            }),
        }
    }

    /// Takes `segments` tokens, waiting as long as the rate requires.
    pub async fn acquire(&self, segments: u32) {
        let wait = {
            let mut b = self.state.lock().await;
            let now = Instant::now();
            b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * self.per_second)
                .min(self.burst);
            b.at = now;
            b.tokens -= f64::from(segments);
            (b.tokens < 0.0).then(|| Duration::from_secs_f64(-b.tokens / self.per_second))
        };
        if let Some(wait) = wait {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn spreads_segments_over_time() {
        let rate = SegmentRate::new(100, 100);
        let start = Instant::now();
        rate.acquire(100).await; // the burst is free
        assert_eq!(start.elapsed(), Duration::ZERO);
        rate.acquire(50).await; // 50 more at 100/s: half a second
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_millis(499) && waited <= Duration::from_millis(510),
            "{waited:?}"
        );
        rate.acquire(300).await; // a batch larger than the burst waits it off
        let total = start.elapsed();
        assert!(
            total >= Duration::from_millis(3499) && total <= Duration::from_millis(3520),
            "{total:?}"
        );
    }
}
