//! The experiment report of `GET /v1/admin/results/{site}`: per experiment, the counts of
//! each variation, the sample ratio mismatch check against the configured weights, every
//! metric of each variation against the control (variation 0) with the statistics of
//! [`crate::stats`], Holm's correction over all of an experiment's comparisons, the same
//! comparisons day by day over the shoppers exposed so far (the timeline), and plain words
//! saying what to do, naming the variations by their keys in the ruleset.

use serde_json::{json, Value};

use crate::metrics::{MetricKind, Role};
use crate::stats::{
    compare, compare_estimates, cuped, holm, mean_interval, srm, wilson, Comparison, Kind, Paired, Ratio, Sample, Test,
    ALPHA, SRM_THRESHOLD,
};
use crate::store::{MetricData, MetricSums, VariantResult, DAY_MS};

fn pair(p: (f64, f64)) -> Value {
    json!([p.0, p.1])
}

/// The weights of `experiment` in the site's published ruleset (the `ruleset` of the
/// envelope), equal when it gives none; `None` when the ruleset does not have it.
pub fn configured_weights(ruleset: Option<&Value>, experiment: &str) -> Option<Vec<f64>> {
    let e = ruleset?["experiments"].as_array()?.iter().find(|e| e["key"] == experiment)?;
    let n = e["variations"].as_array()?.len();
    match e["weights"].as_array() {
        Some(w) if w.len() == n => w.iter().map(Value::as_f64).collect(),
        _ => Some(vec![1.0 / n as f64; n]),
    }
}

