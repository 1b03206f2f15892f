"""One site's evaluation summary, and the pooling of several sites' summaries.

:func:`site_metrics` is what a hospital computes on its own test patients and may share
(counts, estimates, intervals; no patient's record). :func:`pool_site_metrics` combines
such summaries without the records: sums where the metric is a sum over patients, a
random-effects meta-analysis where it is not (the AUC, the calibration slope and
intercept), following Debray et al., "A guide to systematic review and meta-analysis of
prediction model performance", BMJ 2017.
"""

from __future__ import annotations

import math

import numpy as np

from fedlab._validation import InvalidParameterError
from fedlab.metrics.auc import _z, auc_interval
from fedlab.metrics.calibration import (
    _checked,
    _oe_from_counts,
    brier_score,
    calibration_intercept,
    calibration_slope,
    wilson_interval,
)

__all__ = ["site_metrics", "pool_site_metrics", "random_effects"]

_NAN2 = (float("nan"), float("nan"))


def site_metrics(y, proba, *, threshold=0.5, level=0.95):
    """Discrimination, accuracy and calibration of predicted risks, each with its interval.

    Parameters
    ----------
    y : array-like of shape (n_patients,)
        0/1 outcomes.
    proba : array-like of shape (n_patients,)
        Predicted risks in [0, 1].
    threshold : float, default=0.5
        Predicted risk at or above which a patient is called positive (for accuracy).
    level : float, default=0.95
        Confidence level of every interval.

    Returns
    -------
    dict
        ``n`` patients, ``events``, ``expected`` events (sum of risks), ``loss`` (log
        loss), ``accuracy`` with ``accuracy_ci`` (Wilson), ``auc`` with ``auc_se`` and
        ``auc_ci`` (DeLong, logit scale), ``oe`` with ``oe_ci`` (Poisson),
        ``calibration_slope`` and ``calibration_intercept`` with ``_se`` and ``_ci``
        (logistic recalibration), and ``brier``. Estimates that do not exist (an AUC with
        one class, a slope under perfect separation) are NaN.

    See Also
    --------
    pool_site_metrics : combine several sites' dicts.

    Examples
    --------
    >>> m = site_metrics([0, 0, 1, 0, 1, 1, 0, 1], [.1, .2, .3, .4, .5, .6, .7, .8])
    >>> m["n"], m["events"], m["auc"], m["oe"]
    (8, 4, 0.75, 1.111...)
    >>> tuple(round(v, 3) for v in m["accuracy_ci"])
    (0.409, 0.929)
    """
    y, p = _checked(y, proba)
    n, events = len(y), int(y.sum())
    correct = int(np.sum((p >= threshold) == y))
    clipped = np.clip(p, 1e-15, 1 - 1e-15)
    auc, auc_se, auc_ci = auc_interval(y, p, level=level)
    oe, oe_ci = _oe_from_counts(float(events), float(p.sum()), level)
    slope, slope_se, slope_ci = calibration_slope(y, p, level=level)
    intercept, intercept_se, intercept_ci = calibration_intercept(y, p, level=level)
    return {
        "n": n, "events": events, "expected": float(p.sum()),
        "loss": float(-np.mean(y * np.log(clipped) + (1 - y) * np.log1p(-clipped))),
        "accuracy": correct / n, "accuracy_ci": wilson_interval(correct, n, level=level),
        "auc": auc, "auc_se": auc_se, "auc_ci": auc_ci,
        "oe": oe, "oe_ci": oe_ci,
        "calibration_slope": slope, "calibration_slope_se": slope_se,
        "calibration_slope_ci": slope_ci,
        "calibration_intercept": intercept, "calibration_intercept_se": intercept_se,
        "calibration_intercept_ci": intercept_ci,
        "brier": brier_score(y, p),
    }


