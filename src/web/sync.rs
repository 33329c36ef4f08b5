//! Sync with the backend: outbox flushing, ruleset fetching, identity and erasure requests.
//!
//! The API calls these hooks; until an endpoint is configured they do nothing. What to send
//! and when to retry is decided by `crate::engine::outbox`; this module moves bytes between
//! the outbox store, `fetch` and the timers (`sync.js`). See docs/sync.md.
//!
//! - One sender per origin: the tab holding the Web Lock `tailor:<site>:sender` (or the
//!   localStorage lease where Web Locks is missing) flushes the shared outbox; other tabs
//!   only write to it.
//! - The flush runs on a timer (`config.flushInterval`), on `online`, on `flush()`; when the
//!   page is hidden or goes away, the oldest unsent events known to this tab (up to 60 KB)
//!   go by `sendBeacon`. The server drops duplicates by event id, so a beacon that races a
//!   flush costs bytes, never a second stored event.
//! - Nothing here throws into the page: failures end up in counters and `status.problems`.

use js_sys::{Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, spawn_local, JsFuture};

use super::api::TailorCore;
use super::platform::now_ms;
use super::state::Shared;
use super::storage::{self, Store};
use crate::engine::json::Value;
use crate::engine::outbox::{
    batch_body, batch_limit_after_413, batch_outcome, parse_retry_after, plan_batch, settle, Backoff, FlushReport,
    Item, Outcome, Records, MAX_BATCH_BYTES, MAX_BATCH_EVENTS, MAX_BEACON_BYTES,
};

#[wasm_bindgen(module = "/src/web/sync.js")]
extern "C" {
    /// `{ status, body, retryAfter, etag }`; never rejects (status 0: no answer).
    pub(super) fn request(
        method: &str,
        url: &str,
        body: Option<String>,
        etag: Option<String>,
        keepalive: bool,
        timeout_ms: u32,
        identity: Option<String>,
    ) -> Promise;
    fn beacon(url: &str, body: &str) -> bool;
    fn timer(f: &JsValue, ms: f64) -> f64;
    fn cancel(id: f64);
    pub(super) fn sleep(ms: f64) -> Promise;
    pub(super) fn random() -> f64;
    fn listen(f: &JsValue);
    #[wasm_bindgen(js_name = acquireSender)]
    fn acquire_sender(name: &str, lease_ms: f64) -> Promise;
    #[wasm_bindgen(js_name = releaseSender)]
    fn release_sender(name: &str);
    #[wasm_bindgen(js_name = verifyEd25519)]
    pub(super) fn verify_ed25519(key: &str, signature: &str, payload: &str) -> Promise;
    #[wasm_bindgen(js_name = lsGet)]
    pub(super) fn ls_get(key: &str) -> Option<String>;
    #[wasm_bindgen(js_name = lsSet)]
    pub(super) fn ls_set(key: &str, value: &str) -> bool;
    #[wasm_bindgen(js_name = lsRemove)]
    pub(super) fn ls_remove(key: &str);
}

/// How long a request may take before it counts as failed.
const REQUEST_TIMEOUT_MS: u32 = 30_000;
/// Batches one flush sends at most before yielding to the timer (bounds every loop).
const MAX_BATCHES_PER_FLUSH: u32 = 1000;

