"""Logistic regression in numpy with an L2 penalty, on a flat parameter vector.

:class:`LogisticRegression` is the model of the :class:`~fedlab.models.Model` protocol;
the functions below are what it computes, usable on their own (the lessons call them).

The parameter vector ``theta`` has shape ``(n_features + 1,)``: the weights first, the
bias last. Everything a federated client or server exchanges is such a vector, so one
model is one array of ``n_features + 1`` floats on the wire.

The objective is the mean log loss plus ``l2 / 2 * ||w||^2`` (the bias is not
penalised). scikit-learn's ``LogisticRegression(C=C)`` minimises the same objective
scaled by ``C * n``, so ``l2 = 1 / (C * n)`` gives the same solution.
"""

from __future__ import annotations

import numpy as np

from fedlab._validation import (
    InvalidParameterError,
    check_choice,
    check_int,
    check_positive,
    check_rng,
    check_xy,
)
from fedlab.models.base import Model

__all__ = [
    "LogisticRegression",
    "sigmoid",
    "init_params",
    "predict_proba",
    "loss",
    "gradient",
    "per_example_gradients",
    "sgd",
    "fit",
    "NEWTON_MAX_FEATURES",
]


def sigmoid(z):
    """The logistic function ``1 / (1 + exp(-z))``, exact in float64 at both tails.

    Examples
    --------
    >>> sigmoid(np.array([-800.0, 0.0, 800.0]))
    array([0. , 0.5, 1. ])
    """
    with np.errstate(over="ignore"):  # exp(800) is inf, and 1 / inf is the right 0
        return _sigmoid_inplace(np.negative(z, dtype=float))


def _sigmoid_inplace(minus_z):
    """``1 / (1 + exp(minus_z))`` computed in the buffer ``minus_z`` (which it returns)."""
    np.exp(minus_z, out=minus_z)
    minus_z += 1.0
    return np.reciprocal(minus_z, out=minus_z)


def init_params(n_features):
    """Return the all-zero parameter vector for ``n_features`` features.

    Examples
    --------
    >>> init_params(3)
    array([0., 0., 0., 0.])
    """
    if int(n_features) != n_features or n_features < 1:
        raise InvalidParameterError(f"n_features must be a positive integer, got {n_features!r}")
    return np.zeros(int(n_features) + 1)


def predict_proba(theta, X):
    """Probability of the positive class, ``sigmoid(X @ w + b)``.

    Parameters
    ----------
    theta : array-like of shape (n_features + 1,)
    X : array-like of shape (n_samples, n_features)

    Returns
    -------
    ndarray of shape (n_samples,)

    Examples
    --------
    >>> predict_proba([0.0, 0.0], [[1.0], [2.0]])
    array([0.5, 0.5])
    """
    theta = np.asarray(theta, dtype=float)
    X = np.asarray(X, dtype=float)
    return sigmoid(X @ theta[:-1] + theta[-1])


def loss(theta, X, y, *, l2=0.0):
    """Mean log loss plus ``l2 / 2 * ||w||^2``.

    Examples
    --------
    >>> round(loss([0.0, 0.0], [[1.0], [-1.0]], [1, 0]), 4)  # log 2
    0.6931
    """
    theta = np.asarray(theta, dtype=float)
    X, y = check_xy(X, y)
    z = X @ theta[:-1] + theta[-1]
    # log(1 + e^z) - y z, written stably
    data_loss = np.mean(np.logaddexp(0.0, z) - y * z)
    return float(data_loss + 0.5 * l2 * theta[:-1] @ theta[:-1])


def gradient(theta, X, y, *, l2=0.0):
    """Gradient of :func:`loss` with respect to ``theta``.

    Notes
    -----
    With ``p = sigmoid(X w + b)``: ``dL/dw = X^T (p - y) / n + l2 w`` and
    ``dL/db = mean(p - y)``.

    Examples
    --------
    >>> gradient([0.0, 0.0], [[1.0], [-1.0]], [1, 0])
    array([-0.5,  0. ])
    """
    theta = np.asarray(theta, dtype=float)
    X, y = check_xy(X, y)
    residual = sigmoid(X @ theta[:-1] + theta[-1]) - y
    grad = np.empty_like(theta)
    grad[:-1] = X.T @ residual / len(y) + l2 * theta[:-1]
    grad[-1] = residual.mean()
    return grad


def per_example_gradients(theta, X, y):
    """Gradient of each example's log loss, without the penalty, in one array.

    Vectorised (no loop over records): row ``i`` is ``(p_i - y_i) * [x_i, 1]``. This is
    what DP-SGD clips example by example.

    Returns
    -------
    ndarray of shape (n_samples, n_features + 1)

    Examples
    --------
    >>> per_example_gradients([0.0, 0.0], [[1.0], [-1.0]], [1, 0])
    array([[-0.5, -0.5],
           [-0.5,  0.5]])
    """
    theta = np.asarray(theta, dtype=float)
    X, y = check_xy(X, y)
    residual = sigmoid(X @ theta[:-1] + theta[-1]) - y
    return np.hstack([X * residual[:, None], residual[:, None]])


