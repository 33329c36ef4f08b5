//! `tailor ruleset import --from growthbook PAYLOAD.json [-o OUT.json] [--skip-unsupported]`:
//! turns a GrowthBook SDK payload into a Tailor ruleset that keeps every shopper in the same
//! variation.
//!
//! Each feature's experiment rule becomes a Tailor experiment with the same key, seed, hash
//! attribute, hash version, namespace, condition and bucket ranges (the ranges GrowthBook
//! would use, written as Tailor's coverage and weights, and checked to put every hash value
//! in the same variation); the rule's variation values become the variations' `value`, and
//! the payload's saved groups are copied as they are. What Tailor cannot express (feature
//! flags' force and rollout rules, filters, prerequisites, bandits, ranges that no coverage
//! and weights give, ...) is refused with an error naming the feature and the rule, or with
//! `--skip-unsupported` left out and listed on stderr. The result is checked with Tailor's
//! validator before it is written. See docs/growthbook.md.

use tailor::engine::hash::{bucket_ranges, equal_weights};
use tailor::engine::json::{write_number, write_string, Map, Value};
use tailor::engine::regex::NativeRegex;
use tailor::engine::ruleset::Ruleset;

const USAGE: &str = "usage: tailor ruleset import --from growthbook PAYLOAD.json [-o OUT.json] [--skip-unsupported]";

pub fn main(args: &[String]) -> Result<(), String> {
    let (mut from, mut input, mut output, mut skip) = (None, None, None, false);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--from" => from = Some(it.next().ok_or(USAGE)?.as_str()),
            "-o" | "--output" => output = Some(it.next().ok_or(USAGE)?.as_str()),
            "--skip-unsupported" => skip = true,
            s if s.starts_with('-') => return Err(format!("unknown option '{s}'\n{USAGE}")),
            s if input.is_none() => input = Some(s),
            s => return Err(format!("one payload file only (got '{s}' too)\n{USAGE}")),
        }
    }
    match from {
        Some("growthbook") => {}
        Some(other) => return Err(format!("--from {other}: only \"growthbook\" payloads can be imported\n{USAGE}")),
        None => return Err(format!("--from growthbook is required\n{USAGE}")),
    }
    let file = input.ok_or(USAGE)?;
    let text = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
    let payload = Value::parse(&text).map_err(|e| format!("{file}: not JSON: {e}"))?;
    let imported = from_growthbook(&payload, skip).map_err(|errors| {
        format!(
            "{file}: cannot be imported as it is:\n{}",
            errors.iter().map(|e| format!("error: {e}")).collect::<Vec<_>>().join("\n")
        )
    })?;
    for s in &imported.skipped {
        eprintln!("skipped: {s}");
    }
    let out = pretty(&imported.ruleset);
    match output {
        Some(path) => std::fs::write(path, out).map_err(|e| format!("{path}: {e}"))?,
        None => print!("{out}"),
    }
    eprintln!(
        "imported {} experiment{} from {} feature{}{}",
        imported.experiments,
        if imported.experiments == 1 { "" } else { "s" },
        imported.features,
        if imported.features == 1 { "" } else { "s" },
        if imported.skipped.is_empty() { String::new() } else { format!(", {} skipped", imported.skipped.len()) }
    );
    Ok(())
}

/// A converted payload.
pub struct Imported {
    pub ruleset: Value,
    /// What was left out (with `skip`), one sentence each naming the feature and the rule.
    pub skipped: Vec<String>,
    pub features: usize,
    pub experiments: usize,
}

