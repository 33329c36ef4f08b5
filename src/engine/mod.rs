//! The engine: everything Tailor decides, validated and computed without a browser.
//!
//! Platform effects (clock, randomness, regular expressions, storage, network) come in as
//! parameters or small traits, so every result here is deterministic under test.

pub mod config;
pub mod json;

// Decisions: conditions, hashing, rulesets, experiments, offers.
pub mod condition;
pub mod decision;
pub mod experiment;
#[doc(hidden)]
pub mod fuzz;
pub mod hash;
pub mod js;
pub mod loader;
pub mod offer;
pub mod page;
pub mod reason;
pub mod regex;
pub mod ruleset;
pub mod sort;
pub mod url;
pub mod version;

// Touchpoints and the shopper's profile.
pub mod context;
pub mod event;
pub mod profile;
pub mod uuid;

// Sync: outbox policy and wire types shared with the server.
pub mod outbox;
pub mod wire;
