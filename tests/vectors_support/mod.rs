//! The case-running code of the shared JSON vectors (tests/vectors/), used by the native
//! tests (tests/*_vectors.rs, which read the files from disk) and by the browser tests
//! (tests/web_vectors.rs, which embed them with `include_str!`).
//!
//! Every runner takes a file's text and returns how many cases it ran, or every failure.
//! A missing or renamed key is an error, never an empty list: each group of cases must hold
//! at least the number of cases the file had when the check was written (`MIN_*`), so a
//! renamed key or a truncated file cannot pass with zero cases. Every case (or, for
//! hashes.json and buckets.json, the file) names its source; see docs/vectors.md.
#![allow(dead_code)]

use tailor::engine::condition::Condition;
use tailor::engine::decision::DecideOptions;
use tailor::engine::event::{Event, MAX_EVENT_BYTES};
use tailor::engine::experiment::ForcedVariations;
use tailor::engine::hash::{bucket_ranges, choose_variation, gb_hash, in_namespace, murmur_bucket};
use tailor::engine::json::{Map, Value};
use tailor::engine::profile::{Profile, ProfileConfig};
use tailor::engine::regex::RegexCompiler;
use tailor::engine::ruleset::Ruleset;
use tailor::engine::version::padded_version_str;

/// Cases run, or the failures (one per line).
pub type Outcome = Result<usize, String>;

pub const MIN_CONDITIONS: usize = 398;
pub const MIN_HASH_GROWTHBOOK: usize = 15;
pub const MIN_HASH_TAILOR: usize = 6;
pub const MIN_HASH_MURMUR3: usize = 4;
pub const MIN_RANGES: usize = 17;
pub const MIN_CHOOSE: usize = 13;
pub const MIN_NAMESPACES: usize = 16;
pub const MIN_EXPERIMENTS: usize = 70;
pub const MIN_VERSIONS: usize = 63;
pub const MIN_OFFER_SUITES: usize = 2;
pub const MIN_OFFER_CASES: usize = 16;
pub const MIN_INVALID_RULESETS: usize = 32;
pub const MIN_EVENTS: usize = 95;
pub const MIN_PROFILES: usize = 19;

pub fn parse(file: &str, text: &str) -> Result<Value, String> {
    Value::parse(text).map_err(|e| format!("{file}: {e}"))
}

/// The list of cases under `key` in `v`: an error naming the file and the key when the key
/// is missing, is not a list, or holds fewer than `min` cases.
pub fn group<'a>(file: &str, v: &'a Value, key: &str, min: usize) -> Result<&'a [Value], String> {
    let list = match v.get(key) {
        None => return Err(format!("{file}: no \"{key}\" list")),
        Some(Value::Array(list)) => list,
        Some(other) => return Err(format!("{file}: \"{key}\" is not a list: {}", other.to_json())),
    };
    at_least(file, key, list, min)
}

/// A file (or a suite) that is a list of cases at the top level.
pub fn top_list<'a>(file: &str, v: &'a Value, min: usize) -> Result<&'a [Value], String> {
    match v {
        Value::Array(list) => at_least(file, "cases", list, min),
        other => Err(format!("{file}: expected a list of cases, found {}", other.to_json())),
    }
}

fn at_least<'a>(file: &str, key: &str, list: &'a [Value], min: usize) -> Result<&'a [Value], String> {
    if list.len() < min.max(1) {
        return Err(format!("{file}: \"{key}\" has {} cases, expected at least {}", list.len(), min.max(1)));
    }
    Ok(list)
}

/// The field `key` of a case, or an error naming the case.
pub fn field<'a>(c: &'a Value, key: &str) -> Result<&'a Value, String> {
    c.get(key).ok_or_else(|| format!("{}: no \"{key}\"", label(c)))
}

/// A list field of a case (it may be empty).
fn list<'a>(c: &'a Value, key: &str) -> Result<&'a [Value], String> {
    field(c, key)?.as_array().map(Vec::as_slice).ok_or_else(|| format!("{}: \"{key}\" is not a list", label(c)))
}

fn text<'a>(c: &'a Value, key: &str) -> Result<&'a str, String> {
    field(c, key)?.as_str().ok_or_else(|| format!("{}: \"{key}\" is not a string", label(c)))
}

