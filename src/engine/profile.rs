//! The shopper's local profile: the "golden record" of this shopper as this browser knows
//! it, updated at once by every touchpoint and read by the decision engine as `profile.*`.
//!
//! Deterministic: every method that depends on time takes it as a parameter (Unix ms, as
//! `Date.now()` gives it); nothing here reads a clock or draws random numbers.
//!
//! - [`Profile::record`] applies one validated [`Event`]; [`Profile::track`] also makes the
//!   event, with this profile's ids and session.
//! - [`Profile::snapshot`] is the read-only view for conditions (documented attribute by
//!   attribute in `docs/profile.md`); [`Profile::to_value`] is the snapshot as of the last
//!   update.
//! - [`Profile::to_json`] / [`Profile::from_json`] store it, with a schema version, in at
//!   most [`MAX_PROFILE_BYTES`]; the oldest detail is dropped first when it would be larger.
//! - To forget the shopper, drop the profile and start a new one with [`Profile::new`].

mod attributes;
mod bound;
mod changes;
mod state;
mod store;

use crate::engine::event::{Event, EventError, EventMeta, EventType};
use crate::engine::json::{Map, Value};
use crate::engine::uuid::Uuid;
use state::{day_of, idx, insert_sorted, Affinity, Assignment, CartItem, Counter, Day, OfferStats, Session, Viewed};

pub use attributes::{base_attributes, Attributes, MAX_AGE_MS};
pub use changes::{Change, Changes};
pub use store::{ProfileError, SCHEMA_VERSION};

/// The stored profile is at most this many bytes of JSON.
pub const MAX_PROFILE_BYTES: usize = 64 * 1024;
/// Impression times kept per offer (the newest).
pub const MAX_SHOWN: usize = 100;
/// Offers with impression/click history kept (the most recently active).
pub const MAX_OFFERS: usize = 100;
/// Sticky experiment assignments kept (the most recent).
pub const MAX_EXPERIMENTS: usize = 100;
/// Categories and brands with an affinity score kept (each).
pub const MAX_AFFINITIES: usize = 30;
/// Custom event names with counters kept (the most recently seen).
pub const MAX_CUSTOM: usize = 50;
/// Audiences kept.
pub const MAX_AUDIENCES: usize = 50;
/// Distinct SKUs in the cart.
pub const MAX_CART_ITEMS: usize = 50;
/// Recent search queries kept.
pub const MAX_SEARCHES: usize = 10;
/// Serialised size of `traits` accepted by [`Profile::identify`].
pub const MAX_TRAITS_BYTES: usize = 8 * 1024;
/// Days of per-day counts kept for the rolling windows.
pub const ROLLING_DAYS: i64 = 30;

/// Affinity weight per category level or brand named by an event: category_view and
/// product_view 1, add_to_cart 3, purchase 5 (per item).
pub const AFFINITY_WEIGHTS: [(EventType, f64); 4] = [
    (EventType::CategoryView, 1.0),
    (EventType::ProductView, 1.0),
    (EventType::AddToCart, 3.0),
    (EventType::Purchase, 5.0),
];

fn weight(t: EventType) -> f64 {
    AFFINITY_WEIGHTS.iter().find(|(k, _)| *k == t).map_or(0.0, |(_, w)| *w)
}

/// Tunables that are not stored with the profile (the web layer sets them from its options).
#[derive(Clone, Debug, PartialEq)]
pub struct ProfileConfig {
    /// Half-life of category and brand affinity, in ms (default 14 days).
    pub half_life_ms: f64,
    /// Inactivity that ends a session, in ms (default 30 minutes).
    pub session_timeout_ms: f64,
    /// Recently viewed products kept (default 20).
    pub max_recently_viewed: usize,
}

impl Default for ProfileConfig {
    fn default() -> Self {
        ProfileConfig {
            half_life_ms: 14.0 * state::DAY_MS,
            session_timeout_ms: 30.0 * 60_000.0,
            max_recently_viewed: 20,
        }
    }
}

/// See the module documentation.
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    config: ProfileConfig,
    anonymous_id: String,
    user_id: Option<String>,
    first_seen: f64,
    last_seen: f64,
    counters: [Counter; 12],
    days: Vec<Day>,
    custom: Vec<(String, Counter)>,
    orders: u64,
    revenue: f64,
    first_order: f64,
    last_order: f64,
    currency: Option<String>,
    categories: Affinity,
    brands: Affinity,
    recently_viewed: Vec<Viewed>,
    cart: Vec<CartItem>,
    cart_updated: f64,
    searches: Vec<String>,
    session: Option<Session>,
    session_count: u64,
    traits: Map,
    audiences: Vec<(String, f64)>,
    offers: Vec<(String, OfferStats)>,
    experiments: Vec<(String, Assignment)>,
    /// Bumped by every change (not stored), so callers can cache the snapshot.
    revision: u64,
}

