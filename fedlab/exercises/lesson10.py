"""Checks for lesson 10, the multicentre study: site-side calibration, pooling, the protocol.

``from fedlab.exercises import lesson10 as ex``, then ``ex.q1.check(oe_with_interval)``,
``ex.q2.check(pooled_oe)`` and ``ex.q3.check(rounds_below_quorum)``.
"""

from __future__ import annotations

import numpy as np

from fedlab.exercises import FunctionExercise, Mistake
from fedlab.exercises._compare import counted
from fedlab.flower.study import rounds_below_quorum
from fedlab.metrics import observed_expected

__all__ = ["q1", "q2", "q3"]

_Z = 1.959963984540054  # the normal quantile of a two-sided 95 % interval


# q1: a site's observed/expected ratio with its 95 % interval ------------------------------
def _oe_with_interval(y, proba):
    """fedlab's O/E and its Poisson interval, as the exercise's three numbers."""
    oe, (low, high) = observed_expected(y, proba)
    return oe, low, high


def _oe(y, p):
    return np.sum(y) / np.sum(p)


def _q1_cases(rng):
    # 2 events among 6 patients: 1 / O, 1 / sqrt(O) and 1 / sqrt(n) all differ
    cases = [(np.array([0, 1, 1, 0, 0, 0]), np.array([0.2, 0.6, 0.7, 0.1, 0.3, 0.2]))]
    for n in (20, 150, 600, 45):
        proba = 1 / (1 + np.exp(-rng.normal(-1, 1, size=n)))
        y = (rng.random(n) < proba * rng.uniform(0.7, 1.3)).astype(int)
        y[0] = 1  # at least one event: without one the interval is not log-normal
        cases.append((y, proba))
    return cases


q1 = FunctionExercise(
    "a site's observed/expected ratio with a 95 % interval",
    reference=_oe_with_interval,
    cases=_q1_cases,
    returns=("oe", "low", "high"),
    rtol=1e-4,  # 1.96 for the normal quantile is right too (it is 1.95996...)
    mistakes=[
        Mistake(lambda y, p: (lambda r, h: (r, r * np.exp(-h), r * np.exp(h)))(
            np.sum(p) / np.sum(y), _Z / np.sqrt(np.sum(y))),
                "your ratio is upside down: observed events (the sum of `y`) divided by "
                "expected events (the sum of the predicted risks)"),
        Mistake(lambda y, p: (lambda r, h: (r, r - h, r + h))(
            _oe(y, p), _Z * _oe(y, p) / np.sqrt(np.sum(y))),
                "your interval is symmetric around O/E: a ratio's interval is built on the "
                "log scale, log(O/E) +- 1.96 / sqrt(O), then exponentiated"),
        Mistake(lambda y, p: (lambda r, h: (r, r * np.exp(-h), r * np.exp(h)))(
            _oe(y, p), _Z / np.sqrt(len(y))),
                "your interval uses the number of patients: the standard error of log(O/E) "
                "is 1 / sqrt(number of events)"),
        Mistake(lambda y, p: (lambda r, h: (r, r * np.exp(-h), r * np.exp(h)))(
            _oe(y, p), _Z / np.sum(y)),
                "your standard error has no square root: the standard error of log(O/E) is "
                "1 / sqrt(O), the square root of its variance 1 / O"),
        Mistake(lambda y, p: (lambda r, h: (r, r * np.exp(-h), r * np.exp(h)))(
            _oe(y, p), _Z / np.sqrt(np.sum(p))),
                "your interval uses the expected events: the standard error of log(O/E) is "
                "1 / sqrt(O), with O the observed events (the sum of `y`)"),
        Mistake(lambda y, p: (lambda r, h: (r, np.log(r) - h, np.log(r) + h))(
            _oe(y, p), _Z / np.sqrt(np.sum(y))),
                "your interval is still on the log scale: exponentiate its ends, "
                "exp(log(O/E) - h) = O/E * exp(-h)"),
        Mistake(lambda y, p: (lambda r, h: (r, r * np.exp(-h), r * np.exp(h)))(
            _oe(y, p), 1 / np.sqrt(np.sum(y))),
                "your interval is a 68 % one: multiply the standard error 1 / sqrt(O) by "
                "1.96 for 95 %"),
    ],
    describe=lambda a: (f"{counted(len(a[0]), 'patient')} with "
                        f"{counted(int(np.sum(a[0])), 'event')}"),
    hints=["O is the number of events (the sum of `y`), E the sum of the predicted risks.",
           "On the log scale the standard error of log(O/E) is 1 / sqrt(O).",
           "In code:\n"
           "    oe, half = np.sum(y) / np.sum(proba), 1.96 / np.sqrt(np.sum(y))\n"
           "    return oe, oe * np.exp(-half), oe * np.exp(half)"],
)


