//! The profile as JSON: the snapshot that conditions read and the stored form.
//!
//! The stored form is the snapshot as of the last update, with `schemaVersion` first and
//! the per-day counts under `daily`. Reading is tolerant: a part that is missing or has the
//! wrong shape starts empty instead of failing the whole profile, so a damaged store loses
//! detail, not the shopper. Derived attributes (`aov`, `rfm`, `last7d`, `active`...) are
//! recomputed, never read back.

use super::state::{
    day_of, insert_sorted, Affinity, Assignment, CartItem, Counter, Day, OfferStats, Session, Viewed, DAY_MS,
};
use super::{
    Profile, MAX_AFFINITIES, MAX_AUDIENCES, MAX_CART_ITEMS, MAX_CUSTOM, MAX_EXPERIMENTS, MAX_OFFERS, MAX_SEARCHES,
    MAX_SHOWN, MAX_TRAITS_BYTES, ROLLING_DAYS,
};
use crate::engine::event::EventType;
use crate::engine::json::{write_number, Map, ParseError, Value};

/// The version of the stored form written by [`Profile::to_json`].
///
/// To change the stored form: bump this, and append to `MIGRATIONS` a function that turns a
/// document of the previous version into the new one (it runs before reading).
pub const SCHEMA_VERSION: u32 = 1;

/// `MIGRATIONS[i]` turns a version `i + 1` document into version `i + 2`.
const MIGRATIONS: &[fn(&mut Map)] = &[];

/// Why a stored profile could not be read, or an `identify()` was refused.
#[derive(Clone, Debug, PartialEq)]
pub enum ProfileError {
    /// The text is not JSON.
    Json(ParseError),
    /// `schemaVersion` is newer than this SDK knows (a newer SDK wrote it) or is not a
    /// whole number >= 1.
    Version(f64),
    /// A field that cannot be defaulted is missing or wrong (`anonymousId`), or an argument
    /// to `identify()` is invalid.
    Invalid { field: &'static str, reason: &'static str },
}

impl ProfileError {
    pub(crate) fn invalid(field: &'static str, reason: &'static str) -> ProfileError {
        ProfileError::Invalid { field, reason }
    }
}

impl std::fmt::Display for ProfileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProfileError::Json(e) => write!(f, "profile: {e}"),
            ProfileError::Version(v) => {
                let mut n = String::new();
                crate::engine::json::write_plain_number(*v, &mut n);
                write!(f, "schemaVersion: {n} is not supported (this SDK reads 1 to {SCHEMA_VERSION})")
            }
            ProfileError::Invalid { field, reason } => write!(f, "{field}: {reason}"),
        }
    }
}

impl std::error::Error for ProfileError {}

fn num(v: f64) -> Value {
    Value::Number(v)
}

fn obj(pairs: Vec<(&str, Value)>) -> Value {
    let mut m = Map::new();
    for (k, v) in pairs {
        m.insert(k, v);
    }
    Value::Object(m)
}

impl Profile {
    /// The read-only view for conditions (`profile.*`) as of `now_ms`: affinities decayed to
    /// `now_ms`, rolling windows and recency counted back from it. Every attribute is listed
    /// in `docs/profile.md`.
    pub fn snapshot(&self, now_ms: f64) -> Value {
        self.build(now_ms, false)
    }

