//! Browser tests of the runtime, in real headless Chromium with real IndexedDB
//! (wasm-bindgen-test; run by scripts/test.sh).
#![cfg(target_arch = "wasm32")]

use js_sys::{Array, Error, Promise, RangeError, TypeError, JSON};
use tailor::web::TailorCore;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

// Reads a database the way another program would: straight from IndexedDB, not through the SDK.
#[wasm_bindgen(inline_js = r#"
// The records of a store, in key order.
export function readRecords(db, store) {
  return new Promise((ok, fail) => {
    const r = indexedDB.open(db);
    r.onerror = () => fail(r.error);
    r.onsuccess = () => {
      const d = r.result;
      if (!d.objectStoreNames.contains(store)) { d.close(); return ok([]); }
      const g = d.transaction(store).objectStore(store).getAll();
      g.onsuccess = () => { d.close(); ok(g.result); };
      g.onerror = () => fail(g.error);
    };
  });
}
// The values of a store; for the outbox, its events (a record holds a burst, one per line).
export async function readStore(db, store) {
  const records = await readRecords(db, store);
  return store === "outbox" ? records.flatMap((s) => s.split("\n").filter(Boolean)) : records;
}
export function uniqueSite() { return "t" + Math.random().toString(36).slice(2, 10); }
export function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }
// One record of an object store (null when the database, the store or the key is missing).
export function readKey(db, store, key) {
  return new Promise((ok, fail) => {
    const r = indexedDB.open(db);
    r.onerror = () => fail(r.error);
    r.onsuccess = () => {
      const d = r.result;
      if (!d.objectStoreNames.contains(store)) { d.close(); return ok(null); }
      const g = d.transaction(store).objectStore(store).get(key);
      g.onsuccess = () => { d.close(); ok(g.result ?? null); };
      g.onerror = () => fail(g.error);
    };
  });
}
let idbDescriptor;
export function hideIndexedDb(hidden) {
  if (hidden) {
    idbDescriptor = Object.getOwnPropertyDescriptor(globalThis, "indexedDB");
    Object.defineProperty(globalThis, "indexedDB", { value: undefined, configurable: true });
  } else {
    delete globalThis.indexedDB;
    if (idbDescriptor) Object.defineProperty(globalThis, "indexedDB", idbDescriptor);
  }
}
export function localKeys(prefix) {
  const out = [];
  for (let i = 0; i < localStorage.length; i++) if (localStorage.key(i).startsWith(prefix)) out.push(localStorage.key(i));
  return out;
}
// Fills localStorage until the browser refuses (a real QuotaExceededError); returns the keys used.
export function fillLocalStorage() {
  const chunk = "x".repeat(256 * 1024);
  const keys = [];
  for (let i = 0; i < 100; i++) {
    try { localStorage.setItem("filler" + i, chunk); keys.push("filler" + i); } catch { break; }
  }
  for (let size = 16384; size >= 16; size /= 2) {
    for (let j = 0; j < 64; j++) {
      try { localStorage.setItem("filler-s" + size + "-" + j, "x".repeat(size)); keys.push("filler-s" + size + "-" + j); } catch { break; }
    }
  }
  return keys;
}
export function setGpc(on) {
  if (on) Object.defineProperty(navigator, "globalPrivacyControl", { value: true, configurable: true });
  else delete navigator.globalPrivacyControl;
}
export function clearKeys(keys) { keys.forEach((k) => localStorage.removeItem(k)); }
export async function databaseNames() { return (await indexedDB.databases()).map((d) => d.name); }
// Settles as `p` does, or rejects after `ms` with an Error naming `what`; leaves no timer behind.
export function within(p, ms, what) {
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error("no answer after " + ms + " ms: " + what)), ms);
    p.then((v) => (clearTimeout(timer), ok(v)), (e) => (clearTimeout(timer), fail(e)));
  });
}
// Counts the read-write transactions on the outbox and on the state store of database `db` from now on.
const outboxWrites = {};
const stateWrites = {};
const openTransaction = IDBDatabase.prototype.transaction;
IDBDatabase.prototype.transaction = function (stores, mode, ...rest) {
  if (mode === "readwrite" && String(stores) === "outbox" && this.name in outboxWrites) outboxWrites[this.name]++;
  if (mode === "readwrite" && String(stores) === "state" && this.name in stateWrites) stateWrites[this.name]++;
  return openTransaction.call(this, stores, mode, ...rest);
};
export function countOutboxWrites(db) { outboxWrites[db] = 0; stateWrites[db] = 0; }
export function outboxWriteCount(db) { return outboxWrites[db]; }
export function stateWriteCount(db) { return stateWrites[db]; }
// While on, every write to the outbox of database `db` aborts its transaction (as a full disk would).
const failing = new Set();
const put = IDBObjectStore.prototype.put;
IDBObjectStore.prototype.put = function (...args) {
  const r = put.apply(this, args);
  if (this.name === "outbox" && failing.has(this.transaction.db.name)) this.transaction.abort();
  return r;
};
export function failOutboxWrites(db, on) { on ? failing.add(db) : failing.delete(db); }
"#)]
extern "C" {
    #[wasm_bindgen(js_name = readStore)]
    fn read_store(db: &str, store: &str) -> Promise;
    #[wasm_bindgen(js_name = readRecords)]
    fn read_records(db: &str, store: &str) -> Promise;
    #[wasm_bindgen(js_name = uniqueSite)]
    fn unique_site() -> String;
    fn sleep(ms: u32) -> Promise;
    #[wasm_bindgen(js_name = readKey)]
    fn read_key(db: &str, store: &str, key: &str) -> Promise;
    #[wasm_bindgen(js_name = hideIndexedDb)]
    fn hide_indexed_db(hidden: bool);
    #[wasm_bindgen(js_name = localKeys)]
    fn local_keys(prefix: &str) -> Array;
    #[wasm_bindgen(js_name = fillLocalStorage)]
    fn fill_local_storage() -> Array;
    #[wasm_bindgen(js_name = setGpc)]
    fn set_gpc(on: bool);
    #[wasm_bindgen(js_name = clearKeys)]
    fn clear_keys(keys: &Array);
    #[wasm_bindgen(js_name = databaseNames)]
    fn database_names() -> Promise;
    fn within(p: &Promise, ms: u32, what: &str) -> Promise;
    #[wasm_bindgen(js_name = countOutboxWrites)]
    fn count_outbox_writes(db: &str);
    #[wasm_bindgen(js_name = outboxWriteCount)]
    fn outbox_write_count(db: &str) -> u32;
    #[wasm_bindgen(js_name = stateWriteCount)]
    fn state_write_count(db: &str) -> u32;
    #[wasm_bindgen(js_name = failOutboxWrites)]
    fn fail_outbox_writes(db: &str, on: bool);
}

