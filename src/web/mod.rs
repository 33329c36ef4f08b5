//! The browser runtime: the `#[wasm_bindgen]` API over the engine, storage, clock and
//! randomness. Glue only: what can be decided without a browser lives in `crate::engine`.
//!
//! Nothing here may panic: a panic in Wasm traps, and the page's JavaScript wrapper then
//! switches the SDK to its fail-open defaults for the rest of the page.

mod alloc;
mod api;
mod burst;
mod changes;
mod error;
mod page;
mod platform;
mod state;
mod storage;
mod sync;
mod sync_identity;
mod sync_rules;
mod tabs;

pub use api::{version, TailorCore};
pub use platform::start;
