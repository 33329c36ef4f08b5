"""Reference figures for the experiment statistics (server/src/stats.rs), computed with
SciPy's own distributions, tests and integrator: server/tests/stats.rs checks the Rust code
against them to 1e-6 relative.

    .tailor/py/bin/python tests/stats/fixtures.py > tests/stats/fixtures.json   # regenerate
    .tailor/py/bin/python tests/stats/fixtures.py --check                       # run by scripts/test.sh

Written from the definitions in docs/results.md, not from the Rust code: where SciPy has
the test (Welch's t, Wilson's interval, chi-squared), SciPy's function is used; the
expected loss is integrated numerically; the mSPRT and the delta method, which SciPy does
not have, follow their published formulas. CUPED is computed from per-shopper data that
NumPy draws (θ from NumPy's covariance, each shopper's value adjusted, SciPy's Welch t-test
on the adjusted values); the Rust code gets only the sums of those shoppers. Ratio metrics
(order value, click-through) likewise: NumPy's covariance of per-shopper numerators and
denominators in the delta method's formula.
"""
import json
import math
import sys

import numpy as np
import scipy
from scipy import integrate, stats

ALPHA = 0.05

PROPORTIONS = [  # (control shoppers, conversions, treatment shoppers, conversions)
    (1000, 100, 1000, 120), (5000, 250, 5000, 300), (20000, 600, 20000, 640),
    (800, 40, 900, 39), (12000, 1800, 11800, 1850), (300, 30, 310, 45),
    (50000, 1000, 50000, 1100), (2500, 500, 2600, 480), (100, 10, 100, 10),
    (4000, 80, 4100, 130), (150, 3, 160, 9), (70000, 7000, 69000, 7150),
]
MEANS = [  # per-shopper values of control and treatment, as (n, sum, sum of squares)
    (1000, 4250.0, 98000.0, 1000, 4600.0, 110500.0),
    (5000, 21000.0, 420000.0, 5100, 22900.0, 455000.0),
    (300, 1500.0, 40000.0, 280, 1300.0, 33000.0),
    (20000, 50000.0, 1.2e6, 20000, 51500.0, 1.26e6),
    (800, 0.0 + 3900.0, 95000.0, 820, 4300.0, 101000.0),
    (60, 250.0, 5200.0, 75, 420.0, 9800.0),
    (12000, 99000.0, 4.1e6, 11900, 97000.0, 3.9e6),
    (2500, 2600.0, 8100.0, 2450, 2700.0, 8600.0),
    (40000, 180000.0, 3.3e6, 40500, 184000.0, 3.4e6),
    (500, 9000.0, 410000.0, 520, 9900.0, 450000.0),
]
SRM = [  # (shoppers per variation, weights)
    ([5000, 5000], [0.5, 0.5]), ([5000, 4600], [0.5, 0.5]), ([3300, 3350, 3280], [1, 1, 1]),
    ([9000, 1050], [0.9, 0.1]), ([2000, 2100, 4100], [0.25, 0.25, 0.5]), ([120, 80], [0.5, 0.5]),
]


def tau_sq(control_mean):
    return max(0.1 * abs(control_mean), 1e-6) ** 2


def common(mc, vc, mt, vt):
    """Relative uplift (delta method), mSPRT and Bayesian figures from means and variances of the means."""
    d, v = mt - mc, vc + vt
    z = stats.norm.ppf(1 - ALPHA / 2)
    r = mt / mc - 1
    rh = z * math.sqrt(vt / mc**2 + mt**2 * vc / mc**4)
    t2 = tau_sq(mc)
    lam = math.sqrt(v / (v + t2)) * math.exp(t2 * d * d / (2 * v * (v + t2)))
    sh = math.sqrt(v * (v + t2) / t2 * (math.log((v + t2) / v) + 2 * math.log(1 / ALPHA)))
    se = math.sqrt(v)
    posterior = stats.norm(loc=d, scale=se)
    # E[max(-D, 0)] by numerical integration over the posterior of D.
    loss, _ = integrate.quad(lambda x: -x * posterior.pdf(x), d - 40 * se, 0.0, epsabs=0, epsrel=1e-12, limit=200)
    return {
        "relative": r, "relativeInterval": [r - rh, r + rh],
        "sequentialPValue": min(1.0, 1 / lam), "sequentialInterval": [d - sh, d + sh],
        "chanceToBeat": float(posterior.sf(0.0)), "expectedLoss": max(loss, 0.0),
    }


