"""Calibration at a horizon: predicted risk against the Kaplan-Meier observed risk, by risk group.

Censoring forbids counting events by the horizon as for a 0/1 outcome; the observed risk
of a group is 1 - its Kaplan-Meier survival at the horizon (Royston & Altman 2013;
Crowson et al. 2016 for O/E), defined only where follow-up reaches the horizon.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

from fedlab._validation import InvalidParameterError, check_fraction, check_int, check_positive

from ._checks import check_covariates, check_survival
from .kaplan_meier import kaplan_meier, survival_at
from .life_table import life_table

__all__ = ["predicted_risk", "observed_risk", "calibration_at_horizon"]


def predicted_risk(X, coef, baseline, horizon):
    """Cox model risk of an event by ``horizon``: ``1 - exp(-H0(horizon) exp(x b))``.

    Parameters
    ----------
    X : array-like of shape (n_patients, n_features)
    coef : array-like of shape (n_features,)
    baseline : (event_times, cumulative_hazard)
        The site's own baseline, from :func:`fedlab.survival.baseline_hazard`.
    horizon : float

    Returns
    -------
    ndarray of shape (n_patients,)

    Examples
    --------
    >>> predicted_risk([[0.0], [1.0]], [np.log(2)], ([1.0, 2.0], [0.1, 0.3]), 1.5).round(4)
    array([0.0952, 0.1813])
    """
    times, hazard = (np.asarray(v, dtype=float) for v in baseline)
    horizon = check_positive(horizon, "horizon")
    X = np.asarray(X, dtype=float)
    X = check_covariates(X, len(X))
    index = np.searchsorted(times, horizon, side="right") - 1
    h0 = hazard[index] if index >= 0 else 0.0
    return -np.expm1(-h0 * np.exp(X @ np.asarray(coef, dtype=float)))


def observed_risk(time, event, horizon, *, level=0.95):
    """Kaplan-Meier risk ``1 - S(horizon)``, its Greenwood (log-log) interval and standard error.

    NaN when no patient is followed to ``horizon`` (and the curve has not reached 0).

    Examples
    --------
    >>> risk, (low, high), se = observed_risk([1, 2, 3, 4, 5], [1, 0, 1, 0, 0], 3.5)
    >>> round(risk, 3)
    0.467
    """
    t, e = check_survival(time, event)
    times = np.unique(np.r_[t[e], horizon])
    km = kaplan_meier(life_table(t, e, times, exact=True), level=level)
    k = np.searchsorted(km.times, horizon, side="right") - 1
    survival = float(survival_at(km, horizon)[0])
    if survival > 0 and not np.any(t >= horizon):  # the curve stops before the horizon
        nan = float("nan")
        return nan, (nan, nan), nan
    return 1 - survival, (1 - float(km.ci[1, k]), 1 - float(km.ci[0, k])), float(km.se[k])


def calibration_at_horizon(time, event, risk, *, horizon, groups=5, min_cell=5, level=0.95):
    """Predicted against observed risk at ``horizon``, in groups of predicted risk, and O/E.

    Parameters
    ----------
    time, event : array-like of shape (n_patients,)
    risk : array-like of shape (n_patients,)
        Predicted risk of an event by ``horizon`` (e.g. :func:`predicted_risk`).
    horizon : float
    groups : int, default=5
        Groups of equal size by predicted risk (fewer if a group would hold fewer than
        ``min_cell`` patients).
    min_cell : int, default=5
        Fewest patients a group, and the risk set at the horizon, may hold.
    level : float, default=0.95

    Returns
    -------
    dict
        ``horizon``; ``observed`` (Kaplan-Meier risk of all patients) with
        ``observed_ci``; ``expected`` (mean predicted risk); ``oe`` = observed /
        expected with ``oe_ci`` (log scale, Greenwood standard error, the predictions
        held fixed); ``groups``: a list of dicts with ``n``, ``predicted``, ``observed``
        and ``observed_ci``.

    Raises
    ------
    InvalidParameterError
        If fewer than ``min_cell`` patients are still followed at ``horizon`` (follow-up
        does not reach it), or the risks are not probabilities.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> risk = rng.uniform(0.05, 0.6, 400)
    >>> event_time = rng.exponential(-5 / np.log1p(-risk))  # risk = P(T <= 5)
    >>> censor = rng.uniform(2, 12, 400)
    >>> t, e = np.minimum(event_time, censor), event_time <= censor
    >>> cal = calibration_at_horizon(t, e, risk, horizon=5)
    >>> round(cal["oe"], 2), len(cal["groups"])
    (1.01, 5)
    """
    t, e = check_survival(time, event)
    p = np.asarray(risk, dtype=float)
    if p.shape != t.shape or not np.all((p >= 0) & (p <= 1)):
        raise InvalidParameterError(f"risk must be {len(t)} probabilities in [0, 1]")
    horizon = check_positive(horizon, "horizon")
    min_cell = check_int(min_cell, "min_cell", minimum=1)
    groups = check_int(groups, "groups", minimum=1)
    level = check_fraction(level, "level", include_one=False)
    followed = int(np.sum(t >= horizon))
    if followed < min_cell:
        raise InvalidParameterError(
            f"horizon={horizon} is beyond follow-up: {followed} patient(s) followed to it, "
            f"fewer than min_cell={min_cell}")
    observed, observed_ci, se = observed_risk(t, e, horizon, level=level)
    expected = float(p.mean())
    z = NormalDist().inv_cdf(0.5 + level / 2)
    oe = observed / expected if expected > 0 else float("nan")
    if observed > 0 and expected > 0:
        half = z * se / observed
        oe_ci = (oe * math.exp(-half), oe * math.exp(half))
    else:
        oe_ci = (float("nan"), float("nan"))
    k = max(1, min(groups, len(t) // min_cell))
    order = np.argsort(p, kind="stable")
    table = []
    for members in np.array_split(order, k):
        obs, ci, _ = observed_risk(t[members], e[members], horizon, level=level)
        table.append({"n": len(members), "predicted": float(p[members].mean()),
                      "observed": obs, "observed_ci": ci})
    return {"horizon": horizon, "observed": observed, "observed_ci": observed_ci,
            "expected": expected, "oe": oe, "oe_ci": oe_ci, "groups": table}
