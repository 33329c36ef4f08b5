//! The profile's parts and how one event updates them.

use crate::engine::event::EventType;

pub(crate) const DAY_MS: f64 = 86_400_000.0;

/// Count, first and last time of one kind of event.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Counter {
    pub count: u64,
    pub first: f64,
    pub last: f64,
}

impl Counter {
    pub fn hit(&mut self, t: f64) {
        if self.count == 0 {
            self.first = t;
            self.last = t;
        } else {
            self.first = self.first.min(t);
            self.last = self.last.max(t);
        }
        self.count = self.count.saturating_add(1);
    }
}

/// Events and revenue of one UTC day, for the rolling 7 and 30 day counts.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Day {
    /// Days since 1970-01-01 (UTC).
    pub day: i64,
    pub counts: [u32; 12],
    pub revenue: f64,
}

pub(crate) fn day_of(t: f64) -> i64 {
    (t / DAY_MS).floor() as i64
}

/// Scores with exponential decay, all referred to one time `at`:
/// the score at time `t` is `score * 0.5^((t - at) / half_life)`.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Affinity {
    pub at: f64,
    /// Highest score first.
    pub scores: Vec<(String, f64)>,
}

/// `0.5^(dt / half_life)`; no decay for a non-positive `dt` or an unusable half-life.
pub(crate) fn decay(dt: f64, half_life: f64) -> f64 {
    if dt > 0.0 && half_life > 0.0 && half_life.is_finite() {
        (-std::f64::consts::LN_2 * dt / half_life).exp()
    } else {
        1.0
    }
}

impl Affinity {
    /// Moves the reference time forward to `t` (never back), decaying every score.
    pub fn advance(&mut self, t: f64, half_life: f64) {
        if t > self.at {
            let f = decay(t - self.at, half_life);
            for s in &mut self.scores {
                s.1 *= f;
            }
            self.at = t;
        }
    }

    /// Adds `weight` to `key` at time `t`. A new key evicts the lowest score when full:
    /// the most recent interest always enters, the weakest (usually oldest) leaves.
    pub fn add(&mut self, key: &str, weight: f64, t: f64, half_life: f64, max: usize) {
        self.advance(t, half_life);
        let w = weight * decay(self.at - t, half_life);
        match self.scores.iter_mut().find(|(k, _)| k == key) {
            Some(s) => s.1 += w,
            None => {
                if self.scores.len() >= max {
                    self.scores.pop();
                }
                self.scores.push((key.to_string(), w));
            }
        }
        self.sort();
    }

    pub fn sort(&mut self) {
        crate::engine::sort::sort_by(&mut self.scores, |a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    }

    /// The scores as of `now` (no decay if `now` is before the reference time).
    pub fn at_time(&self, now: f64, half_life: f64) -> impl Iterator<Item = (&str, f64)> {
        let f = decay(now - self.at, half_life);
        self.scores.iter().map(move |(k, s)| (k.as_str(), s * f))
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Viewed {
    pub sku: String,
    pub category: Option<String>,
    pub brand: Option<String>,
    pub price: Option<f64>,
    pub ts: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct CartItem {
    pub sku: String,
    pub quantity: f64,
    pub price: Option<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Session {
    pub id: String,
    pub start: f64,
    pub last: f64,
    pub pages: u64,
    pub events: u64,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct OfferStats {
    /// Impression times, ascending, at most `MAX_SHOWN`.
    pub shown: Vec<f64>,
    pub clicks: u64,
    /// Time of the last click (0 if none).
    pub last_click: f64,
}

impl OfferStats {
    pub fn last_activity(&self) -> f64 {
        self.shown.last().copied().unwrap_or(0.0).max(self.last_click)
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Assignment {
    pub variation: u32,
    pub bucket_version: u32,
}

/// The index of a type's counter.
pub(crate) fn idx(t: EventType) -> usize {
    t.index()
}

/// Inserts `t` into an ascending list, keeping at most `max` (the oldest go first).
pub(crate) fn insert_sorted(list: &mut Vec<f64>, t: f64, max: usize) {
    let pos = list.partition_point(|x| *x <= t);
    list.insert(pos, t);
    if list.len() > max {
        let extra = list.len() - max;
        list.drain(..extra);
    }
}
