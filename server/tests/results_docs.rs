//! docs/results.md shows the answer of `GET /v1/admin/results/{site}`: every object in its
//! example must have exactly the fields of a real answer (same names at the same places),
//! so the page cannot drift from the code.

mod support;

use std::collections::BTreeSet;

use serde_json::{json, Value};
use support::*;

const RULESET: &str = r#"{"version": 1, "placements": {}, "experiments": [{"key": "hero", "seed": "hero-1",
  "weights": [0.5, 0.5], "variations": [{"key": "control"}, {"key": "bold"}]}]}"#;

/// Every field path of `v` (`a.b[].c`); arrays are described by their first element.
fn paths(v: &Value, at: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = format!("{at}.{k}");
                out.insert(p.clone());
                paths(x, &p, out);
            }
        }
        Value::Array(a) => {
            if let Some(first) = a.iter().find(|x| x.is_object()) {
                paths(first, &format!("{at}[]"), out);
            }
        }
        _ => {}
    }
}

/// The first JSON block after `heading` in docs/results.md.
fn documented(heading: &str) -> Value {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/results.md")).unwrap();
    let start = doc.find(heading).unwrap_or_else(|| panic!("docs/results.md has {heading:?}"));
    let block = &doc[start..];
    let open = block.find("```json\n").unwrap() + "```json\n".len();
    let close = open + block[open..].find("```").unwrap();
    serde_json::from_str(&block[open..close]).unwrap_or_else(|e| panic!("the JSON after {heading:?}: {e}"))
}

fn documented_answer() -> Value {
    documented("## The answer")
}

#[test]
fn the_experiment_with_metrics_in_docs_results_md_publishes() {
    let experiment = documented("## The metrics");
    let ruleset = json!({"version": 1, "placements": {}, "experiments": [experiment]});
    let b = &backends()[0];
    let server = b.serve(&[]);
    let published = client()
        .post(server.url("/v1/admin/rulesets/default"))
        .bearer_auth(TOKEN)
        .body(ruleset.to_string())
        .send()
        .unwrap();
    assert_eq!(published.status().as_u16(), 201, "{}", published.text().unwrap());
    let metrics = tailor_server::metrics::for_experiment(Some(&ruleset), "checkout-button");
    assert_eq!(metrics.len(), 3);
}

#[test]
fn docs_results_md_shows_every_field_of_the_answer() {
    let b = &backends()[0];
    let server = b.serve(&[]);
    let published =
        client().post(server.url("/v1/admin/rulesets/default")).bearer_auth(TOKEN).body(RULESET).send().unwrap();
    assert_eq!(published.status().as_u16(), 201, "{}", published.text().unwrap());
    let now = now_ms();
    let mut events = Vec::new();
    for i in 0..40u32 {
        let anon = format!("docs-{i}");
        if i % 4 == 0 {
            events.push(purchase(&anon, now - 20_000)); // before the exposure: CUPED's covariate
        }
        events.push(exposure(&anon, now - 10_000, "hero", i % 2));
        if i % 3 == 0 {
            events.push(purchase(&anon, now - 5_000));
        }
    }
    let (status, _) = post_batch(&server, &json!({ "events": events }));
    assert_eq!(status, 200);
    let real = results(&server, "default?experiment=hero");
    assert_eq!(real["experiments"][0]["variations"][0]["shoppers"], 20, "{real}");
    let (mut ours, mut documented) = (BTreeSet::new(), BTreeSet::new());
    paths(&real, "", &mut ours);
    paths(&documented_answer(), "", &mut documented);
    let missing: Vec<_> = ours.difference(&documented).collect();
    let invented: Vec<_> = documented.difference(&ours).collect();
    println!("# results docs: {} fields documented, {} in the answer", documented.len(), ours.len());
    assert!(missing.is_empty() && invented.is_empty(), "not in the docs: {missing:?}; not in the answer: {invented:?}");
}
