"""Lesson 00's checks: other right answers pass, typical mistakes are named.

The notebook's own solution and the lesson's stub are tested in test_exercises_contract.py.
"""

import numpy as np
import pytest

from fedlab.exercises import CORRECT, INCORRECT
from fedlab.exercises import lesson00 as ex


def test_q1_accepts_python_sums_for_lists_and_arrays():
    def with_python_only(counts, sums):
        return sum(sums) / sum(counts)

    assert ex.q1.evaluate(with_python_only).outcome == CORRECT


@pytest.mark.parametrize("wrong, says", [
    (lambda c, s: np.mean(np.asarray(s) / np.asarray(c)), "averaged the hospitals' own means"),
    (lambda c, s: np.mean(s), "averaged the hospitals' sums"),
    (lambda c, s: np.sum(s), "total of all the sums"),
    (lambda c, s: np.sum(c) / np.sum(s), "upside down"),
    (lambda c, s: sum(s) // sum(c), "integer division"),
])
def test_q1_names_typical_mistakes(wrong, says):
    result = ex.q1.evaluate(wrong)
    assert result.outcome == INCORRECT
    assert result.message.startswith("you") and says in result.message


def test_q1_unweighted_mean_is_caught_after_the_equal_sizes_case():
    # equal sizes: the unweighted mean of means is right there, so the check must go on
    result = ex.q1.evaluate(lambda c, s: np.mean(np.asarray(s) / np.asarray(c)))
    assert "counts=[300, 3000]" in result.message


def test_q1_an_exception_in_the_learners_code_is_reported():
    result = ex.q1.evaluate(lambda c, s: s / c)  # lists cannot be divided
    assert result.outcome == INCORRECT and "raised TypeError" in result.message


def test_q2_accepts_the_size_numpy_reports():
    assert ex.q2.evaluate(lambda n: np.zeros(n + 1).nbytes).outcome == CORRECT
    assert ex.q2.evaluate(lambda n: 8.0 * (n + 1)).outcome == CORRECT  # a whole float too


@pytest.mark.parametrize("wrong, says", [
    (lambda n: 8 * n, "forgot the bias"),
    (lambda n: 4 * (n + 1), "float32"),
    (lambda n: 4 * n, "two slips"),
    (lambda n: 64 * (n + 1), "in bits"),
    (lambda n: n + 1, "counted the parameters"),
])
def test_q2_names_typical_mistakes(wrong, says):
    result = ex.q2.evaluate(wrong)
    assert result.outcome == INCORRECT and says in result.message
    assert "n_features=11" in result.message


def test_q2_an_unknown_mistake_is_told_without_the_answer():
    result = ex.q2.evaluate(lambda n: 8 * (n + 2))
    assert result.outcome == INCORRECT
    assert result.message == "with n_features=11 you returned 104: that is not right"


def test_q2_a_fraction_of_a_byte_is_not_a_whole_number():
    result = ex.q2.evaluate(lambda n: (n + 1) * 64 / 7)
    assert "not a whole number" in result.message


@pytest.mark.parametrize("exercise", [ex.q1, ex.q2])
def test_each_exercise_has_tiered_hints(exercise, capsys):
    assert 1 <= len(exercise.hints) <= 3
    exercise.hint(1)
    assert "Hint 1/" in capsys.readouterr().out


def test_messages_show_plain_numbers_not_numpy_reprs():
    result = ex.q1.evaluate(lambda c, s: np.sum(s))
    assert "np.float64" not in result.message and "np.int64" not in result.message
