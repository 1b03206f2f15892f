"""A site's discrimination and calibration with 95 % intervals (DeLong 1988; Riley et al. 2024).

Lesson 04's own helpers, kept in one private module so they can be swapped for
``fedlab.metrics``' per-site functions when those arrive: the AUC with DeLong's
interval, the paired DeLong interval of a difference of two AUCs on the same patients,
observed/expected events (O/E) with a Poisson interval, and the calibration slope and
intercept (calibration-in-the-large) with Wald intervals.
"""

from __future__ import annotations

import numpy as np

from fedlab import model
from fedlab.metrics import _average_ranks

__all__ = ["Z95", "delong", "auc_difference", "site_metrics"]

Z95 = 1.959963984540054
"""The standard normal's 97.5 % quantile."""


def delong(y, scores):
    """AUCs of one or several scores on the same patients and their DeLong covariance.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        0/1 outcomes with both classes.
    scores : array-like of shape (n_samples,) or (n_scores, n_samples)

    Returns
    -------
    auc : ndarray of shape (n_scores,)
    cov : ndarray of shape (n_scores, n_scores)

    Notes
    -----
    Structural components ``V10`` (one per event) and ``V01`` (one per non-event), their
    sample covariances divided by the numbers of events and non-events (DeLong, DeLong,
    Clarke-Pearson 1988), by midranks (Sun & Xu 2014).

    Examples
    --------
    >>> auc, cov = delong([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> float(auc[0]), round(float(cov[0, 0]), 4)
    (0.75, 0.125)
    """
    y = np.asarray(y) == 1
    scores = np.atleast_2d(np.asarray(scores, dtype=float))
    m, n = int(y.sum()), int((~y).sum())
    if m == 0 or n == 0:
        raise ValueError(f"y must hold events and non-events, got {m} and {n}")
    v10, v01 = [], []
    for s in scores:
        rank_all = _average_ranks(s)
        rank_pos, rank_neg = _average_ranks(s[y]), _average_ranks(s[~y])
        v10.append((rank_all[y] - rank_pos) / n)
        v01.append(1.0 - (rank_all[~y] - rank_neg) / m)
    v10, v01 = np.array(v10), np.array(v01)
    auc = v10.mean(axis=1)
    cov = (np.atleast_2d(np.cov(v10)) / m if m > 1 else 0.0) + \
          (np.atleast_2d(np.cov(v01)) / n if n > 1 else 0.0)
    return auc, np.atleast_2d(cov)


def auc_difference(y, score_a, score_b):
    """``AUC(a) - AUC(b)`` on the same patients, with its paired DeLong 95 % interval.

    Returns
    -------
    difference, low, high : float

    Examples
    --------
    >>> d, lo, hi = auc_difference([0, 0, 1, 1, 0, 1], [1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6])
    >>> d, lo, hi
    (0.0, 0.0, 0.0)
    """
    auc, cov = delong(y, [score_a, score_b])
    diff = float(auc[0] - auc[1])
    se = float(np.sqrt(max(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1], 0.0)))
    return diff, diff - Z95 * se, diff + Z95 * se


def site_metrics(y, proba):
    """AUC, O/E and calibration slope and intercept of predictions at one site, with 95 % CIs.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        The site's test outcomes.
    proba : array-like of shape (n_samples,)
        Predicted probabilities, in (0, 1).

    Returns
    -------
    dict
        ``n``, ``events``; ``auc``, ``auc_low``, ``auc_high`` (DeLong, clipped to
        [0, 1]); ``oe``, ``oe_low``, ``oe_high`` (observed / expected events; the
        interval ``exp(log(O/E) +- 1.96 / sqrt(O))``, exact for ``O = 0``); ``slope``,
        ``slope_low``, ``slope_high`` and ``intercept``, ``intercept_low``, ``intercept_high``
        (calibration intercept with the logit as an offset, i.e. in the large). NaN where
        a site's test set has a single class.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(0.05, 0.6, 4000); y = (rng.random(4000) < p).astype(int)
    >>> m = site_metrics(y, p)
    >>> bool(m["oe_low"] < 1 < m["oe_high"]), round(m["auc"], 3), m["events"]
    (True, 0.692, 1287)
    """
    y = np.asarray(y, dtype=float)
    proba = np.clip(np.asarray(proba, dtype=float), 1e-12, 1 - 1e-12)
    if y.shape != proba.shape or y.ndim != 1:
        raise ValueError(f"y and proba must be 1-D of the same length, got shapes "
                         f"{y.shape} and {proba.shape}")
    events, expected = float(y.sum()), float(proba.sum())
    out = {"n": int(len(y)), "events": int(events)}
    nan3 = (float("nan"),) * 3
    both = 0 < events < len(y)
    if both:
        auc, cov = delong(y, proba)
        half = Z95 * np.sqrt(cov[0, 0])
        auc3 = (float(auc[0]), max(0.0, auc[0] - half), min(1.0, auc[0] + half))
    out.update(zip(("auc", "auc_low", "auc_high"), auc3 if both else nan3))
    oe = events / expected
    if events > 0:
        half = Z95 / np.sqrt(events)
        out.update(oe=oe, oe_low=oe * np.exp(-half), oe_high=oe * np.exp(half))
    else:  # no event: the exact Poisson upper bound, -log(0.025) events
        out.update(oe=0.0, oe_low=0.0, oe_high=-np.log(0.025) / expected)
    logit = np.log(proba) - np.log1p(-proba)
    out.update(zip(("slope", "slope_low", "slope_high"),
                   _slope(logit, y) if both else nan3))
    out.update(zip(("intercept", "intercept_low", "intercept_high"),
                   _intercept_in_the_large(logit, y) if both else nan3))
    return {k: (float(v) if k not in ("n", "events") else v) for k, v in out.items()}


def _slope(logit, y):
    """Calibration slope ``b`` of ``logit P(y) = a + b logit``, with its Wald interval."""
    X = logit.reshape(-1, 1)
    slope, intercept = model.fit(X, y, l2=0.0)
    X1 = np.hstack([X, np.ones((len(y), 1))])
    p = model.sigmoid(X1 @ np.array([slope, intercept]))
    try:
        cov = np.linalg.inv((X1 * (p * (1 - p))[:, None]).T @ X1)
    except np.linalg.LinAlgError:  # separated outcomes: no finite interval
        return slope, float("nan"), float("nan")
    half = Z95 * np.sqrt(cov[0, 0])
    return slope, slope - half, slope + half


def _intercept_in_the_large(logit, y, iterations=50):
    """``a`` of ``logit P(y) = a + logit`` (slope fixed at 1), with its Wald interval."""
    a = 0.0
    for _ in range(iterations):
        p = model.sigmoid(a + logit)
        info = float(np.sum(p * (1 - p)))
        if not info > 1e-12:  # predictions all at 0 or 1: no finite estimate
            return (float("nan"),) * 3
        step = float(np.sum(y - p)) / info
        a += step
        if abs(step) < 1e-12:
            break
    half = Z95 / np.sqrt(info)
    return a, a - half, a + half
