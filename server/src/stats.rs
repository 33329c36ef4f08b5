//! Experiment statistics: each variation against the control (variation 0) on a metric
//! summarised per shopper.
//!
//! - Fixed horizon: a two-sided test of the difference (z for proportions, Welch's t for
//!   means) and its interval; the relative uplift's interval by the delta method.
//! - Sequential: the always-valid p-value and confidence sequence of the normal-mixture
//!   sequential probability ratio test (mSPRT), so checking every day does not inflate the
//!   false-positive rate.
//! - Bayesian: with flat priors and the normal approximation of each mean, the chance that
//!   the variation beats the control and the expected loss of choosing it.
//! - Sample ratio mismatch: a chi-squared goodness-of-fit test of shoppers per variation
//!   against the configured weights.
//! - Ratio metrics (average order value, click-through) by the delta method, compared with
//!   z; variance reduction (CUPED) with a pre-exposure covariate.
//! - Holm's step-down correction over the comparisons of one experiment.
//!
//! Distributions come from `statrs`; the formulas are in docs/results.md, and
//! `server/tests/stats.rs` checks every figure against SciPy (`tests/stats/fixtures.py`).

use statrs::distribution::{ChiSquared, Continuous, ContinuousCDF, Normal, StudentsT};

/// A metric summarised per shopper: `n` shoppers whose values add up to `sum`, their
/// squares to `sum_sq`. A conversion metric has values 0 or 1 (`sum == sum_sq`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    pub n: u64,
    pub sum: f64,
    pub sum_sq: f64,
}

/// Whether values are 0/1 (a rate) or any number (a mean).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Proportion,
    Mean,
}

impl Sample {
    pub fn proportion(n: u64, conversions: u64) -> Sample {
        Sample { n, sum: conversions as f64, sum_sq: conversions as f64 }
    }

    pub fn mean(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            self.sum / self.n as f64
        }
    }

    /// The variance of one shopper's value: `p(1-p)` for a rate, the sample variance
    /// (`n - 1`) for a mean.
    pub fn variance(&self, kind: Kind) -> f64 {
        let n = self.n as f64;
        let m = self.mean();
        match kind {
            Kind::Proportion => m * (1.0 - m),
            Kind::Mean if self.n < 2 => 0.0,
            Kind::Mean => ((self.sum_sq - n * m * m) / (n - 1.0)).max(0.0),
        }
    }

    /// The variance of the mean.
    pub fn variance_of_mean(&self, kind: Kind) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            self.variance(kind) / self.n as f64
        }
    }
}

/// The two-sided 95% level used throughout.
pub const ALPHA: f64 = 0.05;

fn normal() -> Normal {
    Normal::standard()
}

/// The quantile of the standard normal distribution.
fn z(q: f64) -> f64 {
    normal().inverse_cdf(q)
}

/// Wilson's score interval of a rate (level `1 - alpha`): sensible with few shoppers or a
/// rate near 0 or 1, where the normal interval is not.
pub fn wilson(n: u64, conversions: u64, alpha: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let (n, p) = (n as f64, conversions as f64 / n as f64);
    let z = z(1.0 - alpha / 2.0);
    let centre = (p + z * z / (2.0 * n)) / (1.0 + z * z / n);
    let half = z / (1.0 + z * z / n) * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// The interval of a mean (Student's t with `n - 1` degrees of freedom).
pub fn mean_interval(s: &Sample, alpha: f64) -> (f64, f64) {
    let m = s.mean();
    if s.n < 2 {
        return (m, m);
    }
    let se = s.variance_of_mean(Kind::Mean).sqrt();
    let t = StudentsT::new(0.0, 1.0, s.n as f64 - 1.0).map(|d| d.inverse_cdf(1.0 - alpha / 2.0)).unwrap_or(f64::NAN);
    (m - t * se, m + t * se)
}

/// A variation against the control on one metric.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// Treatment minus control, and its fixed-horizon interval.
    pub absolute: f64,
    pub absolute_interval: (f64, f64),
    /// Treatment over control minus 1 (`NaN` when the control's mean is 0), delta method.
    pub relative: f64,
    pub relative_interval: (f64, f64),
    /// Fixed-horizon two-sided p-value, and after Holm's correction (set by [`holm`]).
    pub p_value: f64,
    pub p_value_adjusted: f64,
    /// Always-valid p-value and confidence sequence (mSPRT, mixing variance `tau_sq`).
    pub sequential_p_value: f64,
    pub sequential_interval: (f64, f64),
    /// Bayesian: P(treatment > control), and the expected loss of choosing the treatment
    /// (in the metric's unit).
    pub chance_to_beat: f64,
    pub expected_loss: f64,
}

/// Welch-Satterthwaite degrees of freedom.
fn welch_df(vc: f64, nc: f64, vt: f64, nt: f64) -> f64 {
    let (a, b) = (vc / nc, vt / nt);
    (a + b).powi(2) / (a * a / (nc - 1.0) + b * b / (nt - 1.0))
}

