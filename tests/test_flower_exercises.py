"""Lesson 10 checks: each accepts the solution, calls the stub not attempted, names mistakes."""

import numpy as np
import pytest

from fedlab.exercises import CORRECT, INCORRECT, NOT_ATTEMPTED
from fedlab.exercises import lesson10 as ex

Z = 1.959963984540054


def _interval(ratio, events):
    half = Z / np.sqrt(events)
    return ratio, ratio * np.exp(-half), ratio * np.exp(half)


def stub(*args):
    raise NotImplementedError()


@pytest.mark.parametrize("exercise", [ex.q1, ex.q2, ex.q3], ids=["q1", "q2", "q3"])
def test_the_stub_is_not_attempted(exercise):
    assert exercise.evaluate(stub).outcome == NOT_ATTEMPTED


@pytest.mark.parametrize(("exercise", "solution"), [
    (ex.q1, ex.oe_with_interval), (ex.q2, ex.pooled_oe), (ex.q3, ex.rounds_below_quorum),
    (ex.q2, lambda sites: sum(s["expected"] * (s["observed"] / s["expected"]) for s in sites)
     / sum(s["expected"] for s in sites)),  # the E-weighted mean of ratios is the same
])
def test_the_solution_is_correct(exercise, solution):
    assert exercise.evaluate(solution).outcome == CORRECT


@pytest.mark.parametrize(("exercise", "wrong", "named"), [
    (ex.q1, lambda y, p: _interval(np.sum(p) / np.sum(y), np.sum(y)),
     "your ratio is upside down"),
    (ex.q1, lambda y, p: tuple(ex.oe_with_interval(y, p)[0] * np.array(
        [1, 1 - Z / np.sqrt(np.sum(y)), 1 + Z / np.sqrt(np.sum(y))])),
     "your interval is symmetric"),
    (ex.q2, lambda sites: np.mean([s["observed"] / s["expected"] for s in sites]),
     "you averaged the sites' ratios"),
    (ex.q2, lambda sites: np.average([s["observed"] / s["expected"] for s in sites],
                                     weights=[s["n"] for s in sites]),
     "you weighted the ratios by patients"),
    (ex.q3, lambda rounds, m: [r["round"] for r in rounds if len(r["participants"]) <= m],
     "a round with exactly min_sites"),
    (ex.q3, lambda rounds, m: [r["round"] for r in rounds
                               if len(r["participants"]) + len(r["dropped"]) < m],
     "you counted the sites that dropped out"),
])
def test_typical_mistakes_are_named(exercise, wrong, named):
    result = exercise.evaluate(wrong)
    assert result.outcome == INCORRECT and result.message.startswith(named), result.message
