//! Outbox policy: what to send, when to retry and what to give up on. Pure: the clock and
//! randomness come in as parameters, so every rule here is tested natively
//! (`tests/outbox_policy.rs`) and the browser runtime (`src/web/sync.rs`) is only glue.
//!
//! Events wait in the outbox as JSON text in wire form, one record per burst of `track()`
//! calls: the record's key is the id of its first event (a UUIDv7, so key order is time
//! order) and its text the burst's events, one per line in call order (see [`Records`]). A
//! record written by an earlier version holds one event: it is the one-line case. A flush takes the oldest events into a batch of at most
//! [`MAX_BATCH_EVENTS`] events and [`MAX_BATCH_BYTES`] bytes, posts it, and settles each
//! event from the answer: accepted or duplicate → delete; rejected one by one → dead letter
//! (counted, deleted). Every failure of the whole batch (no answer, any 4xx or 5xx: a WAF's
//! 403, a 404 during a deploy, a proxy's 413) keeps every event and retries after a
//! full-jitter exponential backoff, until the events reach [`MAX_EVENT_AGE_MS`]: then they
//! are given up (counted, deleted) instead of being sent. Only the server's per-event
//! verdict ever drops an event it has not stored.

use super::json::Value;
use super::wire::{BatchResponse, EventStatus};

/// The most events one flush request carries (the server takes up to 1000).
pub const MAX_BATCH_EVENTS: usize = 100;
/// The most bytes of request body one flush request carries (the server takes 1 MiB).
pub const MAX_BATCH_BYTES: usize = 500 * 1024;
/// What a `sendBeacon` / `fetch(keepalive)` body may hold when the page goes away: browsers
/// refuse keepalive bodies beyond 64 KiB in flight, so stay under it with a margin.
pub const MAX_BEACON_BYTES: usize = 60 * 1024;
/// Events older than this when they would be sent are given up.
pub const MAX_EVENT_AGE_MS: f64 = 24.0 * 3600.0 * 1000.0;
/// First retry delay bound, and the largest delay.
pub const BACKOFF_BASE_MS: f64 = 1000.0;
pub const BACKOFF_MAX_MS: f64 = 5.0 * 60.0 * 1000.0;

/// What the batcher needs to know about one stored event.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Item {
    /// The event's `ts` (client milliseconds); `None` when the stored text is unreadable.
    pub ts: Option<f64>,
    /// Length of its JSON text in bytes.
    pub bytes: usize,
}

/// Which of the oldest events to send now and which to drop, by index into the input.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// To send, in order: the longest prefix of the remaining events within the limits.
    pub send: Vec<usize>,
    /// Older than [`MAX_EVENT_AGE_MS`]: give up (count and delete).
    pub expired: Vec<usize>,
    /// Unreadable (not an event): count as dead letters and delete.
    pub invalid: Vec<usize>,
}

/// One event of an outbox record: which record, which line of it, and its text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stored<'a> {
    pub record: usize,
    pub line: usize,
    pub text: &'a str,
}

/// Events one outbox record holds: its lines (an event's JSON text never holds a raw newline).
pub fn events_in(record: &str) -> usize {
    record.split('\n').filter(|l| !l.is_empty()).count()
}

/// The oldest records of the outbox (in key order) seen as a list of events, so that batches
/// are planned per event whatever the records hold.
#[derive(Clone, Debug)]
pub struct Records<'a> {
    texts: &'a [String],
    /// At most `max_events` events of the first records, in order.
    pub events: Vec<Stored<'a>>,
    /// Records read whole that hold no event (damaged): to delete.
    pub empty: Vec<usize>,
}

/// How a record changes once some of its events are gone: `Some(text)` is what to write under
/// its key (the events that stay, in order), `None` deletes it (none stays).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rewrite {
    pub record: usize,
    pub text: Option<String>,
}

