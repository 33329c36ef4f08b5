//! The Studio's own listeners (gloo-events: a listener is removed when it is dropped): the
//! panel's layout for a narrow screen, the panel's Escape key, and the page's scroll and
//! resize that move the outlines over the page. The Studio object keeps each `Listeners` and
//! frees it when it is destroyed.

use gloo_events::{EventListener, EventListenerOptions, EventListenerPhase};
use js_sys::Function;
use wasm_bindgen::prelude::*;
use web_sys::{Element, KeyboardEvent, Node};

/// Some of the Studio's listeners; `free()` (or dropping it) removes them all.
#[wasm_bindgen]
pub struct Listeners {
    _on: Vec<EventListener>,
}

fn call(f: &Function, what: &str) {
    if let Err(e) = f.call0(&JsValue::UNDEFINED) {
        web_sys::console::error_2(&JsValue::from_str(what), &e);
    }
}

fn window() -> Result<web_sys::Window, JsValue> {
    web_sys::window().ok_or_else(|| js_sys::Error::new("Tailor Studio: this page has no window").into())
}

#[wasm_bindgen]
impl Listeners {
    /// The panel's: its class `narrow` while the screen is at most 600 px wide (set now and on
    /// every change), and Escape pressed in it, except in a `<select>` (whose own list it
    /// closes), calls `on_escape`.
    pub fn panel(panel: Element, on_escape: Function) -> Result<Listeners, JsValue> {
        let narrow = window()?
            .match_media("(max-width: 600px)")?
            .ok_or_else(|| js_sys::Error::new("Tailor Studio: matchMedia answered nothing"))?;
        panel.class_list().toggle_with_force("narrow", narrow.matches())?;
        let layout = {
            let (panel, query) = (panel.clone(), narrow.clone());
            EventListener::new(&narrow, "change", move |_| {
                let _ = panel.class_list().toggle_with_force("narrow", query.matches());
            })
        };
        let keys = EventListener::new_with_options(
            &panel,
            "keydown",
            EventListenerOptions { phase: EventListenerPhase::Bubble, passive: false },
            move |e| {
                let Some(key) = e.dyn_ref::<KeyboardEvent>() else { return };
                // The panel is the element listened on: the handler holds no element.
                let target = e.target().and_then(|t| t.dyn_into::<Element>().ok());
                let inside = match (e.current_target().and_then(|c| c.dyn_into::<Node>().ok()), &target) {
                    (Some(panel), Some(t)) => panel.contains(Some(t)),
                    _ => false,
                };
                if key.key() == "Escape" && inside && target.is_some_and(|t| t.tag_name() != "SELECT") {
                    call(&on_escape, "Tailor Studio: closing the panel failed:");
                }
            },
        );
        Ok(Listeners { _on: vec![layout, keys] })
    }

    /// The page's: every scroll (of the page or of any element in it, in the capture phase,
    /// passive) and every resize of the window calls `redraw`.
    pub fn outlines(redraw: Function) -> Result<Listeners, JsValue> {
        let window = window()?;
        let scroll = {
            let redraw = redraw.clone();
            EventListener::new_with_options(
                &window,
                "scroll",
                EventListenerOptions { phase: EventListenerPhase::Capture, passive: true },
                move |_| call(&redraw, "Tailor Studio: drawing the outlines failed:"),
            )
        };
        let resize = EventListener::new(&window, "resize", move |_| {
            call(&redraw, "Tailor Studio: drawing the outlines failed:");
        });
        Ok(Listeners { _on: vec![scroll, resize] })
    }
}