/// Converts a GrowthBook payload. Without `skip`, anything Tailor cannot express is an error;
/// with it, such rules and features are left out and listed in [`Imported::skipped`].
pub fn from_growthbook(payload: &Value, skip: bool) -> Result<Imported, Vec<String>> {
    let Some(top) = payload.as_object() else {
        return Err(vec![format!("the payload must be an object, found {}", payload.type_name())]);
    };
    let mut errors = Vec::new();
    let mut skipped = Vec::new();
    let refuse = |what: String, errors: &mut Vec<String>, skipped: &mut Vec<String>| {
        if skip {
            skipped.push(what);
        } else {
            errors.push(what);
        }
    };
    for key in ["encryptedFeatures", "encryptedSavedGroups", "encryptedExperiments"] {
        if top.get(key).is_some_and(|v| !v.is_null()) {
            errors.push(format!(
                "{key}: the payload is encrypted; export it decrypted (the SDK connection's decrypted payload)"
            ));
        }
    }
    if let Some(Value::Array(a)) = top.get("experiments") {
        if !a.is_empty() {
            refuse(
                format!("experiments: {} visual editor / URL redirect experiments (Tailor's page changes are written differently)", a.len()),
                &mut errors,
                &mut skipped,
            );
        }
    }
    let features = match top.get("features") {
        Some(Value::Object(f)) => f,
        Some(other) => {
            return Err(vec![format!("features: expected an object of features, found {}", other.type_name())])
        }
        None if !errors.is_empty() => return Err(errors),
        None => return Err(vec!["features: missing (is this a GrowthBook SDK payload?)".to_string()]),
    };
    let mut experiments = Vec::new();
    // Where each Tailor experiment comes from, to name it in validation errors.
    let mut origin = Vec::new();
    for (feature, def) in features.iter() {
        let rules = match def.get("rules") {
            None => &[][..],
            Some(Value::Array(r)) => r.as_slice(),
            Some(_) => {
                errors.push(format!("feature \"{feature}\": \"rules\" is not a list"));
                continue;
            }
        };
        let mut converted = false;
        for (i, rule) in rules.iter().enumerate() {
            let at = format!("feature \"{feature}\" rule {i}");
            let is_experiment = rule.get("variations").is_some() && rule.get("force").is_none();
            if !is_experiment {
                let kind = if rule.get("force").is_some() {
                    if rule.get("coverage").is_some() || rule.get("range").is_some() {
                        "a percentage rollout of a forced value"
                    } else {
                        "a forced value"
                    }
                } else if rule.get("contextualVariations").is_some() {
                    "a contextual bandit"
                } else {
                    "a rule with neither variations nor a forced value"
                };
                let experiment_below =
                    rules[i + 1..].iter().any(|r| r.get("variations").is_some() && r.get("force").is_none());
                let why = if converted {
                    "it only decides for shoppers outside the experiment above, and Tailor has no feature values"
                } else if experiment_below {
                    "Tailor has no feature flags, and a shopper this rule catches would never reach the experiment rule below"
                } else {
                    "Tailor has no feature flags"
                };
                refuse(format!("{at} ({}): {kind}; {why}", rule_label(rule)), &mut errors, &mut skipped);
                continue;
            }
            if converted {
                refuse(
                    format!(
                        "{at} ({}): a second experiment rule; GrowthBook lets shoppers outside the first fall through to it, Tailor runs experiments side by side",
                        rule_label(rule)
                    ),
                    &mut errors,
                    &mut skipped,
                );
                continue;
            }
            match experiment(feature, rule) {
                Ok(x) => {
                    experiments.push(x);
                    origin.push(at);
                    converted = true;
                }
                Err(why) => refuse(format!("{at} ({}): {why}", rule_label(rule)), &mut errors, &mut skipped),
            }
        }
        if rules.is_empty() {
            refuse(
                format!("feature \"{feature}\": no rules (a plain feature flag; Tailor has none)"),
                &mut errors,
                &mut skipped,
            );
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut rs = Map::new();
    rs.insert("version", Value::Number(1.0));
    rs.insert("placements", Value::Object(Map::new()));
    if let Some(groups) = top.get("savedGroups") {
        rs.insert("savedGroups", groups.clone());
    }
    let count = experiments.len();
    rs.insert("experiments", Value::Array(experiments));
    let ruleset = Value::Object(rs);
    // The result must be a ruleset Tailor accepts; name the GrowthBook rule behind an error.
    if let Err(problems) = Ruleset::compile(&ruleset, &NativeRegex) {
        return Err(problems
            .iter()
            .map(|p| {
                let rest = p.path.strip_prefix("experiments[").and_then(|r| r.split_once(']'));
                match rest.and_then(|(i, tail)| i.parse::<usize>().ok().map(|i| (i, tail))) {
                    Some((i, tail)) if i < origin.len() => {
                        format!("{}: {}{tail}: {}", origin[i], "experiment", p.reason)
                    }
                    _ => format!("{}: {}", p.path, p.reason),
                }
            })
            .collect());
    }
    Ok(Imported { ruleset, skipped, features: features.len(), experiments: count })
}

fn rule_label(rule: &Value) -> String {
    match (rule.get("id").and_then(Value::as_str), rule.get("key").and_then(Value::as_str)) {
        (Some(id), Some(key)) => format!("id \"{id}\", experiment \"{key}\""),
        (Some(id), None) => format!("id \"{id}\""),
        (None, Some(key)) => format!("experiment \"{key}\""),
        (None, None) => "no id".to_string(),
    }
}

/// The fields of an experiment rule that change nothing about who sees which variation (in
/// GrowthBook without sticky bucketing, and in Tailor for a shopper seen for the first time).
const LABELS: [&str; 5] = ["id", "meta", "name", "phase", "tracks"];

/// One experiment rule as a Tailor experiment, or why it cannot be one.
fn experiment(feature: &str, rule: &Value) -> Result<Value, String> {
    let m = rule.as_object().ok_or("the rule is not an object")?;
    for (field, why) in [
        ("filters", "filters (Tailor has namespaces, not filters)"),
        ("parentConditions", "prerequisite features (Tailor has no feature flags)"),
        ("contextualBanditRef", "a contextual bandit"),
        ("contextualVariations", "a contextual bandit"),
        ("range", "a rollout range"),
    ] {
        if m.get(field).is_some_and(|v| !v.is_null()) {
            return Err(format!("it uses {why}"));
        }
    }
    if m.get("disableStickyBucketing") == Some(&Value::Bool(true)) {
        return Err("disableStickyBucketing: Tailor always keeps a shopper's assignment".into());
    }
    if m.get("minBucketVersion").and_then(Value::as_f64).is_some_and(|v| v > 0.0) {
        return Err("minBucketVersion: Tailor cannot block shoppers of older bucket versions".into());
    }
    let known = [
        "variations",
        "weights",
        "coverage",
        "key",
        "seed",
        "hashAttribute",
        "fallbackAttribute",
        "hashVersion",
        "namespace",
        "ranges",
        "condition",
        "bucketVersion",
        "minBucketVersion",
        "disableStickyBucketing",
    ];
    if let Some((k, _)) = m.iter().find(|(k, _)| !known.contains(k) && !LABELS.contains(k)) {
        return Err(format!("\"{k}\" is not a field Tailor knows how to carry over"));
    }
    let variations = match m.get("variations") {
        Some(Value::Array(v)) if v.len() >= 2 => v,
        Some(Value::Array(_)) => return Err("fewer than 2 variations (GrowthBook puts nobody in it)".into()),
        _ => return Err("\"variations\" is not a list".into()),
    };
    let n = variations.len();
    let key = match m.get("key") {
        None | Some(Value::Null) => feature.to_string(),
        Some(Value::String(k)) if !k.is_empty() => k.clone(),
        Some(Value::String(_)) => feature.to_string(),
        Some(_) => return Err("\"key\" is not a string".into()),
    };
    let text = |field: &str| -> Result<Option<String>, String> {
        match m.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("\"{field}\" is not a string")),
        }
    };
    // GrowthBook: `seed || key`, `hashAttribute || "id"`, `hashVersion || 1`.
    let seed = text("seed")?.unwrap_or_else(|| key.clone());
    let hash_attribute = text("hashAttribute")?.unwrap_or_else(|| "id".to_string());
    if hash_attribute.contains('.') {
        return Err(format!(
            "hashAttribute \"{hash_attribute}\": GrowthBook reads an attribute of that exact name, Tailor would read a nested path"
        ));
    }
    let fallback = text("fallbackAttribute")?;
    if fallback.as_deref().is_some_and(|f| f.contains('.')) {
        return Err("fallbackAttribute with a \".\": GrowthBook reads an attribute of that exact name".into());
    }
    let hash_version = match m.get("hashVersion") {
        None | Some(Value::Null) => 1.0,
        Some(Value::Number(v)) if *v == 0.0 => 1.0,
        Some(Value::Number(v)) if *v == 1.0 || *v == 2.0 => *v,
        Some(other) => {
            return Err(format!(
                "hashVersion {}: GrowthBook knows versions 1 and 2 (and puts nobody in others)",
                other.to_json()
            ))
        }
    };
    let (coverage, weights) = ranges_as_weights(m, n, hash_version)?;
    let mut x = Map::new();
    x.insert("key", Value::from(key));
    if let Some(name) = text("name")? {
        x.insert("name", Value::from(name));
    }
    x.insert("seed", Value::from(seed));
    x.insert("hashAttribute", Value::from(hash_attribute));
    // GrowthBook uses the fallback attribute only with sticky bucketing; Tailor's default
    // (anonymousId) would put shoppers GrowthBook leaves out into the experiment.
    x.insert("fallbackAttribute", fallback.map_or(Value::Null, Value::from));
    x.insert("hashVersion", Value::Number(hash_version));
    x.insert("coverage", Value::Number(coverage));
    x.insert("weights", Value::Array(weights.into_iter().map(Value::Number).collect()));
    if let Some(ns) = m.get("namespace").filter(|v| !v.is_null()) {
        x.insert("namespace", ns.clone());
    }
    if let Some(c) = m.get("condition").filter(|v| !v.is_null()) {
        x.insert("condition", c.clone());
    }
    match m.get("bucketVersion") {
        None | Some(Value::Null) => {}
        Some(Value::Number(v)) if *v >= 0.0 && v.fract() == 0.0 => x.insert("bucketVersion", Value::Number(*v)),
        Some(other) => return Err(format!("bucketVersion {}: expected a whole number", other.to_json())),
    }
    let meta = m.get("meta").and_then(Value::as_array);
    let mut out = Vec::new();
    for (i, value) in variations.iter().enumerate() {
        let info = meta.and_then(|a| a.get(i));
        if info.and_then(|v| v.get("passthrough")) == Some(&Value::Bool(true)) {
            return Err(format!("variation {i} is a passthrough (its shoppers get the next rule's value)"));
        }
        let mut v = Map::new();
        if let Some(k) = info.and_then(|v| v.get("key")).and_then(Value::as_str) {
            v.insert("key", Value::from(k.to_string()));
        }
        v.insert("value", value.clone());
        out.push(Value::Object(v));
    }
    x.insert("variations", Value::Array(out));
    Ok(Value::Object(x))
}