impl<'a> Records<'a> {
    /// The first `max_events` events of `texts`, records in key order, lines in call order.
    /// Empty lines (there are none unless a record was damaged) are skipped.
    pub fn new(texts: &'a [String], max_events: usize) -> Self {
        let (mut events, mut empty) = (Vec::new(), Vec::new());
        'records: for (record, t) in texts.iter().enumerate() {
            let before = events.len();
            for (line, text) in t.split('\n').enumerate() {
                if events.len() >= max_events {
                    break 'records;
                }
                if !text.is_empty() {
                    events.push(Stored { record, line, text });
                }
            }
            if events.len() == before {
                empty.push(record);
            }
        }
        Records { texts, events, empty }
    }

    /// The records to rewrite or delete once the events at `gone` (indices into `events`) are
    /// settled: a record loses exactly those lines, and the lines not read (beyond
    /// `max_events`) stay. Records not touched are not listed.
    pub fn without(&self, gone: &[usize]) -> Vec<Rewrite> {
        let mut out: Vec<Rewrite> = Vec::new();
        // Events are in record order: the records touched come out in order, each once.
        for (i, e) in self.events.iter().enumerate() {
            if !gone.contains(&i) || out.last().is_some_and(|r| r.record == e.record) {
                continue;
            }
            let mut drop = Vec::new();
            for (j, x) in self.events.iter().enumerate() {
                if x.record == e.record && gone.contains(&j) {
                    drop.push(x.line);
                }
            }
            let mut text = String::new();
            for (line, l) in self.texts[e.record].split('\n').enumerate() {
                if l.is_empty() || drop.contains(&line) {
                    continue;
                }
                if !text.is_empty() {
                    text.push('\n');
                }
                text.push_str(l);
            }
            out.push(Rewrite { record: e.record, text: if text.is_empty() { None } else { Some(text) } });
        }
        out
    }
}

/// Bytes of a batch body around its events (`{"site":"…","sentAt":…,"events":[` `]}`), with
/// room for a 64-character site name.
pub const BATCH_OVERHEAD_BYTES: usize = 128;

/// Chooses the next batch from `items` (oldest first) at `now_ms`: expired and unreadable
/// events are set aside, then events are taken in order while the batch stays within
/// `max_events` and `max_bytes` (counting a comma between events and the envelope). A single
/// event larger than `max_bytes` is sent alone when `oversize_alone` (the server decides);
/// otherwise (a beacon) it is skipped.
pub fn plan_batch(items: &[Item], now_ms: f64, max_events: usize, max_bytes: usize, oversize_alone: bool) -> Plan {
    let mut plan = Plan::default();
    let mut bytes = BATCH_OVERHEAD_BYTES;
    let mut full = false;
    for (i, item) in items.iter().enumerate() {
        let Some(ts) = item.ts else {
            plan.invalid.push(i);
            continue;
        };
        if now_ms - ts > MAX_EVENT_AGE_MS {
            plan.expired.push(i);
            continue;
        }
        if full {
            continue;
        }
        let cost = item.bytes + 1;
        if plan.send.len() >= max_events {
            full = true;
        } else if bytes + cost <= max_bytes {
            plan.send.push(i);
            bytes += cost;
        } else if plan.send.is_empty() && oversize_alone {
            plan.send.push(i);
            full = true;
        } else if plan.send.is_empty() {
            // Too large for this channel: leave it for a normal flush.
            continue;
        } else {
            full = true;
        }
    }
    plan
}

/// The body of `POST /v1/events` from event texts already in wire form, without parsing them
/// again: `{"site":…,"sentAt":…,"events":[…]}` (see `wire::EventBatch`).
pub fn batch_body<'a>(site: &str, sent_at_ms: f64, events: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::with_capacity(4096);
    out.push_str("{\"site\":");
    super::json::write_string(site, &mut out);
    out.push_str(",\"sentAt\":");
    super::json::write_number(sent_at_ms.trunc(), &mut out);
    out.push_str(",\"events\":[");
    for (i, e) in events.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(e);
    }
    out.push_str("]}");
    out
}

