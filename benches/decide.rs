//! Decision benchmarks: condition evaluation (ns per condition) and a full page decision on
//! a realistic ruleset (100 offers over 4 placements, 20 experiments) for a shopper with
//! 1,000 events of history.
//!
//! Run: `cargo bench --bench decide -- --warm-up-time 1 --measurement-time 3`

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use tailor::engine::condition::Condition;
use tailor::engine::decision::DecideOptions;
use tailor::engine::json::{Map, Value};
use tailor::engine::profile::Profile;
use tailor::engine::regex::{Pattern, RegexCompiler};
use tailor::engine::ruleset::Ruleset;

struct Re;
struct Compiled(regex_lite::Regex);
impl Pattern for Compiled {
    fn is_match(&self, s: &str) -> bool {
        self.0.is_match(s)
    }
}
impl RegexCompiler for Re {
    fn compile(&self, p: &str, i: bool) -> Option<Box<dyn Pattern>> {
        regex_lite::RegexBuilder::new(p)
            .case_insensitive(i)
            .build()
            .ok()
            .map(|r| Box::new(Compiled(r)) as Box<dyn Pattern>)
    }
}

const NOW: f64 = 1_796_083_200_000.0;
const DAY: f64 = 86_400_000.0;
const CATEGORIES: [&str; 10] =
    ["shoes", "bags", "coats", "shirts", "jeans", "hats", "socks", "watches", "belts", "scarves"];
const PLACEMENTS: [&str; 4] = ["home-hero", "category-banner", "product-recs", "cart-upsell"];

pub fn ruleset_text() -> String {
    let mut offers = Vec::new();
    for i in 0..100 {
        let cat = CATEGORIES[i % CATEGORIES.len()];
        let p1 = PLACEMENTS[i % 4];
        let p2 = PLACEMENTS[(i + 1) % 4];
        let condition = match i % 5 {
            0 => format!(r#"{{"profile.categories.{cat}": {{"$gt": 0.2}}}}"#),
            1 => {
                r#"{"context.pageType": {"$in": ["home", "category", "product"]}, "profile.orders.count": {"$gte": 1}}"#
                    .to_string()
            }
            2 => r#"{"$or": [{"user.plan": "gold"}, {"profile.orders.revenue": {"$gte": 300}}]}"#.to_string(),
            3 => r#"{"context.userAgent": {"$regexi": "iphone|android"}}"#.to_string(),
            _ => format!(r#"{{"profile.recentlyViewed": {{"$elemMatch": {{"category": "{cat}"}}}}}}"#),
        };
        offers.push(format!(
            r#"{{"id": "offer-{i}", "placements": ["{p1}", "{p2}"], "priority": {prio}, "audience": "{aud}",
               "condition": {condition},
               "score": [{{"path": "profile.categories.{cat}", "weight": 1}}],
               "cap": [{{"max": 3, "per": "day"}}, {{"max": 1, "per": "session"}}],
               "window": {{"start": "2026-01-01T00:00:00Z", "end": "2027-12-31T00:00:00Z"}},
               "content": {{"title": "Offer {i}", "body": "All {cat} at a better price", "image": "/img/{cat}.jpg", "cta": "Shop {cat}", "url": "/category/{cat}"}}}}"#,
            prio = i % 7,
            aud = ["returning", "anyone", "engaged"][i % 3],
        ));
    }
    let mut experiments = Vec::new();
    for i in 0..20 {
        let swap = if i < 5 {
            format!(r#", "offers": {{"offer-{}": {{"title": "Offer {} (B)"}}}}"#, i * 3, i * 3)
        } else {
            String::new()
        };
        experiments.push(format!(
            r#"{{"key": "exp-{i}", "seed": "exp-{i}-seed", "coverage": 0.9, "weights": [0.5, 0.5],
               "namespace": ["ns-{ns}", {start}, {end}], "condition": {{"context.pageType": {{"$ne": "checkout"}}}},
               "variations": [{{"key": "control", "value": {{"v": 0}}}}, {{"key": "treatment", "value": {{"v": 1}}{swap}}}]}}"#,
            ns = i % 4,
            start = (i / 4) as f64 * 0.2,
            end = (i / 4) as f64 * 0.2 + 0.2,
        ));
    }
    format!(
        r#"{{"version": 1, "id": "bench",
            "audiences": {{"returning": {{"profile.orders.count": {{"$gte": 1}}}},
                          "anyone": {{}},
                          "engaged": {{"profile.events.page_view.count": {{"$gt": 20}}, "profile.session.id": {{"$exists": true}}}}}},
            "placements": {{"home-hero": {{"limit": 1}}, "category-banner": {{"limit": 1}}, "product-recs": {{"limit": 4}}, "cart-upsell": {{"limit": 2}}}},
            "offers": [{}], "experiments": [{}]}}"#,
        offers.join(","),
        experiments.join(",")
    )
}

