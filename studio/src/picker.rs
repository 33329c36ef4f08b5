//! Picking an element on the live page without the page noticing (the visual editor's
//! "Pick an element"). While picking, listeners in the capture phase of the page's window
//! (gloo-events, not passive) take every pointer, mouse, touch, click and submit event before
//! the page's own handlers (`preventDefault` + `stopImmediatePropagation`), highlight what is
//! under the pointer, and pick on click or tap. The keyboard works too: arrows walk the page's
//! tree, Enter picks, Escape cancels. Events that reach the Studio's own shadow host (its
//! panel) pass untouched. Stopping drops the listeners, which removes them.

use std::cell::RefCell;
use std::rc::Rc;

use gloo_events::{EventListener, EventListenerOptions, EventListenerPhase};
use js_sys::{Function, Reflect};
use wasm_bindgen::prelude::*;
use web_sys::{
    Document, Element, Event, KeyboardEvent, Node, ScrollIntoViewOptions, ScrollLogicalPosition, TouchEvent,
};

/// What the page must not hear while picking.
const BLOCKED: &[&str] = &[
    "pointerdown",
    "pointerup",
    "pointerover",
    "pointerout",
    "pointerenter",
    "pointerleave",
    "pointercancel",
    "pointermove",
    "mousedown",
    "mouseup",
    "mouseover",
    "mouseout",
    "mouseenter",
    "mouseleave",
    "mousemove",
    "click",
    "dblclick",
    "auxclick",
    "contextmenu",
    "touchstart",
    "touchmove",
    "touchend",
    "submit",
    "dragstart",
];

/// The next element from `el` for an arrow key (`ArrowUp`: the parent, never `<html>` nor
/// `<head>`; `ArrowDown`: the first child; `ArrowLeft`/`ArrowRight`: the siblings), if any.
#[wasm_bindgen]
pub fn step(el: &Element, key: &str, doc: &Document) -> Option<Element> {
    match key {
        "ArrowUp" => el.parent_element().filter(|p| {
            Some(p) != doc.document_element().as_ref()
                && Some(p.unchecked_ref::<Node>()) != doc.head().as_ref().map(|h| h.unchecked_ref::<Node>())
        }),
        "ArrowDown" => el.first_element_child(),
        "ArrowLeft" => el.previous_element_sibling(),
        "ArrowRight" => el.next_element_sibling(),
        _ => None,
    }
}

struct Picking {
    doc: Document,
    host: Option<Element>,
    highlight: Function,
    done: Function,
    typing: Option<Function>,
    hovered: Option<Element>,
    /// Empty once stopped.
    listeners: Vec<EventListener>,
}

type Shared = Rc<RefCell<Picking>>;

/// A picking in progress: `stop()` ends it without a pick.
#[wasm_bindgen]
pub struct Picker {
    state: Shared,
}

#[wasm_bindgen]
impl Picker {
    /// Stops picking (nothing is picked; `done` is not called). Idempotent.
    pub fn stop(&self) {
        stop(&self.state);
    }
}

