//! Property tests of event validation: untrusted input never panics, and what is accepted
//! reads back unchanged from its wire form.

use proptest::prelude::*;
use tailor::engine::event::{Event, EventErrorKind, EventMeta, EventType, MAX_EVENT_BYTES};
use tailor::engine::json::{Map, Value};
use tailor::engine::uuid::{Uuid, MAX_UNIX_MS};

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<f64>().prop_map(Value::Number),
        (-1e13f64..1e13).prop_map(|n| Value::Number(n.trunc())),
        "[a-zA-Z0-9_ .\\-]{0,12}".prop_map(Value::String),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("[a-zA-Z]{1,10}", inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map>())),
        ]
    })
}

/// Property values that often satisfy the rules, mixed with anything at all.
fn prop_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        2 => "[a-z0-9-]{1,10}".prop_map(Value::String),
        1 => "[A-Z]{3}".prop_map(Value::String),
        2 => (0u32..100).prop_map(|n| Value::Number(n as f64)),
        1 => prop::collection::vec("[a-z]{1,8}".prop_map(Value::String), 0..3).prop_map(Value::Array),
        1 => prop::collection::vec("[a-z]{1,8}", 0..3).prop_map(|skus| Value::Array(
            skus.into_iter().map(|s| Value::Object([("sku".to_string(), Value::String(s))].into_iter().collect())).collect()
        )),
        2 => json_value(),
    ]
}

/// A wire-form-shaped object whose fields are mostly right and sometimes anything.
fn event_like() -> impl Strategy<Value = Value> {
    let id = prop_oneof![
        4 => (any::<u64>(), any::<[u8; 10]>()).prop_map(|(ms, r)| Value::from(Uuid::v7(ms, r).to_hyphenated())),
        1 => json_value(),
    ];
    let t = prop_oneof![
        4 => prop::sample::select(EventType::ALL.to_vec()).prop_map(|t| Value::from(t.as_str())),
        1 => json_value(),
    ];
    let ts = prop_oneof![
        4 => (0u64..=MAX_UNIX_MS).prop_map(|n| Value::Number(n as f64)),
        1 => json_value(),
    ];
    let anon = prop_oneof![
        4 => "[a-z0-9-]{1,20}".prop_map(Value::String),
        1 => json_value(),
    ];
    let props = prop::collection::vec(
        (
            prop::sample::select(vec![
                "sku",
                "price",
                "quantity",
                "name",
                "category",
                "items",
                "orderId",
                "revenue",
                "currency",
                "offerId",
                "experimentKey",
                "variation",
                "query",
                "results",
                "extra",
            ]),
            prop_value(),
        ),
        0..8,
    )
    .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect()));
    let ctx = prop_oneof![2 => Just(Value::Null), 1 => json_value()];
    (id, t, ts, props, anon, ctx).prop_map(|(id, t, ts, props, anon, ctx)| {
        let mut m = Map::new();
        m.insert("id", id);
        m.insert("type", t);
        m.insert("ts", ts);
        m.insert("props", props);
        m.insert("anonymousId", anon);
        m.insert("context", ctx);
        Value::Object(m)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn from_value_never_panics_and_accepted_events_round_trip(v in event_like()) {
        if let Ok(e) = Event::from_value(&v) {
            prop_assert!(e.to_json().len() <= MAX_EVENT_BYTES);
            let again = Event::from_json(&e.to_json());
            prop_assert_eq!(again.as_ref(), Ok(&e));
        }
    }

    #[test]
    fn any_json_value_is_handled(v in json_value()) {
        let _ = Event::from_value(&v);
        let _ = Event::from_json(&v.to_json());
    }

    #[test]
    fn any_text_is_handled(s in any::<String>()) {
        let _ = Event::from_json(&s);
    }

    #[test]
    fn new_events_keep_id_and_ts(
        now in 0f64..(MAX_UNIX_MS as f64),
        random in any::<[u8; 10]>(),
        extra in json_value(),
        t in prop::sample::select(vec![EventType::PageView, EventType::CheckoutStart]),
    ) {
        let mut props = Map::new();
        props.insert("extra", extra);
        let meta = EventMeta { now_ms: now, random, anonymous_id: "a".into(), ..EventMeta::default() };
        match Event::new(t.as_str(), Value::Object(props), meta) {
            Ok(e) => {
                prop_assert_eq!(e.ts(), now.floor());
                let id = Uuid::parse_v7(e.id()).unwrap();
                prop_assert_eq!(id.timestamp_ms() as f64, now.floor());
                let back = Event::from_json(&e.to_json()).unwrap();
                prop_assert_eq!(back.id(), e.id());
                prop_assert_eq!(back.ts(), e.ts());
            }
            Err(err) => prop_assert_eq!(err.kind, EventErrorKind::TooLarge),
        }
    }

    #[test]
    fn uuid_v7_round_trips_and_sorts(a in 0u64..=MAX_UNIX_MS, b in 0u64..=MAX_UNIX_MS, r in any::<[u8; 10]>(), s in any::<[u8; 10]>()) {
        let (x, y) = (Uuid::v7(a, r), Uuid::v7(b, s));
        prop_assert_eq!(Uuid::parse_v7(&x.to_hyphenated()), Ok(x));
        prop_assert_eq!(x.timestamp_ms(), a);
        if a < b {
            prop_assert!(x.to_hyphenated() < y.to_hyphenated());
        }
    }
}
