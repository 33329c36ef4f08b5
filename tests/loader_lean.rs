//! The lean loader of the shopper's module (`Ruleset::compile_lean`) against the full
//! validator (`Ruleset::compile_full`), on every ruleset the repository holds: the JSON
//! files under tests/, www/ and docs/ (whole rulesets, and the experiments and conditions of
//! the vectors wrapped into one), the ```json blocks of the docs and READMEs, and the
//! benchmarks' ruleset (benches/decide.rs); then on mutations of each valid one (every value
//! replaced by a wrong type or a hostile string, every field removed).
//!
//! Both must accept the same rulesets, compile them to the same `Ruleset` (the same fields and
//! the same decisions for a few shoppers), and reject the same ones with errors at the same
//! paths. There are no exceptions: the lean loader runs every check of the full validator and
//! only its messages are shorter (docs/ruleset.md, "Where each check runs").

use tailor::engine::decision::DecideOptions;
use tailor::engine::json::{Map, Value};
use tailor::engine::regex::{NativeRegex, RegexCompiler};
use tailor::engine::ruleset::{Ruleset, ValidationError};

#[path = "../benches/decide.rs"]
#[allow(dead_code, unused_imports)]
mod decide_bench;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The `.json` files under `dir` (recursively; node_modules and packaging fixtures left out).
fn json_files(dir: &str, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(format!("{ROOT}/{dir}")) else { return };
    let mut names: Vec<String> =
        entries.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into()).collect();
    names.sort();
    for name in names {
        let path = format!("{dir}/{name}");
        if name == "node_modules" || name == "packaging" {
            continue;
        }
        if std::path::Path::new(&format!("{ROOT}/{path}")).is_dir() {
            json_files(&path, out);
        } else if name.ends_with(".json") {
            out.push(path);
        }
    }
}

/// The ```json blocks of a Markdown text.
fn json_blocks(markdown: &str) -> Vec<&str> {
    markdown.split("```json\n").skip(1).filter_map(|b| b.split_once("```").map(|(json, _)| json)).collect()
}

fn object(pairs: Vec<(&str, Value)>) -> Value {
    let mut m = Map::new();
    for (k, v) in pairs {
        m.insert(k, v);
    }
    Value::Object(m)
}

fn wrap_experiment(e: Value, groups: Option<Value>) -> Value {
    let mut fields = vec![
        ("version", Value::Number(1.0)),
        ("placements", Value::Object(Map::new())),
        ("experiments", Value::Array(vec![e])),
    ];
    fields.extend(groups.map(|g| ("savedGroups", g)));
    object(fields)
}

