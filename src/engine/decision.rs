//! A page decision: which offers each placement shows, which variation of each experiment
//! the shopper sees, why, and what the caller should record.
//!
//! Input is one attributes object with top-level `profile`, `context`, `user` and any other
//! attributes (`id`, `anonymousId`, ...), the time `now` in ms (the engine has no clock) and
//! forced variations. Output is a [`Decision`], written as JSON by [`Decision::write_json`].

use super::experiment::{self, ExperimentReason, ExperimentResult, ForcedVariations, Sticky};
use super::json::{write_number, write_string, Map, Value};
use super::offer::{self, Skip};
use super::reason;
use super::ruleset::Ruleset;

/// The answer of `decide()` while no ruleset is loaded: no placement, no experiment, and why.
pub const EMPTY_JSON: &str = r#"{"placements":{},"experiments":[],"reasons":["no ruleset loaded yet"]}"#;

/// What to decide.
#[derive(Clone, Debug, Default)]
pub struct DecideOptions {
    /// Milliseconds since the epoch.
    pub now: f64,
    /// Placements to fill; `None` fills every placement of the ruleset.
    pub placements: Option<Vec<String>>,
    pub forced: ForcedVariations,
}

/// An offer chosen for a placement.
#[derive(Clone, Debug, PartialEq)]
pub struct ChosenOffer {
    pub offer: usize,
    /// The offer's content, with an experiment's overrides applied.
    pub content: Value,
    pub priority: f64,
    pub score: f64,
    pub rank: usize,
    /// The experiment (index) whose variation supplied the content.
    pub experiment: Option<(usize, usize)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PlacementDecision {
    pub placement: usize,
    pub offers: Vec<ChosenOffer>,
    pub candidates: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SkippedOffer {
    pub offer: usize,
    pub placement: usize,
    pub reason: Skip,
}

/// An event the caller should record.
#[derive(Clone, Debug, PartialEq)]
pub enum Exposure {
    Experiment { experiment: usize, variation: usize },
    OfferImpression { offer: usize, placement: usize, experiment: Option<(usize, usize)> },
}

pub struct Decision<'r> {
    pub ruleset: &'r Ruleset,
    pub now: f64,
    pub global_holdout: bool,
    pub placements: Vec<PlacementDecision>,
    pub skipped: Vec<SkippedOffer>,
    pub experiments: Vec<ExperimentResult>,
    pub exposures: Vec<Exposure>,
    /// Exposures that the browser records only once it has applied the page change they
    /// stand for: experiments that change the page (any variation with `changes`, `css` or
    /// `redirect`) and impressions of offers with `changes` or `css`. Never in `exposures`.
    pub page_exposures: Vec<Exposure>,
    /// New or changed sticky assignments, to persist in `profile.experiments`.
    pub sticky: Vec<(usize, Sticky)>,
}

impl Ruleset {
    /// Decides the page for the shopper described by `attributes`.
    pub fn decide(&self, attributes: &Value, options: &DecideOptions) -> Decision<'_> {
        decide_in(self, attributes, options, false)
    }

    /// Decides as [`Ruleset::decide`], with only the experiments that target this page by
    /// URL (`urlPatterns` matching `context.url`); the others are left out of the decision
    /// (no entry, no exposure, no sticky assignment). For a single-page app's route change:
    /// the page changes of the new route, without deciding the rest again.
    pub fn decide_page(&self, attributes: &Value, options: &DecideOptions) -> Decision<'_> {
        decide_in(self, attributes, options, true)
    }
}

pub fn decide<'r>(rs: &'r Ruleset, attributes: &Value, options: &DecideOptions) -> Decision<'r> {
    decide_in(rs, attributes, options, false)
}