/// The coverage and weights that give the bucket ranges GrowthBook uses for this rule: its
/// `ranges` if it has them, else its coverage and weights (GrowthBook replaces weights of
/// the wrong length or not summing to 1 by equal ones, and clamps coverage to 0..1, so the
/// values written are the ones it uses). Every hash value of the rule's hash version must
/// then land in the same variation (or none) in both, or the rule is refused.
fn ranges_as_weights(m: &Map, n: usize, hash_version: f64) -> Result<(f64, Vec<f64>), String> {
    let (coverage, weights, gb_ranges) = match m.get("ranges") {
        None | Some(Value::Null) => {
            let weights: Option<Vec<f64>> = match m.get("weights") {
                None | Some(Value::Null) => None,
                Some(Value::Array(a)) => Some(
                    a.iter()
                        .map(|w| w.as_f64().ok_or("\"weights\" holds a value that is not a number"))
                        .collect::<Result<_, _>>()?,
                ),
                Some(_) => return Err("\"weights\" is not a list".into()),
            };
            if weights.as_ref().is_some_and(|w| w.iter().any(|x| *x < 0.0)) {
                return Err("a negative weight".into());
            }
            let coverage = match m.get("coverage") {
                None => 1.0,
                Some(c) => c.as_f64().ok_or("\"coverage\" is not a number")?,
            };
            let ranges = bucket_ranges(n, coverage, weights.as_deref());
            // What GrowthBook uses: equal weights in place of weights of the wrong length or
            // not summing to 1 (0.99 to 1.01), coverage clamped to 0..1.
            let mut used = weights.unwrap_or_else(|| equal_weights(n));
            let total: f64 = used.iter().sum();
            if used.len() != n || !(0.99..=1.01).contains(&total) {
                used = equal_weights(n);
            }
            (coverage.clamp(0.0, 1.0), used, ranges)
        }
        Some(Value::Array(a)) => {
            let pairs: Option<Vec<(f64, f64)>> = a
                .iter()
                .map(|r| match r.as_array().map(Vec::as_slice) {
                    Some([s, e]) => s.as_f64().zip(e.as_f64()),
                    _ => None,
                })
                .collect();
            let ranges = pairs.filter(|p| p.len() == n).ok_or("\"ranges\" must hold one [start, end] per variation")?;
            let (coverage, weights) = weights_of(&ranges)?;
            (coverage, weights, ranges)
        }
        Some(_) => return Err("\"ranges\" is not a list".into()),
    };
    let tailor_ranges = bucket_ranges(n, coverage, Some(&weights));
    if let Some(h) = first_disagreement(&gb_ranges, &tailor_ranges, hash_version) {
        return Err(format!(
            "ranges {}: Tailor's coverage and weights give {} at best, which would move the shoppers whose hash is {h}",
            show(&gb_ranges),
            show(&tailor_ranges)
        ));
    }
    Ok((coverage, weights))
}

