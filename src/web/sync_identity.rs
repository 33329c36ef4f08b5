//! `identify()` on the server (link ids, merge the server's profile into the local one) and
//! `forget()`'s erasure request, queued in localStorage until the server confirms it.

use wasm_bindgen_futures::JsFuture;

use super::platform::now_ms;
use super::state::Shared;
use super::storage;
use super::sync::{http, http_as, ls_get, ls_remove, ls_set, num, random, sleep, url};
use super::tabs::schedule_save;
use crate::engine::event::{Event, EventType};
use crate::engine::json::{Map, Value};
use crate::engine::outbox::{backoff_delay, classify, Outcome};
use crate::engine::profile::Change;
use crate::engine::wire::ServerProfile;

/// State-store key of the ids of server events already replayed into the profile.
const MERGED: &str = "merged";
/// State-store key of the last link the server confirmed: `<anonymousId>\n<userId>`.
const LINKED: &str = "linked";
/// How many replayed ids are remembered (the server sends at most 200 per identify).
const MAX_MERGED: usize = 400;
/// State-store key of the identity token given with `identify()`: `<userId>\n<token>`.
const IDENTITY: &str = "identity";

/// At start: tells the server about an identify it has not confirmed yet (made offline, or
/// before consent allowed sending, on an earlier page).
pub async fn link_if_needed(shared: &Shared) {
    let (store, link) = {
        let s = shared.borrow();
        let Some(user_id) = s.profile.user_id().filter(|_| s.sending_allowed) else {
            return;
        };
        (s.store.clone(), String::from(s.profile.anonymous_id()) + "\n" + user_id)
    };
    // The token saved by an earlier page (for the identify below and for forget()).
    if let Ok(Some(saved)) = store.read(storage::STATE, IDENTITY).await {
        if let Some((user, token)) = saved.split_once('\n') {
            let mut s = shared.borrow_mut();
            if s.profile.user_id() == Some(user) && s.sync.identity.is_none() {
                s.sync.identity = Some((user.to_string(), token.to_string()));
            }
        }
    }
    if let Ok(Some(done)) = store.read(storage::STATE, LINKED).await {
        if done == link {
            return;
        }
    }
    if let Some((_, user_id)) = link.split_once('\n') {
        identified(shared, user_id).await;
    }
}

pub async fn identified(shared: &Shared, user_id: &str) {
    let body = {
        let s = shared.borrow();
        if !s.sending_allowed {
            return;
        }
        let mut m = Map::new();
        m.insert("site", Value::from(s.config.site.as_str()));
        m.insert("anonymousId", Value::from(s.profile.anonymous_id()));
        m.insert("userId", Value::from(user_id));
        m.insert("traits", Value::Object(s.profile.traits().clone()));
        if let Some((_, token)) = s.sync.identity.as_ref().filter(|(u, _)| u == user_id) {
            m.insert("token", Value::from(token.as_str()));
        }
        Value::Object(m).to_json()
    };
    let Some(url) = url(shared, "/v1/identify") else {
        return;
    };
    let generation = shared.borrow().generation;
    let answer = http("POST", &url, Some(body), None).await;
    if answer.status != 200 {
        let why = if answer.status == 0 { answer.body } else { String::from("HTTP ") + &num(f64::from(answer.status)) };
        shared.borrow_mut().report(String::from("identify: the server could not be told: ") + &why);
        return;
    }
    let Some(server) = Value::parse(&answer.body).ok().and_then(|v| ServerProfile::from_value(&v).ok()) else {
        shared.borrow_mut().report("identify: the server's profile was unreadable".into());
        return;
    };
    if shared.borrow().generation != generation || shared.borrow().profile.user_id() != Some(user_id) {
        return;
    }
    // Without a valid identity token the server links the ids as unverified and hands back
    // nothing of the user: merge nothing, say so.
    let verified = Value::parse(&answer.body).ok().and_then(|v| v.get("verified").and_then(|x| x.as_bool()));
    if verified != Some(true) {
        let store = {
            let mut s = shared.borrow_mut();
            s.report(
                "identify: the server did not verify the user (no valid identity token): nothing of the user was merged"
                    .into(),
            );
            s.storing_allowed().then(|| s.store.clone())
        };
        if let Some(store) = store {
            let link = String::from(shared.borrow().profile.anonymous_id()) + "\n" + user_id;
            let _ = store.write(storage::STATE, LINKED, &link).await;
        }
        return;
    }
    merge(shared, &server).await;
}