fn decide_in<'r>(rs: &'r Ruleset, attributes: &Value, options: &DecideOptions, page_only: bool) -> Decision<'r> {
    let now = options.now;
    let holdout = experiment::in_global_holdout(rs, attributes);
    let experiments: Vec<ExperimentResult> = (0..rs.experiments.len())
        .filter(|i| !page_only || experiment::targets_page(&rs.experiments[*i], attributes))
        .map(|i| experiment::run(rs, i, attributes, &options.forced, holdout))
        .collect();
    let counted = |x: usize| {
        experiments
            .get(x)
            .filter(|r| r.experiment == x)
            .or_else(|| experiments.iter().find(|r| r.experiment == x))
            .is_some_and(|r| r.in_experiment)
    };

    // Content overrides from the variations shown: offer index → (experiment, variation).
    // The first experiment that touches an offer wins.
    let mut touched: Vec<Option<(usize, usize)>> = vec![None; rs.offers.len()];
    for r in &experiments {
        let Some(x) = rs.experiments.get(r.experiment) else {
            continue;
        };
        for v in &x.variations {
            for (o, _) in &v.offers {
                if let Some(slot) = touched.get_mut(*o) {
                    if slot.is_none() {
                        *slot = Some((r.experiment, r.variation));
                    }
                }
            }
        }
    }

    let wanted: Vec<usize> = match &options.placements {
        None => (0..rs.placements.len()).collect(),
        Some(list) => list.iter().filter_map(|p| rs.placement_index(p)).collect(),
    };
    // Each offer is checked once, however many placements it appears in.
    let mut checked: Vec<Option<Result<f64, Skip>>> = vec![None; rs.offers.len()];
    let mut chosen_where: Vec<Option<usize>> = vec![None; rs.offers.len()];
    let mut placements = Vec::with_capacity(wanted.len());
    let mut skipped = Vec::new();
    let mut exposures = Vec::new();
    let mut page_exposures = Vec::new();
    let mut candidates: Vec<(usize, f64)> = Vec::new();
    let mut cx = offer::Ctx::new(rs, attributes, now, holdout);
    for &p in &wanted {
        candidates.clear();
        for (i, o) in rs.offers.iter().enumerate() {
            if !o.placements.contains(&p) {
                continue;
            }
            let result = checked[i].get_or_insert_with(|| offer::check(rs, i, &mut cx));
            match result {
                Ok(score) => candidates.push((i, *score)),
                Err(skip) => skipped.push(SkippedOffer { offer: i, placement: p, reason: skip.clone() }),
            }
        }
        crate::engine::sort::sort_by(&mut candidates, |a, b| {
            let (pa, pb) = (rs.offers[a.0].priority, rs.offers[b.0].priority);
            pb.total_cmp(&pa).then(b.1.total_cmp(&a.1)).then(a.0.cmp(&b.0))
        });
        let limit = rs.placements.get(p).map_or(1, |pl| pl.limit);
        let mut offers = Vec::new();
        for (rank, &(i, score)) in candidates.iter().enumerate() {
            if let Some(elsewhere) = chosen_where[i] {
                skipped.push(SkippedOffer {
                    offer: i,
                    placement: p,
                    reason: Skip::ShownElsewhere { placement: elsewhere },
                });
                continue;
            }
            let o = &rs.offers[i];
            if let Some(&by) = o.excludes.iter().find(|j| chosen_where.get(**j).is_some_and(Option::is_some)) {
                skipped.push(SkippedOffer { offer: i, placement: p, reason: Skip::Excluded { by } });
                continue;
            }
            if offers.len() >= limit {
                skipped.push(SkippedOffer { offer: i, placement: p, reason: Skip::LimitReached { limit } });
                continue;
            }
            let via = touched[i];
            let content = match via.and_then(|(x, v)| rs.experiments[x].variations.get(v)) {
                Some(var) => match var.offers.iter().find(|(oi, _)| *oi == i) {
                    Some((_, over)) => merge(&o.content, over),
                    None => o.content.clone(),
                },
                None => o.content.clone(),
            };
            // The URL rule again, on the content the page receives (validation already
            // refused such rulesets; this keeps any page code using decide() safe).
            if let Some((field, why)) = offer::unsafe_url_field(&content) {
                let reason = Skip::UnsafeUrl { field: field.into(), why };
                skipped.push(SkippedOffer { offer: i, placement: p, reason });
                continue;
            }
            chosen_where[i] = Some(p);
            // Attribute the impression to the experiment only when the shopper counts in it.
            let experiment = via.filter(|(x, _)| counted(*x));
            let impression = Exposure::OfferImpression { offer: i, placement: p, experiment };
            if o.page.is_empty() {
                exposures.push(impression);
            } else {
                page_exposures.push(impression);
            }
            offers.push(ChosenOffer {
                offer: i,
                content,
                priority: o.priority,
                score,
                rank: rank + 1,
                experiment: via,
            });
        }
        placements.push(PlacementDecision { placement: p, offers, candidates: candidates.len() });
    }

    // Experiments that swap offer content are exposed when one of their offers is shown;
    // the others whenever the shopper counts in them.
    let mut exp_exposures = Vec::new();
    let mut exp_page = Vec::new();
    for r in experiments.iter().filter(|r| r.in_experiment) {
        let x = &rs.experiments[r.experiment];
        let exposed = !x.touches_offers()
            || x.variations
                .iter()
                .any(|v| v.offers.iter().any(|(o, _)| chosen_where.get(*o).is_some_and(Option::is_some)));
        let exposure = Exposure::Experiment { experiment: r.experiment, variation: r.variation };
        if x.changes_page() {
            exp_page.push(exposure);
        } else if exposed {
            exp_exposures.push(exposure);
        }
    }
    exp_exposures.append(&mut exposures);
    exp_page.append(&mut page_exposures);
    let sticky = experiments.iter().filter_map(|r| r.persist.map(|s| (r.experiment, s))).collect();
    Decision {
        ruleset: rs,
        now,
        global_holdout: holdout,
        placements,
        skipped,
        experiments,
        exposures: exp_exposures,
        page_exposures: exp_page,
        sticky,
    }
}

