"""Checks of lesson 01 (patient data): prevalence per site, a shift in means, missing values."""

from __future__ import annotations

import numpy as np

from fedlab.exercises import FunctionExercise, Mistake

__all__ = ["q1", "q2", "q3"]

_PERCENT = "you returned percentages; give fractions between 0 and 1"


# --- Exercise 1: the event rate (prevalence) of every site -----------------------------------

def _prevalence(labels):
    """Events over patients, site by site."""
    return np.array([np.count_nonzero(y) / np.size(y) for y in labels])


def _q1_cases(rng):
    cases = [
        ([np.array([0, 1, 0, 0]), np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0])],),
    ]
    for _ in range(3):  # sites of different sizes and event rates
        sizes = rng.integers(5, 400, size=int(rng.integers(2, 6)))
        rates = rng.uniform(0.05, 0.3, size=len(sizes))
        cases.append(([(rng.random(n) < p).astype(int) for n, p in zip(sizes, rates)],))
    cases.append(([np.zeros(40, dtype=int), np.ones(7, dtype=int),
                   np.array([0, 0, 1])],))  # no event at all, only events
    cases.append(([np.array([0, 1, 1, 0, 0])],))  # a single site
    cases.append(([[0, 0, 1], [1, 0, 0, 0, 0, 0]],))  # plain lists
    return cases


def _q1_describe(args):
    (labels,) = args
    shown = ", ".join(
        f"array of {len(y)} labels with {int(np.sum(y))} ones" if len(y) > 12
        else str(np.asarray(y).tolist()) for y in labels)
    return f"labels=[{shown}]"


def _pooled(labels):
    return np.full(len(labels), np.mean(np.concatenate([np.asarray(y) for y in labels])))


def _share_of_all_patients(labels):
    total = sum(len(y) for y in labels)
    return np.array([np.sum(y) / total for y in labels])


