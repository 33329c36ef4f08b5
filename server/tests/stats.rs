//! The experiment statistics (`tailor_server::stats`) checked, not trusted:
//! - every figure of `tests/stats/fixtures.json`, computed by SciPy from the definitions
//!   (`tests/stats/fixtures.py`), agrees to 1e-6 relative, CUPED included;
//! - simulated experiments: 1,000 A/A tests give a fixed-horizon false-positive rate of
//!   5% +- 1.5%, the sequential test checked every day for 14 days stays at most 5%, and
//!   1,000 A/B tests with a known effect reach the stated power within 3 points, and 1,000
//!   A/A tests with CUPED keep the false-positive rate while removing variance.

use tailor_server::stats::{compare, compare_estimates, cuped, srm, wilson, Kind, Paired, Ratio, Sample, Test, ALPHA};

fn fixtures() -> serde_json::Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/stats/fixtures.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn close(what: &str, ours: f64, reference: &serde_json::Value) {
    let r = reference.as_f64().unwrap_or_else(|| panic!("{what}: no reference figure"));
    let tolerance = 1e-6 * r.abs().max(1e-12);
    assert!((ours - r).abs() <= tolerance, "{what}: ours {ours}, SciPy {r}");
}

fn pair(what: &str, ours: (f64, f64), reference: &serde_json::Value) {
    close(&format!("{what}[0]"), ours.0, &reference[0]);
    close(&format!("{what}[1]"), ours.1, &reference[1]);
}

