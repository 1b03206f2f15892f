"""Lesson 05 checks: other right answers pass, typical mistakes are named.

The notebook's own solution and the lesson's stub are tested in test_exercises_contract.py.
"""

import numpy as np
import pytest

from fedlab import attacks
from fedlab.exercises import CORRECT, INCORRECT
from fedlab.exercises import lesson05 as ex


def _first_failing(params, X, y, random_state, fails=lambda a, g: a >= g, start=1):
    size = start
    while not fails(*attacks.batch_inversion_error(params, X, y, size,
                                                   random_state=random_state)):
        size += 1
    return size


def test_q1_accepts_a_while_loop_and_a_numpy_integer():
    assert ex.q1.evaluate(_first_failing).outcome == CORRECT
    assert ex.q1.evaluate(lambda *a: np.int64(_first_failing(*a))).outcome == CORRECT


@pytest.mark.parametrize(("wrong", "named"), [
    (lambda *a: _first_failing(*a) - 1, "inversion still works at that batch size"),
    (lambda *a: _first_failing(*a, fails=lambda at, g: at >= 1.0),
     "you compared the attack's error with a fixed 1 standard deviation"),
    (lambda *a: _first_failing(*a, fails=lambda at, g: at > 0),
     "you stopped at the first batch size where inversion is not exact"),
])
def test_q1_names_typical_mistakes(wrong, named):
    result = ex.q1.evaluate(wrong)
    assert result.outcome == INCORRECT and result.message.startswith(named), result.message


def _second_failing(*args):
    return _first_failing(*args, start=_first_failing(*args) + 1)


@pytest.mark.parametrize(("wrong", "said"), [
    (_second_failing, "inversion already fails at a smaller batch size"),
    (lambda *a: 1, "at that batch size inversion still works"),
    (lambda *a: 2.5, "a batch size is a whole number"),
    (lambda *a: 10**6, "the data hold only"),
    (lambda *a: [_first_failing(*a)], "return a single number"),
])
def test_q1_says_what_is_wrong_with_other_answers(wrong, said):
    result = ex.q1.evaluate(wrong)
    assert result.outcome == INCORRECT and said in result.message, result.message


def test_q1_message_never_shows_the_smallest_failing_size():
    result = ex.q1.evaluate(_second_failing)
    params, X, y, seed = result.case
    right = _first_failing(params, X, y, seed)
    assert "smaller batch size" in result.message
    assert str(right) not in result.message.split("you returned")[-1].split(":", 1)[1]


def test_q2_accepts_the_package_function_and_the_textbook_formula():
    assert ex.q2.evaluate(attacks.membership_scores).outcome == CORRECT

    def by_probabilities(params, X, y):  # the textbook formula, less stable but right
        p = 1 / (1 + np.exp(-(X @ params[:-1] + params[-1])))
        return y * np.log(p) + (1 - y) * np.log(1 - p)

    assert ex.q2.evaluate(by_probabilities).outcome == CORRECT


@pytest.mark.parametrize(("wrong", "named"), [
    (lambda p, X, y: attacks.per_record_loss(p, X, y), "that is the loss itself"),
    (lambda p, X, y: -attacks.per_record_loss(p, X, y).mean(), "you returned one number"),
    (lambda p, X, y: np.full(len(y), -attacks.per_record_loss(p, X, y).mean()),
     "every record got the same score"),
    (lambda p, X, y: 1 / (1 + np.exp(-(X @ p[:-1] + p[-1]))),
     "you returned the predicted probability"),
])
def test_q2_names_typical_mistakes(wrong, named):
    result = ex.q2.evaluate(wrong)
    assert result.outcome == INCORRECT and result.message.startswith(named), result.message


def test_q3_accepts_the_roc_curve_and_a_counting_loop():
    def by_roc(members, others, fpr):
        labels = np.r_[np.ones(len(members)), np.zeros(len(others))]
        fprs, tprs, _ = attacks.roc_curve(labels, np.r_[members, others])
        return attacks.tpr_at_fpr(fprs, tprs, fpr)

    def by_counting(members, others, fpr):
        best = 0.0
        for threshold in sorted(set(members) | set(others)):
            if np.mean(others >= threshold) <= fpr:
                best = max(best, float(np.mean(members >= threshold)))
        return best

    assert ex.q3.evaluate(by_roc).outcome == CORRECT
    assert ex.q3.evaluate(by_counting).outcome == CORRECT


@pytest.mark.parametrize(("wrong", "named"), [
    (lambda m, n, f: float(np.mean(n >= np.quantile(m, 1 - f))), "members and non-members"),
    (lambda m, n, f: float(np.mean(m > n.max())), "you flagged only members above every"),
    (lambda m, n, f: float(np.mean(m > np.quantile(n, f))), "the threshold is at the `fpr`"),
    (lambda m, n, f: float(np.mean(m >= np.sort(n)[::-1][int(np.floor(f * len(n)))])),
     "you flagged scores equal to the threshold too"),
])
def test_q3_names_typical_mistakes(wrong, named):
    result = ex.q3.evaluate(wrong)
    assert result.outcome == INCORRECT and result.message.startswith(named), result.message


def test_hints_exist():
    for exercise in (ex.q1, ex.q2, ex.q3):
        assert len(exercise.hints) == 3