def sgd(theta, X, y, *, epochs=1, batch_size=32, lr=0.1, l2=0.0, mu=0.0, anchor=None,
        correction=None, random_state=None):
    """Local mini-batch SGD from ``theta``; returns the new parameters (a copy).

    Each epoch visits the records in a fresh random order, ``batch_size`` at a time (a
    batch of every record needs no shuffle, and draws none).

    Parameters
    ----------
    theta : array-like of shape (n_features + 1,)
        Starting parameters (the global model a client received).
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    epochs : int, default=1
    batch_size : int, default=32
        ``None`` uses the whole local data set per step (full-batch gradient descent).
    lr : float, default=0.1
    l2 : float, default=0.0
    mu : float, default=0.0
        FedProx proximal weight: adds ``mu / 2 * ||theta - anchor||^2`` to the objective
        (Li et al. 2020). ``0`` is plain SGD.
    anchor : array-like of shape (n_features + 1,), optional
        The point the proximal term pulls towards; defaults to the starting ``theta``.
    correction : array-like of shape (n_features + 1,), optional
        A constant added to every step's gradient (SCAFFOLD's ``c - c_i``).
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    ndarray of shape (n_features + 1,)

    Examples
    --------
    >>> X, y = [[1.0], [-1.0]], [1, 0]
    >>> sgd([0.0, 0.0], X, y, epochs=1, batch_size=None, lr=1.0)
    array([0.5, 0. ])
    """
    X, y = check_xy(X, y)
    check_positive(lr, "lr")
    if int(epochs) != epochs or epochs < 0:
        raise InvalidParameterError(f"epochs must be a non-negative integer, got {epochs!r}")
    n = len(y)
    if batch_size is None:
        batch_size = n
    elif int(batch_size) != batch_size or batch_size < 1:
        raise InvalidParameterError(f"batch_size must be a positive integer or None, got "
                                    f"{batch_size!r}")
    rng = check_rng(random_state)
    theta = np.array(theta, dtype=float)
    anchor = theta.copy() if anchor is None else np.asarray(anchor, dtype=float)
    # One design matrix with a column of ones: a step is then two matrix products.
    X1 = np.hstack([X, np.ones((n, 1))])
    penalty = np.full_like(theta, l2)
    penalty[-1] = 0.0
    correction = None if correction is None else np.asarray(correction, dtype=float)
    with np.errstate(over="ignore"):
        for _ in range(int(epochs)):
            if batch_size >= n:  # one step on every record: their order changes nothing
                X_epoch, y_epoch = X1, y
            else:
                order = rng.permutation(n)
                X_epoch, y_epoch = X1[order], y[order]  # shuffle once, then slice views
            for start in range(0, n, batch_size):
                Xb = X_epoch[start : start + batch_size]
                residual = _sigmoid_inplace(Xb @ -theta)
                residual -= y_epoch[start : start + batch_size]
                step = Xb.T @ residual
                step *= 1.0 / len(Xb)
                if l2:
                    step += penalty * theta
                if mu:
                    step += mu * (theta - anchor)
                if correction is not None:
                    step += correction
                theta -= lr * step
    return theta


NEWTON_MAX_FEATURES = 1000
"""Widest data :func:`fit` solves by Newton's method (its Hessian then takes 8 MB)."""


def fit(X, y, *, l2=0.0, max_iter=None, tol=1e-10, solver="auto"):
    """Minimise :func:`loss` on all of ``(X, y)``: Newton's method, or L-BFGS for wide data.

    The centralized baseline: the exact minimiser that federated training tries to reach.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    l2 : float, default=0.0
    max_iter : int, default=None
        Most iterations: 100 Newton steps, or 1,000 L-BFGS iterations.
    tol : float, default=1e-10
        Newton: stop when the step's largest entry is below ``tol``. L-BFGS: stop when
        the gradient's largest entry is below ``tol`` (or the loss stops falling).
    solver : {"auto", "newton", "lbfgs"}, default="auto"
        ``"auto"`` is Newton up to :data:`NEWTON_MAX_FEATURES` features, L-BFGS above.

    Returns
    -------
    ndarray of shape (n_features + 1,)

    Notes
    -----
    Newton's method solves a ``(d + 1) x (d + 1)`` system per step: exact in a few
    steps, but ``8 (d + 1)^2`` bytes of memory (20 GB at 50,000 features) and ``d^3``
    work. L-BFGS (``scipy.optimize.minimize``, the solver of scikit-learn's
    ``LogisticRegression``) keeps ten vectors of length ``d + 1`` instead, so wide data
    costs memory linear in ``d``.

    Examples
    --------
    >>> theta = fit([[0.0], [1.0], [2.0], [3.0]], [0, 1, 0, 1], l2=0.1)
    >>> theta.shape
    (2,)
    >>> bool(np.allclose(theta, fit([[0.0], [1.0], [2.0], [3.0]], [0, 1, 0, 1], l2=0.1,
    ...                             solver="lbfgs"), atol=1e-6))
    True
    """
    X, y = check_xy(X, y)
    l2 = check_positive(l2, "l2", strict=False)
    solver = check_choice(solver, "solver", ("auto", "newton", "lbfgs"))
    if max_iter is not None:
        max_iter = check_int(max_iter, "max_iter", minimum=1)
    check_positive(tol, "tol")
    if solver == "lbfgs" or (solver == "auto" and X.shape[1] > NEWTON_MAX_FEATURES):
        return _fit_lbfgs(X, y, l2=l2, max_iter=max_iter or 1000, tol=tol)
    return _fit_newton(X, y, l2=l2, max_iter=max_iter or 100, tol=tol)


