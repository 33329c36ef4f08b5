//! `tailor ruleset import --from growthbook`, run as a process: its options, and the refusals
//! that name the feature and the rule (tests/e2e/growthbook_import.test.mjs checks that the
//! imported rulesets keep 10,000 shoppers in GrowthBook's variations).

use std::process::Command;

fn import(payload: &str, extra: &[&str]) -> (i32, String, String) {
    static RUN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("tailor-import-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("payload.json");
    std::fs::write(&file, payload).unwrap();
    let mut args = vec!["ruleset", "import", "--from", "growthbook", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = Command::new(env!("CARGO_BIN_EXE_tailor")).args(&args).output().expect("the tailor binary runs");
    std::fs::remove_dir_all(&dir).ok();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

/// A payload with one feature whose only rule is `rule`.
fn one_rule(rule: &str) -> String {
    format!(r#"{{"features": {{"f": {{"defaultValue": 0, "rules": [{rule}]}}}}}}"#)
}

#[track_caller]
fn refused(payload: &str, want: &str) {
    let (code, out, err) = import(payload, &[]);
    assert_ne!(code, 0, "accepted: {out}");
    assert!(out.is_empty(), "nothing is written: {out}");
    assert!(err.contains(want), "{want:?} not in:\n{err}");
}

#[test]
fn an_experiment_rule_is_written_to_stdout_with_growthbooks_defaults() {
    let (code, out, err) = import(&one_rule(r#"{"variations": ["a", "b"]}"#), &[]);
    assert_eq!(code, 0, "{err}");
    let rs = tailor::engine::json::Value::parse(&out).unwrap();
    let x = &rs.get("experiments").unwrap().as_array().unwrap()[0];
    let field = |k: &str| x.get(k).map(|v| v.to_json()).unwrap_or_default();
    // GrowthBook's defaults, written out: the key is the feature's, the seed the key, hash
    // version 1, attribute id, no fallback, full coverage, equal weights.
    assert_eq!(
        [field("key"), field("seed"), field("hashVersion"), field("hashAttribute"), field("fallbackAttribute")],
        ["\"f\"", "\"f\"", "1", "\"id\"", "null"]
    );
    assert_eq!([field("coverage"), field("weights")], ["1", "[0.5,0.5]"]);
    assert!(err.contains("imported 1 experiment from 1 feature"), "{err}");
}

#[test]
fn options_are_checked() {
    let payload = one_rule(r#"{"variations": ["a", "b"]}"#);
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_tailor")).args(args).output().unwrap();
        (out.status.code().unwrap_or(-1), String::from_utf8(out.stderr).unwrap())
    };
    let (code, err) = run(&["ruleset", "import", "payload.json"]);
    assert_ne!(code, 0);
    assert!(err.contains("--from growthbook is required"), "{err}");
    let (code, err) = run(&["ruleset", "import", "--from", "optimizely", "payload.json"]);
    assert_ne!(code, 0);
    assert!(err.contains("only \"growthbook\" payloads"), "{err}");
    let (code, _, err) = import(&payload, &["--bogus"]);
    assert_ne!(code, 0);
    assert!(err.contains("unknown option '--bogus'"), "{err}");
    let (code, _, err) = import("{not json", &[]);
    assert_ne!(code, 0);
    assert!(err.contains("not JSON"), "{err}");
    refused("[]", "the payload must be an object");
    refused(r#"{"encryptedFeatures": "abc"}"#, "encryptedFeatures: the payload is encrypted");
    refused(r#"{"savedGroups": {}}"#, "features: missing");
}

#[test]
fn rules_tailor_cannot_express_are_refused_by_feature_and_rule() {
    let at = "feature \"f\" rule 0 (id \"r\")";
    for (rule, why) in [
        (r#"{"id": "r", "variations": [0, 1], "hashVersion": 3}"#, "hashVersion 3"),
        (r#"{"id": "r", "variations": [0]}"#, "fewer than 2 variations"),
        (
            r#"{"id": "r", "variations": [0, 1], "parentConditions": [{"id": "p", "condition": {}}]}"#,
            "it uses prerequisite features",
        ),
        (r#"{"id": "r", "variations": [0, 1], "meta": [{}, {"passthrough": true}]}"#, "variation 1 is a passthrough"),
        (r#"{"id": "r", "variations": [0, 1], "disableStickyBucketing": true}"#, "disableStickyBucketing"),
        (r#"{"id": "r", "variations": [0, 1], "minBucketVersion": 2}"#, "minBucketVersion"),
        (r#"{"id": "r", "variations": [0, 1], "hashAttribute": "user.id"}"#, "hashAttribute \"user.id\""),
        (r#"{"id": "r", "variations": [0, 1], "ranges": [[0.5, 1], [0, 0.5]]}"#, "ranges [[0.5, 1], [0, 0.5]]: not the ranges of any"),
        (
            r#"{"id": "r", "variations": [0, 1], "ranges": [[0, 0.3], [0.3, 0.5]]}"#,
            "ranges [[0, 0.3], [0.3, 0.5]]: Tailor's coverage and weights give [[0, 0.3], [0.3, 1]] at best, which would move the shoppers whose hash is 0.5",
        ),
        (r#"{"id": "r", "variations": [0, 1], "weights": [-0.5, 1.5]}"#, "a negative weight"),
        (r#"{"id": "r", "variations": [0, 1], "surprise": 1}"#, "\"surprise\" is not a field"),
        (r#"{"id": "r", "force": 1, "coverage": 0.5}"#, "a percentage rollout of a forced value"),
    ] {
        refused(&one_rule(rule), &format!("{at}: {why}"));
    }
    // Tailor's validator has the last word, and its errors name the rule too.
    refused(
        &one_rule(r#"{"id": "r", "variations": [0, 1], "namespace": ["ns", 0.6, 0.2]}"#),
        "feature \"f\" rule 0: experiment.namespace: expected [id, start, end]",
    );
    refused(
        &one_rule(r#"{"id": "r", "variations": [0, 1], "condition": {"$savedGroup": {"id": "nope"}}}"#),
        "saved group \"nope\" is unknown",
    );
    // A second experiment rule in the same feature.
    refused(
        &one_rule(r#"{"id": "a", "variations": [0, 1]}, {"id": "b", "variations": [0, 1]}"#),
        "feature \"f\" rule 1 (id \"b\"): a second experiment rule",
    );
}

#[test]
fn skip_unsupported_leaves_out_and_lists_what_it_cannot_express() {
    let payload = r#"{"features": {
        "flag": {"defaultValue": true, "rules": [{"id": "x", "force": false}]},
        "empty": {"defaultValue": 1},
        "exp": {"defaultValue": 0, "rules": [{"id": "e", "variations": [0, 1], "coverage": 0.5}]}
      }, "experiments": [{"key": "visual"}]}"#;
    let (code, out, err) = import(payload, &["--skip-unsupported"]);
    assert_eq!(code, 0, "{err}");
    let skipped: Vec<&str> = err.lines().filter(|l| l.starts_with("skipped: ")).collect();
    assert_eq!(skipped.len(), 3, "{err}");
    assert!(skipped[0].contains("experiments: 1 visual editor"), "{err}");
    assert!(skipped[1].contains("feature \"flag\" rule 0 (id \"x\"): a forced value"), "{err}");
    assert!(skipped[2].contains("feature \"empty\": no rules"), "{err}");
    assert!(out.contains("\"key\": \"exp\""), "{out}");
    assert!(err.contains("imported 1 experiment from 3 features, 3 skipped"), "{err}");
}
