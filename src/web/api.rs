//! `TailorCore`: the class the JavaScript package wraps. One instance per site and page.
//!
//! Methods that touch storage return promises; validation errors reject them with a
//! `TypeError` (wrong or missing type) or `RangeError` (value not allowed) that names the field.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Object, Promise, RangeError, Reflect, TypeError};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::platform::{now_ms, random_bytes, to_value};
use super::storage::{self, Store};
use crate::engine::config::{Config, ConfigError, Consent, ErrorKind, StorageKind};
use crate::engine::event::{Event, EventError, EventErrorKind, EventMeta};
use crate::engine::uuid::Uuid;

struct State {
    config: Config,
    store: Store,
    consent: Consent,
    anonymous_id: String,
    problems: Vec<String>,
}

#[wasm_bindgen]
pub struct TailorCore {
    state: Rc<RefCell<State>>,
}

/// The SDK version.
#[wasm_bindgen]
pub fn version() -> String {
    crate::VERSION.to_string()
}

fn config_error(e: ConfigError) -> JsValue {
    match e.kind {
        ErrorKind::Type => TypeError::new(&e.message).into(),
        ErrorKind::Range => RangeError::new(&e.message).into(),
    }
}

fn event_error(method: &str, e: EventError) -> JsValue {
    let message = String::from("Tailor.") + method + ": " + &e.to_string();
    match e.kind {
        EventErrorKind::Missing | EventErrorKind::WrongType => TypeError::new(&message).into(),
        EventErrorKind::Invalid | EventErrorKind::TooLarge => RangeError::new(&message).into(),
    }
}

fn storage_kind(kind: StorageKind) -> &'static str {
    match kind {
        StorageKind::Auto => "auto",
        StorageKind::IndexedDb => "indexeddb",
        StorageKind::LocalStorage => "localstorage",
        StorageKind::Memory => "memory",
    }
}

const ANONYMOUS_ID: &str = "anonymousId";

#[wasm_bindgen]
impl TailorCore {
    /// Validates `config`, opens storage (only with consent) and restores the shopper's ids.
    pub async fn init(config: JsValue) -> Result<TailorCore, JsValue> {
        super::platform::start();
        let value = to_value(&config)
            .map_err(|e| JsValue::from(TypeError::new(&(String::from("Tailor.init: config ") + &e))))?
            .unwrap_or_default();
        let config = Config::from_value(&value).map_err(config_error)?;
        let consent = config.consent;
        let (store, problems) = if consent == Consent::Granted {
            storage::open(&(String::from("tailor:") + &config.site), storage_kind(config.storage)).await
        } else {
            (storage::memory_store(), Vec::new())
        };
        let mut state = State { config, store, consent, anonymous_id: String::new(), problems };
        state.anonymous_id = match state.store.read(storage::STATE, ANONYMOUS_ID).await {
            Ok(Some(id)) if crate::engine::uuid::is_uuid_v7(&id) => id,
            _ => {
                let id = Uuid::v7_from_ms(now_ms(), random_bytes()).to_hyphenated();
                if let Err(e) = state.store.write(storage::STATE, ANONYMOUS_ID, &id).await {
                    state.problems.push(e);
                }
                id
            }
        };
        Ok(TailorCore { state: Rc::new(RefCell::new(state)) })
    }

    /// Records a touchpoint: validated, given an id and timestamp, and committed to the
    /// outbox before the promise resolves (to the event id).
    pub fn track(&self, event_type: JsValue, props: JsValue) -> Promise {
        let state = self.state.clone();
        future_to_promise(async move {
            let Some(event_type) = event_type.as_string() else {
                return Err(TypeError::new("Tailor.track: type must be a string such as \"product_view\"").into());
            };
            let props = to_value(&props)
                .map_err(|e| JsValue::from(TypeError::new(&(String::from("Tailor.track: props ") + &e))))?
                .unwrap_or_default();
            let (event, store) = {
                let s = state.borrow();
                let meta = EventMeta {
                    now_ms: now_ms(),
                    random: random_bytes(),
                    anonymous_id: s.anonymous_id.clone(),
                    ..EventMeta::default()
                };
                (Event::new(&event_type, props, meta).map_err(|e| event_error("track", e))?, s.store.clone())
            };
            let id = event.id().to_string();
            if let Err(e) = store.write(storage::OUTBOX, &id, &event.to_json()).await {
                state.borrow_mut().problems.push(e.clone());
                return Err(
                    js_sys::Error::new(&(String::from("Tailor.track: the event could not be stored: ") + &e)).into()
                );
            }
            Ok(JsValue::from_str(&id))
        })
    }

    /// Where things stand: `{ ready, storage, consent, anonymousId, problems }`.
    pub fn status(&self) -> JsValue {
        let s = self.state.borrow();
        let o = Object::new();
        let set = |k: &str, v: JsValue| {
            let _ = Reflect::set(&o, &k.into(), &v);
        };
        set("ready", true.into());
        set("site", s.config.site.as_str().into());
        set("storage", s.store.kind().into());
        set("consent", s.consent.as_str().into());
        set("anonymousId", s.anonymous_id.as_str().into());
        set("problems", s.problems.iter().map(|p| JsValue::from_str(p)).collect::<js_sys::Array>().into());
        o.into()
    }
}