def pool_site_metrics(sites, *, level=0.95):
    """Combine several sites' :func:`site_metrics` dicts without their patients' records.

    Parameters
    ----------
    sites : mapping of str to dict, or sequence of dict
        Each site's summary as returned by :func:`site_metrics`.
    level : float, default=0.95

    Returns
    -------
    dict
        The keys of :func:`site_metrics`, plus ``n_sites`` and the AUC's between-site
        heterogeneity ``auc_tau2`` (variance of logit-AUC) and ``auc_i2`` (share of the
        spread not due to chance). Two kinds of pooling:

        - sums over patients are exact: ``n``, ``events``, ``expected``; ``loss``,
          ``accuracy`` and ``brier`` weighted by patients; ``oe = sum O / sum E``. They are
          what the whole test population would give; their intervals are computed from
          the totals as for one site.
        - ``auc``, ``calibration_slope`` and ``calibration_intercept`` come from a
          random-effects meta-analysis (:func:`random_effects`) of the sites' estimates
          (the AUC on the logit scale). This is the expected value at a typical site, not
          the AUC of all test patients pooled (which mixes patients across sites and is
          not an average of the sites' AUCs). Sites whose estimate or standard error is
          NaN (a single class, perfect separation) are left out of that metric.

        Their ``_se`` is the meta-analysis' standard error (for the AUC mapped back from
        the logit scale); their interval uses a t quantile (see :func:`random_effects`), so
        it is wider than ``estimate +- 1.96 se``.

    Examples
    --------
    >>> a = site_metrics([0, 0, 1, 0, 1, 1, 0, 1], [.1, .2, .3, .4, .5, .6, .7, .8])
    >>> b = site_metrics([0, 1, 0, 1, 0, 0, 1, 1], [.1, .2, .3, .4, .5, .6, .7, .8])
    >>> pooled = pool_site_metrics({"a": a, "b": b})
    >>> pooled["n"], pooled["events"], round(pooled["auc"], 3)
    (16, 8, 0.718)
    """
    sites = list(sites.values()) if isinstance(sites, dict) else list(sites)
    if not sites:
        raise InvalidParameterError("sites must hold at least one site's metrics, got none")
    n = sum(int(s["n"]) for s in sites)
    events = sum(int(s["events"]) for s in sites)
    expected = sum(float(s["expected"]) for s in sites)
    correct = int(round(sum(s["accuracy"] * s["n"] for s in sites)))
    oe, oe_ci = _oe_from_counts(float(events), expected, level)
    pooled = {"n": n, "events": events, "expected": expected,
              "loss": sum(s["loss"] * s["n"] for s in sites) / n,
              "accuracy": correct / n, "accuracy_ci": wilson_interval(correct, n, level=level),
              "oe": oe, "oe_ci": oe_ci, "brier": sum(s["brier"] * s["n"] for s in sites) / n,
              "n_sites": len(sites)}

    aucs = np.array([s["auc"] for s in sites], dtype=float)
    ses = np.array([s["auc_se"] for s in sites], dtype=float)
    keep = np.isfinite(aucs) & np.isfinite(ses) & (ses > 0) & (aucs > 0) & (aucs < 1)
    logit = np.log(aucs[keep] / (1 - aucs[keep]))
    variance = (ses[keep] / (aucs[keep] * (1 - aucs[keep]))) ** 2  # delta method
    meta = random_effects(logit, variance, level=level)
    auc = _expit(meta["estimate"])
    pooled.update(auc=auc, auc_se=meta["se"] * auc * (1 - auc),
                  auc_ci=tuple(_expit(v) for v in meta["ci"]),
                  auc_tau2=meta["tau2"], auc_i2=meta["i2"])
    for name in ("calibration_slope", "calibration_intercept"):
        est = np.array([s[name] for s in sites], dtype=float)
        se = np.array([s[f"{name}_se"] for s in sites], dtype=float)
        keep = np.isfinite(est) & np.isfinite(se) & (se > 0)
        meta = random_effects(est[keep], se[keep] ** 2, level=level)
        pooled.update({name: meta["estimate"], f"{name}_se": meta["se"],
                       f"{name}_ci": meta["ci"]})
    return pooled


