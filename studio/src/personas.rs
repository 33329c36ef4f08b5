//! Preview as a shopper: personas (what a shopper did: page views, categories, cart, orders,
//! traits), kept in this browser's localStorage under the Studio's own key, a clock to move,
//! and a table of what each persona gets on this page with the engine's reason.
//!
//! The personas stay the JavaScript objects the Studio holds (`studio.personas`), edited in
//! place as the merchandiser types. The one Shoppers panel on screen is kept here; its
//! handlers hold no element, so a panel that is drawn again is freed with its elements.

use std::cell::RefCell;

use js_sys::{Array, Function, Object, Reflect, JSON};
use wasm_bindgen::prelude::*;
use web_sys::{Element, Event};

use crate::bind::StudioEngine;
use crate::dom::{array, el, get, h, message, obj, put, text_of, when};

const DEFAULTS: &str = r#"[
  {"name": "New visitor", "pageViews": 1},
  {"name": "Shoe lover", "pageViews": 6, "categories": {"shoes": 5}},
  {"name": "Returning buyer", "pageViews": 12, "orders": 2, "orderValue": 180, "cartItems": 1, "cartValue": 40},
  {"name": "VIP", "pageViews": 20, "orders": 6, "orderValue": 900, "userId": "vip-1", "traits": {"plan": "gold"}}
]"#;

