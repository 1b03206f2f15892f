"""Concordance, calibration at a horizon and pooling across sites, against scikit-survival."""

import numpy as np
import pytest

from fedlab._validation import InvalidParameterError
from fedlab.metrics import random_effects
from fedlab.survival import (
    calibration_at_horizon,
    censoring_survival,
    harrell_c,
    observed_risk,
    pool_survival_metrics,
    site_survival_metrics,
    uno_c,
)

sksurv_metrics = pytest.importorskip("sksurv.metrics")
sksurv_np = pytest.importorskip("sksurv.nonparametric")
sksurv_util = pytest.importorskip("sksurv.util")


def _site(seed=0, n=300, strength=1.0, ties=True):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    event_time = rng.exponential(5 * np.exp(-strength * x))
    censor = rng.uniform(1, 12, n)
    time = np.minimum(event_time, censor)
    if ties:
        time = np.ceil(time * 2) / 2
    risk = np.round(x + rng.normal(0, 0.5, n), 1 if ties else 6)  # tied risks too
    return time, (event_time <= censor).astype(int), risk


def _surv(time, event):
    return sksurv_util.Surv.from_arrays(np.asarray(event, bool), time)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_harrell_c_equals_scikit_survival_with_tied_times_and_risks(seed):
    time, event, risk = _site(seed)
    c, se, (low, high) = harrell_c(time, event, risk)
    ref = sksurv_metrics.concordance_index_censored(event.astype(bool), time, risk)[0]
    np.testing.assert_allclose(c, ref, rtol=1e-12)
    assert 0 < low < c < high < 1 and se > 0


def test_harrell_jackknife_equals_deleting_each_patient_in_scikit_survival():
    time, event, risk = _site(3, n=60)
    _, se, _ = harrell_c(time, event, risk)
    leave_out = np.array([sksurv_metrics.concordance_index_censored(
        np.delete(event, k).astype(bool), np.delete(time, k), np.delete(risk, k))[0]
        for k in range(len(time))])
    n = len(time)
    np.testing.assert_allclose(se, np.sqrt((n - 1) / n * np.sum((leave_out - leave_out.mean())
                                                                ** 2)), rtol=1e-10)


@pytest.mark.parametrize("tau", [None, 6.0, 3.0])
def test_uno_c_equals_scikit_survival_with_its_own_or_a_training_censoring_estimate(tau):
    time, event, risk = _site(4)
    train_time, train_event, _ = _site(5, n=500)
    c, _, _ = uno_c(time, event, risk, tau=tau, train_time=train_time,
                    train_event=train_event)
    ref = sksurv_metrics.concordance_index_ipcw(_surv(train_time, train_event),
                                                _surv(time, event), risk, tau=tau)[0]
    np.testing.assert_allclose(c, ref, rtol=1e-10)
    own, _, _ = uno_c(time, event, risk, tau=tau)
    ref_own = sksurv_metrics.concordance_index_ipcw(_surv(time, event), _surv(time, event),
                                                    risk, tau=tau)[0]
    np.testing.assert_allclose(own, ref_own, rtol=1e-10)


def test_uno_jackknife_holds_the_censoring_estimate_fixed():
    time, event, risk = _site(6, n=50)
    train = _surv(time, event)
    _, se, _ = uno_c(time, event, risk, tau=6.0)
    leave_out = np.array([sksurv_metrics.concordance_index_ipcw(
        train, _surv(np.delete(time, k), np.delete(event, k)), np.delete(risk, k), tau=6.0)[0]
        for k in range(len(time))])
    n = len(time)
    np.testing.assert_allclose(se, np.sqrt((n - 1) / n * np.sum((leave_out - leave_out.mean())
                                                                ** 2)), rtol=1e-10)


def test_censoring_survival_equals_scikit_survivals_reverse_kaplan_meier():
    time, event, _ = _site(7)
    times, g = censoring_survival(time, event)
    ref_times, ref = sksurv_np.kaplan_meier_estimator(event.astype(bool), time, reverse=True)
    np.testing.assert_allclose(times, ref_times)
    np.testing.assert_allclose(g, ref, rtol=1e-12)


def test_uno_c_refuses_a_horizon_beyond_follow_up():
    time = np.array([1.0, 2, 3, 4, 5, 5])
    event = np.array([1, 0, 1, 0, 1, 0])
    with pytest.raises(InvalidParameterError, match="beyond the site's follow-up"):
        uno_c(time, event, [6, 5, 4, 3, 2, 1], tau=5.5)  # G(5) = 0: the last one censored
    with pytest.raises(InvalidParameterError, match="beyond the site's follow-up"):
        uno_c(time[:4], event[:4], [6, 5, 4, 3], tau=4.5)  # follow-up ends at 4
    with pytest.raises(InvalidParameterError, match="beyond the site's follow-up"):
        uno_c(time, event, [6, 5, 4, 3, 2, 1], tau=5.0, train_time=[1, 2, 3, 4],
              train_event=[1, 0, 1, 1])  # the training censoring stops before 5


