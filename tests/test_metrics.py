"""Metrics with intervals, each against an independent reference: a slow direct DeLong,
the bootstrap, scikit-learn, root finding, and a published meta-analysis."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from fedlab import metrics
from fedlab._validation import InvalidParameterError
from fedlab.metrics import (
    Evaluator,
    auc_difference,
    auc_interval,
    calibration_intercept,
    calibration_slope,
    delong_covariance,
    observed_expected,
    pool_site_metrics,
    random_effects,
    site_metrics,
    wilson_interval,
)

Z = 1.959963984540054


def _binormal(n, prevalence, separation, rng, *, rounded=None):
    """Outcomes and scores whose true AUC is Phi(separation / sqrt(2))."""
    y = (rng.random(n) < prevalence).astype(int)
    y[:2] = [0, 1]
    score = rng.normal(size=n) + separation * y
    return y, (np.round(score, rounded) if rounded is not None else score)


def _risks(n, rng, *, prevalence=0.2, slope=1.0, shift=0.0):
    """Risks from a logistic model and outcomes drawn from a recalibrated version of it."""
    x = rng.normal(size=n)
    lp = math.log(prevalence / (1 - prevalence)) + 1.2 * x
    proba = 1 / (1 + np.exp(-lp))
    y = (rng.random(n) < 1 / (1 + np.exp(-(shift + slope * lp)))).astype(int)
    return y, proba


def _slow_delong(y, scores):
    """DeLong 1988 written out: psi over every (event, non-event) pair."""
    y = np.asarray(y)
    scores = np.atleast_2d(scores)
    events, others = scores[:, y == 1], scores[:, y == 0]
    m, n = events.shape[1], others.shape[1]
    v10, v01 = [], []
    for s_x, s_y in zip(events, others):
        psi = (s_x[:, None] > s_y[None, :]) + 0.5 * (s_x[:, None] == s_y[None, :])
        v10.append(psi.mean(axis=1))
        v01.append(psi.mean(axis=0))
    v10, v01 = np.array(v10), np.array(v01)
    aucs = v10.mean(axis=1)
    k = len(scores)
    s10 = np.array([[np.sum((v10[a] - aucs[a]) * (v10[b] - aucs[b])) / (m - 1)
                     for b in range(k)] for a in range(k)])
    s01 = np.array([[np.sum((v01[a] - aucs[a]) * (v01[b] - aucs[b])) / (n - 1)
                     for b in range(k)] for a in range(k)])
    return aucs, s10 / m + s01 / n


# --- AUC ---------------------------------------------------------------------------------


def test_roc_auc_equals_scikit_learn_with_ties():
    rng = np.random.default_rng(0)
    y, score = _binormal(300, 0.2, 1.0, rng, rounded=1)
    assert metrics.roc_auc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)


@pytest.mark.parametrize("rounded", [None, 0, 1])
def test_fast_delong_equals_the_direct_pairwise_formula(rounded):
    rng = np.random.default_rng(1)
    y, a = _binormal(150, 0.3, 1.0, rng, rounded=rounded)
    b = np.round(a + rng.normal(size=len(a)), 1 if rounded is not None else 8)
    aucs, cov = delong_covariance(y, np.vstack([a, b]))
    ref_aucs, ref_cov = _slow_delong(y, np.vstack([a, b]))
    np.testing.assert_allclose(aucs, ref_aucs, rtol=1e-12)
    np.testing.assert_allclose(cov, ref_cov, rtol=1e-10)
    np.testing.assert_allclose(aucs, [roc_auc_score(y, a), roc_auc_score(y, b)], rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 5)), min_size=4, max_size=30))
def test_fast_delong_equals_direct_formula_on_heavily_tied_scores(pairs):
    y = np.array([p[0] for p in pairs])
    score = np.array([p[1] for p in pairs], dtype=float)
    if min(y.sum(), len(y) - y.sum()) < 2:
        return
    aucs, cov = delong_covariance(y, score)
    ref_aucs, ref_cov = _slow_delong(y, score)
    np.testing.assert_allclose(aucs, ref_aucs, atol=1e-12)
    np.testing.assert_allclose(cov, ref_cov, atol=1e-12)


def test_delong_standard_error_agrees_with_the_bootstrap():
    rng = np.random.default_rng(2)
    y, score = _binormal(400, 0.15, 1.2, rng)
    auc, se, _ = auc_interval(y, score)
    boot = []
    for _ in range(400):
        i = rng.integers(0, len(y), len(y))
        if 0 < y[i].sum() < len(i):
            boot.append(roc_auc_score(y[i], score[i]))
    assert se == pytest.approx(np.std(boot, ddof=1), rel=0.15)


def test_auc_interval_is_delong_on_the_logit_scale():
    rng = np.random.default_rng(3)
    y, score = _binormal(200, 0.2, 1.0, rng)
    auc, se, (low, high) = auc_interval(y, score)
    _, cov = _slow_delong(y, score)
    assert se == pytest.approx(math.sqrt(cov[0, 0]), rel=1e-10)
    logit = math.log(auc / (1 - auc))
    assert math.log(low / (1 - low)) == pytest.approx(logit - Z * se / (auc * (1 - auc)))
    assert math.log(high / (1 - high)) == pytest.approx(logit + Z * se / (auc * (1 - auc)))
    _, _, (low90, high90) = auc_interval(y, score, level=0.9)
    assert low < low90 < auc < high90 < high


def test_auc_interval_covers_the_true_auc_about_95_percent_of_the_time():
    rng = np.random.default_rng(4)
    separation = 1.5
    truth = 0.5 * (1 + math.erf(separation / 2))  # Phi(separation / sqrt(2))
    covered = 0
    trials = 400
    for _ in range(trials):
        y, score = _binormal(120, 0.25, separation, rng)
        _, _, (low, high) = auc_interval(y, score)
        covered += low <= truth <= high
    assert 0.92 <= covered / trials <= 0.98


def test_auc_interval_is_nan_where_no_interval_exists():
    auc, se, ci = auc_interval([0, 0, 0], [0.1, 0.2, 0.3])  # one class
    assert math.isnan(auc) and math.isnan(se) and all(map(math.isnan, ci))
    auc, se, ci = auc_interval([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4])  # perfect separation
    assert auc == 1.0 and se == 0.0 and all(map(math.isnan, ci))
    auc, se, ci = auc_interval([0, 0, 1], [0.1, 0.4, 0.3])  # a single event: no variance
    assert auc == 0.5 and math.isnan(se) and all(map(math.isnan, ci))


def test_delong_refuses_bad_input():
    with pytest.raises(ValueError, match="events and non-events"):
        delong_covariance([1, 1, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="shapes"):
        delong_covariance([0, 1, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="level"):
        auc_interval([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4], level=95)
    with pytest.raises(InvalidParameterError, match="same shape"):
        auc_interval([0, 0, 0], [0.1, 0.2])


def test_auc_difference_is_the_paired_delong_test():
    rng = np.random.default_rng(5)
    y, a = _binormal(300, 0.2, 1.2, rng)
    b = a + rng.normal(scale=1.0, size=len(a))  # a noisier version of model a
    d = auc_difference(y, a, b)
    aucs, cov = _slow_delong(y, np.vstack([a, b]))
    se = math.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    assert d["auc_a"] == pytest.approx(aucs[0]) and d["auc_b"] == pytest.approx(aucs[1])
    assert d["difference"] == pytest.approx(aucs[0] - aucs[1])
    assert d["se"] == pytest.approx(se, rel=1e-10)
    assert d["ci"] == pytest.approx((d["difference"] - Z * se, d["difference"] + Z * se))
    z = d["difference"] / se
    assert d["p_value"] == pytest.approx(math.erfc(abs(z) / math.sqrt(2)), rel=1e-9)


def test_paired_difference_is_tighter_than_two_separate_intervals_and_matches_bootstrap():
    rng = np.random.default_rng(6)
    y, a = _binormal(300, 0.2, 1.2, rng)
    b = a + rng.normal(scale=0.4, size=len(a))
    d = auc_difference(y, a, b)
    se_a, se_b = auc_interval(y, a)[1], auc_interval(y, b)[1]
    assert d["se"] < 0.6 * math.hypot(se_a, se_b)
    boot = []
    for _ in range(400):
        i = rng.integers(0, len(y), len(y))
        boot.append(roc_auc_score(y[i], a[i]) - roc_auc_score(y[i], b[i]))
    assert d["se"] == pytest.approx(np.std(boot, ddof=1), rel=0.15)


def test_auc_difference_of_a_model_with_itself_is_zero_with_p_one():
    y = [0, 0, 1, 0, 1, 1]
    score = [0.1, 0.5, 0.4, 0.2, 0.8, 0.6]
    d = auc_difference(y, score, score)
    assert d["difference"] == 0.0 and d["p_value"] == pytest.approx(1.0)
    assert d["ci"] == pytest.approx((0.0, 0.0), abs=1e-7)


# --- accuracy and calibration ------------------------------------------------------------


@pytest.mark.parametrize("k, n", [(0, 10), (3, 10), (10, 10), (412, 500), (1, 7)])
def test_wilson_bounds_solve_the_score_equation(k, n):
    low, high = wilson_interval(k, n)
    rate = k / n

    def score(p):
        return abs(rate - p) - Z * math.sqrt(p * (1 - p) / n)

    for bound, bracket in ((low, (1e-12, rate - 1e-12)), (high, (rate + 1e-12, 1 - 1e-12))):
        if bracket[0] >= bracket[1]:  # 0 or n successes: the bound is the edge itself
            assert bound == pytest.approx(rate, abs=1e-12)
        else:
            assert bound == pytest.approx(brentq(score, *bracket, xtol=1e-14), abs=1e-9)


def test_wilson_interval_works_on_arrays():
    low, high = wilson_interval(np.array([0, 5]), np.array([10, 10]))
    assert low.shape == (2,) and np.all(low <= high)


def test_observed_expected_and_its_poisson_interval():
    rng = np.random.default_rng(7)
    y, p = _risks(500, rng)
    oe, (low, high) = observed_expected(y, p)
    o, e = y.sum(), p.sum()
    assert oe == pytest.approx(o / e)
    assert math.log(high / oe) == pytest.approx(Z / math.sqrt(o))
    assert math.log(oe / low) == pytest.approx(Z / math.sqrt(o))
    oe, (low, high) = observed_expected([0, 0, 0, 0], [0.1, 0.2, 0.3, 0.4])
    # no event: the exact Poisson upper limit, -log(0.025) = 3.689 expected events
    assert oe == 0.0 and low == 0.0 and high == pytest.approx(3.6889 / 1.0, rel=1e-4)
    assert all(map(math.isnan, observed_expected([0, 1], [0.0, 0.0])[1]))


def test_calibration_slope_equals_unpenalized_logistic_regression_on_the_logit():
    rng = np.random.default_rng(8)
    y, p = _risks(600, rng, slope=0.7, shift=0.3)
    slope, se, (low, high) = calibration_slope(y, p)
    logit = np.log(p / (1 - p))
    ref = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(logit[:, None], y)
    assert slope == pytest.approx(ref.coef_[0, 0], rel=1e-6)
    # the standard error from the curvature of the log-likelihood at its maximum
    a = ref.intercept_[0]

    def loglik(b):
        eta = a + b * logit
        return np.sum(y * eta - np.logaddexp(0, eta))

    h = 1e-4
    d2 = (loglik(slope + h) - 2 * loglik(slope) + loglik(slope - h)) / h**2
    x = np.column_stack([np.ones_like(logit), logit])
    w = 1 / (1 + np.exp(-(x @ [a, slope])))
    info = x.T @ (x * (w * (1 - w))[:, None])
    assert -d2 == pytest.approx(info[1, 1], rel=1e-3)  # the Hessian the SE comes from
    assert se == pytest.approx(math.sqrt(np.linalg.inv(info)[1, 1]), rel=1e-6)
    assert (low, high) == pytest.approx((slope - Z * se, slope + Z * se))
    assert low < 0.7 < high  # recovers the slope the outcomes were drawn with


def test_calibration_slope_of_a_broken_models_extreme_risks_is_still_the_maximum():
    # Regression: risks 1e-10 .. 1 - 1e-10 (a poisoned model, lesson 08) made the full
    # Newton step from slope 1 overflow and the information matrix singular.
    rng = np.random.default_rng(10)
    logit = rng.normal(scale=12.0, size=300)
    y = (rng.random(300) < 1 / (1 + np.exp(-0.1 * logit))).astype(float)
    p = 1 / (1 + np.exp(-logit))
    slope, se, _ = calibration_slope(y, p)
    clipped = np.clip(p, 1e-15, 1 - 1e-15)
    ref = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(
        np.log(clipped / (1 - clipped))[:, None], y)
    assert slope == pytest.approx(ref.coef_[0, 0], rel=1e-6)
    assert 0 < se < 0.1
    intercept, se, _ = calibration_intercept(y, p)
    offset = np.log(clipped / (1 - clipped))
    score = np.sum(y - 1 / (1 + np.exp(-(intercept + offset))))
    assert abs(score) < 1e-8 and 0 < se < 1  # the likelihood's maximum: the score is 0


def test_calibration_of_a_model_that_only_says_almost_0_or_almost_1():
    # Regression: a poisoned model (lesson 08's dashboard, four attackers of five) gives
    # risks of 1e-15 and 1 - 1e-15 only; the start at slope 1 has no curvature to use.
    y = np.r_[np.ones(70), np.zeros(581), np.ones(14), np.zeros(85)]
    p = np.r_[np.full(651, 1 - 1e-16), np.full(99, 1e-16)]
    slope, se, _ = calibration_slope(y, p)
    logit = np.log(np.clip(p, 1e-15, 1 - 1e-15) / (1 - np.clip(p, 1e-15, 1 - 1e-15)))
    # two groups, two parameters: the fit reproduces each group's event rate exactly
    x = logit[[0, -1]]
    rates = np.array([70 / 651, 14 / 99])
    expected = np.diff(np.log(rates / (1 - rates)))[0] / np.diff(x)[0]
    assert slope == pytest.approx(expected, rel=1e-6) and se > 0
    intercept, se, _ = calibration_intercept(y, p)
    fitted = 1 / (1 + np.exp(-(intercept + logit)))
    assert np.sum(y - fitted) == pytest.approx(0.0, abs=1e-6) and se > 0


def test_calibration_slope_of_a_calibrated_model_is_near_one():
    rng = np.random.default_rng(9)
    y, p = _risks(4000, rng)
    slope, _, (low, high) = calibration_slope(y, p)
    assert low < 1 < high and slope == pytest.approx(1, abs=0.1)


def test_calibration_intercept_solves_the_score_equation_with_the_logit_as_offset():
    rng = np.random.default_rng(10)
    y, p = _risks(600, rng, shift=-0.5)
    a, se, (low, high) = calibration_intercept(y, p)
    offset = np.log(p / (1 - p))

    def score(t):
        return np.sum(y - 1 / (1 + np.exp(-(t + offset))))

    assert a == pytest.approx(brentq(score, -5, 5, xtol=1e-14), abs=1e-9)
    h = 1e-5
    slope_of_score = (score(a + h) - score(a - h)) / (2 * h)  # minus the Fisher information
    assert se == pytest.approx(1 / math.sqrt(-slope_of_score), rel=1e-5)
    assert low < -0.5 < high


def test_calibration_of_a_badly_calibrated_model_is_found_from_a_poor_start():
    # risks of 0.97 to 0.999 for patients with ~15 % events: a full Newton step from
    # perfect calibration overshoots (it used to end in a singular matrix)
    rng = np.random.default_rng(11)
    logit = rng.uniform(3.5, 6.8, size=300)
    y = (rng.random(300) < 1 / (1 + np.exp(-(-12 + 2 * logit)))).astype(float)
    p = 1 / (1 + np.exp(-logit))
    slope, _, _ = calibration_slope(y, p)
    ref = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(logit[:, None], y)
    assert slope == pytest.approx(ref.coef_[0, 0], rel=1e-5)
    a, _, _ = calibration_intercept(y, p)

    def score(t):
        return np.sum(y - 1 / (1 + np.exp(-(t + logit))))

    assert a == pytest.approx(brentq(score, -20, 5, xtol=1e-14), abs=1e-9)


def test_calibration_slope_and_intercept_are_nan_when_no_maximum_exists():
    separated = calibration_slope([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4])
    single = calibration_slope([0, 0, 0], [0.1, 0.2, 0.3])
    no_events = calibration_intercept([0, 0, 0], [0.1, 0.2, 0.3])
    for est, se, ci in (separated, single, no_events):
        assert math.isnan(est) and math.isnan(se) and all(map(math.isnan, ci))


def test_brier_score_equals_scikit_learn():
    rng = np.random.default_rng(11)
    y, p = _risks(300, rng)
    assert metrics.brier_score(y, p) == pytest.approx(brier_score_loss(y, p))


# --- one site, several sites -------------------------------------------------------------


def test_site_metrics_gathers_every_metric_with_its_interval():
    rng = np.random.default_rng(12)
    y, p = _risks(400, rng)
    m = site_metrics(y, p)
    assert m["n"] == 400 and m["events"] == int(y.sum())
    assert isinstance(m["n"], int) and isinstance(m["events"], int)
    assert m["loss"] == pytest.approx(log_loss(y, p))
    assert m["accuracy"] == pytest.approx(np.mean((p >= 0.5) == y))
    assert m["accuracy_ci"] == pytest.approx(
        wilson_interval(round(m["accuracy"] * 400), 400))
    assert m["auc"] == pytest.approx(roc_auc_score(y, p))
    assert m["brier"] == pytest.approx(brier_score_loss(y, p))
    for key in ("accuracy", "auc", "oe", "calibration_slope", "calibration_intercept"):
        low, high = m[f"{key}_ci"]
        assert low <= m[key] <= high, key


@pytest.mark.parametrize("y, p, message", [
    ([0, 1], [0.5], "same non-zero length"),
    ([0, 1], [0.5, 1.5], "probabilities"),
    ([0, 2], [0.5, 0.5], "0/1"),
])
def test_site_metrics_refuses_bad_input(y, p, message):
    with pytest.raises(ValueError, match=message):
        site_metrics(y, p)


def test_random_effects_reproduces_the_published_bcg_meta_analysis():
    # BCG vaccine trials (Colditz et al. 1994), log risk ratios; metafor's rma(method="DL")
    # reports estimate -0.7141, se 0.1787, tau^2 0.3088, Q(df = 12) = 152.2330.
    trials = np.array([(4, 119, 11, 128), (6, 300, 29, 274), (3, 228, 11, 209),
                       (62, 13536, 248, 12619), (33, 5036, 47, 5761), (180, 1361, 372, 1079),
                       (8, 2537, 10, 619), (505, 87886, 499, 87892), (29, 7470, 45, 7232),
                       (17, 1699, 65, 1600), (186, 50448, 141, 27197), (5, 2493, 3, 2338),
                       (27, 16886, 29, 17825)], dtype=float)
    a, b, c, d = trials.T
    log_rr = np.log(a / (a + b)) - np.log(c / (c + d))
    variance = 1 / a - 1 / (a + b) + 1 / c - 1 / (c + d)
    r = random_effects(log_rr, variance)
    assert r["estimate"] == pytest.approx(-0.7141, abs=1e-4)
    assert r["tau2"] == pytest.approx(0.3088, abs=1e-4)
    assert r["i2"] == pytest.approx((152.2330 - 12) / 152.2330, abs=1e-5)
    assert r["k"] == 13
    # Hartung-Knapp: never narrower than the normal interval on the DL standard error
    assert r["se"] >= 0.1787 - 1e-4
    low, high = r["ci"]
    assert high - low > 2 * Z * 0.1787


def test_random_effects_of_identical_sites_has_no_heterogeneity():
    r = random_effects([0.4, 0.4, 0.4], [0.01, 0.02, 0.04])
    assert r["estimate"] == pytest.approx(0.4) and r["tau2"] == 0 and r["i2"] == 0
    one = random_effects([0.4], [0.04])
    assert one["ci"] == pytest.approx((0.4 - Z * 0.2, 0.4 + Z * 0.2))
    assert math.isnan(random_effects([], [])["estimate"])
    with pytest.raises(ValueError, match="variances"):
        random_effects([0.1, 0.2], [0.01, 0.0])


def _three_sites():
    rng = np.random.default_rng(13)
    return {name: _risks(n, rng, shift=shift) for name, n, shift in
            (("big", 800, 0.0), ("middle", 250, 0.3), ("small", 90, -0.4))}


def test_pooled_sums_over_patients_equal_the_metrics_of_all_patients_together():
    data = _three_sites()
    pooled = pool_site_metrics({k: site_metrics(y, p) for k, (y, p) in data.items()})
    y_all = np.concatenate([y for y, _ in data.values()])
    p_all = np.concatenate([p for _, p in data.values()])
    together = site_metrics(y_all, p_all)
    for key in ("n", "events", "expected", "loss", "accuracy", "accuracy_ci", "oe", "oe_ci",
                "brier"):
        assert pooled[key] == pytest.approx(together[key], rel=1e-12), key
    assert pooled["n_sites"] == 3


def test_site_and_pooled_metrics_are_plain_python_numbers():
    sites = {k: site_metrics(y, p) for k, (y, p) in _three_sites().items()}
    sites["one event"] = site_metrics([0, 0, 1], [0.1, 0.2, 0.3])
    for m in [*sites.values(), pool_site_metrics(sites), pool_site_metrics([sites["big"]])]:
        for key, value in m.items():
            kind = int if key in ("n", "events", "n_sites") else float
            values = value if key.endswith("_ci") else (value,)
            assert len(values) == (2 if key.endswith("_ci") else 1), key
            assert all(type(v) is kind for v in values), (key, value)


def test_pooled_auc_is_a_meta_analysis_of_logit_auc_not_a_mean_of_aucs():
    data = _three_sites()
    sites = {k: site_metrics(y, p) for k, (y, p) in data.items()}
    pooled = pool_site_metrics(sites)
    auc = np.array([s["auc"] for s in sites.values()])
    se = np.array([s["auc_se"] for s in sites.values()])
    ref = random_effects(np.log(auc / (1 - auc)), (se / (auc * (1 - auc))) ** 2)
    assert pooled["auc"] == pytest.approx(1 / (1 + math.exp(-ref["estimate"])))
    assert pooled["auc_tau2"] == pytest.approx(ref["tau2"])
    low, high = pooled["auc_ci"]
    assert low < pooled["auc"] < high and min(auc) < pooled["auc"] < max(auc)
    for name in ("calibration_slope", "calibration_intercept"):
        est = [s[name] for s in sites.values()]
        var = [s[f"{name}_se"] ** 2 for s in sites.values()]
        assert pooled[name] == pytest.approx(random_effects(est, var)["estimate"])


def test_pooling_one_site_gives_back_its_own_auc_and_interval():
    y, p = _three_sites()["middle"]
    alone = site_metrics(y, p)
    pooled = pool_site_metrics([alone])
    assert pooled["auc"] == pytest.approx(alone["auc"])
    assert pooled["auc_ci"] == pytest.approx(alone["auc_ci"])


def test_pooling_leaves_out_a_site_without_an_auc():
    data = _three_sites()
    sites = {k: site_metrics(y, p) for k, (y, p) in data.items()}
    sites["no events"] = site_metrics([0, 0, 0, 0], [0.1, 0.2, 0.1, 0.3])
    pooled = pool_site_metrics(sites)
    assert math.isfinite(pooled["auc"]) and pooled["n"] == sum(len(y) for y, _ in
                                                               data.values()) + 4
    del sites["no events"]
    assert pooled["auc"] == pytest.approx(pool_site_metrics(sites)["auc"])
    with pytest.raises(ValueError, match="at least one"):
        pool_site_metrics({})


# --- the referee -------------------------------------------------------------------------


def _evaluator(**kwargs):
    rng = np.random.default_rng(14)
    sets = {}
    for name, n in (("a", 200), ("b", 80)):
        X = rng.normal(size=(n, 2))
        y = (rng.random(n) < 1 / (1 + np.exp(-(X[:, 0] - 1)))).astype(int)
        sets[name] = (X, y)
    return Evaluator(sets, **kwargs), sets


def test_evaluator_is_fast_by_default_and_reports_intervals_on_request():
    evaluator, sets = _evaluator()
    params = np.array([1.0, 0.0, -1.0])
    pooled, sites = evaluator(params)
    assert set(pooled) == {"loss", "accuracy", "auc"}
    full_pooled, full_sites = evaluator.report(params)
    for name, (X, y) in sets.items():
        proba = 1 / (1 + np.exp(-(X @ params[:2] + params[2])))
        expected = site_metrics(y, proba)
        assert full_sites[name].keys() == expected.keys()
        assert full_sites[name]["auc_ci"] == pytest.approx(expected["auc_ci"])
        assert full_sites[name]["auc"] == pytest.approx(sites[name]["auc"])
        assert full_sites[name]["loss"] == pytest.approx(sites[name]["loss"])
    assert full_pooled["n"] == 280 and full_pooled["auc"] == pytest.approx(pooled["auc"])
    with_intervals, _ = _evaluator(intervals=True)
    assert with_intervals(params) == (full_pooled, full_sites)


@pytest.mark.parametrize("function", [observed_expected, calibration_slope,
                                      calibration_intercept, metrics.brier_score])
def test_calibration_functions_check_their_input(function):
    with pytest.raises(InvalidParameterError, match="same non-zero length"):
        function([0, 1, 1], [0.2, 0.5])
    with pytest.raises(InvalidParameterError, match="0/1"):
        function([0, 3], [0.2, 0.5])
    with pytest.raises(InvalidParameterError, match="probabilities"):
        function([0, 1], [0.2, float("nan")])