impl Profile {
    /// An empty profile for `anonymous_id` (the web layer makes it a UUID and keeps it),
    /// first seen at `now_ms`.
    pub fn new(anonymous_id: &str, now_ms: f64) -> Profile {
        let now = finite_or_zero(now_ms);
        Profile {
            config: ProfileConfig::default(),
            anonymous_id: anonymous_id.to_string(),
            user_id: None,
            first_seen: now,
            last_seen: now,
            counters: [Counter::default(); 12],
            days: Vec::new(),
            custom: Vec::new(),
            orders: 0,
            revenue: 0.0,
            first_order: 0.0,
            last_order: 0.0,
            currency: None,
            categories: Affinity { at: now, scores: Vec::new() },
            brands: Affinity { at: now, scores: Vec::new() },
            recently_viewed: Vec::new(),
            cart: Vec::new(),
            cart_updated: 0.0,
            searches: Vec::new(),
            session: None,
            session_count: 0,
            traits: Map::new(),
            audiences: Vec::new(),
            offers: Vec::new(),
            experiments: Vec::new(),
            revision: 0,
        }
    }

    pub fn config(&self) -> &ProfileConfig {
        &self.config
    }

    /// Changes the tunables; a new half-life applies to decay from now on.
    pub fn set_config(&mut self, config: ProfileConfig) {
        self.revision += 1;
        self.config = config;
        let max = self.config.max_recently_viewed;
        self.recently_viewed.truncate(max);
    }

    /// A number that changes whenever the profile changes (it is not stored). The snapshot
    /// costs tens of microseconds: cache it, and rebuild it when this moves on, rather than
    /// building it for every decision. (Between changes the snapshot drifts only with time:
    /// decay, `session.active`, the rolling windows.)
    pub fn revision(&self) -> u64 {
        self.revision
    }

    pub fn anonymous_id(&self) -> &str {
        &self.anonymous_id
    }

    pub fn user_id(&self) -> Option<&str> {
        self.user_id.as_deref()
    }

    pub fn traits(&self) -> &Map {
        &self.traits
    }

    /// The id of the session that is still active at `now_ms`, if any.
    pub fn session_id_at(&self, now_ms: f64) -> Option<&str> {
        self.session.as_ref().filter(|s| now_ms - s.last < self.config.session_timeout_ms).map(|s| s.id.as_str())
    }

    /// Makes an event with this profile's ids (a new session's id is the id of the event
    /// that starts it) and records it. On a validation error nothing changes.
    pub fn track(
        &mut self,
        event_type: &str,
        props: Value,
        now_ms: f64,
        random: [u8; 10],
        context: Option<Value>,
    ) -> Result<Event, EventError> {
        let event = self.new_event(event_type, props, now_ms, random, context)?;
        self.record(&event, now_ms);
        Ok(event)
    }

    /// [`Profile::track`] with a context shared by the events of a burst instead of copied
    /// into each (the browser reads the page context once per burst). The size limit counts
    /// the context; on a validation error nothing changes.
    pub fn track_shared(
        &mut self,
        event_type: &str,
        props: Value,
        now_ms: f64,
        random: [u8; 10],
        context: std::sync::Arc<crate::engine::json::Map>,
    ) -> Result<Event, EventError> {
        let event = self.new_event(event_type, props, now_ms, random, None)?.with_context(context)?;
        self.record(&event, now_ms);
        Ok(event)
    }

    fn new_event(
        &self,
        event_type: &str,
        props: Value,
        now_ms: f64,
        random: [u8; 10],
        context: Option<Value>,
    ) -> Result<Event, EventError> {
        let session_id = match self.session_id_at(now_ms) {
            Some(id) => id.to_string(),
            None => Uuid::v7_from_ms(now_ms, random).to_hyphenated(),
        };
        Event::new(
            event_type,
            props,
            EventMeta {
                now_ms,
                random,
                anonymous_id: self.anonymous_id.clone(),
                user_id: self.user_id.clone(),
                session_id: Some(session_id),
                context,
            },
        )
    }

