//! Tailor Studio's module: what the Studio asks of the engine, in the merchandiser's browser,
//! and the part of its UI written in Rust.
//!
//! - [`preview`]: pure Rust over the engine, tested natively: validating a ruleset document
//!   with the engine's path-precise messages, and deciding for a profile, a page context, a
//!   clock time and forced variations exactly as the shopper's SDK does, with the engine's
//!   reasons.
//! - [`editor`]: the visual editor's rules (pure, tested natively) and their exports
//!   (wasm32 only).
//! - [`text`]: pure Rust, tested natively: "in 29 min", the claims of a preview token and of
//!   a Studio token.
//! - [`setup`]: parts of the Test setup tab: where each problem is shown, a namespace's
//!   overlaps (both pure and tested natively; drawn on wasm32 only), whether this page and
//!   this shopper match.
//! - [`force`]: pure Rust on the engine's JSON value, tested natively: the copy of a ruleset in which a
//!   forced offer is the one its placement shows.
//! - `bind` (wasm32 only): the engine's `#[wasm_bindgen]` boundary, glue only.
//! - `dom` and `shell` (wasm32 only, web-sys): the element builder the panels draw with, and
//!   the `<tailor-studio>` element with its closed shadow root, the preview banner and the
//!   failure panel.
//! - `frame` (wasm32 only): the top bar, the refusal of a link, the tab bar and its arrow keys,
//!   and which tab is drawn.
//! - `inspect` (wasm32 only, gloo-render): the Inspect tab, the outlines over the page's changed
//!   elements (drawn in the next animation frame, cancelled when dropped), `forceOffers`.
//! - `listeners` (wasm32 only, gloo-events): the panel's narrow layout and Escape key, the
//!   page's scroll and resize for the outlines.
//! - `picker` (wasm32 only, gloo-events): the visual editor's element picker.
//! - `personas` (wasm32 only): the Shoppers tab (personas, the clock, what each one gets).
//! - `publish` (wasm32 only): the Drafts & publish tab (drafts, preview links, versions).
//! - `results` (wasm32 only): the Results tab and the results box beside the Test setup.
//! - `server` (wasm32 only, web-sys fetch): the Studio's calls to the server, each with the
//!   Studio token, refusals as `ServerError`s with the server's message; the token's claims.
//! - `timers` (wasm32 only, gloo-timers): the Test setup's debounce and the single-page-app
//!   route watch. The rest of the UI (`studio/ui/`) is still JavaScript: the Studio object's
//!   state, deciding and applying (studio.js), the Test setup and the visual editor.

pub mod editor;
pub mod force;
pub mod preview;
pub mod setup;
pub mod text;

#[cfg(target_arch = "wasm32")]
mod bind;
#[cfg(target_arch = "wasm32")]
mod dom;
#[cfg(target_arch = "wasm32")]
mod frame;
#[cfg(target_arch = "wasm32")]
mod inspect;
#[cfg(target_arch = "wasm32")]
mod listeners;
#[cfg(target_arch = "wasm32")]
mod personas;
#[cfg(target_arch = "wasm32")]
mod picker;
#[cfg(target_arch = "wasm32")]
mod publish;
#[cfg(target_arch = "wasm32")]
mod results;
#[cfg(target_arch = "wasm32")]
mod server;
#[cfg(target_arch = "wasm32")]
mod shell;
#[cfg(target_arch = "wasm32")]
mod timers;
