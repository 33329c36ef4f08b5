//! The Studio's element builder, for its panels: `h(tag, attrs, children)` and
//! `fill(node, children)`. Text always goes in as a text node (never as HTML), so nothing from
//! a ruleset, a server answer or the page can inject markup into the Studio.

use js_sys::{Array, Function, Object, Reflect};
use wasm_bindgen::prelude::*;
use web_sys::{Document, Element, Node};

pub(crate) fn document() -> Result<Document, JsValue> {
    web_sys::window()
        .and_then(|w| w.document())
        .ok_or_else(|| js_sys::Error::new("Tailor Studio: this page has no document").into())
}

/// `String(v)` for what the panels hand in: strings, numbers, booleans, null, undefined.
pub(crate) fn text_of(v: &JsValue) -> String {
    if let Some(s) = v.as_string() {
        s
    } else if v.is_undefined() {
        "undefined".into()
    } else if v.is_null() {
        "null".into()
    } else {
        String::from(v.unchecked_ref::<Object>().to_string())
    }
}

/// An element: `attrs` is `{ class: "x", on: { click }, disabled: true, value, ... }`;
/// attributes whose value is `false`, `null` or `undefined` are left out, `true` is an empty
/// attribute, `value` is the control's property. `children` are nodes, text, or arrays of
/// them; `null`, `undefined` and `false` are skipped.
#[wasm_bindgen(js_name = buildElement)]
pub fn h(tag: &str, attrs: &JsValue, children: &Array) -> Result<Element, JsValue> {
    let el = document()?.create_element(tag)?;
    if attrs.is_object() {
        for entry in Object::entries(attrs.unchecked_ref()).iter() {
            let entry: Array = entry.unchecked_into();
            let key = entry.get(0).as_string().unwrap_or_default();
            let value = entry.get(1);
            if value.is_undefined() || value.is_null() || value == JsValue::FALSE {
                continue;
            }
            match key.as_str() {
                "on" => listen(&el, tag, &value)?,
                "value" => {
                    Reflect::set(&el, &"value".into(), &value)?;
                }
                _ => el.set_attribute(&key, &if value == JsValue::TRUE { String::new() } else { text_of(&value) })?,
            }
        }
    }
    append(&el, children)?;
    Ok(el)
}

/// The `on` attribute: `{ type: handler }`, each handler a function the element keeps.
fn listen(el: &Element, tag: &str, on: &JsValue) -> Result<(), JsValue> {
    if !on.is_object() {
        return Err(js_sys::TypeError::new(&format!("h(\"{tag}\"): `on` must be {{ eventType: function }}")).into());
    }
    for entry in Object::entries(on.unchecked_ref()).iter() {
        let entry: Array = entry.unchecked_into();
        let kind = entry.get(0).as_string().unwrap_or_default();
        let handler = entry.get(1).dyn_into::<Function>().map_err(|_| {
            JsValue::from(js_sys::TypeError::new(&format!("h(\"{tag}\"): on.{kind} must be a function")))
        })?;
        el.add_event_listener_with_callback(&kind, &handler)?;
    }
    Ok(())
}

fn append(parent: &Node, children: &Array) -> Result<(), JsValue> {
    for child in children.iter() {
        if child.is_undefined() || child.is_null() || child == JsValue::FALSE {
            continue;
        }
        if Array::is_array(&child) {
            append(parent, child.unchecked_ref())?;
        } else if let Some(node) = child.dyn_ref::<Node>() {
            parent.append_child(node)?;
        } else {
            parent.append_child(&document()?.create_text_node(&text_of(&child)))?;
        }
    }
    Ok(())
}

/// Replaces the children of `node` (an element or a shadow root) with `children`.
#[wasm_bindgen(js_name = fillElement)]
pub fn fill(node: &Node, children: &Array) -> Result<Node, JsValue> {
    node.set_text_content(None);
    append(node, children)?;
    Ok(node.clone())
}

/// A date and time in the merchandiser's locale, e.g. "7 Dec 2026, 09:30"; "unknown" when
/// `ms` is not a time.
#[wasm_bindgen]
pub fn when(ms: f64) -> String {
    if !ms.is_finite() {
        return "unknown".into();
    }
    let options = Object::new();
    for (k, v) in
        [("day", "numeric"), ("month", "short"), ("year", "numeric"), ("hour", "2-digit"), ("minute", "2-digit")]
    {
        let _ = Reflect::set(&options, &k.into(), &v.into());
    }
    let format = js_sys::Intl::DateTimeFormat::new(&Array::new(), &options).format();
    format
        .call1(&JsValue::UNDEFINED, &js_sys::Date::new(&ms.into()))
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default()
}

