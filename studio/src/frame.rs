//! The Studio's frame around its tabs: the top bar (site, mode, role, the live ruleset, the
//! link's expiry, Minimise/Open and Exit), the refusal of a link, the tab bar (ArrowLeft and
//! ArrowRight move between the tabs) and the tab drawn below it.
//!
//! `studio` is the JavaScript Studio object (its state: `panel`, `claims`, `current`, `host`,
//! `tab`, `refused`, `body`, ...), read and written with `Reflect`; a button calls the
//! object's own method (`studio.toggle()`, `studio.show(tab)`), as the other panels do.

use wasm_bindgen::prelude::*;
use web_sys::{Element, HtmlElement, KeyboardEvent};

use crate::dom::{call, call_or_log, el, get, obj, on, put, set, t, text_of, when};

const TABS: [(&str, &str); 5] = [
    ("inspect", "Inspect"),
    ("setup", "Test setup"),
    ("shoppers", "Shoppers"),
    ("publish", "Drafts & publish"),
    ("results", "Results"),
];

/// The Studio's panel element (`studio.panel`).
fn panel(studio: &JsValue) -> Result<Element, JsValue> {
    get(studio, "panel")
        .dyn_into::<Element>()
        .map_err(|_| js_sys::Error::new("Tailor Studio: the panel is not drawn yet").into())
}

fn collapsed(panel: &Element) -> bool {
    panel.class_list().contains("collapsed")
}

/// "This Studio link was refused", the server's `message`; no tab is offered.
#[wasm_bindgen(js_name = refusePanel)]
pub fn refuse(studio: JsValue, message: JsValue) -> Result<(), JsValue> {
    set(&studio, "refused", &JsValue::TRUE);
    let panel = panel(&studio)?;
    let refused = el(
        "div",
        &[("class", t("refused")), ("role", t("alert"))],
        &[
            el("h2", &[], &[t("This Studio link was refused")]),
            el("p", &[("data-test", t("refusal"))], &[message]),
            el(
                "p",
                &[("class", t("muted"))],
                &[t("Nothing was changed on this page. Ask whoever sent the link for a new one.")],
            ),
        ],
    );
    put(&panel, &[top_bar(&studio, &panel), refused]);
    Ok(())
}

/// The top bar: what the link is for and what it may do, the live ruleset, the expiry.
fn top_bar(studio: &JsValue, panel: &Element) -> JsValue {
    let claims = get(studio, "claims");
    let current = get(studio, "current");
    let host = get(studio, "host");
    let refused = get(studio, "refused").is_truthy();
    let expires = get(&claims, "expiresAt").as_f64().filter(|ms| ms.is_finite());
    let chip = |class: &str, attrs: &[(&str, JsValue)], text: String| {
        let mut pairs = vec![("class", t(class))];
        pairs.extend(attrs.iter().cloned());
        el("span", &pairs, &[t(text)])
    };
    let role = (claims.is_truthy() && !refused).then(|| {
        let who = get(&claims, "who");
        let who = if who.is_truthy() { format!(" · {}", text_of(&who)) } else { String::new() };
        chip(
            "chip",
            &[("data-test", t("role")), ("title", t("what this link may do"))],
            format!("role {}{who}", text_of(&get(&claims, "role"))),
        )
    });
    let version = (current.is_truthy() && !refused).then(|| {
        let signed = get(&current, "signature").is_truthy();
        chip(
            if signed { "chip ok" } else { "chip warn" },
            &[("data-test", t("version"))],
            format!(
                "live ruleset v{} · {}",
                text_of(&get(&current, "version")),
                if signed { "signed" } else { "unsigned" }
            ),
        )
    });
    let expiry = expires.filter(|_| claims.is_truthy() && !refused).map(|ms| {
        let now = js_sys::Date::now();
        chip(
            if ms - now < 5.0 * 60000.0 { "chip warn" } else { "chip" },
            &[("data-test", t("expiry"))],
            format!("link expires {} ({})", when(ms), crate::text::from_now(ms, now)),
        )
    });
    let toggle = (!refused).then(|| {
        let shut = collapsed(panel);
        let studio = studio.clone();
        el(
            "button",
            &[
                ("on", on("click", move |_| call_or_log(&studio, "toggle", &[]))),
                ("aria-expanded", t(if shut { "false" } else { "true" })),
            ],
            &[t(if shut { "Open" } else { "Minimise" })],
        )
    });
    let mode = if get(&host, "mode").as_string().as_deref() == Some("preview") { "preview" } else { "studio" };
    el(
        "div",
        &[("class", t("top")), ("data-test", t("top"))],
        &[
            el("span", &[("class", t("brand"))], &[t("Tailor Studio")]),
            chip("chip", &[("title", t("site"))], format!("site {}", text_of(&get(&host, "site")))),
            chip("chip", &[("title", t("mode"))], mode.into()),
            role.unwrap_or(JsValue::NULL),
            version.unwrap_or(JsValue::NULL),
            expiry.unwrap_or(JsValue::NULL),
            toggle.unwrap_or(JsValue::NULL),
            el("button", &[("on", obj(&[("click", get(studio, "exit"))])), ("data-test", t("exit"))], &[t("Exit")]),
        ],
    )
}

