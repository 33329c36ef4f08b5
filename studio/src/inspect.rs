//! The Inspect tab: the experiments on this page with the engine's variation and reason (a
//! variation can be forced; hovering or focusing a row outlines what it changes), the offers
//! by placement (shown and skipped, with reasons; an offer can be forced), the experiments
//! off this page, and the shopper the Studio decides for. Also the outlines over the page's
//! changed elements, drawn now or in the next animation frame, and `forceOffers`.
//!
//! `studio` is the JavaScript Studio object, read with `Reflect`; the selects call its
//! `force(key, index)` and `forceOffer(id, offerId)`.

use std::cell::RefCell;

use gloo_render::AnimationFrame;
use js_sys::{Array, Object, JSON};
use tailor::engine::json::{Map, Value};
use wasm_bindgen::prelude::*;
use web_sys::{Element, Event, HtmlElement};

use crate::dom::{array, document, el, get, message, obj, put, text_of, when};
use crate::dom::{call, call_or_log, on, set, t};

thread_local! {
    /// The outlines asked for the next animation frame: a new request replaces (and cancels)
    /// the one pending.
    static FRAME: RefCell<Option<AnimationFrame>> = const { RefCell::new(None) };
}

fn off_page(x: &JsValue) -> bool {
    text_of(&get(x, "reason")).contains("not on this page")
}

/// Draws the Inspect tab in `studio.body`.
#[wasm_bindgen(js_name = inspectPanel)]
pub fn inspect(studio: JsValue) -> Result<(), JsValue> {
    let body = get(&studio, "body")
        .dyn_into::<Element>()
        .map_err(|_| JsValue::from(js_sys::Error::new("Tailor Studio: the tab's body is not drawn yet")))?;
    let d = get(&studio, "decision");
    let s = call(&studio, "shopper", &[])?;
    let status = page_status(&get(&studio, "host"));
    let mut parts = Vec::new();
    let alert = |text: JsValue| el("p", &[("class", t("error")), ("role", t("alert"))], &[text]);
    let problems = get(&get(&studio, "problems"), "length");
    if problems.is_truthy() {
        parts.push(alert(t(format!("The working ruleset has {} problem(s): see Test setup.", text_of(&problems)))));
    }
    let decide_error = get(&studio, "decideError");
    if decide_error.is_truthy() {
        parts.push(alert(decide_error));
    }
    let apply_error = get(&studio, "applyError");
    if apply_error.is_truthy() {
        parts.push(alert(t(format!("The page’s SDK could not apply the changes: {}", text_of(&apply_error)))));
    }
    let exps = array(&get(&d, "experiments"));
    let (off, on_page): (Vec<JsValue>, Vec<JsValue>) = exps.iter().partition(off_page);
    parts.push(el("h2", &[], &[t(format!("Experiments on this page ({})", on_page.len()))]));
    if on_page.is_empty() {
        parts.push(el("p", &[("class", t("muted"))], &[t("No experiment targets this page.")]));
    }
    for x in &on_page {
        parts.push(experiment_row(&studio, x));
    }
    let placements = get(&d, "placements");
    let placements = if placements.is_truthy() { Object::entries(placements.unchecked_ref()) } else { Array::new() };
    parts.push(el("h2", &[], &[t("Offers by placement")]));
    if placements.length() == 0 {
        parts.push(el("p", &[("class", t("muted"))], &[t("This ruleset has no placements.")]));
    }
    for entry in placements.iter() {
        let entry: Array = entry.unchecked_into();
        parts.push(placement_row(&studio, &text_of(&entry.get(0)), &entry.get(1)));
    }
    if !off.is_empty() {
        parts.push(el("h2", &[], &[t(format!("Other experiments ({})", off.len()))]));
        for x in &off {
            parts.push(el(
                "div",
                &[("class", t("row"))],
                &[el("strong", &[], &[get(x, "key")]), el("div", &[("class", t("reason"))], &[get(x, "reason")])],
            ));
        }
    }
    parts.push(el("h2", &[], &[t("Shopper")]));
    parts.push(el("table", &[], &[el("tbody", &[], &shopper_rows(&studio, &s, &status))]));
    put(&body, &parts);
    Ok(())
}

