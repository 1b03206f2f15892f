"""Checks for lesson 11, survival across hospitals: life table, Kaplan-Meier, a Cox step.

A site's life table, the Kaplan-Meier curve from the sites' counts (Kaplan & Meier
1958), and the exact federated Cox step (Newton on the summed gradients and Hessians).

``from fedlab.exercises import lesson11 as ex``, then ``ex.q1.check(site_counts)``,
``ex.q2.check(kaplan_meier_from_counts)`` and ``ex.q3.check(newton_step)``.
"""

from __future__ import annotations

import numpy as np

from fedlab.exercises import FunctionExercise, Mistake
from fedlab.exercises._compare import short
from fedlab.survival import LifeTable, kaplan_meier, life_table, sum_tables

__all__ = ["q1", "q2", "q3"]


def _count(n, noun):
    """``"1 site"``, ``"3 sites"``."""
    return f"{n} {noun}{'s' * (n != 1)}"


# -- q1: one site's life table ---------------------------------------------------------

def _site_counts(time, event, grid):
    table = life_table(time, event, grid)
    return table.at_risk, table.events


def _q1_cases(rng):
    cases = [  # small cases first: the first failing case names the mistake
        (np.array([0.5, 1.2, 1.7, 2.5, 3.0, 3.4]), np.array([1, 0, 1, 1, 0, 0]),
         np.array([1.0, 2.0, 3.0])),
        (np.array([1.0, 2.0, 2.0, 2.5, 4.2]), np.array([1, 1, 0, 0, 1]),
         np.array([1.0, 2.0, 3.0, 4.0])),  # times on the grid, and one beyond it
        (np.array([0.3, 0.8, 1.1, 1.9]), np.array([0, 0, 0, 0]), np.array([1.0, 2.0])),
    ]
    for n, width in ((40, 1.0), (120, 0.5), (300, 2.0), (25, 1.0)):
        t = np.round(rng.weibull(1.2, n) * 6, 3) + 0.001
        e = (rng.random(n) < 0.6).astype(int)
        cases.append((t, e, np.arange(width, 10.0 + width / 2, width)))
    return cases


def _dropped_censored(time, event, grid):
    keep = np.asarray(event) == 1
    if not keep.any():  # no event: nobody left at all
        return np.zeros(len(grid), dtype=int), np.zeros(len(grid), dtype=int)
    return _site_counts(np.asarray(time)[keep], np.asarray(event)[keep], grid)


def _censored_as_events(time, event, grid):
    return _site_counts(time, np.ones(len(time), dtype=int), grid)


def _never_leave(time, event, grid):
    at_risk, events = _site_counts(time, event, grid)
    return np.full(len(grid), len(time)), events


def _at_risk_after(time, event, grid):
    at_risk, events = _site_counts(time, event, grid)
    return at_risk - events - LifeTable(np.asarray(grid, float), at_risk, events).censored, \
        events


q1 = FunctionExercise(
    "a site's life table on the shared grid",
    reference=_site_counts, cases=_q1_cases, rtol=0.0, atol=0.0, returns=("at_risk", "events"),
    describe=lambda a: (f"{_count(len(a[0]), 'patient')} "
                        f"({_count(int(np.sum(a[1])), 'event')}), times "
                        f"{short(a[0], 40)}, grid {short(a[2], 40)}"),
    mistakes=[
        Mistake(_dropped_censored,
                "you left out the censored patients: a patient followed for 3 years without "
                "an event was at risk, event-free, for those 3 years, and belongs in the "
                "risk set of every bin up to the one where follow-up ended"),
        Mistake(_censored_as_events,
                "you counted censored patients as events: censoring ends follow-up, it is "
                "not a cardiovascular event (count only `event == 1` in `events`)"),
        Mistake(_never_leave,
                "your risk set never shrinks: a patient leaves it after the bin where their "
                "event or their censoring happened"),
        Mistake(_at_risk_after,
                "you counted the patients still at risk at the end of each bin: the risk "
                "set of bin (grid[k-1], grid[k]] is everyone still followed after grid[k-1]"),
    ],
    hints=[
        "Bin k is the interval (grid[k-1], grid[k]], with grid[-1] taken as 0. At risk in "
        "bin k: patients whose time is > grid[k-1]. Events in bin k: patients with "
        "event == 1 whose time falls inside the bin.",
        "With numpy, for each k: `lower = grid[k-1] if k else 0`; "
        "`at_risk[k] = np.sum(time > lower)` and "
        "`events[k] = np.sum((event == 1) & (time > lower) & (time <= grid[k]))`.",
    ],
)


