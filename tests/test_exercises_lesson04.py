"""Lesson 04's checks: each accepts the solution, says Not attempted to the stub, names mistakes."""

import numpy as np
import pytest

from fedlab import model
from fedlab.exercises import CORRECT, INCORRECT, NOT_ATTEMPTED
from fedlab.exercises import lesson04 as ex
from fedlab.federated.client import scaffold_control


def stub(*args):
    raise NotImplementedError()


# -- the learners' solutions, written as in the notebook ------------------------------------

def fedprox_gradient(theta, global_params, X, y, mu):
    return model.gradient(theta, X, y) + mu * (theta - global_params)


def scaffold_client(x, c, c_i, X, y, lr, steps):
    local = x.copy()
    for _ in range(steps):
        local -= lr * (model.gradient(local, X, y) - c_i + c)
    return local - x, scaffold_control(c_i, c, local - x, steps, lr)


def fedadam_step(theta, m, v, delta, t, lr, beta_1, beta_2, tau):
    m = beta_1 * m + (1 - beta_1) * delta
    v = beta_2 * v + (1 - beta_2) * delta**2
    step = (m / (1 - beta_1**t)) / (np.sqrt(v / (1 - beta_2**t)) + tau)
    return theta + lr * step, m, v


def recalibration_sklearn(logit, y):
    from sklearn.linear_model import LogisticRegression
    fit = LogisticRegression(C=np.inf, tol=1e-12, max_iter=1000).fit(
        np.asarray(logit).reshape(-1, 1), y)
    return float(fit.intercept_[0]), float(fit.coef_[0, 0])


QUESTIONS = [ex.q1, ex.q2, ex.q3, ex.q4]


@pytest.mark.parametrize("question, answer", [
    (ex.q1, fedprox_gradient), (ex.q2, scaffold_client), (ex.q3, fedadam_step),
    (ex.q4, recalibration_sklearn)], ids=["q1", "q2", "q3", "q4"])
def test_solutions_are_correct(question, answer):
    assert question.evaluate(question.reference).outcome == CORRECT
    result = question.evaluate(answer)
    assert result.outcome == CORRECT, result.message


@pytest.mark.parametrize("question", QUESTIONS, ids=["q1", "q2", "q3", "q4"])
def test_stub_is_not_attempted(question):
    assert question.evaluate(stub).outcome == NOT_ATTEMPTED


def _says(question, answer, words):
    result = question.evaluate(answer)
    assert result.outcome == INCORRECT
    assert words in result.message, result.message
    return result.message


def test_q1_names_the_sign_the_bias_and_the_missing_term():
    _says(ex.q1, lambda t, a, X, y, mu: model.gradient(t, X, y) + mu * (a - t), "wrong sign")

    def no_bias(t, a, X, y, mu):
        pull = mu * (t - a)
        pull[-1] = 0
        return model.gradient(t, X, y) + pull
    _says(ex.q1, no_bias, "intercept")
    _says(ex.q1, lambda t, a, X, y, mu: model.gradient(t, X, y), "proximal term is missing")


def test_q2_names_the_correction_and_the_control_update():
    def wrong_correction(x, c, c_i, X, y, lr, steps):
        local = x.copy()
        for _ in range(steps):
            local -= lr * (model.gradient(local, X, y) + c_i - c)
        return local - x, scaffold_control(c_i, c, local - x, steps, lr)
    _says(ex.q2, wrong_correction, "correction has the wrong sign")

    def wrong_control(x, c, c_i, X, y, lr, steps):
        delta, _ = scaffold_client(x, c, c_i, X, y, lr, steps)
        return delta, c_i - c + delta / (steps * lr)
    _says(ex.q2, wrong_control, "control-variate update has the wrong sign")

    def no_k(x, c, c_i, X, y, lr, steps):
        delta, _ = scaffold_client(x, c, c_i, X, y, lr, steps)
        return delta, c_i - c - delta / lr
    _says(ex.q2, no_k, "K * lr")


def test_q3_names_bias_correction_and_epsilon_placement():
    def no_correction(theta, m, v, delta, t, lr, b1, b2, tau):
        m = b1 * m + (1 - b1) * delta
        v = b2 * v + (1 - b2) * delta**2
        return theta + lr * m / (np.sqrt(v) + tau), m, v
    _says(ex.q3, no_correction, "no bias correction")

    def tau_inside(theta, m, v, delta, t, lr, b1, b2, tau):
        m = b1 * m + (1 - b1) * delta
        v = b2 * v + (1 - b2) * delta**2
        return theta + lr * (m / (1 - b1**t)) / np.sqrt(v / (1 - b2**t) + tau), m, v
    _says(ex.q3, tau_inside, "outside the square root")

    def descent(theta, m, v, delta, t, lr, b1, b2, tau):
        new, m, v = fedadam_step(theta, m, v, delta, t, lr, b1, b2, tau)
        return 2 * theta - new, m, v
    _says(ex.q3, descent, "wrong way")


def test_q4_names_swapped_order_intercept_only_and_linear_fit():
    _says(ex.q4, lambda lg, y: recalibration_sklearn(lg, y)[::-1], "swapped")
    _says(ex.q4, lambda lg, y: tuple(np.polyfit(lg, y, 1)[::-1]), "straight line")


@pytest.mark.parametrize("question", QUESTIONS, ids=["q1", "q2", "q3", "q4"])
def test_messages_never_show_the_expected_value(question):
    def off(*args):
        got = question.reference(*args)
        if isinstance(got, tuple):
            return tuple(np.asarray(g) * 1.37 + 0.11 for g in got)
        return np.asarray(got) * 1.37 + 0.11
    result = question.evaluate(off)
    assert result.outcome == INCORRECT
    assert "expected" not in result.message, result.message
    assert "hint()" in result.message
