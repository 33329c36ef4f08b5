//! Several tabs of one origin share one profile, one outbox and one consent.
//!
//! - Profile writes merge: a save reads the stored profile and applies this tab's changes
//!   to it in one storage transaction (`engine::profile::Changes`), so no tab rolls back
//!   another's counters, caps, orders or sticky assignments. After a write the other tabs
//!   are told ("saved") and take the stored profile too.
//! - `forget()` and consent changes are told to every other tab at once ("forget <id>",
//!   "consent <state>"), which then stop sending, drop what they hold in memory and take
//!   the new anonymous id or consent (handled in api.rs).

use js_sys::Function;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::spawn_local;

use super::page;
use super::platform::now_ms;
use super::state::Shared;
use super::storage;

#[wasm_bindgen(module = "/src/web/tabs.js")]
extern "C" {
    /// Listens on the channel `name` (calls `f(message)`); returns the function that posts.
    fn tabs(name: &str, f: &JsValue) -> Function;
}

/// Key of the profile in the state store.
pub const PROFILE: &str = "profile";

/// Hears the other tabs of this site: `heard(message)`.
pub fn listen(shared: &Shared, heard: impl FnMut(String) + 'static) {
    let name = String::from("tailor:") + &shared.borrow().config.site + ":tabs";
    let heard = Closure::<dyn FnMut(String)>::new(heard);
    shared.borrow_mut().tell = Some(tabs(&name, &heard.into_js_value()));
}

/// Tells the other tabs of this site.
pub fn tell(shared: &Shared, message: &str) {
    if let Some(f) = &shared.borrow().tell {
        let _ = f.call1(&JsValue::NULL, &JsValue::from_str(message));
    }
}

/// Changes held before a save starts without waiting for its task. A page that calls
/// `track` in a loop of promises only (awaiting each call or each `Promise.all`) gives no
/// task its turn, and every event it tracks would wait in `changes` (about 1.4 KB each in
/// the bench's memory row, 100,000 calls) until the loop ends.
const SAVE_NOW_AT: usize = 500;

/// Writes the profile soon, once per burst of changes; never blocks the caller. Once
/// `SAVE_NOW_AT` changes wait and no write is under way, the write starts at once.
pub fn schedule_save(shared: &Shared) {
    let later = {
        let mut s = shared.borrow_mut();
        if !s.storing_allowed() {
            return;
        }
        let now = s.saves == 0 && s.changes.len() >= SAVE_NOW_AT;
        if s.save_scheduled && !now {
            return;
        }
        let first = !s.save_scheduled;
        s.save_scheduled = true;
        if now {
            // Counted as under way from here, so the calls until it starts add no other.
            s.saves += 1;
            let shared = shared.clone();
            spawn_local(async move {
                shared.borrow_mut().saves -= 1;
                save_now(shared).await;
            });
        }
        first && !now
    };
    if later {
        let shared = shared.clone();
        page::later(Closure::once_into_js(move || spawn_local(save_now(shared))).unchecked_into());
    }
}

/// The page is being hidden or left: a profile save still waiting for its task is started
/// now, since a task scheduled for later never runs on a page that is unloading.
pub fn save_if_pending(shared: &Shared) {
    if shared.borrow().save_scheduled {
        spawn_local(save_now(shared.clone()));
    }
}

/// Merges this tab's changes into the stored profile, in the transaction that writes it,
/// and takes the result (what other tabs recorded included) as this tab's profile.
pub async fn save_now(shared: Shared) {
    let (store, generation) = {
        let mut s = shared.borrow_mut();
        s.save_scheduled = false;
        // Nothing is written in the Studio or a preview: the merchandiser's stored profile stays as it was.
        if !s.storing_allowed() || !s.recording() {
            return;
        }
        s.saves += 1;
        (s.store.clone(), s.generation)
    };
    let inner = shared.clone();
    let merge = Closure::<dyn FnMut(String)>::new(move |stored: String| {
        let Ok(mut s) = inner.try_borrow_mut() else { return };
        if s.generation != generation || !s.storing_allowed() {
            return;
        }
        let s = &mut *s;
        let revision = s.profile.revision();
        let stored = Some(stored.as_str()).filter(|t| !t.is_empty());
        if let Some(text) = s.changes.merge_into(stored, &mut s.profile, now_ms()) {
            storage::reply(&text);
        }
        if s.profile.revision() != revision {
            s.anonymous_id = s.profile.anonymous_id().to_string();
            s.emit("profile");
        }
    });
    let result = store.update(storage::STATE, PROFILE, &merge).await;
    let more = {
        let mut s = shared.borrow_mut();
        s.saves -= 1;
        s.changes.len() >= SAVE_NOW_AT
    };
    match result {
        Ok(true) => tell(&shared, "saved"),
        Ok(false) => {}
        Err(e) => {
            let mut s = shared.borrow_mut();
            if s.generation == generation {
                s.degrade(String::from("the profile could not be saved: ") + &e);
            }
        }
    }
    if more {
        schedule_save(&shared);
    }
}