# -- q2: the Kaplan-Meier curve from the sites' counts ---------------------------------

def _summed_km(at_risk, events):
    tables = [LifeTable(np.arange(1.0, len(n) + 1), np.asarray(n), np.asarray(d))
              for n, d in zip(at_risk, events)]
    return kaplan_meier(sum_tables(tables)).survival


def _q2_cases(rng):
    cases = [
        (np.array([[10, 8, 5], [20, 15, 9]]), np.array([[1, 2, 1], [2, 1, 3]])),
        (np.array([[12, 9, 6, 0], [30, 24, 20, 11]]), np.array([[2, 1, 1, 0], [3, 2, 4, 2]])),
    ]
    for n_sites, rows in ((3, 6), (5, 10), (2, 15), (4, 8)):
        at_risk = np.zeros((n_sites, rows), dtype=int)
        events = np.zeros((n_sites, rows), dtype=int)
        for s in range(n_sites):
            n = int(rng.integers(40, 400))
            end = rows if s else int(rng.integers(rows // 2, rows))  # site 0 stops early
            for k in range(end):
                at_risk[s, k] = n
                d = int(rng.binomial(n, 0.06))
                events[s, k] = d
                n -= d + int(rng.binomial(n - d, 0.12))
        cases.append((at_risk, events))
    return cases


def _averaged_curves(at_risk, events, *, weights=None):
    n, d = np.asarray(at_risk, float), np.asarray(events, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        curves = np.cumprod(np.where(n > 0, 1 - d / n, 1.0), axis=1)
    return np.average(curves, axis=0, weights=weights)


def _product_limit_ignoring_leavers(at_risk, events):
    n0 = np.sum(at_risk, axis=0)[0]
    return 1 - np.cumsum(np.sum(events, axis=0)) / n0


def _nelson_aalen(at_risk, events):
    n, d = np.sum(at_risk, axis=0).astype(float), np.sum(events, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.exp(-np.cumsum(np.where(n > 0, d / n, 0.0)))


q2 = FunctionExercise(
    "the Kaplan-Meier curve from the sites' life tables",
    reference=_summed_km, cases=_q2_cases, rtol=1e-9, atol=1e-12,
    describe=lambda a: (f"{_count(a[0].shape[0], 'site')}, {_count(a[0].shape[1], 'row')}; "
                        f"summed at risk {short(np.sum(a[0], axis=0), 50)}"),
    mistakes=[
        Mistake(_averaged_curves,
                "you averaged the sites' own curves: a site of 40 patients then weighs as "
                "much as one of 400, and a site whose follow-up ended still drags the curve. "
                "Add up the counts over the sites first (axis 0), then take the product"),
        Mistake(lambda n, d: _averaged_curves(n, d, weights=np.asarray(n)[:, 0]),
                "you averaged the sites' curves weighted by their sizes: still not the "
                "pooled curve, because the sites' risk sets shrink at different speeds. Add "
                "up the counts over the sites first, then take the product"),
        Mistake(_product_limit_ignoring_leavers,
                "you divided the events by the patients at the start: censored patients "
                "left the risk set and can no longer have an event we would see. Use each "
                "row's own number at risk: S = product of (1 - d_k / n_k)"),
        Mistake(_nelson_aalen,
                "you computed exp(-cumulative hazard) (the Nelson-Aalen route): close, but "
                "not the Kaplan-Meier product-limit estimate, product of (1 - d_k / n_k)"),
    ],
    hints=[
        "The server first adds up the sites' counts: at risk and events per row (sum over "
        "axis 0). Then S after row k is the product over rows j <= k of (1 - d_j / n_j).",
        "`n = at_risk.sum(axis=0)`, `d = events.sum(axis=0)`, then "
        "`np.cumprod(1 - d / n)`; a row where nobody is at risk (n = 0) changes nothing "
        "(use a factor of 1 there).",
    ],
)


# -- q3: the exact federated Cox step -------------------------------------------------

def _newton(coef, gradients, informations):
    total = np.sum(informations, axis=0)
    return np.asarray(coef, float) + np.linalg.solve(total, np.sum(gradients, axis=0))


def _q3_cases(rng):
    cases = []
    for n_sites, p, singular in ((3, 2, False), (2, 3, False), (5, 4, False), (4, 3, True),
                                 (1, 2, False), (6, 5, False)):
        coef = rng.normal(0, 0.3, p).round(3)
        gradients, informations = [], []
        for s in range(n_sites):
            A = rng.normal(size=(3 * p, p)) * rng.uniform(0.5, 3)
            info = A.T @ A
            if singular and s == 0:  # a feature constant at this site: its row and column vanish
                info[0, :] = info[:, 0] = 0.0
            gradient = rng.normal(0, 2, p)
            if singular and s == 0:
                gradient[0] = 0.0  # ... and so does its score
            informations.append(info)
            gradients.append(gradient)
        cases.append((coef, np.array(gradients), np.array(informations)))
    return cases


def _invertible_each(coef, gradients, informations):
    return all(abs(np.linalg.det(i)) > 1e-9 for i in informations)


def _site_steps(coef, gradients, informations):
    return np.array([np.linalg.solve(i, g) for g, i in zip(gradients, informations)])


q3 = FunctionExercise(
    "the server's Newton step from the sites' gradients and information matrices",
    reference=_newton, cases=_q3_cases, rtol=1e-9, atol=1e-10,
    describe=lambda a: (f"{_count(len(a[1]), 'site')}, {_count(len(a[0]), 'coefficient')}, "
                        f"coef={short(a[0])}"),
    mistakes=[
        Mistake(lambda b, g, i: np.asarray(b) + _site_steps(b, g, i).mean(axis=0),
                "you averaged the sites' own Newton steps: that is what averaging the "
                "hospitals' local fits does, and it is not the pooled fit (a small site's "
                "noisy step weighs as much as a large one's). Add up the gradients and the "
                "information matrices first, then solve once",
                applies=_invertible_each),
        Mistake(lambda b, g, i: np.asarray(b) + _site_steps(b, g, i).sum(axis=0),
                "you added up the sites' own steps (like adding up site-level hazard ratios "
                "on the log scale): add up the gradients and the information matrices, then "
                "solve once", applies=_invertible_each),
        Mistake(lambda b, g, i: np.asarray(b) - np.linalg.solve(np.sum(i, 0), np.sum(g, 0)),
                "your step goes downhill: the information is minus the Hessian, so Newton's "
                "step for a maximum is b + I^-1 g"),
        Mistake(lambda b, g, i: np.asarray(b) + np.sum(g, axis=0),
                "you took a gradient step: Newton's step divides the summed gradient by the "
                "summed information (np.linalg.solve(I, g))"),
        Mistake(lambda b, g, i: np.asarray(b) + np.linalg.solve(i[0], g[0]),
                "you used the first site only: every site's gradient and information enter "
                "the sum", applies=_invertible_each),
    ],
    hints=[
        "The stratified log partial likelihood is a sum over sites, so its gradient and its "
        "information are the sums of the sites' ones (axis 0).",
        "`I = informations.sum(axis=0)`, `g = gradients.sum(axis=0)`, then "
        "`coef + np.linalg.solve(I, g)`.",
    ],
)
