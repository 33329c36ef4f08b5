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
export function readStore(db, store) {
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
export function uniqueSite() { return "t" + Math.random().toString(36).slice(2, 10); }
"#)]
extern "C" {
    #[wasm_bindgen(js_name = readStore)]
    fn read_store(db: &str, store: &str) -> Promise;
    #[wasm_bindgen(js_name = uniqueSite)]
    fn unique_site() -> String;
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