/// The page's `status`: its instance answers `status()` (the Tailor class) or has it as a
/// value (the wrapper); `{}` when it has none or reading it fails.
fn page_status(host: &JsValue) -> JsValue {
    let tailor = get(host, "tailor");
    let status = get(&tailor, "status");
    let status = match status.dyn_ref::<js_sys::Function>() {
        Some(f) => f.call0(&tailor).unwrap_or(JsValue::NULL),
        None => status,
    };
    if status.is_truthy() {
        status
    } else {
        obj(&[])
    }
}

/// `v`, or `fallback` when `v` is null or undefined (`??`).
fn or(v: JsValue, fallback: &str) -> JsValue {
    if v.is_null() || v.is_undefined() {
        t(fallback)
    } else {
        v
    }
}

/// A row of the shopper's table: `key` and `String(value)`.
fn tr(key: &str, value: &JsValue) -> JsValue {
    el("tr", &[], &[el("th", &[], &[t(key)]), el("td", &[], &[t(text_of(value))])])
}

fn shopper_rows(studio: &JsValue, s: &JsValue, status: &JsValue) -> Vec<JsValue> {
    let sending = get(status, "sending");
    let sending = if sending.is_undefined() {
        "unknown"
    } else if sending.is_truthy() {
        "on"
    } else {
        "off"
    };
    let version = get(status, "rulesetVersion");
    let version = if version.as_f64() == Some(0.0) { t("the Studio’s working copy") } else { or(version, "none") };
    let path = get(&get(s, "context"), "path");
    let path = if path.is_null() || path.is_undefined() {
        t(web_sys::window().and_then(|w| w.location().pathname().ok()).unwrap_or_default())
    } else {
        path
    };
    let now = call(studio, "now", &[]).ok().and_then(|n| n.as_f64()).unwrap_or(f64::NAN);
    let moved = if get(studio, "clockOffset").is_truthy() { " (moved)" } else { "" };
    vec![
        tr("decided for", &get(s, "source")),
        tr("consent", &or(get(status, "consent"), "unknown")),
        tr("sending", &t(sending)),
        tr("page’s ruleset", &version),
        tr("page URL", &path),
        tr("clock", &t(format!("{}{moved}", when(now)))),
    ]
}

/// A placement's row: the offers shown and skipped with the engine's reasons, and a select to
/// force one of the working ruleset's offers for it (whatever its audience, window or caps).
fn placement_row(studio: &JsValue, id: &str, p: &JsValue) -> JsValue {
    let forced = get(p, "forced");
    let offers: Vec<JsValue> = array(&get(&get(studio, "doc"), "offers"))
        .iter()
        .filter(|o| array(&get(o, "placements")).iter().any(|x| x.as_string().as_deref() == Some(id)))
        .collect();
    let change = {
        let (studio, id) = (studio.clone(), id.to_owned());
        on("change", move |e: Event| call_or_log(&studio, "forceOffer", &[t(&id), target_value(&e)]))
    };
    let mut options = vec![el("option", &[("value", t(""))], &[t("as the engine decides")])];
    for o in &offers {
        let id = get(o, "id");
        options.push(el("option", &[("value", id.clone()), ("selected", JsValue::from_bool(forced == id))], &[id]));
    }
    let select = el(
        "select",
        &[
            ("aria-label", t(format!("offer shown in {id}"))),
            ("data-test", t(format!("force-offer-{id}"))),
            ("on", change),
        ],
        &options,
    );
    let is_forced = forced.is_truthy();
    let engine = if is_forced { get(p, "natural") } else { p.clone() };
    let mut children = vec![el("strong", &[], &[t(id)])];
    if is_forced {
        children.push(el(
            "div",
            &[("data-test", t(format!("forced-offer-{id}")))],
            &[
                el("span", &[("class", t("yes"))], &[t("shown: ")]),
                forced,
                el("div", &[("class", t("reason"))], &[t("Forced in the Studio: only you see it, and nothing is counted. The page’s Tailor answers this offer for this placement and tells the page (its “ruleset” event), so a page that draws its placements on that event shows it.")]),
                el("div", &[("class", t("muted"))], &[t("The engine’s own choice:")]),
            ],
        ));
    }
    let line = |o: JsValue, class: &str, label: &str| {
        el(
            "div",
            &[],
            &[
                el("span", &[("class", t(class))], &[t(label)]),
                get(&o, "offerId"),
                el("div", &[("class", t("reason"))], &[get(&o, "reason")]),
            ],
        )
    };
    let shown = if is_forced { "would show: " } else { "shown: " };
    children.extend(array(&get(&engine, "offers")).iter().map(|o| line(o, "yes", shown)));
    children.extend(array(&get(&engine, "skipped")).iter().map(|o| line(o, "no", "skipped: ")));
    if !offers.is_empty() {
        children.push(el("label", &[], &[t("Show offer"), select]));
    }
    el("div", &[("class", t("row")), ("data-test", t(format!("placement-{id}")))], &children)
}

