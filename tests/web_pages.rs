//! Browser tests of page changes (issue 11): the applier (src/web/changes.js) on real DOM
//! in headless Chromium, and the runtime's automatic page experiments. The cases are in
//! tests/web_pages.js; every wait there is bounded and every case stops what it started.
#![cfg(target_arch = "wasm32")]

use js_sys::{Error, Promise, Reflect, JSON};
use tailor::web::TailorCore;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(module = "/src/web/changes.js")]
extern "C" {
    type Pages;
    #[wasm_bindgen(constructor)]
    fn new(hooks: &JsValue) -> Pages;
}

#[wasm_bindgen(module = "/tests/web_pages.js")]
extern "C" {
    #[wasm_bindgen(js_name = setFactory)]
    fn set_factory(f: &JsValue);
    #[wasm_bindgen(js_name = everyAction)]
    fn every_action() -> Promise;
    #[wasm_bindgen(js_name = fallbacksAndFingerprint)]
    fn fallbacks_and_fingerprint() -> Promise;
    #[wasm_bindgen(js_name = noMatchIsReportedNotGuessed)]
    fn no_match_is_reported_not_guessed() -> Promise;
    #[wasm_bindgen(js_name = rerenderIsReappliedWithinBudget)]
    fn rerender_is_reapplied_within_budget() -> Promise;
    #[wasm_bindgen(js_name = singlePageNavigation)]
    fn single_page_navigation() -> Promise;
    #[wasm_bindgen(js_name = exposuresOncePerPageViewOnlyWhenApplied)]
    fn exposures_once_per_page_view_only_when_applied() -> Promise;
    #[wasm_bindgen(js_name = redirectNeverLoops)]
    fn redirect_never_loops() -> Promise;
    #[wasm_bindgen(js_name = nonceOnPageCss)]
    fn nonce_on_page_css() -> Promise;
    #[wasm_bindgen(js_name = hideListForTheNextVisit)]
    fn hide_list_for_the_next_visit() -> Promise;
}

#[wasm_bindgen(inline_js = r#"
export function uniqueSite() { return "t" + Math.random().toString(36).slice(2, 10); }
export function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }
export function setBody(html) {
  let fx = document.getElementById("fx");
  if (!fx) { fx = document.createElement("div"); fx.id = "fx"; document.body.append(fx); }
  fx.innerHTML = html;
}
export function text(sel) { const e = document.querySelector(sel); return e ? e.textContent : null; }
"#)]
extern "C" {
    #[wasm_bindgen(js_name = uniqueSite)]
    fn unique_site() -> String;
    fn sleep(ms: u32) -> Promise;
    #[wasm_bindgen(js_name = setBody)]
    fn set_body(html: &str);
    fn text(sel: &str) -> Option<String>;
}

