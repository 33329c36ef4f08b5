//! Drafts and publishing: save the working ruleset as a draft on the server (its errors by
//! path come back too), share a preview link of it, publish it (role publish), the version
//! history with each version's diff and a one-click rollback, and the audit log.
//!
//! As in the Shoppers tab, the panel on screen is kept here and its handlers hold no element:
//! they find theirs from the event.

use std::cell::RefCell;

use js_sys::{Array, Function, Promise, JSON};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{Element, Event, Node};

use crate::dom::{array, el, from_now, get, message, obj, put, text_of, when};

#[derive(Clone)]
struct Panel {
    studio: JsValue,
    status: Element,
    errors: Element,
    link: Element,
    drafts: Element,
    history: Element,
    audit: Element,
    no_publish: JsValue,
}

thread_local! {
    static PANEL: RefCell<Option<Panel>> = const { RefCell::new(None) };
}

fn t(s: impl AsRef<str>) -> JsValue {
    JsValue::from_str(s.as_ref())
}

fn set(v: &JsValue, key: &str, value: &JsValue) {
    let _ = js_sys::Reflect::set(v, &key.into(), value);
}

fn element(v: JsValue) -> Result<Element, JsValue> {
    v.dyn_into::<Element>()
}

/// `studio.api.<name>(...args)`, awaited.
async fn api(studio: &JsValue, name: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
    let api = get(studio, "api");
    let f: Function = get(&api, name).dyn_into()?;
    let promise = f.apply(&api, &args.iter().collect::<Array>())?;
    JsFuture::from(Promise::resolve(&promise)).await
}

fn call(studio: &JsValue, name: &str) {
    if let Ok(f) = get(studio, name).dyn_into::<Function>() {
        if let Err(e) = f.call0(studio) {
            web_sys::console::error_2(&format!("Tailor Studio: {name}() failed:").into(), &e);
        }
    }
}

/// A handler that runs with the panel on screen.
fn on(kind: &str, f: impl Fn(Panel, Event) + 'static) -> JsValue {
    crate::dom::on_panel(&PANEL, kind, move |p: &Panel, e: &Event| f(p.clone(), e.clone()))
}

impl Panel {
    /// The status line; kept on the Studio, so it survives the redraw a publish causes.
    fn say(&self, text: &str, ok: bool) {
        set(&self.studio, "lastStatus", &obj(&[("text", t(text)), ("ok", ok.into())]));
        put(&self.status, &[el("span", &[("class", t(if ok { "status ok" } else { "status bad" }))], &[t(text)])]);
    }

    fn show_errors(&self, errors: &JsValue) {
        let lines: Vec<JsValue> = array(errors)
            .iter()
            .map(|p| {
                let path = get(&p, "path");
                let path = if path.is_truthy() { text_of(&path) } else { "(ruleset)".into() };
                el("div", &[("class", t("error"))], &[t(format!("{path}: {}", text_of(&get(&p, "message"))))])
            })
            .collect();
        put(&self.errors, &lines);
    }

    /// Saves the working copy as the draft named in the field: whether the server found it valid.
    async fn save(&self) -> bool {
        put(&self.errors, &[]);
        let (name, doc) = (get(&self.studio, "draftName"), get(&self.studio, "doc"));
        match api(&self.studio, "saveDraft", &[name, doc]).await {
            Ok(r) => {
                // Test setup shows the server's messages on metrics (the browser's engine ignores them).
                let errors = get(&r, "errors");
                set(
                    &self.studio,
                    "serverProblems",
                    &if errors.is_truthy() { errors.clone() } else { Array::new().into() },
                );
                let valid = get(&r, "valid").is_truthy();
                set(&self.studio, "savedDraft", &if valid { get(&self.studio, "draftName") } else { JsValue::NULL });
                self.load_lists();
                let saved = text_of(&get(&r, "name"));
                if valid {
                    let sanitised = array(&get(&r, "sanitised"));
                    let cleaned = if sanitised.length() > 0 {
                        format!(
                            "; HTML cleaned at {}",
                            sanitised.iter().map(|s| text_of(&s)).collect::<Vec<_>>().join(", ")
                        )
                    } else {
                        String::new()
                    };
                    let at = get(&r, "savedAt").as_f64().unwrap_or(f64::NAN);
                    self.say(&format!("Draft “{saved}” saved {}{cleaned}.", when(at)), true);
                } else {
                    self.say(
                        &format!(
                            "Draft “{saved}” saved with {} error(s): it cannot be published or previewed until they are fixed.",
                            array(&errors).length()
                        ),
                        false,
                    );
                    self.show_errors(&errors);
                }
                valid
            }
            Err(e) => {
                self.say(&message(&e), false);
                self.show_errors(&get(&e, "errors"));
                false
            }
        }
    }