    /// The snapshot, or (`stored`) the stored form's body, which keeps the last session as
    /// it was rather than the session starting at `now_ms`.
    fn build(&self, now_ms: f64, stored: bool) -> Value {
        let now = if now_ms.is_finite() { now_ms } else { self.last_seen };
        let today = day_of(now);
        let window = |days: i64, i: usize| -> u64 {
            self.days.iter().filter(|d| d.day > today - days).map(|d| d.counts[i] as u64).sum()
        };
        let mut m = Map::new();
        m.insert("anonymousId", Value::from(self.anonymous_id.as_str()));
        if let Some(u) = &self.user_id {
            m.insert("userId", Value::from(u.as_str()));
        }
        m.insert("firstSeen", num(self.first_seen));
        m.insert("lastSeen", num(self.last_seen));

        let mut events = Map::new();
        for t in EventType::ALL {
            let c = &self.counters[t.index()];
            let mut e = Map::new();
            e.insert("count", num(c.count as f64));
            e.insert("last7d", num(window(7, t.index()) as f64));
            e.insert("last30d", num(window(ROLLING_DAYS, t.index()) as f64));
            if c.count > 0 {
                e.insert("first", num(c.first));
                e.insert("last", num(c.last));
            }
            events.insert(t.as_str(), Value::Object(e));
        }
        m.insert("events", Value::Object(events));

        let custom = self.custom.iter().map(|(name, c)| {
            let v = obj(vec![("count", num(c.count as f64)), ("first", num(c.first)), ("last", num(c.last))]);
            (name.clone(), v)
        });
        m.insert("custom", Value::Object(custom.collect()));

        let orders = self.orders as f64;
        let revenue30d: f64 = self.days.iter().filter(|d| d.day > today - ROLLING_DAYS).map(|d| d.revenue).sum();
        let mut o = Map::new();
        o.insert("count", num(orders));
        o.insert("revenue", num(self.revenue));
        o.insert("aov", num(if self.orders > 0 { self.revenue / orders } else { 0.0 }));
        o.insert("last30d", num(window(ROLLING_DAYS, EventType::Purchase.index()) as f64));
        o.insert("revenue30d", num(revenue30d));
        if self.orders > 0 {
            o.insert("first", num(self.first_order));
            o.insert("last", num(self.last_order));
        }
        if let Some(c) = &self.currency {
            o.insert("currency", Value::from(c.as_str()));
        }
        m.insert("orders", Value::Object(o));

        let mut rfm = Map::new();
        if self.orders > 0 {
            rfm.insert("recencyDays", num(((now - self.last_order) / DAY_MS).floor().max(0.0)));
        }
        rfm.insert("frequency", num(orders));
        rfm.insert("monetary", num(self.revenue));
        m.insert("rfm", Value::Object(rfm));

        let hl = self.config.half_life_ms;
        for (key, top, aff) in [("categories", "topCategory", &self.categories), ("brands", "topBrand", &self.brands)] {
            let scores: Map = aff.at_time(now, hl).map(|(k, s)| (k.to_string(), num(s))).collect();
            if let Some((k, _)) = aff.scores.first() {
                m.insert(top, Value::from(k.as_str()));
            }
            m.insert(key, Value::Object(scores));
        }

        let recent = self.recently_viewed.iter().map(|v| {
            let mut e = Map::new();
            e.insert("sku", Value::from(v.sku.as_str()));
            if let Some(c) = &v.category {
                e.insert("category", Value::from(c.as_str()));
            }
            if let Some(b) = &v.brand {
                e.insert("brand", Value::from(b.as_str()));
            }
            if let Some(p) = v.price {
                e.insert("price", num(p));
            }
            e.insert("ts", num(v.ts));
            Value::Object(e)
        });
        m.insert("recentlyViewed", Value::Array(recent.collect()));

        let mut count = 0.0;
        let mut value = 0.0;
        let items = self.cart.iter().map(|i| {
            count += i.quantity;
            value += i.quantity * i.price.unwrap_or(0.0);
            let mut e = Map::new();
            e.insert("sku", Value::from(i.sku.as_str()));
            e.insert("quantity", num(i.quantity));
            if let Some(p) = i.price {
                e.insert("price", num(p));
            }
            Value::Object(e)
        });
        let items: Vec<Value> = items.collect();
        let mut cart = Map::new();
        cart.insert("items", Value::Array(items));
        cart.insert("count", num(count));
        cart.insert("value", num(value));
        if self.cart_updated > 0.0 {
            cart.insert("updatedAt", num(self.cart_updated));
        }
        m.insert("cart", Value::Object(cart));

        let searches = self.searches.iter().map(|s| Value::from(s.as_str()));
        m.insert("searches", Value::Array(searches.collect()));

        let timeout = self.config.session_timeout_ms;
        match &self.session {
            Some(s) if stored || now - s.last < timeout => {
                let session = obj(vec![
                    ("id", Value::from(s.id.as_str())),
                    ("start", num(s.start)),
                    ("last", num(s.last)),
                    ("length", num(s.last - s.start)),
                    ("pages", num(s.pages as f64)),
                    ("events", num(s.events as f64)),
                    ("count", num(self.session_count as f64)),
                    ("active", Value::Bool(now - s.last < timeout)),
                ]);
                m.insert("session", session);
            }
            // No session yet, or the last one has ended: at `now` the shopper is starting a
            // new one, empty so far, which gets its id from its first event. (So caps per
            // session count nothing from the last visit, and `count` includes this one.)
            _ if !stored => {
                let session = obj(vec![
                    ("start", num(now)),
                    ("length", num(0.0)),
                    ("pages", num(0.0)),
                    ("events", num(0.0)),
                    ("count", num((self.session_count + 1) as f64)),
                    ("active", Value::Bool(false)),
                ]);
                m.insert("session", session);
            }
            _ => {}
        }

        m.insert("traits", Value::Object(self.traits.clone()));

        let audiences = self.audiences.iter().map(|(n, at)| (n.clone(), obj(vec![("enteredAt", num(*at))])));
        m.insert("audiences", Value::Object(audiences.collect()));

        let offers = self.offers.iter().map(|(id, o)| {
            let mut e = Map::new();
            e.insert("shown", Value::Array(o.shown.iter().map(|t| num(*t)).collect()));
            e.insert("clicks", num(o.clicks as f64));
            if o.last_click > 0.0 {
                e.insert("lastClick", num(o.last_click));
            }
            (id.clone(), Value::Object(e))
        });
        m.insert("offers", Value::Object(offers.collect()));

        let experiments = self.experiments.iter().map(|(k, a)| {
            let v = obj(vec![("variation", num(a.variation as f64)), ("bucketVersion", num(a.bucket_version as f64))]);
            (k.clone(), v)
        });
        m.insert("experiments", Value::Object(experiments.collect()));
        Value::Object(m)
    }