/// The sync loop's part of `State`.
#[derive(Default)]
pub struct SyncState {
    pub backoff: Backoff,
    /// Answers of 413 in a row: each halves the next batch (a proxy's smaller body limit).
    too_large: u32,
    /// A flush is running in this instance.
    pub flushing: bool,
    /// This tab holds the sender lock.
    pub sender: bool,
    /// The pending timer (`setTimeout` id) and when it fires.
    timer: Option<(f64, f64)>,
    listening: bool,
    /// Oldest unsent events this tab knows of (id, wire JSON), for the page-hide beacon.
    pub beacon_cache: Vec<(String, String)>,
    peek_scheduled: bool,
    /// Counts since this instance started.
    pub totals: FlushReport,
    /// `ETag` of the ruleset in use, sent as `If-None-Match`.
    pub ruleset_etag: Option<String>,
    /// The first ruleset fetch finished: `Some(problem)`, `Some(None)` when it went well.
    pub first_fetch: Option<Option<String>>,
    /// `firstFetch()` promises waiting for it (their resolve functions).
    pub first_fetch_waiting: Vec<js_sys::Function>,
    /// The identity token given with `identify()`, for the user it was given for: sent with
    /// the identify request and with the user's erasure at `forget()`.
    pub identity: Option<(String, String)>,
    /// Events dropped unsent, oldest first, to keep an outbox that is not sent bounded
    /// (consent pending, or granted with sending off); `status.dropped`.
    pub dropped: u32,
    /// Erasure requests not confirmed yet, also kept here in case localStorage refuses them.
    pub erasures: Vec<String>,
}

/// A response from `sync.js`'s `request`.
pub(super) struct Answer {
    pub status: u16,
    pub body: String,
    pub retry_after: String,
    pub etag: String,
}

pub(super) async fn http(method: &str, url: &str, body: Option<String>, etag: Option<String>) -> Answer {
    http_as(method, url, body, etag, None).await
}

/// [`http`] with an identity token in `X-Tailor-Identity-Token`.
pub(super) async fn http_as(
    method: &str,
    url: &str,
    body: Option<String>,
    etag: Option<String>,
    identity: Option<String>,
) -> Answer {
    let v = JsFuture::from(request(method, url, body, etag, false, REQUEST_TIMEOUT_MS, identity))
        .await
        .unwrap_or(JsValue::NULL);
    let text = |k: &str| Reflect::get(&v, &k.into()).ok().and_then(|x| x.as_string()).unwrap_or_default();
    let status = Reflect::get(&v, &"status".into()).ok().and_then(|x| x.as_f64()).unwrap_or(0.0);
    Answer { status: status as u16, body: text("body"), retry_after: text("retryAfter"), etag: text("etag") }
}

/// A number as JavaScript writes it (no Rust number formatting in the module).
pub(super) fn num(n: f64) -> String {
    let mut out = String::new();
    crate::engine::json::write_number(n, &mut out);
    out
}

/// The server URL for `path` (the endpoint has no trailing slash; "" is this origin).
pub(super) fn url(shared: &Shared, path: &str) -> Option<String> {
    shared.borrow().config.endpoint.as_ref().map(|e| e.clone() + path)
}

fn lock_name(shared: &Shared) -> String {
    String::from("tailor:") + &shared.borrow().config.site + ":sender"
}

/// Starts the sync loop for a new instance (timers, page lifecycle listeners).
pub fn start(shared: &Shared) {
    if shared.borrow().config.endpoint.is_none() {
        return;
    }
    listen_lifecycle(shared);
    let s = shared.clone();
    spawn_local(async move {
        super::sync_identity::drain_erasures(&s).await;
        super::sync_rules::first_refresh(&s).await;
        super::sync_identity::link_if_needed(&s).await;
    });
    if shared.borrow().sending_allowed {
        peek_soon(shared);
        schedule(shared, 0.0);
    }
}

/// An event was committed to the outbox (or consent now allows sending).
pub fn event_committed(shared: &Shared) {
    if !shared.borrow().sending_allowed {
        return;
    }
    listen_lifecycle(shared);
    peek_soon(shared);
    let interval = f64::from(shared.borrow().config.flush_interval_ms);
    if shared.borrow().sync.timer.is_none() {
        schedule(shared, interval);
    }
}

/// The shopper identified as `user_id`: link ids on the server and merge its profile.
pub async fn identified(shared: &Shared, user_id: &str) {
    super::sync_identity::identified(shared, user_id).await;
}

