"""fedlab.models.logistic: the numpy logistic regression, checked against scikit-learn."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

from fedlab.models import LogisticRegression, logistic
from fedlab.models.stacked import stacked_sgd


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 5))
    logits = X @ np.array([1.0, -2.0, 0.5, 0.0, 0.3]) - 1.0
    y = (rng.random(600) < 1 / (1 + np.exp(-logits))).astype(int)
    return StandardScaler().fit_transform(X), y


@pytest.mark.parametrize("C", [0.01, 1.0, 100.0])
def test_fit_matches_scikit_learn(problem, C):
    # Arrange
    X, y = problem
    ref = SkLogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(X, y)
    # Act
    theta = logistic.fit(X, y, l2=1.0 / (C * len(y)))
    # Assert: same coefficients, same intercept, same AUC
    np.testing.assert_allclose(theta[:-1], ref.coef_[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(theta[-1], ref.intercept_[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(logistic.predict_proba(theta, X), ref.predict_proba(X)[:, 1],
                               atol=1e-6)
    assert roc_auc_score(y, logistic.predict_proba(theta, X)) == pytest.approx(
        roc_auc_score(y, ref.decision_function(X)), abs=1e-6)


def test_full_batch_gradient_descent_reaches_the_newton_solution(problem):
    X, y = problem
    theta = logistic.sgd(logistic.init_params(5), X, y, epochs=3000, batch_size=None, lr=1.0,
                      l2=0.01)
    np.testing.assert_allclose(theta, logistic.fit(X, y, l2=0.01), atol=1e-6)


def test_gradient_matches_finite_differences(problem):
    X, y = problem
    theta = np.random.default_rng(1).normal(size=6)
    eps = 1e-6
    numeric = np.array([
        (logistic.loss(theta + eps * e, X, y, l2=0.1)
         - logistic.loss(theta - eps * e, X, y, l2=0.1))
        / (2 * eps) for e in np.eye(6)])
    np.testing.assert_allclose(logistic.gradient(theta, X, y, l2=0.1), numeric, atol=1e-7)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 40), st.integers(1, 6), st.integers(0, 10_000))
def test_per_example_gradients_average_to_the_batch_gradient(n, d, seed):
    rng = np.random.default_rng(seed)
    X, y, theta = rng.normal(size=(n, d)), rng.integers(0, 2, n), rng.normal(size=d + 1)
    per_example = logistic.per_example_gradients(theta, X, y)
    assert per_example.shape == (n, d + 1)
    np.testing.assert_allclose(per_example.mean(axis=0), logistic.gradient(theta, X, y),
                               atol=1e-12)


def test_sgd_is_deterministic_and_does_not_modify_its_input(problem):
    X, y = problem
    start = np.zeros(6)
    a = logistic.sgd(start, X, y, epochs=2, random_state=7)
    b = logistic.sgd(start, X, y, epochs=2, random_state=7)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(start, np.zeros(6))
    assert not np.array_equal(a, logistic.sgd(start, X, y, epochs=2, random_state=8))


def test_fedprox_term_keeps_parameters_near_the_anchor(problem):
    X, y = problem
    free = logistic.sgd(np.zeros(6), X, y, epochs=5, random_state=0)
    held = logistic.sgd(np.zeros(6), X, y, epochs=5, mu=10.0, random_state=0)
    assert np.linalg.norm(held) < np.linalg.norm(free)


def test_predict_proba_is_stable_for_huge_logits():
    p = logistic.predict_proba([1000.0, 0.0], [[1.0], [-1.0]])
    np.testing.assert_array_equal(p, [1.0, 0.0])
    assert logistic.loss([1000.0, 0.0], [[1.0], [-1.0]], [1, 0]) == pytest.approx(0.0)


@pytest.mark.parametrize("kwargs, match", [
    ({"lr": 0}, "lr must be a finite number > 0"),
    ({"lr": -1}, "lr must be a finite number > 0"),
    ({"epochs": 1.5}, "epochs must be a non-negative integer"),
    ({"batch_size": 0}, "batch_size must be a positive integer or None"),
])
def test_sgd_rejects_bad_settings(problem, kwargs, match):
    X, y = problem
    with pytest.raises(ValueError, match=match):
        logistic.sgd(np.zeros(6), X, y, **kwargs)


def test_shape_errors_name_the_argument():
    with pytest.raises(ValueError, match="X must be 2-D"):
        logistic.loss([0.0, 0.0], [1.0, 2.0], [0, 1])
    with pytest.raises(ValueError, match="y must be 1-D with one label per row of X"):
        logistic.gradient([0.0, 0.0], [[1.0], [2.0]], [0, 1, 1])
    with pytest.raises(ValueError, match="n_features must be a positive integer"):
        logistic.init_params(0)


@pytest.mark.parametrize("C", [0.01, 1.0, 100.0])
def test_lbfgs_fit_matches_scikit_learn(problem, C):
    X, y = problem
    ref = SkLogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(X, y)
    theta = logistic.fit(X, y, l2=1.0 / (C * len(y)), solver="lbfgs")
    np.testing.assert_allclose(theta[:-1], ref.coef_[0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(theta[-1], ref.intercept_[0], rtol=1e-5, atol=1e-5)


def test_wide_data_is_fitted_without_a_d_squared_hessian(monkeypatch):
    # Regression (issue 14): 50,000 columns built a 20 GB Newton Hessian. Above
    # NEWTON_MAX_FEATURES columns fit uses L-BFGS: memory linear in the columns.
    rng = np.random.default_rng(1)
    n, d = 40, logistic.NEWTON_MAX_FEATURES + 500
    X = rng.normal(size=(n, d))
    y = (X[:, 0] + 0.1 * rng.normal(size=n) > 0).astype(int)
    monkeypatch.setattr(np, "eye", _refuse_square)  # the Newton path would call these
    monkeypatch.setattr(np, "diag", _refuse_square)
    theta = logistic.fit(X, y, l2=0.05)
    monkeypatch.undo()
    ref = SkLogisticRegression(C=1 / (0.05 * n), tol=1e-12, max_iter=10_000).fit(X, y)
    np.testing.assert_allclose(theta[:-1], ref.coef_[0], atol=1e-5)
    np.testing.assert_allclose(theta[-1], ref.intercept_[0], atol=1e-5)


def _refuse_square(*args, **kwargs):
    raise AssertionError("a (d + 1) x (d + 1) matrix was built")


@pytest.mark.parametrize("kwargs", [{"l2": -1.0}, {"solver": "sag"}, {"max_iter": 0},
                                    {"tol": 0.0}])
def test_fit_names_a_bad_setting(problem, kwargs):
    X, y = problem
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=name):
        logistic.fit(X, y, **kwargs)


def _sites():
    rng = np.random.default_rng(3)
    sites = []
    for n in (40, 55, 70, 100, 130):
        X = rng.normal(size=(n, 3))
        sites.append((X, (X[:, 0] + rng.normal(size=n) > 0).astype(float)))
    return sites


@pytest.mark.parametrize("options", [
    {}, {"l2": 0.01, "mu": 0.5}, {"batch_size": None, "epochs": 3},
    {"batch_size": 100},  # one batch for some clients, several for others
    {"corrections": np.full((5, 4), 0.01)}, {"l2": 0.02, "corrections": np.full((5, 4), -0.02)},
])
def test_stacked_train_gives_every_client_its_local_sgd(options):
    # the vectorized path behind federated.run: same shuffles, same models to 1e-10
    sites = _sites()
    start = np.array([0.1, -0.2, 0.3, 0.05])
    options = {"epochs": 2, "batch_size": 16, "lr": 0.2, **options}
    fast, losses = LogisticRegression().stacked_train(
        sites, start, rngs=[np.random.default_rng(k) for k in range(5)], return_loss=True,
        **options)
    corrections = options.pop("corrections", None)
    for k, (X, y) in enumerate(sites):
        slow = logistic.sgd(start, X, y, random_state=k,
                            correction=None if corrections is None else corrections[k],
                            **options)
        np.testing.assert_allclose(fast[k], slow, rtol=0, atol=1e-10)
        assert losses[k] == pytest.approx(logistic.loss(slow, X, y, l2=options.get("l2", 0.0)),
                                          rel=1e-12)


def test_stacked_sgd_restacks_when_the_clients_change():
    sites = _sites()
    rngs = lambda: [np.random.default_rng(k) for k in range(5)]  # noqa: E731
    first = stacked_sgd(sites, np.zeros(4), rngs=rngs())
    other = [(X + 1.0, y) for X, y in sites]
    second = stacked_sgd(other, np.zeros(4), rngs=rngs())
    for k, (X, y) in enumerate(other):
        np.testing.assert_allclose(second[k], logistic.sgd(np.zeros(4), X, y, random_state=k),
                                   rtol=0, atol=1e-10)
    assert not np.allclose(first, second)


def test_the_model_object_computes_what_the_functions_compute(problem):
    X, y = problem
    m = LogisticRegression()
    theta = np.linspace(-0.5, 0.5, 6)
    assert m.loss(theta, X, y, l2=0.1) == logistic.loss(theta, X, y, l2=0.1)
    np.testing.assert_array_equal(m.gradient(theta, X, y, l2=0.1),
                                  logistic.gradient(theta, X, y, l2=0.1))
    np.testing.assert_array_equal(m.predict(theta, X), logistic.predict_proba(theta, X))
    np.testing.assert_array_equal(m.init_params(5), logistic.init_params(5))
    np.testing.assert_array_equal(
        m.local_train(theta, X, y, epochs=2, mu=0.1, corrections=np.full(6, 0.01),
                      random_state=4),
        logistic.sgd(theta, X, y, epochs=2, mu=0.1, correction=np.full(6, 0.01),
                     random_state=4))
    assert m.local_steps(600, epochs=2, batch_size=32) == 2 * 19
    assert m.local_steps(600, epochs=2, batch_size=None) == 2
    assert repr(m) == "LogisticRegression()" and m.get_params() == {}
    metrics = m.evaluate(theta, X, y)
    assert set(metrics) == {"loss", "accuracy", "auc"}
    assert metrics["auc"] == pytest.approx(roc_auc_score(y, logistic.predict_proba(theta, X)))
