"""Exercises of lesson 08, faulty and malicious hospitals and robust aggregation.

q1 spotting a unit error from per-site counts and sums, q2 the coordinate-wise median
of updates, q3 the trimmed mean, q4 Krum's scores (Blanchard et al. 2017).
"""

from __future__ import annotations

import numpy as np

from fedlab import aggregate
from fedlab.attacks import flag_unit_errors
from fedlab.exercises import FunctionExercise, Mistake
from fedlab.exercises._compare import counted, short
from fedlab.federated import FeatureSums

__all__ = ["q1", "q2", "q3", "q4"]


def _updates(rng, n_clients, n_params, *, attacker=True):
    """Honest updates near a common direction, and (optionally) one wild update."""
    updates = rng.normal(loc=0.2, scale=0.1, size=(n_clients, n_params)).round(3)
    if attacker:
        updates[rng.integers(n_clients)] *= -10
    return updates


def _describe_updates(a):
    u = np.asarray(a[0], dtype=float)
    extra = "".join(f", {v}" for v in a[1:])
    return (f"{counted(u.shape[0], 'update')} of {counted(u.shape[1], 'parameter')} "
            f"{short(u, 60)}{extra}")


# -- q1: a unit error from site sums ------------------------------------------------------

def _flagged(counts, totals, factor):
    """fedlab's check (:func:`fedlab.attacks.flag_unit_errors`) on one feature's sums.

    Each site's message is built from its count and total; its spread (a standard
    deviation equal to its mean) does not enter the flag, it only marks the feature as
    not 0/1.
    """
    counts = np.asarray(counts, dtype=float)
    means = np.asarray(totals, dtype=float) / counts
    sums = [FeatureSums(np.array([c]), np.array([m]), np.array([c * m * m]))
            for c, m in zip(counts, means)]
    return flag_unit_errors(sums, factor=factor)[:, 0]


def _q1_cases(rng):
    # the faulty site is the largest: it drags the pooled mean, not the mean of the means
    counts = np.array([2400.0, 180.0, 260.0, 210.0, 330.0])
    means = np.array([5.2, 196.0, 201.0, 194.0, 199.0])
    cases = [(counts, (counts * means).round(1), 2.0)]
    # a site exactly twice and one exactly half the median: "more than" factor flags neither
    cases.append((np.full(5, 100.0), np.array([10000.0, 10000.0, 10000.0, 20000.0, 5000.0]),
                  2.0))
    for n_sites, base, odd, factor in ((5, 200.0, 1 / 38.67, 2.0), (5, 5.2, 38.67, 2.0),
                                       (6, 130.0, None, 2.0), (7, 50.0, 2.2, 2.0),
                                       (5, 200.0, 1 / 38.67, 1.5), (4, 5.0, 38.67, 3.0)):
        counts = rng.integers(150, 2500, size=n_sites).astype(float)
        means = base * rng.uniform(0.9, 1.1, size=n_sites)
        if odd is not None:
            means[rng.integers(n_sites)] *= odd
        cases.append((counts, (counts * means).round(1), factor))
    return cases


def _mean_of_means(c, t, factor):
    means = np.asarray(t, dtype=float) / np.asarray(c, dtype=float)
    ratio = means / np.mean(means)
    return (ratio > factor) | (ratio < 1 / factor)


def _totals_only(c, t, factor):
    t = np.asarray(t, dtype=float)
    ratio = t / np.median(t)
    return (ratio > factor) | (ratio < 1 / factor)


def _one_side(c, t, factor):
    means = np.asarray(t, dtype=float) / np.asarray(c, dtype=float)
    return means / np.median(means) > factor


def _at_least(c, t, factor):
    means = np.asarray(t, dtype=float) / np.asarray(c, dtype=float)
    ratio = means / np.median(means)
    return (ratio >= factor) | (ratio <= 1 / factor)


def _pooled_mean(c, t, factor):
    c, t = np.asarray(c, dtype=float), np.asarray(t, dtype=float)
    ratio = (t / c) / (t.sum() / c.sum())
    return (ratio > factor) | (ratio < 1 / factor)