def proportion_case(nc, xc, nt, xt):
    pc, pt = xc / nc, xt / nt
    vc, vt = pc * (1 - pc) / nc, pt * (1 - pt) / nt
    d, se = pt - pc, math.sqrt(vc + vt)
    z = stats.norm.ppf(1 - ALPHA / 2)
    wc = stats.binomtest(xc, nc).proportion_ci(1 - ALPHA, method="wilson")
    wt = stats.binomtest(xt, nt).proportion_ci(1 - ALPHA, method="wilson")
    out = {
        "kind": "proportion", "control": [nc, xc], "treatment": [nt, xt],
        "controlInterval": [wc.low, wc.high], "treatmentInterval": [wt.low, wt.high],
        "absolute": d, "absoluteInterval": [d - z * se, d + z * se],
        "pValue": float(2 * stats.norm.sf(abs(d) / se)),
    }
    out.update(common(pc, vc, pt, vt))
    return out


def mean_case(nc, sc, qc, nt, st, qt):
    mc, mt = sc / nc, st / nt
    varc, vart = (qc - nc * mc * mc) / (nc - 1), (qt - nt * mt * mt) / (nt - 1)
    res = stats.ttest_ind_from_stats(mt, math.sqrt(vart), nt, mc, math.sqrt(varc), nc, equal_var=False)
    a, b = varc / nc, vart / nt
    df = (a + b) ** 2 / (a * a / (nc - 1) + b * b / (nt - 1))
    half = stats.t.ppf(1 - ALPHA / 2, df) * math.sqrt(a + b)
    ci = stats.t.ppf(1 - ALPHA / 2, nc - 1) * math.sqrt(a)
    out = {
        "kind": "mean", "control": [nc, sc, qc], "treatment": [nt, st, qt],
        "controlInterval": [mc - ci, mc + ci],
        "absolute": mt - mc, "absoluteInterval": [mt - mc - half, mt - mc + half],
        "pValue": float(res.pvalue),
    }
    out.update(common(mc, a, mt, b))
    return out


def srm_case(shoppers, weights):
    w = np.array(weights, dtype=float)
    expected = np.array(shoppers).sum() * w / w.sum()
    res = stats.chisquare(shoppers, expected)
    return {"shoppers": shoppers, "weights": weights, "statistic": float(res.statistic), "pValue": float(res.pvalue)}


CUPED = [  # (seed, shoppers per arm, metric, effect): per-shopper data drawn by NumPy
    (1, 2000, "revenue", 1.5), (2, 5000, "revenue", 0.0), (3, 800, "revenue", 4.0),
    (4, 3000, "conversion", 0.02), (5, 6000, "conversion", 0.0), (6, 1500, "conversion", 0.05),
]


def cuped_arm(rng, n, metric, effect):
    """Per-shopper (pre-exposure covariate, metric) drawn for one arm."""
    if metric == "revenue":
        x = np.round(rng.gamma(0.6, 40.0, n) * (rng.random(n) < 0.4), 2)
        y = np.round(np.maximum(0.0, 5.0 + 0.5 * x + rng.normal(0.0, 20.0, n) + effect), 2)
    else:
        x = (rng.random(n) < 0.15).astype(float)
        y = (rng.random(n) < 0.04 + 0.10 * x + effect).astype(float)
    return x, y


def cuped_case(seed, n, metric, effect):
    rng = np.random.default_rng(seed)
    (xc, yc), (xt, yt) = cuped_arm(rng, n, metric, 0.0), cuped_arm(rng, n, metric, effect)
    x, y = np.concatenate([xc, xt]), np.concatenate([yc, yt])
    theta = float(np.cov(x, y, ddof=1)[0, 1] / np.var(x, ddof=1))
    adjust = lambda xs, ys: ys - theta * (xs - x.mean())  # noqa: E731
    ac, at = adjust(xc, yc), adjust(xt, yt)
    res = stats.ttest_ind(at, ac, equal_var=False)
    a, b = np.var(ac, ddof=1) / n, np.var(at, ddof=1) / n
    df = (a + b) ** 2 / (a * a / (n - 1) + b * b / (n - 1))
    d = float(at.mean() - ac.mean())
    half = float(stats.t.ppf(1 - ALPHA / 2, df) * math.sqrt(a + b))
    raw = np.var(yc, ddof=1) / n + np.var(yt, ddof=1) / n
    summary = lambda xs, ys: [len(ys), float(ys.sum()), float((ys * ys).sum()),  # noqa: E731
                              float(xs.sum()), float((xs * xs).sum()), float((xs * ys).sum())]
    return {
        "metric": metric, "control": summary(xc, yc), "treatment": summary(xt, yt),
        "theta": theta, "absolute": d, "absoluteInterval": [d - half, d + half],
        "pValue": float(res.pvalue), "varianceReduction": float(1 - (a + b) / raw),
    }


