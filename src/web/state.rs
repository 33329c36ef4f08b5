//! The state of one `TailorCore`, shared by the API methods, the sync loop and timers.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Function;

use super::storage::Store;
use crate::engine::config::{Config, Consent};
use crate::engine::profile::{Change, Changes, Profile};
use crate::engine::ruleset::Ruleset;

pub type Shared = Rc<RefCell<State>>;

/// What the page is open for: a shopper's visit, or a merchandiser's Studio or preview link
/// (see docs/sdk.md, "Studio and preview links"). Outside `Live` nothing is recorded.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Live,
    Studio,
    Preview,
}

impl Mode {
    pub fn parse(text: &str) -> Mode {
        match text {
            "studio" => Mode::Studio,
            "preview" => Mode::Preview,
            _ => Mode::Live,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Live => "live",
            Mode::Studio => "studio",
            Mode::Preview => "preview",
        }
    }
}

/// Problems kept for `status.problems` (oldest dropped first).
const MAX_PROBLEMS: usize = 20;

pub struct State {
    pub config: Config,
    /// Where records go: the persistent store with consent, a memory store without.
    pub store: Store,
    pub consent: Consent,
    /// Whether events may leave the device: consent granted, an endpoint configured, and no
    /// Global Privacy Control opt-out (unless the site overrides it).
    pub sending_allowed: bool,
    /// `navigator.globalPrivacyControl` was set when the SDK started.
    pub gpc: bool,
    pub anonymous_id: String,
    pub profile: Profile,
    /// The compiled ruleset decisions use (from config, cache or server).
    pub ruleset: Option<Rc<Ruleset>>,
    /// Published version of `ruleset` (from its signed envelope; 0 when given inline).
    pub ruleset_version: f64,
    /// Live, or a Studio or preview visit (nothing recorded, nothing sent).
    pub mode: Mode,
    /// While the Studio's or a preview's ruleset is in use (`ruleset`), the live one and its
    /// version: what the server publishes meanwhile lands here, not in `ruleset`.
    pub held_live: Option<(Option<Rc<Ruleset>>, f64)>,
    pub problems: Vec<String>,
    /// Called with "profile" or "status" when those change (set by the JS wrapper).
    pub listener: Option<Function>,
    /// What this tab changed in the profile since its last save (merged into the stored
    /// profile at the next one, see `engine::profile::Changes`).
    pub changes: Changes,
    /// Tells the other tabs of the origin (see tabs.rs).
    pub tell: Option<Function>,
    /// A profile write is scheduled (writes are coalesced and never block `track`).
    pub save_scheduled: bool,
    /// Profile writes under way (`tabs::save_now` between its start and its end).
    pub saves: u8,
    /// Bumped by `forget()`: async work started before it must not write afterwards.
    pub generation: u32,
    /// The sync loop: backoff, sender lock, timers, beacon cache, ruleset ETag (see sync.rs).
    pub sync: super::sync::SyncState,
    /// The page-change applier (changes.js), once made.
    pub pages: Option<wasm_bindgen::JsValue>,
    /// The `track()` calls of this task, committed together (see burst.rs).
    pub burst: Option<super::burst::Open>,
    /// The attributes of the last decision, reused while the profile is unchanged.
    pub attributes: crate::engine::profile::Attributes,
}

impl State {
    /// Records a problem for `status.problems` and tells the page.
    pub fn report(&mut self, problem: String) {
        if self.problems.len() >= MAX_PROBLEMS {
            self.problems.remove(0);
        }
        self.problems.push(problem);
        self.emit("status");
    }

    /// Tells the page's listener, in a microtask: it may call back into the SDK, which must
    /// not happen while this state is borrowed. Its exceptions stay on its side.
    pub fn emit(&self, what: &str) {
        if let Some(f) = &self.listener {
            super::page::soon(f, what);
        }
        if let (Some(p), "status") = (&self.pages, what) {
            super::changes::poke(p);
        }
    }

    /// Notes a change of the profile for the next save (only saved with consent).
    pub fn changed(&mut self, change: Change) {
        if self.storing_allowed() {
            self.changes.push(change);
        }
    }

    /// Storage refused a write (quota, blocked, private mode): carry on in memory and say so.
    pub fn degrade(&mut self, problem: String) {
        if self.store.kind() != "memory" {
            self.store = super::storage::memory_store();
        }
        self.report(problem);
    }

    /// Whether this is a shopper's visit: in the Studio or a preview nothing is recorded (no
    /// event, exposure, sticky assignment or profile write) and nothing is sent.
    pub fn recording(&self) -> bool {
        self.mode == Mode::Live
    }

    /// Whether records may be written to persistent storage.
    pub fn storing_allowed(&self) -> bool {
        self.consent == Consent::Granted
    }
}