/// `reset()`: the shopper logged out. This tab forgets the identity token and what was merged.
pub async fn reset(shared: &Shared) {
    shared.borrow_mut().sync.identity = None;
    super::sync_identity::reset(shared).await;
}

/// The shopper asked to be forgotten: ask the server to erase these ids (queued until it
/// succeeds). `None`: another tab asked, and erases the anonymous id itself.
pub async fn forgotten(shared: &Shared, anonymous_id: Option<String>, user_id: Option<String>) {
    super::sync_rules::forget_cache(shared);
    super::sync_identity::forgotten(shared, anonymous_id, user_id).await;
}

fn listen_lifecycle(shared: &Shared) {
    if std::mem::replace(&mut shared.borrow_mut().sync.listening, true) {
        return;
    }
    let s = shared.clone();
    let f = Closure::<dyn FnMut(String)>::new(move |kind: String| match kind.as_str() {
        "online" => {
            s.borrow_mut().sync.backoff = Backoff::default();
            schedule(&s, 0.0);
        }
        "pagehide" => {
            super::tabs::save_if_pending(&s);
            send_beacon(&s);
            // A page holding a Web Lock cannot enter the back/forward cache: let go; the
            // next tick (here after a back navigation, or in another tab) takes it again.
            s.borrow_mut().sync.sender = false;
            release_sender(&lock_name(&s));
        }
        _ => {
            super::tabs::save_if_pending(&s);
            send_beacon(&s);
        }
    });
    listen(&f.into_js_value());
}

/// Runs a tick after `delay_ms`, replacing a later pending one.
fn schedule(shared: &Shared, delay_ms: f64) {
    let at = now_ms() + delay_ms;
    {
        let s = shared.borrow();
        if let Some((id, when)) = s.sync.timer {
            if when <= at {
                return;
            }
            cancel(id);
        }
    }
    let s = shared.clone();
    let f = Closure::once_into_js(move || {
        s.borrow_mut().sync.timer = None;
        spawn_local(tick(s));
    });
    let id = timer(&f, delay_ms.max(0.0));
    shared.borrow_mut().sync.timer = Some((id, at));
}

/// One round of the loop: flush when allowed, then plan the next round.
async fn tick(shared: Shared) {
    if shared.borrow().sending_allowed && !shared.borrow().sync.flushing {
        flush(&shared, false).await;
    }
    let (allowed, interval, backoff) = {
        let s = shared.borrow();
        (s.sending_allowed, f64::from(s.config.flush_interval_ms), s.sync.backoff)
    };
    if allowed {
        let delay = if backoff.failures > 0 { (backoff.next_at - now_ms()).max(0.0) } else { interval };
        schedule(&shared, delay);
    }
}

/// Takes the sender lock for this tab if it is free. Only the sender flushes.
async fn become_sender(shared: &Shared) -> bool {
    let lease = (3.0 * f64::from(shared.borrow().config.flush_interval_ms)).max(10_000.0);
    let got =
        JsFuture::from(acquire_sender(&lock_name(shared), lease)).await.ok().and_then(|v| v.as_bool()).unwrap_or(false);
    shared.borrow_mut().sync.sender = got;
    got
}

/// Sends what the outbox holds, batch after batch, until it is empty, a request fails, or
/// the loop bound is hit. `force` ignores a pending backoff (an explicit `flush()`).
pub async fn flush(shared: &Shared, force: bool) -> FlushReport {
    // One flush at a time per instance: a second caller waits for the first (bounded).
    for _ in 0..600 {
        if !shared.borrow().sync.flushing {
            break;
        }
        let _ = JsFuture::from(sleep(50.0)).await;
    }
    shared.borrow_mut().sync.flushing = true;
    let report = flush_batches(shared, force).await;
    let mut s = shared.borrow_mut();
    s.sync.flushing = false;
    s.sync.totals.add(&report);
    report
}

