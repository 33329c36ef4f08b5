//! The XSS corpora through every page change type (issue 11), in a page of its own: the
//! clicks it makes (cancelled through the Navigation API) must not disturb other tests.
#![cfg(target_arch = "wasm32")]

use js_sys::{Error, Promise, Reflect, JSON};
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
    #[wasm_bindgen(js_name = xssCorpus)]
    fn xss_corpus(corpus: &JsValue) -> Promise;
    #[wasm_bindgen(js_name = xssProbeWorks)]
    fn xss_probe_works() -> Promise;
}

fn factory() {
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
async fn the_xss_probe_counts_a_payload_that_runs() {
    factory();
    assert_eq!(case(xss_probe_works()).await, "ok");
}

#[wasm_bindgen_test]
async fn xss_corpus_through_every_change_type_runs_nothing() {
    factory();
    // The engine's corpus (87 payloads, calling alert) and the browser's own (70, calling __xss).
    let payloads = js_sys::Array::new();
    for text in [include_str!("vectors/xss.json"), include_str!("vectors/xss-browser.json")] {
        let corpus = JSON::parse(text).expect("an XSS corpus");
        let list = Reflect::get(&corpus, &"payloads".into()).expect("payloads");
        for p in js_sys::Array::from(&list).iter() {
            if p.is_string() {
                payloads.push(&p);
            }
        }
    }
    let n = js_sys::Array::from(&payloads).length();
    assert!(n >= 150, "the corpora have {n} payloads");
    let out = case(xss_corpus(&payloads)).await;
    assert!(out.starts_with("ok"), "{out}");
}
