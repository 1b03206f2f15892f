"""Life tables: the counts a site releases for a federated Kaplan-Meier curve, and their sum.

A site counts, at each time of a shared grid, its patients still at risk and its events;
the server adds the sites' tables. Small cells (1 to ``min_cell - 1`` patients) are
removed by merging neighbouring rows, or hidden by secure aggregation so that only the
sum is seen (Hundepool et al. 2012; Bonawitz et al. 2017).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fedlab._validation import InvalidParameterError, check_int

from ._checks import check_survival

__all__ = ["LifeTable", "life_table", "sum_tables", "merge_small_cells", "agree_rows"]


@dataclass(frozen=True)
class LifeTable:
    """Counts at increasing times: patients at risk and events.

    Attributes
    ----------
    times : ndarray of shape (n_rows,)
        Increasing times (a grid's bin ends, or event times).
    at_risk : ndarray of int of shape (n_rows,)
        Patients still followed just before each time (its row's risk set).
    events : ndarray of int of shape (n_rows,)
        Events at each time (in each bin, for a grid).
    """

    times: np.ndarray
    at_risk: np.ndarray
    events: np.ndarray

    @property
    def censored(self):
        """Patients leaving the risk set without an event after each row and before the next.

        Derived: ``at_risk[k] - events[k] - at_risk[k + 1]`` (the last row: everyone left).
        A released table releases these too, so :func:`merge_small_cells` checks them.
        """
        following = np.r_[self.at_risk[1:], 0]
        return self.at_risk - self.events - following

    def coarsen(self, times):
        """The same counts on fewer rows: each kept time gathers the rows since the last.

        ``times`` must be a subset of ``self.times``; rows after the last kept time are
        dropped (their patients count as censored at it). A merged row's risk set is that
        of its first row, and its events the sum: the table of the times rounded up to
        the kept times.

        Examples
        --------
        >>> table = life_table([0.5, 1.5, 2.5, 3.5], [1, 1, 0, 1], [1, 2, 3, 4])
        >>> wide = table.coarsen([2, 4])
        >>> wide.at_risk.tolist(), wide.events.tolist()
        ([4, 2], [2, 1])
        """
        times = np.asarray(times, dtype=float)
        where = np.searchsorted(self.times, times)
        if (where >= len(self.times)).any() or not np.array_equal(self.times[where], times) \
                or (np.diff(where) <= 0).any():
            raise InvalidParameterError("times must be increasing times of the table's rows")
        if not len(times):
            return LifeTable(times, self.at_risk[:0], self.events[:0])
        first = np.r_[0, where[:-1] + 1]
        events = np.add.reduceat(self.events[:where[-1] + 1], first)
        return LifeTable(times, self.at_risk[first], events)


def life_table(time, event, times, *, exact=False):
    """A site's life table on shared ``times``.

    Parameters
    ----------
    time, event : array-like of shape (n_patients,)
        The site's observed times and event indicators (1 event, 0 censored).
    times : array-like of shape (n_rows,)
        Increasing times > 0 shared by all sites: a grid (bin ends) or, with
        ``exact=True``, the union of all sites' event times.
    exact : bool, default=False
        ``False``: a life table; each time is rounded up to the next grid time, so a row
        counts the events of its bin ``(times[k-1], times[k]]`` among those still at risk
        after ``times[k-1]``: the Kaplan-Meier estimate of these rounded times, exactly.
        Times beyond the grid count as censored after its end.
        ``True``: the exact Kaplan-Meier counts (at risk = time >= ``times[k]``). Its
        privacy cost: the server must broadcast every site's event times, each one a
        patient's event date to the day.

    Returns
    -------
    LifeTable

    Examples
    --------
    >>> table = life_table([0.5, 1.2, 1.7, 2.5, 3.0], [1, 0, 1, 1, 0], [1, 2, 3])
    >>> table.at_risk.tolist(), table.events.tolist(), table.censored.tolist()
    ([5, 4, 2], [1, 1, 1], [0, 1, 1])
    """
    t, e = check_survival(time, event)
    grid = np.asarray(times, dtype=float)
    if grid.ndim != 1 or len(grid) == 0 or (np.diff(grid) <= 0).any() \
            or not np.isfinite(grid).all():
        raise InvalidParameterError("times must be a non-empty increasing sequence of times")
    if exact:
        missing = np.setdiff1d(t[e], grid)
        if len(missing):
            raise InvalidParameterError(
                f"times must hold every event time for exact=True; {len(missing)} missing")
        rounded = t
    else:
        index = np.searchsorted(grid, t, side="left")
        rounded = np.where(index < len(grid), grid[np.minimum(index, len(grid) - 1)], np.inf)
    ordered = np.sort(rounded)
    at_risk = len(t) - np.searchsorted(ordered, grid, side="left")
    events = np.searchsorted(np.sort(rounded[e]), grid, side="right") \
        - np.searchsorted(np.sort(rounded[e]), grid, side="left")
    return LifeTable(grid, at_risk.astype(np.int64), events.astype(np.int64))


def sum_tables(tables, *, secure=False, clip_range=None, random_state=None):
    """The server's sum of the sites' life tables.

    Parameters
    ----------
    tables : sequence of LifeTable
        Each site's table; their times must be leading parts of one sequence (a table
        that ends early adds nothing after its end).
    secure : bool, default=False
        Sum with secure aggregation (:func:`fedlab.secagg.secure_sum`), so that the
        server learns the summed counts and not one site's.
    clip_range : float, optional
        Public bound on any count (a site's number of patients); default the smallest
        power of two above the largest count. Only with ``secure=True``.
    random_state : None, int or numpy.random.Generator, default=None
        Keys and masks of the secure round (``None``: from ``os.urandom``).

    Returns
    -------
    LifeTable

    Examples
    --------
    >>> a = life_table([1.0, 2.0, 2.5], [1, 1, 0], [1, 2, 3])
    >>> b = life_table([0.5, 2.2], [0, 1], [1, 2, 3])
    >>> total = sum_tables([a, b], secure=True, random_state=0)
    >>> total.at_risk.tolist(), total.events.tolist()
    ([5, 3, 2], [1, 1, 1])
    """
    tables = list(tables)
    if not tables or not all(isinstance(t, LifeTable) for t in tables):
        raise InvalidParameterError("tables must be a non-empty sequence of LifeTable")
    longest = max(tables, key=lambda t: len(t.times)).times
    for table in tables:
        if not np.array_equal(table.times, longest[:len(table.times)]):
            raise InvalidParameterError(
                "tables must share their times (a table may only end early)")
    k = len(longest)
    vectors = np.array([np.r_[_padded(t.at_risk, k), _padded(t.events, k)] for t in tables],
                       dtype=float)
    if not secure:
        total = vectors.sum(axis=0)
    else:
        from fedlab.secagg import default_threshold, secure_sum  # only when asked for

        if clip_range is None:
            clip_range = 2.0 ** np.ceil(np.log2(vectors.max() + 1))
        threshold = default_threshold(len(tables))
        result = secure_sum(vectors, threshold=threshold, clip_range=clip_range, bits=62,
                            random_state=random_state)
        total = np.rint(result.sum)
    return LifeTable(longest.copy(), total[:k].astype(np.int64), total[k:].astype(np.int64))


def merge_small_cells(table, *, min_cell=5):
    """Merge neighbouring rows of one table until every released count is 0 or >= ``min_cell``.

    Parameters
    ----------
    table : LifeTable
    min_cell : int, default=5

    Returns
    -------
    LifeTable
        ``agree_rows([table], min_cell=min_cell)[0]``: rows merged left to right, each
        closed as soon as its events, its censored patients and the risk set that follows
        are all 0 or ``>= min_cell``; a tail that never closes is dropped (its patients
        count as censored at the last kept row).

    Notes
    -----
    The cost: fewer, wider rows, so the curve's steps move to the merged rows' ends (an
    event is rounded up to its row's end) and its last part may be lost. Summing under
    secure aggregation and merging the *sum* costs less: sums of small cells are rarely
    small.

    Examples
    --------
    >>> table = life_table(np.arange(1.0, 21.0), np.ones(20), np.arange(1.0, 21.0))
    >>> merged = merge_small_cells(table, min_cell=5)
    >>> merged.times.tolist(), merged.events.tolist()
    ([5.0, 10.0, 15.0, 20.0], [5, 5, 5, 5])
    """
    if not isinstance(table, LifeTable):
        raise InvalidParameterError(f"table must be a LifeTable, got {type(table).__name__}")
    return agree_rows([table], min_cell=min_cell)[0]


def agree_rows(tables, *, min_cell=5):
    """Rows that every site can release: the server proposes, each site answers yes or no.

    Parameters
    ----------
    tables : sequence of LifeTable
        The sites' tables on one fine grid (they stay at the sites).
    min_cell : int, default=5

    Returns
    -------
    list of LifeTable
        Each site's table on the agreed rows (a leading part of them): what it releases.
        Every count in it, and every count derived from it, is 0 or ``>= min_cell``.

    Notes
    -----
    From the start of follow-up, the server proposes the row ending at the next grid
    time; each site says whether its events, censored patients and following risk set
    in that row are all 0 or ``>= min_cell``; the row closes when every site says yes,
    and grows by one grid time otherwise. When no end closes it, the sites that still
    refuse leave the table there (their remaining patients count as censored), and the
    others go on. A site reveals only its yes/no answers before sending its table.

    Examples
    --------
    >>> a = life_table([1] * 5 + [2] * 5 + [3] * 2, [1] * 5 + [0] * 5 + [1] * 2, [1, 2, 3])
    >>> b = life_table([1] * 5 + [2] * 5 + [3] * 5, [1] * 15, [1, 2, 3])
    >>> [t.times.tolist() for t in agree_rows([a, b], min_cell=5)]
    [[1.0], [1.0, 2.0, 3.0]]
    """
    min_cell = check_int(min_cell, "min_cell", minimum=1)
    tables = list(tables)
    if not tables or not all(isinstance(t, LifeTable) for t in tables):
        raise InvalidParameterError("tables must be a non-empty sequence of LifeTable")
    times = tables[0].times
    if not all(np.array_equal(t.times, times) for t in tables):
        raise InvalidParameterError("tables must share their times")
    kept, start, active = [], 0, list(range(len(tables)))
    rows = np.full(len(tables), -1)  # how many agreed rows each site releases (-1: all)
    while start < len(times) and active:
        end = next((u for u in range(start, len(times))
                    if all(_row_passes(tables[k], start, u, min_cell) for k in active)), None)
        if end is None:
            leaving = [k for k in active
                       if not _row_passes(tables[k], start, len(times) - 1, min_cell)]
            rows[leaving] = len(kept)
            active = [k for k in active if k not in leaving]
            continue
        kept.append(times[end])
        start = end + 1
    kept = np.array(kept, dtype=float)
    return [t.coarsen(kept if r < 0 else kept[:r]) for t, r in zip(tables, rows)]


def _row_passes(table, start, end, min_cell):
    """Whether a site can release the row gathering its fine rows ``start..end``."""
    following = table.at_risk[end + 1] if end + 1 < len(table.times) else 0
    events = table.events[start:end + 1].sum()
    counts = (table.at_risk[start], events, table.at_risk[start] - events - following,
              following)
    return all(c == 0 or c >= min_cell for c in counts)


def _padded(counts, k):
    return np.r_[counts, np.zeros(k - len(counts))]