RATIOS = [  # (seed, shoppers per arm, metric, effect): per-shopper numerator and denominator
    (7, 3000, "orderValue", 0.0), (8, 1200, "orderValue", 6.0), (9, 8000, "clickThrough", 0.0),
    (10, 2500, "clickThrough", 0.03),
]


def ratio_arm(rng, n, metric, effect):
    if metric == "orderValue":  # orders per shopper, their revenue
        d = rng.poisson(0.3, n).astype(float)
        num = np.array([np.round(rng.gamma(2.0, 20.0 + effect, int(k)), 2).sum() for k in d])
    else:  # impressions per shopper, clicks among them
        d = rng.poisson(4.0, n).astype(float)
        num = rng.binomial(d.astype(int), 0.08 + effect).astype(float)
    return num, d


def ratio_estimate(num, d):
    """ΣN/ΣD and its variance by the delta method, from the per-shopper values."""
    n = len(num)
    mn, md = num.mean(), d.mean()
    r = mn / md
    cov = np.cov(num, d, ddof=1)
    return r, (cov[0, 0] - 2 * r * cov[0, 1] + r * r * cov[1, 1]) / (n * md * md)


def ratio_case(seed, n, metric, effect):
    rng = np.random.default_rng(seed)
    (nc, dc), (nt, dt) = ratio_arm(rng, n, metric, 0.0), ratio_arm(rng, n, metric, effect)
    (rc, vc), (rt, vt) = ratio_estimate(nc, dc), ratio_estimate(nt, dt)
    d, se = rt - rc, math.sqrt(vc + vt)
    z = stats.norm.ppf(1 - ALPHA / 2)
    summary = lambda num, den: [len(num), float(num.sum()), float((num * num).sum()),  # noqa: E731
                                float(den.sum()), float((den * den).sum()), float((num * den).sum())]
    out = {
        "metric": metric, "control": summary(nc, dc), "treatment": summary(nt, dt),
        "controlRatio": [rc, vc], "treatmentRatio": [rt, vt],
        "absolute": d, "absoluteInterval": [d - z * se, d + z * se],
        "pValue": float(2 * stats.norm.sf(abs(d) / se)),
    }
    out.update(common(rc, vc, rt, vt))
    return out


def fixtures():
    return {
        "source": f"tests/stats/fixtures.py with SciPy {scipy.__version__}, NumPy {np.__version__}",
        "alpha": ALPHA,
        "comparisons": [proportion_case(*c) for c in PROPORTIONS] + [mean_case(*c) for c in MEANS],
        "srm": [srm_case(*c) for c in SRM],
        "cuped": [cuped_case(*c) for c in CUPED],
        "ratios": [ratio_case(*c) for c in RATIOS],
    }


def close(a, b, path):
    if isinstance(a, dict):
        return all(close(a[k], b.get(k), f"{path}.{k}") for k in a if k != "source")
    if isinstance(a, list):
        return len(a) == len(b) and all(close(x, y, f"{path}[{i}]") for i, (x, y) in enumerate(zip(a, b)))
    if isinstance(a, float) and b is not None and abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1e-12):
        return True
    if a == b:
        return True
    print(f"{path}: committed {b}, SciPy now {a}", file=sys.stderr)
    return False


if __name__ == "__main__":
    now = fixtures()
    if "--check" in sys.argv:
        with open("tests/stats/fixtures.json") as f:
            committed = json.load(f)
        if not close(now, committed, "fixtures"):
            sys.exit("tests/stats/fixtures.json differs from what SciPy computes now: regenerate it")
        n = sum(len(now[k]) for k in ("comparisons", "srm", "cuped", "ratios"))
        print(f"tests/stats/fixtures.json: {n} cases agree with SciPy {scipy.__version__}")
    else:
        print(json.dumps(now, indent=1))
