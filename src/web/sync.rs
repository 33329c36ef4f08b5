//! Sync with the backend: outbox flushing, ruleset fetching, identity and erasure requests.
//!
//! The API calls these hooks; until an endpoint is configured they do nothing.

use super::state::Shared;

/// Starts the sync loop for a new instance (timers, page lifecycle listeners).
pub fn start(shared: &Shared) {
    let _ = shared;
}

/// An event was committed to the outbox (or consent now allows sending).
pub fn event_committed(shared: &Shared) {
    let _ = shared;
}

/// The shopper identified as `user_id`: link ids on the server and merge its profile.
pub async fn identified(shared: &Shared, user_id: &str) {
    let _ = (shared, user_id);
}

/// The shopper asked to be forgotten: ask the server to erase these ids (queued until it succeeds).
pub async fn forgotten(shared: &Shared, anonymous_id: String, user_id: Option<String>) {
    let _ = (shared, anonymous_id, user_id);
}
