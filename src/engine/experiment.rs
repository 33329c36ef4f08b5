//! Running one experiment for one shopper: forced variations, holdouts, audiences, sticky
//! assignments, namespaces, coverage and weights, in GrowthBook's order.
//!
//! Order: URL targeting (`urlPatterns` against `context.url`; a page the experiment does
//! not target is never in it, even when a variation is forced, so page changes written for
//! one page never reach another) → forced (URL/QA; bypasses everything else, even
//! `active: false`, as GrowthBook's URL overrides do) → inactive → global holdout →
//! audiences and condition → sticky assignment (kept while the bucket version matches,
//! whatever the weights, coverage or hash attribute say now) → hash attribute (with
//! fallback) → namespace → experiment holdout → bucket in the variations' ranges.

use super::hash::{choose_variation, gb_hash, in_namespace, murmur_bucket};
use super::js;
use super::json::{Map, Value};
use super::ruleset::{HashVersion, Ruleset};

/// Variations forced by the URL parameter `tailor_force` or QA settings.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ForcedVariations(pub Vec<(String, usize)>);

impl ForcedVariations {
    pub fn get(&self, key: &str) -> Option<usize> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    /// Parses the value of `tailor_force`: `expKey:variationIndex,...`, percent-encoded or
    /// not. Malformed entries are ignored.
    pub fn parse(param: &str) -> ForcedVariations {
        let decoded = percent_decode(param);
        let mut out = Vec::new();
        for entry in decoded.split(',') {
            let Some((k, v)) = entry.trim().rsplit_once(':') else {
                continue;
            };
            let k = k.trim();
            if k.is_empty() || v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            if let Some(i) = crate::engine::json::parse_digits(v) {
                out.push((k.to_string(), i));
            }
        }
        ForcedVariations(out)
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (b[i], b.get(i + 1).and_then(|c| hex(*c)), b.get(i + 2).and_then(|c| hex(*c))) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A sticky assignment as stored in `profile.experiments["<key>"]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sticky {
    pub variation: usize,
    pub bucket_version: u32,
}

impl Sticky {
    pub fn read(attributes: &Value, key: &str) -> Option<Sticky> {
        let s = attributes.get("profile")?.get("experiments")?.get(key)?;
        let v = s.get("variation")?.as_f64()?;
        let b = s.get("bucketVersion").and_then(Value::as_f64).unwrap_or(0.0);
        if v < 0.0 || v.fract() != 0.0 || b < 0.0 || b.fract() != 0.0 {
            return None;
        }
        Some(Sticky { variation: v as usize, bucket_version: b as u32 })
    }

    pub fn to_value(self) -> Value {
        let mut m = Map::new();
        m.insert("variation", Value::Number(self.variation as f64));
        m.insert("bucketVersion", Value::Number(self.bucket_version as f64));
        Value::Object(m)
    }
}

/// Why a shopper is (or is not) in an experiment's variation.
#[derive(Clone, Debug, PartialEq)]
pub enum ExperimentReason {
    /// The page has no `context.url` and the experiment has `urlPatterns`.
    NoPageUrl,
    /// `context.url` is not one of the pages the experiment's `urlPatterns` target.
    UrlNotTargeted,
    Inactive,
    Forced,
    GlobalHoldout,
    NotInAudience,
    ConditionFailed,
    Sticky,
    NoHashAttribute,
    NotInNamespace,
    ExperimentHoldout,
    OutsideCoverage {
        bucket: f64,
    },
    Bucketed {
        bucket: f64,
    },
}

/// The outcome for one experiment.
#[derive(Clone, Debug, PartialEq)]
pub struct ExperimentResult {
    /// Index into [`Ruleset::experiments`].
    pub experiment: usize,
    /// Whether the shopper counts in the experiment (exposures are recorded).
    pub in_experiment: bool,
    /// The variation shown: the assigned one, or 0 (control) when not in the experiment.
    pub variation: usize,
    pub hash_value: Option<String>,
    pub reason: ExperimentReason,
    /// An assignment to persist in `profile.experiments` (new or changed).
    pub persist: Option<Sticky>,
}

impl ExperimentResult {
    fn out(experiment: usize, reason: ExperimentReason) -> Self {
        ExperimentResult { experiment, in_experiment: false, variation: 0, hash_value: None, reason, persist: None }
    }

    /// The reason as a sentence for people (`reason-text`; the shopper's module writes
    /// [`ExperimentReason::code`] instead).
    #[cfg(feature = "reason-text")]
    pub fn reason_text(&self, rs: &Ruleset) -> String {
        let Some(x) = rs.experiments.get(self.experiment) else {
            return String::new();
        };
        let vkey = x.variations.get(self.variation).map_or("?", |v| v.key.as_str());
        match &self.reason {
            ExperimentReason::NoPageUrl => {
                "no page URL (context.url) to match the experiment's urlPatterns: not on this page".into()
            }
            ExperimentReason::UrlNotTargeted => {
                "the page URL does not match the experiment's urlPatterns: not on this page".into()
            }
            ExperimentReason::Inactive => "experiment is inactive: control shown, not counted".into(),
            ExperimentReason::Forced => {
                format!("variation {} ({vkey}) forced by tailor_force or QA settings: not counted", self.variation)
            }
            ExperimentReason::GlobalHoldout => "shopper is in the global holdout: control shown, not counted".into(),
            ExperimentReason::NotInAudience => "shopper is not in the experiment's audience".into(),
            ExperimentReason::ConditionFailed => "the experiment's condition does not match".into(),
            ExperimentReason::Sticky => format!(
                "sticky assignment to variation {} ({vkey}) kept (bucket version {})",
                self.variation, x.bucket_version
            ),
            ExperimentReason::NoHashAttribute => {
                format!("no value for hash attribute \"{}\" or its fallback", x.hash_attribute)
            }
            ExperimentReason::NotInNamespace => {
                let ns = x.namespace.as_ref();
                format!(
                    "outside namespace \"{}\" range [{}, {})",
                    ns.map_or("", |n| n.id.as_str()),
                    js::number_to_string(ns.map_or(0.0, |n| n.start)),
                    js::number_to_string(ns.map_or(0.0, |n| n.end))
                )
            }
            ExperimentReason::ExperimentHoldout => {
                format!(
                    "in the experiment's holdout ({}% of shoppers): control shown, not counted",
                    js::number_to_string(x.holdout * 100.0)
                )
            }
            ExperimentReason::OutsideCoverage { bucket } => {
                format!(
                    "bucket {} is outside the covered ranges (coverage {})",
                    js::number_to_string(*bucket),
                    js::number_to_string(x.coverage)
                )
            }
            ExperimentReason::Bucketed { bucket } => {
                let (s, e) = x.ranges.get(self.variation).copied().unwrap_or((0.0, 0.0));
                format!(
                    "bucket {} falls in variation {} ({vkey}) range [{}, {})",
                    js::number_to_string(*bucket),
                    self.variation,
                    js::number_to_string(s),
                    js::number_to_string(e)
                )
            }
        }
    }
}

/// The hash attribute's value as a string, or the fallback's; `None` when both are falsy.
pub fn hash_value(
    attributes: &Value,
    path: &super::condition::Path,
    fallback: Option<&super::condition::Path>,
) -> Option<String> {
    let v = path.get(attributes);
    if js::truthy(&v) {
        return Some(js::to_string(&v).into_owned());
    }
    let v = fallback?.get(attributes);
    js::truthy(&v).then(|| js::to_string(&v).into_owned())
}

/// The bucket in [0, 1) of `value` for `seed`.
pub fn bucket(version: HashVersion, seed: &str, value: &str) -> f64 {
    match version {
        HashVersion::V1 => gb_hash(seed, value, 1).unwrap_or(0.0),
        HashVersion::V2 => gb_hash(seed, value, 2).unwrap_or(0.0),
        HashVersion::Murmur3 => murmur_bucket(value, seed) as f64 / 10000.0,
    }
}

/// Runs experiment `ix` of `rs` for the shopper described by `attributes`.
pub fn run(
    rs: &Ruleset,
    ix: usize,
    attributes: &Value,
    forced: &ForcedVariations,
    global_holdout: bool,
) -> ExperimentResult {
    let Some(x) = rs.experiments.get(ix) else {
        return ExperimentResult::out(ix, ExperimentReason::Inactive);
    };
    let n = x.variations.len();
    if let Some(reason) = off_page(&x.url_patterns, attributes) {
        return ExperimentResult::out(ix, reason);
    }
    if let Some(v) = forced.get(&x.key).filter(|v| *v < n) {
        return ExperimentResult { variation: v, ..ExperimentResult::out(ix, ExperimentReason::Forced) };
    }
    if !x.active {
        return ExperimentResult::out(ix, ExperimentReason::Inactive);
    }
    if global_holdout {
        return ExperimentResult::out(ix, ExperimentReason::GlobalHoldout);
    }
    if !x.audiences.is_empty()
        && !x.audiences.iter().any(|a| rs.audiences.get(*a).is_some_and(|a| a.condition.eval(attributes)))
    {
        return ExperimentResult::out(ix, ExperimentReason::NotInAudience);
    }
    if x.condition.as_ref().is_some_and(|c| !c.eval(attributes)) {
        return ExperimentResult::out(ix, ExperimentReason::ConditionFailed);
    }
    let hv = hash_value(attributes, &x.hash_path, x.fallback_path.as_ref());
    if let Some(s) = Sticky::read(attributes, &x.key) {
        if s.bucket_version == x.bucket_version && s.variation < n {
            return ExperimentResult {
                in_experiment: true,
                variation: s.variation,
                hash_value: hv,
                reason: ExperimentReason::Sticky,
                persist: None,
                experiment: ix,
            };
        }
    }
    let Some(hv) = hv else {
        return ExperimentResult::out(ix, ExperimentReason::NoHashAttribute);
    };
    let mut out = ExperimentResult::out(ix, ExperimentReason::NotInNamespace);
    if let Some(ns) = &x.namespace {
        if !in_namespace(&hv, &ns.id, ns.start, ns.end) {
            out.hash_value = Some(hv);
            return out;
        }
    }
    if x.holdout > 0.0 {
        let mut seed = String::with_capacity(x.seed.len() + 8);
        seed.push_str("holdout:");
        seed.push_str(&x.seed);
        if bucket(x.hash_version, &seed, &hv) < x.holdout {
            out.reason = ExperimentReason::ExperimentHoldout;
            out.hash_value = Some(hv);
            return out;
        }
    }
    let b = bucket(x.hash_version, &x.seed, &hv);
    out.hash_value = Some(hv);
    match choose_variation(b, &x.ranges) {
        None => {
            out.reason = ExperimentReason::OutsideCoverage { bucket: b };
            out
        }
        Some(v) => {
            out.in_experiment = true;
            out.variation = v;
            out.reason = ExperimentReason::Bucketed { bucket: b };
            out.persist = Some(Sticky { variation: v, bucket_version: x.bucket_version });
            out
        }
    }
}

/// Why an experiment with `urlPatterns` does not run on the page of `attributes`
/// (`context.url`), or `None` when it does.
fn off_page(patterns: &[super::page::UrlPattern], attributes: &Value) -> Option<ExperimentReason> {
    if patterns.is_empty() {
        return None;
    }
    match attributes.get("context").and_then(|c| c.get("url")).and_then(Value::as_str) {
        None => Some(ExperimentReason::NoPageUrl),
        Some(url) if super::page::targeted(patterns, url) => None,
        Some(_) => Some(ExperimentReason::UrlNotTargeted),
    }
}

/// Whether the experiment targets the page of `attributes` by URL: it has `urlPatterns`
/// and `context.url` matches them.
pub fn targets_page(x: &super::ruleset::Experiment, attributes: &Value) -> bool {
    !x.url_patterns.is_empty() && off_page(&x.url_patterns, attributes).is_none()
}

/// Whether the shopper is in the ruleset's global holdout.
pub fn in_global_holdout(rs: &Ruleset, attributes: &Value) -> bool {
    let Some(h) = &rs.holdout else { return false };
    if h.percent <= 0.0 {
        return false;
    }
    match hash_value(attributes, &h.hash_path, h.fallback_path.as_ref()) {
        Some(v) => bucket(h.hash_version, &h.seed, &v) < h.percent,
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_force_parameter() {
        let f = ForcedVariations::parse("hero-copy:1,%20checkout%3A0,bad,x:-1,y:");
        assert_eq!(f.0, vec![("hero-copy".to_string(), 1), ("checkout".to_string(), 0)]);
        assert_eq!(f.get("checkout"), Some(0));
    }
}
