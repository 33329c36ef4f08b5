//! Tailor: a personalisation SDK for online shops.
//!
//! - [`engine`]: pure Rust, no browser dependencies. Events, profile, conditions, hashing,
//!   rulesets, decisions, outbox policy and wire types. Built and tested natively, and shared
//!   by the browser runtime, the reference server and the CLI.
//! - `web` (wasm32 only, cargo feature `web`, on by default): the browser runtime and the
//!   `#[wasm_bindgen]` API. Glue only. The Studio builds without it.

pub mod engine;

#[cfg(all(target_arch = "wasm32", feature = "web"))]
pub mod web;

/// The SDK version, as reported by `Tailor.version` and the server's health endpoint.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