fn num(c: &Value, key: &str) -> Result<f64, String> {
    field(c, key)?.as_f64().ok_or_else(|| format!("{}: \"{key}\" is not a number", label(c)))
}

fn pair(r: &Value) -> Result<(f64, f64), String> {
    match r.as_array().map(Vec::as_slice) {
        Some([a, b]) => a.as_f64().zip(b.as_f64()).ok_or_else(|| format!("not a range: {}", r.to_json())),
        _ => Err(format!("not a range: {}", r.to_json())),
    }
}

fn label(c: &Value) -> String {
    match c.get("name").and_then(Value::as_str) {
        Some(name) => name.to_string(),
        None => c.to_json(),
    }
}

/// Every case names its source: "tailor" (Tailor's own), "growthbook <list>: <case name>"
/// (a case of GrowthBook's published SDK cases), or "tailor-choice, ..." (a GrowthBook case
/// where Tailor deliberately answers differently; the case then carries GrowthBook's answer
/// under "growthbook").
pub fn check_sources(file: &str, cases: &[Value]) -> Result<(), String> {
    let mut bad = Vec::new();
    for c in cases {
        match c.get("source").and_then(Value::as_str) {
            Some("tailor") => {}
            Some(s) if s.starts_with("growthbook ") && s.contains(": ") => {}
            Some(s) if s.starts_with("tailor-choice, departs from growthbook ") => {
                if c.get("growthbook").and_then(Value::as_object).is_none() {
                    bad.push(format!("{}: a tailor-choice case must carry GrowthBook's answer", label(c)));
                }
            }
            Some(s) => bad.push(format!("{}: unknown source {s:?}", label(c))),
            None => bad.push(format!("{}: no \"source\"", label(c))),
        }
    }
    if bad.is_empty() {
        Ok(())
    } else {
        Err(format!("{file}: {}", bad.join("\n")))
    }
}

/// A top-level "source" object naming the source of each of `groups`.
fn check_file_source(file: &str, v: &Value, groups: &[&str]) -> Result<(), String> {
    let source = v.get("source").ok_or_else(|| format!("{file}: no top-level \"source\""))?;
    match source {
        Value::String(s) if !s.is_empty() => Ok(()),
        Value::Object(m) => match groups.iter().find(|g| m.get(g).and_then(Value::as_str).is_none()) {
            Some(g) => Err(format!("{file}: \"source\" does not name the source of \"{g}\"")),
            None => Ok(()),
        },
        other => Err(format!("{file}: \"source\" is not a text or an object: {}", other.to_json())),
    }
}

fn finish(file: &str, count: usize, failures: Vec<String>) -> Outcome {
    if failures.is_empty() {
        Ok(count)
    } else {
        Err(format!("{file}: {} failures:\n{}", failures.len(), failures.join("\n")))
    }
}

/// Runs every case of `run` (each a Result) and collects the failures.
fn each(cases: &[Value], mut run: impl FnMut(&Value) -> Result<(), String>) -> Vec<String> {
    cases.iter().filter_map(|c| run(c).err()).collect()
}

pub fn conditions(text_in: &str, re: &dyn RegexCompiler) -> Outcome {
    let file = "conditions.json";
    let doc = parse(file, text_in)?;
    let cases = top_list(file, &doc, MIN_CONDITIONS)?;
    check_sources(file, cases)?;
    let failures = each(cases, |c| {
        let groups = c.get("savedGroups").unwrap_or(&Value::Null);
        let got = Condition::compile(field(c, "condition")?, groups, re).eval(field(c, "attributes")?);
        match field(c, "expected")?.as_bool() {
            Some(want) if want == got => Ok(()),
            Some(_) => Err(format!("{}: got {got}", label(c))),
            None => Err(format!("{}: \"expected\" is not a boolean", label(c))),
        }
    });
    finish(file, cases.len(), failures)
}

pub fn hashes(text_in: &str) -> Outcome {
    hashes_at_least(text_in, [MIN_HASH_GROWTHBOOK, MIN_HASH_TAILOR, MIN_HASH_MURMUR3])
}

