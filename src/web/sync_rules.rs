//! Signed rulesets from the server: fetched with `If-None-Match`, verified with the pinned
//! Ed25519 key (WebCrypto), compiled, and cached in localStorage so that the next page
//! decides with them at once, before the network answers (stale-while-revalidate).
//!
//! A ruleset that is missing, fails to verify, has expired, names another site, is older
//! than the one in use or than the version floor (the highest version ever accepted here,
//! kept apart from the cache), or does not compile is refused; the last good one stays. The
//! cached envelope is verified again before use.
//!
//! With `config.liveUpdates`, envelopes pushed by the server's stream go through the same
//! checks (`accept`), as do the fallback's polls (see docs/sync.md, "Live updates").

use std::rc::Rc;

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{spawn_local, JsFuture};

use super::api::TailorCore;
use super::platform::now_ms;
use super::state::Shared;
use super::sync::{http, ls_get, ls_remove, ls_set, num, url, verify_ed25519};
use crate::engine::wire::RulesetEnvelope;

fn cache_key(shared: &Shared) -> String {
    String::from("tailor:") + &shared.borrow().config.site + ":ruleset"
}

/// localStorage key of the highest ruleset version this browser has accepted for the site.
/// It is not removed with the cache (nor by `forget()`: it says nothing about the shopper),
/// so an older signed envelope replayed later is refused even when the cache is gone.
fn floor_key(shared: &Shared) -> String {
    cache_key(shared) + ":floor"
}

/// The version floor: the highest version accepted so far (0: none).
fn floor(shared: &Shared) -> f64 {
    ls_get(&floor_key(shared)).and_then(|t| crate::engine::json::parse_number(&t)).unwrap_or(0.0)
}

fn raise_floor(shared: &Shared, version: f64) {
    if shared.borrow().storing_allowed() && version > floor(shared) {
        ls_set(&floor_key(shared), &num(version));
    }
}

/// Uses the cached envelope, if any, once its signature is verified again (localStorage can
/// be written by anything on the origin), it is still valid and not below the version floor.
/// Awaited by `init`, so the first decision of the page already has it.
pub async fn load_cached(shared: &Shared) {
    if !shared.borrow().storing_allowed() {
        return;
    }
    let key = cache_key(shared);
    let Some(text) = ls_get(&key) else {
        return;
    };
    let etag = ls_get(&(key.clone() + ":etag"));
    let Ok(env) = RulesetEnvelope::parse(&text) else {
        ls_remove(&key);
        return;
    };
    let (site, public_key) = {
        let s = shared.borrow();
        (s.config.site.clone(), s.config.public_key.clone())
    };
    // Version 0 is a preview (never published): it is never cached, so never used from here.
    if env.site != site || env.version == 0 || !env.is_current(now_ms() as i64) {
        return;
    }
    let problem = match &public_key {
        None => Some(String::from("config.publicKey is not set, so the cached one cannot be verified")),
        Some(_) if (env.version as f64) < floor(shared) => Some(
            String::from("refused the cached version ")
                + &num(env.version as f64)
                + ", older than version "
                + &num(floor(shared))
                + " accepted before",
        ),
        Some(k) => {
            let verdict = JsFuture::from(verify_ed25519(k, &env.signature, &env.signing_payload()))
                .await
                .ok()
                .and_then(|v| v.as_string())
                .unwrap_or_else(|| "the signature could not be checked".into());
            (!verdict.is_empty()).then(|| String::from("refused the cached version: ") + &verdict)
        }
    };
    if let Some(problem) = problem {
        forget_cache(shared);
        shared.borrow_mut().report(String::from("ruleset: ") + &problem);
        return;
    }
    let mut s = shared.borrow_mut();
    if let Ok(rs) = super::api::compile_ruleset(&env.ruleset) {
        s.ruleset = Some(Rc::new(rs));
        s.ruleset_version = env.version as f64;
        s.sync.ruleset_etag = etag;
    }
}

/// Drops the cached ruleset (`forget()`); the one in memory stays in use for this page.
pub fn forget_cache(shared: &Shared) {
    let key = cache_key(shared);
    ls_remove(&key);
    ls_remove(&(key + ":etag"));
    shared.borrow_mut().sync.ruleset_etag = None;
}

