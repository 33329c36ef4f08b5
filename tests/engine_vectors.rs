//! Runs the shared JSON vectors in tests/vectors/ natively (tests/web_vectors.rs runs the same
//! files, with the same code from tests/vectors_support/, in headless Chromium).
//!
//! The shapes and the source of each file are in docs/vectors.md. A missing key or a group
//! with fewer cases than expected fails (the tests at the end prove that it does).

mod vectors_support;

use tailor::engine::regex::NativeRegex as Re;
use vectors_support as v;

fn read(name: &str) -> String {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Runs one file; fails with every failure, and on fewer cases than `min`.
fn check(outcome: v::Outcome, min: usize) {
    match outcome {
        Ok(n) => assert!(n >= min, "{n} cases run, expected at least {min}"),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn condition_vectors() {
    check(v::conditions(&read("conditions.json"), &Re), v::MIN_CONDITIONS);
}

#[test]
fn hash_vectors() {
    check(v::hashes(&read("hashes.json")), v::MIN_HASH_GROWTHBOOK + v::MIN_HASH_TAILOR + v::MIN_HASH_MURMUR3);
}

#[test]
fn bucket_vectors() {
    check(v::buckets(&read("buckets.json")), v::MIN_RANGES + v::MIN_CHOOSE + v::MIN_NAMESPACES);
}

#[test]
fn experiment_vectors() {
    check(v::experiments(&read("experiments.json"), &Re), v::MIN_EXPERIMENTS);
}

#[test]
fn offer_vectors() {
    check(v::offers(&read("offers.json"), &Re), v::MIN_OFFER_CASES);
}

#[test]
fn invalid_ruleset_vectors() {
    check(v::invalid_rulesets(&read("rulesets_invalid.json"), &Re), v::MIN_INVALID_RULESETS);
}

/// The GrowthBook cases in the per-case files are cited by list and name, once each, and
/// docs/vectors.md names the published file they come from.
#[test]
fn growthbook_cases_are_cited_by_list_and_name() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/vectors.md")).unwrap();
    let mut seen = std::collections::HashSet::new();
    let mut per_list = std::collections::BTreeMap::new();
    let mut cited = 0;
    for name in ["conditions.json", "experiments.json"] {
        let cases = tailor::engine::json::Value::parse(&read(name)).unwrap();
        for c in cases.as_array().unwrap() {
            let source = c.get("source").and_then(|s| s.as_str()).unwrap();
            if let Some(rest) = source.strip_prefix("growthbook ") {
                let (list, _) = rest.split_once(": ").unwrap();
                assert!(["evalCondition", "run"].contains(&list), "{name}: {source}");
                assert!(seen.insert(source.to_string()), "{name}: {source} is cited twice");
                *per_list.entry(list.to_string()).or_insert(0) += 1;
                cited += 1;
            }
        }
    }
    assert!(cited >= 80, "{cited} GrowthBook cases cited");
    assert!(doc.contains("8f1db4456915a8e7b7faf23d5632ca7219d2f469"), "docs/vectors.md cites the commit");
    // The table in docs/vectors.md gives the true counts.
    for (list, n) in &per_list {
        assert!(doc.contains(&format!("{n} `{list}` cases")), "docs/vectors.md: \"{n} `{list}` cases\"");
    }
}

// The checks themselves can fail.

const HASHES: &str = r#"{"source": {"growthbook": "g", "tailor": "t", "murmur3": "m"},
 "growthbook": [{"seed": "", "value": "a", "version": 1, "expected": 0.22},
                {"seed": "seed", "value": "a", "version": 2, "expected": 0.0505}],
 "tailor": [{"seed": "a", "value": "1", "version": 3, "expected": null, "why": "unknown version"}],
 "murmur3": [{"bucketingId": "ppid1", "experimentId": "1886780721", "expected": 5254}]}"#;

fn hashes_with(from: &str, to: &str) -> v::Outcome {
    let text = HASHES.replace(from, to);
    assert_ne!(text, HASHES, "the replacement applies");
    v::hashes_at_least(&text, [1, 1, 1])
}

#[test]
fn the_hash_check_passes_on_a_good_file_and_counts_its_cases() {
    assert_eq!(v::hashes_at_least(HASHES, [2, 1, 1]), Ok(4));
    // The real file must hold more.
    let err = v::hashes(HASHES).unwrap_err();
    assert!(err.contains("\"growthbook\" has 2 cases, expected at least 15"), "{err}");
}

#[test]
fn a_renamed_group_fails_instead_of_running_zero_cases() {
    let err = hashes_with("\"murmur3\": [", "\"murmur\": [").unwrap_err();
    assert!(err.contains("no \"murmur3\" list"), "{err}");
    let err = v::buckets(r#"{"source": "s", "range": [], "choose": [], "namespaces": []}"#).unwrap_err();
    assert!(err.contains("no \"ranges\" list"), "{err}");
    let suite = r#"{"name": "x", "source": "tailor", "ruleset": {"version": 1, "placements": {}}}"#;
    let err = v::offers(&format!("[{suite}, {suite}]"), &Re).unwrap_err();
    assert!(err.contains("no \"cases\""), "{err}");
}

#[test]
fn an_empty_or_short_group_fails() {
    assert!(vectors_support::group("f", &tailor::engine::json::Value::parse(r#"{"a": []}"#).unwrap(), "a", 0).is_err());
    let err = v::conditions("[]", &Re).unwrap_err();
    assert!(err.contains("0 cases, expected at least 370"), "{err}");
}

#[test]
fn a_wrong_expectation_fails() {
    let err = hashes_with("0.22", "0.23").unwrap_err();
    assert!(err.contains("1 failures"), "{err}");
    let err = hashes_with("5254", "5255").unwrap_err();
    assert!(err.contains("got 5254"), "{err}");
}

#[test]
fn a_missing_field_or_source_fails() {
    let err = hashes_with("\"seed\": \"\", ", "").unwrap_err();
    assert!(err.contains("no \"seed\""), "{err}");
    let err = hashes_with(", \"why\": \"unknown version\"", "").unwrap_err();
    assert!(err.contains("no \"why\""), "{err}");
    let err = hashes_with("\"tailor\": \"t\", ", "").unwrap_err();
    assert!(err.contains("does not name the source of \"tailor\""), "{err}");
    let err = hashes_with("\"version\": 2", "\"version\": 1").unwrap_err();
    assert!(err.contains("no GrowthBook case of hash version 2"), "{err}");
    let case = tailor::engine::json::Value::parse(r#"[{"name": "c"}]"#).unwrap();
    let err = v::check_sources("f", case.as_array().unwrap()).unwrap_err();
    assert!(err.contains("c: no \"source\""), "{err}");
    let case = tailor::engine::json::Value::parse(
        r#"[{"name": "c", "source": "tailor-choice, departs from growthbook run: x"}]"#,
    )
    .unwrap();
    let err = v::check_sources("f", case.as_array().unwrap()).unwrap_err();
    assert!(err.contains("must carry GrowthBook's answer"), "{err}");
}

#[test]
fn a_departure_that_is_not_one_fails() {
    let text = read("experiments.json");
    let before = "\"growthbook\": {\n   \"inExperiment\": true";
    assert!(text.contains(before), "experiments.json records GrowthBook's answer");
    let err =
        v::experiments(&text.replacen(before, "\"growthbook\": {\n   \"inExperiment\": false", 1), &Re).unwrap_err();
    assert!(err.contains("GrowthBook gives the same answer"), "{err}");
}
