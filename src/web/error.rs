//! The one conversion of the engine's [`ApiError`] into the JavaScript error the page sees:
//! `TypeError` or `RangeError` by its class, with its message.

use js_sys::{RangeError, TypeError};
use wasm_bindgen::JsValue;

use crate::engine::error::{ApiError, ErrorClass};

impl From<ApiError> for JsValue {
    // One copy for all call sites (each `?` would otherwise carry its own).
    #[inline(never)]
    fn from(e: ApiError) -> JsValue {
        match e.class {
            ErrorClass::Type => TypeError::new(&e.message).into(),
            ErrorClass::Range => RangeError::new(&e.message).into(),
        }
    }
}
