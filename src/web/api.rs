//! `TailorCore`: the class the JavaScript package wraps. One instance per site and page.
//!
//! Methods that touch storage return promises; validation errors reject them with a
//! `TypeError` (wrong or missing type) or `RangeError` (value not allowed) that names the
//! field. Storage failures never reach the page: the runtime falls back to memory and says
//! so in `status().problems`.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, spawn_local};

use super::burst;
use super::page;
use super::platform::{from_value, now_ms, random_bytes, to_value};
use super::state::{Mode, Shared, State};
use super::storage::{self, Store};
use super::tabs::{self, save_now, schedule_save, PROFILE};
use crate::engine::config::{Config, Consent, StorageKind};
use crate::engine::decision::{DecideOptions, Exposure};
use crate::engine::error::ApiError;
use crate::engine::experiment::ForcedVariations;
use crate::engine::json::{Map, Value};
use crate::engine::profile::{Change, Profile};
use crate::engine::ruleset::Ruleset;
use crate::engine::uuid::Uuid;

#[wasm_bindgen]
pub struct TailorCore {
    pub(crate) state: Shared,
}

/// The SDK version.
#[wasm_bindgen]
pub fn version() -> String {
    crate::VERSION.to_string()
}

fn storage_kind(kind: StorageKind) -> &'static str {
    match kind {
        StorageKind::Auto => "auto",
        StorageKind::IndexedDb => "indexeddb",
        StorageKind::LocalStorage => "localstorage",
        StorageKind::Memory => "memory",
    }
}

/// `identify`'s second argument: `{ token?, traits? }`, or the traits themselves.
fn identify_options(options: Value) -> Result<(Value, Option<String>), ApiError> {
    let Value::Object(m) = &options else {
        return Ok((options, None));
    };
    if m.get("token").is_none() && m.get("traits").is_none() {
        return Ok((options, None));
    }
    if let Some(k) = m.keys().find(|k| *k != "token" && *k != "traits") {
        return Err(ApiError::type_error(
            String::from("Tailor.identify: unknown option \"") + k + "\" (options are token and traits)",
        ));
    }
    let token = match m.get("token") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) if !t.is_empty() && t.len() <= 1024 => Some(t.clone()),
        Some(_) => {
            return Err(ApiError::type_error(
                "Tailor.identify: options.token must be the identity token string from the shop's backend",
            ))
        }
    };
    Ok((m.get("traits").cloned().unwrap_or(Value::Null), token))
}

fn db_name(config: &Config) -> String {
    String::from("tailor:") + &config.site
}

fn new_profile() -> Profile {
    let now = now_ms();
    Profile::new(&Uuid::v7_from_ms(now, random_bytes()).to_hyphenated(), now)
}

/// Opens persistent storage and loads the saved profile, or starts a new one.
async fn open_persistent(config: &Config) -> (Store, Profile, Vec<String>) {
    let (store, mut problems) = storage::open(&db_name(config), storage_kind(config.storage)).await;
    let profile = match store.read(storage::STATE, PROFILE).await {
        Ok(Some(text)) => match Profile::from_json(&text) {
            Ok(p) => p,
            Err(e) => {
                problems.push(String::from("the saved profile was unreadable and was reset: ") + &e.to_string());
                new_profile()
            }
        },
        Ok(None) => new_profile(),
        Err(e) => {
            problems.push(e);
            new_profile()
        }
    };
    (store, profile, problems)
}

fn sending_allowed(config: &Config, consent: Consent, gpc: bool) -> bool {
    consent == Consent::Granted && config.endpoint.is_some() && !(gpc && config.respect_gpc)
}

/// The context of this page view, from what the browser reports.
pub(crate) fn capture_context(now: f64) -> Value {
    let raw = page::raw_context();
    let text = |i: u32| raw.get(i).as_string();
    let raw = crate::engine::context::RawContext {
        url: text(0),
        referrer: text(1),
        language: text(2),
        time_zone: text(3),
        screen_width: raw.get(4).as_f64(),
        user_agent: text(5),
        tz_offset_minutes: raw.get(6).as_f64(),
    };
    crate::engine::context::capture(&raw, now)
}

/// A JS-`RegExp`-backed compiler for `$regex` conditions: exactly the browser's semantics.
struct JsRegex;

