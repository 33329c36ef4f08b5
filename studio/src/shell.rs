//! The Studio's shell: the `<tailor-studio>` element with its closed shadow root and adopted
//! stylesheet, the preview banner, the failure panel, and the handle `open(host)` answers.
//!
//! The page's own CSS cannot reach inside the closed shadow root, and a strict CSP does not
//! stop it: the styles are a constructable stylesheet (no `<style>`, no style attribute).
//! Nothing here throws for a failure of the panels: it is shown, and the page keeps working.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Function, Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{CssStyleSheet, Element, Node, ShadowRoot, ShadowRootInit, ShadowRootMode};

use crate::dom::{document, fill, h, when};
use crate::text::{from_now, preview_claims};

fn get(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

/// `{ key: value, ... }` for the builder.
fn attrs(pairs: &[(&str, &JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in pairs {
        let _ = Reflect::set(&o, &(*k).into(), v);
    }
    o.into()
}

fn el(tag: &str, pairs: &[(&str, &JsValue)], children: &[JsValue]) -> Result<Element, JsValue> {
    h(tag, &attrs(pairs), &children.iter().collect::<Array>())
}

fn on_click(f: &Function) -> JsValue {
    attrs(&[("click", f)])
}

/// Opens the Studio in `host` (`{ mode, token, previewError, exit(), ... }`, from the SDK)
/// with the stylesheet `css` (`studio/ui/studio.css` and the visual editor's, from main.js):
/// in preview mode the banner, else the panels that `make_studio(root, exit)` makes and
/// whose `start()` is awaited. Answers `{ shadow, studio, close() }`. A failure of the panels
/// is shown in a panel of its own with an Exit button.
#[wasm_bindgen(js_name = openShell)]
pub async fn open(host: JsValue, css: String, make_studio: Function) -> Result<JsValue, JsValue> {
    let doc = document()?;
    let element = doc.create_element("tailor-studio")?;
    let root = element.attach_shadow(&ShadowRootInit::new(ShadowRootMode::Closed))?;
    let sheet = CssStyleSheet::new()?;
    sheet.replace_sync(&css)?;
    root.set_adopted_style_sheets(&Array::of1(&sheet));
    doc.document_element()
        .ok_or_else(|| js_sys::Error::new("Tailor Studio: this page has no root element"))?
        .append_child(&element)?;

    let studio: Rc<RefCell<Option<JsValue>>> = Rc::default();
    let close = {
        let (studio, element) = (studio.clone(), element.clone());
        move || -> Result<(), JsValue> {
            // Taken out first: a destroy() that calls close() again finds nothing to destroy.
            let panels = studio.borrow_mut().take();
            if let Some(panels) = panels {
                get(&panels, "destroy").dyn_into::<Function>()?.call0(&panels)?;
            }
            element.remove();
            Ok(())
        }
    };
    let handle = Object::new();
    Reflect::set(&handle, &"shadow".into(), &root)?;
    Reflect::set(&handle, &"studio".into(), &JsValue::NULL)?;
    let close_fn: Function =
        Closure::<dyn Fn() -> Result<(), JsValue>>::new(close.clone()).into_js_value().unchecked_into();
    Reflect::set(&handle, &"close".into(), &close_fn)?;
    let exit: Function = {
        let host = host.clone();
        let close = close.clone();
        Closure::<dyn Fn()>::new(move || {
            // The page keeps working whatever closing or the host's exit() does.
            let _ = close();
            if let Ok(f) = get(&host, "exit").dyn_into::<Function>() {
                let _ = f.call0(&host);
            }
        })
        .into_js_value()
        .unchecked_into()
    };

    let started = if get(&host, "mode").as_string().as_deref() == Some("preview") {
        preview_banner(&root, &host, &exit)
    } else {
        start(&make_studio, &root, &exit, &handle, &studio).await
    };
    if let Err(e) = started {
        failure_panel(&root, &e, &exit)?;
    }
    Ok(handle.into())
}

/// Makes the panels, keeps them in the handle and waits for their `start()`.
async fn start(
    make_studio: &Function,
    root: &ShadowRoot,
    exit: &Function,
    handle: &Object,
    slot: &Rc<RefCell<Option<JsValue>>>,
) -> Result<(), JsValue> {
    let panels = make_studio.call2(&JsValue::UNDEFINED, root, exit)?;
    Reflect::set(handle, &"studio".into(), &panels)?;
    *slot.borrow_mut() = Some(panels.clone());
    let started = get(&panels, "start").dyn_into::<Function>()?.call0(&panels)?;
    JsFuture::from(js_sys::Promise::resolve(&started)).await?;
    Ok(())
}

/// "The Studio could not start", the reason and Exit.
fn failure_panel(root: &ShadowRoot, e: &JsValue, exit: &Function) -> Result<(), JsValue> {
    let message = get(e, "message");
    let reason = if message.is_truthy() { message } else { e.clone() };
    let reason = reason.as_string().unwrap_or_else(|| String::from(reason.unchecked_ref::<Object>().to_string()));
    let panel = el(
        "div",
        &[("class", &"panel".into()), ("role", &"dialog".into()), ("aria-label", &"Tailor Studio".into())],
        &[el(
            "div",
            &[("class", &"refused".into()), ("role", &"alert".into())],
            &[
                el("h2", &[], &["The Studio could not start".into()])?.into(),
                el("p", &[], &[reason.into()])?.into(),
                el("button", &[("on", &on_click(exit))], &["Exit".into()])?.into(),
            ],
        )?
        .into()],
    )?;
    fill(root.unchecked_ref::<Node>(), &Array::of1(&panel))?;
    Ok(())
}

/// The banner of a preview link: the draft it shows and when the link expires, or why it
/// cannot be shown; Exit.
fn preview_banner(root: &ShadowRoot, host: &JsValue, exit: &Function) -> Result<(), JsValue> {
    let error = get(host, "previewError");
    let bad = error.is_truthy();
    let text = if bad {
        let why = error.as_string().unwrap_or_else(|| String::from(error.unchecked_ref::<Object>().to_string()));
        format!("This preview link cannot be shown: {why}")
    } else {
        let claims = get(host, "token").as_string().and_then(|t| preview_claims(&t));
        let draft = claims.as_ref().and_then(|c| c.draft.clone()).unwrap_or_else(|| "?".into());
        let expires = claims.map_or(f64::NAN, |c| c.expires_at);
        format!(
            "Preview of draft “{draft}”: not counted, expires {} ({}).",
            when(expires),
            from_now(expires, js_sys::Date::now())
        )
    };
    let banner = el(
        "div",
        &[
            ("class", &(if bad { "banner bad" } else { "banner" }).into()),
            ("role", &(if bad { "alert" } else { "status" }).into()),
        ],
        &[el("span", &[], &[text.into()])?.into(), el("button", &[("on", &on_click(exit))], &["Exit".into()])?.into()],
    )?;
    fill(root.unchecked_ref::<Node>(), &Array::of1(&banner))?;
    Ok(())
}
