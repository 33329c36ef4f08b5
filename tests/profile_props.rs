//! Property tests of the profile against a simple model: decay, sessions, counters,
//! frequency-cap history, bounds and the stored form.

use proptest::prelude::*;
use std::collections::BTreeMap;
use tailor::engine::json::{Map, Value};
use tailor::engine::profile::{Profile, MAX_PROFILE_BYTES, MAX_SHOWN};

const T0: f64 = 1_700_000_000_000.0;
const MIN: f64 = 60_000.0;

#[derive(Clone, Debug)]
enum Action {
    View { sku: u8, cat: u8 },
    Cart { sku: u8, cat: u8, qty: u8 },
    Impression { offer: u8 },
    Click { offer: u8 },
    Page,
    Custom { name: u8 },
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        (0u8..6, 0u8..5).prop_map(|(sku, cat)| Action::View { sku, cat }),
        (0u8..6, 0u8..5, 1u8..4).prop_map(|(sku, cat, qty)| Action::Cart { sku, cat, qty }),
        (0u8..3).prop_map(|offer| Action::Impression { offer }),
        (0u8..3).prop_map(|offer| Action::Click { offer }),
        Just(Action::Page),
        (0u8..3).prop_map(|name| Action::Custom { name }),
    ]
}

/// Gaps between events: mostly within a session, sometimes around the 30-minute mark,
/// sometimes days.
fn gap() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => (0u32..10 * 60_000).prop_map(f64::from),
        2 => (25 * 60_000u32..35 * 60_000).prop_map(f64::from),
        1 => (0u32..20).prop_map(|d| f64::from(d) * 86_400_000.0),
    ]
}

