"""One model before and after a dataset shift, on the same patients: the change and its interval.

A shift (lesson 04a) changes a site's labels (concept shift), its recorded values
(measurement shift), or how much each patient counts (label and covariate shift as
importance weights, :func:`fedlab.data.prevalence_weights`). Because every patient is
scored before and after, the change of the AUC and of O/E is a paired comparison: a
bootstrap that resamples patients, and keeps each patient's before and after together,
gives the interval of the change (Efron & Tibshirani 1993, ch. 13).
"""

from __future__ import annotations

import numpy as np

from fedlab._validation import InvalidParameterError, check_rng

__all__ = ["weighted_auc", "shift_effect"]


def weighted_auc(y, score, weights=None):
    """ROC AUC with each patient counted ``weights`` times (ties count one half).

    Parameters
    ----------
    y : array-like of shape (n,)
        0/1 outcomes.
    score : array-like of shape (n,)
    weights : array-like of shape (n,) or (n_draws, n), optional
        Non-negative weights; a 2-D array gives one AUC per row.

    Returns
    -------
    float, or ndarray of shape (n_draws,)
        NaN where one class has zero weight.

    Notes
    -----
    Equal to scikit-learn's ``roc_auc_score(y, score, sample_weight=weights)``.

    Examples
    --------
    >>> weighted_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    >>> weighted_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], [1, 1, 3, 1])
    0.625
    """
    y = np.asarray(y, dtype=float)
    score = np.asarray(score, dtype=float)
    single = weights is None or np.ndim(weights) == 1
    w = np.ones((1, len(y))) if weights is None else np.atleast_2d(
        np.asarray(weights, dtype=float))
    if w.shape[1] != len(y) or len(score) != len(y):
        raise InvalidParameterError(
            f"y, score and weights must describe the same {len(y)} patients, got "
            f"{len(score)} scores and weights of shape {w.shape}")
    order = np.argsort(score, kind="stable")
    s, y, w = score[order], y[order], w[:, order]
    starts = np.r_[0, np.flatnonzero(np.diff(s)) + 1]          # groups of tied scores
    pos = np.add.reduceat(w * y, starts, axis=1)
    neg = np.add.reduceat(w * (1 - y), starts, axis=1)
    below = np.cumsum(neg, axis=1) - neg                        # negatives scored lower
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (pos * (below + 0.5 * neg)).sum(axis=1) / (pos.sum(axis=1) * neg.sum(axis=1))
    return float(auc[0]) if single else auc


def shift_effect(y, proba, *, y_shifted=None, proba_shifted=None, weights=None,
                 n_boot=500, level=0.95, random_state=None):
    """AUC and O/E of one model before and after a shift of the same patients.

    Parameters
    ----------
    y : array-like of shape (n,)
        Outcomes before the shift.
    proba : array-like of shape (n,)
        The model's predicted risks before the shift.
    y_shifted : array-like of shape (n,), optional
        Outcomes after the shift (a concept shift relabels); defaults to ``y``.
    proba_shifted : array-like of shape (n,), optional
        Risks after the shift (a measurement shift changes the records); defaults to
        ``proba``.
    weights : array-like of shape (n,), optional
        Importance weights after the shift (label or covariate shift); default all 1.
    n_boot : int, default=500
        Bootstrap resamples of the patients.
    level : float, default=0.95
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    dict
        ``auc``, ``oe`` (before), ``auc_shifted``, ``oe_shifted`` and their percentile
        intervals ``auc_shifted_ci``, ``oe_shifted_ci``; ``auc_change`` (after minus
        before) and ``oe_ratio`` (after over before) with paired intervals
        ``auc_change_ci`` and ``oe_ratio_ci``; ``n`` the number of patients.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(0.05, 0.6, 400); y = (rng.random(400) < p).astype(int)
    >>> same = shift_effect(y, p, random_state=0)
    >>> same["auc_change"], same["auc_change_ci"], same["oe_ratio"]
    (0.0, (0.0, 0.0), 1.0)
    """
    y = _outcomes(y, "y")
    proba = np.asarray(proba, dtype=float)
    n = len(y)
    y1 = y if y_shifted is None else _outcomes(y_shifted, "y_shifted")
    p1 = proba if proba_shifted is None else np.asarray(proba_shifted, dtype=float)
    w1 = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    for name, a in (("proba", proba), ("y_shifted", y1), ("proba_shifted", p1),
                    ("weights", w1)):
        if a.shape != (n,):
            raise InvalidParameterError(f"{name} must have shape ({n},) like y, got {a.shape}")
        if not np.all(np.isfinite(a)):
            raise InvalidParameterError(f"{name} must be finite, got a non-finite value")
    if np.any(w1 < 0):
        raise InvalidParameterError("weights must be non-negative, got a negative weight")
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 10:
        raise InvalidParameterError(f"n_boot must be an integer >= 10, got {n_boot!r}")
    rng = check_rng(random_state)
    counts = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(float)
    ones = np.ones((1, n))
    before = _auc_oe(y, proba, np.vstack([ones, counts]))
    after = _auc_oe(y1, p1, np.vstack([ones, counts]) * w1)
    tail = 100 * (1 - level) / 2

    def interval(draws):
        low, high = np.nanpercentile(draws, [tail, 100 - tail])
        return float(low), float(high)

    change = after[0] - before[0]
    ratio = after[1] / before[1]
    return {"n": n, "auc": float(before[0][0]), "oe": float(before[1][0]),
            "auc_shifted": float(after[0][0]), "auc_shifted_ci": interval(after[0][1:]),
            "oe_shifted": float(after[1][0]), "oe_shifted_ci": interval(after[1][1:]),
            "auc_change": float(change[0]), "auc_change_ci": interval(change[1:]),
            "oe_ratio": float(ratio[0]), "oe_ratio_ci": interval(ratio[1:])}


def _auc_oe(y, proba, w):
    """AUC and O/E (observed over expected events) for each row of weights ``w``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return weighted_auc(y, proba, w), (w @ y) / (w @ proba)


def _outcomes(y, name):
    y = np.asarray(y, dtype=float)
    if y.ndim != 1 or not np.all(np.isin(y, (0.0, 1.0))):
        raise InvalidParameterError(f"{name} must be a 1-D array of 0/1 outcomes")
    if len(np.unique(y)) < 2:
        raise InvalidParameterError(f"{name} must hold both classes, got one")
    return y
