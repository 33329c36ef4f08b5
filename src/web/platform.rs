//! Clock, randomness and JSON conversion, from the browser.

use js_sys::{JsString, JSON};
use wasm_bindgen::prelude::*;

use crate::engine::json::Value;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = Date, js_name = now)]
    fn date_now() -> f64;
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues, catch)]
    fn get_random_values(buf: &mut [u8]) -> Result<(), JsValue>;
    #[wasm_bindgen(js_namespace = Math, js_name = random)]
    fn math_random() -> f64;
    #[wasm_bindgen(js_name = Number)]
    fn js_number(text: &str) -> f64;
    #[wasm_bindgen(js_name = String)]
    fn js_string(n: f64) -> String;
    #[wasm_bindgen(js_namespace = ["String", "prototype", "toLowerCase"], js_name = call)]
    fn js_lower(s: &str) -> String;
}

/// Runs when the module is instantiated: the engine reads and writes floats and lower-cases
/// text with JavaScript's own routines (same answers as Rust's, and no float code or
/// Unicode case tables in the module).
/// Also called by `TailorCore::init`, for hosts that do not run start functions.
#[wasm_bindgen(start)]
pub fn start() {
    crate::engine::json::platform::install(js_number, |n, out| out.push_str(&js_string(n)), js_lower);
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> f64 {
    date_now()
}

/// Random bytes from `crypto.getRandomValues`, or `Math.random` where it is missing.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    if get_random_values(&mut buf).is_err() {
        for b in buf.iter_mut() {
            *b = (math_random() * 256.0) as u8;
        }
    }
    buf
}

/// Converts a JavaScript value to the engine's JSON with the browser's own serialiser.
/// `undefined` becomes `None`; values JSON cannot hold (cycles, BigInt) are an error.
pub fn to_value(v: &JsValue) -> Result<Option<Value>, String> {
    if v.is_undefined() {
        return Ok(None);
    }
    let text: JsString =
        JSON::stringify(v).map_err(|_| "cannot be converted to JSON (a cycle or a BigInt?)".to_string())?;
    let text: String = text.into();
    Value::parse(&text).map(Some).map_err(|e| e.to_string())
}

/// Converts engine JSON to a plain JavaScript value.
pub fn from_value(v: &Value) -> JsValue {
    JSON::parse(&v.to_json()).unwrap_or(JsValue::NULL)
}
