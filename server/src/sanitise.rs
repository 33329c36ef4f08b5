//! Sanitising the HTML of page changes before a ruleset is signed.
//!
//! Every HTML value of a change (actions `html`, `insertBefore`, `insertAfter`, `prepend`,
//! `append`, in `experiments[].variations[].changes` and `offers[].changes`) goes through
//! ammonia with a strict allow-list: the engine's own lists ([`HTML_TAGS`],
//! [`HTML_GENERIC_ATTRIBUTES`], `aria-*`, [`HTML_TAG_ATTRIBUTES`]), so what ammonia keeps
//! the engine's HTML check ([`tailor::engine::page::html_problem`]) accepts. No script,
//! style, iframe, object, embed, form or form control, no `on*` or `style` attribute, URLs
//! only `http:`, `https:`, `mailto:`, `tel:` or relative; comments dropped; links get
//! `rel="noopener noreferrer"`. The sanitised HTML replaces the value in what is signed,
//! and the paths of the values it changed are reported (docs/security.md).

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use ammonia::{Builder, UrlRelative};
use tailor::engine::json::Value;
use tailor::engine::page::{HTML_ACTIONS, HTML_GENERIC_ATTRIBUTES, HTML_TAGS, HTML_TAG_ATTRIBUTES};

/// Elements removed with everything inside them (the others that are not allowed are
/// removed, their text kept).
const DROPPED_WITH_CONTENT: [&str; 16] = [
    "script",
    "style",
    "template",
    "noscript",
    "textarea",
    "title",
    "xmp",
    "iframe",
    "object",
    "embed",
    "svg",
    "math",
    "select",
    "noembed",
    "noframes",
    "plaintext",
];

fn builder() -> &'static Builder<'static> {
    static BUILDER: OnceLock<Builder<'static>> = OnceLock::new();
    BUILDER.get_or_init(|| {
        let mut tag_attributes: HashMap<&'static str, HashSet<&'static str>> = HashMap::new();
        for (tag, attributes) in HTML_TAG_ATTRIBUTES {
            // ammonia sets `rel` on links itself (link_rel below) and refuses to also allow it.
            let set = attributes.iter().copied().filter(|a| !(tag == "a" && *a == "rel")).collect();
            tag_attributes.insert(tag, set);
        }
        let mut b = Builder::empty();
        b.tags(HTML_TAGS.iter().copied().collect())
            .clean_content_tags(DROPPED_WITH_CONTENT.iter().copied().collect())
            .generic_attributes(HTML_GENERIC_ATTRIBUTES.iter().copied().collect())
            .generic_attribute_prefixes(["aria-"].into_iter().collect())
            .tag_attributes(tag_attributes)
            .url_schemes(["http", "https", "mailto", "tel"].into_iter().collect())
            .url_relative(UrlRelative::PassThrough)
            .link_rel(Some("noopener noreferrer"))
            .strip_comments(true);
        b
    })
}

/// The sanitised form of one HTML value: ammonia's output, cleaned again until it no
/// longer changes (at most 4 passes; parsing serialised HTML can move markup once).
pub fn sanitise_html(html: &str) -> String {
    let mut current = builder().clean(html).to_string();
    for _ in 0..3 {
        let again = builder().clean(&current).to_string();
        if again == current {
            break;
        }
        current = again;
    }
    current
}

/// Every HTML value of the ruleset's changes: (JSON path, mutable value).
fn html_values<'v>(ruleset: &'v mut Value, out: &mut Vec<(String, &'v mut Value)>) {
    let Value::Object(top) = ruleset else { return };
    let mut lists: Vec<(String, &'v mut Value)> = Vec::new();
    for (k, v) in top.iter_mut() {
        let Value::Array(a) = v else { continue };
        match k {
            "experiments" => {
                for (i, x) in a.iter_mut().enumerate() {
                    if let Some(Value::Array(vs)) = x.as_object_mut().and_then(|m| m.get_mut("variations")) {
                        for (j, v) in vs.iter_mut().enumerate() {
                            if let Some(c) = v.as_object_mut().and_then(|m| m.get_mut("changes")) {
                                lists.push((format!("experiments[{i}].variations[{j}].changes"), c));
                            }
                        }
                    }
                }
            }
            "offers" => {
                for (i, o) in a.iter_mut().enumerate() {
                    if let Some(c) = o.as_object_mut().and_then(|m| m.get_mut("changes")) {
                        lists.push((format!("offers[{i}].changes"), c));
                    }
                }
            }
            _ => {}
        }
    }
    for (path, list) in lists {
        let Value::Array(changes) = list else { continue };
        for (k, change) in changes.iter_mut().enumerate() {
            let Some(m) = change.as_object_mut() else { continue };
            let html = m.get("action").and_then(Value::as_str).is_some_and(|a| HTML_ACTIONS.contains(&a));
            if !html {
                continue;
            }
            if let Some(v @ Value::String(_)) = m.get_mut("value") {
                out.push((format!("{path}[{k}].value"), v));
            }
        }
    }
}

/// Sanitises every HTML value of `ruleset` in place; returns the paths of the values that
/// changed (`experiments[0].variations[1].changes[0].value`).
pub fn sanitise_ruleset(ruleset: &mut Value) -> Vec<String> {
    let mut values = Vec::new();
    html_values(ruleset, &mut values);
    let mut changed = Vec::new();
    for (path, v) in values {
        let Value::String(html) = v else { continue };
        let clean = sanitise_html(html);
        if clean != *html {
            *html = clean;
            changed.push(path);
        }
    }
    changed
}

/// The HTML values of `ruleset` that are not in sanitised form, with their paths: what a
/// signed ruleset must never hold (the validator before signing refuses them).
pub fn unsanitised(ruleset: &Value) -> Vec<String> {
    let mut copy = ruleset.clone();
    sanitise_ruleset(&mut copy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_scripts_handlers_and_script_urls() {
        assert_eq!(sanitise_html("<p onclick=\"x()\">Hi<script>alert(1)</script></p>"), "<p>Hi</p>");
        assert_eq!(sanitise_html("<a href=\"javascript:alert(1)\">x</a>"), "<a rel=\"noopener noreferrer\">x</a>");
        assert_eq!(
            sanitise_html("<a href=\"/sale\">sale</a>"),
            "<a href=\"/sale\" rel=\"noopener noreferrer\">sale</a>"
        );
        assert_eq!(sanitise_html("<iframe src=\"https://x\"></iframe><b>ok</b>"), "<b>ok</b>");
    }

    #[test]
    fn sanitises_only_html_values_and_reports_their_paths() {
        let mut rs = Value::parse(
            r##"{"version":1,"placements":{},
              "offers":[{"id":"o","changes":[{"selector":"#a","action":"append","value":"<b onmouseover=x>b</b>"}]}],
              "experiments":[{"key":"x","variations":[{},{"changes":[
                {"selector":"#t","action":"text","value":"<script>kept as text</script>"},
                {"selector":"#h","action":"html","value":"<em>fine</em>"},
                {"selector":"#h","action":"html","value":"<img src=x onerror=alert(1)>"}]}]}]}"##,
        )
        .unwrap();
        let changed = sanitise_ruleset(&mut rs);
        // In the order of the document.
        assert_eq!(changed, ["offers[0].changes[0].value", "experiments[0].variations[1].changes[2].value"]);
        let text = rs.to_json();
        assert!(text.contains(r#""<b>b</b>""#), "{text}");
        assert!(text.contains(r#""<img src=\"x\">""#), "{text}");
        assert!(text.contains("<script>kept as text</script>"), "text values are not HTML: {text}");
    }
}
