//! The Studio module's JavaScript boundary: one class, `StudioEngine`, whose methods answer
//! with plain values (serde-wasm-bindgen) or a real `Error`. Glue only: the answers come
//! from [`crate::preview`]. No call here can panic (`Result` everywhere, no unwrap), so a
//! bad document never takes the module down for the rest of the page.

use js_sys::{Error, RegExp};
use tailor::engine::regex::{Pattern, RegexCompiler};
use wasm_bindgen::prelude::*;

use crate::preview::{self, Problem, Shopper};

/// JavaScript's `RegExp`, as the shopper's SDK uses for `$regex`: the same answers.
struct JsRegex;

struct JsPattern(RegExp);

impl Pattern for JsPattern {
    fn is_match(&self, haystack: &str) -> bool {
        self.0.test(haystack)
    }
}

#[wasm_bindgen(
    inline_js = "export function make(p, f) { try { return new RegExp(p, f); } catch (e) { return null; } }"
)]
extern "C" {
    fn make(pattern: &str, flags: &str) -> JsValue;
}

// The engine's float parsing, formatting and lower-casing are the browser's in a Wasm build
// (`engine::json::platform`): the Studio installs them as the SDK does, so its numbers and
// messages are the SDK's. js-sys has each of them: `+text` (Number(text)), Number's
// toString(10) (String(n)) and String's toLowerCase.
#[wasm_bindgen(start)]
pub fn start() {
    tailor::engine::json::platform::install(
        |text| JsValue::from_str(text).unchecked_into_f64(),
        |n, out| {
            if let Ok(s) = js_sys::Number::from(n).to_string_with_radix(10) {
                out.push_str(&String::from(s));
            }
        },
        |s| String::from(js_sys::JsString::from(s).to_lower_case()),
    );
}

impl RegexCompiler for JsRegex {
    fn compile(&self, pattern: &str, case_insensitive: bool) -> Option<Box<dyn Pattern>> {
        let re = make(pattern, if case_insensitive { "i" } else { "" });
        re.dyn_into::<RegExp>().ok().map(|r| Box::new(JsPattern(r)) as Box<dyn Pattern>)
    }
}

fn problems_error(what: &str, problems: &[Problem]) -> JsValue {
    let text: Vec<String> = problems
        .iter()
        .map(|p| if p.path.is_empty() { p.message.clone() } else { format!("{}: {}", p.path, p.message) })
        .collect();
    let e = Error::new(&format!("{what}: {}", text.join("; ")));
    if let Ok(list) = serde_wasm_bindgen::to_value(problems) {
        let _ = js_sys::Reflect::set(&e, &"problems".into(), &list);
    }
    e.into()
}

/// Forced variations from a JS object `{ experimentKey: variationIndex }`.
fn forced(value: JsValue) -> Result<Vec<(String, usize)>, JsValue> {
    if value.is_undefined() || value.is_null() {
        return Ok(Vec::new());
    }
    let map: std::collections::BTreeMap<String, f64> = serde_wasm_bindgen::from_value(value).map_err(|e| {
        JsValue::from(js_sys::TypeError::new(&format!(
            "StudioEngine.decide: forced must be {{experimentKey: variationIndex}}: {e}"
        )))
    })?;
    let mut out = Vec::new();
    for (k, v) in map {
        if !(v >= 0.0 && v.fract() == 0.0 && v < 1e6) {
            return Err(js_sys::RangeError::new(&format!(
                "StudioEngine.decide: forced.{k}: expected a variation index (0, 1, ...), got {v}"
            ))
            .into());
        }
        out.push((k, v as usize));
    }
    Ok(out)
}

/// What the browser reports about the page, as the SDK reads it.
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawPage {
    url: Option<String>,
    referrer: Option<String>,
    language: Option<String>,
    time_zone: Option<String>,
    screen_width: Option<f64>,
    user_agent: Option<String>,
    tz_offset: Option<f64>,
}

/// The engine, for the Studio.
#[wasm_bindgen]
pub struct StudioEngine;

#[wasm_bindgen]
impl StudioEngine {
    #[wasm_bindgen(constructor)]
    pub fn new() -> StudioEngine {
        StudioEngine
    }

    /// The engine's problems with a ruleset (JSON text): `[{ path, message }]`, empty when
    /// the SDK would accept it.
    pub fn validate(&self, ruleset_json: &str) -> Result<JsValue, JsValue> {
        let problems = preview::validate(ruleset_json, &JsRegex);
        serde_wasm_bindgen::to_value(&problems).map_err(|e| Error::new(&e.to_string()).into())
    }

    /// The decision (JSON text, shaped as the SDK's `decide()`) for a ruleset (JSON text), a
    /// profile (the engine's Profile JSON, empty for a new shopper), a page context (JSON
    /// text), a time (ms) and forced variations. Throws an `Error` with `problems`.
    pub fn decide(
        &self,
        ruleset_json: &str,
        profile_json: &str,
        context_json: &str,
        now: f64,
        forced_variations: JsValue,
    ) -> Result<String, JsValue> {
        let shopper = Shopper { profile_json, context_json, now, forced: forced(forced_variations)? };
        preview::decide(ruleset_json, &shopper, &JsRegex).map_err(|p| problems_error("StudioEngine.decide", &p))
    }

    /// Whether a condition (JSON text) holds for the shopper. Throws an `Error` with
    /// `problems` (paths from `condition`) when the condition is not valid.
    pub fn matches(
        &self,
        condition_json: &str,
        profile_json: &str,
        context_json: &str,
        now: f64,
    ) -> Result<bool, JsValue> {
        let shopper = Shopper { profile_json, context_json, now, forced: Vec::new() };
        preview::matches(condition_json, &shopper, &JsRegex).map_err(|p| problems_error("StudioEngine.matches", &p))
    }

    /// The page context (JSON text) as the SDK captures it, from what the browser reports:
    /// `{ url, referrer, language, timeZone, screenWidth, userAgent, tzOffset }`.
    #[wasm_bindgen(js_name = pageContext)]
    pub fn page_context(&self, raw: JsValue, now: f64) -> Result<String, JsValue> {
        let raw: RawPage = serde_wasm_bindgen::from_value(raw)
            .map_err(|e| JsValue::from(js_sys::TypeError::new(&format!("StudioEngine.pageContext: {e}"))))?;
        let raw = tailor::engine::context::RawContext {
            url: raw.url,
            referrer: raw.referrer,
            language: raw.language,
            time_zone: raw.time_zone,
            screen_width: raw.screen_width,
            user_agent: raw.user_agent,
            tz_offset_minutes: raw.tz_offset,
        };
        Ok(tailor::engine::context::capture(&raw, now).to_json())
    }

    /// A persona's profile (the engine's Profile JSON) at `now`: what the persona did
    /// (`{ name, pageViews, categories, cartItems, cartValue, orders, orderValue, userId,
    /// traits }`, JSON text) replayed as events into a new profile.
    #[wasm_bindgen(js_name = personaProfile)]
    pub fn persona_profile(&self, persona_json: &str, now: f64) -> Result<String, JsValue> {
        preview::persona_profile(persona_json, now).map_err(|p| problems_error("StudioEngine.personaProfile", &p))
    }

    /// The engine's version (the SDK's).
    pub fn version(&self) -> String {
        tailor::VERSION.to_string()
    }
}

impl Default for StudioEngine {
    fn default() -> Self {
        StudioEngine
    }
}