/// Explicit ranges read as Tailor's, `[Σ w<i, Σ w<i + coverage × wᵢ)`: the weights from
/// where each range starts, the coverage from the first variation with a weight.
fn weights_of(ranges: &[(f64, f64)]) -> Result<(f64, Vec<f64>), String> {
    let n = ranges.len();
    let not_tailor = || {
        format!(
            "ranges {}: not the ranges of any coverage and weights (Tailor computes ranges from them)",
            show(ranges)
        )
    };
    let mut weights: Vec<f64> = (0..n).map(|i| ranges.get(i + 1).map_or(1.0, |r| r.0) - ranges[i].0).collect();
    if ranges[0].0 != 0.0 || weights.iter().any(|w| *w < 0.0) {
        return Err(not_tailor());
    }
    let i = weights.iter().position(|w| *w > 0.0).ok_or_else(not_tailor)?;
    let mut coverage = ((ranges[i].1 - ranges[i].0) / weights[i]).clamp(0.0, 1.0);
    // Round away the float noise of the subtractions.
    for x in weights.iter_mut().chain(std::iter::once(&mut coverage)) {
        let r = (*x * 1e9).round() / 1e9;
        if (r - *x).abs() < 1e-12 {
            *x = r;
        }
    }
    Ok((coverage, weights))
}