#[test]
fn every_figure_agrees_with_scipy() {
    let f = fixtures();
    let mut figures = 0;
    for (i, case) in f["comparisons"].as_array().unwrap().iter().enumerate() {
        let n = |v: &serde_json::Value, k: usize| v[k].as_f64().unwrap();
        let (kind, control, treatment) = match case["kind"].as_str().unwrap() {
            "proportion" => {
                let (c, t) = (&case["control"], &case["treatment"]);
                let (cs, ts) = (
                    Sample::proportion(n(c, 0) as u64, n(c, 1) as u64),
                    Sample::proportion(n(t, 0) as u64, n(t, 1) as u64),
                );
                pair(
                    &format!("case {i} controlInterval"),
                    wilson(cs.n, cs.sum as u64, ALPHA),
                    &case["controlInterval"],
                );
                pair(
                    &format!("case {i} treatmentInterval"),
                    wilson(ts.n, ts.sum as u64, ALPHA),
                    &case["treatmentInterval"],
                );
                figures += 4;
                (Kind::Proportion, cs, ts)
            }
            _ => {
                let s = |v: &serde_json::Value| Sample { n: n(v, 0) as u64, sum: n(v, 1), sum_sq: n(v, 2) };
                let (cs, ts) = (s(&case["control"]), s(&case["treatment"]));
                pair(
                    &format!("case {i} controlInterval"),
                    tailor_server::stats::mean_interval(&cs, ALPHA),
                    &case["controlInterval"],
                );
                figures += 2;
                (Kind::Mean, cs, ts)
            }
        };
        let c = compare(&control, &treatment, kind, ALPHA);
        let at = |k: &str| format!("case {i} ({}) {k}", case["kind"].as_str().unwrap());
        close(&at("absolute"), c.absolute, &case["absolute"]);
        pair(&at("absoluteInterval"), c.absolute_interval, &case["absoluteInterval"]);
        close(&at("pValue"), c.p_value, &case["pValue"]);
        close(&at("relative"), c.relative, &case["relative"]);
        pair(&at("relativeInterval"), c.relative_interval, &case["relativeInterval"]);
        close(&at("sequentialPValue"), c.sequential_p_value, &case["sequentialPValue"]);
        pair(&at("sequentialInterval"), c.sequential_interval, &case["sequentialInterval"]);
        close(&at("chanceToBeat"), c.chance_to_beat, &case["chanceToBeat"]);
        close(&at("expectedLoss"), c.expected_loss, &case["expectedLoss"]);
        figures += 12;
    }
    for (i, case) in f["srm"].as_array().unwrap().iter().enumerate() {
        let shoppers: Vec<u64> = case["shoppers"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
        let weights: Vec<f64> = case["weights"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        let (chi2, p) = srm(&shoppers, &weights).unwrap();
        close(&format!("srm {i} statistic"), chi2, &case["statistic"]);
        close(&format!("srm {i} pValue"), p, &case["pValue"]);
        figures += 2;
    }
    for (i, case) in f["cuped"].as_array().unwrap().iter().enumerate() {
        let paired = |v: &serde_json::Value| {
            let n = |k: usize| v[k].as_f64().unwrap();
            Paired { y: Sample { n: n(0) as u64, sum: n(1), sum_sq: n(2) }, sum_x: n(3), sum_x_sq: n(4), sum_xy: n(5) }
        };
        let groups = [paired(&case["control"]), paired(&case["treatment"])];
        let (theta, adjusted) = cuped(&groups).unwrap();
        let c = compare(&adjusted[0], &adjusted[1], Kind::Mean, ALPHA);
        let raw = groups[0].y.variance_of_mean(Kind::Mean) + groups[1].y.variance_of_mean(Kind::Mean);
        let reduction =
            1.0 - (adjusted[0].variance_of_mean(Kind::Mean) + adjusted[1].variance_of_mean(Kind::Mean)) / raw;
        let at = |k: &str| format!("cuped {i} ({}) {k}", case["metric"].as_str().unwrap());
        close(&at("theta"), theta, &case["theta"]);
        close(&at("absolute"), c.absolute, &case["absolute"]);
        pair(&at("absoluteInterval"), c.absolute_interval, &case["absoluteInterval"]);
        close(&at("pValue"), c.p_value, &case["pValue"]);
        close(&at("varianceReduction"), reduction, &case["varianceReduction"]);
        figures += 6;
    }
    for (i, case) in f["ratios"].as_array().unwrap().iter().enumerate() {
        let ratio = |v: &serde_json::Value| {
            let n = |k: usize| v[k].as_f64().unwrap();
            Ratio {
                numerator: Sample { n: n(0) as u64, sum: n(1), sum_sq: n(2) },
                den_sum: n(3),
                den_sum_sq: n(4),
                cross: n(5),
            }
        };
        let at = |k: &str| format!("ratio {i} ({}) {k}", case["metric"].as_str().unwrap());
        let (c, t) = (ratio(&case["control"]).estimate().unwrap(), ratio(&case["treatment"]).estimate().unwrap());
        pair(&at("controlRatio"), c, &case["controlRatio"]);
        pair(&at("treatmentRatio"), t, &case["treatmentRatio"]);
        let r = compare_estimates(c, t, Test::Z, ALPHA);
        close(&at("absolute"), r.absolute, &case["absolute"]);
        pair(&at("absoluteInterval"), r.absolute_interval, &case["absoluteInterval"]);
        close(&at("pValue"), r.p_value, &case["pValue"]);
        close(&at("relative"), r.relative, &case["relative"]);
        pair(&at("relativeInterval"), r.relative_interval, &case["relativeInterval"]);
        close(&at("sequentialPValue"), r.sequential_p_value, &case["sequentialPValue"]);
        pair(&at("sequentialInterval"), r.sequential_interval, &case["sequentialInterval"]);
        close(&at("chanceToBeat"), r.chance_to_beat, &case["chanceToBeat"]);
        close(&at("expectedLoss"), r.expected_loss, &case["expectedLoss"]);
        figures += 16;
    }
    let cases =
        ["comparisons", "srm", "cuped", "ratios"].iter().map(|k| f[*k].as_array().unwrap().len()).sum::<usize>();
    assert!(cases >= 20, "only {cases} fixtures");
    println!("# stats: {figures} figures of {cases} fixtures agree with {} to 1e-6 relative", f["source"]);
}

/// SplitMix64: a small, seeded generator, so the simulations give the same figures on
/// every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
    fn conversions(&mut self, n: u64, p: f64) -> u64 {
        (0..n).filter(|_| self.next() < p).count() as u64
    }
}

const RUNS: usize = 1000;

#[test]
fn aa_tests_give_the_stated_false_positive_rate() {
    let mut rng = Rng(7);
    let (mut fixed, mut sequential) = (0, 0);
    let (days, per_day, p) = (14u64, 300u64, 0.1);
    for _ in 0..RUNS {
        let (mut c, mut t) = (Sample::proportion(0, 0), Sample::proportion(0, 0));
        let mut rejected_sequentially = false;
        for _ in 0..days {
            c = Sample::proportion(c.n + per_day, c.sum as u64 + rng.conversions(per_day, p));
            t = Sample::proportion(t.n + per_day, t.sum as u64 + rng.conversions(per_day, p));
            // Looked at every day.
            rejected_sequentially |= compare(&c, &t, Kind::Proportion, ALPHA).sequential_p_value <= ALPHA;
        }
        fixed += usize::from(compare(&c, &t, Kind::Proportion, ALPHA).p_value <= ALPHA);
        sequential += usize::from(rejected_sequentially);
    }
    let (fixed, sequential) = (fixed as f64 / RUNS as f64, sequential as f64 / RUNS as f64);
    println!(
        "# stats: {RUNS} A/A tests of {} shoppers per arm: fixed-horizon false positives {:.1}%, \
         sequential checked daily for {days} days {:.1}%",
        days * per_day,
        fixed * 100.0,
        sequential * 100.0
    );
    assert!((fixed - 0.05).abs() <= 0.015, "fixed-horizon false-positive rate {fixed}");
    assert!(sequential <= 0.05, "sequential false-positive rate {sequential}");
}

/// CUPED keeps the error rate and removes variance: 1,000 A/A tests whose revenue depends
/// on the revenue before exposure.
#[test]
fn cuped_aa_tests_give_the_stated_false_positive_rate_with_less_variance() {
    let mut rng = Rng(13);
    let n = 1000u64;
    let (mut positives, mut reduction) = (0, 0.0);
    for _ in 0..RUNS {
        let mut arm = || {
            let mut g = Paired { y: Sample { n, sum: 0.0, sum_sq: 0.0 }, sum_x: 0.0, sum_x_sq: 0.0, sum_xy: 0.0 };
            for _ in 0..n {
                let x = if rng.next() < 0.4 { 100.0 * rng.next() } else { 0.0 };
                let noise: f64 = (0..12).map(|_| rng.next()).sum::<f64>() - 6.0;
                let y = 5.0 + 0.5 * x + 20.0 * noise;
                g.y.sum += y;
                g.y.sum_sq += y * y;
                g.sum_x += x;
                g.sum_x_sq += x * x;
                g.sum_xy += x * y;
            }
            g
        };
        let groups = [arm(), arm()];
        let (_, adjusted) = cuped(&groups).unwrap();
        positives += usize::from(compare(&adjusted[0], &adjusted[1], Kind::Mean, ALPHA).p_value <= ALPHA);
        let raw = groups[0].y.variance_of_mean(Kind::Mean) + groups[1].y.variance_of_mean(Kind::Mean);
        reduction += 1.0 - (adjusted[0].variance_of_mean(Kind::Mean) + adjusted[1].variance_of_mean(Kind::Mean)) / raw;
    }
    let (rate, reduction) = (positives as f64 / RUNS as f64, reduction / RUNS as f64);
    println!(
        "# stats: {RUNS} A/A tests with CUPED, {n} shoppers per arm: false positives {:.1}%, variance {:.0}% lower",
        rate * 100.0,
        reduction * 100.0
    );
    assert!((rate - 0.05).abs() <= 0.015, "CUPED false-positive rate {rate}");
    // Here 0.5x has a variance of 233 next to the noise's 400: x explains 37% of y's
    // variance, and CUPED must remove about that much.
    assert!((reduction - 233.3 / 633.3).abs() < 0.03, "variance reduction {reduction}");
}

#[test]
fn ab_tests_reach_the_stated_power() {
    use statrs::distribution::{ContinuousCDF, Normal};
    let (n, pc, pt) = (3000u64, 0.10, 0.12);
    let normal = Normal::standard();
    let se = (pc * (1.0 - pc) / n as f64 + pt * (1.0 - pt) / n as f64).sqrt();
    let z = normal.inverse_cdf(1.0 - ALPHA / 2.0);
    let stated = normal.cdf((pt - pc) / se - z) + normal.cdf(-(pt - pc) / se - z);
    let mut rng = Rng(11);
    let mut detected = 0;
    for _ in 0..RUNS {
        let c = Sample::proportion(n, rng.conversions(n, pc));
        let t = Sample::proportion(n, rng.conversions(n, pt));
        detected += usize::from(compare(&c, &t, Kind::Proportion, ALPHA).p_value <= ALPHA);
    }
    let power = detected as f64 / RUNS as f64;
    println!(
        "# stats: {RUNS} A/B tests, 10% vs 12% on {n} shoppers per arm: power {:.1}% (stated {:.1}%)",
        power * 100.0,
        stated * 100.0
    );
    assert!((power - stated).abs() <= 0.03, "power {power}, stated {stated}");
}