    /// The snapshot as of the last update (`lastSeen`).
    pub fn to_value(&self) -> Value {
        self.snapshot(self.last_seen)
    }

    /// The stored form: compact JSON of at most [`super::MAX_PROFILE_BYTES`] bytes (when the
    /// profile is larger, a compacted copy is written; see [`Profile::compact`]).
    pub fn to_json(&self) -> String {
        let text = self.to_json_unbounded();
        if text.len() <= super::MAX_PROFILE_BYTES {
            return text;
        }
        let mut copy = self.clone();
        copy.compact();
        copy.to_json_unbounded()
    }

    pub(crate) fn to_json_unbounded(&self) -> String {
        // The snapshot's object with `schemaVersion` first and `daily` last, spliced as text
        // rather than by copying the value tree.
        let body = self.build(self.last_seen, true).to_json();
        let mut out = String::with_capacity(body.len() + 40 + self.days.len() * 48);
        out.push_str("{\"schemaVersion\":");
        write_number(SCHEMA_VERSION as f64, &mut out);
        out.push(',');
        out.push_str(body.strip_prefix('{').and_then(|b| b.strip_suffix('}')).unwrap_or(""));
        out.push_str(",\"daily\":[");
        for (i, d) in self.days.iter().enumerate() {
            out.push_str(if i == 0 { "[" } else { ",[" });
            write_number(d.day as f64, &mut out);
            out.push(',');
            write_number(d.revenue, &mut out);
            for c in d.counts {
                out.push(',');
                write_number(c as f64, &mut out);
            }
            out.push(']');
        }
        out.push_str("]}");
        out
    }

    /// Reads a stored profile (any version up to [`SCHEMA_VERSION`], migrated on the way).
    /// Fails only when the text is not JSON, the version is unknown or `anonymousId` is
    /// missing; any other damaged part starts empty. The config is the default one.
    pub fn from_json(text: &str) -> Result<Profile, ProfileError> {
        let value = Value::parse(text).map_err(ProfileError::Json)?;
        Profile::from_value(value)
    }

    /// As [`Profile::from_json`], from a parsed value.
    pub fn from_value(value: Value) -> Result<Profile, ProfileError> {
        let doc = migrate(value, SCHEMA_VERSION, MIGRATIONS)?;
        let anonymous_id = match doc.get("anonymousId") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => return Err(ProfileError::invalid("anonymousId", "expected a non-empty string")),
        };
        let first_seen = time(doc.get("firstSeen")).unwrap_or(0.0);
        let last_seen = time(doc.get("lastSeen")).unwrap_or(first_seen).max(first_seen);
        let mut p = Profile::new(&anonymous_id, first_seen);
        p.last_seen = last_seen;
        p.user_id = doc.get("userId").and_then(Value::as_str).map(str::to_string);

