"""Lesson 03b's checks: other right answers pass, typical mistakes are named.

The notebook's own solution and the lesson's stub are tested in test_exercises_contract.py;
wrong answers here are built on fedlab's functions, not on a copy of the solution.
"""

import numpy as np
import pytest

from fedlab import federated
from fedlab.aggregate import weighted_mean
from fedlab.exercises import CORRECT, INCORRECT
from fedlab.exercises import lesson03b as ex
from fedlab.federated.preprocessing import FeatureSums, combine
from fedlab.models import logistic


def _trained(theta, X, y, lr, epochs):
    """fedlab's local training, full batch: the right local update."""
    return logistic.sgd(theta, X, y, epochs=epochs, batch_size=None, lr=lr)


def _mean_std(counts, means, m2):
    """fedlab's federated standardization: the right global mean and spread."""
    standardizer = combine(FeatureSums(*site) for site in zip(counts, means, m2))
    return standardizer.mean, standardizer.scale


def _round(theta, client_data, lr, epochs):
    new = [_trained(theta, X, y, lr, epochs) for X, y in client_data]
    return weighted_mean(new, weights=[len(y) for _, y in client_data])


def _says(question, answer, words):
    result = question.evaluate(answer)
    assert result.outcome == INCORRECT
    assert words in result.message, result.message
    return result


# -- q1: one round ------------------------------------------------------------------------------

def test_q1_accepts_fedlabs_round():
    assert ex.q1.evaluate(_round).outcome == CORRECT


def test_q1_plain_mean_sequential_shared_theta_delta_and_fedsgd():
    _says(ex.q1, lambda t, cd, lr, e: np.mean([_trained(t, X, y, lr, e) for X, y in cd],
                                              axis=0),
          "ignores client sizes")

    def sequential(t, cd, lr, e):
        for X, y in cd:
            t = _trained(t, X, y, lr, e)
        return t

    _says(ex.q1, sequential, "same global model")

    def shared(t, cd, lr, e):
        new, sizes = [], []
        for X, y in cd:
            local = t  # not a copy: every client edits the global model itself
            for _ in range(e):
                local -= lr * logistic.gradient(local, X, y)
            new.append(local.copy())
            sizes.append(len(y))
        return weighted_mean(new, weights=sizes)

    _says(ex.q1, shared, "changed its input `t` in place")
    _says(ex.q1, lambda t, cd, lr, e: _round(t, cd, lr, e) - t, "averaged change")
    _says(ex.q1, lambda t, cd, lr, e: _round(t, cd, lr, 1), "FedSGD")


# -- q2: global mean and standard deviation from count, mean and M2 --------------------------

def _pooled_by_hand(c, mu, q):
    """The pooled statistics from sums, as a learner who converts back might do it."""
    n = c.sum(axis=0)
    total, total_sq = (c * mu).sum(axis=0), (q + c * mu**2).sum(axis=0)
    mean = total / n
    return mean, np.sqrt(total_sq / n - mean**2)


@pytest.mark.parametrize("answer", [
    _mean_std, lambda c, mu, q: np.array(_mean_std(c, mu, q)),
    lambda c, mu, q: list(_mean_std(c, mu, q)), _pooled_by_hand,
], ids=["tuple", "two-row-array", "list", "via-sums"])
def test_q2_accepts_a_pair_in_any_form(answer):
    assert ex.q2.evaluate(answer).outcome == CORRECT


def test_q2_plain_average_of_means():
    _says(ex.q2, lambda c, mu, q: (mu.mean(axis=0), _mean_std(c, mu, q)[1]),
          "without their counts")


def test_q2_between_hospital_term_missing_or_unweighted():
    _says(ex.q2, lambda c, mu, q: (_mean_std(c, mu, q)[0], np.sqrt(q.sum(0) / c.sum(0))),
          "how far the hospitals' means lie")

    def unweighted(c, mu, q):
        mean = _mean_std(c, mu, q)[0]
        return mean, np.sqrt((q.sum(0) + ((mu - mean) ** 2).sum(0)) / c.sum(0))

    _says(ex.q2, unweighted, "by its count")


def test_q2_averaged_standard_deviations():
    _says(ex.q2, lambda c, mu, q: (_mean_std(c, mu, q)[0],
                                   np.average(np.sqrt(q / c), axis=0, weights=c)),
          "averaged the hospitals' standard deviations")


def test_q2_sample_variance_variance_and_wrong_axis():
    def sample(c, mu, q):
        mean, std = _mean_std(c, mu, q)
        n = np.sum(c, axis=0)
        return mean, std * np.sqrt(n / (n - 1))

    _says(ex.q2, sample, "sample variance (dividing by N - 1)")
    _says(ex.q2, lambda c, mu, q: (_mean_std(c, mu, q)[0], _mean_std(c, mu, q)[1] ** 2),
          "returned the variance")
    _says(ex.q2, lambda c, mu, q: (np.average(mu, axis=1, weights=c),
                                   np.sqrt(q.sum(1) / c.sum(1))), "wrong axis")


def test_q2_names_the_returned_item_that_is_wrong():
    result = _says(ex.q2, lambda c, mu, q: (_mean_std(c, mu, q)[0], _mean_std(c, mu, q)[1] + 1),
                   "your `std` is not right (your `mean` is right)")
    assert "value 2" not in result.message


# -- q3: the bytes on the wire ---------------------------------------------------------------

def _bytes_of_a_run(n_clients, n_features, rounds):
    rng = np.random.default_rng(1)
    clients = [federated.Client(rng.normal(size=(6, n_features)), np.array([0, 1] * 3))
               for _ in range(n_clients)]
    return int(federated.run(clients, rounds=rounds, random_state=1).bytes()[-1])


def test_q3_accepts_fedlabs_own_count_and_a_formula_in_numbers():
    assert ex.q3.evaluate(_bytes_of_a_run).outcome == CORRECT

    def by_numbers(k, d, r):
        numbers = k * 5 * d + r * k * (2 * (d + 1) + 1)
        return 8 * numbers

    assert ex.q3.evaluate(by_numbers).outcome == CORRECT


@pytest.mark.parametrize("wrong, words", [
    (lambda k, d, r: r * k * 8 * (2 * (d + 1) + 1), "left out the standardization"),
    (lambda k, d, r: k * 40 * d + r * k * 8 * 2 * (d + 1), "number of records"),
    (lambda k, d, r: k * 40 * d + r * k * 8 * (2 * d + 1), "the bias"),
    (lambda k, d, r: k * 24 * d + r * k * 8 * (d + 2), "only what the clients send up"),
    (lambda k, d, r: k * 5 * d + r * k * (2 * d + 3), "numbers, not bytes"),
    (lambda k, d, r: 40 * d + r * 8 * (2 * d + 3), "you counted one client"),
])
def test_q3_typical_slips_are_named(wrong, words):
    _says(ex.q3, wrong, words)


def test_hints_exist():
    for question in (ex.q1, ex.q2, ex.q3):
        assert len(question.hints) >= 2
