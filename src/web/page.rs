//! Bindings to `page.js`: what the runtime reads from the page, and timers.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/src/web/page.js")]
extern "C" {
    /// `[url, referrer, language, timeZone, screenWidth, userAgent, tzOffset]`.
    #[wasm_bindgen(js_name = rawContext)]
    pub fn raw_context() -> js_sys::Array;
    /// Whether `navigator.globalPrivacyControl` is set.
    pub fn gpc() -> bool;
    /// The URL's `tailor_force` parameter, or "".
    #[wasm_bindgen(js_name = forceParam)]
    pub fn force_param() -> String;
    /// A `RegExp`, or null when the pattern is invalid.
    #[wasm_bindgen(js_name = makeRegExp)]
    pub fn make_regexp(source: &str, flags: &str) -> JsValue;
    #[wasm_bindgen(js_name = regexpTest)]
    pub fn regexp_test(re: &JsValue, s: &str) -> bool;
    /// Runs the function on a later task.
    pub fn later(f: js_sys::Function);
    /// Calls `f(arg)` in a microtask.
    pub fn soon(f: &js_sys::Function, arg: &str);
}
