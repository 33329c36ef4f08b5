//! Every shared JSON vector file (tests/vectors/) runs in headless Chromium: the same engine
//! and the same case-running code as the native tests (tests/vectors_support/), but with
//! JavaScript's RegExp for `$regex` and JavaScript's float routines, as shoppers run it.
#![cfg(target_arch = "wasm32")]

mod vectors_support;

use tailor::engine::regex::{Pattern, RegexCompiler};
use vectors_support as v;
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

/// Runs one file in the page's float routines; fails with every failure, and on fewer
/// cases than `min`.
fn check(run: impl FnOnce() -> v::Outcome, min: usize) {
    tailor::web::start(); // JavaScript's float routines, as in the page
    match run() {
        Ok(n) => assert!(n >= min, "{n} cases run, expected at least {min}"),
        Err(e) => panic!("{e}"),
    }
}

#[wasm_bindgen_test]
fn condition_vectors_agree_in_the_browser() {
    check(|| v::conditions(include_str!("vectors/conditions.json"), &JsRe), v::MIN_CONDITIONS);
}

#[wasm_bindgen_test]
fn hash_vectors_agree_in_the_browser() {
    let min = v::MIN_HASH_GROWTHBOOK + v::MIN_HASH_TAILOR + v::MIN_HASH_MURMUR3;
    check(|| v::hashes(include_str!("vectors/hashes.json")), min);
}

#[wasm_bindgen_test]
fn bucket_vectors_agree_in_the_browser() {
    check(|| v::buckets(include_str!("vectors/buckets.json")), v::MIN_RANGES + v::MIN_CHOOSE + v::MIN_NAMESPACES);
}

#[wasm_bindgen_test]
fn version_vectors_agree_in_the_browser() {
    check(|| v::versions(include_str!("vectors/versions.json")), v::MIN_VERSIONS);
}

#[wasm_bindgen_test]
fn experiment_vectors_agree_in_the_browser() {
    check(|| v::experiments(include_str!("vectors/experiments.json"), &JsRe), v::MIN_EXPERIMENTS);
}

#[wasm_bindgen_test]
fn offer_vectors_agree_in_the_browser() {
    check(|| v::offers(include_str!("vectors/offers.json"), &JsRe), v::MIN_OFFER_CASES);
}

#[wasm_bindgen_test]
fn invalid_ruleset_vectors_agree_in_the_browser() {
    check(|| v::invalid_rulesets(include_str!("vectors/rulesets_invalid.json"), &JsRe), v::MIN_INVALID_RULESETS);
}

#[wasm_bindgen_test]
fn event_vectors_agree_in_the_browser() {
    check(|| v::events(include_str!("vectors/events.json")), v::MIN_EVENTS);
}

#[wasm_bindgen_test]
fn profile_vectors_agree_in_the_browser() {
    check(|| v::profiles(include_str!("vectors/profile.json")), v::MIN_PROFILES);
}

/// The browser run fails too on a renamed group (not only the native one).
#[wasm_bindgen_test]
fn a_renamed_group_fails_in_the_browser() {
    let text = include_str!("vectors/hashes.json").replacen("\"murmur3\": [", "\"murmur\": [", 1);
    let err = v::hashes(&text).unwrap_err();
    assert!(err.contains("no \"murmur3\" list"), "{err}");
}