/// `hashes` with other minimum counts (for the tests of the check itself).
pub fn hashes_at_least(text_in: &str, min: [usize; 3]) -> Outcome {
    let file = "hashes.json";
    let doc = parse(file, text_in)?;
    check_file_source(file, &doc, &["growthbook", "tailor", "murmur3"])?;
    let growthbook = group(file, &doc, "growthbook", min[0])?;
    let tailor = group(file, &doc, "tailor", min[1])?;
    let murmur3 = group(file, &doc, "murmur3", min[2])?;
    // GrowthBook's published cases cover both hash versions; so must the copy.
    for version in [1.0, 2.0] {
        if !growthbook.iter().any(|c| c.get("version").and_then(Value::as_f64) == Some(version)) {
            return Err(format!("{file}: no GrowthBook case of hash version {version}"));
        }
    }
    let gb = |c: &Value| {
        let version = num(c, "version")?;
        let got = gb_hash(text(c, "seed")?, text(c, "value")?, version as u32);
        let want = match field(c, "expected")? {
            Value::Null => None,
            v => Some(v.as_f64().ok_or_else(|| format!("{}: \"expected\" is not a number", c.to_json()))?),
        };
        if got == want {
            Ok(())
        } else {
            Err(format!("{}: got {got:?}", c.to_json()))
        }
    };
    let mut failures = each(growthbook, gb);
    failures.extend(each(tailor, |c| {
        text(c, "why")?;
        gb(c)
    }));
    failures.extend(each(murmur3, |c| {
        let got = murmur_bucket(text(c, "bucketingId")?, text(c, "experimentId")?);
        if got as f64 == num(c, "expected")? {
            Ok(())
        } else {
            Err(format!("{}: got {got}", c.to_json()))
        }
    }));
    finish(file, growthbook.len() + tailor.len() + murmur3.len(), failures)
}

pub fn buckets(text_in: &str) -> Outcome {
    let file = "buckets.json";
    let doc = parse(file, text_in)?;
    check_file_source(file, &doc, &[])?;
    let ranges = group(file, &doc, "ranges", MIN_RANGES)?;
    let choose = group(file, &doc, "choose", MIN_CHOOSE)?;
    let namespaces = group(file, &doc, "namespaces", MIN_NAMESPACES)?;
    for cases in [ranges, choose, namespaces] {
        check_sources(file, cases)?;
    }
    let mut failures = each(ranges, |c| {
        let n = num(c, "numVariations")? as usize;
        let weights: Option<Vec<f64>> = match field(c, "weights")? {
            Value::Null => None,
            Value::Array(a) => Some(a.iter().filter_map(Value::as_f64).collect()),
            other => return Err(format!("{}: weights {}", label(c), other.to_json())),
        };
        let got = bucket_ranges(n, num(c, "coverage")?, weights.as_deref());
        // (No variations: an empty list is the expected answer.)
        let want: Vec<(f64, f64)> = list(c, "expected")?.iter().map(pair).collect::<Result<_, _>>()?;
        let same = got.len() == want.len()
            && got.iter().zip(&want).all(|(g, w)| (g.0 - w.0).abs() < 1e-9 && (g.1 - w.1).abs() < 1e-9);
        if same {
            Ok(())
        } else {
            Err(format!("{}: got {got:?}, expected {want:?}", label(c)))
        }
    });
    failures.extend(each(choose, |c| {
        let ranges: Vec<(f64, f64)> = group(file, c, "ranges", 1)?.iter().map(pair).collect::<Result<_, _>>()?;
        let got = choose_variation(num(c, "n")?, &ranges).map_or(-1.0, |i| i as f64);
        if got == num(c, "expected")? {
            Ok(())
        } else {
            Err(format!("{}: got {got}", label(c)))
        }
    }));
    failures.extend(each(namespaces, |c| {
        let ns = group(file, c, "namespace", 3)?;
        let id = ns[0].as_str().ok_or_else(|| format!("{}: namespace id", label(c)))?;
        let (start, end) = pair(&Value::Array(ns[1..3].to_vec()))?;
        let got = in_namespace(text(c, "hashValue")?, id, start, end);
        if Some(got) == field(c, "expected")?.as_bool() {
            Ok(())
        } else {
            Err(format!("{}: got {got}", label(c)))
        }
    }));
    finish(file, ranges.len() + choose.len() + namespaces.len(), failures)
}