/// The profile snapshot of a shopper with 1,000 events: counters, orders, category
/// affinity, recently viewed items, a cart, offer impressions and sticky assignments.
fn attributes_text() -> String {
    let mut offer_history = Vec::new();
    let mut impressions = 0;
    for i in 0..100 {
        // 600 impressions spread over the offers and the last 30 days.
        let n = if i % 2 == 0 { 12 } else { 0 };
        impressions += n;
        let shown: Vec<String> =
            (0..n).map(|k| format!("{}", NOW - (n - k) as f64 * DAY * 2.5 + i as f64 * 1000.0)).collect();
        offer_history.push(format!(r#""offer-{i}": {{"shown": [{}], "clicks": {}}}"#, shown.join(","), i % 3));
    }
    let categories: Vec<String> =
        CATEGORIES.iter().enumerate().map(|(i, c)| format!(r#""{c}": {}"#, 1.0 / (i as f64 + 1.0))).collect();
    let viewed: Vec<String> = (0..50)
        .map(|i| {
            format!(
                r#"{{"sku": "SKU-{i}", "category": "{}", "brand": "B{}", "price": {}, "ts": {}}}"#,
                CATEGORIES[i % 10],
                i % 7,
                20 + i,
                NOW - i as f64 * 3.6e6
            )
        })
        .collect();
    let sticky: Vec<String> =
        (0..20).step_by(2).map(|i| format!(r#""exp-{i}": {{"variation": {}, "bucketVersion": 0}}"#, i % 2)).collect();
    let events = 1000 - impressions;
    format!(
        r#"{{"id": "user-123", "anonymousId": "anon-42",
            "user": {{"plan": "silver", "country": "FR"}},
            "context": {{"url": "/category/shoes", "pageType": "category", "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0)"}},
            "profile": {{"anonymousId": "anon-42", "firstSeen": {first}, "lastSeen": {NOW},
              "events": {{"page_view": {{"count": {pv}, "last7d": 80, "last30d": 250}}, "product_view": {{"count": {prv}}}, "add_to_cart": {{"count": 40}}, "purchase": {{"count": 6}}}},
              "orders": {{"count": 6, "revenue": 420.5, "aov": 70.08}},
              "rfm": {{"recencyDays": 3, "frequency": 6, "monetary": 420.5}},
              "categories": {{{cats}}}, "topCategory": "shoes", "brands": {{"B1": 0.8, "B2": 0.3}},
              "recentlyViewed": [{viewed}],
              "cart": {{"items": [{{"sku": "SKU-1", "quantity": 1, "price": 89}}], "count": 1, "value": 89}},
              "session": {{"id": "s-9", "start": {session}}},
              "offers": {{{offers}}},
              "experiments": {{{sticky}}}}}}}"#,
        first = NOW - 90.0 * DAY,
        pv = events / 2,
        prv = events / 3,
        cats = categories.join(","),
        viewed = viewed.join(","),
        session = NOW - 600_000.0,
        offers = offer_history.join(","),
        sticky = sticky.join(","),
    )
}

fn conditions(c: &mut Criterion) {
    let attrs = Value::parse(&attributes_text()).expect("attributes");
    let cases = [
        ("eq", r#"{"user.country": "FR"}"#),
        ("range", r#"{"profile.orders.count": {"$gte": 1, "$lt": 10}}"#),
        (
            "in-20",
            r#"{"user.country": {"$in": ["AT","BE","BG","HR","CY","CZ","DK","EE","FI","DE","GR","HU","IE","IT","LV","LT","LU","MT","NL","FR"]}}"#,
        ),
        (
            "and-or",
            r#"{"$and": [{"context.pageType": {"$ne": "checkout"}}, {"$or": [{"user.plan": "gold"}, {"profile.orders.revenue": {"$gte": 300}}]}]}"#,
        ),
        ("regex", r#"{"context.userAgent": {"$regexi": "iphone|android"}}"#),
        ("version", r#"{"user.appVersion": {"$vgte": "2.3.0"}}"#),
        (
            "elemMatch-50",
            r#"{"profile.recentlyViewed": {"$elemMatch": {"category": "scarves", "price": {"$gt": 60}}}}"#,
        ),
    ];
    let mut group = c.benchmark_group("condition");
    for (name, text) in cases {
        let cond = Condition::compile(&Value::parse(text).unwrap(), &Value::Null, &Re);
        group.bench_function(name, |b| b.iter(|| black_box(cond.eval(black_box(&attrs)))));
    }
    group.finish();
}

fn page(c: &mut Criterion) {
    let text = ruleset_text();
    let rs = Ruleset::parse(&text, &Re).unwrap_or_else(|e| panic!("{e:?}"));
    let attrs = Value::parse(&attributes_text()).expect("attributes");
    let options = DecideOptions { now: NOW, ..DecideOptions::default() };
    let d = rs.decide(&attrs, &options);
    let chosen: usize = d.placements.iter().map(|p| p.offers.len()).sum();
    assert!(chosen > 0, "the benchmark decision chooses offers");
    let mut group = c.benchmark_group("decision");
    group.bench_function("compile ruleset (100 offers, 20 experiments)", |b| {
        b.iter(|| black_box(Ruleset::parse(black_box(&text), &Re).is_ok()))
    });
    group.bench_function("page (4 placements)", |b| {
        b.iter(|| black_box(rs.decide(black_box(&attrs), &options).placements.len()))
    });
    let one = DecideOptions { now: NOW, placements: Some(vec!["home-hero".to_string()]), ..DecideOptions::default() };
    group
        .bench_function("one placement", |b| b.iter(|| black_box(rs.decide(black_box(&attrs), &one).placements.len())));
    group.bench_function("page + JSON", |b| {
        b.iter(|| black_box(rs.decide(black_box(&attrs), &options).to_json_with(true).len()))
    });
    group.finish();
}

fn random(i: u64) -> [u8; 10] {
    let mut r = [0u8; 10];
    r[..8].copy_from_slice(&i.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes());
    r
}

/// The shopper of the browser bench page (`www/bench/workload.js` `history()`): 300
/// touchpoints, tracked one minute apart up to `NOW`.
fn bench_profile() -> Profile {
    let mut p = Profile::new("anon-42", NOW - 300.0 * 60_000.0);
    for i in 0..300u64 {
        let cat = CATEGORIES[i as usize % CATEGORIES.len()];
        let sku = format!("SKU-{}", i % 60);
        let (kind, props) = if i % 50 == 49 {
            (
                "purchase",
                format!(
                    r#"{{"orderId":"order-{i}","revenue":{},"currency":"EUR","items":[{{"sku":"{sku}","quantity":1,"price":70}}]}}"#,
                    70 + i % 30
                ),
            )
        } else if i % 10 == 9 {
            (
                "add_to_cart",
                format!(
                    r#"{{"sku":"{sku}","quantity":1,"price":{},"currency":"EUR","category":"{cat}","brand":"B{}"}}"#,
                    20 + i % 80,
                    i % 7
                ),
            )
        } else if i % 3 == 0 {
            ("page_view", format!(r#"{{"path":"/category/{cat}"}}"#))
        } else if i % 7 == 1 {
            ("search", format!(r#"{{"query":"{cat}","results":12}}"#))
        } else {
            (
                "product_view",
                format!(
                    r#"{{"sku":"{sku}","name":"Product {}","category":"{cat}","brand":"B{}","price":{},"currency":"EUR"}}"#,
                    i % 60,
                    i % 7,
                    20 + i % 80
                ),
            )
        };
        let t = NOW - (300 - i) as f64 * 60_000.0;
        p.track(kind, Value::parse(&props).unwrap(), t, random(i), None).unwrap();
    }
    p
}

/// The attributes the browser layer builds for a decision (`src/web/api.rs` `attributes`).
fn browser_attributes(p: &Profile, now: f64) -> Value {
    let context = Value::parse(
        r#"{"url":"https://shop.example/category/shoes","path":"/category/shoes","device":"mobile","pageType":"category","country":"FR","appVersion":"2.4.1","userAgent":"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)"}"#,
    )
    .unwrap();
    let mut m = Map::new();
    m.insert("id", Value::from(p.anonymous_id()));
    m.insert("anonymousId", Value::from(p.anonymous_id()));
    m.insert("profile", p.snapshot(now));
    m.insert("context", context);
    m.insert("user", Value::Object(p.traits().clone()));
    Value::Object(m)
}

/// What one `decide()` of the browser bench page costs in the engine, part by part.
fn browser(c: &mut Criterion) {
    let rs = Ruleset::parse(&ruleset_text(), &Re).unwrap_or_else(|e| panic!("{e:?}"));
    let p = bench_profile();
    let options = DecideOptions { now: NOW, ..DecideOptions::default() };
    let attrs = browser_attributes(&p, NOW);
    let mut group = c.benchmark_group("browser");
    group.bench_function("snapshot (300 events)", |b| b.iter(|| black_box(p.snapshot(black_box(NOW)))));
    group.bench_function("attributes", |b| b.iter(|| black_box(browser_attributes(&p, black_box(NOW)))));
    group.bench_function("decide", |b| b.iter(|| black_box(rs.decide(black_box(&attrs), &options).placements.len())));
    let d = rs.decide(&attrs, &options);
    group.bench_function("to_json_with(true)", |b| b.iter(|| black_box(d.to_json_with(true).len())));
    group.bench_function("to_json_with(false), no reasons", |b| b.iter(|| black_box(d.to_json_with(false).len())));
    group.bench_function("all: attributes + decide + to_json_with", |b| {
        b.iter(|| {
            let attrs = browser_attributes(&p, black_box(NOW));
            black_box(rs.decide(&attrs, &options).to_json_with(true).len())
        })
    });
    group.bench_function("all, no reasons", |b| {
        b.iter(|| {
            let attrs = browser_attributes(&p, black_box(NOW));
            black_box(rs.decide(&attrs, &options).to_json_with(false).len())
        })
    });
    group.finish();
}

criterion_group!(benches, conditions, page, browser);
criterion_main!(benches);
