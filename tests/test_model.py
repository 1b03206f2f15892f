"""fedlab.model: the numpy logistic regression, checked against scikit-learn."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

from fedlab import model


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
    ref = LogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(X, y)
    # Act
    theta = model.fit(X, y, l2=1.0 / (C * len(y)))
    # Assert: same coefficients, same intercept, same AUC
    np.testing.assert_allclose(theta[:-1], ref.coef_[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(theta[-1], ref.intercept_[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.predict_proba(theta, X), ref.predict_proba(X)[:, 1],
                               atol=1e-6)
    assert roc_auc_score(y, model.predict_proba(theta, X)) == pytest.approx(
        roc_auc_score(y, ref.decision_function(X)), abs=1e-6)


def test_full_batch_gradient_descent_reaches_the_newton_solution(problem):
    X, y = problem
    theta = model.sgd(model.init_params(5), X, y, epochs=3000, batch_size=None, lr=1.0,
                      l2=0.01)
    np.testing.assert_allclose(theta, model.fit(X, y, l2=0.01), atol=1e-6)


def test_gradient_matches_finite_differences(problem):
    X, y = problem
    theta = np.random.default_rng(1).normal(size=6)
    eps = 1e-6
    numeric = np.array([
        (model.loss(theta + eps * e, X, y, l2=0.1) - model.loss(theta - eps * e, X, y, l2=0.1))
        / (2 * eps) for e in np.eye(6)])
    np.testing.assert_allclose(model.gradient(theta, X, y, l2=0.1), numeric, atol=1e-7)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 40), st.integers(1, 6), st.integers(0, 10_000))
def test_per_example_gradients_average_to_the_batch_gradient(n, d, seed):
    rng = np.random.default_rng(seed)
    X, y, theta = rng.normal(size=(n, d)), rng.integers(0, 2, n), rng.normal(size=d + 1)
    per_example = model.per_example_gradients(theta, X, y)
    assert per_example.shape == (n, d + 1)
    np.testing.assert_allclose(per_example.mean(axis=0), model.gradient(theta, X, y),
                               atol=1e-12)


def test_sgd_is_deterministic_and_does_not_modify_its_input(problem):
    X, y = problem
    start = np.zeros(6)
    a = model.sgd(start, X, y, epochs=2, random_state=7)
    b = model.sgd(start, X, y, epochs=2, random_state=7)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(start, np.zeros(6))
    assert not np.array_equal(a, model.sgd(start, X, y, epochs=2, random_state=8))


def test_fedprox_term_keeps_parameters_near_the_anchor(problem):
    X, y = problem
    free = model.sgd(np.zeros(6), X, y, epochs=5, random_state=0)
    held = model.sgd(np.zeros(6), X, y, epochs=5, mu=10.0, random_state=0)
    assert np.linalg.norm(held) < np.linalg.norm(free)


def test_predict_proba_is_stable_for_huge_logits():
    p = model.predict_proba([1000.0, 0.0], [[1.0], [-1.0]])
    np.testing.assert_array_equal(p, [1.0, 0.0])
    assert model.loss([1000.0, 0.0], [[1.0], [-1.0]], [1, 0]) == pytest.approx(0.0)


@pytest.mark.parametrize("kwargs, match", [
    ({"lr": 0}, "lr must be a finite number > 0"),
    ({"lr": -1}, "lr must be a finite number > 0"),
    ({"epochs": 1.5}, "epochs must be a non-negative integer"),
    ({"batch_size": 0}, "batch_size must be a positive integer or None"),
])
def test_sgd_rejects_bad_settings(problem, kwargs, match):
    X, y = problem
    with pytest.raises(ValueError, match=match):
        model.sgd(np.zeros(6), X, y, **kwargs)


def test_shape_errors_name_the_argument():
    with pytest.raises(ValueError, match="X must be 2-D"):
        model.loss([0.0, 0.0], [1.0, 2.0], [0, 1])
    with pytest.raises(ValueError, match="y must be 1-D with one label per row of X"):
        model.gradient([0.0, 0.0], [[1.0], [2.0]], [0, 1, 1])
    with pytest.raises(ValueError, match="n_features must be a positive integer"):
        model.init_params(0)


@pytest.mark.parametrize("C", [0.01, 1.0, 100.0])
def test_lbfgs_fit_matches_scikit_learn(problem, C):
    X, y = problem
    ref = LogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(X, y)
    theta = model.fit(X, y, l2=1.0 / (C * len(y)), solver="lbfgs")
    np.testing.assert_allclose(theta[:-1], ref.coef_[0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(theta[-1], ref.intercept_[0], rtol=1e-5, atol=1e-5)


def test_wide_data_is_fitted_without_a_d_squared_hessian(monkeypatch):
    # Regression (issue 14): 50,000 columns built a 20 GB Newton Hessian. Above
    # NEWTON_MAX_FEATURES columns fit uses L-BFGS: memory linear in the columns.
    rng = np.random.default_rng(1)
    n, d = 40, model.NEWTON_MAX_FEATURES + 500
    X = rng.normal(size=(n, d))
    y = (X[:, 0] + 0.1 * rng.normal(size=n) > 0).astype(int)
    monkeypatch.setattr(np, "eye", _refuse_square)  # the Newton path would call these
    monkeypatch.setattr(np, "diag", _refuse_square)
    theta = model.fit(X, y, l2=0.05)
    monkeypatch.undo()
    ref = LogisticRegression(C=1 / (0.05 * n), tol=1e-12, max_iter=10_000).fit(X, y)
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
        model.fit(X, y, **kwargs)