    async fn share(&self) {
        if !self.save().await {
            return;
        }
        let Some(window) = web_sys::window() else { return };
        let location = window.location();
        let path = location.pathname().unwrap_or_default();
        let r = match api(&self.studio, "preview", &[get(&self.studio, "draftName"), t(path)]).await {
            Ok(r) => r,
            Err(e) => {
                self.say(&message(&e), false);
                return self.show_errors(&get(&e, "errors"));
            }
        };
        let href = location.href().unwrap_or_default();
        let url = web_sys::Url::new_with_base(&text_of(&get(&r, "link")), &href).map(|u| u.href()).unwrap_or_default();
        let clipboard = get(&get(&window, "navigator"), "clipboard");
        let copied =
            match get(&clipboard, "writeText").dyn_into::<Function>().and_then(|f| f.call1(&clipboard, &t(&url))) {
                Ok(p) => JsFuture::from(Promise::resolve(&p)).await.is_ok(),
                Err(_) => false,
            };
        let expires = get(&r, "expiresAt").as_f64().unwrap_or(f64::NAN);
        put(
            &self.link,
            &[
                el(
                    "label",
                    &[],
                    &[t(format!(
                        "Preview link ({}expires {}, {})",
                        if copied { "copied; " } else { "" },
                        when(expires),
                        from_now(expires, None)
                    ))],
                ),
                el("div", &[("class", t("link")), ("data-test", t("preview-url")), ("tabindex", t("0"))], &[t(&url)]),
                el(
                    "div",
                    &[("class", t("muted"))],
                    &[t("Whoever opens it sees this draft on this page; nothing they do is counted.")],
                ),
            ],
        );
    }

    async fn publish(&self) {
        if !self.save().await {
            return;
        }
        match api(&self.studio, "publish", &[get(&self.studio, "draftName")]).await {
            Ok(r) => {
                self.say(&format!("Published as version {}: shoppers get it now.", text_of(&get(&r, "version"))), true);
                set(&self.studio, "current", &r);
                // Test setup asks for its experiment's figures again.
                set(&self.studio, "resultsBoxes", &obj(&[]));
                call(&self.studio, "render");
            }
            Err(e) => {
                self.say(&message(&e), false);
                self.show_errors(&get(&e, "errors"));
            }
        }
    }

