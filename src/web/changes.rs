//! Page changes: the binding to `changes.js` (the DOM applier) and the hooks it calls back
//! with. The engine decides which variation's changes a page shows; this only carries the
//! decision to the applier and records the exposures it reports.

use std::cell::Cell;

use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;

use super::state::Shared;
use crate::engine::json::{Map, Value};

#[wasm_bindgen(module = "/src/web/changes.js")]
extern "C" {
    /// One applier per `TailorCore` (see changes.js for the hooks it is given).
    pub type Pages;
    #[wasm_bindgen(constructor)]
    fn new(hooks: &Object) -> Pages;
    /// Applies a decision; answers with the keys of the experiments on the page.
    #[wasm_bindgen(method)]
    pub fn run(this: &Pages, decision: &JsValue) -> JsValue;
    /// Decides again (a new ruleset may be in use) and applies, in a microtask.
    #[wasm_bindgen(method)]
    pub fn poke(this: &Pages);
    /// Decides for the current URL and applies.
    #[wasm_bindgen(method)]
    pub fn refresh(this: &Pages, force: bool);
    /// Reverts every change and stops observing the page.
    #[wasm_bindgen(method)]
    pub fn stop(this: &Pages);
}

/// Whether this is a page with a document (not a worker).
fn has_document() -> bool {
    Reflect::has(&js_sys::global(), &"document".into()).unwrap_or(false)
}

/// Makes the applier of `shared` (once) and returns it.
pub fn pages(shared: &Shared, nonce_option: Option<String>, auto: bool) -> Option<Pages> {
    if let Some(p) = &shared.borrow().pages {
        return Some(p.clone().unchecked_into());
    }
    if !has_document() {
        return None;
    }
    let hooks = Object::new();
    let set = |k: &str, v: &JsValue| {
        let _ = Reflect::set(&hooks, &k.into(), v);
    };
    // decide(force): the decision for this URL; null when the ruleset is the one already
    // applied and nothing forces a new decision (a status change that is not a ruleset).
    let s = shared.clone();
    let last = Cell::new(0usize);
    let decide = Closure::<dyn Fn(bool) -> JsValue>::new(move |force: bool| {
        let ptr = s.borrow().ruleset.as_ref().map_or(0, |r| std::rc::Rc::as_ptr(r) as usize);
        if ptr == 0 || (!force && ptr == last.get()) {
            return JsValue::NULL;
        }
        last.set(ptr);
        super::api::decide_for_pages(&s)
    });
    set("decide", &decide.into_js_value());
    let s = shared.clone();
    let expose = Closure::<dyn Fn(String, f64) -> js_sys::Promise>::new(move |key: String, variation: f64| {
        let bucket = s
            .borrow()
            .ruleset
            .as_ref()
            .and_then(|r| r.experiments.iter().find(|x| x.key == key).map(|x| x.bucket_version));
        let mut props = Map::new();
        props.insert("experimentKey", Value::from(key.as_str()));
        props.insert("variation", Value::Number(variation));
        if let Some(b) = bucket {
            props.insert("bucketVersion", Value::Number(b as f64));
        }
        super::burst::track(&s, Ok(("experiment_exposure".into(), Value::Object(props))))
    });
    set("expose", &expose.into_js_value());
    let s = shared.clone();
    let report = Closure::<dyn Fn(String)>::new(move |text: String| s.borrow_mut().report(text));
    set("report", &report.into_js_value());
    let (site, store) = {
        let st = shared.borrow();
        (st.config.site.clone(), st.storing_allowed() && st.recording())
    };
    set("site", &site.into());
    set("auto", &auto.into());
    set("store", &store.into());
    set("nonce", &nonce_option.map_or(JsValue::NULL, JsValue::from));
    let p = Pages::new(&hooks);
    shared.borrow_mut().pages = Some(p.clone().unchecked_into());
    Some(p)
}

/// Tells the applier that the state changed (it decides again when the ruleset did).
pub fn poke(p: &JsValue) {
    p.unchecked_ref::<Pages>().poke();
}

/// `config.pageChanges` and `config.nonce`, taken out of the config before the engine
/// validates the rest.
pub fn take_options(config: &mut Value) -> Result<(bool, Option<String>), String> {
    let Some(m) = config.as_object_mut() else {
        return Ok((true, None));
    };
    let auto = match m.remove("pageChanges") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => b,
        Some(_) => return Err("Tailor.init: config.pageChanges must be true or false".into()),
    };
    let nonce = match m.remove("nonce") {
        None | Some(Value::Null) => None,
        Some(Value::String(n)) => Some(n),
        Some(_) => return Err("Tailor.init: config.nonce must be a string".into()),
    };
    Ok((auto, nonce))
}