def _fit_newton(X, y, *, l2, max_iter, tol):
    n, d = X.shape
    Xb = np.hstack([X, np.ones((n, 1))])
    penalty = np.full(d + 1, l2)
    penalty[-1] = 0.0
    theta = np.zeros(d + 1)
    for _ in range(max_iter):
        p = sigmoid(Xb @ theta)
        grad = Xb.T @ (p - y) / n + penalty * theta
        hess = (Xb * (p * (1 - p))[:, None]).T @ Xb / n + np.diag(penalty) + 1e-12 * np.eye(d + 1)
        step = np.linalg.solve(hess, grad)
        theta -= step
        if np.max(np.abs(step)) < tol:
            break
    return theta


def _fit_lbfgs(X, y, *, l2, max_iter, tol):
    from scipy import optimize  # imported here: the round loop never needs scipy

    def objective(theta):
        return loss(theta, X, y, l2=l2), gradient(theta, X, y, l2=l2)

    result = optimize.minimize(
        objective,
        np.zeros(X.shape[1] + 1),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": max_iter, "gtol": tol, "ftol": 1e-15},
    )
    return result.x


class LogisticRegression(Model):
    """Logistic regression with an L2 penalty: the course's model of a binary outcome.

    Parameters are ``(n_features + 1,)``: the weights, then the bias. Every method is one
    of this module's functions; :meth:`stacked_train` trains many clients at once
    (:func:`fedlab.models.stacked.stacked_sgd`), with the bits of :meth:`local_train`.

    Examples
    --------
    >>> m = LogisticRegression()
    >>> m.init_params(2), m.n_params(2)
    (array([0., 0., 0.]), 3)
    >>> m.gradient([0.0, 0.0], [[1.0], [-1.0]], [1, 0])
    array([-0.5,  0. ])
    """

    name = "logistic"
    outcome = "binary"
    supports_per_example = True
    full_batch = False
    linear = True

    def n_params(self, n_features):
        return int(n_features) + 1

    def init_params(self, n_features, *, random_state=None):
        """All zeros (the log loss is convex: no draw is needed, and none is made)."""
        return init_params(n_features)

    def loss(self, params, X, y, *, l2=0.0):
        return loss(params, X, y, l2=l2)

    def gradient(self, params, X, y, *, l2=0.0):
        return gradient(params, X, y, l2=l2)

    def per_example_gradients(self, params, X, y):
        return per_example_gradients(params, X, y)

    def penalty_gradient(self, params, *, l2=0.0):
        grad = float(l2) * np.asarray(params, dtype=float)
        grad[-1] = 0.0
        return grad

    def predict(self, params, X):
        return predict_proba(params, X)

    def fit(self, X, y, *, l2=0.0, epochs=1, batch_size=32, lr=0.1, random_state=None):
        """The penalized maximum-likelihood fit, by :func:`fit` (the loss is convex: its
        optimum needs no SGD, so ``epochs``, ``batch_size``, ``lr`` and ``random_state``
        are unused)."""
        return fit(X, y, l2=l2)

    def local_train(self, params, X, y, *, epochs=1, batch_size=32, lr=0.1, l2=0.0, mu=0.0,
                    anchor=None, corrections=None, random_state=None):
        """:func:`sgd` (``corrections`` is its ``correction``)."""
        return sgd(params, X, y, epochs=epochs, batch_size=batch_size, lr=lr, l2=l2, mu=mu,
                   anchor=anchor, correction=corrections, random_state=random_state)

    def stacked_train(self, records, params, *, epochs=1, batch_size=32, lr=0.1, l2=0.0,
                      mu=0.0, corrections=None, rngs, return_loss=False):
        """All clients at once by :func:`fedlab.models.stacked.stacked_sgd` (same bits)."""
        from fedlab.models.stacked import stacked_sgd

        return stacked_sgd(records, params, epochs=epochs, batch_size=batch_size, lr=lr,
                           l2=l2, mu=mu, corrections=corrections, rngs=rngs,
                           return_loss=return_loss)