def test_a_useless_score_has_a_c_index_near_one_half_inside_its_interval():
    time, event, _ = _site(8, n=400, ties=False)
    noise = np.random.default_rng(9).normal(size=400)
    for _c, _, (low, high) in (harrell_c(time, event, noise),
                               uno_c(time, event, noise, tau=8.0)):
        assert low < 0.5 < high


def test_observed_risk_is_one_minus_the_kaplan_meier_estimate_at_the_horizon():
    time, event, _ = _site(10)
    risk, (low, high), _ = observed_risk(time, event, 4.2)
    ref_times, ref_surv, ref_ci = sksurv_np.kaplan_meier_estimator(
        event.astype(bool), time, conf_type="log-log")
    k = np.searchsorted(ref_times, 4.2, side="right") - 1
    np.testing.assert_allclose([risk, low, high],
                               [1 - ref_surv[k], 1 - ref_ci[1, k], 1 - ref_ci[0, k]], rtol=1e-9)


def _calibrated(seed, n=1500, scale=1.0):
    rng = np.random.default_rng(seed)
    risk = rng.uniform(0.05, 0.6, n)
    event_time = rng.exponential(-5 / np.log1p(-risk))  # so that P(T <= 5) = risk
    censor = rng.uniform(2, 12, n)
    return (np.minimum(event_time, censor), (event_time <= censor).astype(int),
            np.clip(risk * scale, 0, 1))


def test_calibration_of_true_risks_has_oe_near_one_and_of_doubled_risks_near_one_half():
    time, event, risk = _calibrated(11)
    good = calibration_at_horizon(time, event, risk, horizon=5.0, groups=5)
    assert good["oe_ci"][0] < 1 < good["oe_ci"][1]
    for group in good["groups"]:
        assert group["n"] == 300
        assert group["observed_ci"][0] < group["predicted"] < group["observed_ci"][1]
    bad = calibration_at_horizon(*_calibrated(11, scale=2.0), horizon=5.0)
    assert bad["oe_ci"][1] < 0.75


def test_calibration_refuses_a_horizon_the_follow_up_does_not_reach():
    time, event, risk = _calibrated(12, n=200)
    with pytest.raises(InvalidParameterError, match="beyond follow-up"):
        calibration_at_horizon(time, event, risk, horizon=20.0)


def test_calibration_groups_never_hold_fewer_than_min_cell_patients():
    time, event, risk = _calibrated(13, n=23)
    cal = calibration_at_horizon(time, event, risk, horizon=3.0, groups=10, min_cell=5)
    assert len(cal["groups"]) == 4 and min(g["n"] for g in cal["groups"]) >= 5


def test_site_metrics_and_their_random_effects_pooling_on_the_logit_scale():
    sites = [site_survival_metrics(*_site(s, n=250 + 50 * s, strength=0.5 + 0.3 * s), tau=6.0)
             for s in range(4)]
    pooled = pool_survival_metrics(sites)
    c = np.array([s["c_index"] for s in sites])
    se = np.array([s["c_index_se"] for s in sites])
    meta = random_effects(np.log(c / (1 - c)), (se / (c * (1 - c))) ** 2)
    np.testing.assert_allclose(pooled["c_index"], 1 / (1 + np.exp(-meta["estimate"])))
    assert pooled["n"] == sum(s["n"] for s in sites) and pooled["n_sites"] == 4
    assert pooled["events"] == sum(s["events"] for s in sites)
    assert pooled["c_index_ci"][0] < pooled["c_index"] < pooled["c_index_ci"][1]
    assert pooled["c_index_tau2"] > 0  # the sites' true discrimination differs


def test_site_metrics_report_calibration_only_where_follow_up_reaches_the_horizon():
    time, event, risk = _calibrated(14, n=400)
    score = np.log(risk)
    short = time < 4.0
    reached = site_survival_metrics(time, event, score, tau=4.5, risk_at_tau=risk)
    cut = site_survival_metrics(time[short], event[short], score[short], tau=4.5,
                                risk_at_tau=risk[short])
    assert reached["calibration"]["horizon"] == 4.5
    assert cut["calibration"] is None and np.isnan(cut["uno_c"])


def test_a_site_with_fewer_than_min_cell_events_reports_no_c_index():
    with pytest.raises(InvalidParameterError, match="at least min_cell=5 patients and events"):
        site_survival_metrics([1, 2, 3, 4, 5, 6], [1, 0, 1, 0, 0, 0], [1, 2, 3, 4, 5, 6],
                              tau=4.0)
