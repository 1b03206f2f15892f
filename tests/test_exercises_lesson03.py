"""Lesson 03's checks: each accepts the solution, says Not attempted to the stub, names mistakes."""

import numpy as np
import pytest

from fedlab import model
from fedlab.aggregate import weighted_mean
from fedlab.exercises import CORRECT, INCORRECT, NOT_ATTEMPTED
from fedlab.exercises import lesson03 as ex


def stub(*args):
    raise NotImplementedError()


def _gd(theta, X, y, lr, epochs):
    theta = np.array(theta, dtype=float)
    for _ in range(epochs):
        theta = theta - lr * model.gradient(theta, X, y)
    return theta


# -- the learners' solutions, written as in the notebook ------------------------------------

def fedavg_aggregate(updates, n_samples):
    updates = np.asarray(updates, dtype=float)
    weights = np.asarray(n_samples, dtype=float)
    return (weights / weights.sum()) @ updates


def local_update_in_place(theta, X, y, lr, epochs):
    for _ in range(epochs):
        theta -= lr * model.gradient(theta, X, y)
    return theta


def global_mean_std(counts, sums, sums_sq):
    n = np.sum(counts, axis=0)
    mean = np.sum(sums, axis=0) / n
    return mean, np.sqrt(np.sum(sums_sq, axis=0) / n - mean**2)


def fedavg_round(theta, client_data, lr, epochs):
    new = [_gd(theta, X, y, lr, epochs) for X, y in client_data]
    return weighted_mean(new, weights=[len(y) for _, y in client_data])


@pytest.mark.parametrize("question, answers", [
    (ex.q1, [fedavg_aggregate, lambda u, n: np.average(u, axis=0, weights=n),
             lambda u, n: weighted_mean(u, n)]),
    (ex.q2, [_gd, local_update_in_place]),
    (ex.q3, [global_mean_std, lambda c, s, q: np.array(global_mean_std(c, s, q)),
             lambda c, s, q: list(global_mean_std(c, s, q))]),
    (ex.q4, [fedavg_round]),
], ids=["q1", "q2", "q3", "q4"])
def test_solutions_are_correct(question, answers):
    assert question.evaluate(question.reference).outcome == CORRECT
    for answer in answers:
        result = question.evaluate(answer)
        assert result.outcome == CORRECT, result.message


@pytest.mark.parametrize("question", [ex.q1, ex.q2, ex.q3, ex.q4], ids=["q1", "q2", "q3", "q4"])
def test_stub_is_not_attempted(question):
    assert question.evaluate(stub).outcome == NOT_ATTEMPTED


def _says(question, answer, words):
    result = question.evaluate(answer)
    assert result.outcome == INCORRECT
    assert words in result.message, result.message


# -- q1: the weighted average ---------------------------------------------------------------

def test_q1_plain_mean_ignores_sizes():
    _says(ex.q1, lambda u, n: np.mean(u, axis=0), "ignores client sizes")


def test_q1_weights_not_normalised():
    _says(ex.q1, lambda u, n: np.sum(np.asarray(u) * np.asarray(n)[:, None], axis=0),
          "not normalised")


def test_q1_divided_by_the_number_of_clients():
    _says(ex.q1, lambda u, n: np.mean(np.asarray(u) * np.asarray(n)[:, None], axis=0),
          "divided by the number of clients")


def test_q1_wrong_axis():
    def along_parameters(u, n):
        u, n = np.asarray(u, float), np.asarray(n, float)
        return (u * (n / n.sum())[:, None]).sum(axis=1)

    _says(ex.q1, along_parameters, "wrong axis")


def test_q1_forgotten_return():
    _says(ex.q1, lambda u, n: None, "returned None")


# -- q2: the local update ---------------------------------------------------------------------

def test_q2_returned_the_gradient():
    _says(ex.q2, lambda t, X, y, lr, e: model.gradient(t, X, y), "returned the gradient")