        if let Some(events) = doc.get("events").and_then(Value::as_object) {
            for t in EventType::ALL {
                if let Some(c) = events.get(t.as_str()).and_then(counter) {
                    p.counters[t.index()] = c;
                }
            }
        }
        for (name, v) in entries(&doc, "custom").take(MAX_CUSTOM) {
            if let Some(c) = counter(v) {
                p.custom.push((name.to_string(), c));
            }
        }
        if let Some(o) = doc.get("orders") {
            p.orders = whole(o.get("count")).unwrap_or(0);
            p.revenue = time(o.get("revenue")).unwrap_or(0.0);
            p.first_order = time(o.get("first")).unwrap_or(0.0);
            p.last_order = time(o.get("last")).unwrap_or(p.first_order);
            p.currency = o.get("currency").and_then(Value::as_str).map(str::to_string);
        }
        for (key, aff) in [("categories", &mut p.categories), ("brands", &mut p.brands)] {
            *aff = Affinity { at: last_seen, scores: Vec::new() };
            for (k, v) in entries(&doc, key) {
                if let Some(s) = time(Some(v)) {
                    aff.scores.push((k.to_string(), s));
                }
            }
            aff.sort();
            aff.scores.truncate(MAX_AFFINITIES);
        }
        for v in array(&doc, "recentlyViewed").take(p.config.max_recently_viewed) {
            if let (Some(sku), Some(ts)) = (str_of(v, "sku"), time(v.get("ts"))) {
                p.recently_viewed.push(Viewed {
                    sku,
                    category: str_of(v, "category"),
                    brand: str_of(v, "brand"),
                    price: time(v.get("price")),
                    ts,
                });
            }
        }
        if let Some(cart) = doc.get("cart") {
            for v in items(cart.get("items")) {
                if let (Some(sku), Some(q)) = (str_of(v, "sku"), whole(v.get("quantity"))) {
                    if q > 0 && p.cart.len() < MAX_CART_ITEMS {
                        let price = time(v.get("price"));
                        p.cart.push(CartItem { sku, quantity: q as f64, price });
                    }
                }
            }
            p.cart_updated = time(cart.get("updatedAt")).unwrap_or(0.0);
        }
        p.searches =
            array(&doc, "searches").filter_map(|v| v.as_str().map(str::to_string)).take(MAX_SEARCHES).collect();
        if let Some(s) = doc.get("session") {
            if let (Some(id), Some(start)) = (str_of(s, "id"), time(s.get("start"))) {
                let last = time(s.get("last")).unwrap_or(start).max(start);
                p.session = Some(Session {
                    id,
                    start,
                    last,
                    pages: whole(s.get("pages")).unwrap_or(0),
                    events: whole(s.get("events")).unwrap_or(0),
                });
                p.session_count = whole(s.get("count")).unwrap_or(1).max(1);
            }
        }
        if let Some(traits) = doc.get("traits").and_then(Value::as_object) {
            if Value::Object(traits.clone()).to_json().len() <= MAX_TRAITS_BYTES {
                p.traits = traits.clone();
            }
        }
        for (name, v) in entries(&doc, "audiences").take(MAX_AUDIENCES) {
            if let Some(at) = time(v.get("enteredAt")) {
                p.audiences.push((name.to_string(), at));
            }
        }
        for (id, v) in entries(&doc, "offers").take(MAX_OFFERS) {
            let mut o = OfferStats::default();
            for t in items(v.get("shown")) {
                if let Some(t) = time(Some(t)) {
                    insert_sorted(&mut o.shown, t, MAX_SHOWN);
                }
            }
            o.clicks = whole(v.get("clicks")).unwrap_or(0);
            o.last_click = time(v.get("lastClick")).unwrap_or(0.0);
            p.offers.push((id.to_string(), o));
        }
        for (key, v) in entries(&doc, "experiments").take(MAX_EXPERIMENTS) {
            let variation = whole(v.get("variation")).and_then(|n| u32::try_from(n).ok());
            let bucket_version = whole(v.get("bucketVersion")).and_then(|n| u32::try_from(n).ok());
            if let (Some(variation), Some(bucket_version)) = (variation, bucket_version) {
                p.experiments.push((key.to_string(), Assignment { variation, bucket_version }));
            }
        }
        let mut days: Vec<Day> = array(&doc, "daily").filter_map(day).collect();
        crate::engine::sort::sort_by(&mut days, |a, b| a.day.cmp(&b.day));
        days.dedup_by_key(|d| d.day);
        if let Some(last) = days.last().map(|d| d.day) {
            days.retain(|d| d.day > last - ROLLING_DAYS);
        }
        p.days = days;
        Ok(p)
    }
}

/// Checks `schemaVersion` and brings the document up to version `current` by running
/// `migrations[v - 1..]` in order (`migrations[i]` turns version `i + 1` into `i + 2`).
fn migrate(value: Value, current: u32, migrations: &[fn(&mut Map)]) -> Result<Map, ProfileError> {
    debug_assert_eq!(migrations.len() + 1, current as usize);
    let Value::Object(mut doc) = value else {
        return Err(ProfileError::invalid("profile", "expected an object"));
    };
    let version = doc.get("schemaVersion").and_then(Value::as_f64).unwrap_or(f64::NAN);
    if !(version >= 1.0 && version <= current as f64 && version.fract() == 0.0) {
        return Err(ProfileError::Version(version));
    }
    for step in migrations.iter().skip(version as usize - 1) {
        step(&mut doc);
    }
    doc.insert("schemaVersion", Value::Number(current as f64));
    Ok(doc)
}