/// Awaits `p`, failing the test with `what` when it has not settled within 10 s.
async fn bounded(p: &Promise, what: &str) -> Result<JsValue, JsValue> {
    JsFuture::from(within(p, 10_000, what)).await
}

/// `TailorCore::init(config)`, failing the test when it has not finished within 10 s.
async fn init_within(config: &str) -> TailorCore {
    let slot = std::rc::Rc::new(std::cell::RefCell::new(None));
    let (out, config) = (slot.clone(), json(config));
    let p = wasm_bindgen_futures::future_to_promise(async move {
        *out.borrow_mut() = Some(TailorCore::init(config).await?);
        Ok(JsValue::UNDEFINED)
    });
    bounded(&p, "init").await.expect("init");
    let t = slot.borrow_mut().take();
    t.expect("initialised")
}

/// `n` track() calls made in one task (a burst), each awaited within a bound: their results.
async fn burst(t: &TailorCore, n: usize) -> Vec<Result<JsValue, JsValue>> {
    let calls: Vec<Promise> =
        (0..n).map(|i| t.track("product_view".into(), json(&format!(r#"{{"sku": "SKU-{i}"}}"#)))).collect();
    let mut out = Vec::new();
    for (i, p) in calls.iter().enumerate() {
        out.push(bounded(p, &format!("track() number {i} of a burst of {n}")).await);
    }
    out
}

fn get(v: &JsValue, path: &str) -> JsValue {
    path.split('.').fold(v.clone(), |v, k| js_sys::Reflect::get(&v, &k.into()).unwrap_or(JsValue::UNDEFINED))
}

async fn track(t: &TailorCore, kind: &str, props: &str) -> JsValue {
    bounded(&t.track(kind.into(), json(props)), "track").await.expect("track resolves")
}

async fn outbox(site: &str) -> Vec<JsValue> {
    let stored = bounded(&read_store(&format!("tailor:{site}"), "outbox"), "reading the outbox").await.unwrap();
    Array::from(&stored).iter().map(|s| JSON::parse(&s.as_string().unwrap()).unwrap()).collect()
}

/// Polls every 10 ms until `ready()` holds, failing after a generous 20 s with `what`.
async fn wait_until(what: &str, mut ready: impl AsyncFnMut() -> bool) {
    let start = js_sys::Date::now();
    while !ready().await {
        assert!(js_sys::Date::now() - start < 20_000.0, "gave up after 20 s waiting until {what}");
        JsFuture::from(sleep(10)).await.unwrap();
    }
}

/// Waits until the profile saved for `site` (read straight from IndexedDB) has `count`
/// events of `kind`: the SDK writes the profile shortly after the changes.
async fn wait_for_saved_profile(site: &str, kind: &str, count: f64) {
    let path = format!("events.{kind}.count");
    wait_until(&format!("the saved profile has {count} {kind}"), async || {
        let saved =
            bounded(&read_key(&format!("tailor:{site}"), "state", "profile"), "reading the profile").await.unwrap();
        saved.as_string().and_then(|t| JSON::parse(&t).ok()).is_some_and(|p| get(&p, &path).as_f64() == Some(count))
    })
    .await;
}

fn json(text: &str) -> JsValue {
    JSON::parse(text).expect("test JSON")
}

async fn init_err(config: &str) -> JsValue {
    match TailorCore::init(json(config)).await {
        Ok(_) => panic!("init accepted {config}"),
        Err(e) => e,
    }
}

fn message(e: &JsValue) -> String {
    e.dyn_ref::<Error>().map(|e| String::from(e.message())).unwrap_or_default()
}

#[wasm_bindgen_test]
async fn init_rejects_wrong_types_with_type_error_naming_the_field() {
    let e = init_err(r#"{"site": 7}"#).await;
    assert!(e.is_instance_of::<TypeError>(), "{e:?}");
    assert!(message(&e).contains("config.site must be a string"), "{}", message(&e));

    let e = init_err(r#"{"site": "shop", "flushInterval": "soon"}"#).await;
    assert!(e.is_instance_of::<TypeError>());
    assert!(message(&e).contains("config.flushInterval"), "{}", message(&e));

    let e = init_err(r#"{"site": "shop", "colour": "red"}"#).await;
    assert!(e.is_instance_of::<TypeError>());
    assert!(message(&e).contains("config.colour is not an option"), "{}", message(&e));
}

#[wasm_bindgen_test]
async fn init_rejects_values_out_of_range_with_range_error() {
    let e = init_err(r#"{"site": "Not A Site"}"#).await;
    assert!(e.is_instance_of::<RangeError>(), "{e:?}");
    assert!(e.is_instance_of::<Error>());
    assert!(message(&e).contains("config.site"));

    let e = init_err(r#"{"site": "shop", "consent": "maybe"}"#).await;
    assert!(e.is_instance_of::<RangeError>());
    assert!(message(&e).contains("config.consent"));
}

#[wasm_bindgen_test]
async fn track_commits_the_event_to_indexeddb() {
    let site = unique_site();
    let config = format!(r#"{{"site": "{site}", "consent": "granted"}}"#);
    let tailor = TailorCore::init(json(&config)).await.expect("init");
    let status = tailor.status();
    assert_eq!(js_sys::Reflect::get(&status, &"storage".into()).unwrap().as_string().as_deref(), Some("indexeddb"));

    let id = JsFuture::from(tailor.track("product_view".into(), json(r#"{"sku": "SKU-1", "price": 49.5}"#)))
        .await
        .expect("track resolves")
        .as_string()
        .expect("an id");

    let stored = JsFuture::from(read_store(&format!("tailor:{site}"), "outbox")).await.unwrap();
    let stored = Array::from(&stored);
    assert_eq!(stored.length(), 1);
    let event = JSON::parse(&stored.get(0).as_string().unwrap()).unwrap();
    let get = |k: &str| js_sys::Reflect::get(&event, &k.into()).unwrap();
    assert_eq!(get("id").as_string(), Some(id));
    assert_eq!(get("type").as_string().as_deref(), Some("product_view"));
    let props = get("props");
    assert_eq!(js_sys::Reflect::get(&props, &"price".into()).unwrap().as_f64(), Some(49.5));
}

#[wasm_bindgen_test]
async fn a_bad_event_is_rejected_and_nothing_is_stored() {
    let site = unique_site();
    let tailor = TailorCore::init(json(&format!(r#"{{"site": "{site}", "consent": "granted"}}"#))).await.unwrap();
    let err = JsFuture::from(tailor.track("product_view".into(), json(r#"{"price": -1}"#))).await.unwrap_err();
    assert!(err.is_instance_of::<TypeError>(), "{err:?}");
    assert!(message(&err).contains("props.sku"), "{}", message(&err));
    let err =
        JsFuture::from(tailor.track("product_view".into(), json(r#"{"sku": "A", "price": -1}"#))).await.unwrap_err();
    assert!(err.is_instance_of::<RangeError>());
    assert!(message(&err).contains("props.price"), "{}", message(&err));
    let err = JsFuture::from(tailor.track(JsValue::from(5), JsValue::UNDEFINED)).await.unwrap_err();
    assert!(err.is_instance_of::<TypeError>());

    let stored = JsFuture::from(read_store(&format!("tailor:{site}"), "outbox")).await.unwrap();
    assert_eq!(Array::from(&stored).length(), 0);
    // the instance still works after rejecting
    JsFuture::from(tailor.track("page_view".into(), JsValue::UNDEFINED)).await.expect("still works");
}

#[wasm_bindgen_test]
async fn without_consent_nothing_is_written() {
    let site = unique_site();
    let tailor = TailorCore::init(json(&format!(r#"{{"site": "{site}"}}"#))).await.unwrap();
    JsFuture::from(tailor.track("page_view".into(), JsValue::UNDEFINED)).await.unwrap();
    let stored = JsFuture::from(read_store(&format!("tailor:{site}"), "outbox")).await.unwrap();
    assert_eq!(Array::from(&stored).length(), 0);
}

#[wasm_bindgen_test]
async fn the_profile_survives_a_reload() {
    let site = unique_site();
    let config = format!(r#"{{"site": "{site}", "consent": "granted"}}"#);
    let first = TailorCore::init(json(&config)).await.unwrap();
    track(&first, "product_view", r#"{"sku": "SKU-1", "category": "shoes", "brand": "acme", "price": 90}"#).await;
    track(&first, "product_view", r#"{"sku": "SKU-2", "category": "shoes", "price": 60}"#).await;
    let anonymous = get(&first.status(), "anonymousId").as_string().unwrap();
    wait_for_saved_profile(&site, "product_view", 2.0).await; // written shortly after the changes
    drop(first);

    let second = TailorCore::init(json(&config)).await.unwrap();
    assert_eq!(get(&second.status(), "anonymousId").as_string(), Some(anonymous));
    let profile = second.profile();
    assert_eq!(get(&profile, "events.product_view.count").as_f64(), Some(2.0), "{:?}", JSON::stringify(&profile));
    assert!(get(&profile, "categories.shoes").as_f64().unwrap_or(0.0) > 0.0, "{:?}", JSON::stringify(&profile));
}

#[wasm_bindgen_test]
async fn without_indexeddb_it_falls_back_to_localstorage() {
    let site = unique_site();
    hide_indexed_db(true);
    let t = TailorCore::init(json(&format!(r#"{{"site": "{site}", "consent": "granted"}}"#))).await;
    hide_indexed_db(false);
    let t = t.unwrap();
    let status = t.status();
    assert_eq!(get(&status, "storage").as_string().as_deref(), Some("localstorage"));
    assert!(Array::from(&get(&status, "problems")).iter().any(|p| p.as_string().unwrap().contains("indexeddb")));
    let id = track(&t, "search", r#"{"query": "boots"}"#).await.as_string().unwrap();
    let keys = local_keys(&format!("tailor:{site}:outbox:"));
    assert_eq!(keys.length(), 1);
    assert!(keys.get(0).as_string().unwrap().ends_with(&id));
}

#[wasm_bindgen_test]
async fn a_full_quota_degrades_to_memory_without_exceptions() {
    let site = unique_site();
    let t =
        TailorCore::init(json(&format!(r#"{{"site": "{site}", "consent": "granted", "storage": "localstorage"}}"#)))
            .await
            .unwrap();
    let filler = fill_local_storage();
    let big = format!(r#"{{"sku": "SKU-1", "name": "{}"}}"#, "n".repeat(2000));
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(track(&t, "product_view", &big).await);
    }
    // The failed write is noticed after the event is held: wait for it, not a guessed time.
    wait_until("the SDK has fallen back to memory", async || {
        get(&t.status(), "storage").as_string().as_deref() == Some("memory")
    })
    .await;
    let status = t.status();
    clear_keys(&filler);
    assert!(ids.iter().all(|id| id.as_string().is_some()), "every track resolved with an id");
    assert_eq!(get(&status, "storage").as_string().as_deref(), Some("memory"));
    let problems: Vec<String> = Array::from(&get(&status, "problems")).iter().filter_map(|p| p.as_string()).collect();
    assert!(
        problems.iter().any(|p| p.contains("could not be stored") || p.contains("could not be saved")),
        "{problems:?}"
    );
    // still answering
    assert_eq!(get(&t.profile(), "events.product_view.count").as_f64(), Some(5.0));
}

#[wasm_bindgen_test]
async fn consent_granted_later_keeps_held_events_with_their_times() {
    let site = unique_site();
    let t = TailorCore::init(json(&format!(r#"{{"site": "{site}"}}"#))).await.unwrap();
    let id = track(&t, "page_view", "{}").await.as_string().unwrap();
    assert!(outbox(&site).await.is_empty(), "nothing stored while pending");
    JsFuture::from(sleep(5)).await.unwrap();
    JsFuture::from(t.consent("granted".into())).await.unwrap();
    let stored = outbox(&site).await;
    assert_eq!(stored.len(), 1, "{:?}", JSON::stringify(&t.status()));
    assert_eq!(get(&stored[0], "id").as_string(), Some(id.clone()));
    // the id is a UUIDv7 whose time is the event's original time
    let ts = get(&stored[0], "ts").as_f64().unwrap();
    assert!(ts < js_sys::Date::now() - 4.0, "original timestamp kept");
    assert_eq!(get(&t.status(), "consent").as_string().as_deref(), Some("granted"));
}

#[wasm_bindgen_test]
async fn consent_denied_drops_held_events_and_erases_storage() {
    let site = unique_site();
    let t = TailorCore::init(json(&format!(r#"{{"site": "{site}"}}"#))).await.unwrap();
    track(&t, "page_view", "{}").await;
    JsFuture::from(t.consent("denied".into())).await.unwrap();
    JsFuture::from(t.consent("granted".into())).await.unwrap();
    assert!(outbox(&site).await.is_empty(), "held events were dropped on denial");

    track(&t, "page_view", "{}").await;
    assert_eq!(outbox(&site).await.len(), 1);
    JsFuture::from(t.consent("denied".into())).await.unwrap();
    assert!(outbox(&site).await.is_empty(), "withdrawn consent erases what was stored");
    assert!(track(&t, "page_view", "{}").await.is_null(), "nothing is kept while denied");
    let err = JsFuture::from(t.consent("maybe".into())).await.unwrap_err();
    assert!(err.is_instance_of::<RangeError>());
}

#[wasm_bindgen_test]
async fn pending_events_are_bounded() {
    let site = unique_site();
    let t = TailorCore::init(json(&format!(r#"{{"site": "{site}", "pendingLimit": 3}}"#))).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(track(&t, "search", &format!(r#"{{"query": "q{i}"}}"#)).await.as_string().unwrap());
    }
    JsFuture::from(t.consent("granted".into())).await.unwrap();
    let kept: Vec<String> = outbox(&site).await.iter().map(|e| get(e, "id").as_string().unwrap()).collect();
    assert_eq!(kept, ids[2..].to_vec(), "the newest 3 are kept, the oldest dropped");
}

#[wasm_bindgen_test]
async fn forget_leaves_storage_empty() {
    let site = unique_site();
    let t = TailorCore::init(json(&format!(r#"{{"site": "{site}", "consent": "granted"}}"#))).await.unwrap();
    track(&t, "product_view", r#"{"sku": "A"}"#).await;
    JsFuture::from(t.identify("user-1".into(), json(r#"{"plan": "gold"}"#))).await.unwrap();
    let before = get(&t.status(), "anonymousId").as_string();
    wait_until("the database exists", async || {
        let names = Array::from(&JsFuture::from(database_names()).await.unwrap());
        names.iter().any(|n| n.as_string() == Some(format!("tailor:{site}")))
    })
    .await;

    JsFuture::from(t.forget()).await.unwrap();
    wait_until("the database is deleted", async || {
        let names = Array::from(&JsFuture::from(database_names()).await.unwrap());
        !names.iter().any(|n| n.as_string() == Some(format!("tailor:{site}")))
    })
    .await;
    assert_eq!(local_keys(&format!("tailor:{site}")).length(), 0);
    let status = t.status();
    assert_ne!(get(&status, "anonymousId").as_string(), before, "a new anonymous id");
    assert!(get(&status, "userId").is_null());
    assert_eq!(get(&status, "consent").as_string().as_deref(), Some("pending"));
    assert_eq!(get(&t.profile(), "events.product_view.count").as_f64().unwrap_or(0.0), 0.0);
}

#[wasm_bindgen_test]
async fn global_privacy_control_stops_sending_unless_the_site_overrides_it() {
    let site = unique_site();
    let config = |extra: &str| json(&format!(r#"{{"site": "{site}", "consent": "granted", "endpoint": "/"{extra}}}"#));
    let before = TailorCore::init(config("")).await.unwrap();
    assert_eq!(get(&before.status(), "sending").as_bool(), Some(true));
    assert_eq!(get(&before.status(), "gpc").as_bool(), Some(false));

    set_gpc(true);
    let respecting = TailorCore::init(config("")).await;
    let overriding = TailorCore::init(config(r#", "respectGpc": false"#)).await;
    set_gpc(false);
    let respecting = respecting.unwrap();
    assert_eq!(get(&respecting.status(), "gpc").as_bool(), Some(true));
    assert_eq!(get(&respecting.status(), "sending").as_bool(), Some(false), "GPC is an opt-out of sending");
    // storing on the device still works with consent
    let id = track(&respecting, "page_view", "{}").await;
    assert!(id.as_string().is_some());
    assert_eq!(get(&overriding.unwrap().status(), "sending").as_bool(), Some(true), "the site overrode GPC");
}

#[wasm_bindgen_test]
async fn a_returning_shopper_keeps_their_id_for_events_held_before_consent() {
    let site = unique_site();
    let first = TailorCore::init(json(&format!(r#"{{"site": "{site}", "consent": "granted"}}"#))).await.unwrap();
    track(&first, "search", r#"{"query": "boots"}"#).await;
    let owner = get(&first.status(), "anonymousId").as_string().unwrap();
    wait_for_saved_profile(&site, "search", 1.0).await; // written shortly after the change
    drop(first);

    // The next page starts before the consent banner answered.
    let next = TailorCore::init(json(&format!(r#"{{"site": "{site}"}}"#))).await.unwrap();
    let id = track(&next, "search", r#"{"query": "socks"}"#).await.as_string().unwrap();
    assert_ne!(get(&next.status(), "anonymousId").as_string(), Some(owner.clone()), "a temporary id while pending");
    JsFuture::from(next.consent("granted".into())).await.unwrap();

    assert_eq!(get(&next.status(), "anonymousId").as_string(), Some(owner.clone()));
    assert_eq!(get(&next.profile(), "events.search.count").as_f64(), Some(2.0));
    let stored = outbox(&site).await;
    let held = stored.iter().find(|e| get(e, "id").as_string() == Some(id.clone())).expect("the held event is stored");
    assert_eq!(get(held, "anonymousId").as_string(), Some(owner), "re-issued under the shopper's id");
}

#[wasm_bindgen_test]
async fn a_burst_of_tracks_is_one_transaction_and_every_resolved_event_is_in_indexeddb() {
    let site = unique_site();
    let db = format!("tailor:{site}");
    let t = init_within(&format!(r#"{{"site": "{site}", "consent": "granted"}}"#)).await;
    assert_eq!(get(&t.status(), "storage").as_string().as_deref(), Some("indexeddb"));
    count_outbox_writes(&db);
    let ids: Vec<String> = burst(&t, 50).await.into_iter().map(|r| r.expect("resolves").as_string().unwrap()).collect();
    assert!(outbox_write_count(&db) <= 2, "50 calls of one task took {} transactions", outbox_write_count(&db));
    // The profile of the burst is merged and written once, in one transaction of its own.
    wait_for_saved_profile(&site, "product_view", 50.0).await;
    assert_eq!(state_write_count(&db), 1, "one profile save for the burst");
    // Every promise has resolved: every event is committed, read by another connection now.
    let stored = bounded(&read_store(&db, "outbox"), "reading the outbox").await.unwrap();
    let stored: Vec<String> = Array::from(&stored)
        .iter()
        .map(|s| get(&JSON::parse(&s.as_string().unwrap()).unwrap(), "id").as_string().unwrap())
        .collect();
    assert_eq!(stored, ids, "every event, in the order of the calls");
    // ... as one record, under the first event's id.
    let records = Array::from(&bounded(&read_records(&db, "outbox"), "reading the records").await.unwrap());
    assert_eq!(records.length(), 1, "a burst of 50 calls is one outbox record");
    assert_eq!(records.get(0).as_string().unwrap().split('\n').count(), 50);
    let first = bounded(&read_key(&db, "outbox", &ids[0]), "reading the record by key").await.unwrap();
    assert_eq!(first.as_string(), records.get(0).as_string(), "keyed by its first event's id");

    // The next task's calls go into a transaction and a record of their own, and are durable too.
    let more: Vec<String> = burst(&t, 5).await.into_iter().map(|r| r.unwrap().as_string().unwrap()).collect();
    let stored = Array::from(&bounded(&read_store(&db, "outbox"), "reading the outbox").await.unwrap());
    assert_eq!(stored.length(), 55);
    assert!(more.iter().all(|id| stored.iter().any(|s| s.as_string().unwrap().contains(id.as_str()))));
    let records = Array::from(&bounded(&read_records(&db, "outbox"), "reading the records").await.unwrap());
    assert_eq!(records.length(), 2, "two bursts, two records");
}

#[wasm_bindgen_test]
async fn the_bound_on_held_events_counts_events_not_records() {
    let site = unique_site();
    let t = TailorCore::init(json(&format!(r#"{{"site": "{site}", "pendingLimit": 3}}"#))).await.unwrap();
    // A burst of 5 held while consent is pending: one record, of which the oldest 2 go.
    let ids: Vec<String> = burst(&t, 5).await.into_iter().map(|r| r.unwrap().as_string().unwrap()).collect();
    assert_eq!(get(&t.status(), "dropped").as_f64(), Some(2.0), "2 events over the bound of 3, counted");
    let one = track(&t, "search", r#"{"query": "q"}"#).await.as_string().unwrap();
    assert_eq!(get(&t.status(), "dropped").as_f64(), Some(3.0), "one more event, one more dropped");
    JsFuture::from(t.consent("granted".into())).await.unwrap();
    let kept: Vec<String> = outbox(&site).await.iter().map(|e| get(e, "id").as_string().unwrap()).collect();
    assert_eq!(kept, [ids[3].clone(), ids[4].clone(), one], "the newest 3 events are kept, in order");
    let records = bounded(&read_records(&format!("tailor:{site}"), "outbox"), "reading the records").await.unwrap();
    assert_eq!(Array::from(&records).length(), 1, "the held events move to IndexedDB as one record");
}

#[wasm_bindgen_test]
async fn a_failed_group_commit_settles_every_call_and_degrades_to_memory() {
    let site = unique_site();
    let db = format!("tailor:{site}");
    let t = init_within(&format!(r#"{{"site": "{site}", "consent": "granted"}}"#)).await;
    fail_outbox_writes(&db, true);
    let results = burst(&t, 20).await;
    fail_outbox_writes(&db, false);
    // As with one event: the page gets its ids, the events are kept in memory, the problem is reported.
    assert!(results.iter().all(|r| r.as_ref().is_ok_and(|id| id.as_string().is_some())), "{results:?}");
    let status = t.status();
    assert_eq!(get(&status, "storage").as_string().as_deref(), Some("memory"));
    let problems: Vec<String> = Array::from(&get(&status, "problems")).iter().filter_map(|p| p.as_string()).collect();
    assert!(problems.iter().any(|p| p.contains("an event could not be stored")), "{problems:?}");
    assert_eq!(get(&t.profile(), "events.product_view.count").as_f64(), Some(20.0));
    let stored = bounded(&read_store(&db, "outbox"), "reading the outbox").await.unwrap();
    assert_eq!(Array::from(&stored).length(), 0, "an aborted transaction wrote nothing");
    // and the instance keeps answering
    let id = bounded(&t.track("page_view".into(), JsValue::UNDEFINED), "track after the failure").await;
    assert!(id.expect("resolves").as_string().is_some());
}

/// Two instances of one site in one page hear each other as two tabs of the origin do
/// (BroadcastChannel delivers to every other channel object of the name).
async fn two_tabs(consent: &str) -> (String, TailorCore, TailorCore) {
    let site = unique_site();
    let config = format!(r#"{{"site": "{site}", "consent": "{consent}"}}"#);
    let a = init_within(&config).await;
    let b = init_within(&config).await;
    (site, a, b)
}

#[wasm_bindgen_test]
async fn profile_writes_from_two_tabs_merge_instead_of_rolling_back() {
    let (site, a, b) = two_tabs("granted").await;
    for i in 0..30 {
        track(if i % 3 == 0 { &b } else { &a }, "page_view", "{}").await;
        if i % 7 == 0 {
            bounded(&sleep(1), "sleep").await.unwrap();
        }
    }
    track(&b, "purchase", r#"{"orderId": "o1", "revenue": 20, "currency": "EUR", "items": []}"#).await;
    wait_for_saved_profile(&site, "page_view", 30.0).await;
    wait_until("both tabs see every event", async || {
        [&a, &b].iter().all(|t| get(&t.profile(), "events.page_view.count").as_f64() == Some(30.0))
    })
    .await;
    let reloaded = init_within(&format!(r#"{{"site": "{site}", "consent": "granted"}}"#)).await;
    assert_eq!(get(&reloaded.profile(), "events.page_view.count").as_f64(), Some(30.0));
    assert_eq!(get(&reloaded.profile(), "orders.count").as_f64(), Some(1.0));
}

#[wasm_bindgen_test]
async fn forget_in_one_tab_reaches_the_other() {
    let (site, a, b) = two_tabs("granted").await;
    track(&b, "page_view", "{}").await;
    wait_for_saved_profile(&site, "page_view", 1.0).await;
    let old = get(&b.status(), "anonymousId").as_string();
    bounded(&a.forget(), "forget").await.unwrap();
    let new = get(&a.status(), "anonymousId").as_string();
    assert_ne!(new, old);
    wait_until("the other tab takes the new id", async || get(&b.status(), "anonymousId").as_string() == new).await;
    let status = b.status();
    assert_eq!(get(&status, "consent").as_string().as_deref(), Some("pending"));
    assert_eq!(get(&status, "sending").as_bool(), Some(false));
    assert_eq!(get(&status, "storage").as_string().as_deref(), Some("memory"));
    assert_eq!(get(&b.profile(), "events.page_view.count").as_f64(), Some(0.0));
    assert!(outbox(&site).await.is_empty(), "nothing written back");
}

#[wasm_bindgen_test]
async fn consent_in_one_tab_reaches_the_other() {
    let (site, a, b) = two_tabs("pending").await;
    track(&b, "page_view", "{}").await;
    bounded(&a.consent("denied".into()), "consent denied").await.unwrap();
    let consent = |t: &TailorCore| get(&t.status(), "consent").as_string();
    wait_until("the other tab is denied", async || consent(&b).as_deref() == Some("denied")).await;
    bounded(&a.consent("granted".into()), "consent granted").await.unwrap();
    wait_until("the other tab is granted", async || consent(&b).as_deref() == Some("granted")).await;
    wait_until("the other tab stores", async || {
        get(&b.status(), "storage").as_string().as_deref() == Some("indexeddb")
    })
    .await;
    assert!(outbox(&site).await.is_empty(), "the event held before the denial was dropped");
    track(&b, "page_view", "{}").await;
    assert_eq!(outbox(&site).await.len(), 1);
}