/// The mSPRT's mixing variance for a control mean `m`: effects of about 10% of the control
/// are the ones the test is tuned to find soonest (any value keeps the error guarantee).
pub fn default_tau_sq(control_mean: f64) -> f64 {
    (0.1 * control_mean.abs()).max(1e-6).powi(2)
}

/// Compares `treatment` with `control`.
pub fn compare(control: &Sample, treatment: &Sample, kind: Kind, alpha: f64) -> Comparison {
    let (vc, vt) = (control.variance_of_mean(kind), treatment.variance_of_mean(kind));
    let test = match kind {
        // z for rates, Welch's t for means.
        Kind::Proportion => Test::Z,
        Kind::Mean => {
            Test::T(welch_df(control.variance(kind), control.n as f64, treatment.variance(kind), treatment.n as f64))
        }
    };
    compare_estimates((control.mean(), vc), (treatment.mean(), vt), test, alpha)
}

/// The fixed-horizon test of a difference of two estimates.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Test {
    /// The normal distribution.
    Z,
    /// Student's t with these degrees of freedom.
    T(f64),
}

/// Compares two estimates, each given as its value and the variance of that value: the
/// figures of [`Comparison`] for any estimate that is about normal (a rate, a mean, a ratio
/// by the delta method).
pub fn compare_estimates(control: (f64, f64), treatment: (f64, f64), test: Test, alpha: f64) -> Comparison {
    let ((mc, vc), (mt, vt)) = (control, treatment);
    let d = mt - mc;
    let v = vc + vt;
    let se = v.sqrt();
    let (p_value, half) = if se == 0.0 {
        (if d == 0.0 { 1.0 } else { 0.0 }, 0.0)
    } else {
        match test {
            Test::Z => (2.0 * normal().sf((d / se).abs()), z(1.0 - alpha / 2.0) * se),
            Test::T(df) => match StudentsT::new(0.0, 1.0, df) {
                Ok(t) => (2.0 * t.sf((d / se).abs()), t.inverse_cdf(1.0 - alpha / 2.0) * se),
                Err(_) => (f64::NAN, f64::NAN),
            },
        }
    };
    // Relative uplift: delta method on mt / mc.
    let (relative, relative_interval) = if mc == 0.0 {
        (f64::NAN, (f64::NAN, f64::NAN))
    } else {
        let r = mt / mc - 1.0;
        let var = vt / (mc * mc) + mt * mt * vc / mc.powi(4);
        let h = z(1.0 - alpha / 2.0) * var.sqrt();
        (r, (r - h, r + h))
    };
    // Sequential: normal-mixture SPRT.
    let tau_sq = default_tau_sq(mc);
    let (sequential_p_value, sequential_interval) = if v == 0.0 {
        (if d == 0.0 { 1.0 } else { 0.0 }, (d, d))
    } else {
        let log_lambda = 0.5 * (v / (v + tau_sq)).ln() + tau_sq * d * d / (2.0 * v * (v + tau_sq));
        let p = (-log_lambda).exp().min(1.0);
        let h = (v * (v + tau_sq) / tau_sq * (((v + tau_sq) / v).ln() + 2.0 * (1.0 / alpha).ln())).sqrt();
        (p, (d - h, d + h))
    };
    // Bayesian: D ~ N(d, v).
    let (chance_to_beat, expected_loss) = if se == 0.0 {
        (
            if d > 0.0 {
                1.0
            } else if d < 0.0 {
                0.0
            } else {
                0.5
            },
            (-d).max(0.0),
        )
    } else {
        let n = normal();
        (n.cdf(d / se), se * n.pdf(d / se) - d * n.cdf(-d / se))
    };
    Comparison {
        absolute: d,
        absolute_interval: (d - half, d + half),
        relative,
        relative_interval,
        p_value,
        p_value_adjusted: p_value,
        sequential_p_value,
        sequential_interval,
        chance_to_beat,
        expected_loss,
    }
}

/// A metric `y` with a pre-exposure covariate `x`, summarised per shopper: the sums of `x`,
/// `x²` and `x·y` next to `y`'s sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Paired {
    pub y: Sample,
    pub sum_x: f64,
    pub sum_x_sq: f64,
    pub sum_xy: f64,
}