/// The value of the select the event is for.
fn target_value(e: &Event) -> JsValue {
    e.target().map(|x| get(&x, "value")).unwrap_or(JsValue::UNDEFINED)
}

/// An experiment's row: its variation and the engine's reason, what it changes on this page,
/// a select to force a variation; hovering or focusing it outlines its elements.
fn experiment_row(studio: &JsValue, x: &JsValue) -> JsValue {
    let key = get(x, "key");
    let def = array(&get(&get(studio, "doc"), "experiments")).iter().find(|e| get(e, "key") == key);
    let forced = get(&get(studio, "forced"), &text_of(&key));
    let change = {
        let (studio, key) = (studio.clone(), key.clone());
        on("change", move |e: Event| call_or_log(&studio, "force", &[key.clone(), target_value(&e)]))
    };
    let mut options = vec![el("option", &[("value", t(""))], &[t("as the engine decides")])];
    let variations = def.map(|d| array(&get(&d, "variations"))).unwrap_or_default();
    for (i, v) in variations.iter().enumerate() {
        options.push(el(
            "option",
            &[("value", t(i.to_string())), ("selected", JsValue::from_bool(forced.as_f64() == Some(i as f64)))],
            &[t(format!("{i}: {}", text_of(&get(&v, "key"))))],
        ));
    }
    let select = el(
        "select",
        &[
            ("aria-label", t(format!("variation of {}", text_of(&key)))),
            ("data-test", t(format!("force-{}", text_of(&key)))),
            ("on", change),
        ],
        &options,
    );
    let redirect = get(x, "redirect");
    let changed = if redirect.is_truthy() {
        el(
            "div",
            &[("class", t("muted")), ("data-test", t(format!("redirect-{}", text_of(&key))))],
            &[t(format!(
                "This variation sends shoppers to {}; the Studio stays on this page (open that page to see it).",
                text_of(&get(&redirect, "url"))
            ))],
        )
    } else {
        el("div", &[("class", t("muted"))], &[t(format!("{} element(s) changed on this page", elements_of(x).len()))])
    };
    let variation = format!("variation {} ({})", text_of(&get(x, "variation")), text_of(&get(x, "variationKey")));
    let hot = |lit: bool| {
        let (studio, key) = (studio.clone(), key.clone());
        Closure::<dyn Fn()>::new(move || {
            set(&studio, "hot", &if lit { key.clone() } else { JsValue::NULL });
            draw_outlines(studio.clone());
        })
        .into_js_value()
    };
    let listeners =
        obj(&[("mouseenter", hot(true)), ("mouseleave", hot(false)), ("focusin", hot(true)), ("focusout", hot(false))]);
    el(
        "div",
        &[("class", t("row")), ("data-test", t(format!("exp-{}", text_of(&key)))), ("on", listeners)],
        &[
            el("strong", &[], std::slice::from_ref(&key)),
            t(" "),
            el("span", &[("class", t(if get(x, "inExperiment").is_truthy() { "yes" } else { "no" }))], &[t(variation)]),
            el("div", &[("class", t("reason"))], &[get(x, "reason")]),
            changed,
            el("label", &[], &[t("Show variation"), select]),
        ],
    )
}

