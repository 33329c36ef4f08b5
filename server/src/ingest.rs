//! The events batch pipeline before storage: bytes → JSON → batch → validated events with
//! the server's timestamps. Pure (the receive time is a parameter), so it is unit-tested
//! and fuzzed without a server.

use std::collections::HashSet;

use tailor::engine::event::{Event, EventType};
use tailor::engine::json::Value;
use tailor::engine::wire::{EventBatch, EventResult, EventStatus, WireError, FLAG_CLAMPED_FUTURE, MAX_BATCH_BYTES};

use crate::store::NewEvent;

/// Events dated further ahead than this (after skew correction) are clamped.
pub const MAX_FUTURE_MS: i64 = 23 * 3600 * 1000;

/// Why a whole batch was refused.
#[derive(Clone, Debug, PartialEq)]
pub enum BatchError {
    /// 413.
    TooLarge { bytes: usize },
    /// 400: the body is not UTF-8 JSON.
    Json { offset: usize, line: usize, column: usize, reason: String },
    /// 400: JSON, but not a batch.
    Shape(WireError),
}

impl BatchError {
    /// The JSON body of the error response.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            BatchError::TooLarge { bytes } => serde_json::json!({
                "error": "payload_too_large",
                "message": format!("the batch is {bytes} bytes; the limit is {MAX_BATCH_BYTES}"),
                "limit": MAX_BATCH_BYTES,
            }),
            BatchError::Json { offset, line, column, reason } => serde_json::json!({
                "error": "malformed_json",
                "message": format!("invalid JSON at line {line}, column {column}: {reason}"),
                "offset": offset, "line": line, "column": column, "reason": reason,
            }),
            BatchError::Shape(e) => serde_json::json!({
                "error": "invalid_batch",
                "message": e.to_string(),
                "field": e.field,
                "reason": e.reason,
            }),
        }
    }
}

/// A parsed batch: one result per event (filled in for rejected and repeated events) and
/// the events to store, each with the index of its result.
#[derive(Debug)]
pub struct Ingest {
    pub site: String,
    pub received_at: i64,
    pub results: Vec<EventResult>,
    pub to_store: Vec<(usize, NewEvent)>,
}

impl Ingest {
    /// Takes the events to store, with the result index of each.
    pub fn take_events(&mut self) -> (Vec<usize>, Vec<NewEvent>) {
        std::mem::take(&mut self.to_store).into_iter().unzip()
    }

    /// Records what storage said: `inserted[i]` for the event of result `indices[i]`.
    pub fn settle(&mut self, indices: &[usize], inserted: &[bool]) {
        for (&index, &new) in indices.iter().zip(inserted) {
            self.results[index].status = if new { EventStatus::Accepted } else { EventStatus::Duplicate };
        }
    }
}

fn line_column(text: &[u8], offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = before.len() - before.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1) + 1;
    (line, column)
}

/// Parses and validates a batch received at `received_at` (server ms).
pub fn parse_batch(body: &[u8], received_at: i64, default_site: &str) -> Result<Ingest, BatchError> {
    if body.len() > MAX_BATCH_BYTES {
        return Err(BatchError::TooLarge { bytes: body.len() });
    }
    let text = std::str::from_utf8(body).map_err(|e| {
        let offset = e.valid_up_to();
        let (line, column) = line_column(body, offset);
        BatchError::Json { offset, line, column, reason: "invalid UTF-8".into() }
    })?;
    let value = Value::parse(text).map_err(|e| {
        let (line, column) = line_column(body, e.offset);
        BatchError::Json { offset: e.offset, line, column, reason: e.reason.to_string() }
    })?;
    let batch = EventBatch::from_value(&value).map_err(BatchError::Shape)?;
    let site = batch.site.clone().unwrap_or_else(|| default_site.to_string());
    let mut ingest = Ingest {
        site,
        received_at,
        results: Vec::with_capacity(batch.events.len()),
        to_store: Vec::with_capacity(batch.events.len()),
    };
    let mut seen = HashSet::new();
    for (index, raw) in batch.events.iter().enumerate() {
        let id = raw.get("id").and_then(Value::as_str).map(String::from);
        let mut result = EventResult { id, status: EventStatus::Rejected, reason: None, ts: None, flags: Vec::new() };
        match Event::from_value(raw) {
            Err(e) => result.reason = Some(e.to_string()),
            Ok(event) if !seen.insert(event.id().to_string()) => {
                result.status = EventStatus::Duplicate;
                result.reason = Some("repeated in this batch".into());
            }
            Ok(event) => {
                let new = to_store(&event, batch.sent_at, received_at, &mut result.flags);
                result.ts = Some(new.ts);
                ingest.to_store.push((index, new));
            }
        }
        ingest.results.push(result);
    }
    Ok(ingest)
}