fn props(a: &Action) -> (&'static str, String) {
    match a {
        Action::View { sku, cat } => ("product_view", format!(r#"{{"sku":"s{sku}","category":["c{cat}"]}}"#)),
        Action::Cart { sku, cat, qty } => {
            ("add_to_cart", format!(r#"{{"sku":"s{sku}","quantity":{qty},"price":2,"category":"c{cat}"}}"#))
        }
        Action::Impression { offer } => ("offer_impression", format!(r#"{{"offerId":"o{offer}"}}"#)),
        Action::Click { offer } => ("offer_click", format!(r#"{{"offerId":"o{offer}"}}"#)),
        Action::Page => ("page_view", "{}".to_string()),
        Action::Custom { name } => ("custom", format!(r#"{{"name":"n{name}"}}"#)),
    }
}

fn num(v: &Value, path: &str) -> f64 {
    v.pointer_dotted(path).and_then(Value::as_f64).unwrap_or_else(|| panic!("{path}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn profile_matches_a_model(steps in prop::collection::vec((gap(), action(), any::<[u8; 10]>()), 1..150)) {
        let mut p = Profile::new("anon", T0);
        let hl = p.config().half_life_ms;
        let mut t = T0;
        let mut last: Option<f64> = None;
        let mut sessions = 0.0;
        let mut categories: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
        let mut cart: BTreeMap<u8, f64> = BTreeMap::new();
        let mut shown: BTreeMap<u8, Vec<f64>> = BTreeMap::new();
        let mut clicks: BTreeMap<u8, f64> = BTreeMap::new();
        for (g, a, random) in &steps {
            t += g.floor();
            if last.is_none_or(|l| t - l >= 30.0 * MIN) {
                sessions += 1.0;
            }
            last = Some(t);
            let (kind, json) = props(a);
            p.track(kind, Value::parse(&json).unwrap(), t, *random, None).unwrap();
            match a {
                Action::View { cat, .. } => categories.entry(format!("c{cat}")).or_default().push((t, 1.0)),
                Action::Cart { sku, cat, qty } => {
                    categories.entry(format!("c{cat}")).or_default().push((t, 3.0));
                    *cart.entry(*sku).or_default() += f64::from(*qty);
                }
                Action::Impression { offer } => shown.entry(*offer).or_default().push(t),
                Action::Click { offer } => *clicks.entry(*offer).or_default() += 1.0,
                _ => {}
            }
        }
        let s = p.snapshot(t);
        prop_assert_eq!(num(&s, "session.count"), sessions);
        let total: f64 = s.get("events").unwrap().as_object().unwrap().iter().map(|(_, e)| num(e, "count")).sum();
        prop_assert_eq!(total, steps.len() as f64);
        for (cat, hits) in &categories {
            let want: f64 = hits.iter().map(|(at, w)| w * 0.5f64.powf((t - at) / hl)).sum();
            let got = num(&s, &format!("categories.{cat}"));
            prop_assert!((got - want).abs() <= 1e-9 * want.max(1.0), "{}: {} vs {}", cat, got, want);
        }
        prop_assert_eq!(num(&s, "cart.count"), cart.values().sum::<f64>());
        for (offer, times) in &shown {
            let got: Vec<f64> = s.pointer_dotted(&format!("offers.o{offer}.shown")).unwrap()
                .as_array().unwrap().iter().filter_map(Value::as_f64).collect();
            let keep = times.len().min(MAX_SHOWN);
            prop_assert_eq!(&got[..], &times[times.len() - keep..]);
        }
        for (offer, n) in &clicks {
            prop_assert_eq!(num(&s, &format!("offers.o{offer}.clicks")), *n);
        }
        // Scores only fall as time passes.
        let later = p.snapshot(t + 3_600_000.0);
        for cat in categories.keys() {
            let path = format!("categories.{cat}");
            prop_assert!(num(&later, &path) <= num(&s, &path));
        }
        // The stored form is bounded and stable.
        let text = p.to_json();
        prop_assert!(text.len() <= MAX_PROFILE_BYTES);
        let back = Profile::from_json(&text).unwrap();
        prop_assert_eq!(back.to_json(), text.clone());
        prop_assert_eq!(back.snapshot(t + 1.0), p.snapshot(t + 1.0));
    }

    #[test]
    fn damaged_stored_profiles_never_panic(doc in damaged_doc()) {
        if let Ok(p) = Profile::from_value(doc) {
            let text = p.to_json();
            prop_assert!(text.len() <= MAX_PROFILE_BYTES);
            prop_assert_eq!(Profile::from_json(&text).unwrap().to_json(), text);
        }
    }

    #[test]
    fn any_text_is_handled(s in any::<String>()) {
        let _ = Profile::from_json(&s);
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<f64>().prop_map(Value::Number),
        (0f64..2e12).prop_map(|n| Value::Number(n.trunc())),
        "[a-z0-9]{0,6}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 40, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..14).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop::sample::select(vec![
                        "count",
                        "first",
                        "last",
                        "shown",
                        "clicks",
                        "id",
                        "start",
                        "items",
                        "sku",
                        "quantity",
                        "variation",
                        "bucketVersion",
                        "enteredAt",
                        "x"
                    ]),
                    inner
                ),
                0..6,
            )
            .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect::<Map>())),
        ]
    })
}

/// A stored-profile-shaped object with random parts.
fn damaged_doc() -> impl Strategy<Value = Value> {
    let keys = vec![
        "events",
        "custom",
        "orders",
        "categories",
        "brands",
        "recentlyViewed",
        "cart",
        "searches",
        "session",
        "traits",
        "audiences",
        "offers",
        "experiments",
        "daily",
        "firstSeen",
        "lastSeen",
        "userId",
    ];
    prop::collection::vec((prop::sample::select(keys), json_value()), 0..12).prop_map(|parts| {
        let mut m = Map::new();
        m.insert("schemaVersion", Value::Number(1.0));
        m.insert("anonymousId", Value::from("a"));
        for (k, v) in parts {
            m.insert(k, v);
        }
        Value::Object(m)
    })
}
