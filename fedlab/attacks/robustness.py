"""What a defence costs honest sites: AUC differences per site with 95 % bootstrap intervals.

A stratified bootstrap (Efron & Tibshirani 1993), paired: both models are scored on
the same resampled patients, so the interval is that of the difference itself. A
small local helper until DeLong intervals (DeLong et al. 1988) reach ``fedlab.metrics``.
"""

from __future__ import annotations

import numpy as np

from fedlab import model
from fedlab._validation import InvalidParameterError, check_int, check_rng

__all__ = ["auc_interval", "auc_difference", "site_auc_differences"]


def auc_interval(y, score, *, n_boot=1000, level=0.95, random_state=None):
    """ROC AUC and its stratified-bootstrap percentile interval.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Outcomes, 0 or 1, both present.
    score : array-like of shape (n_samples,)
    n_boot : int, default=1000
    level : float, default=0.95
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    (auc, low, high) : tuple of float

    Examples
    --------
    >>> auc, low, high = auc_interval([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], random_state=0)
    >>> auc, bool(low <= auc <= high)
    (0.75, True)
    """
    (auc,), ((low, high),) = _bootstrap(y, [score], n_boot, level, random_state)
    return auc, low, high


def auc_difference(y, score_a, score_b, *, n_boot=1000, level=0.95, random_state=None):
    """AUC of ``score_a`` minus AUC of ``score_b`` on the same patients, with its interval.

    Returns
    -------
    (difference, low, high) : tuple of float

    Examples
    --------
    >>> y = [0, 0, 1, 1]
    >>> auc_difference(y, [0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4], random_state=0)
    (0.0, 0.0, 0.0)
    """
    (a, b), _, boot = _bootstrap(y, [score_a, score_b], n_boot, level, random_state,
                                 return_samples=True)
    diff = boot[0] - boot[1]
    tail = (1 - level) / 2
    low, high = np.quantile(diff, [tail, 1 - tail])
    return float(a - b), float(low), float(high)


def site_auc_differences(params, reference, hospitals, *, standardizer=None,
                         reference_standardizer=None, n_boot=1000, random_state=None):
    """Per hospital (and pooled): AUC of ``params`` minus AUC of ``reference``, with intervals.

    Parameters
    ----------
    params, reference : ndarray of shape (n_features + 1,)
        The two models (e.g. a robust rule's and FedAvg's, both trained on clean data).
    hospitals : sequence of Hospital
        Their test splits are used.
    standardizer, reference_standardizer : Standardizer, optional
        Each model's preprocessing (a run's ``History.standardizer``).
    n_boot : int, default=1000
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    dict of str to (float, float, float)
        ``{site: (difference, low, high)}`` and ``"pooled"`` last.
    """
    rng = check_rng(random_state)
    out = {}
    tests = [(h.name, h.X_test, h.y_test) for h in hospitals]
    tests.append(("pooled", np.vstack([h.X_test for h in hospitals]),
                  np.concatenate([h.y_test for h in hospitals])))
    for name, X, y in tests:
        a = model.predict_proba(params, _transform(standardizer, X))
        b = model.predict_proba(reference, _transform(reference_standardizer, X))
        out[name] = auc_difference(y, a, b, n_boot=n_boot, random_state=rng)
    return out


def _transform(standardizer, X):
    return X if standardizer is None else standardizer.transform(X)


def _bootstrap(y, scores, n_boot, level, random_state, return_samples=False):
    """AUCs of each score and their bootstrap samples, resampling cases and controls apart.

    The AUC of a resample is ``c_pos^T H c_neg / (n_pos n_neg)`` with ``H[i, j]`` 1 when
    case ``i`` outscores control ``j`` (1/2 on ties) and ``c`` the resample's counts.
    """
    y = np.asarray(y) == 1
    n_boot = check_int(n_boot, "n_boot", minimum=10)
    if not 0 < level < 1:
        raise InvalidParameterError(f"level must be in (0, 1), got {level!r}")
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        raise InvalidParameterError(
            f"y must hold both outcomes to have an AUC, got {n_pos} events and {n_neg} "
            "non-events")
    rng = check_rng(random_state)
    c_pos = rng.multinomial(n_pos, np.full(n_pos, 1 / n_pos), size=n_boot).astype(float)
    c_neg = rng.multinomial(n_neg, np.full(n_neg, 1 / n_neg), size=n_boot).astype(float)
    aucs, samples = [], []
    for score in scores:
        s = np.asarray(score, dtype=float)
        diff = s[y][:, None] - s[~y][None, :]
        H = (diff > 0) + 0.5 * (diff == 0)
        aucs.append(float(H.mean()))
        samples.append(np.sum((c_pos @ H) * c_neg, axis=1) / (n_pos * n_neg))
    tail = (1 - level) / 2
    intervals = [tuple(float(q) for q in np.quantile(s, [tail, 1 - tail])) for s in samples]
    if return_samples:
        return aucs, intervals, samples
    return aucs, intervals