fn storage_key(site: &str) -> String {
    format!("tailor-studio:personas:{site}")
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The personas kept for `site`, or the four to start with (storage unavailable or damaged).
fn load_personas(site: &str) -> JsValue {
    let saved = storage().and_then(|s| s.get_item(&storage_key(site)).ok().flatten());
    if let Some(list) = saved.and_then(|s| JSON::parse(&s).ok()) {
        if array(&list).length() > 0 {
            return list;
        }
    }
    JSON::parse(DEFAULTS).unwrap_or_else(|_| Array::new().into())
}

fn save_personas(site: &str, list: &JsValue) -> bool {
    let Some(storage) = storage() else { return false };
    JSON::stringify(list)
        .ok()
        .and_then(|s| s.as_string())
        .is_some_and(|s| storage.set_item(&storage_key(site), &s).is_ok())
}

/// The Shoppers panel on screen.
#[derive(Clone)]
struct Panel {
    studio: JsValue,
    body: Element,
    table: Element,
    note: Element,
    rows: Element,
}

thread_local! {
    static PANEL: RefCell<Option<Panel>> = const { RefCell::new(None) };
}

fn set(v: &JsValue, key: &str, value: &JsValue) {
    let _ = Reflect::set(v, &key.into(), value);
}

/// Calls `studio.<name>()`.
fn call(studio: &JsValue, name: &str) -> Result<JsValue, JsValue> {
    get(studio, name).dyn_into::<Function>()?.call0(studio)
}

fn t(s: impl AsRef<str>) -> JsValue {
    JsValue::from_str(s.as_ref())
}

/// `{ eventType: handler }` with a handler that runs with the panel on screen.
fn on(kind: &str, f: impl Fn(&Panel, &Event) + 'static) -> JsValue {
    crate::dom::on_panel(&PANEL, kind, f)
}

/// The value of the field the event is for.
fn value(e: &Event) -> String {
    e.target().map(|t| get(&t, "value")).and_then(|v| v.as_string()).unwrap_or_default()
}

/// `Number(text)`.
fn number(text: &str) -> f64 {
    JsValue::from_str(text).unchecked_into_f64()
}

fn js_num(n: f64) -> String {
    js_sys::Number::from(n).to_string_with_radix(10).map(String::from).unwrap_or_default()
}

impl Panel {
    fn list(&self) -> Array {
        array(&get(&self.studio, "personas"))
    }

    fn now(&self) -> f64 {
        call(&self.studio, "now").ok().and_then(|n| n.as_f64()).unwrap_or(f64::NAN)
    }

    fn save(&self) {
        let site = text_of(&get(&get(&self.studio, "host"), "site"));
        let kept = save_personas(&site, &self.list());
        put(&self.note, &[t(if kept { "" } else { "This browser does not keep the personas (storage unavailable)." })]);
    }

    fn refresh(&self) {
        let _ = call(&self.studio, "refresh");
    }

    fn profile_of(&self, p: &JsValue) -> Result<String, JsValue> {
        let json = JSON::stringify(p).map(String::from)?;
        StudioEngine.persona_profile(&json, self.now())
    }

    /// One persona's row of the table: each experiment on this page with the engine's reason,
    /// and the offers per placement.
    fn decision_row(&self, p: &JsValue, doc: &str, ctx: &str, now: f64) -> JsValue {
        let name = text_of(&get(p, "name"));
        let decided = self.profile_of(p).and_then(|profile| {
            StudioEngine.decide(doc, &profile, ctx, now, get(&self.studio, "forced")).and_then(|d| JSON::parse(&d))
        });
        let d = match decided {
            Ok(d) => d,
            Err(e) => {
                return el(
                    "tr",
                    &[],
                    &[
                        el("td", &[], &[t(&name)]),
                        el("td", &[("class", t("error"))], &[t(message(&e))]),
                        el("td", &[], &[]),
                    ],
                )
            }
        };
        let experiments: Vec<JsValue> = array(&get(&d, "experiments"))
            .iter()
            .filter(|x| !text_of(&get(x, "reason")).contains("not on this page"))
            .map(|x| {
                let title = format!("{}: {}", text_of(&get(&x, "key")), text_of(&get(&x, "variationKey")));
                el(
                    "div",
                    &[],
                    &[el("strong", &[], &[t(title)]), el("div", &[("class", t("reason"))], &[get(&x, "reason")])],
                )
            })
            .collect();
        let placements = get(&d, "placements");
        let mut offers = Vec::new();
        if placements.is_object() {
            for entry in Object::entries(placements.unchecked_ref()).iter() {
                let entry = array(&entry);
                let id = text_of(&entry.get(0));
                for o in array(&get(&entry.get(1), "offers")).iter() {
                    offers.push(format!("{id}: {}", text_of(&get(&o, "offerId"))));
                }
            }
        }
        let offers = if offers.is_empty() { "none".to_string() } else { offers.join(", ") };
        el(
            "tr",
            &[("data-test", t(format!("persona-row-{name}")))],
            &[el("td", &[], &[t(&name)]), el("td", &[], &experiments), el("td", &[], &[t(offers)])],
        )
    }

    fn draw(&self) {
        let now = self.now();
        let moved = get(&self.studio, "clockOffset").is_truthy();
        if let Ok(Some(clock)) = self.body.query_selector("[data-test=\"clock-now\"]") {
            clock.set_text_content(Some(&format!("Deciding at {}{}", when(now), if moved { " (moved)" } else { "" })));
        }
        let ctx = call(&self.studio, "shopper")
            .map(|s| get(&s, "context"))
            .and_then(|c| JSON::stringify(&c))
            .map(String::from)
            .unwrap_or_default();
        let doc = JSON::stringify(&get(&self.studio, "doc")).map(String::from).unwrap_or_default();
        let list = self.list();
        let out: Vec<JsValue> = list.iter().map(|p| self.decision_row(&p, &doc, &ctx, now)).collect();
        let head: Vec<JsValue> =
            ["shopper", "experiments on this page", "offers"].iter().map(|c| el("th", &[], &[t(c)])).collect();
        put(&self.table, &[el("table", &[], &[el("thead", &[], &[el("tr", &[], &head)]), el("tbody", &[], &out)])]);
        let forms: Vec<JsValue> = list.iter().enumerate().map(|(i, p)| self.form(&p, i as u32)).collect();
        put(&self.rows, &forms);
    }

    /// The form of persona `i`.
    fn form(&self, p: &JsValue, i: u32) -> JsValue {
        let field = |label: &str, input: JsValue| el("label", &[], &[t(label), input]);
        let num = |label: &str, k: &'static str| {
            let v = get(p, k);
            let shown = if v.is_undefined() || v.is_null() { t("") } else { v };
            field(
                label,
                el(
                    "input",
                    &[
                        ("type", t("number")),
                        ("min", t("0")),
                        ("value", shown),
                        (
                            "on",
                            on("change", move |panel, e| {
                                let p = panel.list().get(i);
                                let v = value(e);
                                if v.is_empty() {
                                    let _ = Reflect::delete_property(p.unchecked_ref::<Object>(), &k.into());
                                } else {
                                    set(&p, k, &number(&v).into());
                                }
                                panel.save();
                                panel.draw();
                            }),
                        ),
                    ],
                    &[],
                ),
            )
        };
        let categories = get(p, "categories");
        let cats = if categories.is_object() {
            Object::entries(categories.unchecked_ref())
                .iter()
                .map(|e| {
                    let e = array(&e);
                    format!("{}: {}", text_of(&e.get(0)), text_of(&e.get(1)))
                })
                .collect::<Vec<_>>()
                .join(", ")
        } else {
            String::new()
        };
        let user_id = get(p, "userId");
        let traits = get(p, "traits");
        let traits_text = if traits.is_truthy() {
            JSON::stringify(&traits).map(String::from).unwrap_or_default()
        } else {
            String::new()
        };
        let shown = get(&get(&self.studio, "persona"), "name");
        let is_shown = !shown.is_undefined() && shown == get(p, "name");
        el(
            "div",
            &[("class", t("row")), ("data-test", t(format!("persona-{i}")))],
            &[
                field(
                    "Name",
                    el(
                        "input",
                        &[
                            ("value", get(p, "name")),
                            (
                                "on",
                                on("change", move |panel, e| {
                                    let v = value(e);
                                    let name = if v.is_empty() { format!("Persona {}", i + 1) } else { v };
                                    set(&panel.list().get(i), "name", &t(name));
                                    panel.save();
                                    panel.draw();
                                }),
                            ),
                        ],
                        &[],
                    ),
                ),
                num("Page views", "pageViews"),
                field(
                    "Categories viewed (name: views, …)",
                    el(
                        "input",
                        &[
                            ("value", t(cats)),
                            ("data-test", t(format!("persona-categories-{i}"))),
                            (
                                "on",
                                on("change", move |panel, e| {
                                    let m = Object::new();
                                    for part in value(e).split(',').map(str::trim).filter(|s| !s.is_empty()) {
                                        let mut bits = part.split(':').map(str::trim);
                                        let c = bits.next().unwrap_or_default();
                                        let n = bits.next().filter(|n| !n.is_empty());
                                        set(&m, c, &n.map_or(1.0, number).into());
                                    }
                                    set(&panel.list().get(i), "categories", &m);
                                    panel.save();
                                    panel.draw();
                                }),
                            ),
                        ],
                        &[],
                    ),
                ),
                num("Items in the cart", "cartItems"),
                num("Cart value", "cartValue"),
                num("Orders", "orders"),
                num("Order value (all orders)", "orderValue"),
                field(
                    "User id (identify)",
                    el(
                        "input",
                        &[
                            ("value", if user_id.is_undefined() || user_id.is_null() { t("") } else { user_id }),
                            (
                                "on",
                                on("change", move |panel, e| {
                                    let p = panel.list().get(i);
                                    let v = value(e);
                                    if v.is_empty() {
                                        let _ = Reflect::delete_property(p.unchecked_ref::<Object>(), &"userId".into());
                                    } else {
                                        set(&p, "userId", &t(v));
                                    }
                                    panel.save();
                                    panel.draw();
                                }),
                            ),
                        ],
                        &[],
                    ),
                ),
                field(
                    "Traits (JSON)",
                    el(
                        "textarea",
                        &[
                            ("value", t(traits_text)),
                            (
                                "on",
                                on("change", move |panel, e| {
                                    // The form's message line is the one after the field's label.
                                    let err = e
                                        .target()
                                        .and_then(|t| t.dyn_into::<Element>().ok())
                                        .and_then(|t| t.parent_element())
                                        .and_then(|l| l.next_element_sibling());
                                    let p = panel.list().get(i);
                                    let v = value(e);
                                    let parsed = if v.trim().is_empty() { Ok(None) } else { JSON::parse(&v).map(Some) };
                                    match parsed {
                                        Ok(traits) => {
                                            match traits {
                                                Some(traits) => set(&p, "traits", &traits),
                                                None => {
                                                    let _ = Reflect::delete_property(
                                                        p.unchecked_ref::<Object>(),
                                                        &"traits".into(),
                                                    );
                                                }
                                            }
                                            if let Some(err) = &err {
                                                put(err, &[]);
                                            }
                                            panel.save();
                                            panel.draw();
                                        }
                                        Err(x) => {
                                            if let Some(err) = &err {
                                                let text = format!("traits: not JSON ({})", message(&x));
                                                put(err, &[el("div", &[("class", t("error"))], &[t(text)])]);
                                            }
                                        }
                                    }
                                }),
                            ),
                        ],
                        &[],
                    ),
                ),
                el("div", &[], &[]),
                el(
                    "div",
                    &[("class", t("actions"))],
                    &[
                        el(
                            "button",
                            &[
                                ("class", t("primary")),
                                ("data-test", t(format!("persona-use-{i}"))),
                                (
                                    "on",
                                    on("click", move |panel, e| {
                                        let p = panel.list().get(i);
                                        match panel.profile_of(&p) {
                                            Ok(profile) => {
                                                let persona =
                                                    obj(&[("name", get(&p, "name")), ("profileJson", t(profile))]);
                                                set(&panel.studio, "persona", &persona);
                                                panel.refresh();
                                                panel.draw();
                                            }
                                            Err(x) => {
                                                // The form's message line is the one before its buttons.
                                                let err = e
                                                    .current_target()
                                                    .and_then(|t| t.dyn_into::<Element>().ok())
                                                    .and_then(|b| b.parent_element())
                                                    .and_then(|a| a.previous_element_sibling());
                                                if let Some(err) = err {
                                                    put(
                                                        &err,
                                                        &[el("div", &[("class", t("error"))], &[t(message(&x))])],
                                                    );
                                                }
                                            }
                                        }
                                    }),
                                ),
                            ],
                            &[t(if is_shown { "Shown on the page" } else { "Show the page as this shopper" })],
                        ),
                        el(
                            "button",
                            &[
                                ("class", t("danger")),
                                (
                                    "on",
                                    on("click", move |panel, _| {
                                        let list = panel.list();
                                        if let Ok(splice) = get(&list, "splice").dyn_into::<Function>() {
                                            let _ = splice.call2(&list, &i.into(), &1.into());
                                        }
                                        panel.save();
                                        panel.draw();
                                    }),
                                ),
                            ],
                            &[t("Remove")],
                        ),
                    ],
                ),
            ],
        )
    }
}