/// The elements of this page an experiment's chosen variation changes: for each change, those
/// of its first selector (of a list) that finds any.
fn elements_of(x: &JsValue) -> Vec<Element> {
    let Ok(doc) = document() else { return Vec::new() };
    let mut out = Vec::new();
    for change in array(&get(x, "changes")).iter() {
        let selector = get(&change, "selector");
        let selectors = if Array::is_array(&selector) { array(&selector) } else { Array::of1(&selector) };
        for sel in selectors.iter() {
            // A selector the browser cannot read finds nothing: the validator says so.
            let Ok(found) = doc.query_selector_all(&text_of(&sel)) else { continue };
            if found.length() > 0 {
                out.extend(
                    (0..found.length()).filter_map(|i| found.item(i)).filter_map(|n| n.dyn_into::<Element>().ok()),
                );
                break;
            }
        }
    }
    out
}

/// Outlines over the elements the decided experiments change (`studio.hot`'s highlighted),
/// in `studio.layer`.
#[wasm_bindgen(js_name = drawOutlines)]
pub fn draw_outlines(studio: JsValue) {
    let Ok(layer) = get(&studio, "layer").dyn_into::<Element>() else { return };
    let hot = get(&studio, "hot");
    let mut boxes = Vec::new();
    for x in array(&get(&get(&studio, "decision"), "experiments")).iter() {
        let class =
            if !hot.is_null() && !hot.is_undefined() && hot == get(&x, "key") { "outline hot" } else { "outline" };
        for element in elements_of(&x) {
            let r = element.get_bounding_client_rect();
            if r.width() == 0.0 && r.height() == 0.0 {
                continue;
            }
            let outline = el("div", &[("class", t(class))], &[]);
            if let Some(style) = outline.dyn_ref::<HtmlElement>().map(HtmlElement::style) {
                for (k, v) in [
                    ("left", r.left() - 3.0),
                    ("top", r.top() - 3.0),
                    ("width", r.width() + 6.0),
                    ("height", r.height() + 6.0),
                ] {
                    let _ = style.set_property(k, &format!("{v}px"));
                }
            }
            boxes.push(outline);
        }
    }
    put(&layer, &boxes);
}

/// Draws the outlines in the next animation frame (after the page's SDK changed the page);
/// asking again before it comes replaces the request.
#[wasm_bindgen(js_name = scheduleOutlines)]
pub fn schedule_outlines(studio: JsValue) {
    let frame = gloo_render::request_animation_frame(move |_| draw_outlines(studio));
    FRAME.with(|f| *f.borrow_mut() = Some(frame));
}

/// Cancels the outlines asked for the next animation frame (the Studio is closing).
#[wasm_bindgen(js_name = cancelOutlines)]
pub fn cancel_outlines() {
    FRAME.with(|f| f.borrow_mut().take());
}

/// `forceOffers(doc, forcedOffers)`: see [`crate::force::force_offers`]; a document that is
/// not JSON is a TypeError.
#[wasm_bindgen(js_name = forceOffers)]
pub fn force_offers(doc: JsValue, forced: JsValue) -> Result<JsValue, JsValue> {
    let parse = |v: &JsValue, what: &str| -> Result<Value, JsValue> {
        let text = JSON::stringify(v).ok().and_then(|s| s.as_string()).unwrap_or_default();
        Value::parse(&text)
            .map_err(|e| js_sys::TypeError::new(&format!("Tailor Studio: the {what} is not JSON: {e}")).into())
    };
    let doc = parse(&doc, "ruleset")?;
    let forced = match parse(&forced, "forced offers")? {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    JSON::parse(&crate::force::force_offers(&doc, &forced).to_json())
        .map_err(|e| js_sys::TypeError::new(&message(&e)).into())
}