/// The full-jitter backoff delay before retry number `attempt` (1 for the first retry):
/// `random × min(BACKOFF_MAX_MS, BACKOFF_BASE_MS × 2^(attempt−1))`, `random` in `[0, 1)`.
/// A server's `Retry-After` (milliseconds) is a lower bound; the result never exceeds
/// [`BACKOFF_MAX_MS`] unless the server asked for longer.
pub fn backoff_delay(attempt: u32, random: f64, retry_after_ms: Option<f64>) -> f64 {
    let exp = attempt.saturating_sub(1).min(30);
    let cap = (BACKOFF_BASE_MS * f64::from(1u32 << exp)).min(BACKOFF_MAX_MS);
    let r = if random.is_finite() { random.clamp(0.0, 1.0) } else { 0.5 };
    let jitter = r * cap;
    match retry_after_ms {
        Some(ms) if ms.is_finite() && ms > jitter => ms,
        _ => jitter,
    }
}

/// Retry state of one sender: how many attempts failed in a row and when the next may go.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Backoff {
    pub failures: u32,
    /// Milliseconds since the epoch before which no request should be made (0: now).
    pub next_at: f64,
}

impl Backoff {
    /// Whether a request may be made at `now_ms`.
    pub fn ready(&self, now_ms: f64) -> bool {
        now_ms >= self.next_at
    }

    /// Records a failed attempt; returns the delay until the next one.
    pub fn failed(&mut self, now_ms: f64, random: f64, retry_after_ms: Option<f64>) -> f64 {
        self.failures = self.failures.saturating_add(1);
        let delay = backoff_delay(self.failures, random, retry_after_ms);
        self.next_at = now_ms + delay;
        delay
    }

    /// A request got through: the next one may go at once.
    pub fn succeeded(&mut self) {
        *self = Backoff::default();
    }
}

/// Parses a `Retry-After` header into milliseconds from `now_ms`: delta-seconds (`"120"`) or
/// an HTTP date (`"Wed, 21 Oct 2015 07:28:00 GMT"`). `None` when absent or unreadable; a
/// date in the past is 0.
pub fn parse_retry_after(header: &str, now_ms: f64) -> Option<f64> {
    let h = header.trim();
    if h.is_empty() {
        return None;
    }
    if h.bytes().all(|b| b.is_ascii_digit()) {
        return crate::engine::json::parse_number(h).map(|s| s * 1000.0);
    }
    let at = parse_http_date(h)?;
    Some((at - now_ms).max(0.0))
}

/// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) to milliseconds since the epoch.
fn parse_http_date(s: &str) -> Option<f64> {
    let rest = s.split_once(", ").map_or(s, |(_, r)| r);
    let mut parts = rest.split(' ');
    let day: i64 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = parts.next()?.parse().ok()?;
    let mut hms = parts.next()?.split(':');
    let (h, m, sec): (i64, i64, i64) =
        (hms.next()?.parse().ok()?, hms.next()?.parse().ok()?, hms.next()?.parse().ok()?);
    if parts.next()? != "GMT" || !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400 + h * 3600 + m * 60 + sec) * 1000) as f64)
}

/// What to do after an HTTP answer (status 0: no answer, e.g. offline or CORS refused).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx: read the per-event results.
    Done,
    /// A transient failure (no answer, 408, 425, 429, 5xx): keep everything and try again later.
    Retry,
    /// Any other 4xx for the whole request. For an event batch this is still kept and retried
    /// (a WAF or a proxy may answer it, not the server: see [`batch_outcome`]); a caller
    /// whose request carries no events (an erasure) may give it up.
    Refused,
}

/// Classifies an HTTP status: 2xx done; no answer, 408, 425, 429, 5xx (and anything odd)
/// retried; other 4xx refused.
pub fn classify(status: u16) -> Outcome {
    match status {
        200..=299 => Outcome::Done,
        408 | 425 | 429 => Outcome::Retry,
        400..=499 => Outcome::Refused,
        _ => Outcome::Retry,
    }
}

