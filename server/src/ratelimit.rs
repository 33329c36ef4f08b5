//! Rate limits on ingested events, in this process: token buckets per site, per client of a
//! site (its address, and each anonymous id) and, before any parsing, per address on the
//! bytes it sends.
//!
//! - Only events that are stored are paid for: a batch is charged for its valid events, and
//!   what storage finds already stored is refunded, so rejected and repeated events cost a
//!   site nothing.
//! - A client may take at most its own rate out of its site's bucket, so one caller cannot
//!   empty it for everyone else.
//! - A batch is paid in full, however big: a batch larger than a bucket is let through only
//!   when the bucket is full, which then goes into debt, so the configured rate holds on
//!   average even for one big batch.
//! - The byte budget is checked on the declared length before the body is read or parsed:
//!   a flood of large bodies from one address costs no parsing.
//!
//! With several servers behind a load balancer each enforces its own share, so the site's
//! limit is the per-process limit times the number of processes.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tailor::engine::wire::MAX_BATCH_BYTES;

/// Idle buckets are forgotten once there are more than this many.
const MAX_BUCKETS: usize = 100_000;

/// The smallest default per-client rate (events per second), unless the site's is lower.
pub const MIN_CLIENT_RATE: u32 = 100;

/// Bytes per second per address, at least; more when the client rate is high.
pub const MIN_BYTE_RATE: f64 = MAX_BATCH_BYTES as f64;

/// The byte bucket holds four batches of the largest size.
pub const BYTE_BURST: f64 = 4.0 * MAX_BATCH_BYTES as f64;

/// Every request costs at least this many bytes of the address's budget.
pub const MIN_REQUEST_BYTES: usize = 1024;

/// Who pays for a request.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    /// All events of a site.
    Site(String),
    /// Events of a site from one client address.
    Address(String, IpAddr),
    /// Events of a site under one anonymous id.
    Anonymous(String, String),
    /// Request bytes from one address, before parsing (any site).
    Bytes(IpAddr),
}

