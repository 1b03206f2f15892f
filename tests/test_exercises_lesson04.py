"""Lesson 04's checks: other right answers pass, typical mistakes are named.

The notebook's own solution and the lesson's stub are tested in test_exercises_contract.py;
right and wrong answers here are built on fedlab's functions (and scikit-learn), written as
a learner might, not copied from the solution notebook.
"""

import numpy as np
import pytest

from fedlab.exercises import CORRECT, INCORRECT
from fedlab.exercises import lesson04 as ex
from fedlab.federated import FedAdam, Update
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


# -- q3: the FedAdam server step ------------------------------------------------------------

def test_q3_accepts_the_packages_fedadam():
    def with_fedlab(theta, m, v, delta, t, lr, beta_1, beta_2, tau):
        server = FedAdam(server_lr=lr, beta_1=beta_1, beta_2=beta_2, tau=tau)
        server.start(len(theta), 1)
        server.m, server.v, server.steps = m.copy(), v.copy(), t - 1
        new = server.aggregate_train(t, theta, [Update("mean", delta, 1)], rng=None)
        return new, server.m, server.v
    assert ex.q3.evaluate(with_fedlab).outcome == CORRECT


def _adam(theta, m, v, delta, t, lr, b1, b2, tau, *, correct=True, tau_inside=False):
    m = b1 * m + (1 - b1) * delta
    v = b2 * v + (1 - b2) * delta**2
    m_hat, v_hat = (m / (1 - b1**t), v / (1 - b2**t)) if correct else (m, v)
    root = np.sqrt(v_hat + tau) if tau_inside else np.sqrt(v_hat) + tau
    return theta + lr * m_hat / root, m, v


def test_q3_names_bias_correction_epsilon_placement_and_direction():
    _says(ex.q3, lambda *a: _adam(*a, correct=False), "no bias correction")
    _says(ex.q3, lambda *a: _adam(*a, tau_inside=True), "tau goes outside the square root")

    def descent(theta, m, v, delta, t, lr, b1, b2, tau):
        new, m, v = _adam(theta, m, v, delta, t, lr, b1, b2, tau)
        return 2 * theta - new, m, v
    _says(ex.q3, descent, "the step goes the wrong way")


def test_q3_returning_the_corrected_moments_is_told_by_name():
    def corrected(theta, m, v, delta, t, lr, b1, b2, tau):
        new, m, v = _adam(theta, m, v, delta, t, lr, b1, b2, tau)
        return new, m / (1 - b1**t), v / (1 - b2**t)
    message = ex.q3.evaluate(corrected).message
    assert message.startswith("you returned the bias-corrected m_hat and v_hat"), message


# -- q4: per-site recalibration -------------------------------------------------------------

def _sklearn(logit, y):
    from sklearn.linear_model import LogisticRegression
    fit = LogisticRegression(C=np.inf, tol=1e-12, max_iter=1000).fit(
        np.asarray(logit).reshape(-1, 1), y)
    return float(fit.intercept_[0]), float(fit.coef_[0, 0])


def test_q4_accepts_scikit_learn_and_numpy_numbers():
    assert ex.q4.evaluate(_sklearn).outcome == CORRECT
    assert ex.q4.evaluate(lambda lg, y: tuple(np.float64(v) for v in _sklearn(lg, y))
                          ).outcome == CORRECT


def test_q4_names_swapped_order_intercept_only_and_linear_fit():
    _says(ex.q4, lambda lg, y: _sklearn(lg, y)[::-1],
          "you returned `intercept` and `slope` swapped")
    _says(ex.q4, lambda lg, y: tuple(np.polyfit(lg, y, 1)[::-1]), "a straight line")

    def slope_one(logit, y):  # the intercept by maximum likelihood, the slope left at 1
        from scipy.optimize import minimize_scalar

        def loss(a):
            p = logistic.sigmoid(a + logit)
            return -np.sum(y * np.log(p) + (1 - y) * np.log1p(-p))
        return minimize_scalar(loss, bracket=(-3, 3), tol=1e-12).x, 1.0
    _says(ex.q4, slope_one, "you fitted the intercept only")
