"""Checks for lesson 10, the multicentre study: site-side calibration, pooling, the protocol.

``from fedlab.exercises import lesson10 as ex``, then ``ex.q1.check(oe_with_interval)``,
``ex.q2.check(pooled_oe)`` and ``ex.q3.check(rounds_below_quorum)``.
"""

from __future__ import annotations

import numpy as np

from fedlab.evaluation import Z95
from fedlab.exercises._core import FunctionExercise, Mistake

__all__ = ["q1", "q2", "q3"]


# q1: a site's observed/expected ratio with its 95 % interval ------------------------------
def oe_with_interval(y, proba):
    """Reference: ``(O/E, low, high)``, the interval Poisson on the log scale."""
    observed, expected = float(np.sum(y)), float(np.sum(proba))
    oe, half = observed / expected, Z95 / np.sqrt(observed)
    return oe, oe * np.exp(-half), oe * np.exp(half)


def _q1_cases(rng):
    cases = [(np.array([0, 1, 1, 0]), np.array([0.2, 0.6, 0.7, 0.1]))]
    for n in (20, 150, 600):
        proba = 1 / (1 + np.exp(-rng.normal(-1, 1, size=n)))
        y = (rng.random(n) < proba * rng.uniform(0.7, 1.3)).astype(int)
        y[0] = 1  # at least one event
        cases.append((y, proba))
    return cases


q1 = FunctionExercise(
    "a site's observed/expected ratio with a 95 % interval",
    reference=oe_with_interval,
    cases=_q1_cases,
    mistakes=[
        Mistake(lambda y, p: tuple(1 / np.array(oe_with_interval(y, p))[[0, 2, 1]]),
                "your ratio is upside down: observed events (sum of y) divided by expected "
                "events (sum of the predicted risks)"),
        Mistake(lambda y, p: (lambda oe, h: (oe, oe - h, oe + h))(
            np.sum(y) / np.sum(p), Z95 * np.sum(y) / np.sum(p) / np.sqrt(np.sum(y))),
                "your interval is symmetric around O/E: a ratio's interval is built on the "
                "log scale, log(O/E) +- 1.96 / sqrt(O), then exponentiated"),
        Mistake(lambda y, p: (lambda oe, h: (oe, oe * np.exp(-h), oe * np.exp(h)))(
            np.sum(y) / np.sum(p), Z95 / np.sqrt(len(y))),
                "your interval uses the number of patients: the standard error of log(O/E) "
                "is 1 / sqrt(number of events)"),
    ],
    describe=lambda a: f"{len(a[0])} patients with {int(np.sum(a[0]))} events",
    hints=["O is the number of events, E the sum of the predicted risks.",
           "On the log scale the standard error of log(O/E) is 1 / sqrt(O).",
           "half = 1.96 / sqrt(O); return oe, oe * exp(-half), oe * exp(half)"],
    solution=oe_with_interval,
)


# q2: pooling the sites' calibration -------------------------------------------------------
def pooled_oe(sites):
    """Reference: total observed over total expected events."""
    return sum(s["observed"] for s in sites) / sum(s["expected"] for s in sites)


def _q2_cases(rng):
    cases = [([{"n": 100, "observed": 10, "expected": 20.0},
               {"n": 400, "observed": 90, "expected": 60.0}],)]
    for k in (2, 3, 5):
        n = rng.integers(50, 800, size=k)
        expected = n * rng.uniform(0.05, 0.3, size=k)
        observed = rng.poisson(expected * rng.uniform(0.6, 1.5, size=k))
        cases.append(([{"n": int(a), "observed": int(o), "expected": float(e)}
                       for a, o, e in zip(n, observed, expected)],))
    return cases


q2 = FunctionExercise(
    "the study's observed/expected ratio from the sites' reports",
    reference=pooled_oe,
    cases=_q2_cases,
    mistakes=[
        Mistake(lambda sites: np.mean([s["observed"] / s["expected"] for s in sites]),
                "you averaged the sites' ratios: a small site then counts as much as a large "
                "one; add up the events first"),
        Mistake(lambda sites: np.average([s["observed"] / s["expected"] for s in sites],
                                         weights=[s["n"] for s in sites]),
                "you weighted the ratios by patients: the pooled ratio weights each site by "
                "its expected events, which is what summing does"),
    ],
    describe=lambda a: f"{len(a[0])} sites",
    hints=["What would O/E be if all the patients were in one table?",
           "The pooled O is the sum of the sites' O; the pooled E the sum of their E."],
    solution=pooled_oe,
)


# q3: the protocol, checked against the run's own log --------------------------------------
def rounds_below_quorum(rounds, min_sites):
    """Reference: the rounds in which fewer than ``min_sites`` sites contributed."""
    return [r["round"] for r in rounds if len(r["participants"]) < min_sites]


def _q3_cases(rng):
    names = ["a", "b", "c", "d"]
    cases = [([{"round": 1, "participants": ["a", "b"], "dropped": []},
               {"round": 2, "participants": ["a"], "dropped": ["b"]}], 2)]
    for _ in range(4):
        log = []
        for t in range(1, int(rng.integers(3, 8))):
            k = int(rng.integers(1, 5))
            took_part = sorted(rng.choice(names, size=k, replace=False).tolist())
            dropped = [n for n in names if n not in took_part][:int(rng.integers(0, 2))]
            log.append({"round": t, "participants": took_part, "dropped": dropped})
        cases.append((log, int(rng.integers(2, 4))))
    return cases


q3 = FunctionExercise(
    "rounds in which fewer sites than the protocol's minimum contributed",
    reference=rounds_below_quorum,
    cases=_q3_cases,
    mistakes=[
        Mistake(lambda rounds, m: [r["round"] for r in rounds
                                   if len(r["participants"]) + len(r["dropped"]) < m],
                "you counted the sites that dropped out as if they had contributed: only "
                "'participants' sent an update"),
        Mistake(lambda rounds, m: [r["round"] for r in rounds if len(r["participants"]) <= m],
                "a round with exactly min_sites sites meets the rule: use <, not <="),
        Mistake(lambda rounds, m: [r["round"] for r in rounds if r["dropped"]],
                "you listed every round with a drop-out: the rule is about how many sites "
                "remained, not whether one left"),
    ],
    describe=lambda a: f"a log of {len(a[0])} rounds and min_sites={a[1]}",
    hints=["Each round's record lists its 'participants'.",
           "Keep the round numbers r['round'] where len(r['participants']) < min_sites."],
    solution=rounds_below_quorum,
)
