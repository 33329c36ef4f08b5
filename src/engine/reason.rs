//! The `reason` of each entry of a decision: why an offer was chosen or skipped, why the
//! shopper sees an experiment's variation.
//!
//! In the shopper's module a reason is a compact, stable code object, `{"code": "capped",
//! "per": "day", "max": 3, "count": 3}`: pages act on codes, and the sentences would cost
//! every shopper their bytes and their time. With the `reason-text` feature (the server, the
//! CLI and the Studio) it is an English sentence for the person who reads it. docs/api.md
//! lists every code and its fields; `pkg-template/types.d.ts` declares them. (The reason of
//! a chosen offer is written with the offer, in `decision.rs`.)

use super::experiment::{ExperimentReason, ExperimentResult};
use super::json::{write_number, write_string};
use super::offer::Skip;
use super::ruleset::Ruleset;

/// Writes the reason an offer is not shown in a placement: a sentence with `reason-text`,
/// else its code ([`skipped_code`]).
pub fn skipped(rs: &Ruleset, skip: &Skip, out: &mut String) {
    #[cfg(feature = "reason-text")]
    super::json::write_string(&skip.text(rs), out);
    #[cfg(not(feature = "reason-text"))]
    skipped_code(rs, skip, out);
}

/// Writes the code object of why an offer is not shown: `{"code": "capped", "per": "day",
/// "max": 3, "count": 3}`.
pub fn skipped_code(rs: &Ruleset, skip: &Skip, out: &mut String) {
    let name = |i: usize| rs.offers.get(i).map_or("", |o| o.id.as_str());
    let mut o = Code::open(out, skip.code());
    match skip {
        Skip::NotStarted { start } => o.num("start", *start),
        Skip::Ended { end } => o.num("end", *end),
        Skip::Capped { cap, count } => {
            o.str("per", cap.per.name());
            o.num("max", f64::from(cap.max));
            o.num("count", f64::from(*count));
        }
        Skip::Clicked { max, clicks } => {
            o.num("max", f64::from(*max));
            o.num("clicks", f64::from(*clicks));
        }
        Skip::Excluded { by } => o.str("by", name(*by)),
        Skip::ShownElsewhere { placement } => {
            o.str("placement", rs.placements.get(*placement).map_or("", |p| p.id.as_str()))
        }
        Skip::LimitReached { limit } => o.num("limit", *limit as f64),
        Skip::UnsafeUrl { field, why } => {
            o.str("field", field);
            o.str("why", why);
        }
        Skip::GlobalHoldout | Skip::NotInAudience | Skip::ConditionFailed => {}
    }
    o.close();
}

/// Writes the reason the shopper sees (or is not in) an experiment's variation: a sentence
/// with `reason-text`, else its code ([`experiment_code`]).
pub fn experiment(rs: &Ruleset, r: &ExperimentResult, out: &mut String) {
    #[cfg(feature = "reason-text")]
    super::json::write_string(&r.reason_text(rs), out);
    #[cfg(not(feature = "reason-text"))]
    experiment_code(rs, r, out);
}

/// Writes the code object of an experiment's reason: `{"code": "bucketed", "bucket": 0.41,
/// "start": 0, "end": 0.5}`.
pub fn experiment_code(rs: &Ruleset, r: &ExperimentResult, out: &mut String) {
    let x = rs.experiments.get(r.experiment);
    let mut o = Code::open(out, r.reason.code());
    match (&r.reason, x) {
        (ExperimentReason::Sticky, Some(x)) => o.num("bucketVersion", f64::from(x.bucket_version)),
        (ExperimentReason::NotInNamespace, Some(x)) => {
            let ns = x.namespace.as_ref();
            o.str("namespace", ns.map_or("", |n| n.id.as_str()));
            o.num("start", ns.map_or(0.0, |n| n.start));
            o.num("end", ns.map_or(0.0, |n| n.end));
        }
        (ExperimentReason::ExperimentHoldout, Some(x)) => o.num("holdout", x.holdout),
        (ExperimentReason::OutsideCoverage { bucket }, Some(x)) => {
            o.num("bucket", *bucket);
            o.num("coverage", x.coverage);
        }
        (ExperimentReason::Bucketed { bucket }, Some(x)) => {
            let (start, end) = x.ranges.get(r.variation).copied().unwrap_or((0.0, 0.0));
            o.num("bucket", *bucket);
            o.num("start", start);
            o.num("end", end);
        }
        _ => {}
    }
    o.close();
}

impl Skip {
    /// The stable code of this reason (docs/api.md).
    pub fn code(&self) -> &'static str {
        match self {
            Skip::GlobalHoldout => "global_holdout",
            Skip::NotInAudience => "not_in_audience",
            Skip::ConditionFailed => "condition_failed",
            Skip::NotStarted { .. } => "not_started",
            Skip::Ended { .. } => "ended",
            Skip::Capped { .. } => "capped",
            Skip::Clicked { .. } => "clicked",
            Skip::Excluded { .. } => "excluded",
            Skip::ShownElsewhere { .. } => "shown_elsewhere",
            Skip::LimitReached { .. } => "limit_reached",
            Skip::UnsafeUrl { .. } => "unsafe_url",
        }
    }
}

impl ExperimentReason {
    /// The stable code of this reason (docs/api.md).
    pub fn code(&self) -> &'static str {
        match self {
            ExperimentReason::NoPageUrl => "no_page_url",
            ExperimentReason::UrlNotTargeted => "url_not_targeted",
            ExperimentReason::Inactive => "inactive",
            ExperimentReason::Forced => "forced",
            ExperimentReason::GlobalHoldout => "global_holdout",
            ExperimentReason::NotInAudience => "not_in_audience",
            ExperimentReason::ConditionFailed => "condition_failed",
            ExperimentReason::Sticky => "sticky",
            ExperimentReason::NoHashAttribute => "no_hash_attribute",
            ExperimentReason::NotInNamespace => "not_in_namespace",
            ExperimentReason::ExperimentHoldout => "experiment_holdout",
            ExperimentReason::OutsideCoverage { .. } => "outside_coverage",
            ExperimentReason::Bucketed { .. } => "bucketed",
        }
    }
}

/// A code object being written: `{"code":"...", fields...}`.
struct Code<'o>(&'o mut String);

impl<'o> Code<'o> {
    fn open(out: &'o mut String, code: &str) -> Self {
        out.push_str("{\"code\":\"");
        out.push_str(code);
        out.push('"');
        Code(out)
    }

    fn num(&mut self, key: &str, n: f64) {
        self.0.push_str(",\"");
        self.0.push_str(key);
        self.0.push_str("\":");
        write_number(n, self.0);
    }

    fn str(&mut self, key: &str, s: &str) {
        self.0.push_str(",\"");
        self.0.push_str(key);
        self.0.push_str("\":");
        write_string(s, self.0);
    }

    fn close(self) {
        self.0.push('}');
    }
}
