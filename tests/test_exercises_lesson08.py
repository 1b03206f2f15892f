"""Lesson 08's checks: other right answers pass, typical mistakes are named.

The notebook's own solution and the lesson's stub are tested in test_exercises_contract.py;
the answers here are written as a learner would, or built on fedlab's functions, never a
copy of the solution.
"""

import numpy as np
import pytest

from fedlab import aggregate
from fedlab.exercises import CORRECT, INCORRECT
from fedlab.exercises import lesson08 as ex


def _says(question, answer, words):
    result = question.evaluate(answer)
    assert result.outcome == INCORRECT, result
    assert words in result.message, result.message
    return result


# -- q1: a unit error from counts and sums --------------------------------------------------

def unit_sites_by_loop(counts, totals, factor):
    means = [t / c for c, t in zip(counts, totals)]
    median = np.median(means)
    return np.array([m > factor * median or m < median / factor for m in means])


def unit_sites_in_logs(counts, totals, factor):
    means = np.asarray(totals, dtype=float) / np.asarray(counts, dtype=float)
    return np.abs(np.log(means / np.median(means))) > np.log(factor)


@pytest.mark.parametrize("answer", [
    unit_sites_by_loop, unit_sites_in_logs,
    lambda c, t, f: list(unit_sites_by_loop(c, t, f)),
], ids=["loop", "logs", "list"])
def test_q1_accepts_other_right_answers(answer):
    assert ex.q1.evaluate(answer).outcome == CORRECT


def test_q1_names_the_typical_mistakes():
    def ratio_to(centre):
        def flags(counts, totals, factor):
            means = np.asarray(totals, float) / np.asarray(counts, float)
            ratio = means / centre(np.asarray(counts, float), np.asarray(totals, float), means)
            return (ratio > factor) | (ratio < 1 / factor)
        return flags

    def totals_against_their_median(counts, totals, factor):
        totals = np.asarray(totals, float)
        return np.abs(np.log(totals / np.median(totals))) > np.log(factor)

    _says(ex.q1, totals_against_their_median, "you compared the totals")
    _says(ex.q1, ratio_to(lambda c, t, m: m.mean()), "mean of the sites' means")
    _says(ex.q1, ratio_to(lambda c, t, m: t.sum() / c.sum()), "pooled mean")
    _says(ex.q1, lambda c, t, f: np.asarray(t) / np.asarray(c)
          > f * np.median(np.asarray(t) / np.asarray(c)), "only sites far above")


def test_q1_a_count_instead_of_flags_is_a_wrong_shape():
    _says(ex.q1, lambda c, t, f: int(np.sum(unit_sites_by_loop(c, t, f))), "single number")


# -- q2: the coordinate-wise median ---------------------------------------------------------

@pytest.mark.parametrize("answer", [
    lambda u: np.median(u, axis=0),
    lambda u: np.percentile(np.asarray(u, float), 50, axis=0),
    lambda u: np.array([np.median(column) for column in np.asarray(u, float).T]),
], ids=["np.median", "percentile", "per-column"])
def test_q2_accepts_other_right_answers(answer):
    assert ex.q2.evaluate(answer).outcome == CORRECT


def test_q2_names_the_typical_mistakes():
    _says(ex.q2, lambda u: np.mean(u, axis=0), "you took the mean")
    _says(ex.q2, lambda u: np.median(u, axis=1), "wrong axis")
    _says(ex.q2, lambda u: np.median(u), "one median of all the numbers")
    _says(ex.q2, lambda u: np.asarray(u, float)[len(u) // 2], "middle client's update")

    def upper_middle(u):
        u = np.sort(np.asarray(u, float), axis=0)
        return u[len(u) // 2]

    _says(ex.q2, upper_middle, "not the upper one")


# -- q3: the trimmed mean -------------------------------------------------------------------

def trimmed_by_scipy(updates, beta):
    from scipy import stats
    return stats.trim_mean(np.asarray(updates, float), beta, axis=0)


@pytest.mark.parametrize("answer", [
    lambda u, b: aggregate.trimmed_mean(u, trim=b), trimmed_by_scipy,
], ids=["fedlab", "scipy"])
def test_q3_accepts_other_right_answers(answer):
    assert ex.q3.evaluate(answer).outcome == CORRECT


def _trim(cut):
    """A trimmed mean whose number of cut values is ``cut(beta * n)``."""
    def trimmed(updates, beta):
        u = np.sort(np.asarray(updates, float), axis=0)
        k = int(cut(beta * len(u)))
        return u[k:len(u) - k].mean(axis=0)
    return trimmed


def test_q3_names_the_typical_mistakes():
    _says(ex.q3, _trim(np.ceil), "rounded beta * n up")
    _says(ex.q3, _trim(round), "or to the nearest integer")  # named as the same mistake

    def unsorted(updates, beta):
        u = np.asarray(updates, float)
        k = int(beta * len(u))
        return u[k:len(u) - k].mean(axis=0)

    def over_all(updates, beta):
        u = np.sort(np.asarray(updates, float), axis=0)
        k = int(beta * len(u))
        return u[k:len(u) - k].sum(axis=0) / len(u)

    _says(ex.q3, unsorted, "sort each parameter's values first")
    _says(ex.q3, over_all, "divided by all n clients")
    _says(ex.q3, lambda u, b: np.mean(u, axis=0), "nothing was cut")


# -- q4: Krum's scores ----------------------------------------------------------------------

def krum_by_loop(updates, f):
    updates = np.asarray(updates, dtype=float)
    n = len(updates)
    scores = []
    for i in range(n):
        d = sorted(float(np.sum((updates[i] - updates[j]) ** 2)) for j in range(n) if j != i)
        scores.append(sum(d[:n - f - 2]))
    return np.array(scores)


def test_q4_accepts_another_right_answer():
    assert ex.q4.evaluate(krum_by_loop).outcome == CORRECT


def _krum(distance, keep, skip_self=True):
    def scores(updates, f):
        u = np.asarray(updates, float)
        n = len(u)
        d = np.sort([[distance(a - b) for b in u] for a in u], axis=1)
        return (d[:, 1:] if skip_self else d)[:, :keep(n, f)].sum(axis=1)
    return scores


def test_q4_names_the_typical_mistakes():
    squared = lambda v: float(v @ v)  # noqa: E731
    _says(ex.q4, _krum(np.linalg.norm, lambda n, f: n - f - 2), "not squared distances")
    _says(ex.q4, _krum(squared, lambda n, f: n - f - 2, skip_self=False), "its own nearest")
    _says(ex.q4, _krum(squared, lambda n, f: n - f - 1), "kept n - f - 1")
    _says(ex.q4, _krum(squared, lambda n, f: n - 1), "distances to all the others")


def test_an_exception_in_the_learners_code_is_reported():
    result = ex.q2.evaluate(lambda updates: updates.nope)
    assert result.outcome == INCORRECT and "raised AttributeError" in result.message


def test_every_check_has_tiered_hints():
    for question in (ex.q1, ex.q2, ex.q3, ex.q4):
        assert len(question.hints) >= 2
