"""Lesson 04 code against references: shifts, FedNova, q-FFL, SCAFFOLD, personalization."""

import numpy as np
import pytest

from fedlab import data, federated, personalize
from fedlab._validation import InvalidParameterError
from fedlab.drift import partition_one_label, rounds_to_target
from fedlab.federated import (
    STRATEGY_NAMES,
    FedAvg,
    FedNova,
    FedSGD,
    QFedSGD,
    Update,
    make_strategy,
)
from fedlab.metrics import site_metrics
from fedlab.models import logistic


def _site(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = (rng.random(n) < logistic.sigmoid(-1.5 + X[:, 0])).astype(int)
    return data.Site("s", X, y, ("age", "sbp"))


# -- shifts ---------------------------------------------------------------------------------

def test_prevalence_shift_reaches_the_prevalence_and_keeps_p_x_given_y():
    site = _site()
    shifted = data.shift_prevalence(site, 0.5, random_state=0)
    assert abs(shifted.prevalence - 0.5) < 0.01
    assert shifted.y.sum() == site.y.sum()  # all events kept, non-events subsampled
    neg = shifted.X[shifted.y == 0, 0]
    assert abs(neg.mean() - site.X[site.y == 0, 0].mean()) < 0.1


def test_covariate_shift_tilts_p_x_not_p_y_given_x():
    site = _site(20000)
    old = data.shift_covariates(site, "age", strength=1.0, random_state=0)
    assert old.column("age").mean() > 0.5
    # P(y | x) unchanged: the true model's O/E stays near 1
    p = logistic.sigmoid(-1.5 + old.column("age"))
    assert abs(old.y.sum() / p.sum() - 1) < 0.06
    same = data.shift_covariates(site, "age", strength=0.0, random_state=0)
    assert abs(same.column("age").mean()) < 0.05


@pytest.mark.parametrize("strength", [-1.0, 0.0, 1.0])
def test_concept_shift_moves_the_log_odds_by_strength(strength):
    site = _site(40000)
    shifted = data.shift_concept(site, strength=strength, random_state=0)
    fitted = logistic.fit(shifted.X, shifted.y)
    assert fitted[-1] == pytest.approx(-1.5 + strength, abs=0.08)
    assert fitted[0] == pytest.approx(1.0, abs=0.08)
    np.testing.assert_array_equal(shifted.X, site.X)


def test_concept_shift_on_a_feature_changes_its_effect():
    site = _site(40000)
    shifted = data.shift_concept(site, strength=0.5, feature="age", random_state=0)
    assert logistic.fit(shifted.X, shifted.y)[0] == pytest.approx(1.5, abs=0.1)


@pytest.mark.parametrize("call, words", [
    (lambda s: data.shift_prevalence(s, 1.0), "prevalence"),
    (lambda s: data.shift_covariates(s, "weight", strength=1), "feature"),
    (lambda s: data.shift_concept(s, strength=float("nan")), "strength"),
    (lambda s: data.shift_concept(s.take(np.flatnonzero(s.y == 0)), strength=1), "both"),
])
def test_shift_errors_name_the_argument(call, words):
    with pytest.raises(InvalidParameterError, match=words):
        call(_site(200))


# -- strategies -----------------------------------------------------------------------------

def _updates(rng, sizes, p=3, epochs=1, batch_size=32):
    """Replies as a client sends them: its loss and the local steps it took."""
    return [Update(f"c{k}", rng.normal(size=p), n, {"loss": float(rng.uniform(0.1, 1)),
                                                    "local_steps": epochs * -(-n // batch_size)})
            for k, n in enumerate(sizes)]


def test_fednova_with_equal_local_steps_is_fedavg():
    rng = np.random.default_rng(0)
    ups = _updates(rng, [64, 64, 60])  # 2 steps each with batch 32
    nova = FedNova()
    np.testing.assert_allclose(nova.aggregate_train(1, np.zeros(3), ups, rng=None),
                               FedAvg().aggregate_train(1, np.zeros(3), ups, rng=None))


def test_fednova_matches_wang_et_al_formula():
    rng = np.random.default_rng(1)
    sizes = [10, 100, 35]
    ups = _updates(rng, sizes, epochs=2, batch_size=16)
    nova = FedNova()
    tau = np.array([2 * int(np.ceil(n / 16)) for n in sizes])
    p = np.array(sizes) / sum(sizes)
    expected = (p @ tau) * sum(pk * u.vector / t for pk, u, t in zip(p, ups, tau))
    np.testing.assert_allclose(nova.aggregate_train(1, np.zeros(3), ups, rng=None), expected)


def test_qffl_with_q_zero_is_fedsgd_with_the_plain_mean():
    rng = np.random.default_rng(2)
    ups = _updates(rng, [10, 50, 200])
    np.testing.assert_allclose(
        QFedSGD(q=0.0, lr=0.3).aggregate_train(1, np.ones(3), ups, rng=None),
        FedSGD(lr=0.3, weighted=False).aggregate_train(1, np.ones(3), ups, rng=None))


def test_qffl_matches_li_et_al_algorithm_1():
    rng = np.random.default_rng(3)
    ups = _updates(rng, [10, 50, 200])
    q, lr = 2.0, 0.5
    F = np.array([u.metrics["loss"] for u in ups])
    g = np.array([u.vector for u in ups])
    h = q * F ** (q - 1) * (g ** 2).sum(1) + F ** q / lr
    expected = np.ones(3) - (F ** q) @ g / h.sum()
    np.testing.assert_allclose(QFedSGD(q=q, lr=lr).aggregate_train(1, np.ones(3), ups,
                                                                   rng=None), expected)


@pytest.mark.parametrize("name", ["fedsgd", "qfedsgd"])
def test_a_strategy_stepping_with_the_run_lr_gets_it_by_name(name):
    assert STRATEGY_NAMES[name].steps_with_run_lr
    assert make_strategy(name, lr=0.37).lr == 0.37
    X, y, clients = _one_label_clients(n=300)
    kw = dict(rounds=3, l2=1e-3, standardize=False, random_state=0)
    by_name = federated.run(clients, strategy=name, lr=0.37, **kw)
    by_object = federated.run(clients, strategy=STRATEGY_NAMES[name](lr=0.37), lr=0.37, **kw)
    np.testing.assert_array_equal(by_name.params, by_object.params)


def test_only_gradient_strategies_step_with_the_run_lr():
    steppers = {name for name, cls in STRATEGY_NAMES.items() if cls.steps_with_run_lr}
    assert steppers == {name for name, cls in STRATEGY_NAMES.items()
                        if issubclass(cls, FedSGD)}


def _one_label_clients(n=1200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = (rng.random(n) < logistic.sigmoid(-1.0 + X @ [1.0, -0.5, 0.3])).astype(float)
    parts = partition_one_label(y, 8, random_state=0)
    return X, y, [federated.Client(X[p], y[p], name=str(k)) for k, p in enumerate(parts)]


def test_weighted_scaffold_reaches_the_pooled_optimum_where_fedavg_stalls():
    X, y, clients = _one_label_clients()
    target = logistic.loss(logistic.fit(X, y), X, y)
    kw = dict(rounds=60, local_epochs=5, lr=0.05, standardize=False,
              test_sets={"pooled": (X, y)}, random_state=0)
    fixed = federated.run(clients, strategy=federated.Scaffold(weighted=True), **kw)
    plain = federated.run(clients, strategy="fedavg", **kw)
    assert rounds_to_target(fixed, target + 0.001) is not None
    assert rounds_to_target(plain, target + 0.001) is None


def test_fednova_removes_the_bias_of_unequal_local_steps():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(1500, 3))
    y = (rng.random(1500) < logistic.sigmoid(-1.0 + X @ [1.0, -0.5, 0.3])).astype(float)
    order = np.argsort(y, kind="stable")  # label 0 first: a big and a small one-label client
    cuts = np.split(order, [60, int((y == 0).sum()), int((y == 0).sum()) + 40])
    clients = [federated.Client(X[p], y[p], name=str(k)) for k, p in enumerate(cuts)]
    target = logistic.loss(logistic.fit(X, y), X, y)
    kw = dict(rounds=80, local_epochs=3, lr=0.02, standardize=False,
              test_sets={"pooled": (X, y)}, random_state=0)
    gap_nova = federated.run(clients, strategy=FedNova(), **kw).metric("loss")[-1] - target
    gap_avg = federated.run(clients, strategy="fedavg", **kw).metric("loss")[-1] - target
    assert gap_nova < gap_avg / 3


def test_one_label_partition_gives_every_client_one_label():
    y = np.r_[np.zeros(90), np.ones(30)]
    parts = partition_one_label(y, 8, random_state=0)
    assert sorted(np.concatenate(parts)) == list(range(120))
    assert all(len(np.unique(y[p])) == 1 for p in parts)
    assert sum(y[p][0] == 1 for p in parts) == 2


# -- personalization ------------------------------------------------------------------------

def test_recalibration_matches_scikit_learn_on_the_logit():
    from sklearn.linear_model import LogisticRegression
    rng = np.random.default_rng(4)
    X = rng.normal(size=(500, 3))
    y = (rng.random(500) < logistic.sigmoid(0.5 + 1.7 * (X @ [1.0, 0.5, -0.2] - 1))).astype(int)
    params = np.array([1.0, 0.5, -0.2, -1.0])
    logit = X @ params[:-1] + params[-1]
    sk = LogisticRegression(C=np.inf, tol=1e-12, max_iter=1000).fit(logit[:, None], y)
    a, b = personalize.recalibration(logit, y)
    assert a == pytest.approx(sk.intercept_[0], abs=1e-5)
    assert b == pytest.approx(sk.coef_[0, 0], abs=1e-5)
    new = personalize.recalibrate(params, X, y)
    np.testing.assert_allclose(X @ new[:-1] + new[-1], sk.decision_function(logit[:, None]),
                               atol=1e-4)


def test_ditto_between_the_site_alone_and_the_global_model():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 2))
    y = (rng.random(300) < logistic.sigmoid(X[:, 0])).astype(int)
    w = np.array([-1.0, 2.0, 0.5])
    np.testing.assert_allclose(personalize.ditto(w, X, y, lam=1e8), w, atol=1e-5)
    alone = logistic.fit(X, y, l2=1e-3)
    np.testing.assert_allclose(personalize.ditto(w, X, y, lam=1e-9), alone, atol=1e-4)


def test_finetune_is_local_sgd_from_the_global_model():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(100, 2))
    y = (X[:, 0] > 0).astype(int)
    np.testing.assert_array_equal(
        personalize.finetune(np.ones(3), X, y, epochs=2, random_state=0),
        logistic.sgd(np.ones(3), X, y, epochs=2, lr=0.05, l2=1e-3, random_state=0))


@pytest.mark.parametrize("method", [
    lambda X, y: personalize.recalibrate(np.zeros(2), X, y),
    lambda X, y: personalize.finetune(np.zeros(2), X, y),
    lambda X, y: personalize.ditto(np.zeros(2), X, y)])
def test_personalization_without_both_outcomes_is_a_clear_error(method):
    with pytest.raises(InvalidParameterError, match="both outcomes"):
        method(np.zeros((5, 1)), np.zeros(5))


# -- per-site metrics (DeLong and the paired difference: tests/test_metrics.py) -----------

def test_site_metrics_of_calibrated_predictions_cover_one():
    rng = np.random.default_rng(9)
    covered = 0
    for _ in range(40):
        p = rng.uniform(0.05, 0.5, 800)
        y = (rng.random(800) < p).astype(int)
        m = site_metrics(y, p)
        (oe_low, oe_high), (slope_low, slope_high) = m["oe_ci"], m["calibration_slope_ci"]
        covered += (oe_low < 1 < oe_high) and (slope_low < 1 < slope_high)
    assert covered >= 33  # about 0.95^2 of 40 expected
