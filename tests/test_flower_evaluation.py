"""Federated evaluation (fedlab.evaluation) against independent references."""

import numpy as np
import pytest
from scipy import optimize
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score

from fedlab import data
from fedlab.evaluation import (
    delong_auc,
    evaluate_site,
    leave_one_site_out,
    meta_analysis,
    pool_site_metrics,
    site_metrics,
)


def _sample(n, seed, shift=0.0):
    rng = np.random.default_rng(seed)
    proba = 1 / (1 + np.exp(-rng.normal(-1 + shift, 1.2, size=n)))
    y = (rng.random(n) < np.clip(proba * 1.1, 0, 1)).astype(float)
    return y, np.round(proba, 2)  # rounding makes ties, which DeLong counts one half


def _delong_brute_force(y, score):
    pos, neg = score[y == 1], score[y == 0]
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    return psi.mean(), np.sqrt(v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_delong_auc_matches_scikit_learn_and_the_pairwise_definition(seed):
    y, p = _sample(300, seed)
    auc, se = delong_auc(y, p)
    ref_auc, ref_se = _delong_brute_force(y, p)
    assert auc == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert se == pytest.approx(ref_se, rel=1e-10)
    assert auc == pytest.approx(ref_auc, abs=1e-12)


def test_calibration_slope_and_intercept_match_maximum_likelihood_references():
    y, p = _sample(400, 3)
    m = site_metrics(y, p)
    lp = np.log(p / (1 - p))
    ref = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(lp[:, None], y)
    assert m["slope"] == pytest.approx(ref.coef_[0, 0], rel=1e-5)

    def nll(a):
        z = a + lp
        return np.sum(np.logaddexp(0, z) - y * z)

    assert m["intercept"] == pytest.approx(optimize.minimize_scalar(nll).x, abs=1e-6)
    assert m["brier"] == pytest.approx(brier_score_loss(y, p))
    assert m["oe"] == pytest.approx(y.sum() / p.sum())
    assert m["auc_low"] < m["auc"] < m["auc_high"]
    assert m["oe_low"] < m["oe"] < m["oe_high"]


def test_a_site_with_one_class_reports_no_auc_and_no_slope():
    m = site_metrics([0, 0, 0], [0.1, 0.2, 0.3])
    assert np.isnan(m["auc"]) and np.isnan(m["slope"]) and m["events"] == 0
    with pytest.raises(ValueError, match="same length"):
        site_metrics([0, 1], [0.5])


def test_pooling_gives_the_pooled_patients_sums_exactly():
    sites = {k: _sample(n, k, shift) for k, (n, shift) in enumerate([(200, 0), (80, 0.5),
                                                                       (150, -0.3)])}
    pooled = pool_site_metrics({k: site_metrics(y, p) for k, (y, p) in sites.items()})
    y_all = np.concatenate([y for y, _ in sites.values()])
    p_all = np.concatenate([p for _, p in sites.values()])
    everyone = site_metrics(y_all, p_all)
    for key in ("n", "events", "observed", "expected", "oe", "brier"):
        assert pooled[key] == pytest.approx(everyone[key], rel=1e-12), key
    assert pooled["auc_low"] < pooled["auc"] < pooled["auc_high"]


def test_meta_analysis_follows_dersimonian_laird():
    est, se = np.array([0.1, 0.5, 0.9]), np.array([0.1, 0.2, 0.15])
    w = 1 / se**2
    fixed = (w * est).sum() / w.sum()
    q = (w * (est - fixed) ** 2).sum()
    tau2 = (q - 2) / (w.sum() - (w**2).sum() / w.sum())
    w_star = 1 / (se**2 + tau2)
    mean = (w_star * est).sum() / w_star.sum()
    got = meta_analysis(est, se)
    assert got[0] == pytest.approx(mean) and got[3] == pytest.approx(tau2)
    assert got[2] - got[0] == pytest.approx(1.959963984540054 / np.sqrt(w_star.sum()))


def test_leave_one_site_out_scores_each_site_with_a_model_that_never_saw_it():
    hospitals = data.load_hospitals()[:3]
    results = leave_one_site_out(hospitals, rounds=2, random_state=0)
    assert list(results) == [h.name for h in hospitals]
    from fedlab import federated

    others = [federated.Client.from_hospital(h) for h in hospitals[1:]]
    h = federated.run(others, rounds=2, random_state=0)
    first = hospitals[0]
    assert results[first.name] == evaluate_site(h.params, first.X_test, first.y_test,
                                                standardizer=h.standardizer)