# q2: pooling the sites' calibration -------------------------------------------------------
def _pooled_oe(sites):
    """The sites' O/E ratios averaged with their expected events as weights.

    Another way to the total observed over the total expected events: sum(E_k * O_k/E_k)
    / sum(E_k) = sum(O_k) / sum(E_k).
    """
    ratios = [s["events"] / s["expected"] for s in sites]
    return float(np.average(ratios, weights=[s["expected"] for s in sites]))


def _q2_cases(rng):
    cases = [([{"n": 100, "events": 10, "expected": 20.0},
               {"n": 400, "events": 90, "expected": 60.0}],)]
    for k in (2, 3, 5, 4):
        n = rng.integers(50, 800, size=k)
        expected = n * rng.uniform(0.05, 0.3, size=k)
        events = rng.poisson(expected * rng.uniform(0.6, 1.5, size=k))
        cases.append(([{"n": int(a), "events": int(o), "expected": float(e)}
                       for a, o, e in zip(n, events, expected)],))
    return cases


q2 = FunctionExercise(
    "the study's observed/expected ratio from the sites' reports",
    reference=_pooled_oe,
    cases=_q2_cases,
    mistakes=[
        Mistake(lambda sites: np.mean([s["events"] / s["expected"] for s in sites]),
                "you averaged the sites' ratios: a small site then counts as much as a large "
                "one; add up the events and the expected events first"),
        Mistake(lambda sites: np.average([s["events"] / s["expected"] for s in sites],
                                         weights=[s["n"] for s in sites]),
                "you weighted the ratios by patients: the pooled ratio weights each site by "
                "its expected events, which is what summing does"),
        Mistake(lambda sites: sum(s["expected"] for s in sites) / sum(s["events"]
                                                                      for s in sites),
                "your ratio is upside down: the total observed events over the total "
                "expected events"),
        Mistake(lambda sites: float(np.average([s["events"] / s["expected"] for s in sites],
                                               weights=[s["events"] for s in sites])),
                "you weighted the ratios by the observed events: the pooled ratio weights "
                "each site by its expected events, which is what summing does"),
        Mistake(lambda sites: float(np.sum([s["events"] / s["expected"] for s in sites])),
                "you added up the sites' ratios: add up the events and the expected events, "
                "then divide"),
    ],
    describe=lambda a: f"{counted(len(a[0]), 'site')}' reports" if len(a[0]) != 1
    else "1 site's report",
    hints=["What would O/E be if all the patients were in one table?",
           "The pooled O is the sum of the sites' `events`; the pooled E the sum of their "
           "`expected`:\n"
           "    return sum(s['events'] for s in sites) / sum(s['expected'] for s in sites)"],
)


# q3: the protocol, checked against the run's own log --------------------------------------
def _q3_cases(rng):
    names = ["a", "b", "c", "d"]
    cases = [([{"round": 1, "participants": ["a", "b"], "dropped": []},
               {"round": 2, "participants": ["a"], "dropped": ["b"]}], 2),
             ([{"round": 1, "participants": ["a", "b", "c"], "dropped": []},
               {"round": 2, "participants": ["a", "b", "c"], "dropped": ["d"]},
               {"round": 3, "participants": ["b"], "dropped": []}], 2)]
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
        Mistake(lambda rounds, m: [k for k, r in enumerate(rounds)
                                   if len(r["participants"]) < m],
                "you returned positions in the list: return each round's own number, "
                "r['round']"),
        Mistake(lambda rounds, m: [r["round"] for r in rounds if r["dropped"]],
                "you listed every round with a drop-out: the rule is about how many sites "
                "contributed, not whether one left"),
    ],
    describe=lambda a: f"a log of {counted(len(a[0]), 'round')} and min_sites={a[1]}",
    hints=["Each round's record lists its 'participants'.",
           "Keep the round numbers r['round'] where len(r['participants']) < min_sites:\n"
           "    return [r['round'] for r in rounds if len(r['participants']) < min_sites]"],
)