fn factory() {
    thread_local!(static SET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
    if SET.with(|s| s.replace(true)) {
        return;
    }
    let f = Closure::<dyn Fn(JsValue) -> JsValue>::new(|hooks: JsValue| JsValue::from(Pages::new(&hooks)));
    set_factory(&f.into_js_value());
}

async fn case(p: Promise) -> String {
    match JsFuture::from(p).await {
        Ok(v) => v.as_string().unwrap_or_default(),
        Err(e) => {
            panic!("{}", e.dyn_ref::<Error>().map(|e| String::from(e.message())).unwrap_or_else(|| format!("{e:?}")))
        }
    }
}

#[wasm_bindgen_test]
async fn every_action_applies_and_stop_restores_the_page() {
    factory();
    assert_eq!(case(every_action()).await, "ok");
}

#[wasm_bindgen_test]
async fn fallback_selectors_and_fingerprint() {
    factory();
    assert_eq!(case(fallbacks_and_fingerprint()).await, "ok");
}

#[wasm_bindgen_test]
async fn a_selector_matching_nothing_is_reported_not_guessed() {
    factory();
    assert_eq!(case(no_match_is_reported_not_guessed()).await, "ok");
}

#[wasm_bindgen_test]
async fn a_rerender_is_reapplied_and_a_fight_stops_at_the_budget() {
    factory();
    assert_eq!(case(rerender_is_reapplied_within_budget()).await, "ok");
}

#[wasm_bindgen_test]
async fn single_page_navigation_applies_and_reverts() {
    factory();
    assert_eq!(case(single_page_navigation()).await, "ok");
}

#[wasm_bindgen_test]
async fn exposures_once_per_page_view_and_only_when_applied() {
    factory();
    assert_eq!(case(exposures_once_per_page_view_only_when_applied()).await, "ok");
}

#[wasm_bindgen_test]
async fn redirects_keep_the_query_expose_once_and_never_loop() {
    factory();
    assert_eq!(case(redirect_never_loops()).await, "ok");
}

#[wasm_bindgen_test]
async fn page_css_carries_the_nonce() {
    factory();
    assert_eq!(case(nonce_on_page_css()).await, "ok");
}

#[wasm_bindgen_test]
async fn the_hide_list_names_only_the_changed_elements() {
    factory();
    assert_eq!(case(hide_list_for_the_next_visit()).await, "ok");
}

// --- through the runtime ---------------------------------------------------------------

fn json(text: &str) -> JsValue {
    JSON::parse(text).expect("test JSON")
}

fn exposures(t: &TailorCore) -> f64 {
    let p = t.profile();
    Reflect::get(&p, &"events".into())
        .and_then(|e| Reflect::get(&e, &"experiment_exposure".into()))
        .and_then(|e| Reflect::get(&e, &"count".into()))
        .ok()
        .and_then(|c| c.as_f64())
        .unwrap_or(0.0)
}

async fn wait_exposures(t: &TailorCore, n: f64) {
    for _ in 0..200 {
        if exposures(t) >= n {
            return;
        }
        JsFuture::from(sleep(5)).await.unwrap();
    }
    panic!("timed out waiting for {n} exposures (have {})", exposures(t));
}

#[wasm_bindgen_test]
async fn the_runtime_records_a_page_exposure_once_when_the_change_is_applied() {
    set_body(r#"<h1 id="rt">Control</h1>"#);
    let site = unique_site();
    let t = TailorCore::init(json(&format!(
        r#"{{"site": "{site}", "consent": "granted", "storage": "memory", "pageChanges": false}}"#
    )))
    .await
    .expect("init with pageChanges");
    let d = json(
        r##"{"experiments": [{"key": "rt", "variation": 1, "inExperiment": true,
             "changes": [{"selector": "#rt", "action": "text", "value": "Treatment"}]},
             {"key": "missing", "variation": 1, "inExperiment": true,
             "changes": [{"selector": "#none", "action": "text", "value": "x"}]}],
             "pageExposures": [{"type": "experiment_exposure", "experimentKey": "rt", "variation": 1},
             {"type": "experiment_exposure", "experimentKey": "missing", "variation": 1}]}"##,
    );
    let keys = t.apply_changes(d.clone());
    assert_eq!(JSON::stringify(&keys).unwrap().as_string().unwrap(), r#"["rt","missing"]"#);
    assert_eq!(text("#rt").as_deref(), Some("Treatment"));
    t.apply_changes(d);
    wait_exposures(&t, 1.0).await;
    JsFuture::from(sleep(30)).await.unwrap();
    assert_eq!(exposures(&t), 1.0, "once, and not for the missing element");
    t.revert_changes();
    assert_eq!(text("#rt").as_deref(), Some("Control"));
}

#[wasm_bindgen_test]
async fn page_changes_options_are_checked() {
    let site = unique_site();
    let e =
        TailorCore::init(json(&format!(r#"{{"site": "{site}", "pageChanges": "yes"}}"#))).await.err().expect("refused");
    assert!(e.is_instance_of::<js_sys::TypeError>());
    let e = TailorCore::init(json(&format!(r#"{{"site": "{site}", "nonce": 5}}"#))).await.err().expect("refused");
    assert!(e.is_instance_of::<js_sys::TypeError>());
}

#[wasm_bindgen_test]
async fn a_ruleset_experiment_targeting_this_page_is_applied_at_init() {
    set_body(r#"<h2 id="auto">Control</h2>"#);
    let site = unique_site();
    let ruleset = r##"{"version": 1, "placements": {}, "experiments": [{"key": "auto-x",
        "urlPatterns": [{"type": "regex", "pattern": "."}], "weights": [0, 1],
        "variations": [{"key": "control"}, {"key": "b",
        "changes": [{"selector": "#auto", "action": "text", "value": "Automatic"}]}]}]}"##;
    let t = TailorCore::init(json(&format!(
        r#"{{"site": "{site}", "consent": "granted", "storage": "memory", "ruleset": {ruleset}}}"#
    )))
    .await
    .expect("init");
    assert_eq!(text("#auto").as_deref(), Some("Automatic"), "applied before init resolved");
    wait_exposures(&t, 1.0).await;
    t.revert_changes();
    assert_eq!(text("#auto").as_deref(), Some("Control"));
}
