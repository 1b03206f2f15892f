"""Checks for lesson 09, federated analytics: a quantile, a disclosure check, a k-means step.

The quantile is found by bisection on the sites' counts; the k-means step is the
server's (Lloyd 1982).

``from fedlab.exercises import lesson09 as ex``, then ``ex.q1.check(bisect_quantile)``,
``ex.q2.check(safe_to_release)`` and ``ex.q3.check(new_centres)``.
"""

from __future__ import annotations

import warnings

import numpy as np

from fedlab.analytics.disclosure import DisclosureRefused, check_cells
from fedlab.exercises import FunctionExercise, Mistake
from fedlab.exercises._compare import counted, number, short

__all__ = ["q1", "q2", "q3"]


# -- q1: a federated quantile by bisection -----------------------------------------------

TOL = 1e-6


class _Sites:
    """``count_at_most(t)``: asks every site how many of its values are <= t, adds them up."""

    def __init__(self, arrays):
        self._arrays = [np.sort(a) for a in arrays]
        self.n_sites = len(arrays)

    def __call__(self, t):
        return int(sum(np.searchsorted(a, t, side="right") for a in self._arrays))

    def pooled(self):
        """All the sites' values together (for the check's reference only)."""
        return np.concatenate(self._arrays)

    def __repr__(self):
        return f"<count_at_most over {counted(self.n_sites, 'site')}>"


def _pooled_quantile(count_at_most, n, q, low, high, tol):
    """numpy's quantile that is one of the values: the k-th smallest, k = ceil(q n)."""
    return float(np.quantile(count_at_most.pooled(), q, method="inverted_cdf"))


def _q1_cases(rng):
    cases = []
    for n_sites, q in ((3, 0.5), (2, 0.25), (4, 0.75), (5, 0.9), (3, 0.1), (1, 0.5), (4, 0.05),
                       (2, 0.6)):
        sizes = rng.integers(20, 300, size=n_sites)
        arrays = [np.round(rng.normal(120 + 8 * s, 15, size=int(n)), 0)
                  for s, n in enumerate(sizes)]
        n = int(sizes.sum())
        if abs(q * n - round(q * n)) > 1e-9 and abs(q * n - round(q * n)) < 1e-6:
            n -= 1  # keep away from q n that rounds in floating point
            arrays[0] = arrays[0][:-1]
        everything = np.concatenate(arrays)
        cases.append((_Sites(arrays), n, q, float(everything.min() - 7.3),
                      float(everything.max() + 4.1), TOL))
    return cases


def _bisect(count_at_most, n, q, low, high, tol, *, strict=False, flipped=False, steps=None,
            rank=None):
    """The bisection with one typical mistake switched on."""
    k = np.ceil(q * n) if rank is None else rank(q, n)
    done = 0
    while high - low > tol and (steps is None or done < steps):
        middle = (low + high) / 2
        enough = count_at_most(middle) > k if strict else count_at_most(middle) >= k
        if enough != flipped:
            high = middle
        else:
            low = middle
        done += 1
    return high


q1 = FunctionExercise(
    "a federated quantile by bisection",
    reference=_pooled_quantile, cases=_q1_cases, rtol=0.0, atol=1.01 * TOL,
    describe=lambda a: (f"q={a[2]}, n={a[1]} values at {counted(a[0].n_sites, 'site')}, "
                        f"low={number(a[3])}, high={number(a[4])}"),
    mistakes=[
        Mistake(lambda c, n, q, lo, hi, tol: _bisect(c, n, q, lo, hi, tol, strict=True),
                "you moved `high` down only when more than k values were at or below the "
                "middle; the k-th value itself is at or below the middle when the count is "
                "at least k (use >=)"),
        Mistake(lambda c, n, q, lo, hi, tol: _bisect(c, n, q, lo, hi, tol, flipped=True),
                "the interval moves the wrong way: when at least k values are at or below "
                "the middle, the quantile is in the lower half, so `high` becomes the middle"),
        Mistake(lambda c, n, q, lo, hi, tol: _bisect(c, n, q, lo, hi, tol,
                                                     rank=lambda q, n: np.floor(q * n)),
                "your rank is one too small: the q-quantile is the k-th smallest value with "
                "k = ceil(q * n), the first value with at least a fraction q at or below it "
                "(not floor(q * n), nor numpy's default q * (n - 1))"),
        Mistake(lambda c, n, q, lo, hi, tol: _bisect(c, n, q, lo, hi, tol, steps=10),
                "your answer is near but not within tol: keep halving while "
                "`high - low > tol`, not a fixed number of times"),
        Mistake(lambda c, n, q, lo, hi, tol: (lo + hi) / 2,
                "you returned the middle of the first interval: halve it in a loop, asking "
                "count_at_most(middle) each time"),
    ],
    hints=[
        "The q-quantile is the k-th smallest value, k = ceil(q * n). At any threshold t, "
        "count_at_most(t) >= k exactly when t is at or above it.",
        "Keep the interval (low, high] around it: while high - low > tol, ask about the "
        "middle; if at least k values are at or below it, it becomes `high`, otherwise "
        "`low`. Return `high`.",
    ],
)