/// A ruleset holding only `experiment` (and the case's saved groups, if any).
/// GrowthBook's `versionCompare` cases: `lt`, `gt` and `eq` lists of `{name, a, b, expected}`,
/// comparing the padded version strings as JavaScript compares strings (UTF-16 code units).
pub fn versions(text_in: &str) -> Outcome {
    let file = "versions.json";
    let doc = parse(file, text_in)?;
    check_file_source(file, &doc, &[])?;
    let mut failures = Vec::new();
    let mut count = 0;
    for op in ["lt", "gt", "eq"] {
        let cases = group(file, &doc, op, 1)?;
        count += cases.len();
        failures.extend(each(cases, |c| {
            let (a, b) = (padded_version_str(text(c, "a")?), padded_version_str(text(c, "b")?));
            let order = a.encode_utf16().cmp(b.encode_utf16());
            let got = match op {
                "lt" => order.is_lt(),
                "gt" => order.is_gt(),
                _ => order.is_eq(),
            };
            match field(c, "expected")?.as_bool() {
                Some(want) if want == got => Ok(()),
                Some(_) => Err(format!("{op} {}: got {got} ({a:?} vs {b:?})", label(c))),
                None => Err(format!("{}: \"expected\" is not a boolean", label(c))),
            }
        }));
    }
    if count < MIN_VERSIONS {
        return Err(format!("{file}: {count} cases, expected at least {MIN_VERSIONS}"));
    }
    finish(file, count, failures)
}

fn ruleset_with(experiment: &Value, saved_groups: Option<&Value>, re: &dyn RegexCompiler) -> Result<Ruleset, String> {
    let mut m = Map::new();
    m.insert("version", Value::Number(1.0));
    m.insert("placements", Value::Object(Map::new()));
    m.insert("experiments", Value::Array(vec![experiment.clone()]));
    if let Some(groups) = saved_groups {
        m.insert("savedGroups", groups.clone());
    }
    Ruleset::compile(&Value::Object(m), re).map_err(|e| format!("ruleset rejected: {e:?}"))
}

/// Whether `got` is an object with every field of `want` (an object) at the same value.
fn has_fields(got: Option<&Value>, want: &Value) -> bool {
    let fields = want.as_object().map(|m| m.iter().collect::<Vec<_>>()).unwrap_or_default();
    got.and_then(Value::as_object).is_some_and(|m| fields.iter().all(|(k, v)| m.get(k) == Some(*v)))
}

fn opt_str<'a>(c: &'a Value, key: &str) -> &'a str {
    c.get(key).and_then(Value::as_str).unwrap_or("")
}

pub fn experiments(text_in: &str, re: &dyn RegexCompiler) -> Outcome {
    let file = "experiments.json";
    let doc = parse(file, text_in)?;
    let cases = top_list(file, &doc, MIN_EXPERIMENTS)?;
    check_sources(file, cases)?;
    let failures = each(cases, |c| {
        let name = label(c);
        let rs = ruleset_with(field(c, "experiment")?, c.get("savedGroups"), re).map_err(|e| format!("{name}: {e}"))?;
        let options =
            DecideOptions { forced: ForcedVariations::parse(opt_str(c, "force")), ..DecideOptions::default() };
        let d = rs.decide(field(c, "attributes")?, &options).to_value();
        let got = match d.get("experiments").and_then(Value::as_array).map(Vec::as_slice) {
            Some([one]) => one,
            _ => return Err(format!("{name}: the decision does not hold one experiment: {}", d.to_json())),
        };
        let want = field(c, "expected")?;
        let mut ok = got.get("variation") == Some(field(want, "variation")?)
            && got.get("inExperiment") == Some(field(want, "inExperiment")?);
        if let Some(value) = want.get("value") {
            ok &= got.get("value") == Some(value);
        }
        // A sentence (`reason-text`) holds `reasonContains`; a code has `reasonCode`'s fields.
        match got.get("reason") {
            Some(Value::String(reason)) => {
                ok &= want.get("reasonContains").and_then(Value::as_str).is_none_or(|t| reason.contains(t));
            }
            reason => ok &= want.get("reasonCode").is_none_or(|code| has_fields(reason, code)),
        }
        if let Some(sticky) = want.get("stickyAssignments") {
            ok &= d.get("stickyAssignments") == Some(sticky);
        }
        // A departure from GrowthBook is one: Tailor's answer differs from the one recorded.
        if let Some(peer) = c.get("growthbook") {
            if peer.get("inExperiment") == want.get("inExperiment") {
                return Err(format!("{name}: marked as Tailor's choice, but GrowthBook gives the same answer"));
            }
        }
        if ok {
            Ok(())
        } else {
            let sticky = d.get("stickyAssignments").map(Value::to_json).unwrap_or_default();
            Err(format!("{name}: got {} (sticky {sticky})", got.to_json()))
        }
    });
    finish(file, cases.len(), failures)
}

