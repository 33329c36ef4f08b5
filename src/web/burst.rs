//! Group commit of `track()`: the calls of one task form a burst that one Rust task applies
//! to the profile and commits to the outbox as one record in one transaction; every call's
//! promise settles once that transaction has committed (see `burst.js`).
//!
//! A burst is applied in the microtask it was scheduled in, at the place of its first call:
//! the same order as if each call ran on its own. `identify`, `reset`, `consent` and
//! `forget` close the open burst, so a call made after them in the same task is applied
//! after them, as before group commit.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{spawn_local, JsFuture};

use super::api::capture_context;
use super::platform::{now_ms, random_bytes};
use super::state::Shared;
use super::storage::{self, describe, Store};
use super::tabs::schedule_save;
use crate::engine::config::Consent;
use crate::engine::error::ApiError;
use crate::engine::json::Value;
use crate::engine::profile::Change;

#[wasm_bindgen(module = "/src/web/burst.js")]
extern "C" {
    fn wait(list: &Array) -> Promise;
    fn settle(list: &Array, ids: &str, errors: &Array);
    fn abandoner() -> js_sys::Function;
    #[wasm_bindgen(js_name = putRecord)]
    fn put_record(store: &Store, name: &str, key: &str, value: &str, limit: f64) -> Promise;
}

struct Item {
    /// The event's type and props, or why the call was refused (rejected in call order).
    event: Result<(String, Value), JsValue>,
    /// Whether a promise waits for it (exposures recorded by decisions have none).
    waited: bool,
}

/// The calls of one burst, in call order, and their promises.
#[derive(Default)]
pub struct Burst {
    items: Vec<Item>,
    waiters: Option<Array>,
}

pub type Open = Rc<RefCell<Burst>>;

/// Adds a call to this task's burst (a new burst, and its task, for the first one).
fn add(shared: &Shared, item: Item) -> Open {
    let open = shared.borrow().burst.clone();
    let burst = open.unwrap_or_else(|| {
        let b = Open::default();
        shared.borrow_mut().burst = Some(b.clone());
        spawn_local(apply(shared.clone(), b.clone()));
        b
    });
    burst.borrow_mut().items.push(item);
    burst
}

/// A `track()` call: its promise resolves to the event id once committed (null when
/// nothing is kept), or rejects with the validation error.
pub fn track(shared: &Shared, event: Result<(String, Value), JsValue>) -> Promise {
    let burst = add(shared, Item { event, waited: true });
    let mut b = burst.borrow_mut();
    wait(b.waiters.get_or_insert_with(Array::new))
}

/// An event the SDK records itself (an exposure): committed with the burst, awaited by nobody.
pub fn record(shared: &Shared, event_type: &str, props: Value) {
    add(shared, Item { event: Ok((event_type.into(), props)), waited: false });
}

/// The function that resolves with null every `track()` promise of a burst still waiting:
/// the package's wrapper takes it once, when the module loads, and calls it when the module
/// traps (a burst's task that trapped never settles its promises).
#[wasm_bindgen(js_name = abandonTracks)]
pub fn abandon_tracks() -> js_sys::Function {
    abandoner()
}

/// Ends the open burst: later calls of this task start a new one, applied after the work
/// of the method that closed it.
pub fn close(shared: &Shared) {
    shared.borrow_mut().burst = None;
}

thread_local! {
    /// The millisecond and random bits of the last event id made on this page.
    static LAST_ID: std::cell::Cell<(u64, [u8; 10])> = const { std::cell::Cell::new((0, [0; 10])) };
}

