//! The shared JSON vectors (tests/vectors/) run in headless Chromium: the same engine, but
//! with JavaScript's RegExp for `$regex` and JavaScript's float routines, as shoppers run it.
#![cfg(target_arch = "wasm32")]

use tailor::engine::condition::Condition;
use tailor::engine::event::Event;
use tailor::engine::hash::gb_hash;
use tailor::engine::json::Value;
use tailor::engine::regex::{Pattern, RegexCompiler};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = "export function re(s, f) { try { return new RegExp(s, f); } catch { return null; } }
export function test(r, s) { return r.test(s); }")]
extern "C" {
    fn re(source: &str, flags: &str) -> JsValue;
    fn test(re: &JsValue, s: &str) -> bool;
}

struct JsRe;
struct Compiled(JsValue);
impl Pattern for Compiled {
    fn is_match(&self, s: &str) -> bool {
        test(&self.0, s)
    }
}
impl RegexCompiler for JsRe {
    fn compile(&self, p: &str, i: bool) -> Option<Box<dyn Pattern>> {
        let r = re(p, if i { "i" } else { "" });
        (!r.is_null()).then(|| Box::new(Compiled(r)) as Box<dyn Pattern>)
    }
}

fn vectors(text: &str) -> Value {
    tailor::web::start(); // JavaScript's float routines, as in the page
    Value::parse(text).expect("vector file parses")
}

#[wasm_bindgen_test]
fn condition_vectors_agree_in_the_browser() {
    let cases = vectors(include_str!("vectors/conditions.json"));
    let mut failures = Vec::new();
    let list = cases.as_array().expect("an array");
    assert!(list.len() > 100);
    for c in list {
        let groups = c.get("savedGroups").unwrap_or(&Value::Null);
        let cond = Condition::compile(c.get("condition").unwrap_or(&Value::Null), groups, &JsRe);
        let got = cond.eval(c.get("attributes").unwrap_or(&Value::Null));
        if Some(got) != c.get("expected").and_then(Value::as_bool) {
            failures.push(c.get("name").map(Value::to_json).unwrap_or_default());
        }
    }
    assert!(failures.is_empty(), "{} failures: {failures:?}", failures.len());
}

#[wasm_bindgen_test]
fn hash_vectors_agree_in_the_browser() {
    let v = vectors(include_str!("vectors/hashes.json"));
    let cases = v.get("growthbook").and_then(Value::as_array).expect("growthbook cases");
    for c in cases {
        let s = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("");
        let version = c.get("version").and_then(Value::as_f64).unwrap_or(0.0) as u32;
        assert_eq!(
            gb_hash(s("seed"), s("value"), version),
            c.get("expected").and_then(Value::as_f64),
            "{}",
            c.to_json()
        );
    }
}

#[wasm_bindgen_test]
fn event_vectors_agree_in_the_browser() {
    let cases = vectors(include_str!("vectors/events.json"));
    let list = cases.as_array().expect("an array");
    for c in list {
        let event = c.get("event").unwrap_or(&Value::Null);
        let valid = c.get("valid").and_then(Value::as_bool).unwrap_or(false);
        match Event::from_value(event) {
            Ok(e) => {
                assert!(valid, "accepted an invalid event: {}", c.to_json());
                // what the browser writes reads back the same
                assert_eq!(Event::from_json(&e.to_json()).ok(), Some(e), "{}", c.to_json());
            }
            Err(err) => {
                assert!(!valid, "rejected a valid event: {} ({err})", c.to_json());
                if let Some(want) = c.get("error").and_then(Value::as_str) {
                    assert_eq!(err.to_string(), want, "{}", c.to_json());
                }
            }
        }
    }
}
