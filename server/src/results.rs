//! The experiment report of `GET /v1/admin/results/{site}`: per experiment, the counts of
//! each variation, the sample ratio mismatch check against the configured weights, every
//! metric of each variation against the control (variation 0) with the statistics of
//! [`crate::stats`], Holm's correction over all of an experiment's comparisons, and plain
//! words saying what to do.

use serde_json::{json, Value};

use crate::stats::{
    compare, cuped, holm, mean_interval, srm, wilson, Comparison, Kind, Paired, Sample, ALPHA, SRM_THRESHOLD,
};
use crate::store::VariantResult;

/// The metrics every experiment gets (the server's defaults).
const METRICS: [(&str, &str, Kind); 2] = [
    ("conversion", "shoppers who bought at or after their first exposure", Kind::Proportion),
    ("revenuePerShopper", "revenue of purchases at or after the first exposure, per exposed shopper", Kind::Mean),
];

fn sample(row: &VariantResult, kind: Kind) -> Sample {
    match kind {
        Kind::Proportion => Sample::proportion(row.shoppers as u64, row.conversions as u64),
        Kind::Mean => Sample { n: row.shoppers as u64, sum: row.revenue, sum_sq: row.revenue_sq },
    }
}

/// The metric with its pre-exposure covariate for CUPED: for conversion, whether the shopper
/// bought before the first exposure; for revenue, the revenue before it.
fn paired(row: &VariantResult, kind: Kind) -> Paired {
    match kind {
        Kind::Proportion => Paired {
            y: sample(row, kind),
            sum_x: row.pre_buyers as f64,
            sum_x_sq: row.pre_buyers as f64,
            sum_xy: row.pre_buyers_converted as f64,
        },
        Kind::Mean => Paired {
            y: sample(row, kind),
            sum_x: row.pre_revenue,
            sum_x_sq: row.pre_revenue_sq,
            sum_xy: row.revenue_x_pre_revenue,
        },
    }
}

/// The CUPED comparison of one metric's variations (indices into `rows`), with the share of
/// the variance it removes; `None` without pre-exposure data.
struct Adjusted {
    theta: f64,
    comparison: Comparison,
    variance_reduction: f64,
}

fn adjusted(rows: &[VariantResult], kind: Kind, v: usize) -> Option<Adjusted> {
    let groups: Vec<Paired> = rows.iter().map(|r| paired(r, kind)).collect();
    let (theta, samples) = cuped(&groups)?;
    let comparison = compare(&samples[0], &samples[v], Kind::Mean, ALPHA);
    let raw = groups[0].y.variance_of_mean(Kind::Mean) + groups[v].y.variance_of_mean(Kind::Mean);
    let reduced = samples[0].variance_of_mean(Kind::Mean) + samples[v].variance_of_mean(Kind::Mean);
    let variance_reduction = if raw > 0.0 { 1.0 - reduced / raw } else { 0.0 };
    Some(Adjusted { theta, comparison, variance_reduction })
}

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

fn percent(x: f64) -> String {
    format!("{:+.1}%", x * 100.0)
}