/// A finite number.
/// A finite number; -0 is read as 0, so that it sorts as the 0 it is written as and a
/// profile reads back the way it was stored.
fn time(v: Option<&Value>) -> Option<f64> {
    v.and_then(Value::as_f64).filter(|n| n.is_finite()).map(|n| n + 0.0)
}

/// A whole number >= 0 that fits exactly in an f64.
fn whole(v: Option<&Value>) -> Option<u64> {
    let n = v.and_then(Value::as_f64)?;
    (n >= 0.0 && n.fract() == 0.0 && n <= 9_007_199_254_740_991.0).then_some(n as u64)
}

fn str_of(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

fn counter(v: &Value) -> Option<Counter> {
    let count = whole(v.get("count"))?;
    let first = time(v.get("first")).unwrap_or(0.0);
    let last = time(v.get("last")).unwrap_or(first).max(first);
    Some(Counter { count, first, last })
}

// The readers below iterate plain slices (an absent or mistyped field is an empty one):
// `Option::into_iter().flatten()` chains cost about 2.5 KB of Wasm here.
static NO_ENTRIES: Map = Map::new();

fn entries<'a>(doc: &'a Map, key: &str) -> impl Iterator<Item = (&'a str, &'a Value)> {
    doc.get(key).and_then(Value::as_object).unwrap_or(&NO_ENTRIES).iter()
}

fn items(v: Option<&Value>) -> std::slice::Iter<'_, Value> {
    v.and_then(Value::as_array).map_or(&[][..], Vec::as_slice).iter()
}

fn array<'a>(doc: &'a Map, key: &str) -> std::slice::Iter<'a, Value> {
    items(doc.get(key))
}

fn day(row: &Value) -> Option<Day> {
    let row = row.as_array()?;
    if row.len() != 14 {
        return None;
    }
    let day = time(row.first())?;
    if day.fract() != 0.0 || day.abs() > 1e9 {
        return None;
    }
    let revenue = time(row.get(1))?;
    let mut counts = [0u32; 12];
    for (c, v) in counts.iter_mut().zip(&row[2..]) {
        *c = u32::try_from(whole(Some(v))?).ok()?;
    }
    Some(Day { day: day as i64, counts, revenue })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A made-up history, to check the mechanism: version 2 renamed `searches` to
    /// `queries`, version 3 moved it under `recent`.
    fn v1_to_v2(doc: &mut Map) {
        if let Some(v) = doc.remove("searches") {
            doc.insert("queries", v);
        }
    }
    fn v2_to_v3(doc: &mut Map) {
        if let Some(v) = doc.remove("queries") {
            doc.insert("recent", Value::Object([("queries".to_string(), v)].into_iter().collect()));
        }
    }
    const HISTORY: &[fn(&mut Map)] = &[v1_to_v2, v2_to_v3];

    fn doc(version: f64, key: &str) -> Value {
        let mut m = Map::new();
        m.insert("schemaVersion", Value::Number(version));
        m.insert(key, Value::Array(vec![Value::from("red")]));
        Value::Object(m)
    }

    #[test]
    fn migrations_run_from_the_stored_version_up() {
        let want = r#"{"schemaVersion":3,"recent":{"queries":["red"]}}"#;
        assert_eq!(Value::Object(migrate(doc(1.0, "searches"), 3, HISTORY).unwrap()).to_json(), want);
        assert_eq!(Value::Object(migrate(doc(2.0, "queries"), 3, HISTORY).unwrap()).to_json(), want);
        let current = migrate(doc(3.0, "recent"), 3, HISTORY).unwrap();
        assert_eq!(Value::Object(current).to_json(), r#"{"schemaVersion":3,"recent":["red"]}"#);
    }

    #[test]
    fn unknown_versions_are_refused() {
        for v in [0.0, 4.0, 1.5, -1.0, f64::NAN] {
            assert!(matches!(migrate(doc(v, "x"), 3, HISTORY), Err(ProfileError::Version(_))), "{v}");
        }
        assert!(migrate(Value::Array(vec![]), 3, HISTORY).is_err());
        assert_eq!(ProfileError::Version(4.0).to_string(), "schemaVersion: 4 is not supported (this SDK reads 1 to 1)");
    }
}
