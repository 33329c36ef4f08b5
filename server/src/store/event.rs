//! The event row. In a file of its own, with no dependency, so that the batch fuzz target
//! (server/fuzz) can compile `ingest.rs` with this alone instead of the whole server.

/// One validated event, ready to store.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvent {
    pub id: String,
    pub event_type: String,
    pub anonymous_id: String,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    /// The client's timestamp as sent.
    pub client_ts: i64,
    /// The server's timestamp: skew-corrected and clamped.
    pub ts: i64,
    pub received_at: i64,
    /// Comma-separated flags (e.g. `clamped_future`), if any.
    pub flags: Option<String>,
    /// `props.experimentKey` / `props.variation` of `experiment_exposure` events.
    pub exp_key: Option<String>,
    pub exp_variation: Option<String>,
    /// The wire event (with the server's `ts`) as JSON text.
    pub body: String,
}
