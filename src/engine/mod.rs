//! The engine: everything Tailor decides, validated and computed without a browser.
//!
//! Platform effects (clock, randomness, regular expressions, storage, network) come in as
//! parameters or small traits, so every result here is deterministic under test.

/// The reason of a failed check: in the full validator (`FULL`, a const generic in scope, true
/// with the `full-checks` feature) the whole sentence, formatted; in the lean loader of the
/// shopper's module only `$short`, so the sentences and their formatting code are not in it.
macro_rules! why {
    ($short:literal, $($full:tt)+) => {
        if FULL {
            format!($($full)+)
        } else {
            String::from($short)
        }
    };
}

pub mod config;
pub mod error;
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
