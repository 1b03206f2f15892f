"""The log-rank test from life tables: across sites or groups, and stratified by site.

Observed and expected events and their covariance need only each group's numbers at risk
and events at every time, so they come from summed life tables (Mantel 1966; Peto & Peto
1972). The stratified test adds each site's own observed-minus-expected vector and
covariance matrix: a G-vector and a G x G matrix per site, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fedlab._validation import InvalidParameterError

from .life_table import LifeTable

__all__ = ["LogRankTerms", "LogRankResult", "logrank_terms", "logrank_test"]


@dataclass(frozen=True)
class LogRankTerms:
    """Observed and expected events per group, and the covariance of O - E, of one stratum.

    Attributes
    ----------
    observed, expected : ndarray of shape (n_groups,)
    covariance : ndarray of shape (n_groups, n_groups)
    """

    observed: np.ndarray
    expected: np.ndarray
    covariance: np.ndarray


@dataclass(frozen=True)
class LogRankResult:
    """A log-rank test: ``statistic`` is chi-squared with ``df`` degrees of freedom."""

    statistic: float
    df: int
    p_value: float
    observed: np.ndarray
    expected: np.ndarray


def logrank_terms(group_tables):
    """O, E and Cov(O - E) of one stratum from each group's life table on shared times.

    Parameters
    ----------
    group_tables : sequence of LifeTable
        One table per group (e.g. one per site for a test across sites, or a site's
        tables per treatment arm), all on the same times; each may be a sum over sites.

    Returns
    -------
    LogRankTerms

    Notes
    -----
    At time :math:`t_k` with :math:`n_k = \\sum_g n_{gk}` at risk and
    :math:`d_k = \\sum_g d_{gk}` events: :math:`E_g = \\sum_k n_{gk} d_k / n_k` and
    :math:`V_{gh} = \\sum_k d_k \\frac{n_k - d_k}{n_k - 1} \\frac{n_{gk}}{n_k}
    (\\delta_{gh} - \\frac{n_{hk}}{n_k})` (hypergeometric; rows with
    :math:`n_k < 2` add nothing to V).

    Examples
    --------
    >>> from fedlab.survival import life_table
    >>> a = life_table([1, 2, 3], [1, 1, 0], [1, 2, 3, 4], exact=True)
    >>> b = life_table([2, 3, 4], [0, 1, 1], [1, 2, 3, 4], exact=True)
    >>> terms = logrank_terms([a, b])
    >>> terms.observed.tolist(), terms.expected.round(3).tolist()
    ([2.0, 2.0], [1.233, 2.767])
    """
    tables = list(group_tables)
    if len(tables) < 2 or not all(isinstance(t, LifeTable) for t in tables):
        raise InvalidParameterError("group_tables must be at least 2 LifeTable (one a group)")
    if not all(np.array_equal(t.times, tables[0].times) for t in tables):
        raise InvalidParameterError("group_tables must share their times")
    n_g = np.array([t.at_risk for t in tables], dtype=float)  # (groups, rows)
    d_g = np.array([t.events for t in tables], dtype=float)
    n, d = n_g.sum(axis=0), d_g.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(n > 0, n_g / n, 0.0)
        factor = np.where(n > 1, d * (n - d) / (n - 1), 0.0)
    expected = (share * d).sum(axis=1)
    covariance = np.diag((factor * share).sum(axis=1)) - (factor * share) @ share.T
    return LogRankTerms(d_g.sum(axis=1), expected, covariance)


def logrank_test(terms):
    """Log-rank test from one stratum's terms, or the stratified test from several.

    Parameters
    ----------
    terms : LogRankTerms or sequence of LogRankTerms
        One per stratum (site); the server adds them.

    Returns
    -------
    LogRankResult
        :math:`X^2 = (O - E)^T V^{-} (O - E)` on the first G - 1 groups, chi-squared with
        G - 1 degrees of freedom under equal hazards (within each stratum).

    Examples
    --------
    >>> from fedlab.survival import life_table
    >>> a = life_table([1, 2, 3], [1, 1, 0], [1, 2, 3, 4], exact=True)
    >>> b = life_table([2, 3, 4], [0, 1, 1], [1, 2, 3, 4], exact=True)
    >>> result = logrank_test(logrank_terms([a, b]))
    >>> round(result.statistic, 3), result.df
    (0.825, 1)
    """
    strata = [terms] if isinstance(terms, LogRankTerms) else list(terms)
    if not strata or not all(isinstance(s, LogRankTerms) for s in strata):
        raise InvalidParameterError("terms must be LogRankTerms or a sequence of them")
    if len({len(s.observed) for s in strata}) != 1:
        raise InvalidParameterError("terms must all have the same number of groups")
    observed = np.sum([s.observed for s in strata], axis=0)
    expected = np.sum([s.expected for s in strata], axis=0)
    covariance = np.sum([s.covariance for s in strata], axis=0)
    diff = (observed - expected)[:-1]
    v = covariance[:-1, :-1]
    statistic = float(diff @ np.linalg.pinv(v) @ diff)
    df = int(np.linalg.matrix_rank(v))
    from scipy import stats  # only here: importing scipy.stats takes half a second

    p_value = float(stats.chi2.sf(statistic, df)) if df > 0 else float("nan")
    return LogRankResult(statistic, df, p_value, observed, expected)