# -- q2: the disclosure check ------------------------------------------------------------

def _released(cells, min_cell):
    """Whether a site releases an answer with these cells: fedlab's own rule."""
    try:
        check_cells(cells, min_cell=min_cell, site="the site", query="an answer")
    except DisclosureRefused:
        return False
    return True


def _q2_cases(rng):
    fixed = [
        # ordered so that the first case each typical mistake fails tells it apart
        ([12, 30, 7], 5), ([2, 2, 2], 5), ([3, 12], 5), ([0, 3], 5), ([12, 0, 7], 5),
        ([12, 3, 7], 5), ([5, 5, 5], 5), ([4, 50], 5),
        ([[10, 20], [0, 35]], 5), ([[10, 20], [3, 35]], 5), ([[10, 2], [8, 35]], 5),
        ([0, 0, 9], 10), ([1], 1),
        ([6, 40, 2], 3), ([3, 3], 3), ([0, 0], 5), ([11, 10, 9], 10),
    ]
    cases = [(np.array(c), m) for c, m in fixed]
    for _ in range(8):
        min_cell = int(rng.integers(3, 11))
        cells = rng.integers(0, 3 * min_cell, size=rng.integers(2, 7))
        cases.append((cells, min_cell))
    return cases


q2 = FunctionExercise(
    "the small-cell rule",
    reference=_released, cases=_q2_cases, rtol=0.0, atol=0.0,
    describe=lambda a: f"cells={short(np.asarray(a[0]))}, min_cell={a[1]}",
    mistakes=[
        Mistake(lambda c, m: bool(np.all(np.asarray(c) >= m)),
                "you refused an empty cell: a cell of 0 patients describes nobody, and the "
                "rule allows it (only 1 to min_cell - 1 is too few)"),
        Mistake(lambda c, m: bool(np.all((np.asarray(c) == 0) | (np.asarray(c) > m))),
                "you refused a cell of exactly min_cell patients: the rule forbids fewer "
                "than min_cell"),
        Mistake(lambda c, m: bool(np.sum(c) >= m),
                "you checked the total: every cell is a published number, so each one must "
                "pass the rule"),
        Mistake(lambda c, m: bool(np.all((np.asarray(c)[0] == 0) | (np.asarray(c)[0] >= m))),
                "you checked only the first cell (or the first row of a table): is a "
                "`return` inside your loop? Every cell must be empty or hold at least "
                "min_cell patients; np.asarray(cells) with np.all looks at all of them"),
        Mistake(lambda c, m: bool(np.any((np.asarray(c) == 0) | (np.asarray(c) >= m))),
                "one safe cell is not enough: every cell must be empty or hold at least "
                "min_cell patients (np.all, not np.any)"),
        Mistake(lambda c, m: not _released(c, m),
                "your answer is the opposite: True means the answer may be released"),
    ],
    hints=[
        "A cell is fine when it is 0 or at least min_cell; the answer is safe when every "
        "cell is fine.",
        "With numpy, for a table of any shape:\n"
        "    cells = np.asarray(cells)\n"
        "    return bool(np.all((cells == 0) | (cells >= min_cell)))",
    ],
)


# -- q3: the server's step of federated k-means ------------------------------------------

def _pooled_means(old_centres, sums, counts):
    """Each cluster's mean over every site's patients; a cluster empty everywhere stays.

    Written as the sites' cluster means averaged with their counts as weights: an
    independent formulation of "total sum over total count".
    """
    old = np.asarray(old_centres, dtype=float)
    sums, counts = np.asarray(sums, dtype=float), np.asarray(counts, dtype=float)
    centres = old.copy()
    for j in range(len(old)):
        present = counts[:, j] > 0
        if present.any():
            site_means = sums[present, j] / counts[present, j, None]
            centres[j] = np.average(site_means, axis=0, weights=counts[present, j])
    return centres


