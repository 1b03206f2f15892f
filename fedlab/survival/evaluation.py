"""Evaluation of a survival model at each site, and the pooling of the sites' summaries.

A C-index over the patients of several sites mixes baseline hazards (a pair across two
hospitals compares their follow-up as much as the model), so each site evaluates its own
patients and the server pools the estimates by a random-effects meta-analysis on the
logit scale (Debray et al. 2017), as :mod:`fedlab.metrics` does for the AUC.
"""

from __future__ import annotations

import math

import numpy as np

from fedlab._validation import InvalidParameterError

from ._checks import check_survival
from .calibration import calibration_at_horizon
from .concordance import harrell_c, uno_c

__all__ = ["site_survival_metrics", "pool_survival_metrics"]


def site_survival_metrics(time, event, risk, *, tau, train_time=None, train_event=None,
                          risk_at_tau=None, min_cell=5, level=0.95):
    """One site's discrimination (Harrell's and Uno's C) and, optionally, calibration at ``tau``.

    Parameters
    ----------
    time, event : array-like of shape (n_patients,)
        The site's evaluation patients.
    risk : array-like of shape (n_patients,)
        Risk scores (higher = earlier event), e.g. the Cox linear predictor.
    tau : float
        Horizon of Uno's C and of the calibration; within the site's follow-up.
    train_time, train_event : array-like, optional
        The site's training patients, for Uno's censoring distribution (default: the
        evaluation patients).
    risk_at_tau : array-like of shape (n_patients,), optional
        Predicted risk of an event by ``tau``; adds ``calibration`` (see
        :func:`fedlab.survival.calibration_at_horizon`), None where follow-up does not
        reach ``tau``.
    min_cell : int, default=5
    level : float, default=0.95

    Returns
    -------
    dict
        ``n``, ``events``, ``tau``, ``c_index`` with ``c_index_se`` and ``c_index_ci``,
        ``uno_c`` with ``uno_c_se`` and ``uno_c_ci`` (jackknife standard errors, logit
        intervals: see :func:`fedlab.survival.harrell_c`), and ``calibration`` when
        ``risk_at_tau`` is given. Uno's C is NaN when ``tau`` lies beyond the follow-up.

    Raises
    ------
    InvalidParameterError
        If the site has fewer than ``min_cell`` patients or events (its C-index would
        describe too few of them).

    Examples
    --------
    >>> m = site_survival_metrics([1, 2, 3, 4, 5, 6, 7, 8], [1, 1, 0, 1, 1, 0, 1, 1],
    ...                           [8, 6, 7, 5, 3, 4, 2, 1], tau=7.5, min_cell=2)
    >>> m["n"], m["events"], round(m["c_index"], 3), round(m["uno_c"], 3)
    (8, 6, 0.905, 0.907)
    """
    t, e = check_survival(time, event)
    n, events = len(t), int(e.sum())
    if min(n, events) < min_cell:
        raise InvalidParameterError(
            f"a site needs at least min_cell={min_cell} patients and events to report a "
            f"C-index, got {n} patients and {events} events")
    c, c_se, c_ci = harrell_c(t, e, risk, level=level)
    try:
        u, u_se, u_ci = uno_c(t, e, risk, tau=tau, train_time=train_time,
                              train_event=train_event, level=level)
    except InvalidParameterError:
        if not tau > 0:
            raise
        u, u_se, u_ci = float("nan"), float("nan"), (float("nan"), float("nan"))
    out = {"n": n, "events": events, "tau": float(tau), "c_index": c, "c_index_se": c_se,
           "c_index_ci": c_ci, "uno_c": u, "uno_c_se": u_se, "uno_c_ci": u_ci}
    if risk_at_tau is not None:
        try:
            out["calibration"] = calibration_at_horizon(t, e, risk_at_tau, horizon=tau,
                                                        min_cell=min_cell, level=level)
        except InvalidParameterError:
            if np.sum(t >= tau) >= min_cell:  # a real input error, not short follow-up
                raise
            out["calibration"] = None
    return out


def pool_survival_metrics(sites, *, level=0.95):
    """Random-effects pooling of the sites' C-indices (logit scale) and O/E (log scale).

    Parameters
    ----------
    sites : mapping of str to dict, or sequence of dict
        Each site's :func:`site_survival_metrics`.
    level : float, default=0.95

    Returns
    -------
    dict
        ``n`` and ``events`` summed, ``n_sites``; for ``c_index`` and ``uno_c``: the
        pooled estimate (the C expected at a typical site) with ``_se``, ``_ci``, and the
        between-site ``_tau2`` (logit scale) and ``_i2``; ``oe`` with ``oe_ci`` from the
        sites that report a calibration. Sites with a NaN estimate are left out of it.

    Examples
    --------
    >>> a = {"n": 80, "events": 20, "c_index": 0.70, "c_index_se": 0.04,
    ...      "uno_c": 0.69, "uno_c_se": 0.05}
    >>> b = {"n": 120, "events": 30, "c_index": 0.76, "c_index_se": 0.03,
    ...      "uno_c": 0.75, "uno_c_se": 0.04}
    >>> pooled = pool_survival_metrics([a, b])
    >>> pooled["n"], pooled["events"], round(pooled["c_index"], 3)
    (200, 50, 0.734)
    """
    from fedlab.metrics import random_effects  # fedlab.metrics imports fedlab.models (CoxPH)

    sites = list(sites.values()) if isinstance(sites, dict) else list(sites)
    if not sites:
        raise InvalidParameterError("sites must hold at least one site's metrics, got none")
    pooled = {"n": sum(int(s["n"]) for s in sites),
              "events": sum(int(s["events"]) for s in sites), "n_sites": len(sites)}
    for name in ("c_index", "uno_c"):
        est = np.array([s[name] for s in sites], dtype=float)
        se = np.array([s[f"{name}_se"] for s in sites], dtype=float)
        keep = np.isfinite(est) & np.isfinite(se) & (se > 0) & (est > 0) & (est < 1)
        meta = random_effects(np.log(est[keep] / (1 - est[keep])),
                              (se[keep] / (est[keep] * (1 - est[keep]))) ** 2, level=level)
        c = _expit(meta["estimate"])
        pooled.update({name: c, f"{name}_se": meta["se"] * c * (1 - c),
                       f"{name}_ci": tuple(_expit(v) for v in meta["ci"]),
                       f"{name}_tau2": meta["tau2"], f"{name}_i2": meta["i2"]})
    cal = [s["calibration"] for s in sites if s.get("calibration")]
    cal = [c for c in cal if c["oe"] > 0 and all(v > 0 for v in c["oe_ci"])]
    if cal:
        log_oe = np.log([c["oe"] for c in cal])
        width = np.array([math.log(c["oe_ci"][1] / c["oe_ci"][0]) for c in cal])
        z = 2 * _z(level)
        meta = random_effects(log_oe, (width / z) ** 2, level=level)
        pooled.update(oe=math.exp(meta["estimate"]),
                      oe_ci=tuple(math.exp(v) for v in meta["ci"]), oe_sites=len(cal))
    return pooled


def _z(level):
    from statistics import NormalDist

    return NormalDist().inv_cdf(0.5 + level / 2)


def _expit(x):
    return 1 / (1 + math.exp(-x)) if x == x else float("nan")
