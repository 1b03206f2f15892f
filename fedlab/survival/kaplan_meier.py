"""Kaplan-Meier curves from (summed) life tables, with Greenwood intervals; the federated protocol.

The estimate needs only, at each time, the number at risk and the number of events, so
the sum of the sites' life tables gives the pooled curve (Kaplan & Meier 1958; Greenwood
1926; Kalbfleisch & Prentice 2002 for the log-log interval).
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from fedlab._validation import InvalidParameterError, check_choice, check_fraction

from ._checks import check_survival
from .life_table import LifeTable, agree_rows, life_table, merge_small_cells, sum_tables

__all__ = ["KaplanMeier", "kaplan_meier", "federated_kaplan_meier", "survival_at"]

TRANSFORMS = ("log-log", "linear")


@dataclass(frozen=True)
class KaplanMeier:
    """A Kaplan-Meier curve: a step function, right-continuous, equal to 1 before ``times[0]``.

    Attributes
    ----------
    times, at_risk, events : ndarray of shape (n_rows,)
        The life table it was computed from.
    survival : ndarray of shape (n_rows,)
        :math:`\\hat S(t_k) = \\prod_{j \\le k} (1 - d_j / n_j)`.
    se : ndarray of shape (n_rows,)
        Greenwood's standard error of :math:`\\hat S(t_k)` (NaN once it reaches 0).
    ci : ndarray of shape (2, n_rows)
        Pointwise interval (lower, upper).
    """

    times: np.ndarray
    at_risk: np.ndarray
    events: np.ndarray
    survival: np.ndarray
    se: np.ndarray
    ci: np.ndarray


def kaplan_meier(table, *, level=0.95, transform="log-log"):
    """Kaplan-Meier estimate and Greenwood interval from a life table.

    Parameters
    ----------
    table : LifeTable
        One site's table or the sum of several (:func:`fedlab.survival.sum_tables`).
    level : float, default=0.95
    transform : {"log-log", "linear"}, default="log-log"
        Scale of the interval: ``"log-log"`` (Kalbfleisch-Prentice; stays in [0, 1], the
        default of scikit-survival and R's ``survfit(conf.type="log-log")``) or
        ``"linear"`` (``S +- z se``, clipped to [0, 1]).

    Returns
    -------
    KaplanMeier

    Notes
    -----
    Greenwood: :math:`\\widehat{Var}\\,\\hat S(t) = \\hat S(t)^2 \\sum_{t_j \\le t}
    d_j / (n_j (n_j - d_j))`. The log-log interval is
    :math:`\\hat S^{\\exp(\\pm z \\sigma / \\log \\hat S)}` with
    :math:`\\sigma^2 = \\sum d_j / (n_j (n_j - d_j))`.

    Examples
    --------
    >>> table = life_table([1, 2, 2, 3, 4], [1, 1, 0, 1, 0], [1, 2, 3, 4], exact=True)
    >>> km = kaplan_meier(table)
    >>> km.survival.round(3).tolist()
    [0.8, 0.6, 0.3, 0.3]
    """
    if not isinstance(table, LifeTable):
        raise InvalidParameterError(f"table must be a LifeTable, got {type(table).__name__}")
    level = check_fraction(level, "level", include_one=False)
    transform = check_choice(transform, "transform", TRANSFORMS)
    n = table.at_risk.astype(float)
    d = table.events.astype(float)
    if ((d > n) | (n < 0) | (d < 0)).any():
        raise InvalidParameterError("table must have 0 <= events <= at_risk in every row")
    with np.errstate(divide="ignore", invalid="ignore"):
        survival = np.cumprod(np.where(n > 0, 1 - d / n, 1.0))
        terms = np.where(d > 0, d / (n * (n - d)), 0.0)
        sigma2 = np.cumsum(terms)
        se = np.where(survival > 0, survival * np.sqrt(sigma2), np.nan)
        z = NormalDist().inv_cdf(0.5 + level / 2)
        if transform == "linear":
            ci = np.clip([survival - z * se, survival + z * se], 0, 1)
        else:
            log_s = np.log(survival)
            theta = np.where(log_s < 0, np.sqrt(sigma2) / log_s, 0.0)
            ci = survival ** np.exp(np.multiply.outer([-z, z], theta))
        ci = np.where(survival > 0, ci, 0.0)
    return KaplanMeier(table.times, table.at_risk, table.events, survival, se, ci)


def survival_at(km, t):
    """The curve's value at time(s) ``t``: 1 before the first row, a right-continuous step.

    Examples
    --------
    >>> km = kaplan_meier(life_table([1, 2, 3], [1, 1, 1], [1, 2, 3], exact=True))
    >>> survival_at(km, [0.5, 1.0, 2.5]).round(3).tolist()
    [1.0, 0.667, 0.333]
    """
    index = np.searchsorted(km.times, np.atleast_1d(np.asarray(t, dtype=float)),
                            side="right") - 1
    return np.where(index >= 0, km.survival[np.maximum(index, 0)], 1.0)


def federated_kaplan_meier(sites, times=None, *, min_cell=5, secure=False, level=0.95,
                           random_state=None):
    """The pooled Kaplan-Meier curve from the sites' life tables, with disclosure control.

    Parameters
    ----------
    sites : sequence of (time, event) pairs
        Each site's observed times and event indicators (kept at the site in practice).
    times : array-like, optional
        The shared grid (increasing bin ends). ``None``: the exact Kaplan-Meier at the
        union of the sites' event times, at the privacy cost of broadcasting every event
        time (see :func:`fedlab.survival.life_table`).
    min_cell : int or None, default=5
        Every released count is 0 or at least ``min_cell``. Without secure aggregation
        the sites agree on rows that all can release (:func:`agree_rows`); with it, the
        server merges the rows of the sum (:func:`merge_small_cells`). ``None`` releases
        the counts as they are.
    secure : bool, default=False
        Sum the tables with secure aggregation.
    level : float, default=0.95
    random_state : None, int or numpy.random.Generator, default=None
        Keys of the secure sum.

    Returns
    -------
    KaplanMeier

    Notes
    -----
    What the server sees. Without secure aggregation: each site's yes/no answers on the
    proposed rows, then each site's merged table. With it: the sum of the sites' tables
    on the full grid, small cells included (a total over sites, not one site's count);
    it merges the sum's rows before releasing the curve, so what it prints passes the
    rule, but the server itself must be trusted with the fine-grained sum.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> sites = [(rng.exponential(5, 300), rng.random(300) < 0.7) for _ in range(3)]
    >>> km = federated_kaplan_meier(sites, np.arange(1.0, 11.0), min_cell=5)
    >>> round(float(survival_at(km, 5.0)[0]), 2)
    0.51
    """
    pairs = [check_survival(t, e) for t, e in sites]
    if not pairs:
        raise InvalidParameterError("sites must hold at least one (time, event) pair")
    exact = times is None
    if exact:
        times = np.unique(np.concatenate([t[e] for t, e in pairs]))
        if len(times) == 0:
            raise InvalidParameterError("sites hold no event: nothing to estimate")
    tables = [life_table(t, e, times, exact=exact) for t, e in pairs]
    if min_cell is None:
        return kaplan_meier(sum_tables(tables, secure=secure, random_state=random_state),
                            level=level)
    if secure:
        total = sum_tables(tables, secure=True, random_state=random_state)
        return kaplan_meier(merge_small_cells(total, min_cell=min_cell), level=level)
    released = agree_rows(tables, min_cell=min_cell)
    if not any(len(t.times) for t in released):
        raise InvalidParameterError(
            f"no site can release a row with min_cell={min_cell}: too few patients")
    return kaplan_meier(sum_tables(released), level=level)
