//! What one `track()` costs in the engine: `Event::new` (validate, id, size check) plus
//! `Profile::record`, on a profile warmed with a realistic history; and the profile's
//! snapshot and stored form, which the web layer reads around it.
//!
//! Run: `cargo bench -p tailor --bench track`

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use tailor::engine::event::{Event, EventMeta};
use tailor::engine::json::Value;
use tailor::engine::profile::Profile;

const T0: f64 = 1_700_000_000_000.0;

fn random(i: u64) -> [u8; 10] {
    let mut r = [0u8; 10];
    r[..8].copy_from_slice(&i.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes());
    r
}

/// A shopper with a few weeks of history: 600 events over 30 days.
fn warm_profile() -> Profile {
    let mut p = Profile::new("0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b", T0);
    p.identify("user-42", Value::parse(r#"{"plan":"gold","country":"DE"}"#).unwrap(), T0).unwrap();
    for i in 0..600u64 {
        let t = T0 + i as f64 * 4_000_000.0;
        let (kind, props) = match i % 6 {
            0 => ("page_view", r#"{"path":"/"}"#.to_string()),
            1 => (
                "product_view",
                format!(
                    r#"{{"sku":"SKU-{}","category":["c{}","d{}"],"brand":"b{}","price":19.9}}"#,
                    i % 40,
                    i % 12,
                    i % 7,
                    i % 9
                ),
            ),
            2 => ("offer_impression", format!(r#"{{"offerId":"offer-{}","placement":"home"}}"#, i % 8)),
            3 => (
                "add_to_cart",
                format!(r#"{{"sku":"SKU-{}","quantity":1,"price":19.9,"category":"c{}"}}"#, i % 40, i % 12),
            ),
            4 => ("search", format!(r#"{{"query":"red shoes {}"}}"#, i % 15)),
            _ => (
                "purchase",
                r#"{"orderId":"o","revenue":59.7,"currency":"EUR","items":[{"sku":"SKU-1","category":"c1"}]}"#
                    .to_string(),
            ),
        };
        p.track(kind, Value::parse(&props).unwrap(), t, random(i), None).unwrap();
    }
    p
}

fn bench(c: &mut Criterion) {
    let props = Value::parse(r#"{"sku":"SKU-7","name":"Trail runner","category":["shoes","running"],"brand":"acme","price":89.9,"currency":"EUR"}"#).unwrap();
    let context = Value::parse(r#"{"path":"/p/sku-7","device":"mobile","locale":"de-DE","timeZone":"Europe/Berlin","localHour":20,"dayOfWeek":3}"#).unwrap();
    let now = T0 + 2_500_000_000.0;

    c.bench_function("Event::new product_view", |b| {
        let mut i = 0u64;
        b.iter(|| {
            i += 1;
            let meta = EventMeta {
                now_ms: now + i as f64,
                random: random(i),
                anonymous_id: "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b".into(),
                user_id: Some("user-42".into()),
                session_id: Some("0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2c".into()),
                context: Some(context.clone()),
            };
            black_box(Event::new("product_view", props.clone(), meta).unwrap())
        })
    });

    let warm = warm_profile();
    c.bench_function("Profile::track product_view (Event::new + record)", |b| {
        let mut p = warm.clone();
        let mut i = 0u64;
        b.iter(|| {
            i += 1;
            black_box(
                p.track("product_view", props.clone(), now + i as f64 * 1000.0, random(i), Some(context.clone()))
                    .unwrap(),
            )
        })
    });

    let event = {
        let mut p = warm.clone();
        p.track("product_view", props.clone(), now, random(1), None).unwrap()
    };
    c.bench_function("Profile::record product_view", |b| {
        let mut p = warm.clone();
        b.iter(|| p.record(black_box(&event), now))
    });

    c.bench_function("Profile::snapshot", |b| b.iter(|| black_box(warm.snapshot(now))));
    let stored = warm.to_json();
    println!("stored profile after 600 events: {} bytes", stored.len());
    c.bench_function("Profile::to_json", |b| b.iter(|| black_box(warm.to_json())));
    c.bench_function("Profile::from_json", |b| b.iter(|| black_box(Profile::from_json(&stored).unwrap())));
}

criterion_group!(benches, bench);
criterion_main!(benches);
