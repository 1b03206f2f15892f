"""Lesson 08's checks: each accepts the solution, says Not attempted to the stub, names mistakes."""

import numpy as np
import pytest

from fedlab import aggregate
from fedlab.exercises import CORRECT, INCORRECT, NOT_ATTEMPTED
from fedlab.exercises import lesson08 as ex


def stub(*args):
    raise NotImplementedError()


def krum_loop(updates, f):
    updates = np.asarray(updates, dtype=float)
    n = len(updates)
    scores = []
    for i in range(n):
        d = sorted(float(np.sum((updates[i] - updates[j]) ** 2)) for j in range(n) if j != i)
        scores.append(sum(d[:n - f - 2]))
    return np.array(scores)


def unit_sites(counts, totals, factor):
    means = [t / c for c, t in zip(counts, totals)]
    median = np.median(means)
    return np.array([m > factor * median or m < median / factor for m in means])


@pytest.mark.parametrize("question, answers", [
    (ex.q1, [unit_sites, lambda c, t, f: list(unit_sites(c, t, f))]),
    (ex.q2, [lambda u: aggregate.coordinate_median(u), lambda u: np.median(u, axis=0)]),
    (ex.q3, [lambda u, b: aggregate.trimmed_mean(u, trim=b)]),
    (ex.q4, [krum_loop]),
], ids=["q1", "q2", "q3", "q4"])
def test_solutions_are_correct(question, answers):
    assert question.evaluate(question.reference).outcome == CORRECT
    for answer in answers:
        result = question.evaluate(answer)
        assert result.outcome == CORRECT, result.message


@pytest.mark.parametrize("question", [ex.q1, ex.q2, ex.q3, ex.q4], ids=["q1", "q2", "q3", "q4"])
def test_stub_is_not_attempted(question):
    assert question.evaluate(stub).outcome == NOT_ATTEMPTED


@pytest.mark.parametrize("question", [ex.q1, ex.q2, ex.q3, ex.q4], ids=["q1", "q2", "q3", "q4"])
def test_every_named_mistake_is_recognised(question):
    """Each typical mistake is Incorrect with a named mistake's message; most with their own."""
    messages = [m.message for m in question.mistakes]
    own = 0
    for mistake in question.mistakes:
        result = question.evaluate(mistake.wrong)
        assert result.outcome == INCORRECT
        assert any(result.message.startswith(m) for m in messages), result.message
        own += result.message.startswith(mistake.message)
    assert own >= max(3, len(messages) - 1)


@pytest.mark.parametrize("question", [ex.q1, ex.q2, ex.q3, ex.q4], ids=["q1", "q2", "q3", "q4"])
def test_messages_never_print_the_expected_value(question):
    args = question.cases(np.random.default_rng(question.seed))[0]
    expected = np.atleast_1d(np.asarray(question.reference(*args), dtype=float))
    for mistake in question.mistakes:
        message = question.evaluate(mistake.wrong).message
        shown = np.array2string(expected, precision=4, threshold=6)
        assert shown not in message


def test_an_exception_in_the_learners_code_is_reported():
    def broken(updates):
        return updates.nope
    result = ex.q2.evaluate(broken)
    assert result.outcome == INCORRECT and "raised AttributeError" in result.message


def test_solutions_are_shown_from_the_reference_functions(capsys):
    ex.q4.solution()
    assert "def krum_scores" in capsys.readouterr().out
