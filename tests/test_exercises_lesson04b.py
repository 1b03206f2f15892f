"""Lesson 04b's checks: other right answers pass, typical mistakes are named.

The notebook's own solution and the lesson's stub are tested in test_exercises_contract.py;
right and wrong answers here are built on fedlab's functions (and scikit-learn), written as
a learner might, not copied from the solution notebook.
"""

import numpy as np

from fedlab.exercises import CORRECT, INCORRECT
from fedlab.exercises import lesson04b as ex
from fedlab.federated import FedAdam, Update
from fedlab.models import logistic


def _says(question, answer, words):
    result = question.evaluate(answer)
    assert result.outcome == INCORRECT
    assert result.message.startswith(words), result.message
    return result


# -- q1: the FedAdam server step ------------------------------------------------------------

def test_q1_accepts_the_packages_fedadam():
    def with_fedlab(theta, m, v, delta, t, lr, beta_1, beta_2, tau):
        server = FedAdam(server_lr=lr, beta_1=beta_1, beta_2=beta_2, tau=tau)
        server.start(len(theta), 1)
        server.m, server.v, server.steps = m.copy(), v.copy(), t - 1
        new = server.aggregate_train(t, theta, [Update("mean", delta, 1)], rng=None)
        return new, server.m, server.v
    assert ex.q1.evaluate(with_fedlab).outcome == CORRECT


def _adam(theta, m, v, delta, t, lr, b1, b2, tau, *, correct=True, tau_inside=False):
    m = b1 * m + (1 - b1) * delta
    v = b2 * v + (1 - b2) * delta**2
    m_hat, v_hat = (m / (1 - b1**t), v / (1 - b2**t)) if correct else (m, v)
    root = np.sqrt(v_hat + tau) if tau_inside else np.sqrt(v_hat) + tau
    return theta + lr * m_hat / root, m, v


def test_q1_names_bias_correction_epsilon_placement_and_direction():
    _says(ex.q1, lambda *a: _adam(*a, correct=False), "no bias correction")
    _says(ex.q1, lambda *a: _adam(*a, tau_inside=True), "tau goes outside the square root")

    def descent(theta, m, v, delta, t, lr, b1, b2, tau):
        new, m, v = _adam(theta, m, v, delta, t, lr, b1, b2, tau)
        return 2 * theta - new, m, v
    _says(ex.q1, descent, "the step goes the wrong way")


def test_q1_returning_the_corrected_moments_is_told_by_name():
    def corrected(theta, m, v, delta, t, lr, b1, b2, tau):
        new, m, v = _adam(theta, m, v, delta, t, lr, b1, b2, tau)
        return new, m / (1 - b1**t), v / (1 - b2**t)
    message = ex.q1.evaluate(corrected).message
    assert message.startswith("you returned the bias-corrected m_hat and v_hat"), message


# -- q2: per-site recalibration -------------------------------------------------------------

def _sklearn(logit, y):
    from sklearn.linear_model import LogisticRegression
    fit = LogisticRegression(C=np.inf, tol=1e-12, max_iter=1000).fit(
        np.asarray(logit).reshape(-1, 1), y)
    return float(fit.intercept_[0]), float(fit.coef_[0, 0])


def test_q2_accepts_scikit_learn_and_numpy_numbers():
    assert ex.q2.evaluate(_sklearn).outcome == CORRECT
    assert ex.q2.evaluate(lambda lg, y: tuple(np.float64(v) for v in _sklearn(lg, y))
                          ).outcome == CORRECT


def test_q2_names_swapped_order_intercept_only_and_linear_fit():
    _says(ex.q2, lambda lg, y: _sklearn(lg, y)[::-1],
          "you returned `intercept` and `slope` swapped")
    _says(ex.q2, lambda lg, y: tuple(np.polyfit(lg, y, 1)[::-1]), "a straight line")

    def slope_one(logit, y):  # the intercept by maximum likelihood, the slope left at 1
        from scipy.optimize import minimize_scalar

        def loss(a):
            p = logistic.sigmoid(a + logit)
            return -np.sum(y * np.log(p) + (1 - y) * np.log1p(-p))
        return minimize_scalar(loss, bracket=(-3, 3), tol=1e-12).x, 1.0
    _says(ex.q2, slope_one, "you fitted the intercept only")
