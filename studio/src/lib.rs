//! Tailor Studio's module: what the Studio asks of the engine, in the merchandiser's browser.
//!
//! - [`preview`]: pure Rust over the engine, tested natively: validating a ruleset document
//!   with the engine's path-precise messages, and deciding for a profile, a page context, a
//!   clock time and forced variations exactly as the shopper's SDK does, with the engine's
//!   reasons.
//! - `bind` (wasm32 only): the `#[wasm_bindgen]` boundary, glue only. The UI (`studio/ui/`)
//!   is JavaScript drawn in a closed Shadow DOM; it calls this module for every answer that
//!   must be the engine's.

pub mod preview;

#[cfg(target_arch = "wasm32")]
mod bind;
