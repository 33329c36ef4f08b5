//! Experiment metrics: what the results report measures for an experiment. An experiment of
//! the published ruleset may list its own (`experiments[].metrics`, checked when the ruleset
//! is published or validated); else it gets the server's defaults ([`defaults`]).
//!
//! A metric counts a shopper's events of one type, optionally filtered by properties, from
//! the first exposure on (and within `windowHours` of it when given):
//! - `conversion`: whether the shopper sent at least one such event (a rate);
//! - `mean`: per shopper, the sum of a numeric `property` of those events, or their number
//!   without one (revenue per shopper, items added per shopper);
//! - `ratio`: that sum over the same figure of a `denominator` (average order value is
//!   revenue over purchases; click-through is offer clicks over impressions).

use serde_json::Value;
use tailor::engine::event::EventType;

/// At most this many metrics per experiment, and property filters per side.
pub const MAX_METRICS: usize = 10;
pub const MAX_FILTERS: usize = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricKind {
    Conversion,
    Mean,
    Ratio,
}

impl MetricKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Conversion => "conversion",
            MetricKind::Mean => "mean",
            MetricKind::Ratio => "ratio",
        }
    }
}

/// Whether a metric decides the test (goal) or only must not get worse (guardrail).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Goal,
    Guardrail,
}

/// The events one side of a metric counts: their type, the property filters they must match
/// (`props.<name>` equal to a string), and the numeric property summed (else each event
/// counts 1).
#[derive(Clone, Debug, PartialEq)]
pub struct Events {
    pub event: EventType,
    pub filters: Vec<(String, String)>,
    pub property: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    pub key: String,
    pub kind: MetricKind,
    pub role: Role,
    pub events: Events,
    pub denominator: Option<Events>,
    /// Only events within this long after the first exposure count; `None`: until now.
    pub window_ms: Option<i64>,
}

impl Metric {
    /// The metric in words, for the report.
    pub fn describe(&self) -> String {
        let side = |e: &Events| {
            let what = match &e.property {
                Some(p) => format!("{p} of {} events", e.event.as_str()),
                None => format!("{} events", e.event.as_str()),
            };
            if e.filters.is_empty() {
                what
            } else {
                let f: Vec<String> = e.filters.iter().map(|(k, v)| format!("{k} = {v:?}")).collect();
                format!("{what} with {}", f.join(" and "))
            }
        };
        let window = self.window_ms.map_or(String::new(), |w| format!(" within {} hours", w / 3_600_000));
        let text = match self.kind {
            MetricKind::Conversion => format!("shoppers with {}", side(&self.events)),
            MetricKind::Mean => format!("{} per shopper", side(&self.events)),
            MetricKind::Ratio => {
                format!("{} over {}", side(&self.events), self.denominator.as_ref().map(side).unwrap_or_default())
            }
        };
        format!("{text}, from the first exposure on{window}")
    }
}

/// The metrics of experiments without their own: conversion to a purchase (the goal),
/// revenue per shopper and average order value (guardrails).
pub fn defaults() -> Vec<Metric> {
    let doc = serde_json::json!([
        {"key": "conversion", "kind": "conversion", "event": "purchase", "role": "goal"},
        {"key": "revenuePerShopper", "kind": "mean", "event": "purchase", "property": "revenue", "role": "guardrail"},
        {"key": "averageOrderValue", "kind": "ratio", "event": "purchase", "property": "revenue",
         "denominator": {"event": "purchase"}, "role": "guardrail"},
    ]);
    parse(&doc, "defaults").expect("the default metrics are valid")
}

/// The metrics of `experiment` in a published ruleset, else the defaults.
pub fn for_experiment(ruleset: Option<&Value>, experiment: &str) -> Vec<Metric> {
    let listed = ruleset
        .and_then(|r| r["experiments"].as_array())
        .and_then(|a| a.iter().find(|e| e["key"] == experiment))
        .and_then(|e| e.get("metrics"));
    match listed {
        Some(m) => parse(m, "metrics").unwrap_or_else(|_| defaults()),
        None => defaults(),
    }
}

/// Every metric error of a ruleset, as `path: reason` (empty when they are all valid).
pub fn validate_ruleset(ruleset: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    for (i, e) in ruleset["experiments"].as_array().into_iter().flatten().enumerate() {
        if let Some(m) = e.get("metrics") {
            if let Err(mut e) = parse(m, &format!("experiments[{i}].metrics")) {
                errors.append(&mut e);
            }
        }
    }
    errors
}

