//! Group commit of `track()`: the calls of one task form a burst that one Rust task applies
//! to the profile and commits to the outbox in one transaction; every call's promise settles
//! once that transaction has committed (see `burst.js`).
//!
//! A burst is applied in the microtask it was scheduled in, at the place of its first call:
//! the same order as if each call ran on its own. `identify`, `reset`, `consent` and
//! `forget` close the open burst, so a call made after them in the same task is applied
//! after them, as before group commit.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{spawn_local, JsFuture};

use super::api::{capture_context, event_error};
use super::platform::{now_ms, random_bytes};
use super::state::Shared;
use super::storage::{self, describe, Store};
use super::tabs::schedule_save;
use crate::engine::config::Consent;
use crate::engine::json::Value;
use crate::engine::profile::Change;

#[wasm_bindgen(module = "/src/web/burst.js")]
extern "C" {
    type Waiters;
    #[wasm_bindgen(constructor)]
    fn new() -> Waiters;
    #[wasm_bindgen(method)]
    fn add(this: &Waiters) -> Promise;
    #[wasm_bindgen(method)]
    fn fail(this: &Waiters, i: u32, error: &JsValue);
    #[wasm_bindgen(method)]
    fn settle(this: &Waiters, ids: &str);
    #[wasm_bindgen(js_name = putLines)]
    fn put_lines(store: &Store, name: &str, keys: &str, values: &str) -> Promise;
}

struct Item {
    event_type: String,
    props: Value,
    /// Whether a promise waits for it (exposures recorded by decisions have none).
    waited: bool,
}

/// The calls of one burst, in call order, and their promises.
#[derive(Default)]
pub struct Burst {
    items: Vec<Item>,
    waiters: Option<Waiters>,
    waited: u32,
}

pub type Open = Rc<RefCell<Burst>>;

/// Adds an event to this task's burst (a new burst, and its task, for the first one).
/// `wait`: answers the promise of the call, which resolves to the event id once committed
/// (null when nothing is kept) or rejects with the validation error.
pub fn enqueue(shared: &Shared, event_type: String, props: Value, wait: bool) -> Option<Promise> {
    let open = shared.borrow().burst.clone();
    let burst = match open {
        Some(b) => b,
        None => {
            let b = Open::default();
            shared.borrow_mut().burst = Some(b.clone());
            spawn_local(apply(shared.clone(), b.clone()));
            b
        }
    };
    let mut b = burst.borrow_mut();
    b.items.push(Item { event_type, props, waited: wait });
    if !wait {
        return None;
    }
    b.waited += 1;
    Some(b.waiters.get_or_insert_with(Waiters::new).add())
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
    let (mut keys, mut values, mut ids) = (String::new(), String::new(), String::new());
    let (store, consent, limit) = {
        let mut s = shared.borrow_mut();
        // Nothing is kept without consent or in a Studio or preview visit: the calls still resolve.
        let keep = s.consent != Consent::Denied && s.recording();
        let context = if keep { Some(capture_context(now_ms())) } else { None };
        let mut w = 0;
        for item in items {
            let line = match &context {
                Some(context) => {
                    let now = now_ms();
                    match s.profile.track(
                        &item.event_type,
                        item.props,
                        now,
                        monotonic_random(now),
                        Some(context.clone()),
                    ) {
                        Ok(event) => {
                            if !keys.is_empty() {
                                keys.push('\n');
                                values.push('\n');
                            }
                            keys.push_str(event.id());
                            event.write_json(&mut values);
                            let id = event.id().to_string();
                            s.changed(Change::Event(event));
                            id
                        }
                        Err(e) => {
                            if let (true, Some(waiters)) = (item.waited, &waiters) {
                                waiters.fail(w, &event_error("track", e));
                            }
                            String::new()
                        }
                    }
                }
                None => String::new(),
            };
            if item.waited {
                if w > 0 {
                    ids.push('\n');
                }
                ids.push_str(&line);
                w += 1;
            }
        }
        (s.store.clone(), s.consent, s.config.pending_limit)
    };
    if !keys.is_empty() {
        commit(&shared, &store, consent, limit, &keys, &values).await;
        shared.borrow().emit("profile");
        schedule_save(&shared);
        super::sync::event_committed(&shared);
    }
    if let Some(waiters) = waiters {
        waiters.settle(&ids);
    }
}

/// Writes the burst's events; a store that refuses them is replaced by memory, which keeps them.
async fn commit(shared: &Shared, store: &Store, consent: Consent, limit: u32, keys: &str, values: &str) {
    let written = JsFuture::from(put_lines(store, storage::OUTBOX, keys, values)).await;
    if consent == Consent::Pending {
        // Held in memory with their original ids and times until consent is given; bounded.
        bound_outbox(shared, store, limit).await;
    } else if let Err(e) = written {
        let memory = {
            let mut s = shared.borrow_mut();
            s.degrade(String::from("an event could not be stored: ") + &describe(&e));
            s.store.clone()
        };
        let _ = JsFuture::from(put_lines(&memory, storage::OUTBOX, keys, values)).await;
    } else if !shared.borrow().sending_allowed {
        // Stored but never sent (Global Privacy Control, no endpoint): bounded too, so the
        // outbox cannot fill the origin's storage.
        bound_unsent(shared);
    }
}

/// Events an outbox keeps at most while consent is granted but nothing is sent.
const MAX_UNSENT: u32 = 1000;

/// Keeps the outbox within `MAX_UNSENT` events, in the background: one pass at a time, and
/// one more after it when events were committed meanwhile.
fn bound_unsent(shared: &Shared) {
    {
        let mut s = shared.borrow_mut();
        s.bounding = s.bounding.saturating_add(1).min(2);
        if s.bounding > 1 {
            return;
        }
    }
    let shared = shared.clone();
    spawn_local(async move {
        loop {
            let store = shared.borrow().store.clone();
            bound_outbox(&shared, &store, MAX_UNSENT).await;
            let mut s = shared.borrow_mut();
            s.bounding -= 1;
            if s.bounding == 0 {
                break;
            }
        }
    });
}

/// Keeps the outbox within `limit` events: drops the oldest, counted in `status.dropped`.
async fn bound_outbox(shared: &Shared, store: &Store, limit: u32) {
    if let Ok(n) = store.trim(storage::OUTBOX, limit).await {
        let mut s = shared.borrow_mut();
        s.sync.dropped = s.sync.dropped.saturating_add(n);
    }
}
