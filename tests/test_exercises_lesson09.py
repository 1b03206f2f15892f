"""Lesson 09's checks: other right answers pass, typical mistakes are named.

The notebook's own solution and the lesson's stub are tested in test_exercises_contract.py;
the answers here are written as a learner would.
"""

import numpy as np
import pytest

from fedlab.exercises import CORRECT, INCORRECT, NOT_ATTEMPTED
from fedlab.exercises import lesson09 as ex


def stub(*args):
    raise NotImplementedError()


def _says(question, answer, words):
    result = question.evaluate(answer)
    assert result.outcome == INCORRECT, result
    assert words in result.message, result.message


# -- right answers, written as learners would ----------------------------------------------

def bisect_quantile(count_at_most, n, q, low, high, tol):
    k = np.ceil(q * n)
    while high - low > tol:
        middle = (low + high) / 2
        if count_at_most(middle) >= k:
            high = middle
        else:
            low = middle
    return high


def bisect_by_rank_in_loop(count_at_most, n, q, low, high, tol):
    for _ in range(200):  # enough halvings for any interval here
        if high - low <= tol:
            break
        middle = low + (high - low) / 2
        low, high = (low, middle) if count_at_most(middle) / n >= q - 1e-12 else (middle, high)
    return high


def bisect_returning_the_middle(count_at_most, n, q, low, high, tol):
    while high - low > tol:
        middle = (low + high) / 2
        if count_at_most(middle) / n >= q:
            high = middle
        else:
            low = middle
    return (low + high) / 2


def safe_to_release(cells, min_cell):
    cells = np.asarray(cells)
    return bool(np.all((cells == 0) | (cells >= min_cell)))


def safe_by_loop(cells, min_cell):
    return all(c == 0 or c >= min_cell for c in np.ravel(cells))


def new_centres(old_centres, sums, counts):
    total_sums = np.sum(sums, axis=0)
    total_counts = np.sum(counts, axis=0)
    centres = np.array(old_centres, dtype=float)
    filled = total_counts > 0
    centres[filled] = total_sums[filled] / total_counts[filled, None]
    return centres


def new_centres_by_loop(old_centres, sums, counts):
    centres = []
    for j, old in enumerate(old_centres):
        n = sum(c[j] for c in counts)
        centres.append(sum(s[j] for s in sums) / n if n > 0 else old)
    return np.array(centres)


@pytest.mark.parametrize("question, answers", [
    (ex.q1, [bisect_quantile, bisect_returning_the_middle, bisect_by_rank_in_loop]),
    (ex.q2, [safe_to_release, safe_by_loop]),
    (ex.q3, [new_centres, new_centres_by_loop]),
], ids=["q1", "q2", "q3"])
def test_solutions_are_correct(question, answers):
    for answer in answers:
        result = question.evaluate(answer)
        assert result.outcome == CORRECT, result.message


@pytest.mark.parametrize("question", [ex.q1, ex.q2, ex.q3], ids=["q1", "q2", "q3"])
def test_stub_is_not_attempted_and_none_is_named(question):
    assert question.evaluate(stub).outcome == NOT_ATTEMPTED
    _says(question, lambda *args: None, "returned None")


def _variant(**changes):
    def bisect(count_at_most, n, q, low, high, tol):
        k = changes.get("rank", lambda q, n: np.ceil(q * n))(q, n)
        steps = 0
        while high - low > tol and steps < changes.get("steps", 10**6):
            middle = (low + high) / 2
            count = count_at_most(middle)
            enough = count > k if changes.get("strict") else count >= k
            if enough != changes.get("flipped", False):
                high = middle
            else:
                low = middle
            steps += 1
        return high
    return bisect


def test_q1_names_the_typical_bisection_mistakes():
    _says(ex.q1, _variant(strict=True), "use >=")
    _says(ex.q1, _variant(flipped=True), "wrong way")
    _says(ex.q1, _variant(rank=lambda q, n: np.floor(q * n)), "one too small")
    _says(ex.q1, _variant(steps=10), "not a fixed number of times")
    _says(ex.q1, lambda c, n, q, lo, hi, tol: (lo + hi) / 2, "middle of the first interval")


@pytest.mark.parametrize("question, answer", [
    (ex.q1, _variant(steps=3)), (ex.q1, lambda c, n, q, lo, hi, tol: 42.0),
    (ex.q2, lambda c, m: bool(np.asarray(c)[0] > 10)),
    (ex.q3, lambda o, s, c: np.asarray(o) + 1.0),
], ids=["q1-steps", "q1-constant", "q2", "q3"])
def test_messages_never_print_the_expected_value(question, answer):
    result = question.evaluate(answer)
    assert result.outcome == INCORRECT
    assert "expected" not in result.message, result.message


def test_q2_names_the_typical_rule_mistakes():
    _says(ex.q2, lambda c, m: bool(np.all(np.asarray(c) >= m)), "empty cell")
    _says(ex.q2, lambda c, m: bool(np.all((np.asarray(c) == 0) | (np.asarray(c) > m))),
          "exactly min_cell")
    _says(ex.q2, lambda c, m: bool(np.sum(c) >= m), "checked the total")
    _says(ex.q2, lambda c, m: bool(np.any((np.asarray(c) == 0) | (np.asarray(c) >= m))),
          "np.all, not np.any")
    _says(ex.q2, lambda c, m: not safe_to_release(c, m), "opposite")


def test_q3_names_the_typical_aggregation_mistakes():
    def mean_of_means(old, sums, counts):
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.asarray(sums) / np.asarray(counts)[:, :, None]
        result = np.array(old, dtype=float)
        for j in range(len(old)):
            ok = np.asarray(counts)[:, j] > 0
            if ok.any():
                result[j] = means[ok, j].mean(axis=0)
        return result

    _says(ex.q3, mean_of_means, "averaged the sites' cluster means")
    with np.errstate(invalid="ignore", divide="ignore"):
        _says(ex.q3, lambda o, s, c: np.sum(s, axis=0) / np.sum(c, axis=0)[:, None], "0 / 0")
    _says(ex.q3, lambda o, s, c: np.nan_to_num(
        np.sum(s, axis=0) / np.maximum(np.sum(c, axis=0), 1)[:, None]), "moved a cluster")
    _says(ex.q3, lambda o, s, c: new_centres(o, s[:1], c[:1]), "first site only")
    _says(ex.q3, lambda o, s, c: np.where(np.sum(c, axis=0)[:, None] > 0,
                                          np.sum(s, axis=0) / len(s), o), "number of sites")


def test_learner_exceptions_are_reported_not_raised():
    result = ex.q3.evaluate(lambda o, s, c: s.nope)
    assert result.outcome == INCORRECT and "raised AttributeError" in result.message


def test_every_check_has_tiered_hints():
    for question in (ex.q1, ex.q2, ex.q3):
        assert len(question.hints) >= 2
