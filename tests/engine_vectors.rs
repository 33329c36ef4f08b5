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
fn version_vectors() {
    check(v::versions(&read("versions.json")), v::MIN_VERSIONS);
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

/// The GrowthBook cases the vector files transcribe: (list, name) per case, from the per-case
/// `source` fields and, for hashes.json and versions.json, the names of GrowthBook's groups.
fn transcribed(files: &[(&str, String)]) -> Result<Vec<(String, String)>, String> {
    use tailor::engine::json::Value;
    fn walk(v: &Value, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(m) => {
                if let Some(s) = m.get("source").and_then(Value::as_str) {
                    let rest = s.strip_prefix("tailor-choice, departs from ").unwrap_or(s);
                    if let Some((list, name)) = rest.strip_prefix("growthbook ").and_then(|r| r.split_once(": ")) {
                        out.push((list.to_string(), name.to_string()));
                    }
                }
                for (_, x) in m.iter() {
                    walk(x, out);
                }
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (name, text) in files {
        let doc = Value::parse(text).map_err(|e| format!("{name}: {e}"))?;
        match *name {
            "hashes.json" => {
                for c in doc.get("growthbook").and_then(Value::as_array).ok_or("hashes.json: no growthbook list")? {
                    let n = c.get("name").and_then(Value::as_str).ok_or("hashes.json: a case without a name")?;
                    out.push(("hash".to_string(), n.to_string()));
                }
            }
            "versions.json" => {
                for op in ["lt", "gt", "eq"] {
                    for c in doc.get(op).and_then(Value::as_array).ok_or(format!("versions.json: no {op} list"))? {
                        let n = c.get("name").and_then(Value::as_str).ok_or("versions.json: a case without a name")?;
                        out.push(("versionCompare".to_string(), n.to_string()));
                    }
                }
            }
            _ => walk(&doc, &mut out),
        }
    }
    Ok(out)
}

/// The cases docs/vectors.md lists as left out: lines "- `<list>` \"<name>\": <reason>".
fn left_out(doc: &str) -> Result<Vec<(String, String, String)>, String> {
    let start = doc.find("Left out (list, case name, reason):").ok_or("docs/vectors.md: no \"Left out\" list")?;
    let mut out = Vec::new();
    for line in doc[start..].lines().skip(1).skip_while(|l| l.trim().is_empty()) {
        let Some(rest) = line.strip_prefix("- `") else { break };
        let parsed = rest.split_once("` \"").and_then(|(list, r)| r.split_once("\": ").map(|(n, why)| (list, n, why)));
        match parsed {
            Some((list, name, why)) if !why.trim().is_empty() => {
                out.push((list.to_string(), name.to_string(), why.to_string()))
            }
            _ => return Err(format!("docs/vectors.md: cannot read the left-out line {line:?}")),
        }
    }
    Ok(out)
}

/// For each list of GrowthBook's cases (the checklist in growthbook_cases.json): every name
/// is transcribed or left out with a reason, not both; nothing else is cited. Returns
/// (list, total, transcribed, left out) per list.
fn growthbook_coverage(
    checklist: &str,
    files: &[(&str, String)],
    doc: &str,
) -> Result<Vec<(String, usize, usize, usize)>, String> {
    use std::collections::{BTreeMap, BTreeSet};
    use tailor::engine::json::Value;
    let manifest = Value::parse(checklist).map_err(|e| format!("growthbook_cases.json: {e}"))?;
    let lists = manifest.get("lists").and_then(Value::as_object).ok_or("growthbook_cases.json: no lists")?;
    let mut cited: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (list, name) in transcribed(files)? {
        cited.entry(list).or_default().insert(name);
    }
    let mut dropped: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut problems = Vec::new();
    for (list, name, _) in left_out(doc)? {
        if !dropped.entry(list.clone()).or_default().insert(name.clone()) {
            problems.push(format!("{list} \"{name}\" is left out twice"));
        }
    }
    let mut counts = Vec::new();
    for (list, entry) in lists.iter() {
        let names: Vec<&str> =
            entry.get("names").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
        if Some(names.len() as f64) != entry.get("count").and_then(Value::as_f64) || names.is_empty() {
            problems.push(format!("growthbook_cases.json: {list} does not hold its count of names"));
        }
        let all: BTreeSet<&str> = names.iter().copied().collect();
        let have = cited.remove(list).unwrap_or_default();
        let gone = dropped.remove(list).unwrap_or_default();
        for n in &names {
            match (have.contains(*n), gone.contains(*n)) {
                (true, true) => problems.push(format!("{list} \"{n}\" is transcribed and also listed as left out")),
                (false, false) => {
                    problems.push(format!("{list} \"{n}\" is neither transcribed nor listed as left out"))
                }
                _ => {}
            }
        }
        for n in have.iter().chain(&gone).filter(|n| !all.contains(n.as_str())) {
            problems.push(format!("{list} \"{n}\" is not a case of GrowthBook's list"));
        }
        counts.push((list.to_string(), names.len(), have.len(), gone.len()));
    }
    for (list, names) in cited.iter().chain(&dropped) {
        problems.push(format!("{list} is not one of the lists checked ({} names)", names.len()));
    }
    if problems.is_empty() {
        Ok(counts)
    } else {
        Err(problems.join("\n"))
    }
}

const GROWTHBOOK_FILES: [&str; 5] =
    ["conditions.json", "hashes.json", "versions.json", "buckets.json", "experiments.json"];

fn growthbook_inputs() -> (String, Vec<(&'static str, String)>, String) {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/vectors.md")).unwrap();
    (read("growthbook_cases.json"), GROWTHBOOK_FILES.iter().map(|f| (*f, read(f))).collect(), doc)
}

#[test]
fn every_growthbook_case_is_transcribed_or_left_out() {
    let (checklist, files, doc) = growthbook_inputs();
    let counts = growthbook_coverage(&checklist, &files, &doc).unwrap_or_else(|e| panic!("{e}"));
    let mut total = (0, 0, 0);
    for (list, n, have, gone) in &counts {
        println!("growthbook {list}: {n} cases, {have} transcribed, {gone} left out (docs/vectors.md)");
        total = (total.0 + n, total.1 + have, total.2 + gone);
    }
    println!("growthbook, all lists: {} cases, {} transcribed, {} left out", total.0, total.1, total.2);
    let lists: Vec<&str> = counts.iter().map(|c| c.0.as_str()).collect();
    for want in ["evalCondition", "hash", "versionCompare", "getBucketRange", "inNamespace", "chooseVariation", "run"] {
        assert!(lists.contains(&want), "the checklist has no {want} list");
    }
    assert!(total.0 >= 441 && total.1 >= 426, "{total:?}");
}

#[test]
fn the_growthbook_checklist_fails_on_a_gap_a_double_or_a_stray_name() {
    let (checklist, files, doc) = growthbook_inputs();
    // A left-out line removed: that case is then neither transcribed nor left out.
    let line = "- `run` \"single variation\": ";
    assert!(doc.contains(line));
    let err =
        growthbook_coverage(&checklist, &files, &doc.replace(line, "- `run` \"single variation x\": ")).unwrap_err();
    assert!(err.contains("run \"single variation\" is neither transcribed nor listed as left out"), "{err}");
    assert!(err.contains("run \"single variation x\" is not a case of GrowthBook's list"), "{err}");
    // A transcribed case also listed as left out.
    let doubled = doc.replace(line, "- `run` \"empty id\": x\n- `run` \"single variation\": ");
    let err = growthbook_coverage(&checklist, &files, &doubled).unwrap_err();
    assert!(err.contains("run \"empty id\" is transcribed and also listed as left out"), "{err}");
    // A case cut from a vector file.
    let mut cut = files.clone();
    cut[2].1 = cut[2].1.replacen("\"name\": \"lt[3]\"", "\"name\": \"lt[3b]\"", 1);
    let err = growthbook_coverage(&checklist, &cut, &doc).unwrap_err();
    assert!(err.contains("versionCompare \"lt[3]\" is neither"), "{err}");
    // A left-out line without a reason.
    let reason = "one variation is a ruleset error in Tailor (an experiment needs at least 2)";
    assert!(doc.contains(reason));
    let err = growthbook_coverage(&checklist, &files, &doc.replacen(reason, "", 1)).unwrap_err();
    assert!(err.contains("cannot read the left-out line"), "{err}");
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
    assert!(err.contains("0 cases, expected at least 398"), "{err}");
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