struct JsPattern(JsValue);

impl crate::engine::regex::Pattern for JsPattern {
    fn is_match(&self, haystack: &str) -> bool {
        page::regexp_test(&self.0, haystack)
    }
}

impl crate::engine::regex::RegexCompiler for JsRegex {
    fn compile(&self, pattern: &str, case_insensitive: bool) -> Option<Box<dyn crate::engine::regex::Pattern>> {
        let re = page::make_regexp(pattern, if case_insensitive { "i" } else { "" });
        if re.is_null() {
            None
        } else {
            Some(Box::new(JsPattern(re)))
        }
    }
}

/// Compiles a ruleset document; errors are listed with their paths.
pub(crate) fn compile_ruleset(doc: &Value) -> Result<Ruleset, String> {
    Ruleset::compile(doc, &JsRegex).map_err(|errors| {
        let mut out = String::from("invalid ruleset: ");
        for (i, e) in errors.iter().take(10).enumerate() {
            if i > 0 {
                out.push_str("; ");
            }
            out.push_str(&e.to_string());
        }
        out
    })
}

impl TailorCore {
    /// `TailorCore.init(config)` of a shopper's visit.
    pub async fn init(config: JsValue) -> Result<TailorCore, JsValue> {
        Self::start(config, None, None).await
    }
}

#[wasm_bindgen]
impl TailorCore {
    /// Validates `config`, opens storage (only with consent) and restores the profile.
    /// `mode` "studio" or "preview" (a Studio or preview link): nothing is recorded or sent;
    /// for a preview, `preview` is the server's answer to the link (a signed envelope, fetched
    /// by the JS package while the module loaded): once verified it is in use for this page
    /// before its changes are applied (see `sync_rules::accept`), else the problem is reported.
    #[wasm_bindgen(js_name = init)]
    pub async fn start(config: JsValue, mode: Option<String>, preview: Option<String>) -> Result<TailorCore, JsValue> {
        super::platform::start();
        let mode = Mode::parse(mode.as_deref().unwrap_or_default());
        let mut value = to_value(&config)
            .map_err(|e| ApiError::type_error(String::from("Tailor.init: config ") + &e))?
            .unwrap_or_default();
        let (auto_pages, nonce) = super::changes::take_options(&mut value).map_err(ApiError::type_error)?;
        let config = Config::from_value(&value).map_err(ApiError::from)?;
        let ruleset = match &config.ruleset {
            Some(doc) => Some(Rc::new(
                compile_ruleset(doc).map_err(|problems| ApiError::ruleset("Tailor.init: config.ruleset", problems))?,
            )),
            None => None,
        };
        let consent = config.consent;
        let (store, profile, problems) = if consent == Consent::Granted {
            open_persistent(&config).await
        } else {
            (storage::memory_store(), new_profile(), Vec::new())
        };
        let gpc = page::gpc();
        let state = State {
            sending_allowed: mode == Mode::Live && sending_allowed(&config, consent, gpc),
            mode,
            held_live: None,
            gpc,
            anonymous_id: profile.anonymous_id().to_string(),
            ruleset_version: 0.0,
            ruleset,
            config,
            store,
            consent,
            profile,
            problems,
            listener: None,
            changes: Default::default(),
            tell: None,
            save_scheduled: false,
            saves: 0,
            generation: 0,
            sync: Default::default(),
            pages: None,
            burst: None,
            attributes: Default::default(),
        };
        let shared = Rc::new(RefCell::new(state));
        let other = shared.clone();
        tabs::listen(&shared, move |m| heard(&other, &m));
        super::sync_rules::load_cached(&shared).await;
        if let Some(body) = preview.filter(|_| mode == Mode::Preview) {
            if let Err(e) = super::sync_rules::accept(&shared, &body, "", true).await {
                shared.borrow_mut().report(String::from("preview: ") + &e + "; the live ruleset stays in use");
            }
        }
        super::sync::start(&shared);
        // Page experiments: decided and applied now, from the cached ruleset when there is one.
        if let Some(p) = super::changes::pages(&shared, nonce, auto_pages) {
            if auto_pages {
                p.refresh(true);
            }
        }
        Ok(TailorCore { state: shared })
    }

