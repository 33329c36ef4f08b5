//! Browser tests of the sync runtime without a server (wasm-bindgen-test in headless
//! Chromium): nothing is sent without an endpoint, an unreachable server costs a counted
//! failure and keeps every event, the cached ruleset is used at once, erasure is queued.
//! The end-to-end tests against the real server are in tests/e2e/sync.test.mjs.
#![cfg(target_arch = "wasm32")]

use js_sys::{Promise, Reflect, JSON};
use tailor::web::TailorCore;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
export function uniqueSite() { return "s" + Math.random().toString(36).slice(2, 10); }
export function lsGet(k) { return localStorage.getItem(k); }
export function lsSet(k, v) { localStorage.setItem(k, v); }
export function envelope(site, version, expiresAt) {
  return JSON.stringify({ site, version, issuedAt: Date.now() - 1000, expiresAt, keyId: "k1",
    ruleset: { version: 1, placements: {}, offers: [] }, signature: "AAAA" });
}
const b64 = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf)));
let signer = null;
// A fresh Ed25519 key pair (WebCrypto); resolves to the raw public key in base64.
export async function newSigner() {
  signer = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
  return b64(await crypto.subtle.exportKey("raw", signer.publicKey));
}
export async function sign(payload) {
  return b64(await crypto.subtle.sign({ name: "Ed25519" }, signer.privateKey, new TextEncoder().encode(payload)));
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = uniqueSite)]
    fn unique_site() -> String;
    #[wasm_bindgen(js_name = lsGet)]
    fn ls_get(k: &str) -> Option<String>;
    #[wasm_bindgen(js_name = lsSet)]
    fn ls_set(k: &str, v: &str);
    fn envelope(site: &str, version: f64, expires_at: f64) -> String;
    #[wasm_bindgen(js_name = newSigner)]
    fn new_signer() -> Promise;
    fn sign(payload: &str) -> Promise;
}

/// An address where nothing answers (port 9, discard: refused at once).
const NOWHERE: &str = "http://127.0.0.1:9";

fn config(json: &str) -> JsValue {
    JSON::parse(json).unwrap()
}

async fn init(json: String) -> TailorCore {
    TailorCore::init(config(&json)).await.unwrap()
}

async fn wait(p: Promise) -> JsValue {
    JsFuture::from(p).await.unwrap()
}

fn get(v: &JsValue, k: &str) -> JsValue {
    Reflect::get(v, &k.into()).unwrap()
}

fn num(v: &JsValue, k: &str) -> f64 {
    get(v, k).as_f64().unwrap_or(-1.0)
}