/// The Shoppers tab, drawn into `body`.
#[wasm_bindgen(js_name = personasPanel)]
pub fn personas_panel(studio: JsValue, body: Element) -> Result<(), JsValue> {
    if !get(&studio, "personas").is_truthy() {
        let site = text_of(&get(&get(&studio, "host"), "site"));
        set(&studio, "personas", &load_personas(&site));
    }
    let div = |test: Option<&str>| -> Result<Element, JsValue> {
        let a = match test {
            Some(test) => obj(&[("data-test", t(test))]),
            None => obj(&[]),
        };
        h("div", &a, &Array::new())
    };
    let table = div(Some("persona-table"))?;
    let note = h("div", &obj(&[("class", t("status")), ("role", t("status"))]), &Array::new())?;
    let rows = div(None)?;
    let offset = get(&studio, "clockOffset").as_f64().unwrap_or(f64::NAN);
    let clock = el(
        "input",
        &[
            ("type", t("number")),
            ("step", t("1")),
            ("value", t(js_num(js_sys::Math::round(offset / 3_600_000.0)))),
            ("data-test", t("clock-hours")),
            (
                "on",
                on("change", |panel, e| {
                    let v = value(e);
                    let hours = if v.is_empty() { 0.0 } else { number(&v) };
                    set(&panel.studio, "clockOffset", &(hours * 3_600_000.0).into());
                    panel.refresh();
                    panel.draw();
                }),
            ),
        ],
        &[],
    );
    let now = call(&studio, "now").ok().and_then(|n| n.as_f64()).unwrap_or(f64::NAN);
    let add = el(
        "button",
        &[(
            "on",
            on("click", |panel, _| {
                let list = panel.list();
                let persona = obj(&[("name", t(format!("Persona {}", list.length() + 1))), ("pageViews", 1.into())]);
                list.push(&persona);
                panel.save();
                panel.draw();
            }),
        )],
        &[t("Add a persona")],
    );
    let off = if get(&studio, "persona").is_truthy() {
        el(
            "button",
            &[
                ("data-test", t("persona-off")),
                (
                    "on",
                    on("click", |panel, _| {
                        set(&panel.studio, "persona", &JsValue::NULL);
                        panel.refresh();
                        panel.draw();
                    }),
                ),
            ],
            &[t("Back to this browser’s shopper")],
        )
    } else {
        JsValue::NULL
    };
    put(
        &body,
        &[
            el("h2", &[], &[t("Clock")]),
            el("label", &[], &[t("Move the clock by hours (negative: back)"), clock]),
            el(
                "div",
                &[("class", t("muted")), ("data-test", t("clock-now"))],
                &[t(format!("Deciding at {}", when(now)))],
            ),
            el("h2", &[], &[t("What each shopper gets on this page")]),
            table.clone().into(),
            note.clone().into(),
            el("h2", &[], &[t("Personas")]),
            rows.clone().into(),
            el("div", &[("class", t("actions"))], &[add, off]),
        ],
    );
    let panel = Panel { studio, body, table, note, rows };
    PANEL.with(|p| *p.borrow_mut() = Some(panel.clone()));
    panel.draw();
    Ok(())
}