/// Minimises the panel (`collapse` true), opens it (false) or switches it (undefined).
#[wasm_bindgen(js_name = togglePanel)]
pub fn toggle(studio: JsValue, collapse: JsValue) -> Result<(), JsValue> {
    let panel = panel(&studio)?;
    let now = if collapse.is_undefined() || collapse.is_null() { !collapsed(&panel) } else { collapse.is_truthy() };
    panel.class_list().toggle_with_force("collapsed", now)?;
    call(&studio, "render", &[])?;
    Ok(())
}

/// Draws the top bar, the tab bar and the tab `studio.tab` (nothing once the link is refused).
#[wasm_bindgen(js_name = renderFrame)]
pub fn render(studio: JsValue) -> Result<(), JsValue> {
    if get(&studio, "refused").is_truthy() {
        return Ok(());
    }
    let panel = panel(&studio)?;
    let tab = text_of(&get(&studio, "tab"));
    let body =
        el("div", &[("class", t("body")), ("role", t("tabpanel")), ("data-test", t(format!("panel-{tab}")))], &[]);
    set(&studio, "body", &body);
    let buttons: Vec<JsValue> = TABS
        .iter()
        .map(|&(id, label)| {
            let studio = studio.clone();
            el(
                "button",
                &[
                    ("role", t("tab")),
                    ("aria-selected", t(if tab == id { "true" } else { "false" })),
                    ("data-test", t(format!("tab-{id}"))),
                    ("on", on("click", move |_| call_or_log(&studio, "show", &[t(id)]))),
                ],
                &[t(label)],
            )
        })
        .collect();
    let keys = {
        let studio = studio.clone();
        on("keydown", move |e| {
            let Some(key) = e.dyn_ref::<KeyboardEvent>().map(KeyboardEvent::key) else { return };
            let step = match key.as_str() {
                "ArrowRight" => 1,
                "ArrowLeft" => TABS.len() - 1,
                _ => return,
            };
            let tab = text_of(&get(&studio, "tab"));
            // An unknown tab counts as the one before the first (as findIndex's -1 did).
            let i = TABS.iter().position(|&(id, _)| id == tab).unwrap_or(TABS.len() - 1);
            let next = TABS[(i + step) % TABS.len()].0;
            call_or_log(&studio, "show", &[t(next)]);
            let button = panel_of(&studio)
                .and_then(|p| p.query_selector(&format!("[data-test=\"tab-{next}\"]")).ok().flatten())
                .and_then(|b| b.dyn_into::<HtmlElement>().ok());
            if let Some(button) = button {
                let _ = button.focus();
            }
        })
    };
    let bar = el(
        "div",
        &[("class", t("tabs")), ("role", t("tablist")), ("on", keys)],
        &[JsValue::from(buttons.into_iter().collect::<js_sys::Array>())],
    );
    put(&panel, &[top_bar(&studio, &panel), bar, body]);
    draw_panel(studio)
}

fn panel_of(studio: &JsValue) -> Option<Element> {
    get(studio, "panel").dyn_into::<Element>().ok()
}

/// Shows tab `tab`.
#[wasm_bindgen(js_name = showTab)]
pub fn show(studio: JsValue, tab: JsValue) -> Result<(), JsValue> {
    set(&studio, "tab", &tab);
    call(&studio, "render", &[])?;
    Ok(())
}

/// Draws the tab `studio.tab` in `studio.body`.
#[wasm_bindgen(js_name = drawPanel)]
pub fn draw_panel(studio: JsValue) -> Result<(), JsValue> {
    let body = || {
        get(&studio, "body")
            .dyn_into::<Element>()
            .map_err(|_| JsValue::from(js_sys::Error::new("Tailor Studio: the tab's body is not drawn yet")))
    };
    match text_of(&get(&studio, "tab")).as_str() {
        "inspect" => crate::inspect::inspect(studio)?,
        "setup" => {
            // The figures are asked for again each time the tab opens.
            set(&studio, "resultsBoxes", &obj(&[]));
            call(&studio, "drawSetup", &[])?;
        }
        "publish" => crate::publish::publish_panel(studio.clone(), body()?.into())?,
        "shoppers" => crate::personas::personas_panel(studio.clone(), body()?)?,
        _ => crate::results::results_panel(studio.clone(), body()?.into()),
    }
    Ok(())
}
