//! Runs the shared event vectors (tests/vectors/events.json) against the engine: each
//! vector is a wire-form event, whether it is valid, and for invalid ones the exact error
//! message. The browser tests run the same file.

use tailor::engine::event::{Event, EventMeta, MAX_EVENT_BYTES};
use tailor::engine::json::Value;

fn vectors() -> Vec<Value> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/events.json")).unwrap();
    match Value::parse(&text).unwrap() {
        Value::Array(v) => v,
        _ => panic!("events.json must be an array"),
    }
}

fn name(v: &Value) -> &str {
    v.get("name").and_then(Value::as_str).unwrap()
}

#[test]
fn every_vector_gives_the_expected_result() {
    let vectors = vectors();
    assert!(vectors.len() >= 80);
    for v in &vectors {
        let event = v.get("event").unwrap();
        let valid = v.get("valid").and_then(Value::as_bool).unwrap();
        match (Event::from_value(event), valid) {
            (Ok(e), true) => {
                assert!(e.to_json().len() <= MAX_EVENT_BYTES, "{}", name(v));
                // The wire form reads back to the same event.
                assert_eq!(Event::from_json(&e.to_json()).as_ref(), Ok(&e), "{}", name(v));
                assert_eq!(Value::parse(&e.to_json()).unwrap(), e.to_value(), "{}", name(v));
                assert_eq!(e.id(), event.get("id").and_then(Value::as_str).unwrap());
            }
            (Err(err), false) => {
                let want = v.get("error").and_then(Value::as_str).unwrap();
                assert_eq!(err.to_string(), want, "{}", name(v));
            }
            (Ok(_), false) => panic!("{}: accepted an invalid event", name(v)),
            (Err(err), true) => panic!("{}: rejected a valid event: {err}", name(v)),
        }
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
