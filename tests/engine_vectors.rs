//! Runs the shared JSON vectors in tests/vectors/ (the browser tests run the same files).
//!
//! Shapes (plain JSON, documented in docs/ruleset.md, "Test vectors"):
//! - conditions.json: `[{name, condition, attributes, savedGroups?, expected: bool}]`
//! - hashes.json: `{growthbook: [{seed, value, version, expected: number|null}],
//!   murmur3: [{bucketingId, experimentId, expected: bucket 0..9999}]}`
//! - buckets.json: `{ranges: [{name, numVariations, coverage, weights|null, expected: [[s, e]]}],
//!   choose: [{name, n, ranges, expected: index|-1}], namespaces: [{hashValue, namespace, expected}]}`
//! - experiments.json: `[{name, experiment, attributes, force?, expected: {variation,
//!   inExperiment, reasonContains?, stickyAssignments?}}]`
//! - offers.json: `[{name, ruleset, cases: [{name, attributes, now, placements?, force?,
//!   expected: {placement: [offerId]}, reasons?: {offerId: text}, titles?: {offerId: title},
//!   experiments?: {key: {inExperiment, variation}}}]}]`
//! - rulesets_invalid.json: `[{name, ruleset, errors: ["path: reason" prefixes]}]`

use tailor::engine::condition::Condition;
use tailor::engine::decision::DecideOptions;
use tailor::engine::experiment::ForcedVariations;
use tailor::engine::hash::{bucket_ranges, choose_variation, gb_hash, in_namespace, murmur_bucket};
use tailor::engine::json::{Map, Value};
use tailor::engine::ruleset::Ruleset;

/// regex-lite, as the server's `NativeRegex` (the feature is off in this crate's tests).
/// The native regex engine the server and the CLI use.
use tailor::engine::regex::NativeRegex as Re;