/// Every ruleset inside `v`: an object with `version` (a whole ruleset, valid or not), an
/// experiment of the experiment and URL vectors (`experiment`), or a condition of the
/// condition vectors (`condition` with its `savedGroups`), the last two wrapped into a ruleset.
fn rulesets_in(v: &Value, at: &str, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(m) => {
            if m.contains_key("version") || m.contains_key("placements") && m.contains_key("offers") {
                out.push((at.to_string(), v.clone()));
            }
            let groups = m.get("savedGroups").cloned();
            if let Some(p @ Value::Array(_)) = m.get("urlPatterns").filter(|_| !m.contains_key("variations")) {
                let e = object(vec![
                    ("key", Value::from("x")),
                    ("urlPatterns", p.clone()),
                    ("variations", Value::parse(r#"[{"key":"a"},{"key":"b","css":"h1{color:red}"}]"#).unwrap()),
                ]);
                out.push((format!("{at}.urlPatterns"), wrap_experiment(e, None)));
            }
            if let Some(e @ Value::Object(_)) = m.get("experiment") {
                out.push((format!("{at}.experiment"), wrap_experiment(e.clone(), groups.clone())));
            }
            if let Some(c) = m.get("condition").filter(|_| !m.contains_key("placements")) {
                let mut fields = vec![
                    ("version", Value::Number(1.0)),
                    ("placements", Value::Object(Map::new())),
                    ("audiences", object(vec![("a", c.clone())])),
                ];
                fields.extend(groups.map(|g| ("savedGroups", g)));
                out.push((format!("{at}.condition"), object(fields)));
            }
            for (k, x) in m.iter() {
                rulesets_in(x, &format!("{at}.{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                rulesets_in(x, &format!("{at}[{i}]"), out);
            }
        }
        _ => {}
    }
}

fn corpus() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut files = Vec::new();
    for dir in ["tests", "www", "docs"] {
        json_files(dir, &mut files);
    }
    for f in &files {
        let text = std::fs::read_to_string(format!("{ROOT}/{f}")).unwrap();
        let v = Value::parse(&text).unwrap_or_else(|e| panic!("{f}: {e}"));
        rulesets_in(&v, f, &mut out);
    }
    let mut docs: Vec<String> = std::fs::read_dir(format!("{ROOT}/docs"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| format!("docs/{}", e.file_name().to_string_lossy()))
        .filter(|n| n.ends_with(".md"))
        .collect();
    docs.sort();
    docs.extend(["README.md".to_string(), "pkg-template/README.md".to_string()]);
    for d in &docs {
        let text = std::fs::read_to_string(format!("{ROOT}/{d}")).unwrap();
        for (i, block) in json_blocks(&text).iter().enumerate() {
            if let Ok(v) = Value::parse(block) {
                rulesets_in(&v, &format!("{d} block {i}"), &mut out);
            }
        }
    }
    let bench = decide_bench::ruleset_text();
    out.push(("benches/decide.rs".into(), Value::parse(&bench).unwrap()));
    out.extend(payload_rulesets());
    out
}

/// The hostile and safe values of tests/vectors (xss.json, xss-browser.json, urls.json), each
/// put into every field that reaches the page, one ruleset per field and value.
fn payload_rulesets() -> Vec<(String, Value)> {
    let read = |f: &str| Value::parse(&std::fs::read_to_string(format!("{ROOT}/tests/vectors/{f}")).unwrap()).unwrap();
    let mut values: Vec<String> = Vec::new();
    for f in ["xss.json", "xss-browser.json"] {
        values.extend(
            read(f)
                .get("payloads")
                .and_then(Value::as_array)
                .unwrap()
                .iter()
                .filter_map(Value::as_str)
                .map(String::from),
        );
    }
    let urls = read("urls.json");
    for list in ["hostile", "safe"] {
        let entries = urls.get(list).and_then(Value::as_array).unwrap();
        values.extend(entries.iter().filter_map(|e| e.get("url").and_then(Value::as_str)).map(String::from));
    }
    assert!(values.len() >= 100, "{} payloads", values.len());
    let mut out = Vec::new();
    for (i, p) in values.iter().enumerate() {
        let q = Value::from(p.as_str()).to_json();
        let mut variations: Vec<(String, String)> = Vec::new();
        for action in ["html", "insertBefore", "insertAfter", "prepend", "append", "text", "addClass"] {
            variations
                .push((action.into(), format!(r#""changes":[{{"selector":"h1","action":"{action}","value":{q}}}]"#)));
        }
        for name in ["href", "src", "srcset", "title", "alt", "data-x", "onclick"] {
            variations.push((
                format!("attribute {name}"),
                format!(r#""changes":[{{"selector":"h1","action":"attribute","name":"{name}","value":{q}}}]"#),
            ));
        }
        variations.extend([
            ("style".into(), format!(r#""changes":[{{"selector":"h1","action":"style","name":"color","value":{q}}}]"#)),
            (
                "style name".into(),
                format!(r#""changes":[{{"selector":"h1","action":"style","name":{q},"value":"red"}}]"#),
            ),
            ("selector".into(), format!(r#""changes":[{{"selector":{q},"action":"hide"}}]"#)),
            ("fingerprint".into(), format!(r#""changes":[{{"selector":"h1","fingerprint":{q},"action":"hide"}}]"#)),
            (
                "move target".into(),
                format!(r#""changes":[{{"selector":"h1","action":"move","target":{q},"position":"after"}}]"#),
            ),
            ("css".into(), format!(r#""css":{q}"#)),
            ("redirect".into(), format!(r#""redirect":{{"url":{q}}}"#)),
            ("value".into(), format!(r#""value":{{"url":{q},"imageUrl":{q}}}"#)),
        ]);
        for (what, fields) in variations {
            let text = format!(
                r#"{{"version":1,"placements":{{"hero":{{}}}},"offers":[{{"id":"o","placements":["hero"],"content":{{"title":"T"}}}}],
                    "experiments":[{{"key":"x","urlPatterns":[{{"type":"prefix","pattern":"/p/"}}],
                      "variations":[{{"key":"a"}},{{"key":"b",{fields}}}]}}]}}"#
            );
            out.push((format!("payload {i} in {what}"), Value::parse(&text).unwrap()));
        }
        for field in ["url", "image", "ctaUrl", "title"] {
            let text = format!(
                r#"{{"version":1,"placements":{{"hero":{{}}}},
                    "offers":[{{"id":"o","placements":["hero"],"content":{{"title":"T","{field}":{q}}},"css":{q}}}]}}"#
            );
            out.push((format!("payload {i} in offer content {field}"), Value::parse(&text).unwrap()));
        }
    }
    out
}

/// Shoppers to decide for: none, a returning one on a product page, a new one on the home
/// page with a forced variation, one in the demo's audiences.
fn shoppers() -> Vec<(Value, DecideOptions)> {
    let text = [
        r#"{}"#,
        r#"{"id":"u-1","anonymousId":"a-1","user":{"plan":"gold"},
            "profile":{"orders":{"count":2,"revenue":400},"topCategory":"shoes","categories":{"shoes":0.8,"bags":0.3},
              "recentlyViewed":[{"sku":"s1","category":"shoes"}],"offers":{},"session":{"start":1},"audiences":["buyer"]},
            "context":{"url":"https://shop.example/product/s1?ref=mail","pageType":"product","device":"mobile",
              "userAgent":"Mozilla/5.0 (iPhone)","country":"DE"}}"#,
        r#"{"anonymousId":"a-2","profile":{"orders":{"count":0},"session":{"start":1}},
            "context":{"url":"/","pageType":"home","device":"desktop"}}"#,
        r#"{"id":"vip-7","anonymousId":"a-3","user":{"id":"user-1","email":"qa@shop.example"},
            "profile":{"orders":{"count":9,"revenue":2000},"topCategory":"bags"},
            "context":{"url":"/cart","pageType":"cart","localHour":20,"dayOfWeek":5}}"#,
    ];
    let now = 1_796_083_200_000.0;
    text.iter()
        .enumerate()
        .map(|(i, t)| {
            let mut o = DecideOptions { now, ..Default::default() };
            if i == 2 {
                o.forced = tailor::engine::experiment::ForcedVariations::parse("checkout-button:1,hero-copy:1");
            }
            (Value::parse(t).unwrap(), o)
        })
        .collect()
}

/// What a compiled ruleset holds, field by field (conditions through the decisions).
fn dump(rs: &Ruleset) -> String {
    let mut s = format!(
        "id {:?} holdout {:?}\n",
        rs.id,
        rs.holdout.as_ref().map(|h| (&h.seed, &h.hash_attribute, h.hash_version, h.percent))
    );
    for p in &rs.placements {
        s += &format!("placement {} {}\n", p.id, p.limit);
    }
    for a in &rs.audiences {
        s += &format!("audience {}\n", a.name);
    }
    for o in &rs.offers {
        s += &format!(
            "offer {} {:?} {} {:?} cond {} prio {} score {:?} window {:?} {:?} caps {:?} clicks {:?} excludes {:?} exempt {} page {:?}\n",
            o.id,
            o.placements,
            o.content.to_json(),
            o.audiences,
            o.condition.is_some(),
            o.priority,
            o.score.iter().map(|t| t.weight).collect::<Vec<_>>(),
            o.start,
            o.end,
            o.caps,
            o.max_clicks,
            o.excludes,
            o.holdout_exempt,
            o.page
        );
    }
    for e in &rs.experiments {
        s += &format!(
            "experiment {} {} {} {:?} {:?} {} {:?} {:?} {:?} cond {} ns {:?} holdout {} bv {} active {} urls {:?}\n",
            e.key,
            e.seed,
            e.hash_attribute,
            e.fallback_attribute,
            e.hash_version,
            e.coverage,
            e.weights,
            e.ranges,
            e.audiences,
            e.condition.is_some(),
            e.namespace.as_ref().map(|n| (&n.id, n.start, n.end)),
            e.holdout,
            e.bucket_version,
            e.active,
            e.url_patterns.iter().map(|p| (p.kind, &p.pattern, p.include)).collect::<Vec<_>>()
        );
        for v in &e.variations {
            let offers: Vec<(usize, String)> =
                v.offers.iter().map(|(i, m)| (*i, Value::Object(m.clone()).to_json())).collect();
            s += &format!("  variation {} {} {:?} {:?}\n", v.key, v.value.to_json(), offers, v.page);
        }
    }
    for w in &rs.warnings {
        s += &format!("warning {w}\n");
    }
    for (attributes, options) in shoppers() {
        s += &rs.decide(&attributes, &options).to_value().to_json();
        s += "\n";
        s += &rs.decide_page(&attributes, &options).to_value().to_json();
        s += "\n";
    }
    s
}

fn paths(errors: &[ValidationError]) -> Vec<&str> {
    errors.iter().map(|e| e.path.as_str()).collect()
}

/// The two loaders agree on `doc`; `Ok(accepted)` or what differs.
fn agree(label: &str, doc: &Value, re: &dyn RegexCompiler) -> Result<bool, String> {
    match (Ruleset::compile_full(doc, re), Ruleset::compile_lean(doc, re)) {
        (Ok(full), Ok(lean)) => {
            let (a, b) = (dump(&full), dump(&lean));
            if a == b {
                Ok(true)
            } else {
                Err(format!("{label}: compiled differently\nfull: {a}\nlean: {b}"))
            }
        }
        (Err(full), Err(lean)) if paths(&full) == paths(&lean) => {
            // Short, but never empty: each lean error says what was wrong, roughly.
            match lean.iter().find(|e| e.reason.is_empty()) {
                Some(e) => Err(format!("{label}: a lean error without a reason at {:?}", e.path)),
                None => Ok(false),
            }
        }
        (Err(full), Err(lean)) => Err(format!("{label}: errors at other paths\nfull: {full:?}\nlean: {lean:?}")),
        (Err(full), Ok(_)) => Err(format!("{label}: the full validator rejects ({full:?}), the lean loader accepts")),
        (Ok(_), Err(lean)) => Err(format!("{label}: the lean loader rejects a valid ruleset: {lean:?}")),
    }
}

/// Copies of `doc` with one change each, spread over the whole document: strings replaced by
/// each of `hostile` (about `limit` copies), values (objects and arrays too) replaced by each
/// of `wrong` and their fields removed (about `limit` copies more).
fn mutations(doc: &Value, limit: usize) -> Vec<(String, Value)> {
    let wrong = [
        Value::Null,
        Value::Bool(true),
        Value::Number(-1.5),
        Value::from(""),
        Value::Array(Vec::new()),
        Value::Object(Map::new()),
    ];
    let hostile = [
        Value::from("<img src=x onerror=alert(1)>"),
        Value::from("javascript:alert(1)"),
        Value::from("x{} @import url(//evil.example/x.css)"),
    ];
    let mut out = Vec::new();
    let mut at = Vec::new();
    fn nodes(v: &Value, at: &mut Vec<Result<String, usize>>, out: &mut Vec<Vec<Result<String, usize>>>) {
        out.push(at.clone());
        match v {
            Value::Object(m) => {
                for (k, x) in m.iter() {
                    at.push(Ok(k.to_string()));
                    nodes(x, at, out);
                    at.pop();
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    at.push(Err(i));
                    nodes(x, at, out);
                    at.pop();
                }
            }
            _ => {}
        }
    }
    let mut all = Vec::new();
    nodes(doc, &mut at, &mut all);
    // Spread the budget over the whole document.
    let per = wrong.len() + 1;
    let step = (all.len() * per / limit.max(1)).max(1);
    let mut copy = doc.clone();
    let strings: Vec<usize> =
        (0..all.len()).filter(|n| matches!(node_mut(&mut copy, &all[*n]), Some(Value::String(_)))).collect();
    let string_step = (strings.len() * hostile.len() / limit.max(1)).max(1);
    for (n, node) in all.iter().enumerate() {
        if strings.binary_search(&n).is_ok_and(|k| k % string_step == 0) {
            for (h, replacement) in hostile.iter().enumerate() {
                let mut copy = doc.clone();
                *node_mut(&mut copy, node).unwrap() = replacement.clone();
                out.push((format!("{node:?} = hostile #{h}"), copy));
            }
        }
        if n % step != 0 {
            continue;
        }
        for (w, replacement) in wrong.iter().enumerate() {
            let mut copy = doc.clone();
            if let Some(slot) = node_mut(&mut copy, node) {
                *slot = replacement.clone();
                out.push((format!("{node:?} = #{w}"), copy));
            }
        }
        if let Some((Ok(last), parent)) = node.split_last() {
            let mut copy = doc.clone();
            if let Some(Value::Object(m)) = node_mut(&mut copy, parent) {
                m.remove(last);
                out.push((format!("{node:?} removed"), copy));
            }
        }
    }
    out
}

fn node_mut<'a>(v: &'a mut Value, at: &[Result<String, usize>]) -> Option<&'a mut Value> {
    let mut cur = v;
    for step in at {
        cur = match (cur, step) {
            (Value::Object(m), Ok(k)) => m.get_mut(k)?,
            (Value::Array(a), Err(i)) => a.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

#[test]
fn both_loaders_agree_on_every_ruleset_of_the_repository() {
    let corpus = corpus();
    let (mut accepted, mut rejected) = (0, 0);
    let mut failures = Vec::new();
    for (label, doc) in &corpus {
        match agree(label, doc, &NativeRegex) {
            Ok(true) => accepted += 1,
            Ok(false) => rejected += 1,
            Err(e) => failures.push(e),
        }
    }
    assert!(failures.is_empty(), "{} disagreements:\n{}", failures.len(), failures.join("\n\n"));
    // The corpus is what the repository holds: it must not quietly shrink.
    assert!(accepted >= 400 && rejected >= 200, "{accepted} accepted, {rejected} rejected");
    assert!(corpus.iter().any(|(l, _)| l == "www/ruleset.json"));
    assert!(corpus.iter().any(|(l, _)| l.starts_with("docs/ruleset.md block")));
    eprintln!("{} rulesets: {accepted} accepted and {rejected} rejected by both loaders", corpus.len());
}

#[test]
fn both_loaders_agree_on_mutations_of_the_valid_rulesets() {
    let (mut accepted, mut rejected) = (0, 0);
    let mut failures = Vec::new();
    // The payload rulesets are mutations already.
    for (label, doc) in corpus().into_iter().filter(|(l, _)| !l.starts_with("payload")) {
        if Ruleset::compile_full(&doc, &NativeRegex).is_err() {
            continue;
        }
        // The demo's and the benchmarks' rulesets are large: more mutations for them.
        let limit = if label == "www/ruleset.json" || label.starts_with("benches") { 600 } else { 27 };
        for (what, m) in mutations(&doc, limit) {
            match agree(&format!("{label} {what}"), &m, &NativeRegex) {
                Ok(true) => accepted += 1,
                Ok(false) => rejected += 1,
                Err(e) => failures.push(e),
            }
            if failures.len() > 5 {
                break;
            }
        }
    }
    assert!(failures.is_empty(), "{} disagreements:\n{}", failures.len(), failures.join("\n\n"));
    assert!(accepted >= 1000 && rejected >= 5000, "{accepted} accepted, {rejected} rejected");
    eprintln!("mutations: {accepted} accepted and {rejected} rejected by both loaders");
}

#[test]
fn lean_errors_name_the_field_and_what_was_wrong_roughly() {
    let doc = Value::parse(
        r#"{"version":1,"placements":{"hero":{}},
            "offers":[{"id":"a","placements":["hero"],"content":{"title":"A","url":"javascript:alert(1)"},
                       "changes":[{"selector":"h1","action":"html","value":"<img src=x onerror=alert(1)>"}],
                       "cap":{"max":3,"per":"month"}}]}"#,
    )
    .unwrap();
    let lines: Vec<String> =
        Ruleset::compile_lean(&doc, &NativeRegex).err().unwrap().iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "offers[0].content.url: URL is refused",
            "offers[0].cap.per: invalid value",
            "offers[0].changes[0].value: HTML is refused"
        ]
    );
    // Audience names: the path of the one that is unknown, in either form.
    let doc = Value::parse(
        r#"{"version":1,"placements":{"hero":{}},"audiences":{"buyer":{"profile.orders.count":{"$gte":1}}},
            "offers":[{"id":"a","placements":["hero"],"content":{"title":"A"},"audiences":["buyer","vip"]},
                      {"id":"b","placements":["hero"],"content":{"title":"B"},"audience":"nope"}]}"#,
    )
    .unwrap();
    for errors in [Ruleset::compile_lean(&doc, &NativeRegex), Ruleset::compile_full(&doc, &NativeRegex)] {
        assert_eq!(paths(&errors.err().unwrap()), ["offers[0].audiences[1]", "offers[1].audience"]);
    }
}
