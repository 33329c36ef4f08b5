//! The experiment report of `GET /v1/admin/results/{site}`: per experiment, the counts of
//! each variation, the sample ratio mismatch check against the configured weights, every
//! metric of each variation against the control (variation 0) with the statistics of
//! [`crate::stats`], Holm's correction over all of an experiment's comparisons, and plain
//! words saying what to do.

use serde_json::{json, Value};

use crate::metrics::{MetricKind, Role};
use crate::stats::{
    compare, compare_estimates, cuped, holm, mean_interval, srm, wilson, Comparison, Kind, Paired, Ratio, Sample, Test,
    ALPHA, SRM_THRESHOLD,
};
use crate::store::{MetricData, MetricSums, VariantResult};

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

/// One experiment's report from its rows (one per variation seen) and its metrics.
pub fn experiment(key: &str, rows: &[&VariantResult], weights: Option<Vec<f64>>, metrics: &[MetricData]) -> Value {
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
    let guidance = guidance(mismatch, &by_index, metrics, &table);
    json!({
        "experimentKey": key,
        "control": 0,
        "alpha": ALPHA,
        "correction": "holm",
        "srm": srm_report,
        "variations": variations,
        "metrics": metrics_json,
        "guidance": guidance,
    })
}

/// What a merchandiser should do, in plain words: from the goal metrics, with any guardrail
/// that got worse.
fn guidance(mismatch: bool, rows: &[VariantResult], metrics: &[MetricData], table: &[Row]) -> String {
    if mismatch {
        return "The split is broken: the shoppers per variation differ from the configured weights far more \
                than chance allows. Find out why (a redirect, a caching layer, a filter on exposures) before \
                trusting any figure below."
            .to_string();
    }
    if rows.first().is_none_or(|c| c.shoppers == 0) || rows.iter().skip(1).all(|r| r.shoppers == 0) {
        return "Not enough data yet: no shopper has been exposed to the control and another variation.".to_string();
    }
    let role = |r: &Row| metrics[r.m].metric.role;
    let named = |r: &Row| format!("variation {} ({} {})", r.v, percent(r.primary.relative), metrics[r.m].metric.key);
    let significant = |r: &Row| r.primary.p_value_adjusted < ALPHA;
    let goal: Vec<&Row> = table.iter().filter(|r| role(r) == Role::Goal).collect();
    let pick = |rows: &[&Row], roles: Role, better: bool| -> Vec<String> {
        rows.iter()
            .filter(|r| {
                role(r) == roles && significant(r) && (r.primary.absolute > 0.0) == better && r.primary.absolute != 0.0
            })
            .map(|r| named(r))
            .collect()
    };
    let winners = pick(&goal, Role::Goal, true);
    let losers = pick(&goal, Role::Goal, false);
    let all: Vec<&Row> = table.iter().collect();
    let harmed = pick(&all, Role::Guardrail, false);
    let mut words = Vec::new();
    if !winners.is_empty() {
        words.push(format!("Better than the control: {}.", winners.join(", ")));
    }
    if !losers.is_empty() {
        words.push(format!("Worse than the control: {}.", losers.join(", ")));
    }
    if words.is_empty() {
        let best = goal.iter().max_by(|a, b| a.primary.chance_to_beat.total_cmp(&b.primary.chance_to_beat));
        let lead = best.map_or(String::new(), |r| {
            format!(
                " Variation {} leads with a {:.0}% chance to beat the control.",
                r.v,
                r.primary.chance_to_beat * 100.0
            )
        });
        let keys: Vec<&str> =
            metrics.iter().filter(|d| d.metric.role == Role::Goal).map(|d| d.metric.key.as_str()).collect();
        words.push(format!(
            "No significant difference in {} yet (95% level, Holm-corrected): keep the test running.{lead}",
            keys.join(", ")
        ));
    }
    if !harmed.is_empty() {
        words.push(format!("Guardrail worse than the control: {}.", harmed.join(", ")));
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
            });
        }
        list
    }

    #[test]
    fn a_clear_winner_is_named_and_a_broken_split_overrides_it() {
        let (a, b) = (row(0, 5000, 250), row(1, 5000, 400));
        let report = experiment("x", &[&a, &b], Some(vec![0.5, 0.5]), &data(&[&a, &b], &[]));
        assert_eq!(report["metrics"][0]["comparisons"][0]["significant"], true);
        assert_eq!(report["metrics"][0]["variations"][1]["value"], 0.08);
        assert!(report["guidance"]
            .as_str()
            .unwrap()
            .starts_with("Better than the control: variation 1 (+60.0% conversion)"));
        let c = row(1, 4000, 400);
        let broken = experiment("x", &[&a, &c], Some(vec![0.5, 0.5]), &data(&[&a, &c], &[]));
        assert_eq!(broken["srm"]["mismatch"], true);
        assert!(broken["guidance"].as_str().unwrap().starts_with("The split is broken"));
    }

    #[test]
    fn a_guardrail_that_got_worse_is_said() {
        let (a, b) = (row(0, 5000, 250), row(1, 5000, 255));
        // Revenue per shopper: 2.0 against 1.5, each with a standard deviation of about 10.
        let guardrail = [(5000, 10_000.0, 5000.0 * 104.0), (5000, 7_500.0, 5000.0 * 102.25)];
        let report = experiment("x", &[&a, &b], Some(vec![0.5, 0.5]), &data(&[&a, &b], &guardrail));
        let words = report["guidance"].as_str().unwrap();
        assert!(words.starts_with("No significant difference in conversion yet"), "{words}");
        assert!(
            words.ends_with("Guardrail worse than the control: variation 1 (-25.0% revenuePerShopper)."),
            "{words}"
        );
        assert_eq!(report["metrics"][1]["role"], "guardrail");
    }

    #[test]
    fn variations_nobody_saw_are_listed_with_zeros() {
        let a = row(0, 100, 5);
        let report = experiment("x", &[&a], Some(vec![0.5, 0.25, 0.25]), &data(&[&a], &[]));
        assert_eq!(report["variations"].as_array().unwrap().len(), 3);
        assert_eq!(report["variations"][2]["shoppers"], 0);
        assert!(report["metrics"][0]["variations"][2]["value"].is_null());
        // Every shopper in the control of a three-way split: that split is broken.
        assert_eq!(report["srm"]["mismatch"], true);
        let unknown = experiment("x", &[&a], None, &data(&[&a], &[]));
        assert!(unknown["srm"].is_null());
        assert!(unknown["guidance"].as_str().unwrap().starts_with("Not enough data"));
    }
}