/// A refusal: which bucket could not pay, and how long until it can.
#[derive(Clone, Debug, PartialEq)]
pub struct Limited {
    pub wait: Duration,
    pub by: Key,
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// The limits of one server process.
pub struct RateLimiter {
    /// Events per second per site; 0 turns every limit off.
    site_rate: f64,
    /// Events per second per client address and per anonymous id of a site.
    client_rate: f64,
    /// Bytes per second per address.
    byte_rate: f64,
    buckets: Mutex<HashMap<Key, Bucket>>,
}

/// The default client rate for a site rate: a tenth of it, but at least
/// [`MIN_CLIENT_RATE`] (or the site's rate, when that is lower).
pub fn default_client_rate(site_rate: u32) -> u32 {
    (site_rate / 10).max(site_rate.min(MIN_CLIENT_RATE))
}

impl RateLimiter {
    /// `site_rate` events per second per site (0 = no limit at all); `client_rate` per client,
    /// [`default_client_rate`] when `None` (0 = no per-client limits).
    pub fn new(site_rate: u32, client_rate: Option<u32>) -> RateLimiter {
        let client_rate = client_rate.unwrap_or_else(|| default_client_rate(site_rate)) as f64;
        RateLimiter {
            site_rate: site_rate as f64,
            client_rate,
            byte_rate: MIN_BYTE_RATE.max(client_rate * 1024.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Whether any limit applies.
    pub fn is_on(&self) -> bool {
        self.site_rate > 0.0
    }

    /// The client rate in events per second (0 when off).
    pub fn client_rate(&self) -> f64 {
        if self.is_on() {
            self.client_rate
        } else {
            0.0
        }
    }

    /// (rate per second, bucket size) of a key's bucket; `None` when it is not limited.
    fn shape(&self, key: &Key) -> Option<(f64, f64)> {
        if !self.is_on() {
            return None;
        }
        let rate = match key {
            Key::Site(_) => self.site_rate,
            Key::Address(..) | Key::Anonymous(..) => self.client_rate,
            Key::Bytes(_) => {
                return (self.client_rate > 0.0).then_some((self.byte_rate, BYTE_BURST.max(self.byte_rate)))
            }
        };
        (rate > 0.0).then_some((rate, rate))
    }

    /// Takes `bytes` (at least [`MIN_REQUEST_BYTES`]) of `address`'s byte budget.
    pub fn admit_bytes(&self, address: IpAddr, bytes: usize, now: Instant) -> Result<(), Limited> {
        self.charge(&[(Key::Bytes(address), bytes.max(MIN_REQUEST_BYTES) as f64)], now)
    }

    /// Takes `cost` tokens from every bucket named, or none: when one of them cannot pay,
    /// says how long to wait (the longest wait of those that cannot).
    ///
    /// A bucket pays when it holds the cost; a cost larger than the bucket is paid when the
    /// bucket is full, leaving it in debt.
    pub fn charge(&self, costs: &[(Key, f64)], now: Instant) -> Result<(), Limited> {
        if !self.is_on() {
            return Ok(());
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > MAX_BUCKETS {
            self.forget_idle(&mut buckets, now);
        }
        let mut refused: Option<Limited> = None;
        for (key, cost) in costs {
            let Some((rate, burst)) = self.shape(key) else { continue };
            let tokens = refill(buckets.get(key), rate, burst, now);
            let need = cost.min(burst);
            if tokens < need {
                let wait = Duration::from_secs_f64((need - tokens) / rate);
                if refused.as_ref().is_none_or(|r| wait > r.wait) {
                    refused = Some(Limited { wait, by: key.clone() });
                }
            }
        }
        if let Some(refused) = refused {
            return Err(refused);
        }
        for (key, cost) in costs {
            let Some((rate, burst)) = self.shape(key) else { continue };
            let tokens = refill(buckets.get(key), rate, burst, now);
            buckets.insert(key.clone(), Bucket { tokens: tokens - cost, last: now });
        }
        Ok(())
    }

    /// Gives back tokens taken by [`RateLimiter::charge`] for events that were not stored.
    pub fn refund(&self, costs: &[(Key, f64)]) {
        if !self.is_on() {
            return;
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        for (key, cost) in costs {
            let Some((_, burst)) = self.shape(key) else { continue };
            if let Some(bucket) = buckets.get_mut(key) {
                bucket.tokens = (bucket.tokens + cost).min(burst);
            }
        }
    }

    /// Drops the buckets that have refilled: they are the same as no bucket.
    fn forget_idle(&self, buckets: &mut HashMap<Key, Bucket>, now: Instant) {
        buckets.retain(|key, bucket| match self.shape(key) {
            Some((rate, burst)) => refill(Some(bucket), rate, burst, now) < burst,
            None => false,
        });
    }

    /// How many buckets are kept (for tests).
    pub fn buckets(&self) -> usize {
        self.buckets.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

fn refill(bucket: Option<&Bucket>, rate: f64, burst: f64, now: Instant) -> f64 {
    match bucket {
        None => burst,
        Some(b) => (b.tokens + now.saturating_duration_since(b.last).as_secs_f64() * rate).min(burst),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(s: &str, n: f64) -> Vec<(Key, f64)> {
        vec![(Key::Site(s.into()), n)]
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn bucket_refills_at_the_rate() {
        let limiter = RateLimiter::new(10, None);
        let t0 = Instant::now();
        assert!(limiter.charge(&site("a", 10.0), t0).is_ok());
        let wait = limiter.charge(&site("a", 5.0), t0).unwrap_err().wait;
        assert!((wait.as_secs_f64() - 0.5).abs() < 1e-9);
        assert!(limiter.charge(&site("b", 10.0), t0).is_ok(), "sites have their own buckets");
        assert!(limiter.charge(&site("a", 5.0), t0 + Duration::from_millis(500)).is_ok());
        assert!(RateLimiter::new(0, None).charge(&site("a", 1e6), t0).is_ok());
    }

    #[test]
    fn a_big_batch_pays_in_full_and_leaves_the_bucket_in_debt() {
        let limiter = RateLimiter::new(10, None);
        let t0 = Instant::now();
        assert!(limiter.charge(&site("a", 1_000.0), t0).is_ok(), "a full bucket lets one big batch through");
        // 990 in debt: the next event waits until 991 tokens have come back.
        let wait = limiter.charge(&site("a", 1.0), t0 + Duration::from_secs(5)).unwrap_err().wait;
        assert!((wait.as_secs_f64() - 94.1).abs() < 1e-6, "{wait:?}");
        assert!(limiter.charge(&site("a", 1.0), t0 + Duration::from_secs(100)).is_ok());
    }

    #[test]
    fn all_or_nothing_and_refunds() {
        let limiter = RateLimiter::new(1_000, Some(10));
        let t0 = Instant::now();
        let costs = |n: f64| {
            vec![
                (Key::Site("s".into()), n),
                (Key::Address("s".into(), ip("10.0.0.1")), n),
                (Key::Anonymous("s".into(), "a".into()), n),
            ]
        };
        assert!(limiter.charge(&costs(8.0), t0).is_ok());
        let refused = limiter.charge(&costs(8.0), t0).unwrap_err();
        assert!(matches!(refused.by, Key::Address(..) | Key::Anonymous(..)), "the client's buckets cannot pay");
        // Nothing was taken from the site's bucket by the refused batch.
        assert!(limiter.charge(&site("s", 992.0), t0).is_ok());
        limiter.refund(&costs(8.0));
        assert!(limiter.charge(&costs(10.0)[1..], t0).is_ok(), "refunded to the client");
        assert!(limiter.charge(&[(Key::Address("other".into(), ip("10.0.0.1")), 10.0)], t0).is_ok());
    }

    #[test]
    fn default_client_rate_is_a_tenth_with_a_floor() {
        assert_eq!(default_client_rate(1_000), 100);
        assert_eq!(default_client_rate(10), 10);
        assert_eq!(default_client_rate(200), 100);
        assert_eq!(default_client_rate(1_000_000), 100_000);
        assert_eq!(default_client_rate(0), 0);
    }

    #[test]
    fn bytes_are_limited_per_address_before_parsing() {
        let limiter = RateLimiter::new(1_000, None);
        let t0 = Instant::now();
        for _ in 0..4 {
            assert!(limiter.admit_bytes(ip("10.0.0.1"), MAX_BATCH_BYTES, t0).is_ok());
        }
        let wait = limiter.admit_bytes(ip("10.0.0.1"), MAX_BATCH_BYTES, t0).unwrap_err().wait;
        assert!((wait.as_secs_f64() - 1.0).abs() < 1e-9, "{wait:?}");
        assert!(limiter.admit_bytes(ip("10.0.0.2"), MAX_BATCH_BYTES, t0).is_ok());
        assert!(RateLimiter::new(1_000, Some(0)).admit_bytes(ip("10.0.0.1"), usize::MAX, t0).is_ok());
    }

    #[test]
    fn idle_buckets_are_forgotten() {
        let limiter = RateLimiter::new(1_000, None);
        let t0 = Instant::now();
        for n in 0..=MAX_BUCKETS {
            limiter.charge(&[(Key::Anonymous("s".into(), n.to_string()), 1.0)], t0).unwrap();
        }
        limiter.charge(&site("s", 1.0), t0 + Duration::from_secs(1)).unwrap();
        assert!(limiter.buckets() <= 2, "{}", limiter.buckets());
    }
}
