//! Validation and decisions for the Studio, by the engine the shopper's SDK runs.
//!
//! The attributes are built as the SDK builds them (`attributes()` in `src/web/api.rs`):
//! `id` (the user id, else the anonymous id), `anonymousId`, `profile` (the profile's
//! snapshot at `now`), `context` (the page context, captured by the SDK) and `user` (the
//! identify() traits with the user id as `id`). The clock is a parameter, so the Studio can
//! move it to test time windows, caps and decay.

use tailor::engine::decision::DecideOptions;
use tailor::engine::experiment::ForcedVariations;
use tailor::engine::json::{Map, Value};
use tailor::engine::profile::Profile;
use tailor::engine::regex::RegexCompiler;
use tailor::engine::ruleset::Ruleset;

/// A problem with a document: where (a JSON path, empty for the whole document) and what.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

impl Problem {
    fn whole(message: String) -> Problem {
        Problem { path: String::new(), message }
    }
}

/// Every problem the engine finds in a ruleset document (JSON text): none when the SDK
/// would accept it.
pub fn validate(ruleset_json: &str, regex: &dyn RegexCompiler) -> Vec<Problem> {
    match compile(ruleset_json, regex) {
        Ok(_) => Vec::new(),
        Err(problems) => problems,
    }
}

fn compile(ruleset_json: &str, regex: &dyn RegexCompiler) -> Result<Ruleset, Vec<Problem>> {
    let doc = Value::parse(ruleset_json).map_err(|e| vec![Problem::whole(format!("the ruleset is not JSON: {e}"))])?;
    Ruleset::compile(&doc, regex)
        .map_err(|errors| errors.into_iter().map(|e| Problem { path: e.path, message: e.reason }).collect())
}

/// What to decide for: the shopper's profile (the engine's Profile JSON; empty for a new
/// shopper), the page context (a JSON object, as the SDK captures it), the time and the
/// forced variations (experiment key, variation index).
pub struct Shopper<'a> {
    pub profile_json: &'a str,
    pub context_json: &'a str,
    pub now: f64,
    pub forced: Vec<(String, usize)>,
}

/// The decision for `shopper` as JSON text, shaped as the SDK's `decide()` answers (offers
/// per placement and experiments, each with the engine's reason). Nothing is recorded: the
/// sticky assignments it would store are in `stickyAssignments`, not stored.
pub fn decide(ruleset_json: &str, shopper: &Shopper<'_>, regex: &dyn RegexCompiler) -> Result<String, Vec<Problem>> {
    let rs = compile(ruleset_json, regex)?;
    let attributes = attributes(shopper)?;
    let options =
        DecideOptions { now: shopper.now, placements: None, forced: ForcedVariations(shopper.forced.clone()) };
    Ok(rs.decide(&attributes, &options).to_value().to_json())
}

/// The attributes conditions read, as the SDK builds them.
pub fn attributes(shopper: &Shopper<'_>) -> Result<Value, Vec<Problem>> {
    let profile = if shopper.profile_json.trim().is_empty() {
        Profile::new("studio-preview", shopper.now)
    } else {
        Profile::from_json(shopper.profile_json)
            .map_err(|e| vec![Problem { path: "profile".into(), message: e.to_string() }])?
    };
    let context = if shopper.context_json.trim().is_empty() {
        Value::Object(Map::new())
    } else {
        match Value::parse(shopper.context_json) {
            Ok(v @ Value::Object(_)) => v,
            Ok(other) => {
                return Err(vec![Problem {
                    path: "context".into(),
                    message: format!("expected an object, got {}", other.type_name()),
                }])
            }
            Err(e) => return Err(vec![Problem { path: "context".into(), message: format!("not JSON: {e}") }]),
        }
    };
    let mut user = profile.traits().clone();
    if let Some(id) = profile.user_id() {
        user.insert("id", Value::from(id));
    }
    let mut m = Map::new();
    m.insert("id", Value::from(profile.user_id().unwrap_or(profile.anonymous_id())));
    m.insert("anonymousId", Value::from(profile.anonymous_id()));
    m.insert("profile", profile.snapshot(shopper.now));
    m.insert("context", context);
    m.insert("user", Value::Object(user));
    Ok(Value::Object(m))
}

