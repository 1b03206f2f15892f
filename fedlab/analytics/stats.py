"""Federated descriptive statistics: the server adds up the sites' counts and sums.

Every statistic here equals the one computed on the pooled records (up to floating-point
rounding; quantiles exactly), because counts, sums and sums of squares add up across
sites; the server never sees a record. Quantiles are found by bisection on counts below
a threshold, as in federated analytics of medians (e.g. Aggarwal et al.,
"Secure computation of the k-th ranked element", Eurocrypt 2004, in the clear here).
"""

from __future__ import annotations

import math

import numpy as np

from fedlab._validation import InvalidParameterError, check_int, check_positive

from .disclosure import DisclosureRefused

__all__ = ["federated_count", "federated_mean", "federated_var", "federated_std",
           "federated_corr", "federated_histogram", "federated_quantile", "combine_moments"]


def federated_count(sites, *, where=None):
    """The number of records at all sites (that meet ``where``).

    Parameters
    ----------
    sites : sequence of DataSite
    where : condition or sequence of conditions, optional
        E.g. ``("age", ">=", 60)``; see :func:`fedlab.analytics.check_where`.

    Returns
    -------
    int

    Raises
    ------
    DisclosureRefused
        If a site refuses (a cell below its threshold); names the site and the rule.
    """
    return sum(site.count(where=where) for site in _check_sites(sites))


def combine_moments(answers):
    """Add up the sites' :class:`Moments`: the pooled count, mean and population variance.

    Parameters
    ----------
    answers : sequence of Moments
        One per site, for the same columns.

    Returns
    -------
    count, mean, var : ndarray of shape (n_columns,)

    Notes
    -----
    With ``N = sum_k n_k``, ``S = sum_k s_k`` and ``Q = sum_k q_k`` (count, sum and sum
    of squares of site ``k``): ``mean = S / N`` and ``var = Q / N - mean**2``, exactly the
    pooled values. (Raw moments lose digits when the mean is huge compared with the
    spread; for clinical variables float64 keeps about 12 of its 16.)

    Examples
    --------
    >>> from fedlab.analytics import DataSite
    >>> a = DataSite([[1.0], [3.0], [5.0], [7.0], [9.0]], ["x"], name="a")
    >>> b = DataSite([[2.0], [4.0], [6.0], [8.0], [10.0]], ["x"], name="b")
    >>> count, mean, var = combine_moments([a.moments(), b.moments()])
    >>> int(count[0]), float(mean[0]), float(var[0])
    (10, 5.5, 8.25)
    """
    answers = list(answers)
    count = sum(a.count for a in answers)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        mean = sum(a.total for a in answers) / count
        var = np.maximum(sum(a.total_sq for a in answers) / count - mean**2, 0.0)
    return count, mean, var


def federated_mean(sites, column, *, where=None):
    """The mean of ``column`` over the observed values at all sites (that meet ``where``).

    Examples
    --------
    >>> from fedlab import data
    >>> from fedlab.analytics import DataSite
    >>> hospitals = data.load_hospitals()
    >>> sites = [DataSite.from_hospital(h) for h in hospitals]
    >>> pooled = np.concatenate([h.X_train[:, 0] for h in hospitals])
    >>> bool(np.isclose(federated_mean(sites, "age"), pooled.mean()))
    True
    """
    _, mean, _ = _moments(sites, column, where)
    return float(mean[0])


def federated_var(sites, column, *, ddof=0, where=None):
    """The variance of ``column`` at all sites: ``ddof=0`` population, ``ddof=1`` sample."""
    count, _, var = _moments(sites, column, where)
    ddof = check_int(ddof, "ddof", minimum=0)
    if count[0] <= ddof:
        raise InvalidParameterError(f"the variance of {column!r} needs more than {ddof} "
                                    f"observed value(s), got {int(count[0])}")
    return float(var[0] * count[0] / (count[0] - ddof))


def federated_std(sites, column, *, ddof=0, where=None):
    """The standard deviation of ``column`` at all sites (the root of :func:`federated_var`)."""
    return math.sqrt(federated_var(sites, column, ddof=ddof, where=where))


