//! The visual editor's leaf parts (issue 12), which studio/ui/editor.js calls.
//!
//! - [`rules`]: pure, tested natively: what a page change may contain (settable attributes,
//!   the HTML allowlist, the URL, link, CSS, selector, attribute and style rules, the limits).
//! - `bind` (wasm32 only): their `#[wasm_bindgen]` exports, with the selector check that asks
//!   the page whether it can read a selector.

pub mod rules;

#[cfg(target_arch = "wasm32")]
mod bind;