def test_q2_returned_the_change():
    _says(ex.q2, lambda t, X, y, lr, e: _gd(t, X, y, lr, e) - t, "returned the change")


def test_q2_sign_error():
    _says(ex.q2, lambda t, X, y, lr, e: _gd(t, X, y, -lr, e), "uphill")


def test_q2_one_step_only_and_stale_gradient():
    _says(ex.q2, lambda t, X, y, lr, e: _gd(t, X, y, lr, 1), "single step")
    _says(ex.q2, lambda t, X, y, lr, e: t - e * lr * model.gradient(t, X, y),
          "computed the gradient once")


def test_q2_sum_instead_of_mean_and_frozen_bias():
    _says(ex.q2, lambda t, X, y, lr, e: _gd(t, X, y, lr * len(y), e), "sum over the records")

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


def test_q3_averaged_the_site_means_and_stds():
    _says(ex.q3, lambda c, s, q: tuple(a.mean(axis=0) for a in _site_stats(c, s, q)),
          "averaged the hospitals' means and standard deviations")


def test_q3_averaged_the_standard_deviations():
    _says(ex.q3, lambda c, s, q: (global_mean_std(c, s, q)[0],
                                  _site_stats(c, s, q)[1].mean(axis=0)),
          "averaged the hospitals' standard deviations")
    _says(ex.q3, lambda c, s, q: (global_mean_std(c, s, q)[0],
                                  np.average(_site_stats(c, s, q)[1], axis=0, weights=c)),
          "averaged the hospitals' standard deviations")


def test_q3_sample_variance_is_named_precisely():
    def sample(c, s, q):
        mean, std = global_mean_std(c, s, q)
        n = np.sum(c, axis=0)
        return mean, std * np.sqrt(n / (n - 1))

    _says(ex.q3, sample, "sample variance (dividing by N - 1)")


def test_q3_variance_missing_mean_square_wrong_axis_and_one_output():
    _says(ex.q3, lambda c, s, q: (global_mean_std(c, s, q)[0], global_mean_std(c, s, q)[1] ** 2),
          "returned the variance")
    _says(ex.q3, lambda c, s, q: (global_mean_std(c, s, q)[0],
                                  np.sqrt(np.sum(q, axis=0) / np.sum(c, axis=0))),
          "squared mean")
    _says(ex.q3, lambda c, s, q: global_mean_std(np.transpose(c), np.transpose(s),
                                                 np.transpose(q)), "wrong axis")
    _says(ex.q3, lambda c, s, q: global_mean_std(c, s, q)[1], "return two arrays")


# -- q4: one round ------------------------------------------------------------------------------

def test_q4_plain_mean_sequential_shared_theta_delta_and_fedsgd():
    _says(ex.q4, lambda t, cd, lr, e: np.mean([_gd(t, X, y, lr, e) for X, y in cd], axis=0),
          "ignores client sizes")

    def sequential(t, cd, lr, e):
        for X, y in cd:
            t = _gd(t, X, y, lr, e)
        return t

    _says(ex.q4, sequential, "same global model")

    def shared(t, cd, lr, e):
        new, sizes = [], []
        for X, y in cd:
            local = t  # not a copy: every client edits the same array
            for _ in range(e):
                local -= lr * model.gradient(local, X, y)
            new.append(local.copy())
            sizes.append(len(y))
        return weighted_mean(new, weights=sizes)

    _says(ex.q4, shared, "in place")
    _says(ex.q4, lambda t, cd, lr, e: fedavg_round(t, cd, lr, e) - t, "averaged change")
    _says(ex.q4, lambda t, cd, lr, e: fedavg_round(t, cd, lr, 1), "FedSGD")


def test_learner_exceptions_are_reported_not_raised():
    result = ex.q3.evaluate(lambda c, s, q: c.nope)
    assert result.outcome == INCORRECT and "raised AttributeError" in result.message


def test_hints_and_solutions_exist():
    for question in (ex.q1, ex.q2, ex.q3, ex.q4):
        assert len(question.hints) >= 2
        assert "def " in question._solution