    /// Applies one event. The event's own `ts` is the time of the touchpoint; `now_ms` is
    /// the current time, used to drop per-day counts older than the rolling windows.
    pub fn record(&mut self, event: &Event, now_ms: f64) {
        self.revision += 1;
        let t = event.ts();
        let now = if now_ms.is_finite() { now_ms.max(t) } else { t };
        self.first_seen = self.first_seen.min(t);
        self.last_seen = self.last_seen.max(t);
        self.advance_affinities();
        let kind = event.event_type();
        self.counters[idx(kind)].hit(t);
        self.session_hit(event, t);

        let mut revenue = 0.0;
        match kind {
            EventType::PageView => {}
            EventType::CategoryView => {
                self.credit(event.prop("category"), None, weight(kind), t);
            }
            EventType::ProductView => {
                self.credit(event.prop("category"), event.prop_str("brand"), weight(kind), t);
                self.viewed(event, t);
            }
            EventType::Search => {
                if let Some(q) = event.prop_str("query").map(str::trim).filter(|q| !q.is_empty()) {
                    self.searches.retain(|s| s != q);
                    self.searches.insert(0, q.to_string());
                    self.searches.truncate(MAX_SEARCHES);
                }
            }
            EventType::AddToCart => {
                self.credit(event.prop("category"), event.prop_str("brand"), weight(kind), t);
                self.cart_change(event, 1.0, t);
            }
            EventType::RemoveFromCart => self.cart_change(event, -1.0, t),
            EventType::CheckoutStart => {}
            EventType::Purchase => {
                revenue = event.prop_f64("revenue").unwrap_or(0.0);
                self.purchase(event, revenue, t);
            }
            EventType::OfferImpression | EventType::OfferClick => self.offer(event, t),
            EventType::ExperimentExposure => {
                if let (Some(key), Some(v)) = (event.prop_str("experimentKey"), event.prop_f64("variation")) {
                    let bucket_version = match event.prop_f64("bucketVersion") {
                        Some(b) => b as u32,
                        None => self.assignment(key).map_or(0, |a| a.bucket_version),
                    };
                    self.set_assignment(key, v as u32, bucket_version);
                }
            }
            EventType::Custom => {
                if let Some(name) = event.custom_name() {
                    self.custom_hit(name, t);
                }
            }
        }
        self.day_hit(kind, revenue, t, now);
        if self.approx_bytes() > MAX_PROFILE_BYTES * 3 / 4 {
            self.compact_to(MAX_PROFILE_BYTES / 2);
        }
    }

    /// Links this browser's shopper to `user_id` and merges `traits` (an object, or null
    /// for none): a trait set to `null` is removed. A different user id than the stored one
    /// replaces the traits instead of merging (a shared device). On error nothing changes.
    pub fn identify(&mut self, user_id: &str, traits: Value, now_ms: f64) -> Result<(), ProfileError> {
        let n = user_id.chars().count();
        if !(1..=128).contains(&n) || user_id.chars().any(char::is_control) || user_id.trim() != user_id {
            return Err(ProfileError::invalid(
                "userId",
                "expected 1 to 128 characters, no control characters or surrounding spaces",
            ));
        }
        let new_traits = match traits {
            Value::Null => Map::new(),
            Value::Object(m) => m,
            _ => return Err(ProfileError::invalid("traits", "expected an object")),
        };
        let mut merged = if self.user_id.as_deref() == Some(user_id) { self.traits.clone() } else { Map::new() };
        for (k, v) in new_traits.iter() {
            if v.is_null() {
                merged.remove(k);
            } else {
                merged.insert(k, v.clone());
            }
        }
        let size = Value::Object(merged.clone()).to_json().len();
        if size > MAX_TRAITS_BYTES {
            return Err(ProfileError::invalid("traits", "expected at most 8192 bytes of JSON after merging"));
        }
        self.traits = merged;
        self.revision += 1;
        self.user_id = Some(user_id.to_string());
        if now_ms.is_finite() {
            self.last_seen = self.last_seen.max(now_ms);
            self.advance_affinities();
        }
        Ok(())
    }

    /// The sticky assignment of an experiment, as `(variation, bucket_version)`.
    pub fn get_assignment(&self, experiment_key: &str) -> Option<(u32, u32)> {
        self.assignment(experiment_key).map(|a| (a.variation, a.bucket_version))
    }