fn load(name: &str) -> Value {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    Value::parse(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn arr<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key).and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

#[test]
fn condition_vectors() {
    let cases = load("conditions.json");
    let mut failures = Vec::new();
    let list = cases.as_array().expect("an array");
    assert!(list.len() > 100);
    for c in list {
        let groups = c.get("savedGroups").unwrap_or(&Value::Null);
        let cond = Condition::compile(c.get("condition").unwrap(), groups, &Re);
        let got = cond.eval(c.get("attributes").unwrap());
        if Some(got) != c.get("expected").and_then(Value::as_bool) {
            failures.push(format!("{}: got {got}", s(c, "name")));
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn hash_vectors() {
    let v = load("hashes.json");
    for c in arr(&v, "growthbook") {
        let version = c.get("version").and_then(Value::as_f64).unwrap() as u32;
        let got = gb_hash(s(c, "seed"), s(c, "value"), version);
        assert_eq!(got, c.get("expected").and_then(Value::as_f64), "{}", c.to_json());
    }
    for c in arr(&v, "murmur3") {
        let got = murmur_bucket(s(c, "bucketingId"), s(c, "experimentId"));
        assert_eq!(Some(got as f64), c.get("expected").and_then(Value::as_f64), "{}", c.to_json());
    }
}

#[test]
fn bucket_vectors() {
    let v = load("buckets.json");
    for c in arr(&v, "ranges") {
        let n = c.get("numVariations").and_then(Value::as_f64).unwrap() as usize;
        let cov = c.get("coverage").and_then(Value::as_f64).unwrap();
        let w: Option<Vec<f64>> =
            c.get("weights").and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_f64).collect());
        let got = bucket_ranges(n, cov, w.as_deref());
        let want: Vec<(f64, f64)> = arr(c, "expected")
            .iter()
            .map(|r| (r.as_array().unwrap()[0].as_f64().unwrap(), r.as_array().unwrap()[1].as_f64().unwrap()))
            .collect();
        assert_eq!(got.len(), want.len(), "{}", s(c, "name"));
        for (g, w) in got.iter().zip(&want) {
            assert!((g.0 - w.0).abs() < 1e-9 && (g.1 - w.1).abs() < 1e-9, "{}: {got:?}", s(c, "name"));
        }
    }
    for c in arr(&v, "choose") {
        let ranges: Vec<(f64, f64)> = arr(c, "ranges")
            .iter()
            .map(|r| (r.as_array().unwrap()[0].as_f64().unwrap(), r.as_array().unwrap()[1].as_f64().unwrap()))
            .collect();
        let got = choose_variation(c.get("n").and_then(Value::as_f64).unwrap(), &ranges).map_or(-1.0, |i| i as f64);
        assert_eq!(Some(got), c.get("expected").and_then(Value::as_f64), "{}", s(c, "name"));
    }
    for c in arr(&v, "namespaces") {
        let ns = arr(c, "namespace");
        let got =
            in_namespace(s(c, "hashValue"), ns[0].as_str().unwrap(), ns[1].as_f64().unwrap(), ns[2].as_f64().unwrap());
        assert_eq!(Some(got), c.get("expected").and_then(Value::as_bool), "{}", c.to_json());
    }
}

fn ruleset_with(experiment: &Value) -> Ruleset {
    let mut m = Map::new();
    m.insert("version", Value::Number(1.0));
    m.insert("placements", Value::Object(Map::new()));
    m.insert("experiments", Value::Array(vec![experiment.clone()]));
    Ruleset::compile(&Value::Object(m), &Re).unwrap_or_else(|e| panic!("{e:?}"))
}

#[test]
fn experiment_vectors() {
    let cases = load("experiments.json");
    let mut failures = Vec::new();
    for c in cases.as_array().unwrap() {
        let rs = ruleset_with(c.get("experiment").unwrap());
        let options = DecideOptions { forced: ForcedVariations::parse(s(c, "force")), ..DecideOptions::default() };
        let d = rs.decide(c.get("attributes").unwrap(), &options).to_value();
        let got = &arr(&d, "experiments")[0];
        let want = c.get("expected").unwrap();
        let mut ok =
            got.get("variation") == want.get("variation") && got.get("inExperiment") == want.get("inExperiment");
        if let Some(text) = want.get("reasonContains").and_then(Value::as_str) {
            ok &= s(got, "reason").contains(text);
        }
        if let Some(sticky) = want.get("stickyAssignments") {
            ok &= d.get("stickyAssignments") == Some(sticky);
        }
        if !ok {
            failures.push(format!(
                "{}: got {} (sticky {})",
                s(c, "name"),
                got.to_json(),
                d.get("stickyAssignments").unwrap().to_json()
            ));
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn offer_vectors() {
    let suites = load("offers.json");
    let mut failures = Vec::new();
    for suite in suites.as_array().unwrap() {
        let rs = Ruleset::compile(suite.get("ruleset").unwrap(), &Re).unwrap_or_else(|e| panic!("{e:?}"));
        for c in arr(suite, "cases") {
            let name = s(c, "name");
            let options = DecideOptions {
                now: c.get("now").and_then(Value::as_f64).unwrap_or(0.0),
                placements: c
                    .get("placements")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(|p| p.as_str().map(String::from)).collect()),
                forced: ForcedVariations::parse(s(c, "force")),
            };
            let d = rs.decide(c.get("attributes").unwrap(), &options).to_value();
            let placements = d.get("placements").and_then(Value::as_object).unwrap();
            let want = c.get("expected").and_then(Value::as_object).unwrap();
            let got: Vec<(String, Vec<String>)> = placements
                .iter()
                .map(|(p, v)| (p.to_string(), arr(v, "offers").iter().map(|o| s(o, "offerId").to_string()).collect()))
                .collect();
            let want_list: Vec<(String, Vec<String>)> = want
                .iter()
                .map(|(p, v)| {
                    (p.to_string(), v.as_array().unwrap().iter().map(|o| o.as_str().unwrap().to_string()).collect())
                })
                .collect();
            if got != want_list {
                failures.push(format!("{name}: got {got:?}"));
                continue;
            }
            let all_reasons: Vec<(String, String)> = placements
                .iter()
                .flat_map(|(_, v)| {
                    arr(v, "skipped").iter().map(|x| (s(x, "offerId").to_string(), s(x, "reason").to_string()))
                })
                .collect();
            for (offer, text) in c.get("reasons").and_then(Value::as_object).into_iter().flat_map(|m| m.iter()) {
                let text = text.as_str().unwrap();
                if !all_reasons.iter().any(|(o, r)| o == offer && r.contains(text)) {
                    failures.push(format!("{name}: no reason for {offer} containing {text:?} in {all_reasons:?}"));
                }
            }
            for (offer, title) in c.get("titles").and_then(Value::as_object).into_iter().flat_map(|m| m.iter()) {
                let found =
                    placements.iter().flat_map(|(_, v)| arr(v, "offers").iter()).find(|o| s(o, "offerId") == offer);
                if found.and_then(|o| o.get("content")).and_then(|c| c.get("title")) != Some(title) {
                    failures.push(format!("{name}: title of {offer} is not {}", title.to_json()));
                }
            }
            for (key, want) in c.get("experiments").and_then(Value::as_object).into_iter().flat_map(|m| m.iter()) {
                let got = arr(&d, "experiments").iter().find(|x| s(x, "key") == key).unwrap();
                if got.get("inExperiment") != want.get("inExperiment") || got.get("variation") != want.get("variation")
                {
                    failures.push(format!("{name}: experiment {key} got {}", got.to_json()));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn invalid_ruleset_vectors() {
    let cases = load("rulesets_invalid.json");
    let mut failures = Vec::new();
    for c in cases.as_array().unwrap() {
        match Ruleset::compile(c.get("ruleset").unwrap(), &Re) {
            Ok(_) => failures.push(format!("{}: accepted", s(c, "name"))),
            Err(errors) => {
                let lines: Vec<String> = errors.iter().map(|e| format!("{}: {}", e.path, e.reason)).collect();
                for want in arr(c, "errors") {
                    let want = want.as_str().unwrap();
                    if !lines.iter().any(|l| l.starts_with(want)) {
                        failures.push(format!("{}: no error starting {want:?} in {lines:?}", s(c, "name")));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}
