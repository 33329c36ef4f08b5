//! The Studio's timers, with gloo-timers (a `Timeout` or an `Interval` is cancelled when it
//! is dropped, never by an id kept by hand):
//!
//! - [`Debounce`]: the Test setup's text fields take an edit after 300 ms without typing,
//!   so typing is not interrupted by a redraw. The "does this shopper match" and "this page
//!   matches" lines are drawn again by the same call.
//! - [`RouteWatch`]: a single-page app changes its URL without a load; the Studio decides
//!   again for the new route.

use std::cell::RefCell;
use std::rc::Rc;

use gloo_timers::callback::{Interval, Timeout};
use js_sys::Function;
use wasm_bindgen::prelude::*;

/// Runs the last function it was given once `ms` have passed without another.
#[wasm_bindgen]
pub struct Debounce {
    ms: u32,
    /// The pending call. Its own callback holds this slot too, so a pending edit is taken
    /// even when the panel that made the debounce was drawn again (and this handle freed).
    pending: Rc<RefCell<Option<Timeout>>>,
}

#[wasm_bindgen]
impl Debounce {
    #[wasm_bindgen(constructor)]
    pub fn new(ms: u32) -> Debounce {
        Debounce { ms, pending: Rc::default() }
    }

    /// Calls `f` after `ms` without another `run`; the call waiting before is dropped
    /// (cancelled). An exception thrown by `f` is reported on the console.
    pub fn run(&self, f: Function) {
        let slot = self.pending.clone();
        let timeout = Timeout::new(self.ms, move || {
            // Taken out first, so the slot no longer holds this callback once it has run.
            let this = slot.borrow_mut().take();
            if let Err(e) = f.call0(&JsValue::UNDEFINED) {
                web_sys::console::error_2(&"Tailor Studio: an edit could not be taken:".into(), &e);
            }
            drop(this);
        });
        // Replacing the pending call drops it, and dropping a Timeout cancels it.
        *self.pending.borrow_mut() = Some(timeout);
    }
}

/// Calls a function when the page's address changes without a load, checked every `ms`.
#[wasm_bindgen]
pub struct RouteWatch {
    _interval: Interval,
}

#[wasm_bindgen]
impl RouteWatch {
    /// Starts watching; `free()` (or dropping it) stops.
    #[wasm_bindgen(constructor)]
    pub fn new(ms: u32, changed: Function) -> RouteWatch {
        let href = |w: &web_sys::Window| w.location().href().unwrap_or_default();
        let window = web_sys::window();
        let mut last = window.as_ref().map(href).unwrap_or_default();
        let interval = Interval::new(ms, move || {
            let Some(now) = window.as_ref().map(href) else { return };
            if now == last {
                return;
            }
            last = now;
            if let Err(e) = changed.call0(&JsValue::UNDEFINED) {
                web_sys::console::error_2(&"Tailor Studio: deciding for the new route failed:".into(), &e);
            }
        });
        RouteWatch { _interval: interval }
    }
}