/// Writes why a chosen offer is shown: its rank, priority and score within its placement,
/// and the experiment that supplied its content (see `reason.rs`). The code,
/// `{"code": "chosen", "candidates", "limit"}`, leaves out what the entry has already.
fn chosen_reason(rs: &Ruleset, p: &PlacementDecision, c: &ChosenOffer, limit: usize, out: &mut String) {
    #[cfg(feature = "reason-text")]
    {
        let mut s = String::with_capacity(120);
        s.push_str("eligible; ranked ");
        write_number(c.rank as f64, &mut s);
        s.push_str(" of ");
        write_number(p.candidates as f64, &mut s);
        s.push_str(" in \"");
        s.push_str(rs.placements.get(p.placement).map_or("", |pl| pl.id.as_str()));
        s.push_str("\" (priority ");
        s.push_str(&super::js::number_to_string(c.priority));
        s.push_str(", score ");
        s.push_str(&super::js::number_to_string(c.score));
        s.push_str("), within the limit of ");
        write_number(limit as f64, &mut s);
        if let Some((x, v)) = c.experiment {
            s.push_str("; content from experiment \"");
            s.push_str(rs.experiments.get(x).map_or("", |e| e.key.as_str()));
            s.push_str("\" variation ");
            write_number(v as f64, &mut s);
        }
        write_string(&s, out);
    }
    #[cfg(not(feature = "reason-text"))]
    {
        let _ = (rs, c);
        chosen_code(p, limit, out);
    }
}

/// Writes the code object of why an offer is chosen: `{"code": "chosen", "candidates",
/// "limit"}` (the offers eligible in the placement, and its limit).
pub fn chosen_code(p: &PlacementDecision, limit: usize, out: &mut String) {
    let mut o = Obj::open(out);
    o.str("code", "chosen");
    o.num("candidates", p.candidates as f64);
    o.num("limit", limit as f64);
    o.close();
}

/// `base` with `over`'s fields replaced (a `null` removes the field).
fn merge(base: &Value, over: &Map) -> Value {
    let mut m = base.as_object().cloned().unwrap_or_default();
    for (k, v) in over.iter() {
        if v.is_null() {
            m.remove(k);
        } else {
            m.insert(k, v.clone());
        }
    }
    Value::Object(m)
}

/// Writes a JSON object's members: `"key":` with the comma before every member but the first.
struct Obj<'o> {
    out: &'o mut String,
    first: bool,
}

impl<'o> Obj<'o> {
    fn open(out: &'o mut String) -> Self {
        out.push('{');
        Obj { out, first: true }
    }

    /// Starts member `key` and answers where its value goes.
    fn key(&mut self, key: &str) -> &mut String {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        write_string(key, self.out);
        self.out.push(':');
        self.out
    }

    fn str(&mut self, key: &str, value: &str) {
        write_string(value, self.key(key));
    }

    fn num(&mut self, key: &str, value: f64) {
        write_number(value, self.key(key));
    }

    fn bool(&mut self, key: &str, value: bool) {
        self.key(key).push_str(if value { "true" } else { "false" });
    }

    /// Page changes (`changes`, `css`, `redirect`), after at least one member.
    fn page(&mut self, page: &super::page::PageChanges) {
        page.write_json(self.out);
    }

    fn close(self) {
        self.out.push('}');
    }
}

/// Writes `[item, item, ...]`, each item by `write`.
fn array<T>(out: &mut String, items: impl IntoIterator<Item = T>, mut write: impl FnMut(&mut String, T)) {
    out.push('[');
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write(out, item);
    }
    out.push(']');
}

