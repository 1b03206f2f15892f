"""Lesson 05 checks: other right answers pass, typical mistakes are named.

The notebook's own solution and the lesson's stub are tested in test_exercises_contract.py.
"""

import numpy as np
import pytest

from fedlab import attacks
from fedlab.exercises import CORRECT, INCORRECT
from fedlab.exercises import lesson05 as ex


def test_q1_accepts_the_package_function_and_another_form():
    assert ex.q1.evaluate(attacks.reconstruct_record).outcome == CORRECT
    assert ex.q1.evaluate(lambda g: np.array(g[:-1]) * (1 / g[-1])).outcome == CORRECT


@pytest.mark.parametrize(("wrong", "named"), [
    (lambda g: g[:-1], "you returned the weights part as it is"),
    (lambda g: g / g[-1], "your answer still has the bias entry"),
    (lambda g: g[:-1] * g[-1], "you multiplied by the bias part"),
    (lambda g: g[1:] / g[0], "you divided by the first entry"),
    (lambda g: -g[:-1] / g[-1], "the sign is flipped"),
])
def test_q1_names_typical_mistakes(wrong, named):
    result = ex.q1.evaluate(wrong)
    assert result.outcome == INCORRECT and result.message.startswith(named), result.message


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


def test_hints_exist():
    for exercise in (ex.q1, ex.q2):
        assert len(exercise.hints) == 3