async fn flush_batches(shared: &Shared, force: bool) -> FlushReport {
    let mut report = FlushReport::default();
    let (allowed, store, generation) = {
        let s = shared.borrow();
        (s.sending_allowed, s.store.clone(), s.generation)
    };
    if allowed && (force || shared.borrow().sync.backoff.ready(now_ms())) && become_sender(shared).await {
        for i in 0..MAX_BATCHES_PER_FLUSH {
            // Renews the localStorage lease during a long flush (free with Web Locks).
            if i > 0 && !become_sender(shared).await {
                break;
            }
            match send_batch(shared, &store, generation, &mut report).await {
                Step::More => {}
                Step::Stop => break,
            }
        }
    }
    report.pending = store.events(storage::OUTBOX).await.unwrap_or(0);
    report
}

enum Step {
    More,
    Stop,
}

/// Whether the instance still sends from `store` (no forget, consent change or fallback since).
fn still_current(shared: &Shared, generation: u32) -> bool {
    let s = shared.borrow();
    s.generation == generation && s.sending_allowed
}

/// Reads the oldest events, drops the expired ones, sends one batch and settles it: a record
/// (the events of one burst) loses the events settled and keeps the others.
async fn send_batch(shared: &Shared, store: &Store, generation: u32, report: &mut FlushReport) -> Step {
    if !still_current(shared, generation) {
        return Step::Stop;
    }
    // Each record holds at least one event: as many records as a batch takes events is enough.
    let (keys, texts) = match store.read_entries(storage::OUTBOX, MAX_BATCH_EVENTS as u32).await {
        Ok(t) => t,
        Err(e) => {
            shared.borrow_mut().report(String::from("sync: the outbox could not be read: ") + &e);
            return Step::Stop;
        }
    };
    if texts.is_empty() {
        return Step::Stop;
    }
    let records = Records::new(&texts, MAX_BATCH_EVENTS);
    let now = now_ms();
    let parsed: Vec<Option<(String, f64)>> = records.events.iter().map(|e| id_and_ts(e.text)).collect();
    let items: Vec<Item> = records
        .events
        .iter()
        .zip(&parsed)
        .map(|(e, p)| Item { ts: p.as_ref().map(|p| p.1), bytes: e.text.len() })
        .collect();
    let max_events = batch_limit_after_413(shared.borrow().sync.too_large);
    let plan = plan_batch(&items, now, max_events, MAX_BATCH_BYTES, true);

    // Given up: older than 24 h, or unreadable; then the rest is read again.
    let mut drop = plan.expired.clone();
    drop.extend(&plan.invalid);
    if !drop.is_empty() || !records.empty.is_empty() {
        let mut changes = changes_of(&keys, &records, &drop);
        changes.extend(records.empty.iter().map(|&r| (keys[r].clone(), None)));
        if let Err(e) = store.rewrite(storage::OUTBOX, &changes).await {
            shared.borrow_mut().report(String::from("sync: events given up could not be removed: ") + &e);
            return Step::Stop;
        }
        let ids: Vec<String> = drop.iter().filter_map(|&i| parsed[i].as_ref().map(|p| p.0.clone())).collect();
        forget_cached(shared, &ids);
        let n = drop.len() + records.empty.len();
        report.given_up += n as u32;
        shared
            .borrow_mut()
            .report(String::from("sync: gave up ") + &num(n as f64) + " events older than 24 h or unreadable");
        return Step::More;
    }
    if plan.send.is_empty() {
        return Step::Stop;
    }

    let ids: Vec<&str> = plan.send.iter().filter_map(|&i| parsed[i].as_ref().map(|p| p.0.as_str())).collect();
    let (site, Some(url)) = (shared.borrow().config.site.clone(), url(shared, "/v1/events")) else {
        return Step::Stop;
    };
    let body = batch_body(&site, now_ms(), plan.send.iter().map(|&i| records.events[i].text));
    let answer = http("POST", &url, Some(body), None).await;
    if shared.borrow().generation != generation {
        return Step::Stop;
    }
    match batch_outcome(answer.status) {
        Outcome::Done => {
            let settled = settle(&ids, &answer.body);
            let mut gone_ids = settled.done.clone();
            gone_ids.extend(settled.rejected.iter().cloned());
            let mut gone = Vec::new();
            for &i in &plan.send {
                if parsed[i].as_ref().is_some_and(|p| gone_ids.contains(&p.0)) {
                    gone.push(i);
                }
            }
            if let Err(e) = store.rewrite(storage::OUTBOX, &changes_of(&keys, &records, &gone)).await {
                shared.borrow_mut().report(String::from("sync: sent events could not be removed: ") + &e);
                return Step::Stop;
            }
            forget_cached(shared, &gone_ids);
            report.sent += settled.done.len() as u32;
            report.dead_lettered += settled.rejected.len() as u32;
            {
                let mut s = shared.borrow_mut();
                s.sync.backoff.succeeded();
                s.sync.too_large = 0;
            }
            if !settled.rejected.is_empty() {
                let n = num(settled.rejected.len() as f64);
                shared.borrow_mut().report(String::from("sync: the server rejected ") + &n + " events");
            }
            // Stop when the answer left events unsettled, or when this batch was all there was.
            let read_all = records.events.len() < MAX_BATCH_EVENTS && texts.len() < MAX_BATCH_EVENTS;
            if !settled.unanswered.is_empty() || read_all && plan.send.len() == records.events.len() {
                return Step::Stop;
            }
            Step::More
        }
        _ => {
            // Every whole-batch failure keeps the events: a 4xx may come from a WAF, a proxy
            // or a deploy. They are retried with backoff until they are 24 h old.
            report.failed += 1;
            let now = now_ms();
            let wait = parse_retry_after(&answer.retry_after, now);
            let mut s = shared.borrow_mut();
            s.sync.backoff.failed(now, random(), wait);
            if answer.status == 413 {
                s.sync.too_large = s.sync.too_large.saturating_add(1);
            }
            if (400..500).contains(&answer.status) && s.sync.backoff.failures == 1 {
                let msg = String::from("sync: a batch of ")
                    + &num(ids.len() as f64)
                    + " events was refused with HTTP "
                    + &num(f64::from(answer.status))
                    + "; the events are kept and retried: "
                    + answer.body.get(..200).unwrap_or(&answer.body);
                s.report(msg);
            }
            Step::Stop
        }
    }
}

