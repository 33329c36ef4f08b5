//! The server's batch parser (`server/src/ingest.rs`) and the event row it produces, compiled
//! from the server's own sources without the rest of the server (HTTP, databases, TLS): the
//! sanitizer build then needs only the engine, which the engine's fuzz targets build too.

#[path = "../../src/store/event.rs"]
mod event;

pub mod store {
    pub use super::event::NewEvent;
}

#[path = "../../src/ingest.rs"]
pub mod ingest;
