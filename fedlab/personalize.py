"""Personalization: one model per site from the global one (fine-tuning, recalibration, Ditto).

A global model can rank a site's patients well (discrimination) and still be wrong about
their absolute risk (calibration). The three methods here start from the global model and
use only the site's own records: local fine-tuning (a few epochs of SGD), logistic
recalibration of its intercept and slope (Cox 1958; Steyerberg 2019, the clinical
standard), and Ditto's proximal personal model (Li et al. 2021). Every function returns a
parameter vector of the course's logistic regression. Per-site evaluation with 95 %
intervals: :func:`fedlab.metrics.site_metrics`.
"""

from __future__ import annotations

import numpy as np

from fedlab._validation import InvalidParameterError, check_int, check_positive, check_xy
from fedlab.models import logistic

__all__ = ["finetune", "recalibrate", "recalibration", "ditto", "METHODS"]

METHODS = ("finetune", "recalibrate", "ditto")
"""The personalization methods, by name (``python -m fedlab train --personalize``)."""


def finetune(params, X, y, *, epochs=5, batch_size=32, lr=0.05, l2=1e-3, random_state=None,
             model=None):
    """Local fine-tuning: a few epochs of mini-batch SGD on the site, from the global model.

    Parameters
    ----------
    params : array-like of shape (n_params,)
        The global model (logistic regression: ``(n_features + 1,)``).
    X : array-like of shape (n_samples, n_features)
        The site's preprocessed training records.
    y : array-like of shape (n_samples,)
    epochs, batch_size, lr, l2 : see :func:`fedlab.models.logistic.sgd`
    random_state : None, int or numpy.random.Generator
    model : fedlab.models.Model, optional
        The model ``params`` belong to, fine-tuned by its own local SGD
        (:meth:`~fedlab.models.Model.local_train`); ``None`` is logistic regression.

    Returns
    -------
    ndarray of shape (n_params,)

    Examples
    --------
    >>> X, y = [[-1.0], [1.0], [2.0]], [0, 1, 1]
    >>> finetune([0.0, 0.0], X, y, epochs=1, batch_size=None, lr=1.0)
    array([0.66666667, 0.16666667])
    """
    X, y = _site_data(X, y, "finetune")
    epochs = check_int(epochs, "epochs", minimum=1)
    model = logistic.LogisticRegression() if model is None else model
    return model.local_train(params, X, y, epochs=epochs, batch_size=batch_size, lr=lr, l2=l2,
                             random_state=random_state)


def recalibration(logit, y):
    """Intercept ``a`` and slope ``b`` of ``logit P(y = 1) = a + b * logit``, fitted by ML.

    Logistic recalibration: a logistic regression of the site's outcomes on the global
    model's linear predictor. ``b < 1`` means the model's predictions are too extreme at
    this site, ``b > 1`` too modest; ``a`` moves every risk up or down.

    Parameters
    ----------
    logit : array-like of shape (n_samples,)
        The global model's log-odds for the site's patients.
    y : array-like of shape (n_samples,)
        Their outcomes, 0 or 1, both present.

    Returns
    -------
    intercept, slope : float

    Examples
    --------
    >>> a, b = recalibration([-2.0, -1.0, 0.0, 1.0, 2.0, -0.5], [0, 1, 0, 1, 1, 0])
    >>> round(a, 3), round(b, 3)
    (0.146, 1.195)
    """
    logit = np.asarray(logit, dtype=float).reshape(-1, 1)
    _, y = _site_data(logit, y, "recalibration")
    slope, intercept = logistic.fit(logit, y, l2=0.0)
    return float(intercept), float(slope)


def recalibrate(params, X, y):
    """The global model recalibrated to the site: ``a + b * (w . x + c)``, as a parameter vector.

    Only the intercept and the overall slope change (two numbers fitted on the site);
    the ranking of its patients, hence its AUC, stays that of the global model
    (for ``b > 0``).

    Parameters
    ----------
    params : array-like of shape (n_features + 1,)
    X : array-like of shape (n_samples, n_features)
        The site's preprocessed training records.
    y : array-like of shape (n_samples,)

    Returns
    -------
    ndarray of shape (n_features + 1,)
        ``(b w, b c + a)``.

    Examples
    --------
    >>> recalibrate([1.0, 0.0], [[-2.0], [-1.0], [0.0], [1.0], [2.0], [-0.5]],
    ...             [0, 1, 0, 1, 1, 0]).round(3)
    array([1.195, 0.146])
    """
    params = np.asarray(params, dtype=float)
    X, y = _site_data(X, y, "recalibrate")
    intercept, slope = recalibration(X @ params[:-1] + params[-1], y)
    new = slope * params
    new[-1] += intercept
    return new


def ditto(params, X, y, *, lam=0.1, l2=1e-3, max_iter=50, tol=1e-10):
    """Ditto's personal model: the site's best fit kept within reach of the global model.

    Minimizes ``F_k(v) + lam / 2 ||v - w||^2`` (Li et al. 2021, eq. 2): the site's own
    loss plus a pull towards the global model ``w``. ``lam -> 0`` is the site alone,
    ``lam -> inf`` the global model. Solved exactly by damped Newton steps.

    Parameters
    ----------
    params : array-like of shape (n_features + 1,)
        The global model ``w``.
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    lam : float, default=0.1
        ``lambda`` > 0.
    l2 : float, default=1e-3
        The usual L2 penalty of the local loss (not on the intercept).
    max_iter, tol : Newton's iterations and tolerance

    Returns
    -------
    ndarray of shape (n_features + 1,)

    Notes
    -----
    Ditto alternates this personal step with the global rounds; with a converged global
    model the personal objective is the same, so here it is solved once, after training.

    References
    ----------
    Li, Hu, Beirami, Smith (2021). Ditto: fair and robust federated learning through
    personalization. ICML.

    Examples
    --------
    >>> X, y = [[-1.0], [1.0], [2.0], [0.5]], [0, 1, 1, 0]
    >>> far = ditto([0.0, 0.0], X, y, lam=1e6)
    >>> bool(np.allclose(far, 0.0, atol=1e-5))
    True
    """
    w = np.asarray(params, dtype=float)
    X, y = _site_data(X, y, "ditto")
    lam = check_positive(lam, "lam")
    l2 = check_positive(l2, "l2", strict=False)
    X1 = np.hstack([X, np.ones((len(y), 1))])
    penalty = np.full(len(w), l2)
    penalty[-1] = 0.0
    def objective(v):
        z = X1 @ v
        return (np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * penalty @ v**2
                + 0.5 * lam * np.sum((v - w) ** 2))

    v = w.copy()
    for _ in range(max_iter):
        p = logistic.sigmoid(X1 @ v)
        grad = X1.T @ (p - y) / len(y) + penalty * v + lam * (v - w)
        hess = (X1 * (p * (1 - p))[:, None]).T @ X1 / len(y) + np.diag(penalty + lam)
        step = np.linalg.solve(hess, grad)
        current, scale = objective(v), 1.0
        while objective(v - scale * step) > current and scale > 1e-10:
            scale /= 2  # damped Newton: never let the objective go up
        v -= scale * step
        if np.max(np.abs(scale * step)) < tol:
            break
    return v


def _site_data(X, y, method):
    """The site's records, checked: personalization needs local records with both classes."""
    X, y = check_xy(X, y)
    if len(y) == 0 or len(np.unique(y)) < 2:
        raise InvalidParameterError(
            f"{method} needs the site's own records with both outcomes (events and "
            f"non-events), got {len(y)} records with {int(np.sum(y))} events")
    return X, y
