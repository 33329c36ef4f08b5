//! Per-site rate limit on ingested events: a token bucket per site, in this process.
//!
//! With several servers behind a load balancer each enforces its own share, so the site's
//! limit is the per-process limit times the number of processes.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct RateLimiter {
    /// Events per second per site; 0 turns the limit off.
    rate: f64,
    /// Bucket size: one second of events.
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    pub fn new(events_per_second: u32) -> RateLimiter {
        RateLimiter {
            rate: events_per_second as f64,
            burst: events_per_second as f64,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes `events` tokens (at most a full bucket) for `site` at `now`; when there are not
    /// enough, takes none and says how long to wait.
    pub fn check(&self, site: &str, events: usize, now: Instant) -> Result<(), Duration> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let cost = (events.max(1) as f64).min(self.burst);
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > 100_000 {
            buckets.retain(|_, (_, last)| now.duration_since(*last) < Duration::from_secs(60));
        }
        let (tokens, last) = buckets.entry(site.to_string()).or_insert((self.burst, now));
        *tokens = (*tokens + now.saturating_duration_since(*last).as_secs_f64() * self.rate).min(self.burst);
        *last = now;
        if *tokens >= cost {
            *tokens -= cost;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((cost - *tokens) / self.rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_refills_at_the_rate() {
        let limiter = RateLimiter::new(10);
        let t0 = Instant::now();
        assert!(limiter.check("a", 10, t0).is_ok());
        let wait = limiter.check("a", 5, t0).unwrap_err();
        assert!((wait.as_secs_f64() - 0.5).abs() < 1e-9);
        assert!(limiter.check("b", 10, t0).is_ok(), "sites have their own buckets");
        assert!(limiter.check("a", 5, t0 + Duration::from_millis(500)).is_ok());
        assert!(limiter.check("a", 1_000, t0 + Duration::from_secs(5)).is_ok(), "capped at a bucket");
        assert!(RateLimiter::new(0).check("a", 1_000_000, t0).is_ok());
    }
}
