"""Lesson 03a's checks: other right answers pass, typical mistakes are named.

The notebook's own solution and the lesson's stub are tested in test_exercises_contract.py;
wrong answers here are built on fedlab's functions, not on a copy of the solution.
"""

import numpy as np
import pytest

from fedlab.aggregate import weighted_mean
from fedlab.exercises import CORRECT, INCORRECT
from fedlab.exercises import lesson03a as ex
from fedlab.models import logistic


def _trained(theta, X, y, lr, epochs):
    """fedlab's local training, full batch: the right local update."""
    return logistic.sgd(theta, X, y, epochs=epochs, batch_size=None, lr=lr)


def _says(question, answer, words):
    result = question.evaluate(answer)
    assert result.outcome == INCORRECT
    assert words in result.message, result.message
    return result


# -- q1: the weighted average ---------------------------------------------------------------

@pytest.mark.parametrize("answer", [
    lambda u, n: np.average(u, axis=0, weights=n),
    lambda u, n: weighted_mean(u, n),
    lambda u, n: sum(k * np.asarray(x) for k, x in zip(n, u)) / sum(n),
], ids=["np.average", "fedlab", "python-sum"])
def test_q1_accepts_other_right_averages(answer):
    assert ex.q1.evaluate(answer).outcome == CORRECT


def test_q1_plain_mean_ignores_sizes():
    _says(ex.q1, lambda u, n: np.mean(u, axis=0), "ignores client sizes")


def test_q1_weights_not_normalised():
    _says(ex.q1, lambda u, n: np.sum(np.asarray(u) * np.asarray(n)[:, None], axis=0),
          "not normalised")


def test_q1_divided_by_the_number_of_clients():
    _says(ex.q1, lambda u, n: np.mean(np.asarray(u) * np.asarray(n)[:, None], axis=0),
          "divided by the number of clients")


def test_q1_wrong_axis_is_named_whatever_the_numbers():
    def along_parameters(u, n):
        u, n = np.asarray(u, float), np.asarray(n, float)
        return (u * (n / n.sum())[:, None]).sum(axis=1)

    _says(ex.q1, along_parameters, "wrong axis")


def test_q1_a_single_number_is_named():
    _says(ex.q1, lambda u, n: float(np.average(np.mean(u, axis=1), weights=n)),
          "you returned a single number")


def test_q1_forgotten_return():
    _says(ex.q1, lambda u, n: None, "returned None")


# -- q2: the local update ---------------------------------------------------------------------

def test_q2_accepts_fedlabs_training_and_a_copy_updated_in_place():
    def on_a_copy(theta, X, y, lr, epochs):
        theta = theta.copy()
        for _ in range(epochs):
            theta -= lr * logistic.gradient(theta, X, y)
        return theta

    assert ex.q2.evaluate(_trained).outcome == CORRECT
    assert ex.q2.evaluate(on_a_copy).outcome == CORRECT


def test_q2_moving_the_global_model_in_place_is_incorrect():
    def in_place(theta, X, y, lr, epochs):
        for _ in range(epochs):
            theta -= lr * logistic.gradient(theta, X, y)  # changes the caller's global model
        return theta

    result = _says(ex.q2, in_place, "changed its input `theta` in place")
    assert "`theta = theta - ...` instead of `theta -= ...`" in result.message


def test_q2_returned_the_gradient():
    _says(ex.q2, lambda t, X, y, lr, e: logistic.gradient(t, X, y), "returned the gradient")


def test_q2_returned_the_change():
    _says(ex.q2, lambda t, X, y, lr, e: _trained(t, X, y, lr, e) - t, "returned the change")


def test_q2_sign_error():
    def uphill(t, X, y, lr, e):
        for _ in range(e):
            t = t + lr * logistic.gradient(t, X, y)
        return t

    _says(ex.q2, uphill, "uphill")


def test_q2_one_step_only_and_stale_gradient():
    _says(ex.q2, lambda t, X, y, lr, e: _trained(t, X, y, lr, 1), "single step")
    _says(ex.q2, lambda t, X, y, lr, e: t - e * lr * logistic.gradient(t, X, y),
          "computed the gradient once")


def test_q2_sum_instead_of_mean_and_frozen_bias():
    _says(ex.q2, lambda t, X, y, lr, e: _trained(t, X, y, lr * len(y), e),
          "sum over the records")

    def frozen_bias(t, X, y, lr, e):
        t = np.array(t, dtype=float)
        for _ in range(e):
            t[:-1] -= lr * logistic.gradient(t, X, y)[:-1]
        return t

    _says(ex.q2, frozen_bias, "bias")


# -- q3: weights for the protocol's goal ------------------------------------------------------

@pytest.mark.parametrize("alpha", [0.35, 0.4])
def test_q3_accepts_compromises_between_fedavg_and_the_plain_mean(alpha):
    assert ex.q3.evaluate(lambda n: np.asarray(n, dtype=float) ** alpha).outcome == CORRECT


def test_q3_accepts_weights_in_any_scale_and_as_a_list():
    assert ex.q3.evaluate(lambda n: 1e-3 * np.asarray(n, float) ** 0.4).outcome == CORRECT
    assert ex.q3.evaluate(lambda n: [float(k) ** 0.4 for k in n]).outcome == CORRECT


def test_q3_names_fedavg_the_plain_mean_and_inverse_sizes():
    _says(ex.q3, lambda n: np.asarray(n, dtype=float), "FedAvg's weights")
    _says(ex.q3, lambda n: np.ones(len(n)), "this is the plain mean")
    _says(ex.q3, lambda n: 1 / np.asarray(n, dtype=float), "even more than the plain mean")


def test_q3_says_which_goal_is_missed_in_numbers():
    too_little = _says(ex.q3, lambda n: np.asarray(n, dtype=float) ** 0.6,
                       "worst-served hospital's training loss falls by")
    assert "give the small hospitals more say" in too_little.message
    too_costly = _says(ex.q3, lambda n: np.asarray(n, dtype=float) ** 0.2,
                       "the loss over all patients rises by")
    assert "give the large hospitals more say" in too_costly.message


def test_q3_rejects_malformed_weights():
    _says(ex.q3, lambda n: np.array([1.0, -1.0] + [1.0] * (len(n) - 2)), ">= 0")
    _says(ex.q3, lambda n: np.ones(len(n) + 1), "one weight per hospital")


def test_hints_exist():
    for question in (ex.q1, ex.q2, ex.q3):
        assert len(question.hints) >= 2
