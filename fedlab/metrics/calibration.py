"""Calibration of predicted risks: O/E ratio, calibration slope and intercept, Brier score.

Follows Van Calster et al., "Calibration: the Achilles heel of predictive analytics", BMC
Medicine 2019, and Debray et al., "A guide to systematic review and meta-analysis of
prediction model performance", BMJ 2017 (O/E and its interval). Also the Wilson interval
of a proportion (Wilson 1927), used for accuracy and for event rates.
"""

from __future__ import annotations

import math

import numpy as np

from fedlab._validation import InvalidParameterError
from fedlab.metrics.auc import _z

__all__ = ["wilson_interval", "observed_expected", "calibration_slope",
           "calibration_intercept", "brier_score"]

_EPS = 1e-15  # predicted risks are clipped to [_EPS, 1 - _EPS] before taking logits


def wilson_interval(successes, n, *, level=0.95):
    """Wilson score interval of a binomial proportion (sound even for 0 or n successes).

    Parameters
    ----------
    successes : int or array-like of int
    n : int or array-like of int
        Trials; must be > 0.
    level : float, default=0.95

    Returns
    -------
    low, high : float or ndarray
        The values ``p`` with ``|successes / n - p| = z * sqrt(p (1 - p) / n)``.

    Examples
    --------
    >>> low, high = wilson_interval(0, 10)
    >>> round(float(low), 4), round(float(high), 4)
    (0.0, 0.2775)
    """
    z = _z(level)
    successes, n = np.asarray(successes, dtype=float), np.asarray(n, dtype=float)
    rate = successes / n
    centre = (rate + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(rate * (1 - rate) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    # the rate is always inside; min/max only undo round-off at 0 and n successes
    low, high = np.clip(np.minimum(centre - half, rate), 0, 1), np.clip(
        np.maximum(centre + half, rate), 0, 1)
    return (float(low), float(high)) if low.ndim == 0 else (low, high)


def observed_expected(y, proba, *, level=0.95):
    """Observed over expected events (O/E) with a Poisson interval: calibration-in-the-large.

    Parameters
    ----------
    y : array-like of shape (n_patients,)
        0/1 outcomes.
    proba : array-like of shape (n_patients,)
        Predicted risks.
    level : float, default=0.95

    Returns
    -------
    oe : float
        ``O / E`` with ``O = sum(y)`` and ``E = sum(proba)``; above 1 the model
        underestimates the risk, below 1 it overestimates it. NaN when ``E`` is 0.
    interval : (float, float)
        ``exp(log(O/E) +- z / sqrt(O))`` (O treated as Poisson, E as fixed); with ``O =
        0``, the exact Poisson upper limit ``-log((1 - level) / 2) / E``.

    Examples
    --------
    >>> oe, (low, high) = observed_expected([0, 1, 1, 0], [0.2, 0.4, 0.6, 0.3])
    >>> round(oe, 3), round(low, 3), round(high, 3)
    (1.333, 0.333, 5.331)
    """
    y, p = _checked(y, proba)
    return _oe_from_counts(float(np.sum(y)), float(np.sum(p)), level)


def calibration_slope(y, proba, *, level=0.95):
    """Slope of the logistic recalibration ``logit P(y = 1) = a + b * logit(proba)``.

    A slope of 1 is ideal; below 1 the predicted risks are too extreme (typical of an
    overfitted model), above 1 too modest.

    Parameters
    ----------
    y : array-like of shape (n_patients,)
    proba : array-like of shape (n_patients,)
    level : float, default=0.95

    Returns
    -------
    slope, se : float
        Maximum-likelihood slope (Newton's method) and its standard error from the
        inverse Fisher information. NaN when ``y`` holds one class or the logits separate
        the classes (no finite maximum exists).
    interval : (float, float)
        ``slope +- z * se``.

    Examples
    --------
    >>> y = [0, 0, 1, 0, 1, 1, 0, 1]
    >>> slope, se, _ = calibration_slope(y, [.1, .2, .3, .4, .5, .6, .7, .8])
    >>> round(slope, 3), round(se, 3)
    (0.988, 0.828)
    """
    z = _z(level)
    y, logit = _outcomes_and_logits(y, proba)
    events, others = logit[y == 1], logit[y == 0]
    if len(events) == 0 or len(others) == 0 or events.min() >= others.max() \
            or events.max() <= others.min():
        return float("nan"), float("nan"), (float("nan"), float("nan"))
    design = np.column_stack([np.ones_like(logit), logit])

    def log_likelihood(b):
        eta = design @ b
        return float(np.sum(y * eta - np.logaddexp(0.0, eta)))

    # Newton's method from the model with the intercept only (every risk the prevalence),
    # where the information is well conditioned even for a broken model's risks of 1e-15
    # and 1 - 1e-15; a step that lowers the likelihood is halved, and none is taken when
    # halving does not help (the maximum is reached to rounding)
    prevalence = float(np.mean(y))
    beta = np.array([math.log(prevalence / (1 - prevalence)), 0.0])
    current = log_likelihood(beta)
    for _ in range(100):
        p = _expit(design @ beta)
        information = design.T @ (design * (p * (1 - p))[:, None])
        try:
            step = np.linalg.solve(information, design.T @ (y - p))
        except np.linalg.LinAlgError:
            return float("nan"), float("nan"), (float("nan"), float("nan"))
        for _ in range(60):
            trial = log_likelihood(beta + step)
            if trial >= current:
                break
            step = step / 2
        else:
            break
        beta, current = beta + step, trial
        if np.max(np.abs(step)) < 1e-10:
            break
    p = _expit(design @ beta)
    try:
        variance = float(np.linalg.inv(design.T @ (design * (p * (1 - p))[:, None]))[1, 1])
    except np.linalg.LinAlgError:
        variance = float("nan")
    slope = float(beta[1])
    if not variance > 0:  # numerically singular: no standard error
        return slope, float("nan"), (float("nan"), float("nan"))
    se = math.sqrt(variance)
    return slope, se, (slope - z * se, slope + z * se)


def calibration_intercept(y, proba, *, level=0.95):
    """Calibration intercept: ``a`` in ``logit P(y = 1) = a + logit(proba)`` (slope fixed at 1).

    Zero is ideal; above zero the model underestimates the risk on average, below zero it
    overestimates it (the logistic-scale counterpart of O/E).

    Parameters
    ----------
    y : array-like of shape (n_patients,)
    proba : array-like of shape (n_patients,)
    level : float, default=0.95

    Returns
    -------
    intercept, se : float
        Maximum-likelihood intercept with ``logit(proba)`` as an offset, and its standard
        error ``1 / sqrt(sum p (1 - p))``. NaN when ``y`` holds one class.
    interval : (float, float)
        ``intercept +- z * se``.

    Examples
    --------
    >>> a, se, _ = calibration_intercept([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4])
    >>> round(a, 3), round(se, 3)
    (1.201, 1.053)
    """
    z = _z(level)
    y, offset = _outcomes_and_logits(y, proba)
    if y.min() == y.max():
        return float("nan"), float("nan"), (float("nan"), float("nan"))

    # The score sum(y - expit(a + offset)) falls from sum(y) > 0 to sum(y) - n < 0 as a
    # grows: bisection finds its root whatever the logits (a broken model's risks of 1e-15
    # and 1 - 1e-15 leave Newton's method no usable curvature).
    reach = float(np.max(np.abs(offset))) + 40.0  # expit(-40) is 4e-18: past the root
    low, high = -reach, reach
    for _ in range(200):
        middle = (low + high) / 2
        if np.sum(y - _expit(middle + offset)) > 0:
            low = middle
        else:
            high = middle
        if high - low <= 1e-13 * max(1.0, abs(middle)):
            break
    intercept = (low + high) / 2
    p = _expit(intercept + offset)
    information = float(np.sum(p * (1 - p)))
    se = 1 / math.sqrt(information) if information > 0 else float("nan")
    intercept = float(intercept)
    return intercept, se, (intercept - z * se, intercept + z * se)


def brier_score(y, proba):
    """Mean squared difference between predicted risk and outcome (0 is perfect).

    Examples
    --------
    >>> round(brier_score([0, 1], [0.2, 0.6]), 6)
    0.1
    """
    y, p = _checked(y, proba)
    return float(np.mean((p - y) ** 2))


def _oe_from_counts(observed, expected, level):
    """O/E and its interval from the event count O and the expected count E."""
    z = _z(level)
    if not expected > 0:
        return float("nan"), (float("nan"), float("nan"))
    if observed == 0:
        return 0.0, (0.0, -math.log((1 - level) / 2) / expected)
    oe, half = observed / expected, z / math.sqrt(observed)
    return oe, (oe * math.exp(-half), oe * math.exp(half))


def _expit(eta):
    """The logistic function, without overflow for large ``|eta|``."""
    return np.exp(-np.logaddexp(0.0, -eta))


def _outcomes_and_logits(y, proba):
    y, p = _checked(y, proba)
    p = np.clip(p, _EPS, 1 - _EPS)
    return y, np.log(p) - np.log1p(-p)


def _checked(y, proba):
    """``y`` and ``proba`` as float arrays: 1-D, same non-zero length, 0/1 and [0, 1]."""
    y, p = np.asarray(y, dtype=float), np.asarray(proba, dtype=float)
    if y.ndim != 1 or p.shape != y.shape or len(y) == 0:
        raise InvalidParameterError(f"y and proba must be 1-D of the same non-zero length, "
                                    f"got shapes {y.shape} and {p.shape}")
    if not np.isin(y, (0, 1)).all():
        raise InvalidParameterError("y must hold 0/1 outcomes")
    if np.isnan(p).any() or np.any((p < 0) | (p > 1)):
        raise InvalidParameterError("proba must hold probabilities in [0, 1]")
    return y, p
