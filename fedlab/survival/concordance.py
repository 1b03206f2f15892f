"""Concordance with censored times: Harrell's C and Uno's IPCW C, with jackknife intervals.

Harrell et al. (1996) count, among the pairs whose order of events is known, those that
the risk score orders right; Uno et al. (2011) weight each pair by the inverse squared
probability of remaining uncensored, so that the estimate does not depend on the site's
censoring, up to a horizon ``tau`` within its follow-up.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

from fedlab._validation import InvalidParameterError, check_fraction, check_positive

from ._checks import check_survival

__all__ = ["harrell_c", "uno_c", "censoring_survival"]

_TIED_RISK = 1e-8  # risk scores closer than this count as tied (scikit-survival's tied_tol)
_CHUNK = 512  # rows of the pair matrix held at once


def harrell_c(time, event, risk, *, level=0.95):
    """Harrell's concordance index, its jackknife standard error and a 95 % interval.

    Parameters
    ----------
    time, event : array-like of shape (n_patients,)
    risk : array-like of shape (n_patients,)
        Higher means an earlier event (e.g. the Cox linear predictor).
    level : float, default=0.95

    Returns
    -------
    c : float
    se : float
        Delete-one jackknife standard error.
    interval : (float, float)
        ``logit(c) +- z se / (c (1 - c))`` mapped back (it stays in (0, 1)).

    Notes
    -----
    A pair (i, j) is comparable when i has an event and ``T_i < T_j``, or ``T_i = T_j``
    and j is censored; it is concordant when ``risk_i > risk_j`` and counts 1/2 when the
    risks tie (as scikit-survival's ``concordance_index_censored``, which gives no
    interval). The jackknife is exact and cheap: leaving patient k out removes the pairs
    that involve k, so :math:`C_{(-k)} = (N - N_k) / (D - D_k)` from each patient's share
    of the concordant and comparable pairs, in one pass over the :math:`n^2` pairs.

    References
    ----------
    .. [1] F. E. Harrell, K. L. Lee, D. B. Mark, "Multivariable prognostic models",
       Stat. Med. 15, 1996.

    Examples
    --------
    >>> c, se, ci = harrell_c([1, 2, 3, 4, 5], [1, 1, 0, 1, 0], [5, 3, 4, 2, 1])
    >>> round(c, 3), round(se, 3)
    (0.875, 0.215)
    """
    t, e = check_survival(time, event)
    r = _check_risk(risk, len(t))
    return _with_interval(*_pair_sums(t, e, r, np.ones(len(t)), np.inf), level)


def uno_c(time, event, risk, *, tau, train_time=None, train_event=None, level=0.95):
    """Uno's inverse-probability-of-censoring-weighted C up to ``tau``, with a jackknife interval.

    Parameters
    ----------
    time, event, risk : array-like of shape (n_patients,)
        The patients evaluated (e.g. a site's test split).
    tau : float or None
        Horizon: only events before ``tau`` count; within the follow-up of the censoring
        estimate, so that no weight is infinite. ``None``: every event.
    train_time, train_event : array-like, optional
        Patients from which the censoring distribution G is estimated (Kaplan-Meier of
        the censoring times); default the evaluated patients themselves.
    level : float, default=0.95

    Returns
    -------
    c, se, interval
        As for :func:`harrell_c`; the jackknife holds G fixed (its own variability is
        left out, as a bootstrap refitting G would include).

    Raises
    ------
    InvalidParameterError
        If ``tau`` is not > 0, lies after the last time of the censoring estimate, or G is
        0 (or unknown) at an event before ``tau``.

    Notes
    -----
    Each comparable pair with :math:`T_i < \\tau` weighs :math:`\\hat G(T_i)^{-2}`; pairs
    and ties as in :func:`harrell_c`, as in scikit-survival's ``concordance_index_ipcw``.

    References
    ----------
    .. [1] H. Uno, T. Cai, M. J. Pencina, R. B. D'Agostino, L. J. Wei, "On the
       C-statistics for evaluating overall adequacy of risk prediction procedures with
       censored survival data", Stat. Med. 30(10), 2011.

    Examples
    --------
    >>> c, se, ci = uno_c([1, 2, 3, 4, 5, 6], [1, 0, 1, 1, 0, 0], [6, 5, 3, 4, 2, 1], tau=5)
    >>> round(c, 3)
    0.878
    """
    t, e = check_survival(time, event)
    r = _check_risk(risk, len(t))
    tau = np.inf if tau is None else check_positive(tau, "tau")
    if train_time is None:
        train_time, train_event = t, e
    g_times, g = censoring_survival(train_time, train_event)
    index = np.searchsorted(g_times, t, side="right") - 1
    g_at = np.where(index >= 0, g[np.maximum(index, 0)], 1.0)
    counted = e & (t < tau)
    beyond = counted & (t > g_times[-1]) & (g[-1] > 0)  # G unknown after the last time
    if (g_at[counted] <= 0).any() or beyond.any() or (np.isfinite(tau) and tau > g_times[-1]):
        raise InvalidParameterError(
            f"tau={tau} is beyond the site's follow-up (last time {g_times[-1]:g}, or no "
            "patient still followed at an event before it); choose a smaller tau")
    weights = np.where(counted, 1.0 / np.where(counted, g_at, 1.0) ** 2, 0.0)
    return _with_interval(*_pair_sums(t, e, r, weights, tau), level)


def censoring_survival(time, event):
    """Kaplan-Meier estimate of remaining uncensored, G(t), at the distinct observed times.

    At a time with both, events leave the risk set before the censored patients (the
    convention of scikit-survival's ``CensoringDistributionEstimator``).

    Examples
    --------
    >>> times, g = censoring_survival([1, 2, 3, 4], [1, 0, 1, 0])
    >>> times.tolist(), g.round(3).tolist()
    ([1.0, 2.0, 3.0, 4.0], [1.0, 0.667, 0.667, 0.0])
    """
    t, e = check_survival(time, event)
    times, index = np.unique(t, return_inverse=True)
    total = np.bincount(index, minlength=len(times))
    events = np.bincount(index, weights=e, minlength=len(times))
    at_risk = len(t) - np.r_[0, np.cumsum(total)[:-1]] - events
    censored = total - events
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(censored > 0, 1 - censored / at_risk, 1.0)
    return times, np.cumprod(factor)


def _pair_sums(t, e, r, weights, tau):
    """Total and per-patient weighted concordant and comparable pairs."""
    n = len(t)
    numerator, denominator = np.zeros(n), np.zeros(n)  # each patient's share
    first = np.flatnonzero(e & (t < tau))
    for start in range(0, len(first), _CHUNK):
        i = first[start:start + _CHUNK]
        ti, ri = t[i][:, None], r[i][:, None]
        comparable = (t[None, :] > ti) | ((t[None, :] == ti) & ~e[None, :])
        diff = ri - r[None, :]
        score = np.where(np.abs(diff) <= _TIED_RISK, 0.5, (diff > 0).astype(float))
        a = comparable * score * weights[i][:, None]
        b = comparable * weights[i][:, None]
        numerator[i] += a.sum(axis=1)
        denominator[i] += b.sum(axis=1)
        numerator += a.sum(axis=0)
        denominator += b.sum(axis=0)
    total_num, total_den = numerator.sum() / 2, denominator.sum() / 2
    return total_num, total_den, numerator, denominator


def _with_interval(total_num, total_den, numerator, denominator, level):
    level = check_fraction(level, "level", include_one=False)
    nan = (float("nan"), float("nan"))
    if total_den <= 0:
        return float("nan"), float("nan"), nan
    c = total_num / total_den
    with np.errstate(divide="ignore", invalid="ignore"):
        leave_out = (total_num - numerator) / (total_den - denominator)
    leave_out = leave_out[np.isfinite(leave_out)]
    n = len(leave_out)
    if n < 2:
        return float(c), float("nan"), nan
    se = math.sqrt((n - 1) / n * np.sum((leave_out - leave_out.mean()) ** 2))
    if not (se > 0 and 0 < c < 1):
        return float(c), se, nan
    z = NormalDist().inv_cdf(0.5 + level / 2)
    centre, half = math.log(c / (1 - c)), z * se / (c * (1 - c))
    return float(c), se, (_expit(centre - half), _expit(centre + half))


def _check_risk(risk, n):
    r = np.asarray(risk, dtype=float)
    if r.shape != (n,) or not np.isfinite(r).all():
        raise InvalidParameterError(
            f"risk must be {n} finite numbers (one per patient), got shape {r.shape}")
    return r


def _expit(x):
    return 1 / (1 + math.exp(-x))