/// The first hash value (of hash version `version`: multiples of 1/1000 or 1/10000, as the
/// hash computes them) that two sets of ranges put in different variations.
fn first_disagreement(a: &[(f64, f64)], b: &[(f64, f64)], version: f64) -> Option<f64> {
    let steps = if version == 1.0 { 1000 } else { 10000 };
    let choose = |r: &[(f64, f64)], h: f64| r.iter().position(|&(s, e)| h >= s && h < e);
    (0..steps).map(|k| k as f64 / steps as f64).find(|&h| choose(a, h) != choose(b, h))
}

fn show(ranges: &[(f64, f64)]) -> String {
    let parts: Vec<String> = ranges
        .iter()
        .map(|(s, e)| {
            let (mut a, mut b) = (String::new(), String::new());
            write_number(*s, &mut a);
            write_number(*e, &mut b);
            format!("[{a}, {b}]")
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

/// JSON with two-space indentation; short arrays of numbers stay on one line.
fn pretty(v: &Value) -> String {
    fn go(v: &Value, indent: usize, out: &mut String) {
        let pad = |n: usize| "  ".repeat(n);
        match v {
            Value::Object(m) if !m.is_empty() => {
                out.push_str("{\n");
                for (i, (k, x)) in m.iter().enumerate() {
                    out.push_str(&pad(indent + 1));
                    write_string(k, out);
                    out.push_str(": ");
                    go(x, indent + 1, out);
                    out.push_str(if i + 1 < m.len() { ",\n" } else { "\n" });
                }
                out.push_str(&pad(indent));
                out.push('}');
            }
            Value::Array(a) if !a.is_empty() && !a.iter().all(|x| matches!(x, Value::Number(_) | Value::String(_))) => {
                out.push_str("[\n");
                for (i, x) in a.iter().enumerate() {
                    out.push_str(&pad(indent + 1));
                    go(x, indent + 1, out);
                    out.push_str(if i + 1 < a.len() { ",\n" } else { "\n" });
                }
                out.push_str(&pad(indent));
                out.push(']');
            }
            Value::Array(a) if !a.is_empty() => {
                out.push('[');
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    x.write_json(out);
                }
                out.push(']');
            }
            other => other.write_json(out),
        }
    }
    let mut out = String::new();
    go(v, 0, &mut out);
    out.push('\n');
    out
}