def _q3_cases(rng):
    cases = []
    for n_sites, k, d, empty in ((3, 4, 2, None), (5, 3, 3, 1), (2, 2, 4, None),
                                 (4, 5, 2, 4), (1, 3, 2, None), (3, 3, 7, 0)):
        old = rng.normal(0, 1, size=(k, d)).round(2)
        counts = rng.integers(0, 40, size=(n_sites, k)).astype(float)
        counts[rng.random((n_sites, k)) < 0.2] = 0  # some clusters are empty at some sites
        if empty is not None:
            counts[:, empty] = 0                   # and one is empty everywhere
        counts[0, [j for j in range(k) if j != empty]] += 3  # the others are not
        means = old + rng.normal(0, 0.5, size=(n_sites, k, d))
        sums = (means * counts[:, :, None]).round(3)
        cases.append((old, sums, counts))
    return cases


def _mean_of_means(old, sums, counts):
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # nanmean of an all-nan column
        result = np.nanmean(np.asarray(sums) / np.asarray(counts)[:, :, None], axis=0)
    return np.where(np.isnan(result), old, result)


def _floor_centres(old, sums, counts):
    total = np.sum(counts, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        result = np.sum(sums, axis=0) // total[:, None]
    return np.where(total[:, None] > 0, result, old)


def _no_empty_rule(old, sums, counts, *, fill):
    with np.errstate(invalid="ignore", divide="ignore"):
        result = np.sum(sums, axis=0) / np.sum(counts, axis=0)[:, None]
    return np.where(np.isnan(result), fill, result)


q3 = FunctionExercise(
    "new centres from the sites' cluster sums and counts",
    reference=_pooled_means, cases=_q3_cases, rtol=1e-9, atol=1e-9,
    describe=lambda a: (f"{counted(len(a[2]), 'site')}, {counted(a[0].shape[0], 'cluster')} "
                        f"of {counted(a[0].shape[1], 'feature')}, total counts "
                        f"{short(np.sum(a[2], axis=0))}"),
    mistakes=[
        Mistake(_mean_of_means,
                "you averaged the sites' cluster means: a site with 3 patients in a cluster "
                "then counts as much as one with 40. Add up the sums and the counts over the "
                "sites first, then divide"),
        Mistake(lambda o, s, c: _no_empty_rule(o, s, c, fill=np.nan),
                "a cluster with no patient at any site gives 0 / 0 = nan: keep its old centre"),
        Mistake(lambda o, s, c: _no_empty_rule(o, s, c, fill=0.0),
                "you moved a cluster with no patient to 0 (the average patient): keep its "
                "old centre instead"),
        Mistake(lambda o, s, c: _pooled_means(o, np.asarray(s)[:1], np.asarray(c)[:1]),
                "you used the first site only: add up the sums and counts of every site "
                "(axis 0)"),
        Mistake(lambda o, s, c: np.where(np.sum(c, axis=0)[:, None] > 0,
                                         np.sum(s, axis=0), o),
                "you returned the total sums: divide each by its cluster's total count"),
        Mistake(_floor_centres,
                "you used integer division (//), which throws the decimals of every centre "
                "away: divide with /"),
        Mistake(lambda o, s, c: np.where(np.sum(c, axis=0)[:, None] > 0,
                                         np.sum(s, axis=0) / len(s), o),
                "you divided by the number of sites: divide by the number of patients in "
                "the cluster (the total count)"),
    ],
    hints=[
        "Add up over the sites (axis 0): the total sum of each cluster, shape (k, d), and "
        "its total count, shape (k,). The new centre is their ratio.",
        "Start from a float copy of old_centres and overwrite only the clusters whose "
        "total count is above 0: `filled = total_counts > 0`, then "
        "`centres[filled] = total_sums[filled] / total_counts[filled, None]`. In code:\n"
        "    total_sums, total_counts = np.sum(sums, axis=0), np.sum(counts, axis=0)\n"
        "    centres = np.array(old_centres, dtype=float)\n"
        "    filled = total_counts > 0\n"
        "    centres[filled] = total_sums[filled] / total_counts[filled, None]\n"
        "    return centres",
    ],
)
