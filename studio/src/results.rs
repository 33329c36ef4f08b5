//! Results: the figures the server computes for an experiment (docs/results.md), in the
//! Results tab (`resultsPanel`) and, compact, beside the Test setup's editor
//! (`resultsBoxFor`). The server's answer crosses with serde-wasm-bindgen; numbers are written
//! by the browser's own `toFixed`/`toPrecision`, as the rest of the Studio writes them.

use js_sys::{Array, Function, Object, Reflect};
use serde::Deserialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{Element, Event, Node};

use crate::dom::{fill, h, text_of};

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Answer {
    experiments: Option<Vec<Experiment>>,
    guidance: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Experiment {
    experiment_key: Option<String>,
    guidance: Option<String>,
    alpha: Option<f64>,
    srm: Option<Srm>,
    variations: Option<Vec<Row>>,
    metrics: Option<Vec<Metric>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Srm {
    mismatch: bool,
    p_value: Option<f64>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Row {
    variation: Option<f64>,
    key: Option<String>,
    shoppers: Option<f64>,
    exposures: Option<f64>,
    conversions: Option<f64>,
    conversion_rate: Option<f64>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Metric {
    goal: bool,
    key: Option<String>,
    definition: Option<String>,
    comparisons: Option<Vec<Comparison>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Comparison {
    variation: Option<f64>,
    significant: bool,
    relative: Option<f64>,
    relative_interval: Option<Vec<Option<f64>>>,
    p_value: Option<f64>,
    p_value_adjusted: Option<f64>,
}

fn get(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

/// A number as JavaScript writes it (`String(n)`), `null` for none.
fn num(v: Option<f64>) -> String {
    v.and_then(|n| js_sys::Number::from(n).to_string_with_radix(10).ok()).map_or_else(|| "null".into(), String::from)
}

fn fixed(v: f64, digits: u8) -> String {
    js_sys::Number::from(v).to_fixed(digits).map(String::from).unwrap_or_default()
}

/// "12.5%", or "–".
fn pct(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{}%", fixed(v * 100.0, 1)),
        _ => "–".into(),
    }
}

/// "+12.5%", "-3.0%", or "–".
fn signed(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{}{}%", if v > 0.0 { "+" } else { "" }, fixed(v * 100.0, 1)),
        _ => "–".into(),
    }
}

fn p_text(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() => {
            if v < 0.0001 {
                "< 0.0001".into()
            } else {
                fixed(v, 4)
            }
        }
        _ => "–".into(),
    }
}

/// `{ key: value, ... }` for the builder.
fn attrs(pairs: &[(&str, &str)]) -> JsValue {
    let o = Object::new();
    for (k, v) in pairs {
        let _ = Reflect::set(&o, &(*k).into(), &(*v).into());
    }
    o.into()
}

/// An element of `tag` with string attributes and children.
fn el(tag: &str, pairs: &[(&str, &str)], children: &[JsValue]) -> JsValue {
    h(tag, &attrs(pairs), &children.iter().collect::<Array>()).map(JsValue::from).unwrap_or(JsValue::NULL)
}

fn t(s: impl AsRef<str>) -> JsValue {
    JsValue::from_str(s.as_ref())
}

fn set(node: &Node, children: &[JsValue]) {
    let _ = fill(node, &children.iter().collect::<Array>());
}

/// The server's figures for `key` with the answer's own guidance, or the message of its
/// refusal.
async fn fetch(studio: &JsValue, key: &JsValue) -> Result<Option<(Experiment, Option<String>)>, String> {
    let message = |e: JsValue| {
        let m = get(&e, "message");
        if m.is_undefined() {
            text_of(&e)
        } else {
            text_of(&m)
        }
    };
    let api = get(studio, "api");
    let results =
        get(&api, "results").dyn_into::<Function>().map_err(|_| "the Studio has no results API".to_string())?;
    let promise = results.call1(&api, key).map_err(message)?;
    let answer = JsFuture::from(js_sys::Promise::resolve(&promise)).await.map_err(message)?;
    let answer: Answer =
        serde_wasm_bindgen::from_value(answer).map_err(|e| format!("the server's results could not be read: {e}"))?;
    let key = text_of(key);
    let found = answer.experiments.unwrap_or_default().into_iter().find(|e| e.experiment_key.as_deref() == Some(&key));
    Ok(found.map(|e| (e, answer.guidance)))
}

fn table(test: &str, e: &Experiment, name: impl Fn(&Row) -> String) -> JsValue {
    let head: Vec<JsValue> =
        ["variation", "shoppers", "exposures", "conversions", "rate"].iter().map(|c| el("th", &[], &[t(c)])).collect();
    let cell = |v: Option<f64>| el("td", &[], &v.map(|n| vec![t(num(Some(n)))]).unwrap_or_default());
    let rows: Vec<JsValue> = e
        .variations
        .iter()
        .flatten()
        .map(|v| {
            el(
                "tr",
                &[],
                &[
                    el("td", &[], &[t(name(v))]),
                    cell(v.shoppers),
                    cell(v.exposures),
                    cell(v.conversions),
                    el("td", &[], &[t(pct(v.conversion_rate))]),
                ],
            )
        })
        .collect();
    el("table", &[("data-test", test)], &[el("thead", &[], &[el("tr", &[], &head)]), el("tbody", &[], &rows)])
}

/// The Results tab for the experiment selected in Test setup, drawn into `body`.
#[wasm_bindgen(js_name = resultsPanel)]
pub fn results_panel(studio: JsValue, body: Node) {
    let selected = get(&studio, "selected");
    let x = Reflect::get(&get(&get(&studio, "doc"), "experiments"), &selected).unwrap_or(JsValue::UNDEFINED);
    if !x.is_object() {
        return set(&body, &[el("p", &[("class", "muted")], &[t("Pick an experiment in Test setup first.")])]);
    }
    let key = get(&x, "key");
    let title = format!("Results of “{}”", text_of(&key));
    set(&body, &[el("h2", &[], &[t(&title)]), el("p", &[("class", "muted")], &[t("Loading…")])]);
    spawn_local(async move {
        let e = match fetch(&studio, &key).await {
            Err(message) => {
                return set(&body, &[el("h2", &[], &[t(&title)]), el("p", &[("class", "error")], &[t(message)])])
            }
            Ok(None) => {
                return set(
                    &body,
                    &[
                        el("h2", &[], &[t(&title)]),
                        el("p", &[("class", "muted")], &[t("No shopper has been exposed to this experiment yet.")]),
                    ],
                )
            }
            Ok(Some((e, overall))) => (e, overall),
        };
        let (e, overall) = e;
        let guidance = [e.guidance.clone(), overall].into_iter().flatten().find(|g| !g.is_empty()).unwrap_or_default();
        let srm = e.srm.as_ref().map(|s| {
            let p = s.p_value.map_or_else(
                || "NaN".into(),
                |p| js_sys::Number::from(p).to_precision(2).map(String::from).unwrap_or_default(),
            );
            if s.mismatch {
                el(
                    "p",
                    &[("class", "no")],
                    &[t(format!(
                        "The split differs from the weights (p = {p}): check the setup before trusting the figures."
                    ))],
                )
            } else {
                el("p", &[("class", "muted")], &[t(format!("The split matches the weights (p = {p})."))])
            }
        });
        set(
            &body,
            &[
                el("h2", &[], &[t(&title)]),
                el("p", &[("data-test", "guidance")], &[t(guidance)]),
                table("results", &e, |v| format!("{}: {}", num(v.variation), v.key.clone().unwrap_or_default())),
                srm.unwrap_or(JsValue::NULL),
            ],
        );
    });
}

/// The compact box of the server's figures for experiment `key` beside the Test setup's
/// editor, kept while the Test setup redraws (each edit redraws it): loaded once when the tab
/// opens and again after a publish (`studio.resultsBoxes = {}` forgets them); **Refresh**
/// asks again.
#[wasm_bindgen(js_name = resultsBoxFor)]
pub fn results_box_for(studio: JsValue, key: JsValue) -> Result<JsValue, JsValue> {
    let mut boxes = get(&studio, "resultsBoxes");
    if !boxes.is_truthy() {
        boxes = Object::new().into();
        Reflect::set(&studio, &"resultsBoxes".into(), &boxes)?;
    }
    let kept = Reflect::get(&boxes, &key)?;
    if kept.is_truthy() {
        return Ok(kept);
    }
    let node =
        h("div", &attrs(&[("class", "box"), ("data-test", "results-box"), ("aria-live", "polite")]), &Array::new())?;
    load(&studio, &key, &node);
    Reflect::set(&boxes, &key, &node)?;
    Ok(node.into())
}

/// The box's title with its Refresh button. The button finds its box from the click, so the
/// handler holds no reference to it.
fn title(studio: &JsValue, key: &JsValue) -> JsValue {
    let (studio, key_) = (studio.clone(), key.clone());
    let refresh: Function = Closure::<dyn Fn(Event)>::new(move |e: Event| {
        let node = e
            .current_target()
            .and_then(|t| t.dyn_into::<Element>().ok())
            .and_then(|b| b.closest("[data-test=\"results-box\"]").ok().flatten());
        if let Some(node) = node {
            load(&studio, &key_, &node);
        }
    })
    .into_js_value()
    .unchecked_into();
    let on = Object::new();
    let _ = Reflect::set(&on, &"click".into(), &refresh);
    let button_attrs = attrs(&[("data-test", "results-refresh")]);
    let _ = Reflect::set(&button_attrs, &"on".into(), &on);
    let button = h("button", &button_attrs, &Array::of1(&t("Refresh"))).map(JsValue::from).unwrap_or(JsValue::NULL);
    el(
        "div",
        &[("class", "actions")],
        &[el("strong", &[], &[t(format!("Results of “{}” so far", text_of(key)))]), button],
    )
}

fn load(studio: &JsValue, key: &JsValue, node: &Element) {
    set(node, &[title(studio, key), el("div", &[("class", "muted")], &[t("Loading…")])]);
    let (studio, key, node) = (studio.clone(), key.clone(), node.clone());
    spawn_local(async move {
        let e =
            match fetch(&studio, &key).await {
                Err(message) => {
                    return set(&node, &[title(&studio, &key), el("div", &[("class", "error")], &[t(message)])])
                }
                Ok(None) => return set(
                    &node,
                    &[
                        title(&studio, &key),
                        el(
                            "div",
                            &[("class", "muted"), ("data-test", "results-none")],
                            &[t(
                                "No shopper has been exposed to this experiment yet (the live ruleset has to hold it).",
                            )],
                        ),
                    ],
                ),
                Ok(Some((e, _))) => e,
            };
        let metrics = e.metrics.as_deref().unwrap_or_default();
        let goal = metrics.iter().find(|m| m.goal).or(metrics.first());
        let variations = e.variations.as_deref().unwrap_or_default();
        let name = |v: Option<f64>| {
            let key = v
                .filter(|i| *i >= 0.0 && i.fract() == 0.0)
                .and_then(|i| variations.get(i as usize))
                .and_then(|r| r.key.clone());
            format!("{}: {}", num(v), key.unwrap_or_default())
        };
        let level = ((1.0 - e.alpha.unwrap_or(0.05)) * 100.0 + 0.5).floor();
        let level = if level.is_finite() { (level as i64).to_string() } else { "NaN".into() };
        let comparisons: Vec<JsValue> = goal
            .and_then(|g| g.comparisons.as_ref())
            .into_iter()
            .flatten()
            .map(|c| {
                let class = if !c.significant {
                    ""
                } else if c.relative.is_some_and(|r| r > 0.0) {
                    "yes"
                } else {
                    "no"
                };
                let interval = |i: usize| c.relative_interval.as_ref().and_then(|r| r.get(i).copied().flatten());
                let text = format!(
                    "{} against the control: {} ({level}% interval {} to {}), p = {}: ",
                    name(c.variation),
                    signed(c.relative),
                    signed(interval(0)),
                    signed(interval(1)),
                    p_text(c.p_value_adjusted.or(c.p_value)),
                );
                let test = format!("results-uplift-{}", num(c.variation));
                el(
                    "div",
                    &[("data-test", &test), ("class", class)],
                    &[t(text), t(if c.significant { "significant" } else { "not significant yet" })],
                )
            })
            .collect();
        let goal_line = goal.map(|g| {
            let what =
                g.definition.clone().filter(|d| !d.is_empty()).or(g.key.clone()).unwrap_or_else(|| "undefined".into());
            el("div", &[("class", "muted")], &[t(format!("Goal: {what}"))])
        });
        let guidance = e
            .guidance
            .as_ref()
            .filter(|g| !g.is_empty())
            .map(|g| el("div", &[("class", "reason"), ("data-test", "results-box-guidance")], &[t(g)]));
        let mut children = vec![
            title(&studio, &key),
            table("results-box-table", &e, |v| name(v.variation)),
            goal_line.unwrap_or(JsValue::NULL),
        ];
        children.extend(comparisons);
        children.push(guidance.unwrap_or(JsValue::NULL));
        set(&node, &children);
    });
}