/// Random bits for an event id that sort after the previous id of the same millisecond
/// (RFC 9562's monotonic random): the outbox is read in id order, so ids must follow the
/// order of `track` calls even within one millisecond.
fn monotonic_random(now: f64) -> [u8; 10] {
    let ms = crate::engine::uuid::ms_to_u64(now);
    let (last_ms, last) = LAST_ID.with(|l| l.get());
    let mut r = last;
    if ms == last_ms {
        // Add one to the 74 bits the id uses (bytes 9..3, then the low 6 bits of 2, 8 of 1, 4 of 0).
        let limits = [0x0f, 0xff, 0x3f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        for i in (0..10).rev() {
            if r[i] < limits[i] {
                r[i] += 1;
                break;
            }
            r[i] = 0;
        }
    } else {
        r = random_bytes();
        r[0] &= 0x0f;
        r[2] &= 0x3f;
        r[3] &= 0x7f; // leaves room to count up within the millisecond
    }
    LAST_ID.with(|l| l.set((ms, r)));
    r
}

/// Applies a burst to the profile, commits its events in one transaction, then settles its
/// promises. The page context is read once per burst.
async fn apply(shared: Shared, burst: Open) {
    {
        let mut s = shared.borrow_mut();
        if s.burst.as_ref().is_some_and(|b| Rc::ptr_eq(b, &burst)) {
            s.burst = None;
        }
    }
    let Burst { items, waiters, .. } = burst.take();
    // The burst's outbox record: the first event's id as key, one event per line.
    let (mut key, mut values, mut ids) = (String::new(), String::new(), String::new());
    let errors = Array::new();
    let (store, consent, limit) = {
        let mut s = shared.borrow_mut();
        // Nothing is kept without consent or in a Studio or preview visit: the calls still resolve.
        let keep = s.consent != Consent::Denied && s.recording();
        // One context for the burst, shared by its events rather than copied into each.
        let context = match keep.then(|| capture_context(now_ms())) {
            Some(Value::Object(m)) => Some(std::sync::Arc::new(m)),
            Some(_) => Some(std::sync::Arc::default()),
            None => None,
        };
        let mut w = 0;
        for item in items {
            let mut line = String::new();
            let refused = match (item.event, &context) {
                (Err(e), _) => Some(e),
                (Ok(_), None) => None,
                (Ok((event_type, props)), Some(context)) => {
                    let now = now_ms();
                    match s.profile.track_shared(&event_type, props, now, monotonic_random(now), context.clone()) {
                        Ok(event) => {
                            if key.is_empty() {
                                key.push_str(event.id());
                            } else {
                                values.push('\n');
                            }
                            event.write_json(&mut values);
                            line = event.id().to_string();
                            s.changed(Change::Event(event));
                            None
                        }
                        Err(error) => Some(ApiError::event("track", error).into()),
                    }
                }
            };
            if item.waited {
                if let Some(e) = refused {
                    errors.push(&JsValue::from(w));
                    errors.push(&e);
                }
                if w > 0 {
                    ids.push('\n');
                }
                ids.push_str(&line);
                w += 1;
            }
        }
        (s.store.clone(), s.consent, s.config.pending_limit)
    };
    if !key.is_empty() {
        commit(&shared, &store, consent, limit, &key, &values).await;
        shared.borrow().emit("profile");
        schedule_save(&shared);
        super::sync::event_committed(&shared);
    }
    if let Some(waiters) = waiters {
        settle(&waiters, &ids, &errors);
    }
}

/// Events an outbox keeps at most while consent is granted but nothing is sent.
const MAX_UNSENT: u32 = 1000;

/// Writes the burst's events as one record; a store that refuses it is replaced by memory,
/// which keeps it. An outbox whose events wait for consent, or are never sent (Global Privacy
/// Control, no endpoint), is bounded in the same transaction: the oldest events beyond the
/// bound are dropped and counted in `status.dropped`, so the outbox cannot fill the origin's
/// storage.
async fn commit(shared: &Shared, store: &Store, consent: Consent, limit: u32, key: &str, values: &str) {
    let limit = match (consent, shared.borrow().sending_allowed) {
        (Consent::Pending, _) => f64::from(limit),
        (_, false) => f64::from(MAX_UNSENT),
        _ => -1.0,
    };
    let dropped = match JsFuture::from(put_record(store, storage::OUTBOX, key, values, limit)).await {
        Ok(n) => n,
        Err(e) if consent != Consent::Pending => {
            let memory = {
                let mut s = shared.borrow_mut();
                s.degrade(String::from("an event could not be stored: ") + &describe(&e));
                s.store.clone()
            };
            JsFuture::from(put_record(&memory, storage::OUTBOX, key, values, limit)).await.unwrap_or_default()
        }
        Err(_) => JsValue::UNDEFINED,
    };
    let mut s = shared.borrow_mut();
    s.sync.dropped = s.sync.dropped.saturating_add(dropped.as_f64().unwrap_or(0.0) as u32);
}