    /// Records a touchpoint: validated, given an id, timestamp and context, applied to the
    /// profile, and committed to the outbox before the promise resolves (to the event id).
    pub fn track(&self, event_type: JsValue, props: JsValue) -> Promise {
        let event = match (event_type.as_string(), to_value(&props)) {
            (None, _) => {
                Err(ApiError::type_error("Tailor.track: type must be a string such as \"product_view\"").into())
            }
            (_, Err(e)) => Err(ApiError::type_error(String::from("Tailor.track: props ") + &e).into()),
            (Some(t), Ok(props)) => Ok((t, props.unwrap_or_default())),
        };
        burst::track(&self.state, event)
    }

    /// Links this browser's shopper to a known user id: `identify(userId, { token, traits })`
    /// (`token`: the identity token the shop's backend issued at login; without a valid one
    /// the server merges nothing of the user), or `identify(userId, traits)`.
    pub fn identify(&self, user_id: JsValue, options: JsValue) -> Promise {
        burst::close(&self.state);
        let shared = self.state.clone();
        future_to_promise(async move {
            let Some(user_id) = user_id.as_string() else {
                return Err(ApiError::type_error("Tailor.identify: userId must be a string").into());
            };
            let options = to_value(&options)
                .map_err(|e| ApiError::type_error(String::from("Tailor.identify: options ") + &e))?
                .unwrap_or_default();
            let (traits, token) = identify_options(options)?;
            {
                let mut s = shared.borrow_mut();
                if s.consent == Consent::Denied || !s.recording() {
                    return Ok(JsValue::UNDEFINED);
                }
                s.profile
                    .identify(&user_id, traits.clone(), now_ms())
                    .map_err(|error| ApiError::profile("identify", error))?;
                s.changed(Change::Identify(user_id.clone(), traits));
                s.emit("profile");
            }
            schedule_save(&shared);
            super::sync_identity::keep_token(&shared, &user_id, token).await;
            super::sync::identified(&shared, &user_id).await;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Logout on a shared device: a new anonymous id, no user id, no traits, no history, and
    /// the identity token dropped, so the next user's login absorbs nothing of this one.
    /// Consent stays; events already tracked are still sent (under the ids they were made with).
    pub fn reset(&self) -> Promise {
        burst::close(&self.state);
        let shared = self.state.clone();
        future_to_promise(async move {
            {
                let mut s = shared.borrow_mut();
                if !s.recording() {
                    return Ok(JsValue::UNDEFINED);
                }
                s.generation += 1;
                s.profile = new_profile();
                s.anonymous_id = s.profile.anonymous_id().to_string();
                s.changes.replace();
                s.emit("profile");
                s.emit("status");
            }
            super::sync::reset(&shared).await;
            // Saved before the promise resolves: a reload right after reset() must not bring
            // back the previous shopper's profile.
            save_now(shared).await;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// A read-only snapshot of the profile (see docs/profile.md).
    pub fn profile(&self) -> JsValue {
        from_value(&self.state.borrow().profile.snapshot(now_ms()))
    }

    /// Sets consent: "granted" stores what was held and starts sending; "denied" drops
    /// held events and erases what was stored; "pending" stops storing.
    pub fn consent(&self, value: JsValue) -> Promise {
        burst::close(&self.state);
        let shared = self.state.clone();
        future_to_promise(async move {
            let Some(consent) = value.as_string().as_deref().and_then(Consent::parse) else {
                return Err(ApiError::range_error(
                    "Tailor.consent: state must be one of \"granted\", \"denied\", \"pending\"",
                )
                .into());
            };
            // The other tabs first, so that they stop sending at once.
            tabs::tell(&shared, &(String::from("consent ") + consent.as_str()));
            set_consent(&shared, consent, true).await;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Erases the profile, outbox, ids and caches on this device (and asks the server to
    /// erase the shopper's data); afterwards consent is "pending" with a new anonymous id.
    pub fn forget(&self) -> Promise {
        burst::close(&self.state);
        let shared = self.state.clone();
        future_to_promise(async move {
            let (store, old_ids) = drop_shopper(&shared, new_profile());
            // The other tabs first, so that they stop sending under the old ids at once.
            tabs::tell(&shared, &(String::from("forget ") + &shared.borrow().anonymous_id));
            if let Err(e) = store.erase().await {
                shared.borrow_mut().report(String::from("forget: the local database could not be deleted: ") + &e);
            }
            super::sync::forgotten(&shared, Some(old_ids.0), old_ids.1).await;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Registers the function the JS wrapper calls listeners from: `f("profile" | "status")`.
    #[wasm_bindgen(js_name = setListener)]
    pub fn set_listener(&self, f: Option<Function>) {
        self.state.borrow_mut().listener = f;
    }

    /// Decides offers per placement and experiment variations for this page.
    /// `context` adds page attributes (`context.*`); the options come checked by the JS
    /// wrapper (`decideOptions` in api.js): `record: false` previews without recording
    /// exposures, `reasons: false` leaves out the reasons, `forced` (`tailor_force`'s text,
    /// `key:index,...`) forces variations over the URL's, `placements` limits the placements
    /// (ids the ruleset does not have are left out). Nothing is recorded in the Studio or a
    /// preview.
    pub fn decide(
        &self,
        context: JsValue,
        record: bool,
        reasons: bool,
        forced: Option<String>,
        placements: JsValue,
    ) -> Result<JsValue, JsValue> {
        let extra =
            to_value(&context).map_err(|e| ApiError::type_error(String::from("Tailor.decide: context ") + &e))?;
        // An array of strings (checked by the wrapper), through the JSON reader the module
        // has anyway: a `Vec<String>` parameter would bring its own glue.
        let placements = to_value(&placements).ok().flatten().and_then(|v| match v {
            Value::Array(a) => Some(a.iter().filter_map(Value::as_str).map(String::from).collect::<Vec<_>>()),
            _ => None,
        });
        let record = record && self.state.borrow().recording();
        let forced = ForcedVariations::parse(&(page::force_param() + "," + forced.as_deref().unwrap_or_default()));
        let now = now_ms();
        let Some(ruleset) = self.state.borrow().ruleset.clone() else {
            return Ok(js_sys::JSON::parse(crate::engine::decision::EMPTY_JSON).unwrap_or(JsValue::NULL));
        };
        let options = DecideOptions { now, placements, forced };
        let (decision, audiences) = {
            let mut s = self.state.borrow_mut();
            let attrs = attributes(&mut s, now, extra);
            (ruleset.decide(attrs, &options), record.then(|| member_of(&ruleset, attrs)))
        };
        let out = js_sys::JSON::parse(&decision.to_json_with(reasons)).unwrap_or(JsValue::NULL);
        if record {
            let mut events = Vec::new();
            let joined;
            {
                let mut s = self.state.borrow_mut();
                joined = keep_audiences(&mut s, audiences.unwrap_or_default(), now);
                for (i, sticky) in &decision.sticky {
                    if let Some(x) = ruleset.experiments.get(*i) {
                        s.profile.set_assignment(&x.key, sticky.variation as u32, sticky.bucket_version);
                        s.changed(Change::Assignment(x.key.clone(), sticky.variation as u32, sticky.bucket_version));
                    }
                }
                for e in &decision.exposures {
                    events.push(exposure_event(&ruleset, e));
                }
            }
            for (t, props) in events {
                burst::record(&self.state, t, props);
            }
            if joined {
                schedule_save(&self.state);
            }
        }
        Ok(out)
    }

    /// Applies page changes: those of `decision` (an object shaped like `decide()`'s answer)
    /// or, without one, of a new decision for the current URL. Answers with the keys of the
    /// experiments whose changes are on the page.
    #[wasm_bindgen(js_name = applyChanges)]
    pub fn apply_changes(&self, decision: JsValue) -> JsValue {
        let Some(p) = super::changes::pages(&self.state, None, false) else {
            return js_sys::Array::new().into();
        };
        let decision = if decision.is_object() { decision } else { decide_for_pages(&self.state) };
        p.run(&decision)
    }

    /// Takes every page change off the page and stops watching it (and its route changes).
    #[wasm_bindgen(js_name = revertChanges)]
    pub fn revert_changes(&self) {
        let p = self.state.borrow_mut().pages.take();
        if let Some(p) = p {
            p.unchecked_into::<super::changes::Pages>().stop();
        }
    }

    /// Replaces the ruleset (a JSON object); rejects with the paths of every problem. In the
    /// Studio or a preview the ruleset holds (the server's live updates do not replace it)
    /// until `setRuleset(null)` goes back to the live one, and each change emits "ruleset" so
    /// the page's own listeners redraw what it shows.
    #[wasm_bindgen(js_name = setRuleset)]
    pub fn set_ruleset(&self, doc: JsValue) -> Result<(), JsValue> {
        let doc = to_value(&doc)
            .map_err(|e| ApiError::type_error(String::from("Tailor.setRuleset: ") + &e))?
            .filter(|d| !d.is_null());
        let mut s = self.state.borrow_mut();
        let Some(doc) = doc else {
            if let Some((live, version)) = s.held_live.take() {
                s.ruleset = live;
                s.ruleset_version = version;
                s.emit("ruleset");
            }
            return Ok(());
        };
        let rs = compile_ruleset(&doc).map_err(|problems| ApiError::ruleset("Tailor.setRuleset", problems))?;
        hold(&mut s, rs, 0.0);
        if !s.recording() {
            s.emit("ruleset");
        }
        Ok(())
    }

    /// What the Studio's own engine needs to decide exactly as this page does:
    /// `{ profile: Profile::to_json, context }` (the page context conditions read).
    #[wasm_bindgen(js_name = studioState)]
    pub fn studio_state(&self) -> JsValue {
        let mut m = Map::new();
        m.insert("profile", Value::from(self.state.borrow().profile.to_json()));
        m.insert("context", capture_context(now_ms()));
        from_value(&Value::Object(m))
    }

    /// Where things stand: `{ ready, site, storage, consent, sending, gpc, anonymousId,
    /// userId, rulesetVersion, problems }`.
    pub fn status(&self) -> JsValue {
        let s = self.state.borrow();
        let o = Object::new();
        let set = |k: &str, v: JsValue| {
            let _ = Reflect::set(&o, &k.into(), &v);
        };
        set("ready", true.into());
        set("mode", s.mode.as_str().into());
        set("site", s.config.site.as_str().into());
        set("storage", s.store.kind().into());
        set("consent", s.consent.as_str().into());
        set("sending", s.sending_allowed.into());
        set("gpc", s.gpc.into());
        set("anonymousId", s.profile.anonymous_id().into());
        set("userId", s.profile.user_id().map_or(JsValue::NULL, JsValue::from));
        set("rulesetVersion", if s.ruleset.is_some() { JsValue::from(s.ruleset_version) } else { JsValue::NULL });
        set("dropped", JsValue::from(s.sync.dropped));
        set("problems", s.problems.iter().map(|p| JsValue::from_str(p)).collect::<js_sys::Array>().into());
        o.into()
    }
}

/// Puts `rs` in use in place of the ruleset the server publishes: for good in a shopper's
/// visit; in the Studio or a preview it holds, the live one kept aside (see `State::held_live`).
pub(crate) fn hold(s: &mut State, rs: Ruleset, version: f64) {
    let previous = (s.ruleset.take(), s.ruleset_version);
    if !s.recording() && s.held_live.is_none() {
        s.held_live = Some(previous);
    }
    s.ruleset = Some(Rc::new(rs));
    s.ruleset_version = version;
}

/// The decision page changes are applied from: experiments only (no offers, so no
/// impressions), sticky assignments kept, no exposure recorded (the applier records those
/// of `pageExposures` once a change is on the page).
pub(crate) fn decide_for_pages(shared: &Shared) -> JsValue {
    let now = now_ms();
    let Some(ruleset) = shared.borrow().ruleset.clone() else {
        return JsValue::NULL;
    };
    // Only the experiments that target this URL: deciding every experiment here would store
    // sticky assignments of experiments the page never shows (hashed on the anonymous id,
    // before a later identify).
    let options =
        DecideOptions { now, placements: Some(Vec::new()), forced: ForcedVariations::parse(&page::force_param()) };
    let mut s = shared.borrow_mut();
    let recording = s.recording();
    let attrs = attributes(&mut s, now, None);
    let decision = ruleset.decide_page(attrs, &options);
    let audiences = recording.then(|| member_of(&ruleset, attrs));
    let mut save = keep_audiences(&mut s, audiences.unwrap_or_default(), now);
    let sticky = if s.recording() { &decision.sticky[..] } else { &[] };
    for (i, sticky) in sticky {
        if let Some(x) = ruleset.experiments.get(*i) {
            s.profile.set_assignment(&x.key, sticky.variation as u32, sticky.bucket_version);
            s.changed(Change::Assignment(x.key.clone(), sticky.variation as u32, sticky.bucket_version));
        }
    }
    save |= !sticky.is_empty();
    // The page-change applier reads no reasons.
    let out = js_sys::JSON::parse(&decision.to_json_with(false)).unwrap_or(JsValue::NULL);
    drop(s);
    if save {
        schedule_save(shared);
    }
    out
}

/// The attributes conditions read: `profile.*`, `context.*` (the page's,
/// with `extra` over it), `user.*`, `id`, `anonymousId`. The profile part is kept between
/// calls while the profile is unchanged (`engine::profile::Attributes`).
fn attributes(s: &mut State, now: f64, extra: Option<Value>) -> &Value {
    let mut context = capture_context(now);
    if let (Some(ctx), Some(Value::Object(extra))) = (context.as_object_mut(), extra) {
        for (k, v) in extra.iter() {
            ctx.insert(k, v.clone());
        }
    }
    let State { attributes, profile, .. } = s;
    attributes.get(profile, now, context)
}

/// The names of the ruleset's audiences that the decision's attributes match.
fn member_of(ruleset: &Ruleset, attributes: &Value) -> Vec<String> {
    ruleset.audiences_of(attributes).into_iter().map(String::from).collect()
}

/// Keeps audience membership in the profile (`profile.audiences`, docs/profile.md): set on
/// every recorded decision to the audiences the shopper matches. Says whether it changed.
fn keep_audiences(s: &mut State, names: Vec<String>, now: f64) -> bool {
    if !s.recording() || !s.profile.set_audiences(names.iter().map(String::as_str), now) {
        return false;
    }
    s.changed(Change::Audiences(names, now));
    true
}

fn exposure_event(rs: &Ruleset, e: &Exposure) -> (&'static str, Value) {
    let mut props = Map::new();
    match e {
        Exposure::Experiment { experiment, variation } => {
            let x = rs.experiments.get(*experiment);
            props.insert("experimentKey", Value::from(x.map_or("", |x| x.key.as_str())));
            props.insert("variation", Value::Number(*variation as f64));
            if let Some(x) = x {
                props.insert("bucketVersion", Value::Number(x.bucket_version as f64));
            }
            ("experiment_exposure", Value::Object(props))
        }
        Exposure::OfferImpression { offer, placement, experiment } => {
            props.insert("offerId", Value::from(rs.offers.get(*offer).map_or("", |o| o.id.as_str())));
            props.insert("placement", Value::from(rs.placements.get(*placement).map_or("", |p| p.id.as_str())));
            if let Some((x, v)) = experiment {
                let key = rs.experiments.get(*x).map_or("", |x| x.key.as_str());
                props.insert("variant", Value::from(String::from(key) + ":" + &v.to_string()));
            }
            ("offer_impression", Value::Object(props))
        }
    }
}

/// Forgets this tab's shopper (`forget()` here or in another tab): stops sending at once,
/// drops what is held in memory and starts `profile` with consent "pending". Answers the
/// store and the `(anonymousId, userId)` that were in use.
fn drop_shopper(shared: &Shared, profile: Profile) -> (Store, (String, Option<String>)) {
    let mut s = shared.borrow_mut();
    s.generation += 1;
    let ids = (s.profile.anonymous_id().to_string(), s.profile.user_id().map(String::from));
    s.profile = profile;
    s.anonymous_id = s.profile.anonymous_id().to_string();
    s.consent = Consent::Pending;
    s.sending_allowed = false;
    s.changes.clear();
    s.sync.beacon_cache.clear();
    s.sync.backoff = Default::default();
    s.emit("profile");
    s.emit("status");
    (std::mem::replace(&mut s.store, storage::memory_store()), ids)
}

/// A message from another tab of this site (see tabs.rs). What that tab did is done here
/// too, except what it already did for the origin (erasing storage, asking the server to
/// erase the anonymous id).
fn heard(shared: &Shared, message: &str) {
    let shared = shared.clone();
    if message == "saved" {
        schedule_save(&shared);
    } else if let Some(id) = message.strip_prefix("forget ").filter(|id| !id.is_empty()) {
        let (_, (_, user)) = drop_shopper(&shared, Profile::new(id, now_ms()));
        // A user's erasure needs the identity token, which this tab may hold alone.
        spawn_local(async move { super::sync::forgotten(&shared, None, user).await });
    } else if let Some(consent) = message.strip_prefix("consent ").and_then(Consent::parse) {
        spawn_local(async move { set_consent(&shared, consent, false).await });
    }
}

/// Moves between consent states (see `TailorCore::consent`); `here`: asked in this tab
/// (another tab that asked has erased the storage already).
async fn set_consent(shared: &Shared, consent: Consent, here: bool) {
    let previous = shared.borrow().consent;
    if previous == consent {
        return;
    }
    match consent {
        Consent::Granted => {
            let config = shared.borrow().config.clone();
            let (store, mut problems) = storage::open(&db_name(&config), storage_kind(config.storage)).await;
            // Keep a profile saved on an earlier visit; apply what happened while pending to it.
            let held_store = shared.borrow().store.clone();
            let saved = match store.read(storage::STATE, PROFILE).await {
                Ok(Some(text)) => Profile::from_json(&text).ok(),
                _ => None,
            };
            // The held events, made under this page's temporary id: a returning shopper's
            // saved profile keeps its own id, so they are re-issued under it.
            let owner = saved.as_ref().map(|p| p.anonymous_id().to_string());
            let mut keys = Vec::new();
            let mut held = Vec::new();
            let records = held_store.read_all(storage::OUTBOX, 0).await.unwrap_or_default();
            for text in records.iter().flat_map(|r| r.split('\n')) {
                let Ok(mut v) = Value::parse(text) else { continue };
                if let (Some(owner), Some(m)) = (&owner, v.as_object_mut()) {
                    m.insert("anonymousId", Value::from(owner.as_str()));
                }
                if let Ok(e) = crate::engine::event::Event::from_value(&v) {
                    if keys.is_empty() {
                        keys.push(e.id().to_string());
                    }
                    held.push(e);
                }
            }
            {
                let mut s = shared.borrow_mut();
                if let Some(mut saved) = saved {
                    for e in &held {
                        saved.record(e, now_ms());
                    }
                    s.profile = saved;
                    s.anonymous_id = s.profile.anonymous_id().to_string();
                }
                s.store = store.clone();
                s.consent = Consent::Granted;
                s.sending_allowed = s.recording() && sending_allowed(&s.config, Consent::Granted, s.gpc);
            }
            // One outbox record for them all, under the first one's id.
            let mut text = String::new();
            for e in &held {
                if !text.is_empty() {
                    text.push('\n');
                }
                e.write_json(&mut text);
            }
            let texts = [text];
            // The held events merge into the stored profile at the next save.
            {
                let changes = &mut shared.borrow_mut().changes;
                changes.clear();
                for e in held {
                    changes.push(Change::Event(e));
                }
            }
            if let Err(e) =
                if keys.is_empty() { Ok(()) } else { store.write_many(storage::OUTBOX, &keys, &texts).await }
            {
                problems.push(e);
            }
            let _ = held_store.erase().await;
            let mut s = shared.borrow_mut();
            for p in problems {
                s.report(p);
            }
            s.emit("status");
        }
        Consent::Denied | Consent::Pending => {
            // Back to pending keeps what was stored: profile changes still waiting for their
            // save task (each track() resolves once its event is stored, the profile follows
            // in a later task) are written before the store is let go.
            if previous == Consent::Granted && consent == Consent::Pending {
                save_now(shared.clone()).await;
            }
            let old = {
                let mut s = shared.borrow_mut();
                s.generation += 1;
                s.consent = consent;
                s.sending_allowed = false;
                s.changes.clear();
                s.sync.beacon_cache.clear();
                std::mem::replace(&mut s.store, storage::memory_store())
            };
            // Withdrawn consent: what was stored goes. Pending keeps nothing new either way.
            if here && consent == Consent::Denied || previous == Consent::Pending {
                let _ = old.erase().await;
            }
            shared.borrow().emit("status");
        }
    }
    if shared.borrow().consent == Consent::Granted {
        schedule_save(shared);
        super::sync::event_committed(shared);
    }
}