async fn track_some(t: &TailorCore, n: usize) {
    for i in 0..n {
        let props = config(&format!(r#"{{"path":"/{i}"}}"#));
        wait(t.track("page_view".into(), props)).await;
    }
}

#[wasm_bindgen_test]
async fn without_an_endpoint_nothing_is_sent_and_events_stay() {
    let site = unique_site();
    let t = init(format!(r#"{{"site":"{site}","consent":"granted"}}"#)).await;
    track_some(&t, 3).await;
    let r = wait(t.flush()).await;
    assert_eq!((num(&r, "sent"), num(&r, "failed"), num(&r, "pending")), (0.0, 0.0, 3.0));
    assert_eq!(get(&r, "sender"), JsValue::FALSE);
    let rr = wait(t.refresh_ruleset()).await;
    assert!(get(&rr, "error").as_string().unwrap().contains("no endpoint"));
}

#[wasm_bindgen_test]
async fn an_unreachable_server_is_a_counted_failure_and_keeps_every_event() {
    let site = unique_site();
    let t = init(format!(r#"{{"site":"{site}","consent":"granted","endpoint":"{NOWHERE}"}}"#)).await;
    track_some(&t, 4).await;
    let r = wait(t.flush()).await;
    assert_eq!((num(&r, "sent"), num(&r, "failed"), num(&r, "pending")), (0.0, 1.0, 4.0));
    assert_eq!(get(&r, "sender"), JsValue::TRUE);
    assert!(num(&t.sync_stats(), "failed") >= 1.0);
}

#[wasm_bindgen_test]
async fn nothing_is_sent_while_consent_is_pending() {
    let site = unique_site();
    let t = init(format!(r#"{{"site":"{site}","endpoint":"{NOWHERE}"}}"#)).await;
    track_some(&t, 2).await;
    let r = wait(t.flush()).await;
    assert_eq!((num(&r, "failed"), num(&r, "pending")), (0.0, 2.0));
}

#[wasm_bindgen_test]
async fn a_ruleset_needs_a_pinned_key_and_the_last_good_one_stays() {
    let site = unique_site();
    let inline = r#"{"version":1,"placements":{},"offers":[]}"#;
    let t = init(format!(r#"{{"site":"{site}","consent":"granted","endpoint":"{NOWHERE}","ruleset":{inline}}}"#)).await;
    let r = wait(t.refresh_ruleset()).await;
    assert!(get(&r, "error").as_string().unwrap().contains("publicKey is not set"));
    assert_eq!(num(&r, "version"), 0.0, "the inline ruleset stays");
    let key = "A".repeat(43) + "=";
    let t = init(format!(
        r#"{{"site":"{site}","consent":"granted","endpoint":"{NOWHERE}","publicKey":"{key}","ruleset":{inline}}}"#
    ))
    .await;
    let r = wait(t.refresh_ruleset()).await;
    assert!(get(&r, "error").as_string().unwrap().contains("did not answer"), "{:?}", get(&r, "error"));
    assert_eq!(num(&r, "version"), 0.0);
}

/// An envelope of version 7 signed with the key of `new_signer`.
async fn signed_envelope(site: &str, expires_at: f64) -> String {
    use tailor::engine::json::Value;
    let mut env = tailor::engine::wire::RulesetEnvelope {
        site: site.to_string(),
        version: 7,
        issued_at: js_sys::Date::now() as i64 - 1000,
        expires_at: expires_at as i64,
        key_id: "k1".to_string(),
        ruleset: Value::parse(r#"{"version":1,"placements":{},"offers":[]}"#).unwrap(),
        signature: String::new(),
    };
    env.signature = wait(sign(&env.signing_payload())).await.as_string().unwrap();
    env.to_value().to_json()
}

#[wasm_bindgen_test]
async fn the_cached_ruleset_is_used_at_once_unless_it_expired() {
    let key = wait(new_signer()).await.as_string().unwrap();
    let site = unique_site();
    ls_set(&format!("tailor:{site}:ruleset"), &signed_envelope(&site, js_sys::Date::now() + 60_000.0).await);
    let t = init(format!(r#"{{"site":"{site}","consent":"granted","publicKey":"{key}"}}"#)).await;
    assert_eq!(num(&t.status(), "rulesetVersion"), 7.0);

    // Verified again before use: without the pinned key, or with a signature that does not
    // match, the cached envelope is refused.
    let site = unique_site();
    ls_set(&format!("tailor:{site}:ruleset"), &signed_envelope(&site, js_sys::Date::now() + 60_000.0).await);
    let t = init(format!(r#"{{"site":"{site}","consent":"granted"}}"#)).await;
    assert!(get(&t.status(), "rulesetVersion").is_null());
    let site = unique_site();
    ls_set(&format!("tailor:{site}:ruleset"), &envelope(&site, 7.0, js_sys::Date::now() + 60_000.0));
    let t = init(format!(r#"{{"site":"{site}","consent":"granted","publicKey":"{key}"}}"#)).await;
    assert!(get(&t.status(), "rulesetVersion").is_null());

    let site = unique_site();
    ls_set(&format!("tailor:{site}:ruleset"), &signed_envelope(&site, js_sys::Date::now() - 1.0).await);
    let t = init(format!(r#"{{"site":"{site}","consent":"granted","publicKey":"{key}"}}"#)).await;
    assert!(get(&t.status(), "rulesetVersion").is_null());

    // Without consent nothing is read from (or written to) the device.
    let site = unique_site();
    ls_set(&format!("tailor:{site}:ruleset"), &envelope(&site, 7.0, js_sys::Date::now() + 60_000.0));
    let t = init(format!(r#"{{"site":"{site}"}}"#)).await;
    assert!(get(&t.status(), "rulesetVersion").is_null());
}

#[wasm_bindgen_test]
async fn forget_queues_the_erasure_until_the_server_answers() {
    let site = unique_site();
    let t = init(format!(r#"{{"site":"{site}","consent":"granted","endpoint":"{NOWHERE}"}}"#)).await;
    let old = get(&t.status(), "anonymousId").as_string().unwrap();
    wait(t.forget()).await;
    let queued = ls_get(&format!("tailor:{site}:erase")).unwrap_or_default();
    assert_eq!(queued, format!(r#"["{old}"]"#));
    assert_ne!(get(&t.status(), "anonymousId").as_string().unwrap(), old);
}