/// The writes that take the events at `gone` out of their records (by key).
fn changes_of(keys: &[String], records: &Records, gone: &[usize]) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    for r in records.without(gone) {
        out.push((keys[r.record].clone(), r.text));
    }
    out
}

/// The `id` and `ts` of an event's wire JSON.
fn id_and_ts(text: &str) -> Option<(String, f64)> {
    let v = Value::parse(text).ok()?;
    Some((v.get("id")?.as_str()?.to_string(), v.get("ts")?.as_f64()?))
}

fn forget_cached(shared: &Shared, ids: &[String]) {
    shared.borrow_mut().sync.beacon_cache.retain(|(id, _)| !ids.contains(id));
}

/// Soon (once per burst of `track` calls) reads the oldest unsent events into the beacon
/// cache: when the page goes away there is no time to read IndexedDB.
fn peek_soon(shared: &Shared) {
    if std::mem::replace(&mut shared.borrow_mut().sync.peek_scheduled, true) {
        return;
    }
    let s = shared.clone();
    let f = Closure::once_into_js(move || {
        spawn_local(async move {
            s.borrow_mut().sync.peek_scheduled = false;
            let store = s.borrow().store.clone();
            let (_, texts) = store.read_entries(storage::OUTBOX, MAX_BATCH_EVENTS as u32).await.unwrap_or_default();
            let records = Records::new(&texts, MAX_BATCH_EVENTS);
            let cache =
                records.events.iter().filter_map(|e| Some((id_and_ts(e.text)?.0, e.text.to_string()))).collect();
            s.borrow_mut().sync.beacon_cache = cache;
        })
    });
    timer(&f, 200.0);
}