/// The server's timestamp for an event: `received − (sentAt − ts)` when the batch says when
/// it was sent, else the client's `ts`; clamped to `received` (and flagged) when more than
/// [`MAX_FUTURE_MS`] ahead of it.
pub fn server_ts(client_ts: i64, sent_at: Option<i64>, received_at: i64, flags: &mut Vec<String>) -> i64 {
    let ts = match sent_at {
        Some(sent) => received_at.saturating_sub(sent.saturating_sub(client_ts)),
        None => client_ts,
    };
    if ts > received_at.saturating_add(MAX_FUTURE_MS) {
        flags.push(FLAG_CLAMPED_FUTURE.to_string());
        received_at
    } else {
        ts
    }
}

fn to_store(event: &Event, sent_at: Option<i64>, received_at: i64, flags: &mut Vec<String>) -> NewEvent {
    let client_ts = event.ts() as i64;
    let ts = server_ts(client_ts, sent_at, received_at, flags);
    let mut body = event.to_value();
    if let Some(m) = body.as_object_mut() {
        m.insert("ts", Value::Number(ts as f64));
    }
    let exposure = event.event_type() == EventType::ExperimentExposure;
    NewEvent {
        id: event.id().to_string(),
        event_type: event.event_type().as_str().to_string(),
        anonymous_id: event.anonymous_id().to_string(),
        user_id: event.user_id().map(String::from),
        session_id: event.session_id().map(String::from),
        client_ts,
        ts,
        received_at,
        flags: (!flags.is_empty()).then(|| flags.join(",")),
        exp_key: exposure.then(|| event.prop_str("experimentKey").map(String::from)).flatten(),
        exp_variation: exposure.then(|| event.prop("variation").map(Value::to_json)).flatten(),
        body: body.to_json(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tailor::engine::uuid::Uuid;

    const NOW: i64 = 1_750_000_000_000;

    fn id(n: u8) -> String {
        Uuid::v7(NOW as u64, [n; 10]).to_hyphenated()
    }

    fn event(n: u8, ts: i64) -> String {
        format!(r#"{{"id":"{}","type":"page_view","ts":{ts},"props":{{"path":"/"}},"anonymousId":"a1"}}"#, id(n))
    }

    #[test]
    fn skew_is_corrected_from_sent_at() {
        // The client's clock is 10 minutes fast: it sent at NOW+10min an event of 1 s before.
        let skew = 600_000;
        let body = format!(r#"{{"sentAt":{},"events":[{}]}}"#, NOW + skew, event(1, NOW + skew - 1000));
        let ingest = parse_batch(body.as_bytes(), NOW, "shop").unwrap();
        assert_eq!(ingest.to_store[0].1.ts, NOW - 1000);
        assert_eq!(ingest.to_store[0].1.client_ts, NOW + skew - 1000);
        assert!(ingest.to_store[0].1.body.contains(&format!("\"ts\":{}", NOW - 1000)));
        assert_eq!(ingest.site, "shop");
    }

    #[test]
    fn far_future_is_clamped_and_flagged() {
        let mut flags = vec![];
        assert_eq!(server_ts(NOW + MAX_FUTURE_MS, None, NOW, &mut flags), NOW + MAX_FUTURE_MS);
        assert!(flags.is_empty());
        assert_eq!(server_ts(NOW + MAX_FUTURE_MS + 1, None, NOW, &mut flags), NOW);
        assert_eq!(flags, [FLAG_CLAMPED_FUTURE]);
    }

    #[test]
    fn bad_events_are_rejected_alone_and_repeats_marked() {
        let body = format!(r#"{{"events":[{}, {{"id":"x","type":"page_view"}}, {}]}}"#, event(1, NOW), event(1, NOW));
        let ingest = parse_batch(body.as_bytes(), NOW, "s").unwrap();
        let statuses: Vec<_> = ingest.results.iter().map(|r| r.status).collect();
        assert_eq!(statuses, [EventStatus::Rejected, EventStatus::Rejected, EventStatus::Duplicate]);
        assert!(ingest.results[1].reason.as_deref().unwrap().starts_with("id"));
        assert_eq!(ingest.to_store.len(), 1);
    }

    #[test]
    fn malformed_json_says_where() {
        let err = parse_batch(b"{\"events\": [\n  {,]}", NOW, "s").unwrap_err();
        match err {
            BatchError::Json { line, column, .. } => assert_eq!((line, column), (2, 4)),
            other => panic!("{other:?}"),
        }
        assert!(matches!(parse_batch(b"{\"events\":{}}", NOW, "s"), Err(BatchError::Shape(_))));
        assert!(matches!(parse_batch(&vec![b' '; MAX_BATCH_BYTES + 1], NOW, "s"), Err(BatchError::TooLarge { .. })));
        assert!(matches!(parse_batch(b"\xff", NOW, "s"), Err(BatchError::Json { .. })));
    }

    /// Fuzz smoke test: random and mutated batches never panic, and every parsed batch has
    /// exactly one result per event. (The cargo-fuzz target in `server/fuzz/` runs the same
    /// property without bounds.)
    #[test]
    fn fuzz_smoke_random_and_mutated_batches() {
        let seed_body = format!(
            r#"{{"site":"s","sentAt":{NOW},"events":[{},{},{{"id":"{}","type":"experiment_exposure","ts":{NOW},"props":{{"experimentKey":"e","variation":1}},"anonymousId":"a"}}]}}"#,
            event(1, NOW),
            event(2, NOW + 90_000_000),
            id(3)
        );
        assert_eq!(parse_batch(seed_body.as_bytes(), NOW, "s").unwrap().to_store.len(), 3);
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut rand = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet = b"{}[]\",:0123456789.eE+-truefalsnul \\/u\xc3\xa9\xff\n";
        for round in 0..20_000 {
            let mut bytes = seed_body.as_bytes().to_vec();
            if round % 4 == 0 {
                let len = (rand() % 64) as usize;
                bytes = (0..len).map(|_| alphabet[(rand() as usize) % alphabet.len()]).collect();
            } else {
                for _ in 0..1 + rand() % 4 {
                    let at = (rand() as usize) % (bytes.len() + 1);
                    match rand() % 3 {
                        0 if at < bytes.len() => {
                            bytes.remove(at);
                        }
                        1 if at < bytes.len() => bytes[at] = alphabet[(rand() as usize) % alphabet.len()],
                        _ => bytes.insert(at, alphabet[(rand() as usize) % alphabet.len()]),
                    }
                }
            }
            if let Ok(ingest) = parse_batch(&bytes, NOW, "s") {
                let events = Value::parse(std::str::from_utf8(&bytes).unwrap()).unwrap();
                let n = events.get("events").and_then(Value::as_array).map_or(0, Vec::len);
                assert_eq!(ingest.results.len(), n);
                for (index, e) in &ingest.to_store {
                    assert_eq!(ingest.results[*index].id.as_deref(), Some(e.id.as_str()));
                    assert!(e.ts <= NOW + MAX_FUTURE_MS);
                }
            }
        }
    }
}
