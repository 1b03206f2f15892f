"""Lesson 04's view of :mod:`fedlab.metrics`: a site's metrics with ``_low``/``_high`` keys.

The maths lives in :mod:`fedlab.metrics` (DeLong's AUC interval, O/E with its Poisson
interval, calibration slope and intercept); this module only renames its results into
the flat keys the heterogeneity figures and dashboard read.
"""

from __future__ import annotations

from fedlab import metrics

__all__ = ["delong", "auc_difference", "site_metrics"]

_KEYS = (("auc", "auc"), ("oe", "oe"), ("slope", "calibration_slope"),
         ("intercept", "calibration_intercept"))


def delong(y, scores):
    """AUCs of one or several scores on the same patients and their DeLong covariance."""
    return metrics.delong_covariance(y, scores)


def auc_difference(y, score_a, score_b):
    """``AUC(a) - AUC(b)`` on the same patients and its paired DeLong 95 % interval.

    Returns
    -------
    difference, low, high : float
    """
    result = metrics.auc_difference(y, score_a, score_b)
    return (result["difference"], *result["ci"])


def site_metrics(y, proba):
    """``n``, ``events`` and AUC, O/E, calibration slope and intercept with 95 % intervals.

    Each estimate ``k`` comes with ``k_low`` and ``k_high``; see
    :func:`fedlab.metrics.site_metrics` for how each is computed.

    Examples
    --------
    >>> m = site_metrics([0, 0, 1, 0, 1, 1, 0, 1], [.1, .2, .3, .4, .5, .6, .7, .8])
    >>> m["n"], m["events"], m["auc"]
    (8, 4, 0.75)
    """
    m = metrics.site_metrics(y, proba)
    out = {"n": m["n"], "events": m["events"]}
    for key, source in _KEYS:
        low, high = m[f"{source}_ci"]
        out.update({key: float(m[source]), f"{key}_low": float(low),
                    f"{key}_high": float(high)})
    return out
