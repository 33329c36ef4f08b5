//! Parts of the Test setup tab (its form is still `studio/ui/setup.js`): where each of the
//! engine's problems is shown (next to the field whose JSON path it names), and the lines
//! under the fields: the other tests of an experiment's namespace with whether their ranges
//! overlap its own, whether this page and this shopper match the experiment; and the JSON
//! fields' textareas, the namespace's inputs and each variation's redirect fields.
//!
//! Where a problem goes and whether two ranges overlap are pure and tested natively; drawing
//! them is wasm32 only.

/// The field a problem at `path` goes next to: the one with the longest path that `path` is,
/// or starts with followed by `.` or `[` (the first of equal length); `None`: it is shown
/// above the form, as a problem elsewhere in the ruleset.
pub fn field_for<'a>(path: &str, fields: impl IntoIterator<Item = &'a str>) -> Option<usize> {
    let mut best: Option<(usize, usize)> = None;
    for (i, f) in fields.into_iter().enumerate() {
        let under =
            path == f || path.strip_prefix(f).is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['));
        if under && best.is_none_or(|(_, len)| f.len() > len) {
            best = Some((i, f.len()));
        }
    }
    best.map(|(i, _)| i)
}

/// JavaScript's `Math.max` and `Math.min`: NaN when either is NaN (Rust's `f64::max` would
/// drop it).
fn js_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

fn js_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

/// The shared part of the ranges [start, end) and [s, e) when there is one: `(from, to)`.
pub fn overlap((start, end): (f64, f64), (s, e): (f64, f64)) -> Option<(f64, f64)> {
    let (from, to) = (js_max(start, s), js_min(end, e));
    (from < to).then_some((from, to))
}

#[cfg(target_arch = "wasm32")]
mod web {
    use js_sys::Array;
    use wasm_bindgen::prelude::*;
    use web_sys::{Element, Node};

    use super::{field_for, overlap};
    use crate::dom::{array, el, get, put, text_of};

    fn t(s: impl AsRef<str>) -> JsValue {
        JsValue::from_str(s.as_ref())
    }

    fn path_of(p: &JsValue) -> String {
        get(p, "path").as_string().unwrap_or_default()
    }

    /// The control's `data-json-error` (set by a JSON field whose text is not JSON), if any.
    fn json_error(control: &Element) -> Option<String> {
        control.get_attribute("data-json-error").filter(|s| !s.is_empty())
    }

    /// Shows the engine's problems (`studio.problems`) and the server's on metrics (the
    /// browser's engine ignores metrics; the server checks them when a draft is saved) next to
    /// the fields (`[{ path, control, errs }]`, `errs` the element under the field), marks the
    /// fields `aria-invalid`, and puts the rest, or "The engine accepts this ruleset.", in
    /// `general`.
    #[wasm_bindgen(js_name = showProblems)]
    pub fn show_problems(studio: &JsValue, fields: &Array, general: &Node) -> Result<(), JsValue> {
        let mut problems: Vec<JsValue> = array(&get(studio, "problems")).iter().collect();
        problems.extend(array(&get(studio, "serverProblems")).iter().filter(|p| is_metric(&path_of(p))));
        let fields: Vec<(String, Element, Element)> = fields
            .iter()
            .map(|f| -> Result<_, JsValue> {
                Ok((text_of(&get(&f, "path")), get(&f, "control").dyn_into()?, get(&f, "errs").dyn_into()?))
            })
            .collect::<Result<_, _>>()?;
        for (_, _, errs) in &fields {
            put(errs, &[]);
        }
        let mut rest = Vec::new();
        for p in &problems {
            let path = path_of(p);
            match field_for(&path, fields.iter().map(|(f, _, _)| f.as_str())) {
                Some(i) => {
                    let line = format!("{path}: {}", text_of(&get(p, "message")));
                    fields[i].2.append_child(&error(&line).dyn_into::<Node>()?)?;
                }
                None => rest.push(p),
            }
        }
        for (_, control, errs) in &fields {
            let json = json_error(control);
            let bad = errs.child_element_count() > 0 || json.is_some();
            control.set_attribute("aria-invalid", if bad { "true" } else { "false" })?;
            if let Some(json) = json {
                errs.prepend_with_node_1(&error(&json).dyn_into::<Node>()?)?;
            }
        }
        let elsewhere = if rest.is_empty() {
            JsValue::NULL
        } else {
            let lines: Vec<JsValue> = rest
                .iter()
                .map(|p| {
                    let path = path_of(p);
                    let path = if path.is_empty() { "(ruleset)".into() } else { path };
                    el("div", &[], &[t(format!("{path}: {}", text_of(&get(p, "message"))))])
                })
                .collect();
            let mut children = vec![el("strong", &[], &[t("Problems elsewhere in the ruleset:")])];
            children.extend(lines);
            el("div", &[("class", t("error")), ("role", t("alert"))], &children)
        };
        let accepted = if problems.is_empty() {
            el("div", &[("class", t("status ok"))], &[t("The engine accepts this ruleset.")])
        } else {
            JsValue::NULL
        };
        put(general, &[elsewhere, accepted]);
        Ok(())
    }

    /// `/\.metrics\b/`: a path into an experiment's metrics.
    fn is_metric(path: &str) -> bool {
        path.match_indices(".metrics")
            .any(|(i, m)| !path[i + m.len()..].chars().next().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_'))
    }

    fn error(text: &str) -> JsValue {
        el("div", &[("class", t("error")), ("role", t("alert"))], &[t(text)])
    }

    /// `+v` (as `Number(v)`), as JavaScript compares the ranges.
    fn number(v: &JsValue) -> f64 {
        v.unchecked_into_f64()
    }

    /// JavaScript's text of a number.
    fn num(n: f64) -> String {
        text_of(&JsValue::from_f64(n))
    }

    /// The other experiments (of `experiments`) in experiment `i`'s namespace and whether
    /// their ranges overlap its own; `null` when it has no namespace.
    pub(super) fn namespace_overlaps(experiments: &JsValue, i: u32) -> JsValue {
        let xs = array(experiments);
        let ns = get(&xs.get(i), "namespace");
        if !Array::is_array(&ns) {
            return JsValue::NULL;
        }
        let ns: Array = ns.unchecked_into();
        let id = ns.get(0);
        if !id.is_truthy() {
            return JsValue::NULL;
        }
        let (start, end) = (ns.get(1), ns.get(2));
        let range = |s: &JsValue, e: &JsValue| format!("[{}, {})", text_of(s), text_of(e));
        let others: Vec<JsValue> = xs
            .iter()
            .enumerate()
            .filter(|(j, y)| {
                let theirs = get(y, "namespace");
                *j != i as usize && Array::is_array(&theirs) && theirs.unchecked_ref::<Array>().get(0) == id
            })
            .map(|(_, y)| y)
            .collect();
        let id = text_of(&id);
        if others.is_empty() {
            return el(
                "div",
                &[("class", t("status muted"))],
                &[t(format!("No other test uses the namespace “{id}”."))],
            );
        }
        let mut lines =
            vec![el("div", &[], &[t(format!("Namespace “{id}”: this test takes {}.", range(&start, &end)))])];
        for y in others {
            let theirs: Array = get(&y, "namespace").unchecked_into();
            let (s, e) = (theirs.get(1), theirs.get(2));
            let key = text_of(&get(&y, "key"));
            lines.push(match overlap((number(&start), number(&end)), (number(&s), number(&e))) {
                Some((from, to)) => el(
                    "div",
                    &[("class", t("error")), ("role", t("alert")), ("data-test", t("namespace-overlap"))],
                    &[t(format!(
                        "Overlaps “{key}” {} on [{}, {}): shoppers there could be in both tests, so they are not mutually exclusive.",
                        range(&s, &e),
                        num(from),
                        num(to)
                    ))],
                ),
                None => el("div", &[("class", t("yes"))], &[t(format!("“{key}” takes {}: no overlap.", range(&s, &e)))]),
            });
        }
        el("div", &[("class", t("status"))], &lines)
    }
}

#[cfg(target_arch = "wasm32")]
mod live {
    use js_sys::{Array, Function, JSON};
    use wasm_bindgen::prelude::*;
    use web_sys::{Element, Node};

    use crate::bind::StudioEngine;
    use crate::dom::{array, el, get, message, put, text_of};

    fn t(s: impl AsRef<str>) -> JsValue {
        JsValue::from_str(s.as_ref())
    }

    /// `studio.<name>(...args)`.
    fn call(studio: &JsValue, name: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
        get(studio, name).dyn_into::<Function>()?.apply(studio, &args.iter().collect::<Array>())
    }

    fn find(body: &Element, test: &str) -> Option<Node> {
        body.query_selector(&format!("[data-test=\"{test}\"]")).ok().flatten().map(Node::from)
    }

    /// Draws the lines under the form's fields again for experiment `i` of `experiments`: the
    /// namespace's overlaps, "This page matches" (the engine decides the experiment alone on
    /// this page) and "This shopper matches" (its condition, for the shopper or persona).
    #[wasm_bindgen(js_name = setupLive)]
    pub fn live(studio: &JsValue, body: &Element, experiments: &JsValue, i: u32) -> Result<(), JsValue> {
        if let Some(ov) = find(body, "namespace-overlaps") {
            put(&ov, &[super::web::namespace_overlaps(experiments, i)]);
        }
        let x = array(experiments).get(i);
        let key = get(&x, "key");
        if let Some(pm) = find(body, "page-match") {
            let decided = array(&get(&get(studio, "decision"), "experiments")).iter().any(|e| get(&e, "key") == key);
            let here = call(studio, "targetsPage", std::slice::from_ref(&x))?.is_truthy();
            let line = if here {
                el("span", &[("class", t("yes"))], &[t("This page matches: yes")])
            } else {
                el("span", &[("class", t("no"))], &[t("This page matches: no")])
            };
            let path = web_sys::window().and_then(|w| w.location().pathname().ok()).unwrap_or_default();
            put(&pm, &[line, t(if decided { format!(" ({path})") } else { String::new() })]);
        }
        if let Some(sm) = find(body, "shopper-match") {
            let condition = get(&x, "condition");
            if condition.is_undefined() {
                put(
                    &sm,
                    &[el("span", &[("class", t("yes"))], &[t("This shopper matches: yes")]), t(" (no condition)")],
                );
            } else {
                match shopper_matches(studio, &condition) {
                    Ok((yes, source)) => put(
                        &sm,
                        &[
                            el(
                                "span",
                                &[("class", t(if yes { "yes" } else { "no" }))],
                                &[t(format!("This shopper matches: {}", if yes { "yes" } else { "no" }))],
                            ),
                            t(format!(" ({source})")),
                        ],
                    ),
                    Err(e) => put(&sm, &[el("span", &[("class", t("error"))], &[t(message(&e))])]),
                }
            }
        }
        Ok(())
    }

    /// Whether `condition` holds for `studio.shopper()`, and who that shopper is.
    fn shopper_matches(studio: &JsValue, condition: &JsValue) -> Result<(bool, String), JsValue> {
        let s = call(studio, "shopper", &[])?;
        let json = |v: &JsValue| JSON::stringify(v).map(|s| s.as_string().unwrap_or_default());
        let profile = text_of(&get(&s, "profile"));
        let now = call(studio, "now", &[])?.unchecked_into_f64();
        let yes = StudioEngine.matches(&json(condition)?, &profile, &json(&get(&s, "context"))?, now)?;
        Ok((yes, text_of(&get(&s, "source"))))
    }
}

#[cfg(target_arch = "wasm32")]
mod json {
    use js_sys::{Function, Reflect, JSON};
    use wasm_bindgen::prelude::*;
    use web_sys::Element;

    use crate::dom::{document, message};

    /// `String.prototype.trim`'s white space: Unicode's and the byte order mark.
    fn blank(s: &str) -> bool {
        s.chars().all(|c| c.is_whitespace() || c == '\u{feff}')
    }

    /// The textarea of a JSON field holding `obj[key]` (pretty-printed; empty when it is
    /// unset), whose edits, after `later`'s pause, set `obj[key]` to the parsed value, or
    /// delete it when the text is empty. Text that is not JSON keeps the last valid value and
    /// marks the textarea `data-json-error` with why (the problems say it next to the field).
    #[wasm_bindgen(js_name = jsonTextarea)]
    pub fn json_textarea(
        obj: JsValue,
        key: String,
        at: &str,
        test: &str,
        later: &Function,
    ) -> Result<Element, JsValue> {
        let ta = document()?.create_element("textarea")?;
        ta.set_attribute("data-test", test)?;
        let value = Reflect::get(&obj, &key.as_str().into())?;
        let text = if value.is_undefined() {
            JsValue::from_str("")
        } else {
            JSON::stringify_with_replacer_and_space(&value, &JsValue::NULL, &JsValue::from(1))?.into()
        };
        Reflect::set(&ta, &"value".into(), &text)?;
        let what = format!("{at}.{key}");
        let take = Closure::<dyn Fn(JsValue, Element)>::new(move |v: JsValue, el: Element| {
            let v = v.as_string().unwrap_or_default();
            let k = JsValue::from_str(&key);
            if blank(&v) {
                let _ = el.remove_attribute("data-json-error");
                let _ = Reflect::delete_property(obj.unchecked_ref::<js_sys::Object>(), &k);
                return;
            }
            match JSON::parse(&v) {
                Ok(parsed) => {
                    let _ = Reflect::set(&obj, &k, &parsed);
                    let _ = el.remove_attribute("data-json-error");
                }
                Err(e) => {
                    let why = format!("{what}: not JSON ({}); the last valid value is kept", message(&e));
                    let _ = el.set_attribute("data-json-error", &why);
                }
            }
        })
        .into_js_value();
        let handler: Function = later.call1(&JsValue::UNDEFINED, &take)?.dyn_into()?;
        ta.add_event_listener_with_callback("input", &handler)?;
        Ok(ta)
    }
}

#[cfg(target_arch = "wasm32")]
mod fields {
    use js_sys::{Array, Function, Object, Reflect};
    use wasm_bindgen::prelude::*;
    use web_sys::{Document, Element, Event};

    use crate::dom::{document, get};

    /// An `<input>` with these attributes.
    fn input(doc: &Document, attrs: &[(&str, &str)]) -> Result<Element, JsValue> {
        let el = doc.create_element("input")?;
        for (k, v) in attrs {
            el.set_attribute(k, v)?;
        }
        Ok(el)
    }

    /// The namespace of experiment `x` (at JSON path `at`): its id and the range [start, end)
    /// of it the experiment takes, three inputs in one `[data-namespace]` box, in a field
    /// (through the form's `field`). An edit, after `later`'s pause, reads the three inputs
    /// of the box the edited one is in: all empty, no namespace; an empty start is 0, an empty
    /// end 1.
    #[wasm_bindgen(js_name = namespaceFields)]
    pub fn namespace_fields(x: JsValue, at: &str, field: &Function, later: &Function) -> Result<JsValue, JsValue> {
        let doc = document()?;
        let ns = get(&x, "namespace");
        let now: Vec<JsValue> = if Array::is_array(&ns) {
            let ns: &Array = ns.unchecked_ref();
            // `value ?? ""`
            (0..3).map(|i| ns.get(i)).map(|v| if v.is_undefined() || v.is_null() { "".into() } else { v }).collect()
        } else {
            vec![JsValue::from_str(""); 3]
        };
        let take = Closure::<dyn Fn(JsValue, Element)>::new(move |_: JsValue, el: Element| {
            let Some(box_) = el.closest("[data-namespace]").ok().flatten() else {
                return;
            };
            let part = |k: &str| {
                let c = box_.query_selector(&format!("[data-test=\"field-namespace-{k}\"]")).ok().flatten();
                let v = c.map(|c| get(&c, "value")).and_then(|v| v.as_string()).unwrap_or_default();
                js_trim(&v).to_owned()
            };
            let (id, start, end) = (part("id"), part("start"), part("end"));
            if id.is_empty() && start.is_empty() && end.is_empty() {
                let _ = Reflect::delete_property(x.unchecked_ref::<Object>(), &"namespace".into());
                return;
            }
            let number =
                |s: &str, empty: f64| if s.is_empty() { empty } else { JsValue::from_str(s).unchecked_into_f64() };
            let value = Array::of3(&JsValue::from_str(&id), &number(&start, 0.0).into(), &number(&end, 1.0).into());
            let _ = Reflect::set(&x, &"namespace".into(), &value);
        })
        .into_js_value();
        let handler: Function = later.call1(&JsValue::UNDEFINED, &take)?.dyn_into()?;
        let range = [("type", "number"), ("min", "0"), ("max", "1"), ("step", "0.05")];
        let parts = [
            ("id", vec![("placeholder", "e.g. product-page")]),
            ("start", [&range[..], &[("placeholder", "0")]].concat()),
            ("end", [&range[..], &[("placeholder", "1")]].concat()),
        ];
        let box_ = doc.create_element("span")?;
        box_.set_attribute("data-namespace", "")?;
        box_.set_attribute("class", "namespace")?;
        for (i, (k, attrs)) in parts.iter().enumerate() {
            if i > 0 {
                box_.append_child(&doc.create_text_node(if i == 1 { " from " } else { " to " }))?;
            }
            let el = input(&doc, attrs)?;
            let v = &now[i];
            Reflect::set(&el, &"value".into(), v)?;
            el.set_attribute("data-test", &format!("field-namespace-{k}"))?;
            el.set_attribute("aria-label", &format!("namespace {k}"))?;
            el.add_event_listener_with_callback("input", &handler)?;
            box_.append_child(&el)?;
        }
        let args = Array::of4(
            &"Namespace (tests sharing one, with ranges that do not overlap, never share a shopper)".into(),
            &JsValue::from_str(&format!("{at}.namespace")),
            &box_,
            &"the id and the share [start, end) of it this test takes; empty: none".into(),
        );
        field.apply(&JsValue::UNDEFINED, &args)
    }

    /// `String.prototype.trim`: Unicode's white space and the byte order mark at either end.
    fn js_trim(s: &str) -> &str {
        s.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
    }

    /// A redirect test's variation `j` (`v`, at JSON path `vat`): the field (through the
    /// form's `field(label, path, control, help)`) with the URL the shopper is sent to
    /// instead, set after `later`'s pause (empty: no redirect), and the checkbox saying
    /// whether the query string goes along. The URL's handler finds the checkbox from the
    /// input's variation row, so it holds no element of the panel.
    #[wasm_bindgen(js_name = redirectFields)]
    pub fn redirect_fields(
        v: JsValue,
        vat: &str,
        j: u32,
        field: &Function,
        later: &Function,
    ) -> Result<Array, JsValue> {
        let doc = document()?;
        let keep_test = format!("field-keep-query-{j}");
        let keep = input(&doc, &[("type", "checkbox")])?;
        if get(&get(&v, "redirect"), "keepQuery") != JsValue::FALSE {
            keep.set_attribute("checked", "")?;
        }
        keep.set_attribute("data-test", &keep_test)?;
        let on_keep = {
            let v = v.clone();
            Closure::<dyn Fn(Event)>::new(move |e: Event| {
                let redirect = get(&v, "redirect");
                if let (true, Some(target)) = (redirect.is_object(), e.target()) {
                    let _ = Reflect::set(&redirect, &"keepQuery".into(), &get(&target, "checked"));
                }
            })
            .into_js_value()
        };
        keep.add_event_listener_with_callback("change", on_keep.unchecked_ref())?;

        let url = input(&doc, &[("placeholder", "/new-page.html")])?;
        Reflect::set(
            &url,
            &"value".into(),
            &JsValue::from_str(&get(&get(&v, "redirect"), "url").as_string().unwrap_or_default()),
        )?;
        url.set_attribute("data-test", &format!("field-redirect-{j}"))?;
        let take = Closure::<dyn Fn(JsValue, Element)>::new(move |t: JsValue, el: Element| {
            let t = t.as_string().unwrap_or_default();
            let t = js_trim(&t);
            if t.is_empty() {
                let _ = Reflect::delete_property(v.unchecked_ref::<Object>(), &"redirect".into());
                return;
            }
            let checked = el
                .closest(&format!("[data-test=\"variation-{j}\"]"))
                .ok()
                .flatten()
                .and_then(|row| row.query_selector(&format!("[data-test=\"field-keep-query-{j}\"]")).ok().flatten())
                .map(|k| get(&k, "checked"))
                .unwrap_or(JsValue::TRUE);
            let next = Object::new();
            let old = get(&v, "redirect");
            if old.is_object() {
                Object::assign(&next, old.unchecked_ref());
            }
            let _ = Reflect::set(&next, &"url".into(), &JsValue::from_str(t));
            let _ = Reflect::set(&next, &"keepQuery".into(), &checked);
            let _ = Reflect::set(&v, &"redirect".into(), &next);
        })
        .into_js_value();
        let handler: Function = later.call1(&JsValue::UNDEFINED, &take)?.dyn_into()?;
        url.add_event_listener_with_callback("input", &handler)?;

        let args = Array::of4(
            &"Redirect test: send the shopper to this URL instead (empty: none)".into(),
            &JsValue::from_str(&format!("{vat}.redirect")),
            &url,
            &"a path starting with / or an http(s) URL; not with page changes, not on variation 0".into(),
        );
        let the_field = field.apply(&JsValue::UNDEFINED, &args)?;
        let label = doc.create_element("label")?;
        label.set_attribute("class", "check")?;
        label.append_child(&keep)?;
        label.append_child(&doc.create_text_node(" keep the page\u{2019}s query string when redirecting"))?;
        Ok(Array::of2(&the_field, &label))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_goes_to_the_field_with_the_longest_path_it_names() {
        let fields = ["holdout", "experiments[0].key", "experiments[0].variations[1].changes", "experiments[0]"];
        assert_eq!(field_for("experiments[0].key", fields), Some(1));
        assert_eq!(field_for("experiments[0].variations[1].changes[0].selector", fields), Some(2));
        assert_eq!(field_for("experiments[0].variations[1].css", fields), Some(3));
        // A prefix that does not end at a step of the path is another name.
        assert_eq!(field_for("holdoutX", fields), None);
        assert_eq!(field_for("experiments[0].keys", fields), Some(3));
        assert_eq!(field_for("offers[2].condition", fields), None);
        assert_eq!(field_for("", fields), None);
        // Of two fields with the same path, the first.
        assert_eq!(field_for("a.b", ["a", "a"]), Some(0));
    }

    #[test]
    fn ranges_overlap_on_their_shared_part_as_javascript_compares_them() {
        assert_eq!(overlap((0.0, 0.5), (0.4, 1.0)), Some((0.4, 0.5)));
        assert_eq!(overlap((0.0, 0.5), (0.5, 1.0)), None, "[start, end): touching is not overlapping");
        assert_eq!(overlap((0.2, 0.3), (0.0, 1.0)), Some((0.2, 0.3)));
        assert_eq!(overlap((f64::NAN, 0.5), (0.0, 1.0)), None, "NaN compares false, as in JavaScript");
    }
}
