"""Lesson 04a's checks: other right answers pass, typical mistakes are named.

The notebook's own solution and the lesson's stub are tested in test_exercises_contract.py;
right and wrong answers here are built on fedlab's functions (and scikit-learn), written as
a learner might, not copied from the solution notebook.
"""

import numpy as np
import pytest

from fedlab.exercises import CORRECT, INCORRECT
from fedlab.exercises import lesson04a as ex
from fedlab.federated.client import scaffold_control
from fedlab.models import logistic


def _says(question, answer, words):
    result = question.evaluate(answer)
    assert result.outcome == INCORRECT
    assert result.message.startswith(words), result.message
    return result


# -- q1: FedProx's gradient -----------------------------------------------------------------

def _prox(t, a):
    return np.asarray(t, float) - np.asarray(a, float)


@pytest.mark.parametrize("answer", [
    lambda t, a, X, y, mu: logistic.gradient(t, X, y) + mu * _prox(t, a),
    lambda t, a, X, y, mu: (np.hstack([X, np.ones((len(y), 1))]).T
                            @ (logistic.predict_proba(t, X) - y) / len(y) + mu * _prox(t, a)),
    lambda t, a, X, y, mu: logistic.gradient(t, X, y) - mu * (np.asarray(a) - t),
], ids=["fedlab-gradient", "by-hand", "rearranged"])
def test_q1_accepts_other_right_gradients(answer):
    assert ex.q1.evaluate(answer).outcome == CORRECT, ex.q1.evaluate(answer).message


def test_q1_names_the_sign_the_bias_the_half_and_the_missing_term():
    _says(ex.q1, lambda t, a, X, y, mu: logistic.gradient(t, X, y) + mu * _prox(a, t),
          "the proximal term has the wrong sign")

    def no_bias(t, a, X, y, mu):
        pull = mu * _prox(t, a)
        pull[-1] = 0
        return logistic.gradient(t, X, y) + pull
    _says(ex.q1, no_bias, "you left the intercept out")
    _says(ex.q1, lambda t, a, X, y, mu: logistic.gradient(t, X, y) + mu / 2 * _prox(t, a),
          "the derivative of mu/2")
    _says(ex.q1, lambda t, a, X, y, mu: logistic.gradient(t, X, y), "this is FedAvg's gradient")


def test_q1_an_unknown_mistake_is_told_without_the_answer():
    result = ex.q1.evaluate(
        lambda t, a, X, y, mu: 2 * logistic.gradient(t, X, y) + mu * _prox(t, a))
    assert result.outcome == INCORRECT
    assert "you returned" in result.message and "is not right" in result.message


# -- q2: a SCAFFOLD client's round ----------------------------------------------------------

def _corrected_steps(x, c, c_i, X, y, lr, steps, sign=1.0):
    local = np.array(x, dtype=float)
    for _ in range(steps):
        local -= lr * (logistic.gradient(local, X, y) + sign * (c - c_i))  # on its own copy
    return local


def test_q2_accepts_an_in_place_loop_on_a_copy_and_the_package_control():
    def scaffold_client(x, c, c_i, X, y, lr, steps):
        local = _corrected_steps(x, c, c_i, X, y, lr, steps)
        return local - x, scaffold_control(c_i, c, local - x, steps, lr)
    assert ex.q2.evaluate(scaffold_client).outcome == CORRECT

    def as_a_list(x, c, c_i, X, y, lr, steps):
        return list(scaffold_client(x, c, c_i, X, y, lr, steps))
    assert ex.q2.evaluate(as_a_list).outcome == CORRECT


def test_q2_names_the_correction_and_the_control_update():
    def wrong_correction(x, c, c_i, X, y, lr, steps):
        local = _corrected_steps(x, c, c_i, X, y, lr, steps, sign=-1.0)
        return local - x, scaffold_control(c_i, c, local - x, steps, lr)
    _says(ex.q2, wrong_correction, "the correction has the wrong sign")

    def wrong_control(x, c, c_i, X, y, lr, steps):
        local = _corrected_steps(x, c, c_i, X, y, lr, steps)
        return local - x, c_i - c + (local - x) / (steps * lr)
    _says(ex.q2, wrong_control, "the control-variate update has the wrong sign")

    def no_k(x, c, c_i, X, y, lr, steps):
        local = _corrected_steps(x, c, c_i, X, y, lr, steps)
        return local - x, c_i - c + (x - local) / lr
    _says(ex.q2, no_k, "the new control variate must divide")


def test_q2_a_wrong_control_variate_alone_is_named_as_such():
    def half_control(x, c, c_i, X, y, lr, steps):
        local = _corrected_steps(x, c, c_i, X, y, lr, steps)
        return local - x, 0.5 * scaffold_control(c_i, c, local - x, steps, lr)
    message = ex.q2.evaluate(half_control).message
    assert "your `new_c_i` is not right (your `update` is right)" in message