/// Keeps the identity token given with `identify()` for `user_id` (memory, and the state
/// store with consent) so that a later `forget()` can erase the user's data too.
pub async fn keep_token(shared: &Shared, user_id: &str, token: Option<String>) {
    let store = {
        let mut s = shared.borrow_mut();
        match token {
            Some(t) => s.sync.identity = Some((user_id.to_string(), t)),
            None if s.sync.identity.as_ref().is_some_and(|(u, _)| u == user_id) => {}
            None => s.sync.identity = None,
        }
        s.storing_allowed().then(|| s.store.clone())
    };
    if let Some(store) = store {
        let saved = shared.borrow().sync.identity.as_ref().map(|(u, t)| String::from(u.as_str()) + "\n" + t);
        let _ = match saved {
            Some(text) => store.write(storage::STATE, IDENTITY, &text).await,
            None => store.remove(storage::STATE, &[String::from(IDENTITY)]).await,
        };
    }
}

/// `reset()`: drops the saved token, the link and the replayed ids of the user who left.
pub async fn reset(shared: &Shared) {
    let store = shared.borrow().store.clone();
    let keys = [String::from(IDENTITY), String::from(LINKED), String::from(MERGED)];
    let _ = store.remove(storage::STATE, &keys).await;
}

/// Merges the server's view: its traits (it already merged ours), and the events of the
/// user's other anonymous ids that this profile has not seen. Sticky experiment
/// assignments made here win over replayed exposures, so variants do not change when the
/// shopper logs in.
async fn merge(shared: &Shared, server: &ServerProfile) {
    let store = shared.borrow().store.clone();
    let mut merged: Vec<String> = match store.read(storage::STATE, MERGED).await {
        Ok(Some(text)) => Value::parse(&text)
            .ok()
            .and_then(|v| v.as_array().map(|a| a.iter().filter_map(|x| x.as_str().map(String::from)).collect()))
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let storing = {
        let mut s = shared.borrow_mut();
        let now = now_ms();
        let traits = Value::Object(server.traits.clone());
        if s.profile.identify(&server.user_id, traits.clone(), now).is_ok() {
            s.changed(Change::Identify(server.user_id.clone(), traits));
        }
        let own = s.profile.anonymous_id().to_string();
        // Oldest first, as they happened.
        for v in server.events.iter().rev() {
            let Ok(e) = Event::from_value(v) else { continue };
            if e.anonymous_id() == own || merged.iter().any(|m| m == e.id()) {
                continue;
            }
            merged.push(e.id().to_string());
            if e.event_type() == EventType::ExperimentExposure {
                if let Some(key) = e.prop_str("experimentKey") {
                    if s.profile.get_assignment(key).is_some() {
                        continue;
                    }
                }
            }
            s.profile.record(&e, now);
            s.changed(Change::Event(e));
        }
        s.emit("profile");
        s.storing_allowed()
    };
    // The profile itself is merged into the stored one like any other change.
    schedule_save(shared);
    if storing {
        let start = merged.len().saturating_sub(MAX_MERGED);
        let list = Value::Array(merged[start..].iter().map(|m| Value::from(m.as_str())).collect()).to_json();
        let _ = store.write(storage::STATE, MERGED, &list).await;
        let link = String::from(shared.borrow().profile.anonymous_id()) + "\n" + &server.user_id;
        let _ = store.write(storage::STATE, LINKED, &link).await;
    }
}

fn queue_key(shared: &Shared) -> String {
    String::from("tailor:") + &shared.borrow().config.site + ":erase"
}

fn read_queue(key: &str) -> Vec<String> {
    ls_get(key)
        .and_then(|t| Value::parse(&t).ok())
        .and_then(|v| v.as_array().map(|a| a.iter().filter_map(|x| x.as_str().map(String::from)).collect()))
        .unwrap_or_default()
}

/// Writes the queue to localStorage; false when it refused (full, disabled).
fn write_queue(key: &str, ids: &[String]) -> bool {
    if ids.is_empty() {
        ls_remove(key);
        true
    } else {
        ls_set(key, &Value::Array(ids.iter().map(|m| Value::from(m.as_str())).collect()).to_json())
    }
}

/// The erasures to send: this tab's (kept in memory) and the queue in localStorage.
fn pending_erasures(shared: &Shared, key: &str) -> Vec<String> {
    let mut all = read_queue(key);
    for e in &shared.borrow().sync.erasures {
        if !all.contains(e) {
            all.push(e.clone());
        }
    }
    all
}

/// A queue entry: an anonymous id alone, or `user\n<userId>\n<token>` for a user's erasure.
fn erasure_request(entry: &str, site: &str) -> (String, Option<String>) {
    if let Some((user, token)) = entry.strip_prefix("user\n").and_then(|rest| rest.split_once('\n')) {
        let path = String::from("/v1/profiles/") + &encode(user) + "?site=" + site + "&kind=user";
        return (path, Some(token.to_string()));
    }
    (String::from("/v1/profiles/") + &encode(entry) + "?site=" + site, None)
}

/// Percent-encodes a path segment (user ids may hold any character).
fn encode(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }
    out
}

