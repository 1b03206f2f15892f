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


# -- q4: one round of FedAvg for a network, from one start ---------------------------------

def _network_start(net, sites, seed):
    return net.init_params(sites[0][0].shape[1], random_state=seed)


def _network_trained(net, start, X, y, lr, epochs):
    return net.local_train(start, X, y, epochs=epochs, batch_size=None, lr=lr)


def _network_parts(net, sites, seed, lr, epochs):
    """The start, each site's trained network and their weighted mean, as a learner has them."""
    start = _network_start(net, sites, seed)
    trained = [_network_trained(net, start, X, y, lr, epochs) for X, y in sites]
    return start, trained, weighted_mean(trained, weights=[len(y) for _, y in sites])


def test_q4_accepts_fedlab_s_own_run_and_a_hand_written_round():
    def by_clients(net, sites, seed, lr, epochs):
        start = _network_start(net, sites, seed)
        updates = [federated.Client(X, y, model=net).fit(start, epochs=epochs,
                                                          batch_size=None, lr=lr)
                   for X, y in sites]
        sizes = np.array([u.n_samples for u in updates], dtype=float)
        return start + sizes @ np.array([u.vector for u in updates]) / sizes.sum()

    assert ex.q4.evaluate(by_clients).outcome == CORRECT
    assert ex.q4.evaluate(lambda *a: _network_parts(*a)[2]).outcome == CORRECT


def test_q4_names_independent_initializations():
    def fresh_draw_per_site(net, sites, seed, lr, epochs):
        rng = np.random.default_rng(seed)
        new = [_network_trained(net, net.init_params(X.shape[1], random_state=rng), X, y, lr,
                                epochs) for X, y in sites]
        return weighted_mean(new, weights=[len(y) for _, y in sites])

    def seed_per_site(net, sites, seed, lr, epochs):
        new = [_network_trained(net, net.init_params(X.shape[1], random_state=seed + k), X, y,
                                lr, epochs) for k, (X, y) in enumerate(sites)]
        return weighted_mean(new, weights=[len(y) for _, y in sites])

    _says(ex.q4, fresh_draw_per_site, "each site started from its own random network")
    _says(ex.q4, seed_per_site, "independently initialized networks order their hidden units")


def _rebuilt(net, sites, take):
    """A network whose parts (W1, b1, w2, b2) are chosen by ``take(k, averaged, first, start)``."""
    def answer(net_, sites_, seed, lr, epochs):
        start, trained, mean = _network_parts(net_, sites_, seed, lr, epochs)
        d = sites_[0][0].shape[1]
        parts = [np.array(take(k, a, f, s), dtype=float) for k, (a, f, s) in enumerate(zip(
            net_.unpack(mean, d), net_.unpack(trained[0], d), net_.unpack(start, d)))]
        return np.concatenate([parts[0].ravel(), parts[1], parts[2], [float(parts[3])]])
    return answer


@pytest.mark.parametrize("take, words", [
    (lambda k, a, f, s: a if k < 2 else f, "averaged only the hidden layer"),
    (lambda k, a, f, s: a if k >= 2 else f, "averaged only the output layer"),
    (lambda k, a, f, s: a if k in (0, 2) else s, "left the biases b1 and b2 where they started"),
    (lambda k, a, f, s: a if k in (0, 2) else f, "kept the first site's biases"),
])
def test_q4_names_a_partial_average(take, words):
    _says(ex.q4, _rebuilt(None, None, take), words)


def test_q4_names_an_unweighted_average_and_a_returned_change():
    _says(ex.q4, lambda *a: np.mean(_network_parts(*a)[1], axis=0),
          "ignores the sites' sizes")
    _says(ex.q4, lambda *a: _network_parts(*a)[2] - _network_parts(*a)[0],
          "you returned the averaged change")


def test_q4_an_unseeded_start_is_not_correct():
    def unseeded(net, sites, seed, lr, epochs):
        start = net.init_params(sites[0][0].shape[1])  # random_state=None: a new draw each call
        new = [_network_trained(net, start, X, y, lr, epochs) for X, y in sites]
        return weighted_mean(new, weights=[len(y) for _, y in sites])

    assert ex.q4.evaluate(unseeded).outcome == INCORRECT
