//! The XSS corpus (tests/vectors/xss.json) through every change type: each payload is put
//! into a ruleset as publishing receives it, sanitised and validated as publishing does
//! (`sanitise_ruleset`, then `validate_ruleset`). Either the ruleset is refused, or what
//! would be signed keeps no script element, no event-handler attribute, no
//! javascript:/vbscript:/data:text URL and no CSS expression. The checker below is this
//! test's own (not the engine's), so the engine's checks are not graded by themselves.

use tailor::engine::json::{Map, Value};
use tailor_server::sanitise::sanitise_ruleset;
use tailor_server::signing::validate_ruleset;

fn corpus() -> Vec<String> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors/xss.json")).unwrap();
    let doc = Value::parse(&text).unwrap();
    let payloads: Vec<String> = doc
        .get("payloads")
        .and_then(Value::as_array)
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect();
    assert!(payloads.len() >= 50, "{} payloads", payloads.len());
    payloads
}

/// Lowercase, HTML character references decoded, white space and control characters
/// dropped: how a browser reads a URL scheme in an attribute.
fn url_plain(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if c == '&' {
            if let Some(end) = rest[1..].find(';').filter(|e| *e < 12) {
                let name = &rest[1..1 + end];
                let decoded = match name.to_ascii_lowercase().as_str() {
                    "colon" => Some(':'),
                    "tab" | "newline" => Some(' '),
                    n if n.starts_with("#x") => u32::from_str_radix(&n[2..], 16).ok().and_then(char::from_u32),
                    n if n.starts_with('#') => n[1..].parse().ok().and_then(char::from_u32),
                    _ => None,
                };
                if let Some(d) = decoded {
                    out.push(d);
                    rest = &rest[2 + end..];
                    continue;
                }
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out.chars()
        .filter(|c| !c.is_whitespace() && !c.is_control() && !('\u{200b}'..='\u{200f}').contains(c))
        .collect::<String>()
        .to_lowercase()
}

fn script_url(s: &str) -> bool {
    let p = url_plain(s);
    p.starts_with("javascript:") || p.starts_with("vbscript:") || p.starts_with("data:text")
}

fn css_bad(s: &str) -> bool {
    let p: String = s
        .to_lowercase()
        .replace("\\", "")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .replace("/**/", "");
    p.contains("expression(") || p.contains("javascript:") || p.contains("@import") || p.contains("behavior")
}

/// Problems in an HTML value as a browser would parse it: elements that run or load code,
/// event handlers, script URLs, style attributes.
fn html_bad(html: &str) -> Option<String> {
    const BAD_TAGS: [&str; 14] = [
        "script", "iframe", "object", "embed", "style", "svg", "math", "base", "meta", "link", "form", "template",
        "noscript", "frame",
    ];
    let lower = html.to_lowercase();
    let b = lower.as_bytes();
    let mut i = 0;
    while let Some(lt) = lower[i..].find('<') {
        i += lt + 1;
        let name_start = i;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'-' || b[i] == b':') {
            i += 1;
        }
        let tag = &lower[name_start..i];
        if tag.is_empty() {
            continue;
        }
        if BAD_TAGS.contains(&tag) {
            return Some(format!("<{tag}>"));
        }
        // Attributes up to the closing `>` (quotes respected).
        loop {
            while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
                i += 1;
            }
            if i >= b.len() || b[i] == b'>' {
                break;
            }
            let ns = i;
            while i < b.len() && !b[i].is_ascii_whitespace() && !b"=>/".contains(&b[i]) {
                i += 1;
            }
            let name = &lower[ns..i];
            let mut value = "";
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < b.len() && b[i] == b'=' {
                i += 1;
                while i < b.len() && b[i].is_ascii_whitespace() {
                    i += 1;
                }
                if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
                    let q = b[i];
                    let end = lower[i + 1..].find(q as char).map_or(b.len(), |e| i + 1 + e);
                    value = &html[i + 1..end.min(html.len())];
                    i = (end + 1).min(b.len());
                } else {
                    let vs = i;
                    while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'>' {
                        i += 1;
                    }
                    value = &html[vs..i];
                }
            }
            if name.trim_start_matches(['"', '\'']).starts_with("on") {
                return Some(format!("event handler {name}"));
            }
            if name == "style" || name == "srcdoc" || name == "formaction" {
                return Some(format!("attribute {name}"));
            }
            if script_url(value) {
                return Some(format!("script URL in {name}"));
            }
        }
    }
    None
}