fn get(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

fn call(f: &Function, arg: &JsValue) {
    if let Err(e) = f.call1(&JsValue::UNDEFINED, arg) {
        web_sys::console::error_2(&"Tailor Studio: the element picker's callback failed:".into(), &e);
    }
}

/// Drops the listeners (removing them) and hides the hover box.
fn stop(state: &Shared) {
    let (listeners, highlight) = {
        let mut s = state.borrow_mut();
        if s.listeners.is_empty() {
            return;
        }
        (std::mem::take(&mut s.listeners), s.highlight.clone())
    };
    drop(listeners);
    call(&highlight, &JsValue::NULL);
}

fn finish(state: &Shared, el: Option<Element>) {
    stop(state);
    let done = state.borrow().done.clone();
    call(&done, &el.map_or(JsValue::NULL, JsValue::from));
}

fn hover(state: &Shared, el: Element) {
    let highlight = {
        let mut s = state.borrow_mut();
        s.hovered = Some(el.clone());
        s.highlight.clone()
    };
    call(&highlight, &el);
}

/// Whether the event is the Studio's own (its shadow host, where its panel's events arrive).
fn ours(state: &Picking, e: &Event) -> bool {
    let (Some(host), Some(target)) = (&state.host, e.target()) else { return false };
    let target: &JsValue = target.as_ref();
    target == AsRef::<JsValue>::as_ref(host) || target.dyn_ref::<Node>().is_some_and(|n| host.contains(Some(n)))
}

/// The page element the event is for: the first of its composed path, else its target.
fn page_element(e: &Event) -> Option<Element> {
    let first = e.composed_path().get(0);
    first.dyn_into::<Element>().ok().or_else(|| e.target().and_then(|t| t.dyn_into::<Element>().ok()))
}

fn block(state: &Shared, e: &Event) {
    if ours(&state.borrow(), e) {
        return;
    }
    e.prevent_default();
    e.stop_immediate_propagation();
    match e.type_().as_str() {
        "mouseover" | "pointermove" | "mousemove" => {
            if let Some(el) = page_element(e) {
                if state.borrow().hovered.as_ref() != Some(&el) {
                    hover(state, el);
                }
            }
        }
        "click" => {
            let el = page_element(e).or_else(|| state.borrow().hovered.clone());
            finish(state, el);
        }
        "touchend" => {
            // A tap: with touchstart cancelled the browser makes no click, so the tap picks.
            let Some(touch) = e.dyn_ref::<TouchEvent>().and_then(|t| t.changed_touches().get(0)) else { return };
            let (doc, host) = {
                let s = state.borrow();
                (s.doc.clone(), s.host.clone())
            };
            if let Some(el) = doc.element_from_point(touch.client_x() as f32, touch.client_y() as f32) {
                if Some(&el) != host.as_ref() {
                    finish(state, Some(el));
                }
            }
        }
        _ => {}
    }
}

fn key(state: &Shared, e: &Event) {
    let Some(k) = e.dyn_ref::<KeyboardEvent>().map(KeyboardEvent::key) else { return };
    if k == "Escape" {
        e.prevent_default();
        e.stop_immediate_propagation();
        return finish(state, None);
    }
    let (mine, typing) = {
        let s = state.borrow();
        (ours(&s, e), s.typing.clone())
    };
    if mine {
        if let Some(typing) = typing {
            // Typing in the Studio's panel: its keys are the field's.
            if typing.call0(&JsValue::UNDEFINED).is_ok_and(|v| v.is_truthy()) {
                return;
            }
        }
    }
    let hovered = state.borrow().hovered.clone();
    if k == "Enter" {
        if let Some(el) = hovered {
            e.prevent_default();
            e.stop_immediate_propagation();
            finish(state, Some(el));
        }
        return;
    }
    if !k.starts_with("Arrow") {
        return;
    }
    e.prevent_default();
    e.stop_immediate_propagation();
    let doc = state.borrow().doc.clone();
    let next = match hovered {
        Some(el) => step(&el, &k, &doc),
        None => doc.query_selector("main").ok().flatten().or_else(|| doc.body().and_then(|b| b.first_element_child())),
    };
    if let Some(next) = next {
        hover(state, next.clone());
        let options = ScrollIntoViewOptions::new();
        options.set_block(ScrollLogicalPosition::Nearest);
        next.scroll_into_view_with_scroll_into_view_options(&options);
    }
}

/// Starts picking: `{ doc, host, highlight(el | null), done(el | null), start, typing() }`.
/// `host`: the Studio's shadow host (its events pass). `highlight` draws the hover box (null
/// hides it). `done` is called with the picked element, or with null when picking was
/// cancelled (Escape). `start`: the element hovered first. `typing()`: is the focus in one of
/// the Studio's text fields (then its keys are the field's)?
#[wasm_bindgen(js_name = startPicking)]
pub fn start_picking(options: &JsValue) -> Result<Picker, JsValue> {
    let doc: Document = get(options, "doc")
        .dyn_into()
        .map_err(|_| js_sys::TypeError::new("startPicking: `doc` must be the page's document"))?;
    let window =
        doc.default_view().ok_or_else(|| js_sys::TypeError::new("startPicking: the document has no window"))?;
    let function = |name: &str| -> Result<Function, JsValue> {
        get(options, name)
            .dyn_into::<Function>()
            .map_err(|_| js_sys::TypeError::new(&format!("startPicking: `{name}` must be a function")).into())
    };
    let (highlight, done) = (function("highlight")?, function("done")?);
    let typing = get(options, "typing").dyn_into::<Function>().ok();
    let host = get(options, "host").dyn_into::<Element>().ok();
    let start = get(options, "start").dyn_into::<Element>().ok();
    let state: Shared = Rc::new(RefCell::new(Picking {
        doc,
        host,
        highlight,
        done,
        typing,
        hovered: start.clone(),
        listeners: Vec::new(),
    }));
    let capture = EventListenerOptions { phase: EventListenerPhase::Capture, passive: false };
    let mut listeners: Vec<EventListener> = BLOCKED
        .iter()
        .map(|kind| {
            let state = state.clone();
            EventListener::new_with_options(&window, *kind, capture, move |e| block(&state, e))
        })
        .collect();
    listeners.push({
        let state = state.clone();
        EventListener::new_with_options(&window, "keydown", capture, move |e| key(&state, e))
    });
    state.borrow_mut().listeners = listeners;
    if let Some(el) = start {
        let highlight = state.borrow().highlight.clone();
        call(&highlight, &el);
    }
    Ok(Picker { state })
}
