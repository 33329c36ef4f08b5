//! Keeping the stored profile within [`MAX_PROFILE_BYTES`].
//!
//! Every list already has a count limit (see the `MAX_*` constants). What can still grow
//! past the byte bound is the product of them: long ids times many entries. When the
//! stored form would be too large, detail is dropped in this order, oldest first inside
//! each step, until it fits: recently viewed products, searches, old offer impressions,
//! custom event counters, weak affinities, cart lines, whole offers, audiences,
//! experiment assignments, traits, per-day counts. The all-time counters, orders, the
//! session and the ids are never dropped.

use super::{Profile, MAX_PROFILE_BYTES};

impl Profile {
    /// A quick estimate of the stored size in bytes, for deciding when to compact (it
    /// counts entries and key lengths, not escapes; [`Profile::compact`] measures exactly).
    pub(crate) fn approx_bytes(&self) -> usize {
        let mut n = 2_600 + self.days.len() * 60 + self.traits_bytes_estimate();
        n += self.custom.iter().map(|(k, _)| k.len() + 60).sum::<usize>();
        for aff in [&self.categories, &self.brands] {
            n += aff.scores.iter().map(|(k, _)| k.len() + 25).sum::<usize>();
        }
        n += self
            .recently_viewed
            .iter()
            .map(|v| {
                v.sku.len() + v.category.as_ref().map_or(0, String::len) + v.brand.as_ref().map_or(0, String::len) + 90
            })
            .sum::<usize>();
        n += self.cart.iter().map(|i| i.sku.len() + 50).sum::<usize>();
        n += self.searches.iter().map(|s| s.len() + 3).sum::<usize>();
        n += self.audiences.iter().map(|(k, _)| k.len() + 30).sum::<usize>();
        n += self.offers.iter().map(|(k, o)| k.len() + 60 + o.shown.len() * 14).sum::<usize>();
        n += self.experiments.iter().map(|(k, _)| k.len() + 40).sum::<usize>();
        n
    }

    fn traits_bytes_estimate(&self) -> usize {
        // Traits are at most MAX_TRAITS_BYTES, checked when they are set.
        self.traits.iter().map(|(k, v)| k.len() + 4 + value_len(v)).sum()
    }

    /// Drops the oldest detail until the stored form fits in [`MAX_PROFILE_BYTES`] (see the
    /// module docs for the order). Does nothing to a profile that fits.
    pub fn compact(&mut self) {
        self.revision += 1;
        self.compact_to(MAX_PROFILE_BYTES);
    }

    /// Drops detail until the estimate is within `budget` and the exact stored size within
    /// [`MAX_PROFILE_BYTES`]. `record` compacts to half the bound once the estimate passes
    /// three quarters of it, so that the exact (costly) measure runs rarely.
    pub(crate) fn compact_to(&mut self, budget: usize) {
        let mut step = 0;
        while step <= 10 && self.approx_bytes() > budget {
            if !self.drop_detail(step) {
                step += 1;
            }
        }
        step = 0;
        while step <= 10 && self.to_json_unbounded().len() > MAX_PROFILE_BYTES {
            if !self.drop_detail(step) {
                step += 1;
            }
        }
    }

    /// Drops about half of one kind of detail; false when there is none left to drop.
    fn drop_detail(&mut self, step: usize) -> bool {
        fn halve<T>(v: &mut Vec<T>, newest_first: bool) -> bool {
            if v.is_empty() {
                return false;
            }
            let keep = v.len() / 2;
            if newest_first {
                v.truncate(keep);
            } else {
                v.drain(..v.len() - keep);
            }
            true
        }
        match step {
            0 => halve(&mut self.recently_viewed, true),
            1 => halve(&mut self.searches, true),
            2 => {
                let mut dropped = false;
                for (_, o) in &mut self.offers {
                    if o.shown.len() > 1 {
                        halve(&mut o.shown, false);
                        dropped = true;
                    }
                }
                dropped
            }
            3 => {
                crate::engine::sort::sort_by(&mut self.custom, |a, b| a.1.last.total_cmp(&b.1.last));
                halve(&mut self.custom, false)
            }
            4 => {
                let a = halve(&mut self.categories.scores, true);
                let b = halve(&mut self.brands.scores, true);
                a || b
            }
            5 => halve(&mut self.cart, false),
            6 => {
                crate::engine::sort::sort_by(&mut self.offers, |a, b| {
                    a.1.last_activity().total_cmp(&b.1.last_activity())
                });
                halve(&mut self.offers, false)
            }
            7 => {
                crate::engine::sort::sort_by(&mut self.audiences, |a, b| a.1.total_cmp(&b.1));
                halve(&mut self.audiences, false)
            }
            8 => halve(&mut self.experiments, false),
            9 => {
                let had = !self.traits.is_empty();
                self.traits = Default::default();
                had
            }
            10 => halve(&mut self.days, false),
            _ => false,
        }
    }
}

/// Rough JSON length of a value (no escapes).
fn value_len(v: &crate::engine::json::Value) -> usize {
    use crate::engine::json::Value;
    match v {
        Value::Null | Value::Bool(_) => 5,
        Value::Number(_) => 12,
        Value::String(s) => s.len() + 2,
        Value::Array(a) => 2 + a.iter().map(|x| value_len(x) + 1).sum::<usize>(),
        Value::Object(m) => 2 + m.iter().map(|(k, x)| k.len() + 4 + value_len(x)).sum::<usize>(),
    }
}