fn ruleset_with(change: Option<Value>, variation_extra: Option<(&str, Value)>) -> Value {
    let mut variation = Map::new();
    variation.insert("key", Value::from("treatment"));
    if let Some(c) = change {
        variation.insert("changes", Value::Array(vec![c]));
    }
    if let Some((k, v)) = variation_extra {
        variation.insert(k, v);
    }
    let mut control = Map::new();
    control.insert("key", Value::from("control"));
    let mut pattern = Map::new();
    pattern.insert("type", Value::from("exact"));
    pattern.insert("pattern", Value::from("/"));
    let mut x = Map::new();
    x.insert("key", Value::from("xss"));
    x.insert("urlPatterns", Value::Array(vec![Value::Object(pattern)]));
    x.insert("variations", Value::Array(vec![Value::Object(control), Value::Object(variation)]));
    let mut rs = Map::new();
    rs.insert("version", Value::Number(1.0));
    rs.insert("placements", Value::Object(Map::new()));
    rs.insert("experiments", Value::Array(vec![Value::Object(x)]));
    Value::Object(rs)
}

fn change(action: &str, fields: &[(&str, &str)]) -> Value {
    let mut m = Map::new();
    m.insert("selector", Value::from("#hero"));
    m.insert("action", Value::from(action));
    for (k, v) in fields {
        m.insert(*k, Value::from(*v));
    }
    Value::Object(m)
}

/// What publishing would sign, or `None` when it refuses the ruleset.
fn published(mut rs: Value) -> Option<(Value, Vec<String>)> {
    let sanitised = sanitise_ruleset(&mut rs);
    validate_ruleset(&rs).ok().map(|()| (rs, sanitised))
}

fn signed_change(rs: &Value) -> Map {
    rs.get("experiments").and_then(|x| x.as_array()).unwrap()[0].get("variations").and_then(Value::as_array).unwrap()[1]
        .get("changes")
        .and_then(Value::as_array)
        .unwrap()[0]
        .as_object()
        .unwrap()
        .clone()
}

#[test]
fn html_payloads_are_sanitised_or_refused() {
    let mut kept = 0;
    let mut sanitised = 0;
    let mut total = 0;
    for payload in corpus() {
        for action in ["html", "insertBefore", "insertAfter", "prepend", "append"] {
            total += 1;
            let Some((rs, changed)) = published(ruleset_with(Some(change(action, &[("value", &payload)])), None))
            else {
                continue;
            };
            kept += 1;
            sanitised += changed.len();
            let value = signed_change(&rs).get("value").and_then(Value::as_str).unwrap().to_string();
            assert_eq!(html_bad(&value), None, "{action}: {payload:?} was signed as {value:?}");
            if value != payload {
                assert_eq!(changed, ["experiments[0].variations[1].changes[0].value"], "{payload:?}");
            }
        }
    }
    // Most payloads survive as harmless markup or text; the figure shows the corpus is used.
    println!("html: {kept} of {total} published ({sanitised} values sanitised), 0 unsafe");
    assert!(kept > total / 2, "{kept} of {total}");
}

