"""Federated evaluation: each site scores the model on its own patients; the server pools.

A site returns only aggregate metrics (:func:`site_metrics`): its number of patients and
events, the ROC AUC with a DeLong 95 % interval (DeLong, DeLong & Clarke-Pearson 1988),
calibration (observed/expected ratio, calibration slope and intercept; Van Calster et
al. 2019) and the Brier score. :func:`pool_site_metrics` combines them as a
multicentre study would (Riley et al. 2016; Debray et al. 2017): exact sums where the
metric is a sum (events, O/E, Brier), a random-effects meta-analysis where it is not
(AUC, slope, intercept). :func:`leave_one_site_out` is external validation.
"""

from __future__ import annotations

import numpy as np

from fedlab import model
from fedlab.metrics import _average_ranks

__all__ = ["site_metrics", "evaluate_site", "pool_site_metrics", "leave_one_site_out",
           "meta_analysis", "Z95"]

Z95 = 1.959963984540054
"""The standard normal quantile of a two-sided 95 % interval."""


def site_metrics(y, proba):
    """Everything a site reports about a model on its held-out patients: aggregates only.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Observed outcomes, 0 or 1.
    proba : array-like of shape (n_samples,)
        The model's predicted risks, in (0, 1).

    Returns
    -------
    dict of str to float
        ``n``, ``events``; ``auc`` with its DeLong standard error ``auc_se`` and 95 %
        interval ``auc_low``/``auc_high`` (on the logit scale, so inside [0, 1]);
        ``observed``/``expected`` events and their ratio ``oe`` with a 95 % interval
        (``oe_low``/``oe_high``, Poisson on the log scale); calibration ``slope`` and
        ``intercept`` (calibration-in-the-large) with standard errors; ``brier``.
        AUC and slope are NaN when ``y`` holds a single class.

    Examples
    --------
    >>> m = site_metrics([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> m["n"], m["events"], m["auc"], round(m["oe"], 3), round(m["brier"], 4)
    (4.0, 2.0, 0.75, 1.212, 0.1581)
    """
    y = np.asarray(y, dtype=float)
    p = np.clip(np.asarray(proba, dtype=float), 1e-12, 1 - 1e-12)
    if y.shape != p.shape or y.ndim != 1 or len(y) == 0:
        raise ValueError(f"y and proba must be 1-D of the same length, got {y.shape} "
                         f"and {p.shape}")
    events, expected = float(y.sum()), float(p.sum())
    auc, auc_se = delong_auc(y, p)
    lp = np.log(p / (1 - p))
    (_, slope), (_, slope_se) = _logistic_fit(lp, y)
    intercept, intercept_se = _intercept_with_offset(lp, y)
    oe = events / expected
    return {"n": float(len(y)), "events": events, "auc": auc, "auc_se": auc_se,
            **dict(zip(("auc_low", "auc_high"), _logit_interval(auc, auc_se))),
            "observed": events, "expected": expected, "oe": oe,
            **dict(zip(("oe_low", "oe_high"), _oe_interval(events, expected))),
            "slope": slope, "slope_se": slope_se, "intercept": intercept,
            "intercept_se": intercept_se, "brier": float(np.mean((p - y) ** 2))}


def evaluate_site(params, X, y, *, standardizer=None, threshold=0.5):
    """:func:`site_metrics` of a logistic-regression model on one site's raw records.

    Adds ``accuracy`` at ``threshold``, so that the report has the command line's
    metrics too.

    Examples
    --------
    >>> m = evaluate_site([1.0, 0.0], [[-1.0], [1.0], [2.0]], [0, 1, 1])
    >>> m["auc"], m["accuracy"], m["slope"]  # separated outcomes: no slope
    (1.0, 1.0, nan)
    """
    X = np.asarray(X, dtype=float)
    if standardizer is not None:
        X = standardizer.transform(X)
    proba = model.predict_proba(params, X)
    accuracy = float(np.mean((proba >= threshold) == np.asarray(y, dtype=float)))
    return {**site_metrics(y, proba), "accuracy": accuracy}