    /// The saved drafts, the version history and the audit log, asked for together.
    fn load_lists(&self) {
        let panel = self.clone();
        spawn_local(async move {
            let api_ = get(&panel.studio, "api");
            let ask =
                |name: &str| -> Result<JsValue, JsValue> { get(&api_, name).dyn_into::<Function>()?.call0(&api_) };
            let all = match (ask("drafts"), ask("versions"), ask("audit")) {
                (Ok(d), Ok(v), Ok(a)) => JsFuture::from(Promise::all(&Array::of3(&d, &v, &a))).await,
                (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => Err(e),
            };
            match all {
                Ok(all) => panel.draw_lists(&array(&all)),
                Err(e) => put(&panel.history, &[el("p", &[("class", t("error"))], &[t(message(&e))])]),
            }
        });
    }

    fn draw_lists(&self, all: &Array) {
        let drafts = array(&get(&all.get(0), "drafts"));
        let rows: Vec<JsValue> = drafts
            .iter()
            .map(|x| {
                let name = text_of(&get(&x, "name"));
                let at = get(&x, "savedAt").as_f64().unwrap_or(f64::NAN);
                let invalid = if get(&x, "valid").is_truthy() {
                    t("")
                } else {
                    el(
                        "span",
                        &[("class", t("no"))],
                        &[t(format!(" · {} error(s)", array(&get(&x, "errors")).length()))],
                    )
                };
                let open = on("click", move |panel, _| {
                    let name = name.clone();
                    spawn_local(async move { panel.open(&name).await });
                });
                el(
                    "div",
                    &[("class", t("row"))],
                    &[
                        el("strong", &[], &[get(&x, "name")]),
                        t(format!(" saved {} by {}", when(at), text_of(&get(&x, "savedBy")))),
                        invalid,
                        el(
                            "div",
                            &[("class", t("actions"))],
                            &[el("button", &[("on", open)], &[t("Open in the Studio")])],
                        ),
                    ],
                )
            })
            .collect();
        if rows.is_empty() {
            put(&self.drafts, &[el("p", &[("class", t("muted"))], &[t("No drafts yet.")])]);
        } else {
            put(&self.drafts, &rows);
        }
        let versions = array(&get(&all.get(1), "versions"));
        let history: Vec<JsValue> = versions.iter().map(|x| self.version_row(&x, &versions)).collect();
        put(&self.history, &history);
        let entries = array(&get(&all.get(2), "entries"));
        let from = entries.length().saturating_sub(30);
        let lines: Vec<JsValue> = (from..entries.length())
            .rev()
            .map(|i| {
                let e = entries.get(i);
                let action = text_of(&get(&e, "action")).replace('_', " ");
                let did = format!("{action} {} {}", text_of(&get(&e, "target")), text_of(&get(&e, "detail")));
                el(
                    "tr",
                    &[],
                    &[
                        el("td", &[], &[t(when(get(&e, "at").as_f64().unwrap_or(f64::NAN)))]),
                        el("td", &[], &[t(format!("{} ({})", text_of(&get(&e, "who")), text_of(&get(&e, "role"))))]),
                        el("td", &[], &[t(did.trim())]),
                    ],
                )
            })
            .collect();
        let head =
            el("tr", &[], &[el("th", &[], &[t("when")]), el("th", &[], &[t("who")]), el("th", &[], &[t("did")])]);
        put(&self.audit, &[el("table", &[], &[el("thead", &[], &[head]), el("tbody", &[], &lines)])]);
    }

    async fn open(&self, name: &str) {
        match api(&self.studio, "draft", &[t(name)]).await {
            Ok(r) => {
                set(&self.studio, "doc", &get(&r, "ruleset"));
                set(&self.studio, "draftName", &t(name));
                call(&self.studio, "refresh");
                self.say(&format!("Draft “{name}” opened: the page shows it now."), true);
            }
            Err(e) => self.say(&message(&e), false),
        }
    }

    fn version_row(&self, x: &JsValue, all: &Array) -> JsValue {
        let version = get(x, "version");
        let v = text_of(&version);
        let number = version.as_f64().unwrap_or(f64::NAN);
        let older = all.iter().find(|o| get(o, "version").as_f64().is_some_and(|o| o < number));
        let current = get(x, "current").is_truthy();
        let diff = older.map(|older| {
            let against = get(&older, "version");
            let label = format!("Diff against v{}", text_of(&against));
            let (version, against) = (version.clone(), against.clone());
            let click = on("click", move |panel, e| {
                // The row's diff box is the one after its buttons.
                let Some(diff_box) = e
                    .current_target()
                    .and_then(|b| b.dyn_into::<Element>().ok())
                    .and_then(|b| b.parent_element())
                    .and_then(|a| a.next_element_sibling())
                else {
                    return;
                };
                let (version, against) = (version.clone(), against.clone());
                spawn_local(async move {
                    match api(&panel.studio, "diff", &[version, against]).await {
                        Ok(d) => put(&diff_box, &diff_lines(&array(&get(&d, "changes")))),
                        Err(e) => put(&diff_box, &[el("div", &[("class", t("error"))], &[t(message(&e))])]),
                    }
                });
            });
            el("button", &[("on", click)], &[t(label)])
        });
        let rollback = if current {
            JsValue::NULL
        } else {
            let version_ = version.clone();
            let click = on("click", move |panel, _| {
                let version = version_.clone();
                spawn_local(async move {
                    match api(&panel.studio, "rollback", std::slice::from_ref(&version)).await {
                        Ok(r) => {
                            set(&panel.studio, "current", &r);
                            panel.say(
                                &format!(
                                    "Rolled back: version {}'s ruleset is live again as version {}.",
                                    text_of(&version),
                                    text_of(&get(&r, "version"))
                                ),
                                true,
                            );
                            call(&panel.studio, "render");
                        }
                        Err(e) => panel.say(&message(&e), false),
                    }
                });
            });
            let no = self.no_publish.is_truthy();
            el(
                "button",
                &[
                    ("class", t("danger")),
                    ("data-test", t(format!("rollback-{v}"))),
                    ("disabled", no.into()),
                    ("title", self.no_publish.clone()),
                    ("on", click),
                ],
                &[t(format!("Roll back to v{v}"))],
            )
        };
        el(
            "div",
            &[("class", t("row")), ("data-test", t(format!("version-{v}")))],
            &[
                el("strong", &[], &[t(format!("v{v}"))]),
                if current { el("span", &[("class", t("yes"))], &[t(" live now")]) } else { t("") },
                el(
                    "div",
                    &[("class", t("muted"))],
                    &[t(format!(
                        "{} by {} ({})",
                        when(get(x, "publishedAt").as_f64().unwrap_or(f64::NAN)),
                        text_of(&get(x, "who")),
                        text_of(&get(x, "role"))
                    ))],
                ),
                el("div", &[("class", t("reason"))], &[get(x, "summary")]),
                el("div", &[("class", t("actions"))], &[diff.unwrap_or(JsValue::NULL), rollback]),
                el("div", &[], &[]),
            ],
        )
    }
}

/// `JSON.stringify(v)` as a template literal writes it (`undefined` for nothing).
fn json_text(v: &JsValue) -> String {
    JSON::stringify(v).ok().and_then(|s| JsValue::from(s).as_string()).unwrap_or_else(|| "undefined".into())
}

fn diff_lines(changes: &Array) -> Vec<JsValue> {
    if changes.length() == 0 {
        return vec![el("div", &[("class", t("muted"))], &[t("No change.")])];
    }
    changes
        .iter()
        .map(|c| {
            let key = get(&c, "key");
            let what = if key.is_undefined() || key.is_null() { get(&c, "path") } else { key };
            let head = format!("{} {} {}", text_of(&get(&c, "change")), text_of(&get(&c, "kind")), text_of(&what));
            let fields: Vec<JsValue> = array(&get(&c, "fields"))
                .iter()
                .map(|f| {
                    let line = format!(
                        "{}: {} → {}",
                        text_of(&get(&f, "path")),
                        json_text(&get(&f, "from")),
                        json_text(&get(&f, "to"))
                    );
                    el("div", &[("class", t("muted"))], &[t(line)])
                })
                .collect();
            let mut children = vec![t(head)];
            children.extend(fields);
            el("div", &[("class", t("reason"))], &children)
        })
        .collect()
}

/// The Drafts & publish tab, drawn into `body`.
#[wasm_bindgen(js_name = publishPanel)]
pub fn publish_panel(studio: JsValue, body: Node) -> Result<(), JsValue> {
    let why = |role: &str| -> JsValue {
        get(&studio, "whyNot").dyn_into::<Function>().and_then(|f| f.call1(&studio, &t(role))).unwrap_or(JsValue::NULL)
    };
    let (no_edit, no_publish) = (why("edit"), why("publish"));
    let div = |test: &str| element(el("div", &[("data-test", t(test))], &[]));
    let status =
        element(el("div", &[("class", t("status")), ("role", t("status")), ("data-test", t("publish-status"))], &[]))?;
    let panel = Panel {
        studio: studio.clone(),
        status,
        errors: div("server-errors")?,
        link: div("preview-link")?,
        drafts: div("drafts")?,
        history: div("versions")?,
        audit: div("audit")?,
        no_publish: no_publish.clone(),
    };
    let last = get(&studio, "lastStatus");
    if last.is_truthy() {
        panel.say(&text_of(&get(&last, "text")), get(&last, "ok").is_truthy());
    }
    put(&panel.history, &[el("p", &[("class", t("muted"))], &[t("Loading the version history…")])]);
    let name = el(
        "input",
        &[
            ("value", get(&studio, "draftName")),
            ("data-test", t("draft-name")),
            (
                "on",
                on("input", |panel, e| {
                    set(&panel.studio, "draftName", &e.target().map_or(JsValue::UNDEFINED, |t| get(&t, "value")))
                }),
            ),
        ],
        &[],
    );
    let button = |class: Option<&str>, test: &str, why: &JsValue, click: JsValue, label: &str| {
        let mut pairs =
            vec![("data-test", t(test)), ("disabled", why.is_truthy().into()), ("title", why.clone()), ("on", click)];
        if let Some(class) = class {
            pairs.insert(0, ("class", t(class)));
        }
        el("button", &pairs, &[t(label)])
    };
    let save = on("click", |panel, _| {
        spawn_local(async move {
            panel.save().await;
        })
    });
    let share = on("click", |panel, _| spawn_local(async move { panel.share().await }));
    let publish = on("click", |panel, _| spawn_local(async move { panel.publish().await }));
    let why_line = if no_publish.is_truthy() {
        let text = if no_edit.is_truthy() {
            format!("{} Saving a draft and sharing a preview link need “edit”.", text_of(&no_publish))
        } else {
            text_of(&no_publish)
        };
        el("p", &[("class", t("muted")), ("data-test", t("publish-why"))], &[t(text)])
    } else {
        JsValue::NULL
    };
    put(
        &body,
        &[
            el("h2", &[], &[t("Save this working copy")]),
            el("label", &[], &[t("Draft name"), name]),
            el(
                "div",
                &[("class", t("actions"))],
                &[
                    button(Some("primary"), "save-draft", &no_edit, save, "Save draft"),
                    button(None, "share-preview", &no_edit, share, "Share a preview link"),
                    button(Some("primary"), "publish", &no_publish, publish, "Publish to shoppers"),
                ],
            ),
            why_line,
            panel.status.clone().into(),
            panel.errors.clone().into(),
            panel.link.clone().into(),
            el("h2", &[], &[t("Saved drafts")]),
            panel.drafts.clone().into(),
            el("h2", &[], &[t("Versions")]),
            panel.history.clone().into(),
            el("h2", &[], &[t("Audit log")]),
            panel.audit.clone().into(),
        ],
    );
    PANEL.with(|p| *p.borrow_mut() = Some(panel.clone()));
    panel.load_lists();
    Ok(())
}
