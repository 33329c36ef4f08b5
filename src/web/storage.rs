//! Bindings to `storage.js`: IndexedDB, else localStorage, else memory, behind one interface.

use js_sys::{Array, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen(module = "/src/web/storage.js")]
extern "C" {
    /// A store opened by `openStore`; its records are JSON text under string keys.
    #[derive(Clone)]
    pub type Store;

    #[wasm_bindgen(js_name = openStore)]
    fn open_store(name: &str, kind: &str) -> Promise;
    #[wasm_bindgen(js_name = memoryStore)]
    pub fn memory_store() -> Store;

    #[wasm_bindgen(method, getter)]
    pub fn kind(this: &Store) -> String;
    #[wasm_bindgen(method)]
    fn get(this: &Store, store: &str, key: &str) -> Promise;
    #[wasm_bindgen(method)]
    fn put(this: &Store, store: &str, key: &str, value: &str) -> Promise;
    #[wasm_bindgen(method, js_name = update)]
    fn update_with(this: &Store, store: &str, key: &str, f: &JsValue) -> Promise;
    /// The answer of an `update` callback: the text to write.
    pub fn reply(text: &str);
    #[wasm_bindgen(method, js_name = getAll)]
    fn get_all(this: &Store, store: &str, limit: u32) -> Promise;
    #[wasm_bindgen(method, js_name = deleteKeys)]
    fn delete_keys(this: &Store, store: &str, keys: Array) -> Promise;
    #[wasm_bindgen(method)]
    fn entries(this: &Store, store: &str, limit: u32) -> Promise;
    #[wasm_bindgen(method, js_name = replace)]
    fn replace_with(this: &Store, store: &str, keys: Array, values: Array) -> Promise;
    #[wasm_bindgen(method)]
    fn destroy(this: &Store) -> Promise;
}

/// Object stores: the event outbox and the SDK's own state (profile, ids, ruleset cache).
pub const OUTBOX: &str = "outbox";
pub const STATE: &str = "state";

/// Opens the best store `kind` allows; also returns why better ones could not be used.
pub async fn open(name: &str, kind: &str) -> (Store, Vec<String>) {
    match JsFuture::from(open_store(name, kind)).await {
        Ok(opened) => {
            let store = js_sys::Reflect::get(&opened, &"store".into()).map(JsCast::unchecked_into::<Store>);
            let problems = js_sys::Reflect::get(&opened, &"problems".into())
                .map(|p| Array::from(&p).iter().filter_map(|s| s.as_string()).collect())
                .unwrap_or_default();
            match store {
                Ok(store) => (store, problems),
                Err(_) => (memory_store(), problems),
            }
        }
        Err(e) => (memory_store(), vec![describe(&e)]),
    }
}

impl Store {
    pub async fn read(&self, store: &str, key: &str) -> Result<Option<String>, String> {
        let v = JsFuture::from(self.get(store, key)).await.map_err(|e| describe(&e))?;
        Ok(v.as_string())
    }
    pub async fn write(&self, store: &str, key: &str, value: &str) -> Result<(), String> {
        JsFuture::from(self.put(store, key, value)).await.map(|_| ()).map_err(|e| describe(&e))
    }
    /// Reads `key` and calls `f` with its text ("" for none) in one transaction, which
    /// writes what `f` answers with [`reply`] (nothing without), so that writes from several
    /// tabs are serialised. Resolves to whether it wrote.
    pub async fn update(&self, store: &str, key: &str, f: &Closure<dyn FnMut(String)>) -> Result<bool, String> {
        let v = JsFuture::from(self.update_with(store, key, f.as_ref())).await.map_err(|e| describe(&e))?;
        Ok(v.as_bool() == Some(true))
    }
    pub async fn read_all(&self, store: &str, limit: u32) -> Result<Vec<String>, String> {
        let v = JsFuture::from(self.get_all(store, limit)).await.map_err(|e| describe(&e))?;
        Ok(Array::from(&v).iter().filter_map(|s| s.as_string()).collect())
    }
    /// Writes several records in one transaction.
    pub async fn write_many(&self, store: &str, keys: &[String], values: &[String]) -> Result<(), String> {
        let k: Array = keys.iter().map(|k| JsValue::from_str(k)).collect();
        let v: Array = values.iter().map(|v| JsValue::from_str(v)).collect();
        JsFuture::from(self.replace_with(store, k, v)).await.map(|_| ()).map_err(|e| describe(&e))
    }
    pub async fn remove(&self, store: &str, keys: &[String]) -> Result<(), String> {
        let arr: Array = keys.iter().map(|k| JsValue::from_str(k)).collect();
        JsFuture::from(self.delete_keys(store, arr)).await.map(|_| ()).map_err(|e| describe(&e))
    }
    /// The events an outbox store holds (a record holds the lines of one burst).
    pub async fn events(&self, store: &str) -> Result<u32, String> {
        let (_, texts) = self.read_entries(store, 0).await?;
        Ok(texts.iter().map(|t| crate::engine::outbox::events_in(t) as u32).sum())
    }
    /// The first `limit` records (0: all) as keys and texts, read in one transaction.
    pub async fn read_entries(&self, store: &str, limit: u32) -> Result<(Vec<String>, Vec<String>), String> {
        let v = JsFuture::from(self.entries(store, limit)).await.map_err(|e| describe(&e))?;
        // A value that is not text (not written by the SDK) reads as an empty record.
        let strings =
            |i: u32| Array::from(&Array::from(&v).get(i)).iter().map(|s| s.as_string().unwrap_or_default()).collect();
        let (keys, values): (Vec<String>, Vec<String>) = (strings(0), strings(1));
        if keys.len() != values.len() {
            return Err("the outbox's keys and records did not line up".into());
        }
        Ok((keys, values))
    }
    /// Writes each text under its key in one transaction; `None` deletes the key.
    pub async fn rewrite(&self, store: &str, changes: &[(String, Option<String>)]) -> Result<(), String> {
        let k: Array = changes.iter().map(|(k, _)| JsValue::from_str(k)).collect();
        let v: Array = changes.iter().map(|(_, v)| JsValue::from_str(v.as_deref().unwrap_or(""))).collect();
        JsFuture::from(self.replace_with(store, k, v)).await.map(|_| ()).map_err(|e| describe(&e))
    }
    pub async fn erase(&self) -> Result<(), String> {
        JsFuture::from(self.destroy()).await.map(|_| ()).map_err(|e| describe(&e))
    }
}

/// The message of a JavaScript error (DOMException, Error) or its string form.
pub fn describe(e: &JsValue) -> String {
    if let Some(s) = e.as_string() {
        return s;
    }
    let name = js_sys::Reflect::get(e, &"name".into()).ok().and_then(|v| v.as_string());
    let message = js_sys::Reflect::get(e, &"message".into()).ok().and_then(|v| v.as_string());
    match (name, message) {
        (Some(n), Some(m)) => n + ": " + &m,
        (None, Some(m)) => m,
        (Some(n), None) => n,
        _ => "unknown error".into(),
    }
}
