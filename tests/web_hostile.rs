//! Hostile rulesets in real headless Chromium (wasm-bindgen-test; run by scripts/test.sh):
//! the offer URL rule on the whole corpus of tests/vectors/urls.json, and the cost of
//! `$regex` through the browser's own `RegExp` with the input-length cap.
#![cfg(target_arch = "wasm32")]

use js_sys::{Array, JSON};
use tailor::engine::regex::MAX_REGEX_INPUT;
use tailor::web::TailorCore;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
export function uniqueSite() { return "h" + Math.random().toString(36).slice(2, 10); }
export function nowMs() { return performance.now(); }
"#)]
extern "C" {
    #[wasm_bindgen(js_name = uniqueSite)]
    fn unique_site() -> String;
    #[wasm_bindgen(js_name = nowMs)]
    fn now_ms() -> f64;
}

fn json(text: &str) -> JsValue {
    JSON::parse(text).expect("test JSON")
}

fn get(v: &JsValue, path: &str) -> JsValue {
    path.split('.').fold(v.clone(), |v, k| js_sys::Reflect::get(&v, &k.into()).unwrap_or(JsValue::UNDEFINED))
}

fn quoted(s: &str) -> String {
    JSON::stringify(&JsValue::from_str(s)).map(String::from).unwrap_or_default()
}

async fn core() -> TailorCore {
    TailorCore::init(json(&format!(r#"{{"site": "{}"}}"#, unique_site()))).await.expect("init")
}

fn offer_ruleset(content: &str, condition: &str) -> JsValue {
    json(&format!(
        r#"{{"version":1,"placements":{{"hero":{{}}}},
            "offers":[{{"id":"o","placements":["hero"],"content":{content},"condition":{condition}}}]}}"#
    ))
}

fn shown(decision: &JsValue) -> u32 {
    Array::from(&get(decision, "placements.hero.offers")).length()
}

#[wasm_bindgen_test]
async fn url_corpus_is_refused_in_the_browser_and_safe_urls_reach_the_page() {
    let corpus = json(include_str!("vectors/urls.json"));
    let t = core().await;
    let hostile = Array::from(&get(&corpus, "hostile"));
    assert!(hostile.length() >= 30);
    for h in hostile.iter() {
        let url = get(&h, "url").as_string().unwrap();
        for field in ["url", "image"] {
            let doc = offer_ruleset(&format!(r#"{{"title":"T","{field}":{}}}"#, quoted(&url)), "{}");
            let err = t.set_ruleset(doc).expect_err(&url);
            let msg = String::from(js_sys::Error::from(err).message());
            assert!(msg.contains(&format!("offers[0].content.{field}: URL")) && msg.contains("is refused"), "{msg}");
        }
    }
    let safe = Array::from(&get(&corpus, "safe"));
    for s in safe.iter() {
        let url = get(&s, "url").as_string().unwrap();
        t.set_ruleset(offer_ruleset(&format!(r#"{{"title":"T","url":{}}}"#, quoted(&url)), "{}")).expect(&url);
        let d = t.decide(json("{}"), false, true, None, JsValue::UNDEFINED).unwrap();
        assert_eq!(get(&d, "placements.hero.offers.0.content.url").as_string().as_deref(), Some(url.as_str()));
    }
    console_log!(
        "chromium: {} hostile URLs refused (url and image), {} safe URLs shown",
        hostile.length(),
        safe.length()
    );
}

/// Milliseconds per decide() whose offer condition runs `pattern` on `url` as `context.url`.
fn time_decide(t: &TailorCore, pattern: &str, url: &str, runs: u32) -> (f64, u32) {
    let cond = format!(r#"{{"context.url":{{"$regex":{}}}}}"#, quoted(pattern));
    t.set_ruleset(offer_ruleset(r#"{"title":"T"}"#, &cond)).expect("ruleset");
    let context = json(&format!(r#"{{"url":{}}}"#, quoted(url)));
    let start = now_ms();
    let mut n = 0;
    for _ in 0..runs {
        n += shown(&t.decide(context.clone(), false, true, None, JsValue::UNDEFINED).unwrap());
    }
    ((now_ms() - start) / runs as f64, n)
}

#[wasm_bindgen_test]
async fn regex_cost_in_chromium_with_the_input_cap() {
    let t = core().await;
    // An accepted shape that costs V8 O(n²) (one `.*`, unanchored) on the worst input
    // within the cap; shapes of higher degree are refused by the validator.
    let worst = "a".repeat(MAX_REGEX_INPUT);
    let (ms, n) = time_decide(&t, ".*x$", &worst, 3);
    assert_eq!(n, 0);
    console_log!("chromium: .*x$ on {} chars: {ms:.2} ms per decide", worst.len());
    assert!(ms < 2000.0, "{ms} ms");

    // A pattern the validator rejects ((a+)+$), as if a ruleset skipped publish: V8's time
    // doubles with each character (exponential); over the cap it is never run at all.
    let mut figures = String::new();
    for n in [16, 20, 24] {
        let (ms, shown) = time_decide(&t, "^(a+)+$", &format!("{}!", "a".repeat(n)), 1);
        assert_eq!(shown, 0);
        figures.push_str(&format!(" {} chars: {ms:.1} ms;", n + 1));
    }
    let over = format!("{}!", "a".repeat(MAX_REGEX_INPUT));
    let (ms_over, n) = time_decide(&t, "^(a+)+$", &over, 10);
    assert_eq!(n, 0);
    console_log!(
        "chromium: ^(a+)+$ (refused by the validator):{figures} {} chars (over the cap): {ms_over:.3} ms",
        over.len()
    );
    assert!(ms_over < 50.0, "{ms_over} ms");

    // Within the cap an ordinary pattern matches; one byte over, it does not.
    let at_cap = "a".repeat(MAX_REGEX_INPUT);
    assert_eq!(time_decide(&t, "a$", &at_cap, 1).1, 1);
    assert_eq!(time_decide(&t, "a$", &format!("{at_cap}a"), 1).1, 0);
    // An invalid pattern is false, not an exception.
    assert_eq!(time_decide(&t, "(", "((", 1).1, 0);
}