q1 = FunctionExercise(
    "prevalence of every site",
    reference=_prevalence,
    cases=_q1_cases,
    describe=_q1_describe,
    mistakes=[
        Mistake(lambda labels: np.array([np.sum(y) for y in labels], dtype=float),
                "you returned the number of events at each site; prevalence is a share of "
                "the site's patients"),
        Mistake(lambda labels: 100 * _prevalence(labels), _PERCENT),
        Mistake(lambda labels: 1 - _prevalence(labels),
                "you computed the share of patients without an event (label 0); prevalence is "
                "the share with one"),
        Mistake(_pooled,
                "you returned the same pooled rate for every site; each site needs its own"),
        Mistake(_share_of_all_patients,
                "you divided each site's events by the patients of all sites together; "
                "divide by the site's own patients"),
        Mistake(lambda labels: float(np.mean(np.concatenate([np.asarray(y) for y in labels]))),
                "you returned one number, the pooled rate; the exercise asks for one rate "
                "per site"),
        Mistake(lambda labels: np.array([np.sum(y) // len(y) for y in labels], dtype=float),
                "you used integer division (//), which rounds every rate down to 0 (or 1): "
                "divide with /"),
        Mistake(lambda labels: np.array([np.sum(y) / (len(y) - np.sum(y)) for y in labels]),
                "you divided the events by the patients without an event (that is the odds): "
                "prevalence divides by all the site's patients",
                applies=lambda labels: all(np.sum(y) < len(y) for y in labels)),
    ],
    hints=[
        "Loop over the sites. For one site, the labels are 0 and 1: what does their mean "
        "tell you?",
        "The mean of a 0/1 array is the fraction of ones, the prevalence. Collect one mean "
        "per site in a list and turn it into an array.",
        "In code:\n    return np.array([np.mean(y) for y in labels])",
    ],
)


# --- Exercise 2: how far one site's mean is from the others', skipping missing values --------

def _mean_difference(x_site, x_others):
    """Mean of the observed values at the site minus the others', NaN left out."""
    def observed_mean(x):
        x = np.asarray(x, dtype=float)
        return x[~np.isnan(x)].mean()
    return float(observed_mean(x_site) - observed_mean(x_others))


def _with_gaps(rng, x, fraction):
    x = np.array(x, dtype=float)
    x[rng.random(len(x)) < fraction] = np.nan
    x[0] = np.nan  # at least one gap
    return x


def _q2_cases(rng):
    cases = [(np.array([130.0, 140.0, 150.0]), np.array([120.0, 125.0, 118.0, 121.0]))]
    for shift in (10.0, -4.0):  # complete records, a site that reads high, one that reads low
        cases.append((rng.normal(120 + shift, 15, size=80).round(),
                      rng.normal(120, 15, size=300).round()))
    for shift in (8.0, -2.5):  # gaps at the site only, then at both
        cases.append((_with_gaps(rng, rng.normal(50 + shift, 12, size=60).round(), 0.3),
                      rng.normal(50, 12, size=200).round()))
    cases.append((_with_gaps(rng, rng.normal(47, 10, size=90).round(), 0.2),
                   _with_gaps(rng, rng.normal(52, 10, size=250).round(), 0.1)))
    cases.append((np.array([np.nan, 60.0, 40.0, np.nan]), np.array([45.0, np.nan, 55.0])))
    return cases


def _q2_describe(args):
    parts = []
    for name, x in zip(("x_site", "x_others"), args):
        x = np.asarray(x, dtype=float)
        gaps = int(np.isnan(x).sum())
        if len(x) <= 6:
            parts.append(f"{name}={np.array2string(x, separator=', ')}")
        else:
            parts.append(f"{name}=<{len(x)} values, {gaps} missing>")
    return ", ".join(parts)


def _zero_filled(x_site, x_others):
    return float(np.mean(np.nan_to_num(x_site)) - np.mean(np.nan_to_num(x_others)))


q2 = FunctionExercise(
    "difference in means between one site and the others, ignoring missing values",
    reference=_mean_difference,
    cases=_q2_cases,
    describe=_q2_describe,
    mistakes=[
        Mistake(lambda a, b: float(np.mean(a) - np.mean(b)),
                "your result is nan: a single missing value (NaN) turns a plain mean into "
                "NaN. The missing values must be skipped"),
        Mistake(lambda a, b: float(abs(np.nanmean(a) - np.nanmean(b))),
                "you returned the size of the difference without its sign; a site whose "
                "values run lower should give a negative number"),
        Mistake(lambda a, b: float(np.nanmean(b) - np.nanmean(a)),
                "you subtracted the wrong way round: the difference should be positive "
                "when the site's values run higher than the others'"),
        Mistake(_zero_filled,
                "you counted the missing values as 0, which drags a mean down; leave them "
                "out of the mean instead"),
        Mistake(lambda a, b: float(np.nanmedian(a) - np.nanmedian(b)),
                "you compared medians; the exercise asks for the difference in means"),
    ],
    hints=[
        "Compute the mean of `x_site` and the mean of `x_others`, then subtract. What "
        "happens to `np.mean` when one value is `np.nan`?",
        "NumPy has a version of the mean that skips NaN values: its name starts with "
        "`nan`.",
        "In code:\n    return np.nanmean(x_site) - np.nanmean(x_others)",
    ],
)


# --- Exercise 3: the fraction of missing values in each column ------------------------------

def _missing_fraction(X):
    """Missing values of each column over the number of rows."""
    X = np.asarray(X, dtype=float)
    return np.count_nonzero(np.isnan(X), axis=0) / X.shape[0]


def _q3_cases(rng):
    first = np.array([[50.0, np.nan, 120.0],
                      [61.0, 45.0, np.nan],
                      [np.nan, 52.0, 131.0],
                      [47.0, np.nan, 118.0],
                      [58.0, 60.0, 125.0]])
    cases = [(first,)]
    for n, d, p in ((40, 4, 0.2), (200, 11, 0.05), (7, 2, 0.5)):
        X = rng.normal(size=(n, d)).round(2)
        X[rng.random((n, d)) < p] = np.nan
        X[0, 0] = np.nan  # at least one gap
        cases.append((X,))
    complete = rng.normal(size=(12, 3)).round(2)
    cases.append((complete,))  # nothing missing
    empty_column = rng.normal(size=(6, 3)).round(2)
    empty_column[:, 1] = np.nan  # a lab test never done at this site
    cases.append((empty_column,))
    cases.append((np.array([[1.0, np.nan, 3.0, np.nan]]),))  # a single record
    return cases


def _q3_describe(args):
    X = np.asarray(args[0], dtype=float)
    if X.size <= 20:
        return "X=" + " ".join(np.array2string(X, separator=", ").split())
    return f"X of shape {X.shape} with {int(np.isnan(X).sum())} missing values"


q3 = FunctionExercise(
    "fraction of missing values per column",
    reference=_missing_fraction,
    cases=_q3_cases,
    describe=_q3_describe,
    mistakes=[
        Mistake(lambda X: np.isnan(X).sum(axis=0),
                "you returned how many values are missing in each column; the exercise "
                "asks what fraction of the rows that is"),
        Mistake(lambda X: 100 * np.isnan(X).mean(axis=0), _PERCENT),
        Mistake(lambda X: 1 - np.isnan(X).mean(axis=0),
                "you computed the fraction of values that are present, not missing"),
        Mistake(lambda X: np.isnan(X).any(axis=1).mean(),
                "you computed the share of rows with at least one missing value; the "
                "exercise asks for one fraction per column"),
        Mistake(lambda X: np.isnan(X).mean(),
                "you computed one fraction for the whole table; the exercise asks for one "
                "fraction per column"),
        Mistake(lambda X: np.isnan(X).mean(axis=1),
                "you computed one fraction per row (per patient); the exercise asks for one "
                "per column (per feature)"),
        Mistake(lambda X: np.mean(np.asarray(X) == np.nan, axis=0),
                "you compared with `== np.nan`, which is always False: NaN is not equal to "
                "anything, itself included. Test for it with `np.isnan(X)`",
                applies=lambda X: bool(np.isnan(np.asarray(X, float)).any())),
        Mistake(lambda X: np.isnan(X).sum(axis=0) / np.shape(X)[1],
                "you divided by the number of columns: a column's fraction of missing values "
                "divides by the number of rows (patients)",
                applies=lambda X: np.shape(X)[0] != np.shape(X)[1]),
        Mistake(lambda X: np.isnan(X).sum(axis=0) / np.size(X),
                "you divided by the number of values in the whole table: a column's fraction "
                "divides by the number of rows (patients)"),
    ],
    hints=[
        "`np.isnan(X)` is a True/False table of the same shape as `X`: True where a value "
        "is missing.",
        "The mean of True/False values is the fraction of True. Which axis runs down the "
        "rows of each column?",
        "In code:\n    return np.isnan(X).mean(axis=0)",
    ],
)