    /// Persists what a decision assigned, so it sticks across ruleset edits. Keys of more
    /// than 128 characters or empty are ignored (returns false).
    pub fn set_assignment(&mut self, experiment_key: &str, variation: u32, bucket_version: u32) -> bool {
        if experiment_key.is_empty() || experiment_key.chars().count() > 128 {
            return false;
        }
        let a = Assignment { variation, bucket_version };
        self.revision += 1;
        if let Some(i) = self.experiments.iter().position(|(k, _)| k == experiment_key) {
            // Most recently set last, so eviction drops the oldest.
            let mut entry = self.experiments.remove(i);
            entry.1 = a;
            self.experiments.push(entry);
        } else {
            if self.experiments.len() >= MAX_EXPERIMENTS {
                self.experiments.remove(0);
            }
            self.experiments.push((experiment_key.to_string(), a));
        }
        true
    }

    /// Sets audience membership to exactly `names`: audiences already entered keep their
    /// entered-at time, new ones get `now_ms`, the rest are left. Returns whether the
    /// membership changed (only then is the profile's revision moved on).
    pub fn set_audiences<'a>(&mut self, names: impl IntoIterator<Item = &'a str>, now_ms: f64) -> bool {
        let now = finite_or_zero(now_ms);
        let mut next: Vec<(String, f64)> = Vec::new();
        for name in names {
            if name.is_empty() || next.iter().any(|(n, _)| n == name) || next.len() >= MAX_AUDIENCES {
                continue;
            }
            let at = self.audiences.iter().find(|(n, _)| n == name).map_or(now, |(_, at)| *at);
            next.push((name.to_string(), at));
        }
        if next == self.audiences {
            return false;
        }
        self.audiences = next;
        self.revision += 1;
        true
    }

    /// Enters one audience (keeps the first entered-at time). Returns true if it is new.
    pub fn enter_audience(&mut self, name: &str, now_ms: f64) -> bool {
        if name.is_empty() || self.audiences.iter().any(|(n, _)| n == name) {
            return false;
        }
        if self.audiences.len() >= MAX_AUDIENCES {
            self.audiences.remove(0);
        }
        self.audiences.push((name.to_string(), finite_or_zero(now_ms)));
        self.revision += 1;
        true
    }

    /// Leaves one audience. Returns true if the shopper was in it.
    pub fn leave_audience(&mut self, name: &str) -> bool {
        let before = self.audiences.len();
        self.audiences.retain(|(n, _)| n != name);
        if self.audiences.len() == before {
            return false;
        }
        self.revision += 1;
        true
    }

    // --- Updates by event -----------------------------------------------------------------

    /// Keeps the affinities referred to `last_seen`, the time the stored form refers them
    /// to, so that a profile and its reloaded copy compute bit-identical scores.
    fn advance_affinities(&mut self) {
        let hl = self.config.half_life_ms;
        self.categories.advance(self.last_seen, hl);
        self.brands.advance(self.last_seen, hl);
    }

    fn assignment(&self, key: &str) -> Option<&Assignment> {
        self.experiments.iter().find(|(k, _)| k == key).map(|(_, a)| a)
    }

    fn session_hit(&mut self, event: &Event, t: f64) {
        let timeout = self.config.session_timeout_ms;
        let continues = match (&self.session, event.session_id()) {
            (Some(s), Some(id)) => s.id == id,
            (Some(s), None) => t - s.last < timeout,
            (None, _) => false,
        };
        if !continues {
            self.session_count = self.session_count.saturating_add(1);
            self.session = Some(Session {
                id: event.session_id().unwrap_or(event.id()).to_string(),
                start: t,
                last: t,
                pages: 0,
                events: 0,
            });
        }
        if let Some(s) = &mut self.session {
            s.start = s.start.min(t);
            s.last = s.last.max(t);
            s.events += 1;
            if event.event_type() == EventType::PageView {
                s.pages += 1;
            }
        }
    }

    fn day_hit(&mut self, kind: EventType, revenue: f64, t: f64, now: f64) {
        let oldest = day_of(now) - (ROLLING_DAYS - 1);
        self.days.retain(|d| d.day >= oldest);
        let day = day_of(t);
        if day < oldest {
            return;
        }
        let pos = self.days.partition_point(|d| d.day < day);
        if self.days.get(pos).is_none_or(|d| d.day != day) {
            self.days.insert(pos, Day { day, counts: [0; 12], revenue: 0.0 });
        }
        let d = &mut self.days[pos];
        d.counts[idx(kind)] = d.counts[idx(kind)].saturating_add(1);
        d.revenue += revenue;
    }

    /// Credits every level of a category path, and a brand, with `weight`.
    fn credit(&mut self, category: Option<&Value>, brand: Option<&str>, weight: f64, t: f64) {
        let hl = self.config.half_life_ms;
        match category {
            Some(Value::String(c)) => self.categories.add(c, weight, t, hl, MAX_AFFINITIES),
            Some(Value::Array(path)) => {
                for c in path.iter().filter_map(Value::as_str) {
                    self.categories.add(c, weight, t, hl, MAX_AFFINITIES);
                }
            }
            _ => {}
        }
        if let Some(b) = brand {
            self.brands.add(b, weight, t, hl, MAX_AFFINITIES);
        }
    }

    fn viewed(&mut self, event: &Event, t: f64) {
        let Some(sku) = event.prop_str("sku") else {
            return;
        };
        self.recently_viewed.retain(|v| v.sku != sku);
        let category = match event.prop("category") {
            Some(Value::String(c)) => Some(c.clone()),
            Some(Value::Array(path)) => path.last().and_then(Value::as_str).map(str::to_string),
            _ => None,
        };
        self.recently_viewed.insert(
            0,
            Viewed {
                sku: sku.to_string(),
                category,
                brand: event.prop_str("brand").map(str::to_string),
                price: event.prop_f64("price"),
                ts: t,
            },
        );
        self.recently_viewed.truncate(self.config.max_recently_viewed);
    }

    fn cart_change(&mut self, event: &Event, sign: f64, t: f64) {
        let Some(sku) = event.prop_str("sku") else {
            return;
        };
        let quantity = event.prop_f64("quantity").unwrap_or(1.0);
        let price = event.prop_f64("price");
        self.cart_updated = self.cart_updated.max(t);
        match self.cart.iter().position(|i| i.sku == sku) {
            Some(i) => {
                let item = &mut self.cart[i];
                item.quantity += sign * quantity;
                if price.is_some() {
                    item.price = price;
                }
                if item.quantity <= 0.0 {
                    self.cart.remove(i);
                }
            }
            None if sign > 0.0 => {
                if self.cart.len() >= MAX_CART_ITEMS {
                    self.cart.remove(0);
                }
                self.cart.push(CartItem { sku: sku.to_string(), quantity, price });
            }
            None => {}
        }
    }

    fn purchase(&mut self, event: &Event, revenue: f64, t: f64) {
        if self.orders == 0 {
            self.first_order = t;
            self.last_order = t;
        } else {
            self.first_order = self.first_order.min(t);
            self.last_order = self.last_order.max(t);
        }
        self.orders = self.orders.saturating_add(1);
        self.revenue += revenue;
        if let Some(c) = event.prop_str("currency") {
            self.currency = Some(c.to_string());
        }
        if let Some(items) = event.prop("items").and_then(Value::as_array) {
            for item in items {
                self.credit(
                    item.get("category"),
                    item.get("brand").and_then(Value::as_str),
                    weight(EventType::Purchase),
                    t,
                );
            }
        }
        self.cart.clear();
        self.cart_updated = self.cart_updated.max(t);
    }

    fn offer(&mut self, event: &Event, t: f64) {
        let Some(id) = event.prop_str("offerId") else {
            return;
        };
        let i = match self.offers.iter().position(|(k, _)| k == id) {
            Some(i) => i,
            None => {
                if self.offers.len() >= MAX_OFFERS {
                    let oldest = (0..self.offers.len())
                        .min_by(|a, b| {
                            let (x, y) = (&self.offers[*a].1, &self.offers[*b].1);
                            x.last_activity().total_cmp(&y.last_activity())
                        })
                        .unwrap_or(0);
                    self.offers.remove(oldest);
                }
                self.offers.push((id.to_string(), OfferStats::default()));
                self.offers.len() - 1
            }
        };
        let stats = &mut self.offers[i].1;
        if event.event_type() == EventType::OfferImpression {
            insert_sorted(&mut stats.shown, t, MAX_SHOWN);
        } else {
            stats.clicks = stats.clicks.saturating_add(1);
            stats.last_click = stats.last_click.max(t);
        }
    }

    fn custom_hit(&mut self, name: &str, t: f64) {
        match self.custom.iter_mut().find(|(n, _)| n == name) {
            Some((_, c)) => c.hit(t),
            None => {
                if self.custom.len() >= MAX_CUSTOM {
                    let oldest = (0..self.custom.len())
                        .min_by(|a, b| self.custom[*a].1.last.total_cmp(&self.custom[*b].1.last))
                        .unwrap_or(0);
                    self.custom.remove(oldest);
                }
                let mut c = Counter::default();
                c.hit(t);
                self.custom.push((name.to_string(), c));
            }
        }
    }
}

fn finite_or_zero(x: f64) -> f64 {
    if x.is_finite() {
        x
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests;
