//! Tailor's reference backend: the HTTP API, storage on SQLite or PostgreSQL, ruleset signing.
//!
//! The `tailor` binary (`main.rs`) is a thin command-line front over this library; the
//! ingest benchmark and the fuzz target use the library directly.

pub mod api;
pub mod config;
pub mod identity;
pub mod ingest;
pub mod log;
pub mod metrics;
pub mod ratelimit;
pub mod results;
pub mod sanitise;
pub mod serve;
pub mod signing;
pub mod stats;
pub mod store;
pub mod studio_token;