pub fn offers(text_in: &str, re: &dyn RegexCompiler) -> Outcome {
    let file = "offers.json";
    let doc = parse(file, text_in)?;
    let suites = top_list(file, &doc, MIN_OFFER_SUITES)?;
    check_sources(file, suites)?;
    let mut failures = Vec::new();
    let mut count = 0;
    for suite in suites {
        let rs = Ruleset::compile(field(suite, "ruleset")?, re).map_err(|e| format!("{}: {e:?}", label(suite)))?;
        let cases = group(file, suite, "cases", 1)?;
        count += cases.len();
        failures.extend(each(cases, |c| offer_case(&rs, c)));
    }
    if count < MIN_OFFER_CASES {
        return Err(format!("{file}: {count} cases, expected at least {MIN_OFFER_CASES}"));
    }
    finish(file, count, failures)
}

fn offer_case(rs: &Ruleset, c: &Value) -> Result<(), String> {
    let name = label(c);
    let options = DecideOptions {
        now: c.get("now").and_then(Value::as_f64).unwrap_or(0.0),
        placements: c
            .get("placements")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|p| p.as_str().map(String::from)).collect()),
        forced: ForcedVariations::parse(opt_str(c, "force")),
    };
    let d = rs.decide(field(c, "attributes")?, &options).to_value();
    let placements = d.get("placements").and_then(Value::as_object).ok_or_else(|| format!("{name}: no placements"))?;
    let want = field(c, "expected")?.as_object().ok_or_else(|| format!("{name}: \"expected\" is not an object"))?;
    let offers_of =
        |v: &'_ Value| -> Vec<Value> { v.get("offers").and_then(Value::as_array).cloned().unwrap_or_default() };
    let got: Vec<(String, Vec<String>)> = placements
        .iter()
        .map(|(p, v)| (p.to_string(), offers_of(v).iter().map(|o| opt_str(o, "offerId").to_string()).collect()))
        .collect();
    let mut want_list = Vec::new();
    for (p, v) in want.iter() {
        let ids = v.as_array().ok_or_else(|| format!("{name}: expected.{p} is not a list"))?;
        want_list.push((p.to_string(), ids.iter().map(|o| o.as_str().unwrap_or("").to_string()).collect::<Vec<_>>()));
    }
    if got != want_list {
        return Err(format!("{name}: got {got:?}"));
    }
    let mut problems = Vec::new();
    let skipped: Vec<(String, Value)> = placements
        .iter()
        .flat_map(|(_, v)| v.get("skipped").and_then(Value::as_array).cloned().unwrap_or_default())
        .map(|x| (opt_str(&x, "offerId").to_string(), x.get("reason").cloned().unwrap_or_default()))
        .collect();
    // Sentences (`reason-text`) hold the `reasons` texts; codes have the `reasonCodes` fields.
    let (key, matches): (_, fn(&Value, &Value) -> bool) = match skipped.first() {
        Some((_, Value::String(_))) => {
            ("reasons", |r, t| r.as_str().zip(t.as_str()).is_some_and(|(r, t)| r.contains(t)))
        }
        _ => ("reasonCodes", |r, code| has_fields(Some(r), code)),
    };
    for (offer, want) in c.get(key).and_then(Value::as_object).into_iter().flat_map(|m| m.iter()) {
        if !skipped.iter().any(|(o, r)| o == offer && matches(r, want)) {
            let skipped: Vec<String> = skipped.iter().map(|(o, r)| o.clone() + ": " + &r.to_json()).collect();
            problems.push(format!("{name}: no reason for {offer} like {} in {skipped:?}", want.to_json()));
        }
    }
    for (offer, title) in c.get("titles").and_then(Value::as_object).into_iter().flat_map(|m| m.iter()) {
        let found = placements.iter().flat_map(|(_, v)| offers_of(v)).find(|o| opt_str(o, "offerId") == offer);
        if found.as_ref().and_then(|o| o.get("content")).and_then(|c| c.get("title")) != Some(title) {
            problems.push(format!("{name}: title of {offer} is not {}", title.to_json()));
        }
    }
    let experiments = d.get("experiments").and_then(Value::as_array).cloned().unwrap_or_default();
    for (key, want) in c.get("experiments").and_then(Value::as_object).into_iter().flat_map(|m| m.iter()) {
        match experiments.iter().find(|x| opt_str(x, "key") == key) {
            Some(got)
                if got.get("inExperiment") == want.get("inExperiment")
                    && got.get("variation") == want.get("variation") => {}
            Some(got) => problems.push(format!("{name}: experiment {key} got {}", got.to_json())),
            None => problems.push(format!("{name}: no experiment {key} in the decision")),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

pub fn invalid_rulesets(text_in: &str, re: &dyn RegexCompiler) -> Outcome {
    let file = "rulesets_invalid.json";
    let doc = parse(file, text_in)?;
    let cases = top_list(file, &doc, MIN_INVALID_RULESETS)?;
    check_sources(file, cases)?;
    let failures = each(cases, |c| {
        let name = label(c);
        let wanted = group(file, c, "errors", 1)?;
        match Ruleset::compile(field(c, "ruleset")?, re) {
            Ok(_) => Err(format!("{name}: accepted")),
            Err(errors) => {
                let lines: Vec<String> = errors.iter().map(|e| format!("{}: {}", e.path, e.reason)).collect();
                // The lean loader of the shopper's module (no `full-checks`: the browser tests)
                // gives the same paths with short reasons: there only the path is compared.
                let expected = |w: &str| -> String {
                    if cfg!(feature = "full-checks") {
                        w.to_string()
                    } else {
                        w.split_once(": ").map_or(w, |(path, _)| path).to_string() + ": "
                    }
                };
                let missing: Vec<String> = wanted
                    .iter()
                    .map(|w| w.as_str().unwrap_or(""))
                    .filter(|w| !lines.iter().any(|l| l.starts_with(&expected(w))))
                    .map(|w| format!("{name}: no error starting {w:?} in {lines:?}"))
                    .collect();
                if missing.is_empty() {
                    Ok(())
                } else {
                    Err(missing.join("\n"))
                }
            }
        }
    });
    finish(file, cases.len(), failures)
}

/// The event vectors, parsed and checked for count and sources (the native tests look at
/// them in more ways than `events` does).
pub fn event_cases(text_in: &str) -> Result<Vec<Value>, String> {
    let file = "events.json";
    let doc = parse(file, text_in)?;
    let cases = top_list(file, &doc, MIN_EVENTS)?;
    check_sources(file, cases)?;
    Ok(cases.to_vec())
}

/// Each event vector is valid (and its wire form reads back to the same event) or invalid
/// with the exact error message.
pub fn events(text_in: &str) -> Outcome {
    let cases = event_cases(text_in)?;
    let failures = each(&cases, |v| {
        let name = label(v);
        let event = field(v, "event")?;
        let valid = field(v, "valid")?.as_bool().ok_or_else(|| format!("{name}: \"valid\" is not a boolean"))?;
        match (Event::from_value(event), valid) {
            (Ok(e), true) => {
                let json = e.to_json();
                if json.len() > MAX_EVENT_BYTES {
                    return Err(format!("{name}: {} bytes", json.len()));
                }
                if Event::from_json(&json).as_ref() != Ok(&e) || Value::parse(&json).ok() != Some(e.to_value()) {
                    return Err(format!("{name}: the wire form does not read back: {json}"));
                }
                if Some(e.id()) != event.get("id").and_then(Value::as_str) {
                    return Err(format!("{name}: id {}", e.id()));
                }
                Ok(())
            }
            (Err(err), false) => {
                let want = text(v, "error")?;
                if err.to_string() == want {
                    Ok(())
                } else {
                    Err(format!("{name}: error {:?}, expected {want:?}", err.to_string()))
                }
            }
            (Ok(_), false) => Err(format!("{name}: accepted an invalid event")),
            (Err(err), true) => Err(format!("{name}: rejected a valid event: {err}")),
        }
    });
    finish("events.json", cases.len(), failures)
}

fn close(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| close(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| close(v, w)))
        }
        _ => a == b,
    }
}