/// One experiment's report from its rows (one per variation seen).
pub fn experiment(key: &str, rows: &[&VariantResult], weights: Option<Vec<f64>>) -> Value {
    let index = |r: &VariantResult| r.variation.parse::<usize>().ok();
    let count = weights
        .as_ref()
        .map_or(0, Vec::len)
        .max(rows.iter().filter_map(|r| index(r)).map(|i| i + 1).max().unwrap_or(0));
    // Every variation, with zeros for those nobody was exposed to yet.
    let empty = |i: usize| VariantResult {
        experiment_key: key.to_string(),
        variation: i.to_string(),
        ..VariantResult::default()
    };
    let by_index: Vec<VariantResult> = (0..count)
        .map(|i| rows.iter().find(|r| index(r) == Some(i)).map_or_else(|| empty(i), |r| (*r).clone()))
        .collect();
    let variations: Vec<Value> = by_index
        .iter()
        .map(|r| {
            let conversion = sample(r, Kind::Proportion);
            let revenue = sample(r, Kind::Mean);
            json!({
                "variation": index(r),
                "exposures": r.exposures,
                "shoppers": r.shoppers,
                "conversions": r.conversions,
                "conversionRate": conversion.mean(),
                "conversionInterval": pair(wilson(conversion.n, r.conversions as u64, ALPHA)),
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

    // Every variation against the control on every metric; Holm over all of them.
    let mut comparisons: Vec<(usize, usize, Comparison)> = Vec::new();
    if let Some(control) = by_index.first().filter(|c| c.shoppers > 0) {
        for (m, (_, _, kind)) in METRICS.iter().enumerate() {
            for (v, row) in by_index.iter().enumerate().skip(1).filter(|(_, r)| r.shoppers > 0) {
                comparisons.push((m, v, compare(&sample(control, *kind), &sample(row, *kind), *kind, ALPHA)));
            }
        }
    }
    let mut p: Vec<f64> = comparisons.iter().map(|(_, _, c)| c.p_value).collect();
    holm(&mut p);
    for ((_, _, c), adjusted) in comparisons.iter_mut().zip(p) {
        c.p_value_adjusted = adjusted;
    }
    // The same comparisons with CUPED, corrected as their own family.
    let mut cuped: Vec<Option<Adjusted>> =
        comparisons.iter().map(|(m, v, _)| adjusted(&by_index, METRICS[*m].2, *v)).collect();
    let mut p: Vec<f64> = cuped.iter().flatten().map(|a| a.comparison.p_value).collect();
    holm(&mut p);
    for (a, adjusted) in cuped.iter_mut().flatten().zip(p) {
        a.comparison.p_value_adjusted = adjusted;
    }
    let metrics: Vec<Value> = METRICS
        .iter()
        .enumerate()
        .map(|(m, (metric, definition, kind))| {
            let list: Vec<Value> = comparisons
                .iter()
                .zip(&cuped)
                .filter(|((mm, _, _), _)| *mm == m)
                .map(|((_, v, c), a)| {
                    json!({
                        "variation": v,
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
                        "cuped": a.as_ref().map(|a| json!({
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
                })
                .collect();
            json!({
                "key": metric,
                "definition": definition,
                "kind": if *kind == Kind::Proportion { "proportion" } else { "mean" },
                "goal": m == 0,
                "comparisons": list,
            })
        })
        .collect();
    let guidance = guidance(mismatch, &by_index, &comparisons);
    json!({
        "experimentKey": key,
        "control": 0,
        "alpha": ALPHA,
        "correction": "holm",
        "srm": srm_report,
        "variations": variations,
        "metrics": metrics,
        "guidance": guidance,
    })
}

/// What a merchandiser should do, in plain words, from the goal metric (conversion).
fn guidance(mismatch: bool, rows: &[VariantResult], comparisons: &[(usize, usize, Comparison)]) -> String {
    if mismatch {
        return "The split is broken: the shoppers per variation differ from the configured weights far more \
                than chance allows. Find out why (a redirect, a caching layer, a filter on exposures) before \
                trusting any figure below."
            .to_string();
    }
    if rows.first().is_none_or(|c| c.shoppers == 0) || comparisons.is_empty() {
        return "Not enough data yet: no shopper has been exposed to the control and another variation.".to_string();
    }
    let goal: Vec<&(usize, usize, Comparison)> = comparisons.iter().filter(|(m, _, _)| *m == 0).collect();
    let winners: Vec<String> = goal
        .iter()
        .filter(|(_, _, c)| c.p_value_adjusted < ALPHA && c.absolute > 0.0)
        .map(|(_, v, c)| format!("variation {v} ({} conversion)", percent(c.relative)))
        .collect();
    let losers: Vec<String> = goal
        .iter()
        .filter(|(_, _, c)| c.p_value_adjusted < ALPHA && c.absolute < 0.0)
        .map(|(_, v, c)| format!("variation {v} ({} conversion)", percent(c.relative)))
        .collect();
    let mut words = Vec::new();
    if !winners.is_empty() {
        words.push(format!("Better than the control: {}.", winners.join(", ")));
    }
    if !losers.is_empty() {
        words.push(format!("Worse than the control: {}.", losers.join(", ")));
    }
    if words.is_empty() {
        let best = goal.iter().max_by(|a, b| a.2.chance_to_beat.total_cmp(&b.2.chance_to_beat));
        let lead = best.map_or(String::new(), |(_, v, c)| {
            format!(" Variation {v} leads with a {:.0}% chance to beat the control.", c.chance_to_beat * 100.0)
        });
        words.push(format!(
            "No significant difference in conversion yet (95% level, Holm-corrected): keep the test running.{lead}"
        ));
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
            ..VariantResult::default()
        }
    }

    #[test]
    fn a_clear_winner_is_named_and_a_broken_split_overrides_it() {
        let (a, b) = (row(0, 5000, 250), row(1, 5000, 400));
        let report = experiment("x", &[&a, &b], Some(vec![0.5, 0.5]));
        assert_eq!(report["metrics"][0]["comparisons"][0]["significant"], true);
        assert!(report["guidance"].as_str().unwrap().starts_with("Better than the control: variation 1 (+60.0%"));
        let c = row(1, 4000, 400);
        let broken = experiment("x", &[&a, &c], Some(vec![0.5, 0.5]));
        assert_eq!(broken["srm"]["mismatch"], true);
        assert!(broken["guidance"].as_str().unwrap().starts_with("The split is broken"));
    }

    #[test]
    fn variations_nobody_saw_are_listed_with_zeros() {
        let a = row(0, 100, 5);
        let report = experiment("x", &[&a], Some(vec![0.5, 0.25, 0.25]));
        assert_eq!(report["variations"].as_array().unwrap().len(), 3);
        assert_eq!(report["variations"][2]["shoppers"], 0);
        // Every shopper in the control of a three-way split: that split is broken.
        assert_eq!(report["srm"]["mismatch"], true);
        let unknown = experiment("x", &[&a], None);
        assert!(unknown["srm"].is_null());
        assert!(unknown["guidance"].as_str().unwrap().starts_with("Not enough data"));
    }
}