/// "in 29 min", "in 3 h", "expired 2 min ago" (from now, or from `now` when given).
#[wasm_bindgen(js_name = fromNow)]
pub fn from_now(ms: f64, now: Option<f64>) -> String {
    crate::text::from_now(ms, now.unwrap_or_else(js_sys::Date::now))
}

/// `v[key]`, `undefined` when it cannot be read.
pub(crate) fn get(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

/// `{ key: value, ... }`.
pub(crate) fn obj(pairs: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in pairs {
        let _ = Reflect::set(&o, &(*k).into(), v);
    }
    o.into()
}

/// [`h`] from Rust: an element, or `null` when the browser refuses to make it.
pub(crate) fn el(tag: &str, pairs: &[(&str, JsValue)], children: &[JsValue]) -> JsValue {
    h(tag, &obj(pairs), &children.iter().collect::<Array>()).map(JsValue::from).unwrap_or(JsValue::NULL)
}

/// [`fill`] from Rust.
pub(crate) fn put(node: &Node, children: &[JsValue]) {
    let _ = fill(node, &children.iter().collect::<Array>());
}

/// An error's `message`, or the error itself as text.
pub(crate) fn message(e: &JsValue) -> String {
    let m = get(e, "message");
    text_of(if m.is_undefined() { e } else { &m })
}

/// `v` when it is an array, else an empty one (never `Array.from`, which throws).
pub(crate) fn array(v: &JsValue) -> Array {
    if Array::is_array(v) {
        v.clone().unchecked_into()
    } else {
        Array::new()
    }
}

/// A handler for a panel kept in `cell` (the one on screen): `{ eventType: handler }` for
/// [`h`]. The handler holds no element, so a panel drawn anew is freed with its elements; it
/// is `Fn`, not `FnMut`, because removing a focused field while drawing may fire its event
/// again inside the call, as it did in JavaScript; and it runs with a clone of the panel, so a
/// handler that draws the panel anew finds the cell free.
pub(crate) fn on_panel<P: Clone + 'static>(
    cell: &'static std::thread::LocalKey<std::cell::RefCell<Option<P>>>,
    kind: &str,
    f: impl Fn(&P, &web_sys::Event) + 'static,
) -> JsValue {
    let handler: Function = Closure::<dyn Fn(web_sys::Event)>::new(move |e: web_sys::Event| {
        let panel = cell.with(|p| p.borrow().clone());
        if let Some(panel) = panel {
            f(&panel, &e);
        }
    })
    .into_js_value()
    .unchecked_into();
    obj(&[(kind, handler.into())])
}

// Small helpers the panels share (the frame, Inspect).

pub(crate) fn t(s: impl AsRef<str>) -> JsValue {
    JsValue::from_str(s.as_ref())
}

pub(crate) fn set(v: &JsValue, key: &str, value: &JsValue) {
    let _ = Reflect::set(v, &key.into(), value);
}

/// Calls `studio.<name>(...args)`; a missing method is a TypeError.
pub(crate) fn call(studio: &JsValue, name: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
    let f = get(studio, name).dyn_into::<Function>().map_err(|_| {
        JsValue::from(js_sys::TypeError::new(&format!("Tailor Studio: studio.{name} is not a function")))
    })?;
    f.apply(studio, &args.iter().collect())
}

/// Calls `studio.<name>(...args)` from a handler: a failure goes to the console.
pub(crate) fn call_or_log(studio: &JsValue, name: &str, args: &[JsValue]) {
    if let Err(e) = call(studio, name, args) {
        web_sys::console::error_2(&t(format!("Tailor Studio: {name}() failed:")), &e);
    }
}

/// `{ eventType: handler }` for the element builder.
pub(crate) fn on(kind: &str, f: impl Fn(web_sys::Event) + 'static) -> JsValue {
    let handler = Closure::<dyn Fn(web_sys::Event)>::new(f).into_js_value();
    obj(&[(kind, handler)])
}
