"""Lesson 03's checks: other right answers pass, typical mistakes are named.

The notebook's own solution and the lesson's stub are tested in test_exercises_contract.py;
wrong answers here are built on fedlab's functions, not on a copy of the solution.
"""

import numpy as np
import pytest

from fedlab import model
from fedlab.aggregate import weighted_mean
from fedlab.exercises import CORRECT, INCORRECT
from fedlab.exercises import lesson03 as ex
from fedlab.federated.preprocessing import FeatureSums, combine


def _trained(theta, X, y, lr, epochs):
    """fedlab's local training, full batch: the right local update."""
    return model.sgd(theta, X, y, epochs=epochs, batch_size=None, lr=lr)


def _mean_std(counts, sums, sums_sq):
    """fedlab's federated standardization: the right global mean and spread."""
    standardizer = combine(FeatureSums(*site) for site in zip(counts, sums, sums_sq))
    return standardizer.mean, standardizer.scale


def _round(theta, client_data, lr, epochs):
    new = [_trained(theta, X, y, lr, epochs) for X, y in client_data]
    return weighted_mean(new, weights=[len(y) for _, y in client_data])


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
            theta -= lr * model.gradient(theta, X, y)
        return theta

    assert ex.q2.evaluate(_trained).outcome == CORRECT
    assert ex.q2.evaluate(on_a_copy).outcome == CORRECT


def test_q2_moving_the_global_model_in_place_is_incorrect():
    def in_place(theta, X, y, lr, epochs):
        for _ in range(epochs):
            theta -= lr * model.gradient(theta, X, y)  # changes the caller's global model
        return theta

    result = _says(ex.q2, in_place, "changed its input `theta` in place")
    assert "`theta = theta - ...` instead of `theta -= ...`" in result.message


def test_q2_returned_the_gradient():
    _says(ex.q2, lambda t, X, y, lr, e: model.gradient(t, X, y), "returned the gradient")


def test_q2_returned_the_change():
    _says(ex.q2, lambda t, X, y, lr, e: _trained(t, X, y, lr, e) - t, "returned the change")


def test_q2_sign_error():
    def uphill(t, X, y, lr, e):
        for _ in range(e):
            t = t + lr * model.gradient(t, X, y)
        return t

    _says(ex.q2, uphill, "uphill")


def test_q2_one_step_only_and_stale_gradient():
    _says(ex.q2, lambda t, X, y, lr, e: _trained(t, X, y, lr, 1), "single step")
    _says(ex.q2, lambda t, X, y, lr, e: t - e * lr * model.gradient(t, X, y),
          "computed the gradient once")


def test_q2_sum_instead_of_mean_and_frozen_bias():
    _says(ex.q2, lambda t, X, y, lr, e: _trained(t, X, y, lr * len(y), e),
          "sum over the records")

    def frozen_bias(t, X, y, lr, e):
        t = np.array(t, dtype=float)
        for _ in range(e):
            t[:-1] -= lr * model.gradient(t, X, y)[:-1]
        return t

    _says(ex.q2, frozen_bias, "bias")


# -- q3: global mean and standard deviation ------------------------------------------------

def _site_stats(c, s, q):
    mean = s / c
    return mean, np.sqrt(np.maximum(q / c - mean**2, 0))


@pytest.mark.parametrize("answer", [
    _mean_std, lambda c, s, q: np.array(_mean_std(c, s, q)),
    lambda c, s, q: list(_mean_std(c, s, q)),
], ids=["tuple", "two-row-array", "list"])
def test_q3_accepts_a_pair_in_any_form(answer):
    assert ex.q3.evaluate(answer).outcome == CORRECT


def test_q3_averaged_the_site_means_and_stds():
    _says(ex.q3, lambda c, s, q: tuple(a.mean(axis=0) for a in _site_stats(c, s, q)),
          "averaged the hospitals' means and standard deviations")


def test_q3_averaged_the_standard_deviations():
    _says(ex.q3, lambda c, s, q: (_mean_std(c, s, q)[0], _site_stats(c, s, q)[1].mean(axis=0)),
          "averaged the hospitals' standard deviations")
    _says(ex.q3, lambda c, s, q: (_mean_std(c, s, q)[0],
                                  np.average(_site_stats(c, s, q)[1], axis=0, weights=c)),
          "averaged the hospitals' standard deviations")


def test_q3_sample_variance_is_named_precisely():
    def sample(c, s, q):
        mean, std = _mean_std(c, s, q)
        n = np.sum(c, axis=0)
        return mean, std * np.sqrt(n / (n - 1))

    _says(ex.q3, sample, "sample variance (dividing by N - 1)")


def test_q3_variance_missing_mean_square_and_wrong_axis():
    _says(ex.q3, lambda c, s, q: (_mean_std(c, s, q)[0], _mean_std(c, s, q)[1] ** 2),
          "returned the variance")
    _says(ex.q3, lambda c, s, q: (_mean_std(c, s, q)[0],
                                  np.sqrt(np.sum(q, axis=0) / np.sum(c, axis=0))),
          "squared mean")
    _says(ex.q3, lambda c, s, q: (np.sum(s, axis=1) / np.sum(c, axis=1),
                                  np.std(s, axis=1)), "wrong axis")


def test_q3_names_the_returned_item_that_is_wrong_and_the_missing_one():
    result = _says(ex.q3, lambda c, s, q: (_mean_std(c, s, q)[0], _mean_std(c, s, q)[1] + 1),
                   "your `std` is not right (your `mean` is right)")
    assert "value 2" not in result.message
    _says(ex.q3, lambda c, s, q: _mean_std(c, s, q)[1],
          "the answer has 2 (`mean` and `std`): `return mean, std`")


def test_q3_learner_exceptions_are_reported_not_raised():
    _says(ex.q3, lambda c, s, q: c.nope, "raised AttributeError")


# -- q4: one round ------------------------------------------------------------------------------

def test_q4_accepts_fedlabs_round():
    assert ex.q4.evaluate(_round).outcome == CORRECT


def test_q4_plain_mean_sequential_shared_theta_delta_and_fedsgd():
    _says(ex.q4, lambda t, cd, lr, e: np.mean([_trained(t, X, y, lr, e) for X, y in cd],
                                              axis=0),
          "ignores client sizes")

    def sequential(t, cd, lr, e):
        for X, y in cd:
            t = _trained(t, X, y, lr, e)
        return t

    _says(ex.q4, sequential, "same global model")

    def shared(t, cd, lr, e):
        new, sizes = [], []
        for X, y in cd:
            local = t  # not a copy: every client edits the global model itself
            for _ in range(e):
                local -= lr * model.gradient(local, X, y)
            new.append(local.copy())
            sizes.append(len(y))
        return weighted_mean(new, weights=sizes)

    _says(ex.q4, shared, "changed its input `t` in place")
    _says(ex.q4, lambda t, cd, lr, e: _round(t, cd, lr, e) - t, "averaged change")
    _says(ex.q4, lambda t, cd, lr, e: _round(t, cd, lr, 1), "FedSGD")


def test_hints_exist():
    for question in (ex.q1, ex.q2, ex.q3, ex.q4):
        assert len(question.hints) >= 2