impl Decision<'_> {
    /// The decision as JSON (camelCase keys), with a reason for every offer chosen or
    /// skipped and every experiment.
    pub fn to_value(&self) -> Value {
        self.to_value_with(true)
    }

    /// [`Decision::to_json_with`] as a [`Value`], for callers that add to the answer.
    pub fn to_value_with(&self, reasons: bool) -> Value {
        Value::parse(&self.to_json_with(reasons)).unwrap_or_default()
    }

    /// The decision as JSON text (see [`Decision::write_json`]).
    pub fn to_json_with(&self, reasons: bool) -> String {
        let mut out = String::with_capacity(4096);
        self.write_json(reasons, &mut out);
        out
    }

    /// Writes the decision as JSON (camelCase keys), straight from the decision: with
    /// `reasons`, a reason for every offer chosen or skipped and every experiment; without
    /// (`reasons: false`), the same answer without what only explains it: no `reason` of an
    /// offer or experiment and no `skipped` list per placement. Every choice, variation,
    /// sticky assignment and exposure is the same. Reasons are kept as enums ([`Skip`],
    /// [`ExperimentReason`]) until this writes them: code objects in the shopper's module,
    /// sentences with the `reason-text` feature (`engine::reason`).
    pub fn write_json(&self, reasons: bool, out: &mut String) {
        let rs = self.ruleset;
        let offer_id = |i: usize| rs.offers.get(i).map_or("", |o| o.id.as_str());
        let placement_id = |i: usize| rs.placements.get(i).map_or("", |p| p.id.as_str());
        let exp_key = |i: usize| rs.experiments.get(i).map_or("", |x| x.key.as_str());
        let mut o = Obj::open(out);
        o.num("now", self.now);
        if let Some(id) = &rs.id {
            o.str("rulesetId", id);
        }
        o.bool("globalHoldout", self.global_holdout);
        // One member per placement, in the order first asked for; a placement asked for
        // twice answers with its last decision (the offers chosen the first time are then
        // skipped as shown elsewhere).
        let mut placements = Obj::open(o.key("placements"));
        for (k, first) in self.placements.iter().enumerate() {
            if self.placements[..k].iter().any(|q| q.placement == first.placement) {
                continue;
            }
            let p = self.placements.iter().rev().find(|q| q.placement == first.placement).unwrap_or(first);
            let limit = rs.placements.get(p.placement).map_or(0, |pl| pl.limit);
            let mut pm = Obj::open(placements.key(placement_id(p.placement)));
            array(pm.key("offers"), &p.offers, |out, c| {
                let mut m = Obj::open(out);
                m.str("offerId", offer_id(c.offer));
                c.content.write_json(m.key("content"));
                m.num("priority", c.priority);
                m.num("score", c.score);
                m.num("rank", c.rank as f64);
                if let Some((x, v)) = c.experiment {
                    m.str("experimentKey", exp_key(x));
                    m.num("variation", v as f64);
                }
                if reasons {
                    chosen_reason(rs, p, c, limit, m.key("reason"));
                }
                if let Some(offer) = rs.offers.get(c.offer) {
                    m.page(&offer.page);
                }
                m.close();
            });
            if reasons {
                let skipped = self.skipped.iter().filter(|s| s.placement == p.placement);
                array(pm.key("skipped"), skipped, |out, s| {
                    let mut m = Obj::open(out);
                    m.str("offerId", offer_id(s.offer));
                    reason::skipped(rs, &s.reason, m.key("reason"));
                    m.close();
                });
            }
            pm.close();
        }
        placements.close();
        array(o.key("experiments"), &self.experiments, |out, r| {
            let x = &rs.experiments[r.experiment];
            let mut m = Obj::open(out);
            m.str("key", exp_key(r.experiment));
            m.bool("inExperiment", r.in_experiment);
            m.num("variation", r.variation as f64);
            if let Some(v) = x.variations.get(r.variation) {
                m.str("variationKey", &v.key);
                // The URL rule again before the value reaches the page.
                match offer::unsafe_url_in(&v.value) {
                    None => v.value.write_json(m.key("value")),
                    Some(why) => {
                        m.str("valueRemoved", why);
                        m.key("value").push_str("null");
                    }
                }
            }
            m.str("hashAttribute", &x.hash_attribute);
            match r.hash_value.as_deref() {
                Some(h) => m.str("hashValue", h),
                None => m.key("hashValue").push_str("null"),
            }
            if reasons {
                reason::experiment(rs, r, m.key("reason"));
            }
            let on_page = !matches!(r.reason, ExperimentReason::NoPageUrl | ExperimentReason::UrlNotTargeted);
            if let Some(v) = x.variations.get(r.variation).filter(|_| on_page) {
                m.page(&v.page);
            }
            m.close();
        });
        array(o.key("stickyAssignments"), &self.sticky, |out, (x, s)| {
            let mut m = Obj::open(out);
            m.str("experimentKey", exp_key(*x));
            m.num("variation", s.variation as f64);
            m.num("bucketVersion", s.bucket_version as f64);
            m.close();
        });
        let exposure = |m: &mut Obj<'_>, e: &Exposure| match e {
            Exposure::Experiment { experiment, variation } => {
                m.str("type", "experiment_exposure");
                m.str("experimentKey", exp_key(*experiment));
                m.num("variation", *variation as f64);
            }
            Exposure::OfferImpression { offer, placement, experiment } => {
                m.str("type", "offer_impression");
                m.str("offerId", offer_id(*offer));
                m.str("placement", placement_id(*placement));
                if let Some((x, v)) = experiment {
                    m.str("experimentKey", exp_key(*x));
                    m.num("variation", *v as f64);
                }
            }
        };
        array(o.key("exposures"), &self.exposures, |out, e| {
            let mut m = Obj::open(out);
            exposure(&mut m, e);
            m.close();
        });
        // Page exposures name the elements the experiment changes, so the browser can count
        // a variation without changes (the control) once those elements are on the page.
        array(o.key("pageExposures"), &self.page_exposures, |out, e| {
            let mut m = Obj::open(out);
            exposure(&mut m, e);
            let mut selectors = Vec::new();
            let known = match e {
                Exposure::Experiment { experiment, .. } => rs.experiments.get(*experiment).map(|x| {
                    for var in &x.variations {
                        var.page.selectors(&mut selectors);
                    }
                }),
                Exposure::OfferImpression { offer, .. } => {
                    rs.offers.get(*offer).map(|o| o.page.selectors(&mut selectors))
                }
            };
            if known.is_some() {
                array(m.key("selectors"), &selectors, |out, s| write_string(s, out));
            }
            m.close();
        });
        o.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::regex::NativeRegex;

    /// What `write` writes, parsed.
    fn written(write: impl FnOnce(&mut String)) -> Value {
        let mut out = String::new();
        write(&mut out);
        Value::parse(&out).unwrap()
    }

    /// The decision's JSON as it was built before [`Decision::write_json`]: a [`Value`] tree,
    /// member by member. The oracle the writer is compared with.
    fn tree(d: &Decision<'_>, reasons: bool) -> Value {
        let rs = d.ruleset;
        let num = Value::Number;
        let page = |p: &crate::engine::page::PageChanges, m: &mut Map| {
            if let Some(c) = &p.changes {
                m.insert("changes", c.clone());
            }
            if let Some(css) = &p.css {
                m.insert("css", Value::from(css.as_str()));
            }
            if let Some(r) = &p.redirect {
                let mut rm = Map::new();
                rm.insert("url", Value::from(r.url.as_str()));
                rm.insert("keepQuery", Value::Bool(r.keep_query));
                m.insert("redirect", Value::Object(rm));
            }
        };
        let offer_id = |i: usize| Value::from(rs.offers.get(i).map_or("", |o| o.id.as_str()));
        let placement_id = |i: usize| Value::from(rs.placements.get(i).map_or("", |p| p.id.as_str()));
        let exp_key = |i: usize| Value::from(rs.experiments.get(i).map_or("", |x| x.key.as_str()));
        let mut out = Map::new();
        out.insert("now", num(d.now));
        if let Some(id) = &rs.id {
            out.insert("rulesetId", Value::from(id.as_str()));
        }
        out.insert("globalHoldout", Value::Bool(d.global_holdout));
        let mut placements = Map::new();
        for p in &d.placements {
            let limit = rs.placements.get(p.placement).map_or(0, |pl| pl.limit);
            let offers: Vec<Value> = p
                .offers
                .iter()
                .map(|c| {
                    let mut m = Map::new();
                    m.insert("offerId", offer_id(c.offer));
                    m.insert("content", c.content.clone());
                    m.insert("priority", num(c.priority));
                    m.insert("score", num(c.score));
                    m.insert("rank", num(c.rank as f64));
                    if let Some((x, v)) = c.experiment {
                        m.insert("experimentKey", exp_key(x));
                        m.insert("variation", num(v as f64));
                    }
                    if reasons {
                        m.insert("reason", written(|out| chosen_reason(rs, p, c, limit, out)));
                    }
                    if let Some(o) = rs.offers.get(c.offer) {
                        page(&o.page, &mut m);
                    }
                    Value::Object(m)
                })
                .collect();
            let mut pm = Map::new();
            pm.insert("offers", Value::Array(offers));
            if reasons {
                let skipped: Vec<Value> = d
                    .skipped
                    .iter()
                    .filter(|s| s.placement == p.placement)
                    .map(|s| {
                        let mut m = Map::new();
                        m.insert("offerId", offer_id(s.offer));
                        m.insert("reason", written(|out| reason::skipped(rs, &s.reason, out)));
                        Value::Object(m)
                    })
                    .collect();
                pm.insert("skipped", Value::Array(skipped));
            }
            placements.insert(rs.placements.get(p.placement).map_or("", |pl| pl.id.as_str()), Value::Object(pm));
        }
        out.insert("placements", Value::Object(placements));
        let experiments: Vec<Value> = d
            .experiments
            .iter()
            .map(|r| {
                let x = &rs.experiments[r.experiment];
                let mut m = Map::new();
                m.insert("key", exp_key(r.experiment));
                m.insert("inExperiment", Value::Bool(r.in_experiment));
                m.insert("variation", num(r.variation as f64));
                if let Some(v) = x.variations.get(r.variation) {
                    m.insert("variationKey", Value::from(v.key.as_str()));
                    match offer::unsafe_url_in(&v.value) {
                        None => m.insert("value", v.value.clone()),
                        Some(why) => {
                            m.insert("valueRemoved", Value::from(why));
                            m.insert("value", Value::Null)
                        }
                    }
                }
                m.insert("hashAttribute", Value::from(x.hash_attribute.as_str()));
                m.insert("hashValue", r.hash_value.as_deref().map_or(Value::Null, Value::from));
                if reasons {
                    m.insert("reason", written(|out| reason::experiment(rs, r, out)));
                }
                let on_page = !matches!(r.reason, ExperimentReason::NoPageUrl | ExperimentReason::UrlNotTargeted);
                if let Some(v) = x.variations.get(r.variation).filter(|_| on_page) {
                    page(&v.page, &mut m);
                }
                Value::Object(m)
            })
            .collect();
        out.insert("experiments", Value::Array(experiments));
        let sticky: Vec<Value> = d
            .sticky
            .iter()
            .map(|(x, s)| {
                let mut m = Map::new();
                m.insert("experimentKey", exp_key(*x));
                m.insert("variation", num(s.variation as f64));
                m.insert("bucketVersion", num(s.bucket_version as f64));
                Value::Object(m)
            })
            .collect();
        out.insert("stickyAssignments", Value::Array(sticky));
        let exposure = |e: &Exposure| {
            let mut m = Map::new();
            match e {
                Exposure::Experiment { experiment, variation } => {
                    m.insert("type", Value::from("experiment_exposure"));
                    m.insert("experimentKey", exp_key(*experiment));
                    m.insert("variation", num(*variation as f64));
                }
                Exposure::OfferImpression { offer, placement, experiment } => {
                    m.insert("type", Value::from("offer_impression"));
                    m.insert("offerId", offer_id(*offer));
                    m.insert("placement", placement_id(*placement));
                    if let Some((x, v)) = experiment {
                        m.insert("experimentKey", exp_key(*x));
                        m.insert("variation", num(*v as f64));
                    }
                }
            }
            Value::Object(m)
        };
        out.insert("exposures", Value::Array(d.exposures.iter().map(exposure).collect()));
        let page_exposures = d.page_exposures.iter().map(|e| {
            let mut v = exposure(e);
            let selectors = match e {
                Exposure::Experiment { experiment, .. } => rs.experiments.get(*experiment).map(|x| {
                    let mut selectors = Vec::new();
                    for var in &x.variations {
                        var.page.selectors(&mut selectors);
                    }
                    selectors
                }),
                Exposure::OfferImpression { offer, .. } => rs.offers.get(*offer).map(|o| {
                    let mut selectors = Vec::new();
                    o.page.selectors(&mut selectors);
                    selectors
                }),
            };
            if let (Some(m), Some(selectors)) = (v.as_object_mut(), selectors) {
                m.insert("selectors", Value::Array(selectors.into_iter().map(Value::from).collect()));
            }
            v
        });
        out.insert("pageExposures", Value::Array(page_exposures.collect()));
        Value::Object(out)
    }

    /// The writer's text, parsed, equals the oracle's tree, with and without reasons; and
    /// the text is the tree's own JSON text, byte for byte.
    fn same_as_tree(d: &Decision<'_>, name: &str) -> usize {
        for reasons in [true, false] {
            let text = d.to_json_with(reasons);
            let want = tree(d, reasons);
            assert_eq!(Value::parse(&text).as_ref(), Ok(&want), "{name} (reasons: {reasons}): {text}");
            assert_eq!(text, want.to_json(), "{name} (reasons: {reasons})");
        }
        1
    }

    fn vectors(name: &str) -> Value {
        let path = String::from(env!("CARGO_MANIFEST_DIR")) + "/tests/vectors/" + name;
        Value::parse(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))).unwrap()
    }

    fn list<'v>(v: &'v Value, key: &str) -> &'v [Value] {
        v.get(key).and_then(Value::as_array).map_or(&[], Vec::as_slice)
    }

    #[test]
    fn the_written_json_is_the_tree_of_the_vectors_decisions() {
        let mut checked = 0;
        for suite in vectors("offers.json").as_array().unwrap() {
            let rs = Ruleset::compile(suite.get("ruleset").unwrap(), &NativeRegex).unwrap();
            for c in list(suite, "cases") {
                let placements = c
                    .get("placements")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).map(String::from).collect::<Vec<_>>());
                let options = DecideOptions {
                    now: c.get("now").and_then(Value::as_f64).unwrap_or(0.0),
                    placements,
                    forced: ForcedVariations::parse(c.get("force").and_then(Value::as_str).unwrap_or("")),
                };
                let name = c.get("name").and_then(Value::as_str).unwrap_or("?");
                checked += same_as_tree(&rs.decide(c.get("attributes").unwrap(), &options), name);
            }
        }
        for c in vectors("experiments.json").as_array().unwrap() {
            let mut doc = Map::new();
            doc.insert("version", Value::Number(1.0));
            doc.insert("placements", Value::Object(Map::new()));
            doc.insert("experiments", Value::Array(vec![c.get("experiment").unwrap().clone()]));
            if let Some(groups) = c.get("savedGroups") {
                doc.insert("savedGroups", groups.clone());
            }
            let rs = Ruleset::compile(&Value::Object(doc), &NativeRegex).unwrap();
            let forced = ForcedVariations::parse(c.get("force").and_then(Value::as_str).unwrap_or(""));
            let options = DecideOptions { forced, ..DecideOptions::default() };
            let name = c.get("name").and_then(Value::as_str).unwrap_or("?");
            checked += same_as_tree(&rs.decide(c.get("attributes").unwrap(), &options), name);
        }
        assert!(checked > 80, "{checked} decisions compared");
    }

    #[test]
    fn the_written_json_is_the_tree_with_page_changes_escapes_and_a_placement_asked_twice() {
        let rs = Ruleset::parse(
            r##"{"version": 1, "id": "r\"1", "placements": {"hero": {"limit": 1}, "side \"b\"": {"limit": 2}},
                "offers": [
                  {"id": "a\u00e9", "placements": ["hero", "side \"b\""], "priority": 2, "content": {"title": "A\n"},
                   "changes": [{"selector": "#a", "action": "text", "value": "x"}], "css": "#a { color: red }"},
                  {"id": "b", "placements": ["hero", "side \"b\""], "priority": 1.5, "content": {"title": "B"},
                   "excludes": ["a\u00e9"]},
                  {"id": "c", "placements": ["side \"b\""], "condition": {"user.plan": "gold"}, "content": {"title": "C", "t": 1}},
                  {"id": "d", "placements": ["side \"b\""], "window": {"start": 5000}, "content": {"title": "D"}}],
                "experiments": [
                  {"key": "x", "variations": [{"key": "a", "value": 0}, {"key": "b", "value": {"n": 1.25},
                    "offers": {"b": {"title": "B2", "gone": null}}}]},
                  {"key": "page", "urlPatterns": [{"type": "prefix", "pattern": "/"}],
                   "variations": [{"key": "c"}, {"key": "t", "css": "h1 { x: 1 }", "changes": [{"selector": ["h1", ".t"],
                    "action": "hide"}]}]},
                  {"key": "go", "urlPatterns": [{"type": "exact", "pattern": "/p"}],
                   "variations": [{"key": "c"}, {"key": "r", "redirect": {"url": "/q", "keepQuery": true}}]}]}"##,
            &NativeRegex,
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        let mut n = 0;
        for i in 0..40 {
            let attributes = Value::parse(
                &(String::from(r#"{"id": "u"#)
                    + &i.to_string()
                    + r#"", "user": {"plan": "silver"}, "context": {"url": "https://s.example/p"}}"#),
            )
            .unwrap();
            for placements in [None, Some(vec!["hero".to_string(), "side \"b\"".to_string(), "hero".to_string()])] {
                let options = DecideOptions { now: 1.0, placements, ..DecideOptions::default() };
                n += same_as_tree(&rs.decide(&attributes, &options), "page ruleset");
            }
        }
        assert_eq!(n, 80);
    }

    /// `v` without the keys that only explain a decision.
    fn strip(v: &Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.iter()
                    .filter(|(k, _)| *k != "reason" && *k != "skipped")
                    .map(|(k, v)| (k.to_string(), strip(v)))
                    .collect(),
            ),
            Value::Array(a) => Value::Array(a.iter().map(strip).collect()),
            v => v.clone(),
        }
    }

    #[test]
    fn the_answer_without_reasons_is_the_answer_less_its_reasons() {
        let rs = Ruleset::parse(
            r#"{"version": 1, "placements": {"hero": {"limit": 1}, "side": {"limit": 2}},
                "offers": [
                  {"id": "a", "placements": ["hero", "side"], "priority": 2, "content": {"title": "A"}},
                  {"id": "b", "placements": ["hero", "side"], "priority": 1, "content": {"title": "B"}},
                  {"id": "c", "placements": ["side"], "condition": {"user.plan": "gold"}, "content": {"title": "C"}}],
                "experiments": [{"key": "x", "variations": [{"key": "a", "value": 0}, {"key": "b", "value": 1,
                  "offers": {"b": {"title": "B2"}}}]}]}"#,
            &NativeRegex,
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        let attributes = Value::parse(r#"{"id": "u1", "user": {"plan": "silver"}}"#).unwrap();
        let d = rs.decide(&attributes, &DecideOptions { now: 1.0, ..DecideOptions::default() });
        let full = d.to_value();
        assert!(full.to_json().contains("\"reason\""));
        assert!(full.to_json().contains("\"skipped\""));
        let lean = d.to_value_with(false);
        assert_eq!(lean, strip(&full));
        assert!(!lean.to_json().contains("reason"));
    }

    /// The ids of the offers chosen for `placement`.
    fn chosen(d: &Decision<'_>, placement: &str) -> Vec<String> {
        let v = d.to_value_with(false);
        let offers = v.get("placements").and_then(|p| p.get(placement)).and_then(|p| p.get("offers"));
        offers.and_then(Value::as_array).map_or(Vec::new(), |a| {
            a.iter().filter_map(|o| o.get("offerId").and_then(Value::as_str).map(String::from)).collect()
        })
    }

    #[test]
    fn a_decision_after_a_change_of_the_profile_sees_it_though_the_snapshot_is_kept() {
        use crate::engine::profile::{Attributes, Profile};
        let rs = Ruleset::parse(
            r#"{"version": 1, "placements": {"hero": {"limit": 1}},
                "offers": [{"id": "fan", "placements": ["hero"], "content": {"title": "Again?"},
                  "condition": {"profile.events.product_view.count": {"$gte": 2}}}]}"#,
            &NativeRegex,
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        let now = 1_700_000_000_000.0;
        let mut p = Profile::new("anon-1", now);
        let mut attributes = Attributes::default();
        let decide = |a: &mut Attributes, p: &Profile, at: f64| {
            let v = a.get(p, at, Value::Object(Map::new()));
            chosen(&rs.decide(v, &DecideOptions { now: at, ..Default::default() }), "hero")
        };
        let view = |p: &mut Profile, at: f64| {
            p.track("product_view", Value::parse(r#"{"sku": "s1"}"#).unwrap(), at, [1; 10], None).unwrap()
        };
        view(&mut p, now);
        assert!(decide(&mut attributes, &p, now).is_empty(), "one view");
        assert!(decide(&mut attributes, &p, now + 1.0).is_empty(), "the kept snapshot, still one view");
        // Same millisecond, so only the revision tells the kept snapshot is stale.
        view(&mut p, now + 1.0);
        assert_eq!(decide(&mut attributes, &p, now + 1.0), ["fan"], "the second view is seen at once");
        // A new shopper (forget, reset) starts again at revision 0: the ids tell them apart.
        let mut other = Profile::new("anon-2", now);
        view(&mut other, now);
        view(&mut other, now);
        let mut one = Profile::new("anon-3", now);
        view(&mut one, now);
        assert_eq!(other.revision(), p.revision());
        assert_eq!(decide(&mut attributes, &other, now + 1.0), ["fan"]);
        assert!(decide(&mut attributes, &one, now + 1.0).is_empty(), "anon-3 has one view");
    }
}
