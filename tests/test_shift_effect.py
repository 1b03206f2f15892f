"""Shifts of the same patients: importance weights and the paired change of AUC and O/E."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from fedlab import data
from fedlab._validation import InvalidParameterError
from fedlab.metrics import shift_effect, weighted_auc
from fedlab.models import logistic


def _site(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = (rng.random(n) < logistic.sigmoid(-1.5 + X[:, 0])).astype(int)
    return data.Site("s", X, y, ("age", "sbp"))


def test_weighted_auc_equals_scikit_learn_with_ties_and_weights():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300)
    score = np.round(rng.normal(size=300), 1)          # many ties
    w = rng.exponential(size=300)
    assert weighted_auc(y, score, w) == pytest.approx(roc_auc_score(y, score, sample_weight=w))
    rows = rng.exponential(size=(4, 300))
    np.testing.assert_allclose(weighted_auc(y, score, rows),
                               [roc_auc_score(y, score, sample_weight=r) for r in rows])


def test_prevalence_weights_reach_the_prevalence_and_keep_p_x_given_y():
    site = _site()
    w = data.prevalence_weights(site, 0.4)
    events = site.y == 1
    assert w[events].sum() / w.sum() == pytest.approx(0.4)
    assert w.mean() == pytest.approx(1.0)
    assert len(np.unique(w[events])) == 1 and len(np.unique(w[~events])) == 1
    np.testing.assert_allclose(data.prevalence_weights(site, site.prevalence), 1.0)


def test_covariate_weights_tilt_p_x_and_strength_zero_is_every_patient_once():
    site = _site(20000)
    w = data.covariate_weights(site, "age", strength=1.0)
    assert np.average(site.column("age"), weights=w) == pytest.approx(1.0, abs=0.05)
    np.testing.assert_allclose(data.covariate_weights(site, "age", strength=0.0), 1.0)
    with pytest.raises(InvalidParameterError, match="feature"):
        data.covariate_weights(site, "weight", strength=1.0)


def test_label_shift_as_weights_keeps_the_auc_and_moves_o_e():
    site = _site(5000)
    p = logistic.sigmoid(-1.5 + site.X[:, 0])          # the true risks
    w = data.prevalence_weights(site, 0.5)
    effect = shift_effect(site.y, p, weights=w, n_boot=200, random_state=0)
    assert effect["auc_shifted"] == pytest.approx(effect["auc"])   # ranks within class kept
    assert effect["oe_shifted"] > 1.5 and effect["oe_ratio_ci"][0] > 1
    # weights constant within each class leave every resample's AUC as it was
    np.testing.assert_allclose(effect["auc_change_ci"], (0.0, 0.0), atol=1e-12)


def test_a_slope_concept_shift_moves_the_auc_beyond_its_paired_interval():
    site = _site(5000)
    p = logistic.sigmoid(-1.5 + site.X[:, 0])
    steeper = data.shift_concept(site, strength=1.0, feature="age", random_state=0)
    effect = shift_effect(site.y, p, y_shifted=steeper.y, n_boot=200, random_state=0)
    assert effect["auc_change"] > 0 and effect["auc_change_ci"][0] > 0


def test_the_bootstrap_is_paired_and_seeded():
    site = _site(800)
    p = logistic.sigmoid(-1.5 + site.X[:, 0])
    a = shift_effect(site.y, p, proba_shifted=p * 0.9, n_boot=100, random_state=3)
    b = shift_effect(site.y, p, proba_shifted=p * 0.9, n_boot=100, random_state=3)
    assert a == b
    # scaling every risk by 0.9 changes no rank and multiplies O/E by exactly 1/0.9
    assert a["auc_change_ci"] == (0.0, 0.0)
    assert a["oe_ratio_ci"] == pytest.approx((1 / 0.9, 1 / 0.9))


@pytest.mark.parametrize("kwargs, words", [
    ({"weights": -np.ones(50)}, "non-negative"),
    ({"proba_shifted": np.ones(49)}, "proba_shifted"),
    ({"y_shifted": np.full(50, 2.0)}, "y_shifted"),
    ({"n_boot": 5}, "n_boot"),
    ({"weights": np.full(50, np.nan)}, "weights"),
])
def test_shift_effect_errors_name_the_argument(kwargs, words):
    y = np.r_[np.zeros(25), np.ones(25)]
    with pytest.raises(InvalidParameterError, match=words):
        shift_effect(y, np.linspace(0.1, 0.9, 50), **kwargs)