/// Variance reduction (CUPED): with `θ = cov(x, y) / var(x)` over the shoppers of every
/// variation together and `x̄` their mean covariate, each shopper's value becomes
/// `y - θ(x - x̄)`. Returns `θ` and each variation's sample of adjusted values (compare them
/// as means); `None` when `x` does not vary (no pre-exposure data: nothing to reduce).
pub fn cuped(groups: &[Paired]) -> Option<(f64, Vec<Sample>)> {
    let n: f64 = groups.iter().map(|g| g.y.n as f64).sum();
    let (sx, sy) = (groups.iter().map(|g| g.sum_x).sum::<f64>(), groups.iter().map(|g| g.y.sum).sum::<f64>());
    let sxx: f64 = groups.iter().map(|g| g.sum_x_sq).sum();
    let sxy: f64 = groups.iter().map(|g| g.sum_xy).sum();
    let var_x = sxx - sx * sx / n;
    if n < 2.0 || var_x <= 1e-12 * sxx.max(1.0) {
        return None;
    }
    let theta = (sxy - sx * sy / n) / var_x;
    let c = theta * sx / n;
    let adjusted = groups
        .iter()
        .map(|g| {
            let k = g.y.n as f64;
            // y' = y - θx + c, summed and squared-and-summed from the sums.
            let sum = g.y.sum - theta * g.sum_x + k * c;
            let sum_sq = g.y.sum_sq + theta * theta * g.sum_x_sq + k * c * c - 2.0 * theta * g.sum_xy
                + 2.0 * c * g.y.sum
                - 2.0 * theta * c * g.sum_x;
            Sample { n: g.y.n, sum, sum_sq }
        })
        .collect();
    Some((theta, adjusted))
}

/// A ratio metric summarised per shopper: the numerator's sample (`n` shoppers, sums of
/// their values and squares), the sums of the denominator's values and squares, and of
/// numerator times denominator.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ratio {
    pub numerator: Sample,
    pub den_sum: f64,
    pub den_sum_sq: f64,
    pub cross: f64,
}

impl Ratio {
    /// `ΣN / ΣD` and its variance by the delta method:
    /// `(var(N̄) - 2R·cov(N̄, D̄) + R²·var(D̄)) / D̄²`, with sample (co)variances (`n - 1`);
    /// `None` without a shopper or when the denominator adds up to 0.
    pub fn estimate(&self) -> Option<(f64, f64)> {
        let n = self.numerator.n as f64;
        if self.numerator.n == 0 || self.den_sum == 0.0 {
            return None;
        }
        let (mn, md) = (self.numerator.sum / n, self.den_sum / n);
        let r = mn / md;
        if self.numerator.n < 2 {
            return Some((r, 0.0));
        }
        let var_n = self.numerator.variance(Kind::Mean);
        let var_d = ((self.den_sum_sq - n * md * md) / (n - 1.0)).max(0.0);
        let cov = (self.cross - n * mn * md) / (n - 1.0);
        Some((r, ((var_n - 2.0 * r * cov + r * r * var_d) / (n * md * md)).max(0.0)))
    }
}

/// Holm's step-down adjustment of `p` (family-wise error rate), in place.
pub fn holm(p: &mut [f64]) {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut running: f64 = 0.0;
    let mut adjusted = vec![0.0; m];
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * p[i]).min(1.0));
        adjusted[i] = running;
    }
    p.copy_from_slice(&adjusted);
}

/// The sample ratio mismatch test: the chi-squared statistic and p-value of the shoppers
/// per variation against the configured weights (normalised); `None` with fewer than two
/// variations or no shopper.
pub fn srm(shoppers: &[u64], weights: &[f64]) -> Option<(f64, f64)> {
    let total: f64 = shoppers.iter().map(|&n| n as f64).sum();
    let weight_sum: f64 = weights.iter().sum();
    if shoppers.len() < 2 || shoppers.len() != weights.len() || total == 0.0 || weight_sum <= 0.0 {
        return None;
    }
    let mut chi2 = 0.0;
    for (&n, &w) in shoppers.iter().zip(weights) {
        let expected = total * w / weight_sum;
        if expected <= 0.0 {
            if n > 0 {
                return Some((f64::INFINITY, 0.0));
            }
            continue;
        }
        chi2 += (n as f64 - expected).powi(2) / expected;
    }
    let dist = ChiSquared::new((shoppers.len() - 1) as f64).ok()?;
    Some((chi2, dist.sf(chi2)))
}

/// Below this SRM p-value the split is called broken (a warning, as the peers do).
pub const SRM_THRESHOLD: f64 = 0.001;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holm_adjusts_step_down_and_keeps_order() {
        let mut p = [0.01, 0.04, 0.03, 0.005];
        holm(&mut p);
        assert_eq!(p, [0.03, 0.06, 0.06, 0.02]);
    }

    #[test]
    fn a_difference_of_zero_is_not_significant() {
        let s = Sample::proportion(1000, 100);
        let c = compare(&s, &s, Kind::Proportion, ALPHA);
        assert_eq!(c.absolute, 0.0);
        assert!((c.p_value - 1.0).abs() < 1e-12);
        assert!((c.chance_to_beat - 0.5).abs() < 1e-12);
        assert!(c.sequential_p_value <= 1.0);
    }

    #[test]
    fn srm_flags_a_broken_split() {
        let (_, p) = srm(&[5000, 5000], &[0.5, 0.5]).unwrap();
        assert!((p - 1.0).abs() < 1e-12);
        let (_, p) = srm(&[5000, 4600], &[0.5, 0.5]).unwrap();
        assert!(p < SRM_THRESHOLD, "{p}");
        assert_eq!(srm(&[10], &[1.0]), None);
    }
}