/// The page is hidden or going away: send the cached unsent events (up to 60 KB) by beacon.
/// They stay in the outbox; the next flush gets them confirmed (as duplicates if they made it).
fn send_beacon(shared: &Shared) {
    let s = shared.borrow();
    if !s.sending_allowed || s.sync.beacon_cache.is_empty() {
        return;
    }
    let Some(url) = s.config.endpoint.as_ref().map(|e| e.clone() + "/v1/events") else {
        return;
    };
    let now = now_ms();
    let cache = &s.sync.beacon_cache;
    let items: Vec<Item> = cache.iter().map(|(_, t)| Item { ts: id_and_ts(t).map(|p| p.1), bytes: t.len() }).collect();
    let plan = plan_batch(&items, now, MAX_BATCH_EVENTS, MAX_BEACON_BYTES, false);
    if plan.send.is_empty() {
        return;
    }
    let body = batch_body(&s.config.site, now, plan.send.iter().map(|&i| cache[i].1.as_str()));
    beacon(&url, &body);
}

fn report_object(r: &FlushReport, sender: bool) -> JsValue {
    let o = Object::new();
    for (k, v) in [
        ("sent", r.sent),
        ("failed", r.failed),
        ("deadLettered", r.dead_lettered),
        ("givenUp", r.given_up),
        ("pending", r.pending),
    ] {
        let _ = Reflect::set(&o, &k.into(), &JsValue::from(v));
    }
    let _ = Reflect::set(&o, &"sender".into(), &JsValue::from(sender));
    o.into()
}

#[wasm_bindgen]
impl TailorCore {
    /// Sends the outbox now (this tab must be, or become, the sender). Resolves to
    /// `{ sent, failed, deadLettered, givenUp, pending, sender }` for this flush; never rejects.
    pub fn flush(&self) -> Promise {
        let shared = self.state.clone();
        future_to_promise(async move {
            let report = flush(&shared, true).await;
            let sender = shared.borrow().sync.sender;
            tick_later(&shared);
            Ok(report_object(&report, sender))
        })
    }

    /// Counts since this instance started: `{ sent, failed, deadLettered, givenUp, pending, sender }`.
    #[wasm_bindgen(js_name = syncStats)]
    pub fn sync_stats(&self) -> JsValue {
        let s = self.state.borrow();
        report_object(&s.sync.totals, s.sync.sender)
    }

    /// Fetches the ruleset now (If-None-Match). Resolves to `{ version, changed, error }`;
    /// never rejects: a missing, tampered, expired or older ruleset leaves the last good one.
    #[wasm_bindgen(js_name = refreshRuleset)]
    pub fn refresh_ruleset(&self) -> Promise {
        let shared = self.state.clone();
        future_to_promise(async move {
            let (changed, error) = super::sync_rules::refresh(&shared).await;
            let s = shared.borrow();
            let o = Object::new();
            let version = if s.ruleset.is_some() { JsValue::from(s.ruleset_version) } else { JsValue::NULL };
            let _ = Reflect::set(&o, &"version".into(), &version);
            let _ = Reflect::set(&o, &"changed".into(), &JsValue::from(changed));
            let _ = Reflect::set(&o, &"error".into(), &error.map_or(JsValue::NULL, |e| JsValue::from_str(&e)));
            Ok(o.into())
        })
    }
}

/// Makes sure a tick is planned after an explicit flush (retries keep going by themselves).
fn tick_later(shared: &Shared) {
    let (allowed, backoff, interval) = {
        let s = shared.borrow();
        (s.sending_allowed, s.sync.backoff, f64::from(s.config.flush_interval_ms))
    };
    if allowed {
        let delay = if backoff.failures > 0 { (backoff.next_at - now_ms()).max(0.0) } else { interval };
        schedule(shared, delay);
    }
}