q1 = FunctionExercise(
    "Spot a site that exported a value in other units, from counts and sums",
    reference=_flagged,
    cases=_q1_cases,
    describe=lambda a: (f"counts {short(np.asarray(a[0]), 50)}, totals "
                        f"{short(np.asarray(a[1]), 60)}, factor {a[2]}"),
    mistakes=[
        Mistake(_totals_only,
                "you compared the totals: a large hospital has a large total; compare each "
                "site's mean (total / count)"),
        Mistake(_mean_of_means,
                "you compared with the mean of the sites' means: the faulty site drags it; "
                "compare with their median"),
        Mistake(_pooled_mean,
                "you compared with the pooled mean (all totals / all counts): the largest "
                "site or the faulty one drags it; compare with the median of the sites' "
                "means"),
        Mistake(_one_side,
                "you flagged only sites far above the others: a unit error can make values "
                "smaller too (mg/dL to mmol/L divides by 38.67)"),
        Mistake(_at_least,
                "you flagged a site exactly factor times off the median: the rule flags "
                "more than factor times (use > and <, not >= and <=)"),
    ],
    hints=[
        "Each site's mean is its total divided by its count. A unit error makes one mean "
        "many times larger or smaller than the typical site's.",
        "Divide each mean by the median of the means; flag ratios above factor or below "
        "1 / factor. Return one True/False per site:\n"
        "    means = np.asarray(totals, dtype=float) / np.asarray(counts, dtype=float)\n"
        "    ratio = means / np.median(means)",
    ],
)


# -- q2: coordinate-wise median -----------------------------------------------------------

def _q2_cases(rng):
    cases = [(_updates(rng, n, p),) for n, p in ((6, 3), (5, 4), (4, 12), (7, 2), (2, 3))]
    cases.append(([[0.0, 1.0], [1.0, 2.0], [100.0, -50.0]],))  # plain lists work too
    cases.append((_updates(rng, 1, 5, attacker=False),))
    return cases