def delong_auc(y, score):
    """ROC AUC and its DeLong standard error (NaN, NaN for a single class).

    Examples
    --------
    >>> auc, se = delong_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> auc, round(se, 4)
    (0.75, 0.3536)
    """
    y = np.asarray(y) == 1
    score = np.asarray(score, dtype=float)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan"), float("nan")
    ranks = _average_ranks(score)
    # structural components: the share of the other class each case outranks
    v10 = (ranks[y] - _average_ranks(score[y])) / n_neg
    v01 = 1 - (ranks[~y] - _average_ranks(score[~y])) / n_pos
    auc = float(v10.mean())
    var = (np.var(v10, ddof=1) / n_pos if n_pos > 1 else 0.0) + \
          (np.var(v01, ddof=1) / n_neg if n_neg > 1 else 0.0)
    return auc, float(np.sqrt(var))


def pool_site_metrics(sites):
    """Pool the sites' reports into the study's summary, each with a 95 % interval.

    Parameters
    ----------
    sites : mapping of str to dict
        :func:`site_metrics` of each site.

    Returns
    -------
    dict of str to float
        ``n``, ``events`` and ``observed``/``expected`` summed (so ``oe`` is the
        events-weighted mean of the sites' ratios, exactly the pooled patients' O/E);
        ``brier`` (and ``accuracy`` when the sites report it) the patient-weighted mean
        (exact); ``auc``, ``slope`` and
        ``intercept`` from a DerSimonian-Laird random-effects meta-analysis (AUC on the
        logit scale), with ``*_low``/``*_high`` and the between-site spread ``*_tau2``.

    Notes
    -----
    The AUC of the pooled patients cannot be computed from site AUCs (it needs pairs of
    patients from different sites); the meta-analytic summary estimates the AUC of a
    typical site, and its interval widens when the sites disagree.

    Examples
    --------
    >>> a = site_metrics([0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.2, 0.7])
    >>> b = site_metrics([0, 1, 1, 0, 0, 1], [0.3, 0.6, 0.9, 0.5, 0.1, 0.4])
    >>> pooled = pool_site_metrics({"a": a, "b": b})
    >>> pooled["n"], pooled["events"], pooled["observed"] / pooled["expected"] == pooled["oe"]
    (12.0, 6.0, True)
    """
    sites = list(sites.values())
    if not sites:
        raise ValueError("sites must hold at least one site's metrics, got none")
    n = sum(s["n"] for s in sites)
    observed, expected = sum(s["observed"] for s in sites), sum(s["expected"] for s in sites)
    pooled = {"n": n, "events": sum(s["events"] for s in sites), "observed": observed,
              "expected": expected, "oe": observed / expected,
              **dict(zip(("oe_low", "oe_high"), _oe_interval(observed, expected))),
              "brier": sum(s["brier"] * s["n"] for s in sites) / n}
    if all("accuracy" in s for s in sites):
        pooled["accuracy"] = sum(s["accuracy"] * s["n"] for s in sites) / n
    logit_auc = [(np.log(s["auc"] / (1 - s["auc"])), s["auc_se"] / (s["auc"] * (1 - s["auc"])))
                 if 0 < s["auc"] < 1 else (np.nan, np.nan) for s in sites]
    est, low, high, tau2 = meta_analysis(*zip(*logit_auc))
    pooled.update(auc=_expit(est), auc_low=_expit(low), auc_high=_expit(high), auc_tau2=tau2)
    for name in ("slope", "intercept"):
        est, low, high, tau2 = meta_analysis([s[name] for s in sites],
                                             [s[f"{name}_se"] for s in sites])
        pooled.update({name: est, f"{name}_low": low, f"{name}_high": high,
                       f"{name}_tau2": tau2})
    return pooled


