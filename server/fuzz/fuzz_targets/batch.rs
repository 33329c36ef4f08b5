//! Any bytes as a `POST /v1/events` body: the parser never panics, answers one result per
//! event, and never stores an event dated more than 23 h ahead of the receive time.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tailor::engine::json::Value;
use tailor_server_fuzz::ingest::{parse_batch, MAX_FUTURE_MS};

const NOW: i64 = 1_750_000_000_000;

fuzz_target!(|data: &[u8]| {
    if let Ok(ingest) = parse_batch(data, NOW, "fuzz") {
        let text = std::str::from_utf8(data).expect("parsed batches are UTF-8");
        let value = Value::parse(text).expect("parsed batches are JSON");
        let events = value.get("events").and_then(Value::as_array).map_or(0, Vec::len);
        assert_eq!(ingest.results.len(), events);
        for (index, event) in &ingest.to_store {
            assert_eq!(ingest.results[*index].id.as_deref(), Some(event.id.as_str()));
            assert!(event.ts <= NOW + MAX_FUTURE_MS);
            Value::parse(&event.body).expect("stored bodies are JSON");
        }
    }
});