def federated_corr(sites, columns=None, *, where=None):
    """Pearson correlation matrix of ``columns`` over pairwise-complete records at all sites.

    Parameters
    ----------
    sites : sequence of DataSite
    columns : sequence of str, optional
        Defaults to every column of the first site.
    where : condition or sequence of conditions, optional

    Returns
    -------
    ndarray of shape (n_columns, n_columns)
        Entry ``[i, j]`` uses the records where both are observed, as
        ``pandas.DataFrame.corr`` does; ``nan`` for a constant column.

    Notes
    -----
    Each site sends, for every pair, the count ``n``, the sums ``S_i``, ``S_j``, the sums
    of squares ``Q_i``, ``Q_j`` and the cross product ``C_ij`` over its records where
    both are observed. Summed over sites,
    ``r_ij = (n C_ij - S_i S_j) / sqrt((n Q_i - S_i^2) (n Q_j - S_j^2))``.
    """
    sites = _check_sites(sites)
    columns = sites[0].columns if columns is None else columns
    answers = [site.comoments(columns, where=where) for site in sites]
    n = sum(a.count for a in answers)
    s = sum(a.total for a in answers)        # s[i, j]: sum of x_i where x_j is observed too
    q = sum(a.total_sq for a in answers)
    c = sum(a.cross for a in answers)
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = n * c - s * s.T
        spread = (n * q - s**2) * (n * q - s**2).T
        corr = cov / np.sqrt(np.where(spread > 0, spread, np.nan))
    return np.clip(corr, -1.0, 1.0)


def federated_histogram(sites, column, edges, *, where=None):
    """Counts of ``column`` in the bins ``edges`` at all sites, as ``numpy.histogram``.

    Returns
    -------
    ndarray of shape (len(edges) - 1,)

    Raises
    ------
    DisclosureRefused
        If a site has a non-empty bin (or values outside the edges) below its threshold.
    """
    return sum(site.histogram(column, edges, where=where) for site in _check_sites(sites))


