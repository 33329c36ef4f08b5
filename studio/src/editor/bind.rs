//! The editor's rules at the JavaScript boundary, glue only: the answers are
//! [`super::rules`]'s, `null` when nothing is wrong (as the editor tests them).

use wasm_bindgen::prelude::*;
use web_sys::Document;

use super::rules;

fn or_null<T: Into<JsValue>>(why: Option<T>) -> JsValue {
    why.map_or(JsValue::NULL, Into::into)
}

/// Why `sel` is refused as a CSS selector, or null; the page (`doc`) says whether the
/// browser can read it.
#[wasm_bindgen(js_name = selectorProblem)]
pub fn selector_problem(sel: &str, doc: &Document) -> JsValue {
    let why = rules::selector_text_problem(sel)
        .or_else(|| doc.query_selector(sel).err().map(|_| "is not a valid CSS selector"));
    or_null(why)
}

/// Why the `attribute` action may not set `name` to `value`, or null.
#[wasm_bindgen(js_name = attributeProblem)]
pub fn attribute_problem(name: &str, value: &str) -> JsValue {
    or_null(rules::attribute_problem(name, value))
}

/// Why a `style` change of `name` to `value` is refused, or null.
#[wasm_bindgen(js_name = styleProblem)]
pub fn style_problem(name: &str, value: &str) -> JsValue {
    or_null(rules::style_problem(name, value))
}

/// Why CSS (page CSS or a style value) is refused, or null.
#[wasm_bindgen(js_name = cssProblem)]
pub fn css_problem(css: &str) -> JsValue {
    or_null(rules::css_problem(css))
}

/// Why `url` breaks the URL rule, or null.
#[wasm_bindgen(js_name = urlProblem)]
pub fn url_problem(url: &str) -> JsValue {
    or_null(rules::url_problem(url))
}

/// Why `url` breaks the rule of links (`href`), or null.
#[wasm_bindgen(js_name = linkProblem)]
pub fn link_problem(url: &str) -> JsValue {
    or_null(rules::link_problem(url))
}

/// May an element `<tag>` stay in an HTML value?
#[wasm_bindgen(js_name = htmlTagAllowed)]
pub fn html_tag_allowed(tag: &str) -> bool {
    rules::html_tag_allowed(tag)
}

/// May `name` stay on a `<tag>` inside an HTML value?
#[wasm_bindgen(js_name = htmlAttributeAllowed)]
pub fn html_attribute_allowed(tag: &str, name: &str) -> bool {
    rules::html_attribute_allowed(tag, name)
}