#[test]
fn attribute_style_css_and_redirect_payloads_are_refused_or_harmless() {
    let mut refused = 0;
    let mut total = 0;
    for payload in corpus() {
        let mut check = |rs: Value, what: &str, bad: &dyn Fn(&Value) -> bool| {
            total += 1;
            match published(rs) {
                None => refused += 1,
                Some((rs, _)) => assert!(!bad(&rs), "{what}: {payload:?} would be signed"),
            }
        };
        for name in ["href", "src", "srcset"] {
            let rs = ruleset_with(Some(change("attribute", &[("name", name), ("value", &payload)])), None);
            check(rs, name, &|rs| {
                let v = signed_change(rs).get("value").and_then(Value::as_str).unwrap().to_string();
                v.split(',').any(|c| script_url(c.trim())) || script_url(&v) || v.contains(['"', '<', '>'])
            });
        }
        // A payload as an attribute name is never a settable attribute.
        let rs = ruleset_with(Some(change("attribute", &[("name", &payload), ("value", "x")])), None);
        check(rs, "attribute name", &|_| true);
        for name in ["onclick", "onerror", "style", "srcdoc", "formaction", "data-bind", "data-hx-get", "xlink:href"] {
            let rs = ruleset_with(Some(change("attribute", &[("name", name), ("value", &payload)])), None);
            check(rs, name, &|_| true);
        }
        let rs = ruleset_with(Some(change("style", &[("name", "background"), ("value", &payload)])), None);
        check(rs, "style", &|rs| css_bad(signed_change(rs).get("value").and_then(Value::as_str).unwrap()));
        let rs = ruleset_with(None, Some(("css", Value::from(format!("#hero {{ background: {payload} }}")))));
        check(rs, "css", &|rs| css_bad(&rs.to_json()));
        let rs = ruleset_with(None, Some(("css", Value::from(payload.as_str()))));
        check(rs, "css", &|rs| {
            let css = rs.get("experiments").and_then(Value::as_array).unwrap()[0].get("variations").unwrap().to_json();
            css_bad(&css) || css.contains("</")
        });
        let mut redirect = Map::new();
        redirect.insert("url", Value::from(payload.as_str()));
        let rs = ruleset_with(None, Some(("redirect", Value::Object(redirect))));
        check(rs, "redirect", &|rs| {
            let x = &rs.get("experiments").and_then(Value::as_array).unwrap()[0];
            let url = x.get("variations").and_then(Value::as_array).unwrap()[1]
                .get("redirect")
                .and_then(|r| r.get("url"))
                .and_then(Value::as_str)
                .unwrap()
                .to_string();
            script_url(&url) || !(url.starts_with('/') || url.starts_with("http://") || url.starts_with("https://"))
        });
    }
    println!("attribute/style/css/redirect: {refused} of {total} refused, the rest harmless");
    assert!(refused > total / 2, "{refused} of {total}");
}

#[test]
fn text_selector_and_fingerprint_payloads_stay_text() {
    // A text value, a selector and a fingerprint are never parsed as HTML by the browser
    // (textContent, querySelector, a text comparison): they are signed as written when
    // valid, and the sanitiser leaves them alone.
    for payload in corpus() {
        if let Some((rs, changed)) = published(ruleset_with(Some(change("text", &[("value", &payload)])), None)) {
            assert!(changed.is_empty());
            assert_eq!(signed_change(&rs).get("value").and_then(Value::as_str), Some(payload.as_str()));
        }
        let mut c = change("hide", &[("fingerprint", &payload)]);
        if let Some(m) = c.as_object_mut() {
            m.insert("selector", Value::from(payload.as_str()));
        }
        if let Some((_, changed)) = published(ruleset_with(Some(c), None)) {
            assert!(changed.is_empty());
            assert!(!payload.contains(['<', '{', '}']), "selector {payload:?} accepted");
        }
    }
}

#[test]
fn the_checker_of_this_test_sees_the_attacks() {
    // The test's own checker flags the raw payloads it is meant to catch.
    assert!(html_bad("<img src=x onerror=alert(1)>").is_some());
    assert!(html_bad("<a href=\"&#106;avascript:alert(1)\">x</a>").is_some());
    assert!(html_bad("<a href=\"java\tscript:alert(1)\">x</a>").is_some());
    assert!(html_bad("<svg onload=alert(1)>").is_some());
    assert!(html_bad("<p>&lt;script&gt; is text</p>").is_none());
    assert!(css_bad("width: ex/**/pression(alert(1))"));
    let flagged = corpus().iter().filter(|p| html_bad(p).is_some() || script_url(p) || css_bad(p)).count();
    assert!(flagged >= 50, "{flagged} payloads are attacks by this checker");
}