fn is_name(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn events(m: &serde_json::Map<String, Value>, path: &str, errors: &mut Vec<String>) -> Option<Events> {
    let event = match m.get("event").and_then(Value::as_str) {
        Some(name) => match EventType::parse(name) {
            Some(EventType::ExperimentExposure) => {
                errors.push(format!("{path}.event: experiment_exposure is what metrics are measured from"));
                None
            }
            Some(t) => Some(t),
            None => {
                errors.push(format!("{path}.event: {name:?} is not a standard event type (see docs/events.md)"));
                None
            }
        },
        None => {
            errors.push(format!("{path}.event: is required (an event type, e.g. \"purchase\")"));
            None
        }
    };
    let mut filters = Vec::new();
    match m.get("where") {
        None => {}
        Some(Value::Object(w)) if w.len() <= MAX_FILTERS => {
            for (k, v) in w {
                match (is_name(k), v.as_str()) {
                    (true, Some(v)) => filters.push((k.clone(), v.to_string())),
                    (false, _) => {
                        errors.push(format!("{path}.where.{k}: a property name is 1-64 letters, digits or underscores"))
                    }
                    (true, None) => errors.push(format!("{path}.where.{k}: expected a string to match")),
                }
            }
        }
        Some(_) => errors.push(format!("{path}.where: expected an object of at most {MAX_FILTERS} property: string")),
    }
    let property = match m.get("property") {
        None => None,
        Some(Value::String(p)) if is_name(p) => Some(p.clone()),
        Some(_) => {
            errors.push(format!("{path}.property: a property name is 1-64 letters, digits or underscores"));
            None
        }
    };
    Some(Events { event: event?, filters, property })
}

fn check_fields(m: &serde_json::Map<String, Value>, path: &str, allowed: &[&str], errors: &mut Vec<String>) {
    for k in m.keys() {
        if !allowed.contains(&k.as_str()) {
            errors.push(format!("{path}.{k}: unknown field (expected one of {})", allowed.join(", ")));
        }
    }
}

/// Parses a list of metric definitions; every error with its path.
pub fn parse(list: &Value, path: &str) -> Result<Vec<Metric>, Vec<String>> {
    let mut errors = Vec::new();
    let mut metrics: Vec<Metric> = Vec::new();
    let Some(items) = list.as_array().filter(|a| !a.is_empty() && a.len() <= MAX_METRICS) else {
        return Err(vec![format!("{path}: expected an array of 1 to {MAX_METRICS} metrics")]);
    };
    for (i, item) in items.iter().enumerate() {
        let at = format!("{path}[{i}]");
        let Some(m) = item.as_object() else {
            errors.push(format!("{at}: expected an object"));
            continue;
        };
        const FIELDS: [&str; 8] = ["key", "kind", "event", "where", "property", "denominator", "role", "windowHours"];
        check_fields(m, &at, &FIELDS, &mut errors);
        let key = match m.get("key").and_then(Value::as_str) {
            Some(k) if is_name(k) => {
                if metrics.iter().any(|x| x.key == k) {
                    errors.push(format!("{at}.key: {k:?} is used by an earlier metric"));
                }
                Some(k.to_string())
            }
            _ => {
                errors.push(format!("{at}.key: is required: 1-64 letters, digits or underscores"));
                None
            }
        };
        let kind = match m.get("kind").and_then(Value::as_str) {
            Some("conversion") => Some(MetricKind::Conversion),
            Some("mean") => Some(MetricKind::Mean),
            Some("ratio") => Some(MetricKind::Ratio),
            _ => {
                errors.push(format!("{at}.kind: expected one of conversion, mean, ratio"));
                None
            }
        };
        let role = match m.get("role").and_then(Value::as_str) {
            None if m.get("role").is_none() => Some(if i == 0 { Role::Goal } else { Role::Guardrail }),
            Some("goal") => Some(Role::Goal),
            Some("guardrail") => Some(Role::Guardrail),
            _ => {
                errors.push(format!("{at}.role: expected goal or guardrail"));
                None
            }
        };
        let window_ms = match m.get("windowHours") {
            None => None,
            Some(v) => match v.as_f64().filter(|h| *h > 0.0 && *h <= 24.0 * 365.0) {
                Some(h) => Some((h * 3_600_000.0) as i64),
                None => {
                    errors.push(format!("{at}.windowHours: expected a number of hours above 0, at most 8760"));
                    None
                }
            },
        };
        let side = events(m, &at, &mut errors);
        if kind == Some(MetricKind::Conversion) && m.contains_key("property") {
            errors.push(format!("{at}.property: a conversion counts shoppers; use kind mean to sum a property"));
        }
        let denominator = match (kind, m.get("denominator")) {
            (Some(MetricKind::Ratio), Some(Value::Object(d))) => {
                let dp = format!("{at}.denominator");
                check_fields(d, &dp, &["event", "where", "property"], &mut errors);
                events(d, &dp, &mut errors)
            }
            (Some(MetricKind::Ratio), _) => {
                errors.push(format!("{at}.denominator: a ratio needs an object {{event, where?, property?}}"));
                None
            }
            (_, Some(_)) => {
                errors.push(format!("{at}.denominator: only a ratio has a denominator"));
                None
            }
            (_, None) => None,
        };
        if let (Some(key), Some(kind), Some(role), Some(events)) = (key, kind, role, side) {
            metrics.push(Metric { key, kind, role, events, denominator, window_ms });
        }
    }
    if errors.is_empty() && !metrics.iter().any(|m| m.role == Role::Goal) {
        errors.push(format!("{path}: at least one metric must have role goal"));
    }
    if errors.is_empty() {
        Ok(metrics)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_are_conversion_revenue_and_order_value() {
        let d = defaults();
        let keys: Vec<&str> = d.iter().map(|m| m.key.as_str()).collect();
        assert_eq!(keys, ["conversion", "revenuePerShopper", "averageOrderValue"]);
        assert_eq!(d[0].role, Role::Goal);
        assert_eq!(d[2].describe(), "revenue of purchase events over purchase events, from the first exposure on");
    }

    #[test]
    fn every_error_names_its_path() {
        let bad = json!([
            {"key": "atc", "kind": "conversion", "event": "add_to_cart", "property": "price"},
            {"key": "atc", "kind": "median", "event": "page_vieww", "where": {"bad name": "x", "sku": 3}},
            {"key": "ctr", "kind": "ratio", "event": "offer_click", "windowHours": -1},
            {"key": "x", "kind": "mean", "event": "experiment_exposure", "denominator": {}, "colour": 1},
        ]);
        let errors = parse(&bad, "experiments[0].metrics").unwrap_err();
        let expected = [
            "experiments[0].metrics[0].property: a conversion counts shoppers",
            "experiments[0].metrics[1].key: \"atc\" is used by an earlier metric",
            "experiments[0].metrics[1].kind: expected one of conversion, mean, ratio",
            "experiments[0].metrics[1].event: \"page_vieww\" is not a standard event type",
            "experiments[0].metrics[1].where.bad name: a property name",
            "experiments[0].metrics[1].where.sku: expected a string",
            "experiments[0].metrics[2].windowHours: expected a number of hours",
            "experiments[0].metrics[2].denominator: a ratio needs an object",
            "experiments[0].metrics[3].colour: unknown field",
            "experiments[0].metrics[3].event: experiment_exposure is what metrics are measured from",
            "experiments[0].metrics[3].denominator: only a ratio has a denominator",
        ];
        for e in expected {
            assert!(errors.iter().any(|x| x.starts_with(e)), "missing {e:?} in {errors:#?}");
        }
        assert_eq!(errors.len(), expected.len(), "{errors:#?}");
        let no_goal = json!([{"key": "a", "kind": "mean", "event": "search", "role": "guardrail"}]);
        assert_eq!(parse(&no_goal, "m").unwrap_err(), ["m: at least one metric must have role goal"]);
        assert!(parse(&json!([]), "m").is_err());
    }

    #[test]
    fn a_ruleset_experiment_lists_its_own() {
        let ruleset = json!({"experiments": [{"key": "hero", "metrics": [
            {"key": "atc", "kind": "conversion", "event": "add_to_cart", "where": {"category": "shoes"}, "windowHours": 48}
        ]}, {"key": "other"}]});
        let m = for_experiment(Some(&ruleset), "hero");
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].window_ms, Some(48 * 3_600_000));
        assert_eq!(
            m[0].describe(),
            "shoppers with add_to_cart events with category = \"shoes\", from the first exposure on within 48 hours"
        );
        assert_eq!(for_experiment(Some(&ruleset), "other"), defaults());
        assert!(validate_ruleset(&ruleset).is_empty());
    }
}