def meta_analysis(estimates, std_errors):
    """DerSimonian-Laird random-effects summary: ``(estimate, low, high, tau2)``.

    Sites whose estimate or standard error is not finite and positive are left out; with
    none left, every value is NaN.

    Examples
    --------
    >>> est, low, high, tau2 = meta_analysis([1.0, 1.0], [0.1, 0.1])
    >>> est, tau2, round(high - est, 4)
    (1.0, 0.0, 0.1386)
    """
    est, se = np.asarray(estimates, dtype=float), np.asarray(std_errors, dtype=float)
    keep = np.isfinite(est) & np.isfinite(se) & (se > 0)
    est, var = est[keep], se[keep] ** 2
    if len(est) == 0:
        return (float("nan"),) * 4
    w = 1 / var
    fixed = np.sum(w * est) / w.sum()
    q = np.sum(w * (est - fixed) ** 2)
    tau2 = max(0.0, (q - (len(est) - 1)) / (w.sum() - np.sum(w**2) / w.sum())) \
        if len(est) > 1 else 0.0
    w_star = 1 / (var + tau2)
    mean = float(np.sum(w_star * est) / w_star.sum())
    half = Z95 / np.sqrt(w_star.sum())
    return mean, float(mean - half), float(mean + half), float(tau2)


def leave_one_site_out(hospitals, *, random_state=None, **run_options):
    """External validation: train on all sites but one, evaluate at the one left out.

    Parameters
    ----------
    hospitals : sequence of Hospital
        Each with a training and a test split; the model trained without site ``k`` is
        scored on ``k``'s test split.
    random_state : None or int
    **run_options
        Passed to :func:`fedlab.federated.run` (``strategy``, ``rounds``, ``lr``, ...).

    Returns
    -------
    dict of str to dict
        :func:`site_metrics` at each left-out site.
    """
    from fedlab import federated

    hospitals = list(hospitals)
    results = {}
    for k, left_out in enumerate(hospitals):
        others = [federated.Client.from_hospital(h) for j, h in enumerate(hospitals) if j != k]
        history = federated.run(others, random_state=random_state, **run_options)
        results[left_out.name] = evaluate_site(history.params, left_out.X_test,
                                               left_out.y_test,
                                               standardizer=history.standardizer)
    return results


def _logistic_fit(x, y, *, offset=None, slope=True, iterations=50):
    """Maximum-likelihood ``logit P(y) = a + b x (+ offset)``: (coefficients, std errors)."""
    Z = np.column_stack([np.ones_like(x), x]) if slope else np.ones((len(x), 1))
    offset = np.zeros_like(x) if offset is None else offset
    if slope and (y.min() == y.max()):
        return (np.nan, np.nan), (np.nan, np.nan)
    beta = np.zeros(Z.shape[1])
    nan = (float("nan"),) * Z.shape[1]
    try:
        for _ in range(iterations):
            p = _expit(Z @ beta + offset)
            hessian = Z.T @ (Z * (p * (1 - p))[:, None])
            step = np.linalg.solve(hessian, Z.T @ (y - p))
            beta += step
            if np.max(np.abs(step)) < 1e-10:
                break
        else:  # no maximum: the outcomes are separated (the estimate diverges)
            return nan, nan
        p = _expit(Z @ beta + offset)
        cov = np.linalg.inv(Z.T @ (Z * (p * (1 - p))[:, None]))
    except np.linalg.LinAlgError:
        return nan, nan
    return tuple(float(b) for b in beta), tuple(float(s) for s in np.sqrt(np.diag(cov)))


def _intercept_with_offset(lp, y):
    """Calibration-in-the-large: the intercept ``a`` of ``logit P(y) = a + lp``."""
    if y.min() == y.max():
        return float("nan"), float("nan")
    (a,), (se,) = _logistic_fit(lp, y, offset=lp, slope=False)
    return a, se


def _oe_interval(observed, expected):
    """95 % interval of O/E, Poisson on the log scale (NaN without events)."""
    if observed <= 0:
        return float("nan"), float("nan")
    oe, half = observed / expected, Z95 / np.sqrt(observed)
    return float(oe * np.exp(-half)), float(oe * np.exp(half))


def _logit_interval(auc, se):
    if not 0 < auc < 1 or not np.isfinite(se):
        return float("nan"), float("nan")
    logit, half = np.log(auc / (1 - auc)), Z95 * se / (auc * (1 - auc))
    return _expit(logit - half), _expit(logit + half)


def _expit(z):
    return 1 / (1 + np.exp(-np.asarray(z, dtype=float))) if np.ndim(z) else \
        float(1 / (1 + np.exp(-z)))