/// Whether `condition` (a JSON condition, as in an audience) holds for `shopper`: the
/// Studio's live "this shopper matches".
pub fn matches(condition_json: &str, shopper: &Shopper<'_>, regex: &dyn RegexCompiler) -> Result<bool, Vec<Problem>> {
    // Compiled as the audience of a one-experiment ruleset, so the answer and the errors
    // are exactly the engine's for an experiment's `condition`.
    let condition = Value::parse(condition_json)
        .map_err(|e| vec![Problem { path: "condition".into(), message: format!("not JSON: {e}") }])?;
    let mut x = Map::new();
    x.insert("key", Value::from("studio-match"));
    x.insert("condition", condition);
    x.insert("variations", Value::Array(vec![variation("a"), variation("b")]));
    let mut doc = Map::new();
    doc.insert("version", Value::Number(1.0));
    doc.insert("placements", Value::Object(Map::new()));
    doc.insert("experiments", Value::Array(vec![Value::Object(x)]));
    let rs = Ruleset::compile(&Value::Object(doc), regex).map_err(|errors| {
        errors
            .into_iter()
            .map(|e| Problem { path: e.path.replacen("experiments[0].condition", "condition", 1), message: e.reason })
            .collect::<Vec<_>>()
    })?;
    let attributes = attributes(shopper)?;
    let decision =
        rs.decide(&attributes, &DecideOptions { now: shopper.now, placements: None, forced: Default::default() });
    Ok(decision
        .experiments
        .first()
        .is_some_and(|r| !matches!(r.reason, tailor::engine::experiment::ExperimentReason::ConditionFailed)))
}

fn variation(key: &str) -> Value {
    let mut m = Map::new();
    m.insert("key", Value::from(key));
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tailor::engine::regex::NativeRegex;

    const RULESET: &str = r##"{"version": 1, "placements": {},
      "experiments": [{"key": "hero", "urlPatterns": [{"type": "exact", "pattern": "/"}],
        "variations": [{"key": "control"}, {"key": "big", "changes": [{"selector": "#hero h1", "action": "text", "value": "Big"}]}]}]}"##;

    fn shopper(url: &str) -> String {
        format!(r#"{{"url": "{url}", "path": "/"}}"#)
    }

    #[test]
    fn validation_names_the_path_of_each_problem() {
        let bad = RULESET.replace("\"text\"", "\"blink\"");
        let problems = validate(&bad, &NativeRegex);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].path, "experiments[0].variations[1].changes[0].action");
        assert!(problems[0].message.contains("unknown action \"blink\""), "{}", problems[0].message);
        assert_eq!(validate("{", &NativeRegex)[0].path, "");
        assert!(validate(RULESET, &NativeRegex).is_empty());
    }

    #[test]
    fn a_forced_variation_carries_its_page_changes_and_the_engine_reason() {
        let ctx = shopper("https://shop.example/");
        let s = Shopper { profile_json: "", context_json: &ctx, now: 1.8e12, forced: vec![("hero".into(), 1)] };
        let d = Value::parse(&decide(RULESET, &s, &NativeRegex).unwrap()).unwrap();
        let x = &d.get("experiments").unwrap().as_array().unwrap()[0];
        assert_eq!(x.get("variation").and_then(Value::as_f64), Some(1.0));
        assert!(x.get("reason").and_then(Value::as_str).unwrap().contains("forced"));
        assert!(x.get("changes").is_some(), "{}", d.to_json());
        // Another page: not targeted, no changes.
        let other = shopper("https://shop.example/cart");
        let s = Shopper { context_json: &other, forced: Vec::new(), ..s };
        let d = Value::parse(&decide(RULESET, &s, &NativeRegex).unwrap()).unwrap();
        let x = &d.get("experiments").unwrap().as_array().unwrap()[0];
        assert!(x.get("reason").and_then(Value::as_str).unwrap().contains("not on this page"));
    }

    #[test]
    fn matches_answers_for_the_shopper_and_names_bad_conditions() {
        let s = Shopper { profile_json: "", context_json: r#"{"path": "/"}"#, now: 1.8e12, forced: Vec::new() };
        assert!(matches(r#"{"context.path": "/"}"#, &s, &NativeRegex).unwrap());
        assert!(!matches(r#"{"profile.cart.count": {"$gte": 1}}"#, &s, &NativeRegex).unwrap());
        let bad = matches(r#"{"x": {"$gte": 1"#, &s, &NativeRegex).unwrap_err();
        assert_eq!(bad[0].path, "condition");
        let bad = matches(r#"{"profile": "x"}"#, &Shopper { profile_json: "nope", ..s }, &NativeRegex).unwrap_err();
        assert_eq!(bad[0].path, "profile");
    }
}