/// Queues the erasure of `anonymous_id` and, when this tab holds an identity token for
/// `user_id`, of the user's data too, and tries to send them now. The queue lives in
/// localStorage (IndexedDB was just deleted) and in memory: when localStorage refuses it the
/// requests still go now, and `status.problems` says they cannot wait for a later page.
pub async fn forgotten(shared: &Shared, anonymous_id: Option<String>, user_id: Option<String>) {
    let token = shared.borrow_mut().sync.identity.take();
    if shared.borrow().config.endpoint.is_none() {
        return;
    }
    let mut entries: Vec<String> = anonymous_id.into_iter().collect();
    if let (Some(user), Some((for_user, token))) = (user_id, token) {
        if user == for_user {
            entries.push(String::from("user\n") + &user + "\n" + &token);
        }
    }
    if entries.is_empty() {
        return;
    }
    let key = queue_key(shared);
    let mut queue = read_queue(&key);
    for e in &entries {
        if !queue.contains(e) {
            queue.push(e.clone());
        }
    }
    shared.borrow_mut().sync.erasures.extend(entries);
    if !write_queue(&key, &queue) {
        shared.borrow_mut().report(
            "forget: localStorage refused the erasure queue (full or unavailable): the erasure is sent now but cannot be retried on a later page"
                .into(),
        );
    }
    drain_erasures(shared).await;
}

/// Sends the queued erasure requests; what fails for lack of an answer stays queued and is
/// retried with backoff a few times now, then on the next page.
pub async fn drain_erasures(shared: &Shared) {
    let key = queue_key(shared);
    for attempt in 1..=4u32 {
        let queue = pending_erasures(shared, &key);
        if queue.is_empty() {
            return;
        }
        let site = shared.borrow().config.site.clone();
        let mut retry = false;
        for entry in &queue {
            let (path, token) = erasure_request(entry, &site);
            let Some(url) = url(shared, &path) else {
                return;
            };
            let answer = http_as("DELETE", &url, None, None, token).await;
            match classify(answer.status) {
                Outcome::Retry => retry = true,
                outcome => {
                    if outcome == Outcome::Refused {
                        let msg = String::from("forget: the server refused the erasure with HTTP ")
                            + &num(f64::from(answer.status));
                        shared.borrow_mut().report(msg);
                    }
                    // Re-read: another call may have queued more meanwhile.
                    let rest: Vec<String> = read_queue(&key).into_iter().filter(|q| q != entry).collect();
                    write_queue(&key, &rest);
                    shared.borrow_mut().sync.erasures.retain(|q| q != entry);
                }
            }
        }
        if !retry {
            return;
        }
        let wait = backoff_delay(attempt, random(), None);
        let _ = JsFuture::from(sleep(wait)).await;
    }
    shared.borrow_mut().report("forget: the server could not be reached; the erasure request stays queued".into());
}