/// Fetches the site's ruleset. Returns whether a new one is now in use, and the problem met
/// (also recorded in `status.problems`).
pub async fn refresh(shared: &Shared) -> (bool, Option<String>) {
    let result = fetch_and_apply(shared).await;
    match result {
        Ok(changed) => (changed, None),
        Err(problem) => {
            let problem = String::from("ruleset: ") + &problem;
            shared.borrow_mut().report(problem.clone());
            (false, Some(problem))
        }
    }
}

async fn fetch_and_apply(shared: &Shared) -> Result<bool, String> {
    let (site, etag) = {
        let s = shared.borrow();
        (s.config.site.clone(), s.sync.ruleset_etag.clone())
    };
    let Some(url) = url(shared, &(String::from("/v1/rulesets/") + &site)) else {
        return Err("no endpoint is configured".into());
    };
    if shared.borrow().config.public_key.is_none() {
        return Err("config.publicKey is not set, so rulesets from the server cannot be verified".into());
    }
    let answer = http("GET", &url, None, etag).await;
    match answer.status {
        304 => return Ok(false),
        200 => {}
        404 => return Err(String::from("none is published for site ") + &site + "; keeping the last good one"),
        0 => return Err(String::from("the server did not answer: ") + &answer.body),
        n => {
            return Err(String::from("the server answered HTTP ") + &num(f64::from(n)) + "; keeping the last good one")
        }
    }
    accept(shared, &answer.body, &answer.etag, false).await
}

/// The version of the live ruleset (the one held aside while the Studio's or a preview's is in use).
fn live_version(shared: &Shared) -> f64 {
    let s = shared.borrow();
    s.held_live.as_ref().map_or(s.ruleset_version, |(_, v)| *v)
}

/// Verifies a signed envelope from the server (a fetch or the live stream) and, when it
/// passes every check, puts it in use (or, while the Studio's or a preview's ruleset holds,
/// keeps it aside for when that ends) and caches it. Returns whether the version changed.
/// `preview`: the answer of a preview link, which must be version 0 (no published version
/// is), is not held to the version floor, never cached, and holds over live updates; any
/// other envelope of version 0 is refused.
pub async fn accept(shared: &Shared, body: &str, etag: &str, preview: bool) -> Result<bool, String> {
    let (site, key) = {
        let s = shared.borrow();
        (s.config.site.clone(), s.config.public_key.clone())
    };
    let Some(key) = key else {
        return Err("config.publicKey is not set, so rulesets from the server cannot be verified".into());
    };
    let env = RulesetEnvelope::parse(body)
        .map_err(|e| String::from("refused an unreadable envelope (") + &e.field + " " + &e.reason + ")")?;
    if env.site != site {
        return Err(String::from("refused an envelope for another site (") + &env.site + ")");
    }
    let refused = String::from("refused version ") + &num(env.version as f64);
    if (env.version == 0) != preview {
        return Err(refused + if preview { ": not a preview" } else { ": a preview, never a published ruleset" });
    }
    if !env.is_current(now_ms() as i64) {
        return Err(refused + ": outside its validity window");
    }
    // The floor survives the cache: with no cache, an older signed envelope is still refused.
    let current = live_version(shared).max(floor(shared));
    if !preview && (env.version as f64) < current {
        return Err(refused + ", older than version " + &num(current) + " accepted before");
    }
    let verdict = JsFuture::from(verify_ed25519(&key, &env.signature, &env.signing_payload()))
        .await
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_else(|| "the signature could not be checked".into());
    if !verdict.is_empty() {
        return Err(refused + ": " + &verdict);
    }
    let rs = super::api::compile_ruleset(&env.ruleset).map_err(|e| refused + ": " + &e)?;
    if preview {
        super::api::hold(&mut shared.borrow_mut(), rs, 0.0);
        return Ok(true);
    }
    let (cache, changed) = {
        let mut guard = shared.borrow_mut();
        let s = &mut *guard;
        let version = env.version as f64;
        let (ruleset, in_use) = match &mut s.held_live {
            Some((r, v)) => (r, v),
            None => (&mut s.ruleset, &mut s.ruleset_version),
        };
        let changed = ruleset.is_none() || *in_use != version;
        *ruleset = Some(Rc::new(rs));
        *in_use = version;
        s.sync.ruleset_etag = Some(etag.to_string()).filter(|e| !e.is_empty());
        s.emit("status");
        if changed && s.held_live.is_none() {
            s.emit("ruleset");
        }
        (s.storing_allowed(), changed)
    };
    raise_floor(shared, env.version as f64);
    if cache {
        let key = cache_key(shared);
        if ls_set(&key, body) {
            ls_set(&(key + ":etag"), etag);
        } else {
            shared.borrow_mut().report("ruleset: could not be cached (storage full?)".into());
        }
    }
    Ok(changed)
}