/// Steps applied to a new profile, then attributes of the snapshot (live and reloaded from
/// its stored form) at time `at`. An expected `null` means the attribute is absent; numbers
/// compare to 1e-9 relative.
pub fn profiles(text_in: &str) -> Outcome {
    let file = "profile.json";
    let doc = parse(file, text_in)?;
    let cases = top_list(file, &doc, MIN_PROFILES)?;
    check_sources(file, cases)?;
    let failures = each(cases, profile_case);
    finish(file, cases.len(), failures)
}

fn profile_case(case: &Value) -> Result<(), String> {
    let name = label(case);
    let mut p = Profile::new("anon-1", 1_700_000_000_000.0);
    if let Some(c) = case.get("config") {
        let mut config = ProfileConfig::default();
        if let Some(h) = c.get("halfLifeMs").and_then(Value::as_f64) {
            config.half_life_ms = h;
        }
        if let Some(t) = c.get("sessionTimeoutMs").and_then(Value::as_f64) {
            config.session_timeout_ms = t;
        }
        p.set_config(config);
    }
    let steps = match field(case, "steps")? {
        Value::Array(steps) => steps,
        other => return Err(format!("{name}: \"steps\" is not a list: {}", other.to_json())),
    };
    for (i, step) in steps.iter().enumerate() {
        match text(step, "op")? {
            "track" => {
                let mut random = [0u8; 10];
                random[0] = i as u8;
                let props = field(step, "props")?.clone();
                let result = p.track(text(step, "type")?, props, num(step, "now")?, random, None);
                match (result, step.get("error").and_then(Value::as_str)) {
                    (Ok(_), None) => {}
                    (Err(e), Some(want)) if e.to_string() == want => {}
                    (r, want) => {
                        return Err(format!("{name}, step {i}: got {:?}, expected error {want:?}", r.err()));
                    }
                }
            }
            "identify" => {
                p.identify(text(step, "userId")?, field(step, "traits")?.clone(), num(step, "now")?)
                    .map_err(|e| format!("{name}, step {i}: {e}"))?;
            }
            "setAssignment" => {
                p.set_assignment(
                    text(step, "key")?,
                    num(step, "variation")? as u32,
                    num(step, "bucketVersion")? as u32,
                );
            }
            "setAudiences" => {
                let names = list(step, "names")?;
                p.set_audiences(names.iter().filter_map(Value::as_str), num(step, "now")?);
            }
            op => return Err(format!("{name}: unknown op {op}")),
        }
    }
    let at = num(case, "at")?;
    let snapshot = p.snapshot(at);
    // The stored form gives the same answers (the config is not stored: the web layer sets
    // it again after loading).
    let mut reloaded = Profile::from_json(&p.to_json()).map_err(|e| format!("{name}: reload: {e}"))?;
    reloaded.set_config(p.config().clone());
    let reloaded = reloaded.snapshot(at);
    let expect = field(case, "expect")?.as_object().ok_or_else(|| format!("{name}: \"expect\" is not an object"))?;
    if expect.is_empty() {
        return Err(format!("{name}: expects nothing"));
    }
    let mut problems = Vec::new();
    for (path, want) in expect.iter() {
        let rel = path.strip_prefix("profile.").ok_or_else(|| format!("{name}: {path} is not a profile path"))?;
        for (which, snap) in [("live", &snapshot), ("reloaded", &reloaded)] {
            let got = snap.pointer_dotted(rel);
            let ok = match (got, want) {
                (None, Value::Null) => true,
                (Some(g), w) => close(g, w),
                (None, _) => false,
            };
            if !ok {
                problems.push(format!(
                    "{name} ({which}): {path} is {:?}, expected {}",
                    got.map(Value::to_json),
                    want.to_json()
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}