def random_effects(estimates, variances, *, level=0.95):
    """Random-effects meta-analysis: DerSimonian-Laird, with the Hartung-Knapp interval.

    Parameters
    ----------
    estimates : array-like of shape (n_studies,)
        One estimate per site (or study), on a scale where it is roughly normal.
    variances : array-like of shape (n_studies,)
        Their squared standard errors, all > 0.
    level : float, default=0.95

    Returns
    -------
    dict
        ``estimate`` (the mean of the sites' true values), its ``se`` and ``ci``, the
        between-site variance ``tau2``, ``i2`` (share of the total spread due to true
        differences between sites) and the number of sites ``k``. With no site, every
        number is NaN; with one, its own estimate and normal interval.

    Notes
    -----
    With weights :math:`w_i = 1/v_i`, Cochran's :math:`Q = \\sum w_i (y_i - \\bar y_w)^2`
    and :math:`C = \\sum w_i - \\sum w_i^2 / \\sum w_i`, DerSimonian and Laird estimate
    :math:`\\tau^2 = \\max(0, (Q - (k - 1)) / C)`. The pooled estimate weights each site by
    :math:`w_i^* = 1/(v_i + \\tau^2)`. With few sites a normal interval is too narrow, so
    the interval is Hartung and Knapp's: variance :math:`q / \\sum w_i^*` with
    :math:`q = \\max(1, \\sum w_i^* (y_i - \\hat\\mu)^2 / (k - 1))` (Knapp and Hartung's
    modification, never narrower than the normal one) and a t quantile with
    :math:`k - 1` degrees of freedom.

    References
    ----------
    DerSimonian & Laird, "Meta-analysis in clinical trials", Control. Clin. Trials 1986.
    Knapp & Hartung, "Improved tests for a random effects meta-regression with a single
    covariate", Stat. Med. 2003. Higgins & Thompson, "Quantifying heterogeneity in a
    meta-analysis", Stat. Med. 2002.

    Examples
    --------
    >>> r = random_effects([0.1, 0.3, 0.5], [0.01, 0.02, 0.04])
    >>> round(r["estimate"], 4), round(r["tau2"], 4), r["k"]
    (0.2524, 0.0171, 3)
    """
    y = np.asarray(estimates, dtype=float)
    v = np.asarray(variances, dtype=float)
    k = len(y)
    if k == 0:
        return {"estimate": float("nan"), "se": float("nan"), "ci": _NAN2,
                "tau2": float("nan"), "i2": float("nan"), "k": 0}
    if v.shape != y.shape or not np.all(v > 0):
        raise InvalidParameterError(f"variances must be {k} numbers > 0, got {variances!r}")
    z = _z(level)
    if k == 1:
        mu, se = float(y[0]), math.sqrt(v[0])
        return {"estimate": mu, "se": se, "ci": (mu - z * se, mu + z * se),
                "tau2": 0.0, "i2": 0.0, "k": 1}
    w = 1 / v
    fixed = np.sum(w * y) / np.sum(w)
    q = float(np.sum(w * (y - fixed) ** 2))
    c = np.sum(w) - np.sum(w**2) / np.sum(w)
    tau2 = max(0.0, (q - (k - 1)) / c)
    w_star = 1 / (v + tau2)
    mu = float(np.sum(w_star * y) / np.sum(w_star))
    spread = max(1.0, float(np.sum(w_star * (y - mu) ** 2)) / (k - 1))
    se = math.sqrt(spread / float(np.sum(w_star)))
    from scipy import stats  # only here: importing scipy.stats takes half a second

    t = float(stats.t.ppf(0.5 + level / 2, k - 1))
    return {"estimate": mu, "se": se, "ci": (mu - t * se, mu + t * se), "tau2": float(tau2),
            "i2": max(0.0, (q - (k - 1)) / q) if q > 0 else 0.0, "k": k}


def _expit(x):
    return 1 / (1 + math.exp(-x)) if x == x else float("nan")
