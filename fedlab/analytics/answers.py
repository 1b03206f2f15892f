"""What a site's answers are made of: moments, co-moments, and a column sorted for thresholds.

:class:`Moments` and :class:`CoMoments` are the answers a :class:`fedlab.analytics.DataSite`
sends; :class:`SortedColumn` is what it keeps to answer threshold and histogram queries
by binary search, with the fingerprints of the groups each answer rests on
(:mod:`fedlab.analytics.audit`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .audit import fingerprint

__all__ = ["Moments", "CoMoments", "SortedColumn"]


@dataclass(frozen=True)
class Moments:
    """A site's answer to a moments query: per column, over its observed (non-missing) values.

    Attributes
    ----------
    count, total, total_sq : ndarray of shape (n_columns,)
        Number of observed values, their sum, and the sum of their squares.
    columns : tuple of str
    """

    count: np.ndarray
    total: np.ndarray
    total_sq: np.ndarray
    columns: tuple


@dataclass(frozen=True)
class CoMoments:
    """A site's answer to a co-moments query: pairwise-complete sums for correlations.

    Entry ``[i, j]`` is over the records where both column ``i`` and column ``j`` are
    observed.

    Attributes
    ----------
    count : ndarray of shape (n_columns, n_columns)
        Number of such records.
    total, total_sq : ndarray of shape (n_columns, n_columns)
        Sum of column ``i`` and of its square over them.
    cross : ndarray of shape (n_columns, n_columns)
        Sum of the products of columns ``i`` and ``j`` over them.
    columns : tuple of str
    """

    count: np.ndarray
    total: np.ndarray
    total_sq: np.ndarray
    cross: np.ndarray
    columns: tuple


class SortedColumn:
    """One column's observed values in one selection, sorted: what threshold queries read.

    Also the fingerprints (:func:`fedlab.analytics.audit.fingerprint`) of the records a
    release rests on: all of them, those at most a threshold, those in a bin.
    """

    def __init__(self, values, ids):
        order = np.argsort(values, kind="stable")
        self.sorted, self.ids = values[order], ids[order]
        self._prints = {}

    def _range(self, start, stop):
        if (start, stop) not in self._prints:
            self._prints[start, stop] = fingerprint(self.ids[start:stop])
        return self._prints[start, stop]

    def whole(self):
        return self._range(0, len(self.sorted))

    def at_most(self, threshold):
        return self._range(0, int(np.searchsorted(self.sorted, threshold, side="right")))

    def bin(self, low, high, *, last):
        return self._range(int(np.searchsorted(self.sorted, low, side="left")),
                           int(np.searchsorted(self.sorted, high,
                                               side="right" if last else "left")))
