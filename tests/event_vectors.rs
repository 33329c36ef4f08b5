//! Runs the shared event vectors (tests/vectors/events.json) against the engine: each
//! vector is a wire-form event, whether it is valid, and for invalid ones the exact error
//! message. The browser tests run the same file.

use tailor::engine::event::{Event, EventMeta};
use tailor::engine::json::Value;

mod vectors_support;

fn vectors() -> Vec<Value> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/events.json")).unwrap();
    vectors_support::event_cases(&text).unwrap_or_else(|e| panic!("{e}"))
}

fn name(v: &Value) -> &str {
    v.get("name").and_then(Value::as_str).unwrap()
}

/// Valid vectors read back to the same event; invalid ones give the exact message (the
/// browser tests run the same check).
#[test]
fn every_vector_gives_the_expected_result() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/events.json")).unwrap();
    match vectors_support::events(&text) {
        Ok(n) => assert!(n >= vectors_support::MIN_EVENTS),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn every_standard_type_has_a_valid_and_an_invalid_vector() {
    let vectors = vectors();
    for t in tailor::engine::event::EventType::ALL {
        let of_type = |valid: bool| {
            vectors.iter().any(|v| {
                v.pointer_dotted("event.type").and_then(Value::as_str) == Some(t.as_str())
                    && v.get("valid").and_then(Value::as_bool) == Some(valid)
            })
        };
        assert!(of_type(true), "no valid vector for {}", t.as_str());
        assert!(of_type(false), "no invalid vector for {}", t.as_str());
    }
}

/// `Event::new` (what `track()` calls) applies the same type and property rules.
#[test]
fn event_new_agrees_with_the_wire_form_on_type_and_props() {
    for v in vectors() {
        let event = v.get("event").unwrap();
        let Some(t) = event.get("type").and_then(Value::as_str) else {
            continue;
        };
        let error = v.get("error").and_then(Value::as_str).unwrap_or("");
        let about_props = error.starts_with("props") || error.starts_with("type:") || error.starts_with("event: is");
        if !(v.get("valid") == Some(&Value::Bool(true)) || about_props) {
            continue;
        }
        let meta = EventMeta {
            now_ms: 1_700_000_000_000.0,
            random: [9; 10],
            anonymous_id: "anon-1".into(),
            ..EventMeta::default()
        };
        let props = event.get("props").cloned().unwrap_or(Value::Null);
        match Event::new(t, props, meta) {
            Ok(e) if error.is_empty() => assert_eq!(e.event_type().as_str(), t),
            // Event::new makes its own id, so a size error may differ by a few bytes.
            Err(e) if error.starts_with("event: is") => {
                assert_eq!(e.field, "event", "{}", name(&v))
            }
            Err(e) => assert_eq!(e.to_string(), error, "{}", name(&v)),
            Ok(_) => panic!("{}: Event::new accepted an invalid event", name(&v)),
        }
    }
}

#[test]
fn a_shared_context_is_written_with_each_event_and_counts_towards_the_size_limit() {
    use std::sync::Arc;
    use tailor::engine::event::MAX_EVENT_BYTES;
    use tailor::engine::profile::Profile;
    let now = 1_800_000_000_000.0;
    let mut profile = Profile::new("a-1", now);
    let mut context = tailor::engine::json::Map::new();
    context.insert("path", Value::from("/shoes"));
    let context = Arc::new(context);
    let props = Value::parse(r#"{"query": "socks"}"#).unwrap();
    let a = profile.track_shared("search", props.clone(), now, [1; 10], context.clone()).unwrap();
    let b = profile.track_shared("search", props.clone(), now + 1.0, [2; 10], context.clone()).unwrap();
    for e in [&a, &b] {
        let v = Value::parse(&e.to_json()).unwrap();
        assert_eq!(v.get("context").and_then(|c| c.get("path")).and_then(Value::as_str), Some("/shoes"));
        assert_eq!(Event::from_json(&e.to_json()).unwrap(), *e, "the wire form reads back as the same event");
    }
    // Props that fit alone but not with a large context: refused, and the profile unchanged.
    let before = profile.to_json();
    let mut big = tailor::engine::json::Map::new();
    big.insert("path", Value::from("/".repeat(MAX_EVENT_BYTES)));
    let refused = profile.track_shared("search", props.clone(), now + 2.0, [3; 10], Arc::new(big));
    assert!(refused.is_err(), "the context counts towards the size limit");
    assert_eq!(profile.to_json(), before, "a refused event changes nothing");
}