def _sorted_middle(updates, upper):
    u = np.sort(np.asarray(updates, dtype=float), axis=0)
    n = len(u)
    return u[n // 2] if upper or n % 2 else u[n // 2 - 1]


q2 = FunctionExercise(
    "The coordinate-wise median of the updates",
    reference=aggregate.coordinate_median,
    cases=_q2_cases,
    describe=_describe_updates,
    mistakes=[
        Mistake(lambda u: np.mean(np.asarray(u, dtype=float), axis=0),
                "you took the mean: one wild update drags it anywhere; the median of each "
                "parameter ignores it"),
        Mistake(lambda u: np.median(np.asarray(u, dtype=float), axis=1),
                "you took the median along the wrong axis: one value per parameter, the "
                "median over the clients (axis 0)", match="shape"),
        Mistake(lambda u: np.median(np.asarray(u, dtype=float)),
                "you took one median of all the numbers: the rule works coordinate by "
                "coordinate, one median per parameter", match="shape"),
        Mistake(lambda u: np.asarray(u, dtype=float)[len(u) // 2],
                "you returned the middle client's update as given: sort each parameter's "
                "values first"),
        Mistake(lambda u: np.asarray(u, dtype=float)[
                    np.argsort(np.linalg.norm(np.asarray(u, dtype=float), axis=1))[len(u) // 2]],
                "you picked the whole update of median size: the median works parameter by "
                "parameter, so its result may mix values from different clients",
                applies=lambda u: len(u) > 2),
        Mistake(lambda u: _sorted_middle(u, upper=True),
                "with an even number of updates the median is the mean of the two middle "
                "values, not the upper one"),
        Mistake(lambda u: _sorted_middle(u, upper=False),
                "with an even number of updates the median is the mean of the two middle "
                "values, not the lower one"),
    ],
    hints=[
        "For every parameter separately, look at the clients' values and take their median.",
        "Stack the updates into an array of shape (n_clients, n_params); the median over "
        "the clients is taken along axis 0:\n"
        "    return np.median(np.asarray(updates, dtype=float), axis=0)",
    ],
)


# -- q3: trimmed mean ---------------------------------------------------------------------

def _q3_cases(rng):
    cases = [(_updates(rng, n, p), beta) for n, p, beta in
             ((7, 4, 0.3), (5, 4, 0.2), (10, 3, 0.25), (9, 2, 0.1), (6, 3, 0.25), (5, 3, 0.0),
              (4, 2, 0.49))]
    return cases


def _trim_rounded(u, beta, how):
    u = np.sort(np.asarray(u, dtype=float), axis=0)
    k = min(int(how(beta * len(u))), (len(u) - 1) // 2)
    return u[k:len(u) - k].mean(axis=0)


def _trim_rows(u, beta):
    u = np.asarray(u, dtype=float)
    order = np.argsort(np.linalg.norm(u, axis=1))
    k = int(np.floor(beta * len(u)))
    return u[order[k:len(u) - k]].mean(axis=0)


def _trim_unsorted(u, beta):
    u = np.asarray(u, dtype=float)
    k = int(np.floor(beta * len(u)))
    return u[k:len(u) - k].mean(axis=0)


def _trim_top_only(u, beta):
    u = np.sort(np.asarray(u, dtype=float), axis=0)
    k = int(np.floor(beta * len(u)))
    return u[:len(u) - k].mean(axis=0)


def _trim_sum_over_n(u, beta):
    u = np.sort(np.asarray(u, dtype=float), axis=0)
    k = int(np.floor(beta * len(u)))
    return u[k:len(u) - k].sum(axis=0) / len(u)


q3 = FunctionExercise(
    "The coordinate-wise trimmed mean",
    reference=lambda updates, beta: aggregate.trimmed_mean(updates, trim=beta),
    cases=_q3_cases,
    describe=_describe_updates,
    mistakes=[
        Mistake(_trim_unsorted,
                "you cut the first and last clients as given: sort each parameter's values "
                "first, then cut the smallest and the largest"),
        Mistake(_trim_top_only,
                "you cut only the largest values: a trimmed mean cuts k values at both ends"),
        # rounding to the nearest integer differs from rounding down exactly where
        # rounding up does too, and gives the same k there: one mistake, one message
        Mistake(lambda u, b: _trim_rounded(u, b, np.ceil),
                "you rounded beta * n up (or to the nearest integer): cut k = floor(beta * n) "
                "values at each end, rounding down"),
        Mistake(_trim_sum_over_n,
                "you divided by all n clients: average only the values that remain, "
                "n - 2k of them"),
        Mistake(lambda u, b: np.mean(np.asarray(u, dtype=float), axis=0),
                "you returned the plain mean: nothing was cut"),
        Mistake(_trim_rows,
                "you dropped whole updates (by their size); the trimmed mean cuts values "
                "parameter by parameter, so one client may be cut in one parameter and kept "
                "in another"),
    ],
    hints=[
        "Parameter by parameter: sort the clients' values, drop the k smallest and the k "
        "largest, average the rest. k is beta * n rounded down.",
        "np.sort(updates, axis=0) sorts every column; slice rows k to n - k and take the "
        "mean along axis 0.",
    ],
)


# -- q4: Krum scores ----------------------------------------------------------------------

def _q4_cases(rng):
    return [(_updates(rng, n, p), f) for n, p, f in
            ((7, 4, 2), (5, 3, 1), (9, 2, 1), (6, 5, 1), (11, 3, 4), (8, 2, 0))]


def _krum_variant(u, f, *, squared=True, skip_self=True, k_offset=0):
    u = np.asarray(u, dtype=float)
    n = len(u)
    d = ((u[:, None, :] - u[None, :, :]) ** 2).sum(axis=-1)
    if not squared:
        d = np.sqrt(d)
    k = n - f - 2 + k_offset
    ordered = np.sort(d, axis=1)
    return (ordered[:, 1:k + 1] if skip_self else ordered[:, :k]).sum(axis=1)


q4 = FunctionExercise(
    "Krum's score of every update",
    reference=lambda updates, f: aggregate.krum_scores(updates, n_byzantine=f),
    cases=_q4_cases,
    describe=_describe_updates,
    mistakes=[
        Mistake(lambda u, f: _krum_variant(u, f, squared=False),
                "you summed distances, not squared distances: Krum adds up ||V_i - V_j||^2"),
        Mistake(lambda u, f: _krum_variant(u, f, skip_self=False),
                "you counted each update as its own nearest neighbour (distance 0): skip "
                "the update itself"),
        Mistake(lambda u, f: _krum_variant(u, f, k_offset=1),
                "you kept n - f - 1 neighbours; Krum keeps the n - f - 2 nearest others"),
        Mistake(lambda u, f: _krum_variant(u, f, k_offset=2),
                "you kept n - f neighbours; Krum keeps the n - f - 2 nearest others"),
        Mistake(lambda u, f: _krum_variant(u, f) / (len(u) - f - 2),
                "you averaged the distances to the nearest neighbours: Krum adds them up",
                applies=lambda u, f: len(u) - f - 2 > 1),
        Mistake(lambda u, f: _krum_variant(u, f, k_offset=f + 1, skip_self=True),
                "you added the distances to all the others: Krum keeps only the n - f - 2 "
                "nearest, so that the f attackers' distances can be left out"),
    ],
    hints=[
        "For update i: compute its squared distance to every other update, keep the "
        "n - f - 2 smallest, add them up. A low score means a crowded neighbourhood.",
        "A matrix of all squared distances: ((U[:, None, :] - U[None, :, :]) ** 2).sum(-1). "
        "Sort each row: its first entry is the distance to itself (0).",
    ],
)
