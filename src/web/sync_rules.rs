//! Signed rulesets from the server: fetched with `If-None-Match`, verified with the pinned
//! Ed25519 key (WebCrypto), compiled, and cached in localStorage so that the next page
//! decides with them at once, before the network answers (stale-while-revalidate).
//!
//! A ruleset that is missing, fails to verify, has expired, names another site, is older
//! than the one in use, or does not compile is refused; the last good one stays.

use std::rc::Rc;

use wasm_bindgen_futures::JsFuture;

use super::platform::now_ms;
use super::state::Shared;
use super::sync::{http, ls_get, ls_remove, ls_set, num, url, verify_ed25519};
use crate::engine::wire::RulesetEnvelope;

fn cache_key(shared: &Shared) -> String {
    String::from("tailor:") + &shared.borrow().config.site + ":ruleset"
}

/// Uses the cached envelope, if any and still valid (it was verified before it was cached).
/// Synchronous: localStorage, so the first decision of the page already has it.
pub fn load_cached(shared: &Shared) {
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
    let mut s = shared.borrow_mut();
    if env.site != s.config.site || !env.is_current(now_ms() as i64) {
        return;
    }
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
    let (site, key, etag) = {
        let s = shared.borrow();
        (s.config.site.clone(), s.config.public_key.clone(), s.sync.ruleset_etag.clone())
    };
    let Some(url) = url(shared, &(String::from("/v1/rulesets/") + &site)) else {
        return Err("no endpoint is configured".into());
    };
    let Some(key) = key else {
        return Err("config.publicKey is not set, so rulesets from the server cannot be verified".into());
    };
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
    let env = RulesetEnvelope::parse(&answer.body)
        .map_err(|e| String::from("refused an unreadable envelope (") + &e.field + " " + &e.reason + ")")?;
    if env.site != site {
        return Err(String::from("refused an envelope for another site (") + &env.site + ")");
    }
    if !env.is_current(now_ms() as i64) {
        return Err(String::from("refused version ") + &num(env.version as f64) + ": outside its validity window");
    }
    let current = shared.borrow().ruleset_version;
    if (env.version as f64) < current {
        return Err(String::from("refused version ")
            + &num(env.version as f64)
            + ", older than version "
            + &num(current)
            + " in use");
    }
    let verdict = JsFuture::from(verify_ed25519(&key, &env.signature, &env.signing_payload()))
        .await
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_else(|| "the signature could not be checked".into());
    if !verdict.is_empty() {
        return Err(String::from("refused version ") + &num(env.version as f64) + ": " + &verdict);
    }
    let rs = super::api::compile_ruleset(&env.ruleset)
        .map_err(|e| String::from("refused version ") + &num(env.version as f64) + ": " + &e)?;
    let cache = {
        let mut s = shared.borrow_mut();
        s.ruleset = Some(Rc::new(rs));
        s.ruleset_version = env.version as f64;
        s.sync.ruleset_etag = Some(answer.etag.clone()).filter(|e| !e.is_empty());
        s.emit("status");
        s.storing_allowed()
    };
    if cache {
        let key = cache_key(shared);
        if ls_set(&key, &answer.body) {
            ls_set(&(key + ":etag"), &answer.etag);
        } else {
            shared.borrow_mut().report("ruleset: could not be cached (storage full?)".into());
        }
    }
    Ok(true)
}
