//! The docs' JSON examples and the demo ruleset are valid: every ```json block in
//! docs/ruleset.md is either a ruleset (it has "version"), which must validate, saved groups,
//! or a condition, which must compile without errors; www/ruleset.json must validate; and
//! the schema names the same fields the loader accepts.

use tailor::engine::condition::Condition;
use tailor::engine::json::Value;
use tailor::engine::regex::{NativeRegex, NoRegex};
use tailor::engine::ruleset::Ruleset;

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn json_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_start()) {
            (None, "```json") => current = Some(String::new()),
            (Some(_), "```") => blocks.extend(current.take()),
            (Some(b), _) => {
                b.push_str(line);
                b.push('\n');
            }
            _ => {}
        }
    }
    blocks
}

#[test]
fn ruleset_doc_examples_are_valid() {
    let blocks = json_blocks(&read("docs/ruleset.md"));
    assert!(blocks.len() >= 7, "found {} json blocks", blocks.len());
    let mut rulesets = 0;
    for (i, text) in blocks.iter().enumerate() {
        let v = Value::parse(text).unwrap_or_else(|e| panic!("block {i}: {e}\n{text}"));
        if v.get("version").is_some() {
            // Native regexes: a regex URL pattern must compile.
            if let Err(errors) = Ruleset::compile(&v, &NativeRegex) {
                panic!("block {i} does not validate: {errors:?}\n{text}");
            }
            rulesets += 1;
        } else {
            // Saved groups (either format) or a condition using the demo's saved groups.
            let groups = Value::parse(r#"{"staff": ["user-1"]}"#).unwrap();
            let is_groups = matches!(&v, Value::Array(_)) || v.get("staff").is_some();
            if !is_groups {
                let (_, issues) = Condition::compile_checked(&v, &groups, &NoRegex);
                assert!(issues.iter().all(|i| !i.error), "block {i}: {issues:?}");
            }
        }
    }
    assert!(rulesets >= 5, "{rulesets} ruleset examples");
}

#[test]
fn demo_ruleset_is_valid_and_complete() {
    let rs = Ruleset::parse(&read("www/ruleset.json"), &NoRegex).unwrap_or_else(|e| panic!("{e:?}"));
    let placements: Vec<&str> = rs.placements.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(placements, ["home-hero", "category-banner", "product-recs", "cart-upsell"]);
    assert!(rs.offers.len() >= 4);
    for o in &rs.offers {
        for field in ["title", "body", "cta", "url"] {
            assert!(o.content.get(field).and_then(Value::as_str).is_some(), "{}: {field}", o.id);
        }
    }
    assert!((2..=6).contains(&rs.experiments.len()));
    assert!(rs.experiments.iter().any(|x| x.touches_offers()), "one experiment swaps offer content");
}

/// The fields the loader accepts in the object at `target` (a path of keys and indexes into
/// `doc`), read from the loader itself: an unknown field is put there and the loader's
/// "unknown field (expected one of ...)" error, reported at that path, lists what it accepts.
fn loader_fields(doc: &Value, target: &[&str], error_path: &str) -> Vec<String> {
    const PROBE: &str = "zzUnknownProbe";
    let mut doc = doc.clone();
    let mut at = &mut doc;
    for step in target {
        at = match at {
            Value::Array(a) => &mut a[step.parse::<usize>().unwrap()],
            Value::Object(m) => m.get_mut(step).unwrap_or_else(|| panic!("{target:?}: no {step}")),
            other => panic!("{target:?}: {step} in {other:?}"),
        };
    }
    at.as_object_mut().unwrap_or_else(|| panic!("{target:?} is not an object")).insert(PROBE, Value::Null);
    let Err(errors) = Ruleset::compile(&doc, &NoRegex) else {
        panic!("{target:?}: the loader accepted an unknown field");
    };
    let probe_path = if error_path.is_empty() { PROBE.to_string() } else { format!("{error_path}.{PROBE}") };
    let e =
        errors.iter().find(|e| e.path == probe_path).unwrap_or_else(|| panic!("no error at {probe_path}: {errors:?}"));
    let list = e
        .reason
        .strip_prefix("unknown field (expected one of ")
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{probe_path}: unexpected reason {:?}", e.reason));
    let mut fields: Vec<String> = list.split(", ").map(String::from).collect();
    fields.sort();
    // The base document has no other problem: the probe is the only error.
    assert_eq!(errors.len(), 1, "{errors:?}");
    fields
}

#[test]
fn schema_names_the_fields_the_loader_accepts() {
    let schema = Value::parse(&read("docs/ruleset.schema.json")).expect("the schema is JSON");
    let props = |v: &Value| -> Vec<String> {
        let mut keys: Vec<String> = v
            .get("properties")
            .and_then(Value::as_object)
            .map(|m| m.keys().map(String::from).collect())
            .unwrap_or_default();
        keys.sort();
        keys
    };
    let closed = |v: &Value, what: &str| {
        assert_eq!(
            v.get("additionalProperties"),
            Some(&Value::Bool(false)),
            "{what}: the schema rejects unknown fields"
        );
    };
    let top = |k: &str| schema.get("properties").and_then(|p| p.get(k)).unwrap_or_else(|| panic!("schema: {k}"));
    let defs = schema.get("$defs").expect("schema $defs");
    let def = |k: &str| defs.get(k).unwrap_or_else(|| panic!("schema $defs.{k}"));
    let one_of = |v: &Value, i: usize| -> Value {
        match v.get("oneOf") {
            Some(Value::Array(a)) => a[i].clone(),
            other => panic!("expected oneOf, found {other:?}"),
        }
    };
    let items = |v: &Value| v.get("items").cloned().unwrap_or_else(|| panic!("expected items in {v:?}"));

    // A ruleset with one of every object the loader reads field by field.
    let base = Value::parse(
        r#"{
        "version": 1,
        "id": "probe",
        "savedGroups": [{ "id": "staff", "values": ["u1"] }],
        "holdout": { "percent": 0.05, "seed": "h" },
        "placements": { "hero": { "limit": 1 } },
        "offers": [{
            "id": "o1",
            "placements": ["hero"],
            "content": { "title": "T" },
            "score": [{ "path": "profile.orders.count", "weight": 1 }],
            "window": { "start": "2026-01-01T00:00:00Z" },
            "cap": [{ "max": 1, "per": "session" }]
        }],
        "experiments": [{
            "key": "x1",
            "urlPatterns": [{ "type": "exact", "pattern": "/" }],
            "variations": [
                { "key": "a" },
                { "key": "b", "changes": [{ "selector": ".probe", "action": "hide" }] },
                { "key": "c", "redirect": { "url": "/new" } }
            ]
        }]
    }"#,
    )
    .unwrap();
    if let Err(errors) = Ruleset::compile(&base, &NoRegex) {
        panic!("the probe ruleset must be valid: {errors:?}");
    }

    let offer = def("offer");
    let experiment = def("experiment");
    let offer_prop = |k: &str| offer.get("properties").and_then(|p| p.get(k)).unwrap().clone();
    let cases: Vec<(&str, Value, Vec<&str>, &str)> = vec![
        ("top level", schema.clone(), vec![], ""),
        ("saved group", items(&one_of(top("savedGroups"), 1)), vec!["savedGroups", "0"], "savedGroups[0]"),
        ("holdout", top("holdout").clone(), vec!["holdout"], "holdout"),
        (
            "placement",
            top("placements").get("additionalProperties").unwrap().clone(),
            vec!["placements", "hero"],
            "placements.hero",
        ),
        ("offer", offer.clone(), vec!["offers", "0"], "offers[0]"),
        (
            "offer score",
            items(&one_of(&offer_prop("score"), 1)),
            vec!["offers", "0", "score", "0"],
            "offers[0].score[0]",
        ),
        ("offer window", offer_prop("window"), vec!["offers", "0", "window"], "offers[0].window"),
        ("offer cap", items(&one_of(&offer_prop("cap"), 1)), vec!["offers", "0", "cap", "0"], "offers[0].cap[0]"),
        ("experiment", experiment.clone(), vec!["experiments", "0"], "experiments[0]"),
        (
            "variation",
            items(experiment.get("properties").and_then(|p| p.get("variations")).unwrap()),
            vec!["experiments", "0", "variations", "0"],
            "experiments[0].variations[0]",
        ),
        (
            "url pattern",
            def("urlPattern").clone(),
            vec!["experiments", "0", "urlPatterns", "0"],
            "experiments[0].urlPatterns[0]",
        ),
        (
            "change",
            def("change").clone(),
            vec!["experiments", "0", "variations", "1", "changes", "0"],
            "experiments[0].variations[1].changes[0]",
        ),
        (
            "redirect",
            items(experiment.get("properties").and_then(|p| p.get("variations")).unwrap())
                .get("properties")
                .and_then(|p| p.get("redirect"))
                .unwrap()
                .clone(),
            vec!["experiments", "0", "variations", "2", "redirect"],
            "experiments[0].variations[2].redirect",
        ),
    ];
    for (what, schema_object, target, error_path) in cases {
        closed(&schema_object, what);
        let accepted = loader_fields(&base, &target, error_path);
        assert!(!accepted.is_empty(), "{what}: the loader lists no fields");
        assert_eq!(
            props(&schema_object),
            accepted,
            "{what}: schema fields (left) vs. fields the loader accepts (right)"
        );
    }
    // The single-object forms of score and cap name the same fields as the list forms.
    assert_eq!(props(&one_of(&offer_prop("score"), 0)), props(&items(&one_of(&offer_prop("score"), 1))));
    assert_eq!(props(&one_of(&offer_prop("cap"), 0)), props(&items(&one_of(&offer_prop("cap"), 1))));
}
