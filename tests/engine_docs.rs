//! The docs' JSON examples and the demo ruleset are valid: every ```json block in
//! docs/ruleset.md is either a ruleset (it has "version"), which must validate, saved groups,
//! or a condition, which must compile without errors; www/ruleset.json must validate; and
//! the schema names the same fields the loader accepts.

use tailor::engine::condition::Condition;
use tailor::engine::json::Value;
use tailor::engine::regex::NoRegex;
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
            if let Err(errors) = Ruleset::compile(&v, &NoRegex) {
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
    assert!((2..=3).contains(&rs.experiments.len()));
    assert!(rs.experiments.iter().any(|x| x.touches_offers()), "one experiment swaps offer content");
}

#[test]
fn schema_names_the_fields_the_loader_accepts() {
    let schema = Value::parse(&read("docs/ruleset.schema.json")).expect("the schema is JSON");
    let props = |v: &Value| -> Vec<String> {
        v.get("properties").and_then(Value::as_object).map(|m| m.keys().map(String::from).collect()).unwrap_or_default()
    };
    let top = props(&schema);
    for k in ["version", "id", "savedGroups", "audiences", "holdout", "placements", "offers", "experiments"] {
        assert!(top.contains(&k.to_string()), "top-level {k}");
    }
    let defs = schema.get("$defs").unwrap();
    let offer = props(defs.get("offer").unwrap());
    for k in [
        "placements",
        "content",
        "audience",
        "condition",
        "priority",
        "score",
        "window",
        "cap",
        "maxClicks",
        "excludes",
        "holdoutExempt",
    ] {
        assert!(offer.contains(&k.to_string()), "offer {k}");
    }
    let exp = props(defs.get("experiment").unwrap());
    for k in [
        "key",
        "seed",
        "hashAttribute",
        "fallbackAttribute",
        "hashVersion",
        "coverage",
        "weights",
        "variations",
        "namespace",
        "holdout",
        "bucketVersion",
        "active",
    ] {
        assert!(exp.contains(&k.to_string()), "experiment {k}");
    }
    // Unknown fields are rejected by both.
    assert_eq!(schema.get("additionalProperties"), Some(&Value::Bool(false)));
    let mut doc = Value::parse(&read("www/ruleset.json")).unwrap();
    doc.as_object_mut().unwrap().insert("extra", Value::Null);
    assert!(Ruleset::compile(&doc, &NoRegex).is_err());
}