/// The keys of `experiment`'s variations in the site's published ruleset, by index (`None`
/// where a variation has no key); empty when the ruleset does not have the experiment.
pub fn variation_keys(ruleset: Option<&Value>, experiment: &str) -> Vec<Option<String>> {
    let found = ruleset.and_then(|r| r["experiments"].as_array()?.iter().find(|e| e["key"] == experiment));
    found
        .and_then(|e| e["variations"].as_array())
        .map(|list| list.iter().map(|v| v["key"].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// How the report names variation `i`: `"key"` from the ruleset, else `variation i`.
fn label(keys: &[Option<String>], i: usize) -> String {
    match keys.get(i).and_then(Option::as_deref) {
        Some(k) => format!("\u{201c}{k}\u{201d}"),
        None => format!("variation {i}"),
    }
}

/// `YYYY-MM-DD` of a day counted from the Unix epoch (the proleptic Gregorian calendar).
pub fn date(day: i64) -> String {
    // Howard Hinnant's days-to-civil algorithm.
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn percent(x: f64) -> String {
    format!("{:+.1}%", x * 100.0)
}

fn y(s: &MetricSums) -> Sample {
    Sample { n: s.n as u64, sum: s.sum_y, sum_sq: s.sum_y_sq }
}

fn ratio(s: &MetricSums) -> Ratio {
    Ratio { numerator: y(s), den_sum: s.sum_d, den_sum_sq: s.sum_d_sq, cross: s.sum_yd }
}

/// A variation's value of a metric with its 95% interval (`None` when it has none yet).
fn value(kind: MetricKind, s: &MetricSums) -> Option<(f64, (f64, f64))> {
    if s.n == 0 {
        return None;
    }
    match kind {
        MetricKind::Conversion => Some((s.sum_y / s.n as f64, wilson(s.n as u64, s.sum_y as u64, ALPHA))),
        MetricKind::Mean => Some((y(s).mean(), mean_interval(&y(s), ALPHA))),
        MetricKind::Ratio => ratio(s).estimate().map(|(r, v)| {
            let h = 1.959963984540054 * v.sqrt();
            (r, (r - h, r + h))
        }),
    }
}

/// The fixed-horizon, sequential and Bayesian comparison of variation `t` with the control.
fn comparison(kind: MetricKind, c: &MetricSums, t: &MetricSums) -> Option<Comparison> {
    match kind {
        _ if c.n == 0 || t.n == 0 => None,
        MetricKind::Conversion => Some(compare(
            &Sample::proportion(c.n as u64, c.sum_y as u64),
            &Sample::proportion(t.n as u64, t.sum_y as u64),
            Kind::Proportion,
            ALPHA,
        )),
        MetricKind::Mean => Some(compare(&y(c), &y(t), Kind::Mean, ALPHA)),
        MetricKind::Ratio => Some(compare_estimates(ratio(c).estimate()?, ratio(t).estimate()?, Test::Z, ALPHA)),
    }
}

/// The CUPED comparison (see docs/results.md), with θ and the share of the variance removed;
/// `None` for ratios and without pre-exposure data.
struct Adjusted {
    theta: f64,
    comparison: Comparison,
    variance_reduction: f64,
}

fn adjusted(kind: MetricKind, sums: &[MetricSums], v: usize) -> Option<Adjusted> {
    if kind == MetricKind::Ratio || sums[0].n == 0 || sums[v].n == 0 {
        return None;
    }
    let groups: Vec<Paired> =
        sums.iter().map(|s| Paired { y: y(s), sum_x: s.sum_x, sum_x_sq: s.sum_x_sq, sum_xy: s.sum_xy }).collect();
    let (theta, samples) = cuped(&groups)?;
    let comparison = compare(&samples[0], &samples[v], Kind::Mean, ALPHA);
    let raw = groups[0].y.variance_of_mean(Kind::Mean) + groups[v].y.variance_of_mean(Kind::Mean);
    let reduced = samples[0].variance_of_mean(Kind::Mean) + samples[v].variance_of_mean(Kind::Mean);
    let variance_reduction = if raw > 0.0 { 1.0 - reduced / raw } else { 0.0 };
    Some(Adjusted { theta, comparison, variance_reduction })
}

/// One comparison of the report: metric `m`, variation `v`.
struct Row {
    m: usize,
    v: usize,
    primary: Comparison,
    cuped: Option<Adjusted>,
}

fn comparison_json(r: &Row) -> Value {
    let c = &r.primary;
    json!({
        "variation": r.v,
        "absolute": c.absolute,
        "absoluteInterval": pair(c.absolute_interval),
        "relative": c.relative,
        "relativeInterval": pair(c.relative_interval),
        "pValue": c.p_value,
        "pValueAdjusted": c.p_value_adjusted,
        "significant": c.p_value_adjusted < ALPHA,
        "sequentialPValue": c.sequential_p_value,
        "sequentialInterval": pair(c.sequential_interval),
        "chanceToBeat": c.chance_to_beat,
        "expectedLoss": c.expected_loss,
        "cuped": r.cuped.as_ref().map(|a| json!({
            "theta": a.theta,
            "varianceReduction": a.variance_reduction,
            "absolute": a.comparison.absolute,
            "absoluteInterval": pair(a.comparison.absolute_interval),
            "relative": a.comparison.relative,
            "relativeInterval": pair(a.comparison.relative_interval),
            "pValue": a.comparison.p_value,
            "pValueAdjusted": a.comparison.p_value_adjusted,
            "significant": a.comparison.p_value_adjusted < ALPHA,
        })),
    })
}

/// What the report knows of an experiment from the published ruleset: its weights (for
/// the split check) and its variations' keys (to name them).
#[derive(Clone, Debug, Default)]
pub struct Configured {
    pub weights: Option<Vec<f64>>,
    pub keys: Vec<Option<String>>,
}

impl Configured {
    pub fn from_ruleset(ruleset: Option<&Value>, experiment: &str) -> Configured {
        Configured { weights: configured_weights(ruleset, experiment), keys: variation_keys(ruleset, experiment) }
    }
}

/// One experiment's report from its rows (one per variation seen) and its metrics.
pub fn experiment(key: &str, rows: &[&VariantResult], configured: &Configured, metrics: &[MetricData]) -> Value {
    let weights = configured.weights.clone();
    let keys = &configured.keys;
    let index = |variation: &str| variation.parse::<usize>().ok();
    let count = weights
        .as_ref()
        .map_or(0, Vec::len)
        .max(rows.iter().filter_map(|r| index(&r.variation)).map(|i| i + 1).max().unwrap_or(0));
    // Every variation, with zeros for those nobody was exposed to yet.
    let by_index: Vec<VariantResult> = (0..count)
        .map(|i| {
            rows.iter().find(|r| index(&r.variation) == Some(i)).map_or_else(
                || VariantResult { experiment_key: key.to_string(), variation: i.to_string(), ..Default::default() },
                |r| (*r).clone(),
            )
        })
        .collect();
    let variations: Vec<Value> = by_index
        .iter()
        .map(|r| {
            let revenue = Sample { n: r.shoppers as u64, sum: r.revenue, sum_sq: r.revenue_sq };
            json!({
                "variation": index(&r.variation),
                "key": index(&r.variation).and_then(|i| keys.get(i).cloned().flatten()),
                "exposures": r.exposures,
                "shoppers": r.shoppers,
                "conversions": r.conversions,
                "conversionRate": Sample::proportion(r.shoppers as u64, r.conversions as u64).mean(),
                "conversionInterval": pair(wilson(r.shoppers as u64, r.conversions as u64, ALPHA)),
                "orders": r.orders,
                "revenue": r.revenue,
                "revenuePerShopper": revenue.mean(),
                "revenuePerShopperInterval": pair(mean_interval(&revenue, ALPHA)),
                "averageOrderValue": if r.orders > 0 { Value::from(r.revenue / r.orders as f64) } else { Value::Null },
            })
        })
        .collect();

    // Sample ratio mismatch against the configured split.
    let srm_report = weights.as_ref().and_then(|w| {
        let shoppers: Vec<u64> = by_index.iter().map(|r| r.shoppers as u64).collect();
        srm(&shoppers, w).map(|(statistic, p)| {
            json!({ "statistic": statistic, "pValue": p, "weights": w, "mismatch": p < SRM_THRESHOLD })
        })
    });
    let mismatch = srm_report.as_ref().is_some_and(|s| s["mismatch"] == true);

    // Each metric's sums for every variation (zeros where nobody was exposed).
    let sums: Vec<Vec<MetricSums>> = metrics
        .iter()
        .map(|d| {
            (0..count)
                .map(|i| {
                    d.sums
                        .iter()
                        .find(|s| index(&s.variation) == Some(i))
                        .cloned()
                        .unwrap_or(MetricSums { variation: i.to_string(), ..Default::default() })
                })
                .collect()
        })
        .collect();
    // Every variation against the control on every metric; Holm over all of them, and over
    // the CUPED comparisons as their own family.
    let mut table: Vec<Row> = Vec::new();
    for (m, d) in metrics.iter().enumerate() {
        for v in 1..count {
            if let Some(primary) = comparison(d.metric.kind, &sums[m][0], &sums[m][v]) {
                table.push(Row { m, v, primary, cuped: adjusted(d.metric.kind, &sums[m], v) });
            }
        }
    }
    let mut p: Vec<f64> = table.iter().map(|r| r.primary.p_value).collect();
    holm(&mut p);
    for (r, adjusted) in table.iter_mut().zip(p) {
        r.primary.p_value_adjusted = adjusted;
    }
    let mut p: Vec<f64> = table.iter().filter_map(|r| r.cuped.as_ref()).map(|a| a.comparison.p_value).collect();
    holm(&mut p);
    for (a, adjusted) in table.iter_mut().filter_map(|r| r.cuped.as_mut()).zip(p) {
        a.comparison.p_value_adjusted = adjusted;
    }
    let metrics_json: Vec<Value> = metrics
        .iter()
        .enumerate()
        .map(|(m, d)| {
            let values: Vec<Value> = sums[m]
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let v = value(d.metric.kind, s);
                    json!({
                        "variation": i,
                        "shoppers": s.n,
                        "value": v.map(|v| v.0),
                        "interval": v.map(|v| pair(v.1)),
                    })
                })
                .collect();
            json!({
                "key": d.metric.key,
                "definition": d.metric.describe(),
                "kind": d.metric.kind.as_str(),
                "role": if d.metric.role == Role::Goal { "goal" } else { "guardrail" },
                "goal": d.metric.role == Role::Goal,
                "windowHours": d.metric.window_ms.map(|w| w as f64 / 3_600_000.0),
                "variations": values,
                "comparisons": table.iter().filter(|r| r.m == m).map(comparison_json).collect::<Vec<_>>(),
            })
        })
        .collect();
    // A broken split is said with the weights it breaks.
    let broken = if mismatch { weights.as_deref() } else { None };
    let guidance = guidance(broken, &by_index, keys, metrics, &table);
    let timeline = timeline(count, metrics);
    json!({
        "experimentKey": key,
        "control": 0,
        "alpha": ALPHA,
        "correction": "holm",
        "srm": srm_report,
        "variations": variations,
        "metrics": metrics_json,
        "guidance": guidance,
        "timeline": timeline,
    })
}

/// Day by day (UTC, by the shoppers' first exposure), every metric over the shoppers exposed
/// up to the end of that day: each variation's shoppers, converted shoppers, sum and value,
/// and each variation against the control with the relative uplift and its interval, as the
/// report would have said with only those shoppers. From the rollups' sums per day.
fn timeline(count: usize, metrics: &[MetricData]) -> Vec<Value> {
    let index = |variation: &str| variation.parse::<usize>().ok().filter(|&i| i < count);
    let mut days: Vec<i64> = metrics.iter().flat_map(|d| d.days.iter().map(|s| s.day)).collect();
    days.sort_unstable();
    days.dedup();
    let mut running: Vec<Vec<MetricSums>> = metrics
        .iter()
        .map(|_| (0..count).map(|i| MetricSums { variation: i.to_string(), ..Default::default() }).collect())
        .collect();
    days.iter()
        .map(|&day| {
            let per_metric: Vec<Value> = metrics
                .iter()
                .enumerate()
                .map(|(m, d)| {
                    for s in d.days.iter().filter(|s| s.day == day) {
                        if let Some(i) = index(&s.sums.variation) {
                            running[m][i].add(&s.sums);
                        }
                    }
                    let sums = &running[m];
                    let variations: Vec<Value> = sums
                        .iter()
                        .enumerate()
                        .map(|(i, s)| {
                            json!({
                                "variation": i,
                                "shoppers": s.n,
                                "converted": s.converted,
                                "sum": s.sum_y,
                                "value": value(d.metric.kind, s).map(|v| v.0),
                            })
                        })
                        .collect();
                    let comparisons: Vec<Value> = (1..count)
                        .filter_map(|v| {
                            let c = comparison(d.metric.kind, &sums[0], &sums[v])?;
                            Some(json!({
                                "variation": v,
                                "relative": c.relative,
                                "relativeInterval": pair(c.relative_interval),
                                "chanceToBeat": c.chance_to_beat,
                            }))
                        })
                        .collect();
                    json!({ "key": d.metric.key, "variations": variations, "comparisons": comparisons })
                })
                .collect();
            json!({ "day": date(day), "start": day * DAY_MS, "metrics": per_metric })
        })
        .collect()
}

/// A metric's key as words: `revenuePerShopper` as `revenue per shopper`, `add_to-cart` as
/// `add to cart`.
fn spoken(key: &str) -> String {
    let mut out = String::new();
    let mut previous = ' ';
    for c in key.chars() {
        if c == '_' || c == '-' {
            out.push(' ');
        } else if c.is_ascii_uppercase() && (previous.is_ascii_lowercase() || previous.is_ascii_digit()) {
            out.push(' ');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
        previous = c;
    }
    out
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Fewer shoppers than this in a variation, and nothing significant: "not enough data".
pub const FEW_SHOPPERS: i64 = 100;

/// What a merchandiser should do, in plain words, naming the variations by their keys:
/// from the goal metrics, with any guardrail that got worse.
fn guidance(
    broken: Option<&[f64]>,
    rows: &[VariantResult],
    keys: &[Option<String>],
    metrics: &[MetricData],
    table: &[Row],
) -> String {
    let name = |i: usize| label(keys, i);
    // "the control", with its key unless that says "control" already.
    let control = match keys.first().and_then(Option::as_deref) {
        Some("control") | None => "the control".to_string(),
        Some(_) => format!("the control {}", name(0)),
    };
    if let Some(weights) = broken {
        let total: f64 = weights.iter().sum();
        let shares: Vec<String> = weights.iter().map(|w| format!("{:.0}%", 100.0 * w / total)).collect();
        let counts: Vec<String> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| {
                if i == 0 {
                    format!("{} got {} shoppers", name(i), r.shoppers)
                } else {
                    format!("{} {}", name(i), r.shoppers)
                }
            })
            .collect();
        return format!(
            "The split is broken: the ruleset splits shoppers {}, but {}, far further from it than chance allows. \
             Find out why (a redirect, a caching layer, a filter on exposures) before trusting any figure below.",
            shares.join(" / "),
            and_list(&counts)
        );
    }
    let empty: Vec<String> = rows.iter().enumerate().filter(|(_, r)| r.shoppers == 0).map(|(i, _)| name(i)).collect();
    if rows.len() < 2 || !empty.is_empty() {
        let who = if empty.is_empty() { "a second variation".to_string() } else { empty.join(", ") };
        return format!("Not enough data yet: no shopper has seen {who}. Keep the test running.");
    }
    let role = |r: &Row| metrics[r.m].metric.role;
    let key = |r: &Row| spoken(&metrics[r.m].metric.key);
    let figures = |r: &Row| {
        let (lo, hi) = r.primary.relative_interval;
        if lo.is_finite() && hi.is_finite() {
            format!("{} on {} (95% interval {} to {})", percent(r.primary.relative), key(r), percent(lo), percent(hi))
        } else {
            format!("{:+} on {}", r.primary.absolute, key(r))
        }
    };
    let significant = |r: &Row| r.primary.p_value_adjusted < ALPHA && r.primary.absolute != 0.0;
    let harmed: Vec<&Row> =
        table.iter().filter(|r| role(r) == Role::Guardrail && significant(r) && r.primary.absolute < 0.0).collect();
    let harm_of = |v: usize| -> Vec<String> { harmed.iter().filter(|r| r.v == v).map(|r| figures(r)).collect() };
    let mut words = Vec::new();
    let goal: Vec<&Row> = table.iter().filter(|r| role(r) == Role::Goal).collect();
    for r in goal.iter().filter(|r| significant(r)) {
        let harm = harm_of(r.v);
        if r.primary.absolute > 0.0 && harm.is_empty() {
            words.push(format!("{} beats {control}: {}. It is safe to roll it out.", name(r.v), figures(r)));
        } else if r.primary.absolute > 0.0 {
            words.push(format!(
                "{} beats {control}: {}, but it does harm: {}. Weigh the two before rolling it out.",
                name(r.v),
                figures(r),
                harm.join(", ")
            ));
        } else {
            words.push(format!("{} is worse than {control}: {}. Stop it.", name(r.v), figures(r)));
        }
    }
    let fewest = rows.iter().enumerate().min_by_key(|(_, r)| r.shoppers).map(|(i, r)| (i, r.shoppers));
    if let (true, Some((i, n))) = (words.is_empty(), fewest.filter(|&(_, n)| n < FEW_SHOPPERS)) {
        return format!(
            "Not enough data yet: {} has only {n} shoppers; below {FEW_SHOPPERS} per variation no difference but a huge \
             one can show. Keep the test running.",
            name(i)
        );
    }
    if words.is_empty() {
        let best = goal.iter().max_by(|a, b| a.primary.chance_to_beat.total_cmp(&b.primary.chance_to_beat));
        let lead = best.map_or(String::new(), |r| {
            format!(" {} leads with a {:.0}% chance to beat the control.", name(r.v), r.primary.chance_to_beat * 100.0)
        });
        let goals: Vec<String> =
            metrics.iter().filter(|d| d.metric.role == Role::Goal).map(|d| spoken(&d.metric.key)).collect();
        words.push(format!(
            "No clear difference from {control} in {} yet (95% level, Holm-corrected): keep the test \
             running.{lead}",
            goals.join(", ")
        ));
    }
    // Guardrail harm of a variation not already named above.
    let said: Vec<usize> = goal.iter().filter(|r| significant(r) && r.primary.absolute > 0.0).map(|r| r.v).collect();
    let mut harmed_variations: Vec<usize> = harmed.iter().map(|r| r.v).filter(|v| !said.contains(v)).collect();
    harmed_variations.dedup();
    for v in harmed_variations {
        words.push(format!("{} does harm on a guardrail: {}.", name(v), harm_of(v).join(", ")));
    }
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(variation: usize, shoppers: i64, conversions: i64) -> VariantResult {
        VariantResult {
            experiment_key: "x".into(),
            variation: variation.to_string(),
            exposures: shoppers,
            shoppers,
            conversions,
            orders: conversions,
            revenue: conversions as f64 * 40.0,
            revenue_sq: conversions as f64 * 1600.0,
        }
    }

    /// The default conversion metric, and a mean guardrail whose values per variation are
    /// `(shoppers, sum, sum of squares)`.
    fn data(rows: &[&VariantResult], guardrail: &[(i64, f64, f64)]) -> Vec<MetricData> {
        let conversion = MetricData {
            metric: crate::metrics::defaults().remove(0),
            sums: rows
                .iter()
                .map(|r| MetricSums {
                    variation: r.variation.clone(),
                    n: r.shoppers,
                    sum_y: r.conversions as f64,
                    sum_y_sq: r.conversions as f64,
                    ..Default::default()
                })
                .collect(),
            days: Vec::new(),
        };
        let mut list = vec![conversion];
        if !guardrail.is_empty() {
            list.push(MetricData {
                metric: crate::metrics::defaults().remove(1),
                sums: guardrail
                    .iter()
                    .enumerate()
                    .map(|(i, &(n, sum_y, sum_y_sq))| MetricSums {
                        variation: i.to_string(),
                        n,
                        sum_y,
                        sum_y_sq,
                        ..Default::default()
                    })
                    .collect(),
                days: Vec::new(),
            });
        }
        list
    }

    fn split(weights: &[f64], keys: &[&str]) -> Configured {
        Configured { weights: Some(weights.to_vec()), keys: keys.iter().map(|k| Some(k.to_string())).collect() }
    }

    #[test]
    fn a_clear_winner_is_named_by_its_key_and_a_broken_split_overrides_it() {
        let (a, b) = (row(0, 5000, 250), row(1, 5000, 400));
        let report = experiment("x", &[&a, &b], &split(&[0.5, 0.5], &["control", "amount"]), &data(&[&a, &b], &[]));
        assert_eq!(report["metrics"][0]["comparisons"][0]["significant"], true);
        assert_eq!(report["metrics"][0]["variations"][1]["value"], 0.08);
        assert_eq!(report["variations"][1]["key"], "amount");
        let words = report["guidance"].as_str().unwrap();
        assert!(words.starts_with("\u{201c}amount\u{201d} beats the control: +60.0% on conversion"), "{words}");
        assert!(words.ends_with("It is safe to roll it out."), "{words}");
        // Without keys in the ruleset, the index names it.
        let unnamed = experiment("x", &[&a, &b], &Configured::default(), &data(&[&a, &b], &[]));
        assert!(unnamed["guidance"].as_str().unwrap().starts_with("variation 1 beats the control: +60.0%"));
        let c = row(1, 4000, 400);
        let broken = experiment("x", &[&a, &c], &split(&[0.5, 0.5], &["control", "amount"]), &data(&[&a, &c], &[]));
        assert_eq!(broken["srm"]["mismatch"], true);
        let words = broken["guidance"].as_str().unwrap();
        assert!(
            words.starts_with(
                "The split is broken: the ruleset splits shoppers 50% / 50%, but \u{201c}control\u{201d} got 5000 \
                 shoppers and \u{201c}amount\u{201d} 4000, far further from it than chance allows."
            ),
            "{words}"
        );
    }

    #[test]
    fn a_loser_is_named_and_told_to_stop() {
        let (a, b) = (row(0, 5000, 400), row(1, 5000, 250));
        let report = experiment("x", &[&a, &b], &split(&[0.5, 0.5], &["grid", "list"]), &data(&[&a, &b], &[]));
        let words = report["guidance"].as_str().unwrap();
        assert!(
            words.starts_with(
                "\u{201c}list\u{201d} is worse than the control \u{201c}grid\u{201d}: -37.5% on conversion"
            ),
            "{words}"
        );
        assert!(words.ends_with("Stop it."), "{words}");
    }

    #[test]
    fn a_guardrail_that_got_worse_is_said() {
        let (a, b) = (row(0, 5000, 250), row(1, 5000, 255));
        // Revenue per shopper: 2.0 against 1.5, each with a standard deviation of about 10.
        let guardrail = [(5000, 10_000.0, 5000.0 * 104.0), (5000, 7_500.0, 5000.0 * 102.25)];
        let report = experiment("x", &[&a, &b], &split(&[0.5, 0.5], &["control", "b"]), &data(&[&a, &b], &guardrail));
        let words = report["guidance"].as_str().unwrap();
        assert!(words.starts_with("No clear difference from the control in conversion yet"), "{words}");
        assert!(words.contains("\u{201c}b\u{201d} does harm on a guardrail: -25.0% on revenue per shopper"), "{words}");
        assert_eq!(report["metrics"][1]["role"], "guardrail");
        // A winner that does harm is told to weigh the two.
        let (a, b) = (row(0, 5000, 250), row(1, 5000, 400));
        let report = experiment("x", &[&a, &b], &split(&[0.5, 0.5], &["control", "b"]), &data(&[&a, &b], &guardrail));
        let words = report["guidance"].as_str().unwrap();
        assert!(words.contains("but it does harm: -25.0% on revenue per shopper"), "{words}");
        assert!(!words.contains("safe to roll it out"), "{words}");
    }

    #[test]
    fn variations_nobody_saw_are_listed_with_zeros() {
        let a = row(0, 100, 5);
        let report = experiment("x", &[&a], &split(&[0.5, 0.25, 0.25], &[]), &data(&[&a], &[]));
        assert_eq!(report["variations"].as_array().unwrap().len(), 3);
        assert_eq!(report["variations"][2]["shoppers"], 0);
        assert!(report["metrics"][0]["variations"][2]["value"].is_null());
        // Every shopper in the control of a three-way split: that split is broken.
        assert_eq!(report["srm"]["mismatch"], true);
        let unknown = experiment("x", &[&a], &Configured::default(), &data(&[&a], &[]));
        assert!(unknown["srm"].is_null());
        assert_eq!(
            unknown["guidance"],
            "Not enough data yet: no shopper has seen a second variation. Keep the test running."
        );
        let (a, b) = (row(0, 60, 3), row(1, 55, 4));
        let few = experiment("x", &[&a, &b], &split(&[0.5, 0.5], &["control", "new"]), &data(&[&a, &b], &[]));
        assert!(few["guidance"]
            .as_str()
            .unwrap()
            .starts_with("Not enough data yet: \u{201c}new\u{201d} has only 55 shoppers"));
    }

    #[test]
    fn dates_are_utc_calendar_days() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(59), "1970-03-01");
        assert_eq!(date(11_016), "2000-02-29");
        assert_eq!(date(20_794), "2026-12-07");
        assert_eq!(date(-1), "1969-12-31");
    }

    #[test]
    fn the_timeline_accumulates_days_and_compares_each_day() {
        use crate::store::DaySums;
        let sums = |v: usize, n: i64, k: i64| MetricSums {
            variation: v.to_string(),
            n,
            converted: k,
            sum_y: k as f64,
            sum_y_sq: k as f64,
            ..Default::default()
        };
        let mut metric = data(&[], &[]).remove(0);
        metric.days = vec![
            DaySums { day: 10, sums: sums(0, 100, 10) },
            DaySums { day: 10, sums: sums(1, 100, 12) },
            DaySums { day: 12, sums: sums(0, 300, 20) },
            DaySums { day: 12, sums: sums(1, 300, 36) },
        ];
        let t = timeline(2, &[metric]);
        assert_eq!(t.len(), 2);
        assert_eq!(t[0]["day"], "1970-01-11");
        assert_eq!(t[1]["metrics"][0]["variations"][1]["shoppers"], 400);
        assert_eq!(t[1]["metrics"][0]["variations"][1]["converted"], 48);
        let first = t[0]["metrics"][0]["comparisons"][0]["relative"].as_f64().unwrap();
        let last = t[1]["metrics"][0]["comparisons"][0]["relative"].as_f64().unwrap();
        assert!((first - 0.2).abs() < 1e-12 && (last - 0.6).abs() < 1e-12, "{first} {last}");
        let c = compare(&Sample::proportion(400, 30), &Sample::proportion(400, 48), Kind::Proportion, ALPHA);
        assert_eq!(t[1]["metrics"][0]["comparisons"][0]["relativeInterval"], pair(c.relative_interval));
    }
}