def federated_quantile(sites, column, q, *, tol=None, where=None, max_queries=200):
    """The ``q``-quantile of ``column`` at all sites, by bisection on counts below a threshold.

    Parameters
    ----------
    sites : sequence of DataSite
    column : str
    q : float
        In [0, 1]; 0.5 is the median.
    tol : float, optional
        Stop once the answer is known within ``tol``. Default: exactly (the bisection runs
        on the 64-bit patterns of the floats, at most 64 rounds whatever the scale).
    where : condition or sequence of conditions, optional
    max_queries : int, default=200
        Most rounds of count queries to send (each goes to every site).

    Returns
    -------
    float
        The pooled quantile of ``numpy.quantile(..., method="inverted_cdf")``: the
        ``k``-th smallest value, ``k = max(1, ceil(q N))`` (with ``tol``: a threshold
        ``t`` with ``x_(k) <= t <= x_(k) + tol``). At least a fraction ``q`` of the values
        are ``<= t``.

    Raises
    ------
    DisclosureRefused
        If the sites refuse every threshold that would narrow the interval further (a
        site would have 1 to ``min_cell - 1`` values on one side of each, or between it
        and a threshold it answered before): extreme quantiles such as the minimum and
        the maximum are refused by design. The refusal's ``interval`` attribute is the
        ``(low, high]`` reached: the quantile lies in it (``(-inf, max]`` if nothing was
        answered).

    Notes
    -----
    The server keeps an interval ``(low, high]`` with ``F(low) < k <= F(high)``, where
    ``F(t)`` is the number of values ``<= t`` summed over sites, and halves it. The
    interval is one of floats ordered as integers (a float's bits, the sign folded), so
    it starts as every finite float (``F(-inf) = 0`` and ``F(max) = N``: no query
    needed) and each step halves the number of floats in it: at most 64 steps reach the
    value ``x_(k)`` itself, for values of any magnitude (1e-300 or 1e300), with no
    rounding. Each step is one count query per site, answered by binary search on the
    site's sorted column; the server learns those counts and nothing else. When a site
    refuses a threshold, the server tries another point of the interval (a quarter,
    three quarters, ...). A refusal tells something too (that some site has 1 to
    ``min_cell - 1`` values on one side): platforms log refusals for that reason.

    Examples
    --------
    Scores from 0 to 29, ten patients each; a at 0 to 9, b at 10 to 29:

    >>> from fedlab.analytics import DataSite
    >>> a = DataSite([[v // 10] for v in range(100)], ["x"], name="a")
    >>> b = DataSite([[v // 10] for v in range(100, 300)], ["x"], name="b")
    >>> federated_quantile([a, b], "x", 0.5)
    14.0

    With one patient per value, each step that would split off 1 to 4 of a site's
    patients from a group it has answered about is refused (differencing): the median
    is then known to an interval.

    >>> c = DataSite([[v] for v in range(1, 101)], ["x"], name="c")
    >>> try:
    ...     federated_quantile([c], "x", 0.5)
    ... except DisclosureRefused as refusal:
    ...     print([round(end, 3) for end in refusal.interval])
    [45.923, 51.17]
    """
    sites = _check_sites(sites)
    if isinstance(q, bool) or not isinstance(q, (int, float, np.number)) or not 0 <= q <= 1:
        raise InvalidParameterError(f"q must be a number in [0, 1], got {q!r}")
    max_queries = check_int(max_queries, "max_queries", minimum=1)
    tol = 0.0 if tol is None else check_positive(tol, "tol")
    count, _, _ = _moments(sites, column, where)
    n = int(count[0])
    if n == 0:
        raise InvalidParameterError(f"{column!r} has no observed value at any site")
    k = _rank(q, n)

    queries, refusal = 0, None

    def at_most(t):
        """F(t) summed over the sites, or None if a site refuses this threshold."""
        nonlocal queries, refusal
        queries += 1
        if queries > max_queries:
            raise RuntimeError(f"the quantile of {column!r} needed more than {max_queries} "
                               "rounds of queries; raise max_queries or tol")
        try:
            return sum(site.count_at_most(column, t, where=where)[0] for site in sites)
        except DisclosureRefused as err:
            refusal = err
            return None

    low, high = _ordered(-math.inf), _ordered(_MAX)  # F(-inf) = 0 < k <= N = F(max)
    while high - low > 1 and not _float(high) - _float(low) <= tol:
        for fraction in _PROBES:  # the middle first; elsewhere if a site refuses it
            probe = low + max(1, min(high - low - 1, int(fraction * (high - low))))
            below = at_most(_float(probe))
            if below is not None:
                low, high = (low, probe) if below >= k else (probe, high)
                break
        else:
            stop = DisclosureRefused(refusal.site, f"the {q:g}-quantile of {column} beyond "
                                     f"the interval ({_float(low):.6g}, {_float(high):.6g}]",
                                     refusal.rule)
            stop.interval = (_float(low) + 0.0, _float(high) + 0.0)
            raise stop
    return _float(high) + 0.0


_PROBES = (1 / 2, 1 / 4, 3 / 4, 1 / 8, 7 / 8, 3 / 8, 5 / 8)
_MAX = float(np.finfo(np.float64).max)
_SIGN = 1 << 63


def _ordered(x):
    """The position of float ``x`` among all floats, as an int (``-0.0`` just below 0)."""
    bits = int(np.float64(x).view(np.uint64))
    return bits if bits < _SIGN else -(bits - _SIGN) - 1


def _float(position):
    """The float at ``position`` (the inverse of :func:`_ordered`)."""
    bits = position if position >= 0 else (-position - 1) + _SIGN
    return float(np.uint64(bits).view(np.float64))


def _rank(q, n):
    """The rank ``k`` (1 to n) of the q-quantile, in numpy's floating-point arithmetic.

    ``ceil(q n)``, computed as ``numpy.quantile(method="inverted_cdf")`` does, so that
    ``q n`` rounding up (``0.3 * 10 == 3.0000000000000004``) picks the same value.
    """
    virtual = n * q - 1
    index = math.floor(virtual) + (virtual - math.floor(virtual) > 0)
    return min(max(index, 0), n - 1) + 1


def _moments(sites, column, where):
    sites = _check_sites(sites)
    return combine_moments(site.moments([column], where=where) for site in sites)


def _check_sites(sites):
    from .site import DataSite

    sites = list(sites) if not isinstance(sites, DataSite) else [sites]
    if not sites:
        raise InvalidParameterError("sites must hold at least one DataSite, got none")
    for site in sites:
        if not isinstance(site, DataSite):
            raise InvalidParameterError(f"sites must be DataSite objects, got "
                                        f"{type(site).__name__}")
    return sites
