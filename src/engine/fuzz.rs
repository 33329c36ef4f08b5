//! The fuzz entry points shared by `fuzz/` (cargo-fuzz) and the native tests
//! (`tests/engine_props.rs`, `tests/loader_lean.rs`). It lives apart from the code it exercises, so the ruleset loader
//! does not depend on the decision code it feeds.

use super::condition::Condition;
use super::decision::DecideOptions;
use super::json::Value;
use super::regex::RegexCompiler;
use super::ruleset::Ruleset;

static NULL: Value = Value::Null;

/// The fuzz entry point shared by `fuzz/` and the native fuzz smoke test: parses `data` as
/// a ruleset and as a condition, compiles both and evaluates them. Must never panic.
pub fn fuzz_one(data: &[u8], regex: &dyn RegexCompiler) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(doc) = Value::parse(text) else { return };
    if let Ok(rs) = Ruleset::compile(&doc, regex) {
        let attributes = Value::parse(
            r#"{"id":"u1","profile":{"orders":{"count":1},"offers":{"a":{"shown":[1,2],"clicks":1}},"session":{"start":1},"experiments":{"x":{"variation":1,"bucketVersion":0}}},"context":{"url":"/"}}"#,
        )
        .unwrap_or_default();
        let options = DecideOptions { now: 5.0, ..Default::default() };
        let _ = rs.decide(&attributes, &options).to_value().to_json();
    }
    let groups = doc.get("savedGroups").unwrap_or(&NULL);
    let condition = doc.get("condition").unwrap_or(&doc);
    let c = Condition::compile(condition, groups, regex);
    let _ = c.eval(&doc);
    let _ = c.eval(doc.get("attributes").unwrap_or(&NULL));
}

/// The lean loader's fuzz entry point (`fuzz/fuzz_targets/ruleset_lean.rs`): parses `data` as
/// a ruleset and loads it with [`Ruleset::compile_lean`], which must never panic; with the
/// full validator built in (`full-checks`), both must accept and reject the same documents,
/// with errors at the same paths (a disagreement panics, which the fuzzer reports), and a
/// ruleset both accept is decided.
pub fn fuzz_lean(data: &[u8], regex: &dyn RegexCompiler) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(doc) = Value::parse(text) else { return };
    let lean = Ruleset::compile_lean(&doc, regex);
    #[cfg(feature = "full-checks")]
    match (Ruleset::compile_full(&doc, regex), &lean) {
        (Ok(_), Ok(_)) => {}
        (Err(full), Err(lean)) => {
            let paths = |e: &[super::ruleset::ValidationError]| e.iter().map(|e| e.path.clone()).collect::<Vec<_>>();
            assert_eq!(paths(&full), paths(lean), "the loaders report errors at other paths");
        }
        (full, _) => {
            panic!("the loaders disagree: the full validator {}", if full.is_ok() { "accepts" } else { "rejects" })
        }
    }
    if let Ok(rs) = lean {
        let attributes = Value::parse(r#"{"id":"u1","profile":{"orders":{"count":1}},"context":{"url":"/p/1"}}"#)
            .unwrap_or_default();
        let options = DecideOptions { now: 5.0, ..Default::default() };
        let _ = rs.decide(&attributes, &options).to_value().to_json();
    }
}
