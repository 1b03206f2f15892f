"""One site's records behind a query interface: aggregates go out, records never do.

As in DataSHIELD (Gaye et al. 2014), the analyst sends a query; the site computes the
answer on its own records, checks it against its disclosure rule, and returns the answer
or a refusal. Every answer is a count or a sum, so the server can add up the sites'
answers into exactly the statistic of the pooled records.
"""

from __future__ import annotations

import collections
import numbers

import numpy as np

from fedlab._validation import InvalidParameterError

from .answers import CoMoments, Moments, SortedColumn
from .audit import AuditLog, fingerprint, row_keys
from .disclosure import (
    DEFAULT_MIN_CELL,
    OPERATORS,
    DisclosureRefused,
    check_cells,
    check_min_cell,
    check_where,
    describe_where,
)

__all__ = ["DataSite"]


class DataSite:
    """A site that answers aggregate queries on its records and refuses small cells.

    Parameters
    ----------
    X : array-like of shape (n_records, n_columns)
        The records: numbers, ``nan`` for a missing value. Copied; kept private.
    columns : sequence of str
        A name for each column of ``X``.
    name : str
        The site's name, used in refusals and errors.
    min_cell : int, default=5
        The disclosure threshold: the site refuses any answer in which a non-empty cell
        (a count, the records a sum is built on, the records a condition selects or
        leaves out, the records where a column is missing) holds fewer than ``min_cell``
        patients. 1 switches the rule off (and the differencing check with it).
    audit : None, str, Path or AuditLog, default=None
        Where the site remembers what it has answered (:class:`AuditLog`): a query whose
        answer about a column rests on a group of patients that differs from an earlier
        answer's (or another part of the same answer) by 1 to ``min_cell - 1`` patients
        is refused. ``None``: this object's answers only; a path: an append-only file
        that also holds earlier sessions' answers.
    record_ids : array-like of shape (n_records,) of uint64, optional
        How the audit log recognises a record from one session to the next. Default: a
        hash of its values in all the columns (:func:`fedlab.analytics.audit.row_keys`).

    Attributes
    ----------
    log : list of str
        Every query the site received, answered or refused (what an auditor reads).
    audit : AuditLog

    Raises
    ------
    InvalidParameterError
        If the site has no records, a value is infinite, or the columns do not match.

    Notes
    -----
    What the rules do not stop (:mod:`fedlab.analytics.audit`): combinations of three
    or more answers, each pair far apart (``A - B - C``); a difference of ``min_cell``
    patients of whom the analyst knows all but one; answers given outside this site's
    audit log (another tool, a new log); and whatever ``min_cell`` identical values or a
    zero count say about everyone in a group (attribute disclosure).

    Examples
    --------
    >>> site = DataSite([[50, 1], [61, 0], [70, 1], [45, 0], [58, 1], [66, 1]],
    ...                 ["age", "smoker"], name="clinic")
    >>> site.count(where=("smoker", "==", 1))
    Traceback (most recent call last):
    ...
    fedlab.analytics.disclosure.DisclosureRefused: site 'clinic' refuses the count where \
smoker == 1: the cells 'smoker == 1', 'not (smoker == 1)' hold fewer than 5 patients (the \
minimum for any non-empty cell)
    >>> m = site.moments(["age"])
    >>> int(m.count[0]), float(m.total[0])
    (6, 350.0)
    """

    def __init__(self, X, columns, *, name, min_cell=DEFAULT_MIN_CELL, audit=None,
                 record_ids=None):
        self.name = str(name)
        try:
            X = np.array(X, dtype=float)
        except (TypeError, ValueError) as err:
            raise InvalidParameterError(f"site {self.name!r}: the records must be numbers "
                                        f"({err})") from None
        if X.ndim != 2:
            raise InvalidParameterError(f"site {self.name!r}: X must be 2-D of shape "
                                        f"(n_records, n_columns), got shape {X.shape}")
        self.columns = tuple(str(c) for c in columns)
        if len(self.columns) != X.shape[1] or len(set(self.columns)) != len(self.columns):
            raise InvalidParameterError(f"site {self.name!r}: columns must name each of the "
                                        f"{X.shape[1]} columns once, got {list(self.columns)}")
        if len(X) == 0:
            raise InvalidParameterError(f"site {self.name!r} has no records")
        if np.isinf(X).any():
            raise InvalidParameterError(f"site {self.name!r}: the records hold infinite "
                                        "values (use nan for a missing value)")
        self._X = X
        self.min_cell = check_min_cell(min_cell)
        self.log = []
        self.audit = audit if isinstance(audit, AuditLog) else AuditLog(audit, site=self.name)
        self._values = collections.OrderedDict()  # (column, conditions) -> SortedColumn, recent
        self._selected = self._last = None
        self._index = {c: j for j, c in enumerate(self.columns)}
        self._ids = row_keys(X) if record_ids is None else np.asarray(record_ids, np.uint64)
        if self._ids.shape != (len(X),):
            raise InvalidParameterError(f"site {self.name!r}: record_ids must hold one "
                                        f"identity per record ({len(X)}), got shape "
                                        f"{self._ids.shape}")

    @classmethod
    def from_hospital(cls, hospital, *, split="train", target="cvd_10y",
                      min_cell=DEFAULT_MIN_CELL):
        """A site holding a :class:`fedlab.data.Hospital`'s records, the label as a column.

        Examples
        --------
        >>> from fedlab import data
        >>> site = DataSite.from_hospital(data.load_hospitals()[1])
        >>> site.name, site.columns[-1], site.count()
        ('Hillcrest Rural Clinic', 'cvd_10y', 225)
        """
        if split not in ("train", "test"):
            raise InvalidParameterError(f"split must be 'train' or 'test', got {split!r}")
        part = getattr(hospital, split)
        X = np.column_stack([part.X, part.y])
        return cls(X, (*part.feature_names, target), name=hospital.name, min_cell=min_cell)

    def __repr__(self):
        return (f"DataSite(name={self.name!r}, columns={len(self.columns)}, "
                f"min_cell={self.min_cell})")

    # -- queries -------------------------------------------------------------------------
    def count(self, *, where=None):
        """The number of records (that meet ``where``): one cell, plus the ones left out."""
        rows, conditions = self._select(where)
        return self._release(f"the count{_where_text(conditions)}", [], list,
                             lambda: int(rows.sum()), rows=rows, conditions=conditions)

    def moments(self, columns=None, *, where=None):
        """Per column: the number of observed values, their sum and sum of squares.

        Returns
        -------
        Moments
        """
        names, X = self._columns(columns, where)
        rows, conditions = self._select(where)
        Xs = X[rows]
        observed = ~np.isnan(Xs)
        filled = np.where(observed, Xs, 0.0)
        count = observed.sum(axis=0)
        query = f"the moments of {', '.join(names)}{_where_text(conditions)}"
        with np.errstate(over="ignore"):
            answer = Moments(count.astype(float), filled.sum(axis=0), (filled**2).sum(axis=0),
                             names)
        return self._release(query, self._observed_cells(names, count, rows),
                             lambda: [(f"records with {n}",
                                       self._table(n, rows, conditions).whole())
                                      for n in names],
                             lambda: answer, rows=rows, conditions=conditions)

    def comoments(self, columns=None, *, where=None):
        """Pairwise-complete counts, sums, sums of squares and cross products (correlations).

        Returns
        -------
        CoMoments
        """
        names, X = self._columns(columns, where)
        rows, conditions = self._select(where)
        Xs = X[rows]
        observed = (~np.isnan(Xs)).astype(float)
        filled = np.where(observed > 0, Xs, 0.0)
        count = observed.T @ observed
        labels = [f"observed {a} and {b}" for a in names for b in names]
        missing = [f"missing {a} or {b}" for a in names for b in names]
        query = f"the co-moments of {', '.join(names)}{_where_text(conditions)}"

        def releases():
            ids = self._ids[rows]
            return [(f"records with {a} and {b}",
                     fingerprint(ids[(observed[:, i] > 0) & (observed[:, j] > 0)]))
                    for i, a in enumerate(names) for j, b in enumerate(names) if i <= j]

        return self._release(query, [(count, labels), (rows.sum() - count, missing)],
                             releases,
                             lambda: CoMoments(count, filled.T @ observed,
                                               (filled**2).T @ observed, filled.T @ filled,
                                               names),
                             rows=rows, conditions=conditions)

    def histogram(self, column, edges, *, where=None):
        """Counts of the observed values of ``column`` in each bin ``[edges[i], edges[i+1])``.

        The last bin includes its right edge (as ``numpy.histogram``). Values outside the
        edges are not returned, but they form two more cells that must pass the rule.

        Returns
        -------
        ndarray of shape (len(edges) - 1,)
        """
        (name,), _ = self._columns([column], where, values=False)
        edges = _check_edges(edges)
        rows, conditions = self._select(where)
        table = self._table(name, rows, conditions)
        values = table.sorted
        counts, _ = np.histogram(values, bins=edges)
        outside = [np.sum(values < edges[0]), np.sum(values > edges[-1])]
        labels = [f"{name} in [{lo:g}, {hi:g})" for lo, hi in zip(edges[:-1], edges[1:])]
        cells = [(np.r_[counts, outside], labels + [f"{name} < {edges[0]:g}",
                                                    f"{name} > {edges[-1]:g}"]),
                 *self._observed_cells([name], [len(values)], rows)[1:]]
        return self._release(f"a histogram of {name}{_where_text(conditions)}", cells,
                             lambda: [(f"records in bin {i + 1}",
                                       table.bin(lo, hi, last=i == len(edges) - 2))
                                      for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:]))],
                             lambda: counts, rows=rows, conditions=conditions)

    def count_at_most(self, column, threshold, *, where=None):
        """How many observed values of ``column`` are ``<= threshold``, and how many observed.

        Both cells (at most and above the threshold), and the records where ``column`` is
        missing, must pass the rule. The site sorts the column once (per condition) and
        answers each threshold by binary search.

        Returns
        -------
        (int, int)
        """
        (name,), _ = self._columns([column], where, values=False)
        if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) \
                or np.isnan(threshold):
            raise InvalidParameterError(f"threshold must be a number, got {threshold!r}")
        rows, conditions = self._select(where)
        table = self._table(name, rows, conditions)
        observed = len(table.sorted)
        below = int(np.searchsorted(table.sorted, threshold, side="right"))
        cells = [([below, observed - below],
                  [f"{name} <= {threshold:.6g}", f"{name} > {threshold:.6g}"]),
                 ([self._n(rows) - observed], [f"missing {name}"])]
        return self._release(f"the count of {name} <= {threshold:.6g}"
                             f"{_where_text(conditions)}", cells,
                             lambda: [(f"records with {name} <= {threshold:.6g}",
                                       table.at_most(threshold)),
                                      (f"records with {name}", table.whole())],
                             lambda: (below, observed), rows=rows, conditions=conditions)

    # -- helpers ---------------------------------------------------------------------------
    def _columns(self, columns, where, *, values=True):
        names = self.columns if columns is None else tuple(
            [columns] if isinstance(columns, str) else columns)
        unknown = [c for c in names if c not in self._index]
        if unknown or not names:
            raise InvalidParameterError(
                f"site {self.name!r} has no column {unknown[0]!r}; its columns are "
                f"{', '.join(self.columns)}" if unknown else "columns must not be empty")
        return names, self._X[:, [self._index[c] for c in names]] if values else None

    def _select(self, where):
        """The records that meet ``where`` (a boolean mask), and the checked conditions.

        The last selection is kept: threshold queries ask the same one many times.
        """
        conditions = check_where(where, self.columns)
        if self._last is None or self._last[0] != conditions:
            rows = np.ones(len(self._X), dtype=bool)
            for column, operator, value in conditions:
                values = self._X[:, self._index[column]]
                rows &= ~np.isnan(values) & OPERATORS[operator](values, value)
            self._last = (conditions, rows, int(rows.sum()))
        return self._last[1], conditions

    def _n(self, rows):
        """The number of records selected by ``rows`` (counted once for the last one)."""
        return self._last[2] if rows is self._last[1] else int(rows.sum())

    def _observed_cells(self, names, count, rows):
        """The cells of observed and of missing values of each column in the selection."""
        count = np.asarray(count)
        return [(count, [f"observed {n}" for n in names]),
                (self._n(rows) - count, [f"missing {n}" for n in names])]

    def _table(self, name, rows, conditions):
        """The sorted observed values of ``name`` in the selection (the last few kept)."""
        key = (name, conditions)
        if key not in self._values:
            values = self._X[rows, self._index[name]]
            observed = ~np.isnan(values)
            self._values[key] = SortedColumn(values[observed], self._ids[rows][observed])
            if len(self._values) > 4:
                self._values.popitem(last=False)
        self._values.move_to_end(key)
        return self._values[key]

    def _selection(self, rows, conditions):
        """The fingerprint of the records a query selects (as whole records)."""
        if self._selected is None or self._selected[0] != conditions:
            self._selected = (conditions, fingerprint(self._ids[rows]))
        return self._selected[1]

    def _release(self, query, tables, releases, answer, *, rows, conditions):
        """Check every cell (the selection and what it leaves out first), then what the
        answer would add to the audit log; answer, and log it."""
        try:
            n = self._n(rows)
            selection = [n, len(rows) - n] if conditions else [n]
            text = describe_where(conditions)
            labels = [text, f"not ({text})"] if conditions else ["all records"]
            check_cells(selection, min_cell=self.min_cell, site=self.name, query=query,
                        labels=labels)
            for counts, cell_labels in tables:
                check_cells(counts, min_cell=self.min_cell, site=self.name, query=query,
                            labels=cell_labels)
            released = [("records", self._selection(rows, conditions)), *releases()] \
                if self.min_cell > 1 else []
            self.audit.check(released, min_cell=self.min_cell, query=query)
        except DisclosureRefused as refusal:
            self.log.append(f"refused: {query}")
            self.audit.note_refusal(query, refusal.rule)
            raise
        self.log.append(f"answered: {query}")
        self.audit.record(query, released)
        return answer()


def _where_text(conditions):
    return f" where {describe_where(conditions)}" if conditions else ""


def _check_edges(edges):
    edges = np.asarray(edges, dtype=float)
    if edges.ndim != 1 or len(edges) < 2 or not np.all(np.isfinite(edges)) \
            or np.any(np.diff(edges) <= 0):
        raise InvalidParameterError(f"edges must be at least two finite, increasing numbers, "
                                    f"got {edges.tolist()}")
    return edges