/// The first fetch of the page (at start): its outcome is kept for `firstFetch()`, and with
/// `config.liveUpdates` the live stream opens once it is done (with the ETag now in use, so
/// the stream does not send again what the fetch brought).
pub async fn first_refresh(shared: &Shared) {
    let (_, problem) = refresh(shared).await;
    let waiting = {
        let mut s = shared.borrow_mut();
        s.sync.first_fetch = Some(problem.clone());
        std::mem::take(&mut s.sync.first_fetch_waiting)
    };
    let problem = problem.map_or(JsValue::NULL, |p| JsValue::from_str(&p));
    for resolve in waiting {
        let _ = resolve.call1(&JsValue::NULL, &problem);
    }
    // Without a key nothing the stream brings could be used.
    let live = {
        let s = shared.borrow();
        s.config.live_updates && s.config.public_key.is_some()
    };
    if live {
        go_live(shared);
    }
}

/// Opens the live stream (`sync.js`'s `live`: EventSource while the tab is visible, ETag
/// polling where EventSource is missing or keeps failing). Its callback is told
/// `("ruleset", envelope, id)` for each event and `("poll")` when it is time to poll.
fn go_live(shared: &Shared) {
    let (site, etag) = {
        let s = shared.borrow();
        (s.config.site.clone(), s.sync.ruleset_etag.clone().unwrap_or_default())
    };
    let Some(stream) = url(shared, &(String::from("/v1/rulesets/") + &site + "/stream")) else {
        return;
    };
    let s = shared.clone();
    let on = Closure::<dyn FnMut(String, Option<String>, Option<String>)>::new(
        move |kind: String, data: Option<String>, id: Option<String>| {
            let s = s.clone();
            spawn_local(async move {
                if kind == "poll" {
                    refresh(&s).await;
                    return;
                }
                if let Err(problem) = accept(&s, &data.unwrap_or_default(), &id.unwrap_or_default(), false).await {
                    s.borrow_mut().report(String::from("ruleset: live update: ") + &problem);
                }
            });
        },
    );
    live(&stream, &etag, POLL_MS, &on.into_js_value());
}

/// How often the fallback polls `GET /v1/rulesets/{site}` while the tab is visible.
const POLL_MS: f64 = 60_000.0;

#[wasm_bindgen(module = "/src/web/sync.js")]
extern "C" {
    fn live(url: &str, last_id: &str, poll_ms: f64, on: &JsValue);
}

#[wasm_bindgen]
impl TailorCore {
    /// Resolves once the first ruleset fetch of the page has finished: to `null` when it
    /// went well (a new ruleset, or `304`), else to the problem. At once without an endpoint.
    #[wasm_bindgen(js_name = firstFetch)]
    pub fn first_fetch(&self) -> Promise {
        let shared = self.state.clone();
        let mut executor = |resolve: Function, _reject: Function| {
            let mut s = shared.borrow_mut();
            if s.config.endpoint.is_none() {
                let _ = resolve.call1(&JsValue::NULL, &JsValue::from_str("ruleset: no endpoint is configured"));
            } else if let Some(done) = &s.sync.first_fetch {
                let _ = resolve.call1(&JsValue::NULL, &done.as_deref().map_or(JsValue::NULL, JsValue::from_str));
            } else {
                s.sync.first_fetch_waiting.push(resolve);
            }
        };
        Promise::new(&mut executor)
    }
}
