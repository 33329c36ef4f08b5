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
use tailor::engine::profile::{base_attributes, Profile};
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
    let mut m = base_attributes(&profile, shopper.now);
    m.insert("context", context);
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

/// A persona's profile (the engine's Profile JSON), made by replaying what the persona did as
/// events into a new profile at `now`, so counters, category affinity, cart and orders are
/// exactly what the SDK would hold. `persona` is a JSON object:
/// `{ name, pageViews, categories: {name: views}, cartItems, cartValue, orders, orderValue,
/// userId, traits }` (every field optional).
pub fn persona_profile(persona_json: &str, now: f64) -> Result<String, Vec<Problem>> {
    let bad = |path: &str, message: String| vec![Problem { path: path.into(), message }];
    let p = Value::parse(persona_json).map_err(|e| bad("", format!("the persona is not JSON: {e}")))?;
    let Some(p) = p.as_object() else {
        return Err(bad("", format!("expected an object, got {}", p.type_name())));
    };
    let count = |k: &str| -> Result<u32, Vec<Problem>> {
        match p.get(k) {
            None | Some(Value::Null) => Ok(0),
            Some(v) => match v.as_f64() {
                Some(n) if (0.0..=1000.0).contains(&n) && n.fract() == 0.0 => Ok(n as u32),
                _ => Err(bad(k, "expected a whole number from 0 to 1000".into())),
            },
        }
    };
    let amount = |k: &str| -> Result<f64, Vec<Problem>> {
        match p.get(k) {
            None | Some(Value::Null) => Ok(0.0),
            Some(v) => v
                .as_f64()
                .filter(|n| *n >= 0.0 && n.is_finite())
                .ok_or_else(|| bad(k, "expected an amount of 0 or more".into())),
        }
    };
    let name = p.get("name").and_then(Value::as_str).unwrap_or("persona");
    let mut profile = Profile::new(&format!("persona-{name}"), now);
    let mut n = 0u32;
    // Events a minute apart, ending now, each with its own id.
    let mut track = |profile: &mut Profile, t: &str, props: Map, problems_at: &str| -> Result<(), Vec<Problem>> {
        n += 1;
        let mut random = [0u8; 10];
        random[..4].copy_from_slice(&n.to_be_bytes());
        profile
            .track(t, Value::Object(props), now - 60_000.0 * f64::from(1000 - n.min(999)), random, None)
            .map(|_| ())
            .map_err(|e| bad(problems_at, e.to_string()))
    };
    for _ in 0..count("pageViews")? {
        track(&mut profile, "page_view", Map::new(), "pageViews")?;
    }
    if let Some(cats) = p.get("categories") {
        let Some(cats) = cats.as_object() else {
            return Err(bad("categories", "expected an object {category: views}".into()));
        };
        for (cat, v) in cats.iter() {
            let times = v
                .as_f64()
                .filter(|x| (0.0..=1000.0).contains(x))
                .ok_or_else(|| bad(&format!("categories.{cat}"), "expected a number of views from 0 to 1000".into()))?;
            for i in 0..times as u32 {
                let mut m = Map::new();
                m.insert("sku", Value::from(format!("{cat}-{i}")));
                m.insert("category", Value::from(cat));
                track(&mut profile, "product_view", m, &format!("categories.{cat}"))?;
            }
        }
    }
    // Orders before the cart: a purchase empties the cart.
    let orders = count("orders")?;
    let order_value = amount("orderValue")?;
    for i in 0..orders {
        let mut m = Map::new();
        m.insert("orderId", Value::from(format!("order-{i}")));
        m.insert("revenue", Value::Number(order_value / f64::from(orders)));
        m.insert("currency", Value::from("EUR"));
        m.insert("items", Value::Array(Vec::new()));
        track(&mut profile, "purchase", m, "orders")?;
    }
    let items = count("cartItems")?;
    let value = amount("cartValue")?;
    for i in 0..items {
        let mut m = Map::new();
        m.insert("sku", Value::from(format!("cart-{i}")));
        m.insert("quantity", Value::Number(1.0));
        m.insert("price", Value::Number(value / f64::from(items)));
        m.insert("currency", Value::from("EUR"));
        track(&mut profile, "add_to_cart", m, "cartItems")?;
    }
    if let Some(user) = p.get("userId").and_then(Value::as_str).filter(|u| !u.is_empty()) {
        let traits = p.get("traits").cloned().unwrap_or(Value::Object(Map::new()));
        profile.identify(user, traits, now).map_err(|e| bad("traits", e.to_string()))?;
    }
    Ok(profile.to_json())
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
    fn a_persona_is_replayed_into_the_profile_the_conditions_read() {
        let now = 1.8e12;
        let json = persona_profile(r#"{"name": "shoe", "categories": {"shoes": 3}, "cartItems": 2, "cartValue": 80, "orders": 1, "orderValue": 120}"#, now).unwrap();
        let ctx = String::from("{}");
        let s = Shopper { profile_json: &json, context_json: &ctx, now, forced: Vec::new() };
        let snap = attributes(&s).unwrap().to_json();
        assert!(matches(r#"{"profile.topCategory": "shoes"}"#, &s, &NativeRegex).unwrap(), "{snap}");
        assert!(matches(r#"{"profile.cart.count": {"$gte": 1}}"#, &s, &NativeRegex).unwrap());
        assert!(matches(r#"{"profile.orders.count": 1}"#, &s, &NativeRegex).unwrap());
        let bad = persona_profile(r#"{"orders": -1}"#, now).unwrap_err();
        assert_eq!(bad[0].path, "orders");
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