/// What to do with a whole batch after an HTTP answer: [`Outcome::Done`] (read the per-event
/// results) or [`Outcome::Retry`] (keep every event, back off). A whole-batch answer never
/// drops events: the 4xx may come from a proxy, a WAF or a deploy, not from the server's
/// verdict on the events.
pub fn batch_outcome(status: u16) -> Outcome {
    match classify(status) {
        Outcome::Done => Outcome::Done,
        _ => Outcome::Retry,
    }
}

/// The most events of the next batch after `too_large` answers of 413 in a row (a proxy
/// with a smaller body limit than the server's): halved each time, at least 1.
pub fn batch_limit_after_413(too_large: u32) -> usize {
    (MAX_BATCH_EVENTS >> too_large.min(16)).max(1)
}

/// How the events of a batch ended, by id.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Settlement {
    /// Accepted or duplicate: delete from the outbox.
    pub done: Vec<String>,
    /// Rejected: count as dead letters, delete.
    pub rejected: Vec<String>,
    /// Not in the answer: keep for the next flush.
    pub unanswered: Vec<String>,
}

/// Settles the events sent (`sent`, their ids in request order) from a 200 answer's body.
/// Results are matched by id; a body that cannot be read settles nothing (all unanswered).
pub fn settle(sent: &[&str], body: &str) -> Settlement {
    let parsed = Value::parse(body).ok().and_then(|v| BatchResponse::from_value(&v).ok());
    let mut out = Settlement::default();
    let Some(response) = parsed else {
        out.unanswered = sent.iter().map(|s| s.to_string()).collect();
        return out;
    };
    for (i, id) in sent.iter().enumerate() {
        // Results come in request order; fall back to a search when ids do not line up.
        let result = match response.results.get(i) {
            Some(r) if r.id.as_deref() == Some(id) => Some(r),
            _ => response.results.iter().find(|r| r.id.as_deref() == Some(id)),
        };
        match result.map(|r| r.status) {
            Some(EventStatus::Accepted | EventStatus::Duplicate) => out.done.push(id.to_string()),
            Some(EventStatus::Rejected) => out.rejected.push(id.to_string()),
            None => out.unanswered.push(id.to_string()),
        }
    }
    out
}

/// Counts of one flush, returned by `flush()` in the browser.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlushReport {
    /// Events the server confirmed (accepted or duplicate).
    pub sent: u32,
    /// Requests that failed and will be retried.
    pub failed: u32,
    /// Events the server rejected one by one (it will never take them), dropped.
    pub dead_lettered: u32,
    /// Events older than 24 h or unreadable, dropped unsent.
    pub given_up: u32,
    /// Events still in the outbox afterwards.
    pub pending: u32,
}

impl FlushReport {
    pub fn add(&mut self, other: &FlushReport) {
        self.sent += other.sent;
        self.failed += other.failed;
        self.dead_lettered += other.dead_lettered;
        self.given_up += other.given_up;
        self.pending = other.pending;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_batch_failure_never_drops_events() {
        // A WAF's 403, a 404 during a deploy, a proxy's 413: the events stay and are retried.
        for s in [0, 400, 401, 403, 404, 405, 408, 413, 422, 425, 429, 451, 499, 500, 503, 302, 600] {
            assert_eq!(batch_outcome(s), Outcome::Retry, "{s}");
        }
        for s in [200, 204] {
            assert_eq!(batch_outcome(s), Outcome::Done, "{s}");
        }
    }

    #[test]
    fn batches_shrink_after_413_and_never_below_one_event() {
        assert_eq!(batch_limit_after_413(0), MAX_BATCH_EVENTS);
        assert_eq!(batch_limit_after_413(1), MAX_BATCH_EVENTS / 2);
        assert_eq!(batch_limit_after_413(3), MAX_BATCH_EVENTS / 8);
        assert_eq!(batch_limit_after_413(30), 1);
        assert_eq!(batch_limit_after_413(u32::MAX), 1);
    }
}
