"""Exercises of lesson 03b, FedAvg in practice (McMahan et al. 2017).

q1 one full round of FedAvg, q2 federated standardization from each hospital's count,
mean and M2 (Chan et al. 1979), q3 the bytes a federated run puts on the wire, q4 (the
optional section) one round of FedAvg for a neural network, from one shared
initialization (McMahan et al. 2017, Fig. 1).
"""

from __future__ import annotations

import numpy as np

from fedlab import federated
from fedlab.aggregate import weighted_mean
from fedlab.exercises import FunctionExercise, Mistake
from fedlab.exercises._compare import counted, short
from fedlab.exercises.lesson03a import _client_data, _local_training
from fedlab.federated.preprocessing import FeatureSums, combine, feature_sums
from fedlab.models import MLP, logistic

__all__ = ["q1", "q2", "q3", "q4"]


# -- q1: one full round of FedAvg -----------------------------------------------------------

def _fedavg_round(theta, client_data, lr, epochs):
    """fedlab's local training at every client, then the weighted mean at the server."""
    new = [_local_training(theta, X, y, lr, epochs) for X, y in client_data]
    return weighted_mean(new, weights=[len(y) for _, y in client_data])


def _q1_cases(rng):
    cases = []
    for sizes, d, lr, epochs in (((60, 10, 25), 3, 0.5, 3), ((40, 40), 2, 0.3, 4),
                                 ((80, 15, 30, 20), 4, 0.2, 2), ((30,), 3, 0.5, 2),
                                 ((50, 12), 3, 1.0, 1)):
        client_data = []
        for k, n in enumerate(sizes):
            X, y = _client_data(rng, n, d, prevalence=0.15 + 0.2 * k)
            client_data.append((X + 0.5 * k, y))  # the clients' records differ
        theta = rng.normal(scale=0.3, size=d + 1).round(3)
        cases.append((theta, client_data, lr, epochs))
    return cases


def _sequential(theta, client_data, lr, epochs):
    for X, y in client_data:
        theta = _local_training(theta, X, y, lr, epochs)
    return theta


def _shared_theta(theta, client_data, lr, epochs):
    chain, sizes = [], []
    for X, y in client_data:
        theta = _local_training(theta, X, y, lr, epochs)
        chain.append(theta)
        sizes.append(len(y))
    return np.average(chain, axis=0, weights=sizes)


def _gradient_once(theta, client_data, lr, epochs):
    theta = np.asarray(theta, float)
    new = [theta - epochs * lr * logistic.gradient(theta, X, y) for X, y in client_data]
    return weighted_mean(new, weights=[len(y) for _, y in client_data])


def _fedsgd_step(theta, client_data, lr, epochs):
    grads = [logistic.gradient(theta, X, y) for X, y in client_data]
    return np.asarray(theta, float) - lr * np.average(
        grads, axis=0, weights=[len(y) for _, y in client_data])


q1 = FunctionExercise(
    "One full round of FedAvg",
    reference=_fedavg_round,
    cases=_q1_cases,
    describe=lambda a: (f"theta={short(np.asarray(a[0]), 40)}, {counted(len(a[1]), 'client')}"
                        f" with {[len(y) for _, y in a[1]]} records, lr={a[2]}, "
                        f"epochs={a[3]}"),
    mistakes=[
        Mistake(lambda t, c, lr, e: np.mean([_local_training(t, X, y, lr, e) for X, y in c],
                                            axis=0),
                "your average ignores client sizes: weight each client's new model by its "
                "number of records"),
        Mistake(_sequential,
                "each client must start from the same global model theta; yours hands one "
                "client's result on to the next (that is sequential training, not averaging)"),
        Mistake(_shared_theta,
                "your clients share one theta array and change it in place, so each client "
                "starts where the previous one stopped: start every client from its own copy, "
                "np.array(theta, dtype=float)"),
        Mistake(lambda t, c, lr, e: _fedavg_round(t, c, lr, e) - np.asarray(t, float),
                "you returned the averaged change; the round returns the new global model "
                "(theta plus the averaged change)"),
        Mistake(_fedsgd_step,
                "you took a single gradient step (that is FedSGD): in FedAvg every client "
                "trains for `epochs` steps before the server averages"),
        Mistake(lambda t, c, lr, e: _fedavg_round(np.zeros(np.shape(t)), c, lr, e),
                "your clients started from zeros: every client starts from the global model "
                "theta the server sends, or each round forgets what the last one learned"),
        Mistake(_gradient_once,
                "each client computed its gradient once and reused it: recompute it at the "
                "client's current parameters in every epoch",
                applies=lambda t, c, lr, e: e > 1),
    ],
    hints=[
        "Every client starts from the same theta and takes `epochs` gradient steps on its own "
        "records, as in lesson 03a's exercise 2; the server then averages the new models, "
        "weighted by the clients' numbers of records, as in its exercise 1.",
        "Loop over client_data, collect each client's new parameters and len(y), then return "
        "weighted_mean(new_params, weights=sizes) (fedlab.aggregate.weighted_mean).",
    ],
)


# -- q2: federated standardization from count, mean and M2 ------------------------------------

def _global_mean_std(counts, means, m2):
    """fedlab's federated standardization: the server merges the hospitals' messages."""
    standardizer = combine(FeatureSums(*site) for site in zip(counts, means, m2))
    return standardizer.mean, standardizer.scale


def _arrays(counts, means, m2):
    return tuple(np.asarray(a, dtype=float) for a in (counts, means, m2))


def _plain_mean_of_means(counts, means, m2):
    return _arrays(counts, means, m2)[1].mean(axis=0), _global_mean_std(counts, means, m2)[1]


def _within_only(counts, means, m2):
    c, _, q = _arrays(counts, means, m2)
    return _global_mean_std(counts, means, m2)[0], np.sqrt(q.sum(axis=0) / c.sum(axis=0))


def _averaged_stds(counts, means, m2):
    c, _, q = _arrays(counts, means, m2)
    return _global_mean_std(counts, means, m2)[0], np.average(np.sqrt(q / c), axis=0,
                                                              weights=c)


def _unweighted_between(counts, means, m2):
    c, mu, q = _arrays(counts, means, m2)
    mean = _global_mean_std(counts, means, m2)[0]
    return mean, np.sqrt((q.sum(axis=0) + ((mu - mean) ** 2).sum(axis=0)) / c.sum(axis=0))


def _sample_std(counts, means, m2):
    mean, std = _global_mean_std(counts, means, m2)
    n = np.asarray(counts, dtype=float).sum(axis=0)
    return mean, std * np.sqrt(n / (n - 1))


def _per_hospital(counts, means, m2):
    c, mu, q = _arrays(counts, means, m2)
    return np.average(mu, axis=1, weights=c), np.sqrt(q.sum(axis=1) / c.sum(axis=1))


def _over_hospitals(counts, means, m2):
    c, mu, _ = _arrays(counts, means, m2)
    return (c * mu).sum(axis=0) / len(c), _global_mean_std(counts, means, m2)[1]


def _root_then_divide(counts, means, m2):
    c, mu, q = _arrays(counts, means, m2)
    mean = _global_mean_std(counts, means, m2)[0]
    return mean, np.sqrt(q.sum(axis=0) + (c * (mu - mean) ** 2).sum(axis=0)) / c.sum(axis=0)


def _q2_cases(rng):
    cases = []
    for sizes, n_features, missing in (((40, 12, 25), 2, 0.0), ((30, 30), 3, 0.2),
                                       ((50, 8, 20, 15, 10), 1, 0.0), ((35,), 2, 0.1),
                                       ((300, 30, 70, 65, 45), 4, 0.1)):
        messages = []
        for size in sizes:
            loc = rng.normal(scale=3.0, size=n_features)  # the sites' means differ
            X = rng.normal(loc, rng.uniform(0.5, 2.0, size=n_features), (size, n_features))
            X[rng.random(X.shape) < missing] = np.nan
            X[0] = np.where(np.isnan(X[0]), loc, X[0])  # at least one value per feature
            messages.append(feature_sums(X))
        cases.append(tuple(np.array([getattr(m, part) for m in messages])
                           for part in ("count", "mean", "m2")))
    return cases


q2 = FunctionExercise(
    "Federated standardization: the global mean and standard deviation from each "
    "hospital's count, mean and M2",
    reference=_global_mean_std,
    returns=("mean", "std"),
    cases=_q2_cases,
    describe=lambda a: (f"{counted(np.shape(a[0])[0], 'hospital')} x "
                        f"{counted(np.shape(a[0])[1], 'feature')}, counts {short(a[0], 50)}"),
    mistakes=[
        Mistake(_plain_mean_of_means,
                "you averaged the hospitals' means without their counts, so a clinic of 225 "
                "counts as much as a hospital of 2,250: weight each mean by its count"),
        Mistake(_within_only,
                "your spread leaves out how far the hospitals' means lie from the global "
                "mean: M2 adds, for every hospital, count * (its mean - the global mean)**2 "
                "to the hospitals' own M2"),
        Mistake(_averaged_stds,
                "you averaged the hospitals' standard deviations: the spread between the "
                "hospitals' means is missing. Add up the M2s and the between-hospital term, "
                "then divide by N"),
        Mistake(_unweighted_between,
                "the between-hospital term must weigh each hospital's squared distance "
                "(its mean - the global mean)**2 by its count"),
        Mistake(_sample_std,
                "you used the sample variance (dividing by N - 1). This course uses the "
                "population variance, dividing by N, as fedlab.federated.combine and np.std "
                "do; with thousands of patients the two differ by less than 0.1 %, but the "
                "check asks for N"),
        Mistake(lambda c, mu, q: (_global_mean_std(c, mu, q)[0],
                                  _global_mean_std(c, mu, q)[1] ** 2),
                "you returned the variance: the standard deviation is its square root"),
        Mistake(_over_hospitals,
                "your mean divides by the number of hospitals: weigh each mean by its count "
                "and divide by N, the total count",
                applies=lambda c, mu, q: len(c) > 1),
        Mistake(_root_then_divide,
                "you took the square root of M2 before dividing by N: the variance is M2 / N, "
                "and the standard deviation its square root"),
        Mistake(_per_hospital,
                "you combined along the wrong axis: combine over the hospitals (axis 0), "
                "which leaves one number per feature", match="shape"),
    ],
    hints=[
        "N is the total count. The global mean weighs each hospital's mean by its count: "
        "sum(count * mean) / N.",
        "M2 of all records = sum of the hospitals' M2 + sum of count * (mean - global mean)**2 "
        "(Chan et al.'s merge). The population variance is M2 / N; work over axis 0.",
        "In code:\n"
        "    n = counts.sum(axis=0)\n"
        "    mean = (counts * means).sum(axis=0) / n\n"
        "    m2_all = m2.sum(axis=0) + (counts * (means - mean)**2).sum(axis=0)\n"
        "    return mean, np.sqrt(m2_all / n)",
    ],
)


# -- q3: the bytes on the wire ---------------------------------------------------------------

def _run_bytes(n_clients, n_features, rounds):
    """fedlab's own count: a federated run of that shape, and the bytes its History records."""
    rng = np.random.default_rng(0)
    clients = [federated.Client(rng.normal(size=(4, n_features)), np.array([0, 1, 0, 1]))
               for _ in range(n_clients)]
    history = federated.run(clients, rounds=rounds, batch_size=None, random_state=0)
    return int(history.bytes()[-1])


def _formula(n_clients, n_features, rounds, *, setup_up=3, setup_down=2, up_extra=1,
             params=1, down=True, up=True):
    p = n_features + params
    setup = n_clients * 8 * n_features * ((setup_up if up else 0) + (setup_down if down else 0))
    per_round = n_clients * 8 * ((p if down else 0) + ((p + up_extra) if up else 0))
    return setup + rounds * per_round


def _q3_cases(rng):
    return [(5, 11, 30), (5, 11, 1), (2, 3, 10), (10, 4, 0), (1, 20, 3), (50, 11, 7)]


q3 = FunctionExercise(
    "The bytes a federated run puts on the wire, in both directions",
    reference=_run_bytes,
    cases=_q3_cases,
    describe=lambda a: (f"{counted(a[0], 'client')}, {counted(a[1], 'feature')}, "
                        f"{counted(a[2], 'round')}"),
    mistakes=[
        Mistake(lambda k, d, r: _formula(k, d, 0),
                "you counted only the standardization before training: add every round's "
                "model down and update up"),
        Mistake(lambda k, d, r: _formula(k, d, r, setup_up=0, setup_down=0),
                "you left out the standardization before training (round 0): each client "
                "sends count, mean and M2 per feature, and receives the mean and scale"),
        Mistake(lambda k, d, r: _formula(k, d, r, setup_down=0),
                "in the standardization before training you counted only what the clients "
                "send (count, mean, M2); each client also receives the mean and the scale"),
        Mistake(lambda k, d, r: _formula(k, d, r, setup_up=0),
                "in the standardization before training you counted only what the clients "
                "receive (mean, scale); each client first sends its count, mean and M2 per "
                "feature"),
        Mistake(lambda k, d, r: _formula(k, d, r) * 8,
                "that is the size in bits: a byte holds 8 bits, and a float64 is 8 bytes"),
        Mistake(lambda k, d, r: _formula(k, d, r, up_extra=0),
                "each update also carries the client's number of records, one more float64"),
        Mistake(lambda k, d, r: _formula(k, d, r, params=0),
                "the model has one parameter more than there are features: the bias"),
        Mistake(lambda k, d, r: _formula(k, d, r, down=False),
                "you counted only what the clients send up; the server also sends each "
                "client the model (and the scaling) down"),
        Mistake(lambda k, d, r: _formula(k, d, r, up=False),
                "you counted only what the server sends down; add what the clients send up"),
        Mistake(lambda k, d, r: _formula(k, d, r) // 8,
                "you counted numbers, not bytes: each float64 is 8 bytes"),
        Mistake(lambda k, d, r: _formula(k, d, r) // k,
                "you counted one client: every client receives and sends its own messages"),
    ],
    hints=[
        "Count in float64 numbers, 8 bytes each. Before training (round 0) each client "
        "sends 3 numbers per feature (count, mean, M2) and receives 2 (mean, scale).",
        "Each round, each client receives the model (n_features + 1 numbers) and sends back "
        "its update (n_features + 1 numbers) and its number of records (1 number).",
    ],
)


# -- q4: FedAvg of a neural network starts every site from one initialization ---------------

def _network_round(net, sites, seed, lr, epochs):
    """fedlab's round: one start drawn from ``seed``, each site's Client.fit, FedAvg's mean."""
    start = net.init_params(sites[0][0].shape[1], random_state=seed)
    updates = [federated.Client(X, y, model=net).fit(start, epochs=epochs, batch_size=None,
                                                      lr=lr) for X, y in sites]
    return start + federated.FedAvg().combine(updates)


def _trained_from(net, starts, sites, lr, epochs):
    """Each site's network after full-batch local training from its own start."""
    return [net.local_train(start, X, y, epochs=epochs, batch_size=None, lr=lr)
            for start, (X, y) in zip(starts, sites)]


def _shared_start(net, sites, seed):
    return [net.init_params(sites[0][0].shape[1], random_state=seed)] * len(sites)


def _weighted(params, sites):
    return weighted_mean(params, weights=[len(y) for _, y in sites])


def _independent_stream(net, sites, seed, lr, epochs):
    rng = np.random.default_rng(seed)  # one generator, one fresh draw per site
    starts = [net.init_params(X.shape[1], random_state=rng) for X, _ in sites]
    return _weighted(_trained_from(net, starts, sites, lr, epochs), sites)


def _independent_seeds(net, sites, seed, lr, epochs):
    starts = [net.init_params(X.shape[1], random_state=seed + k) for k, (X, _) in
              enumerate(sites)]
    return _weighted(_trained_from(net, starts, sites, lr, epochs), sites)


def _mixed_layers(net, sites, seed, lr, epochs, *, average):
    """Average only the parts named in ``average``; the rest comes from ``keep``."""
    d = sites[0][0].shape[1]
    start = _shared_start(net, sites, seed)[0]
    trained = _trained_from(net, [start] * len(sites), sites, lr, epochs)
    mean = _weighted(trained, sites)
    kept = {"first": trained[0], "start": start}[average[1]]
    parts = [np.array(p, dtype=float) for p in net.unpack(kept, d)]
    for k, part in enumerate(net.unpack(mean, d)):
        if k in average[0]:
            parts[k] = np.array(part, dtype=float)
    return np.concatenate([parts[0].ravel(), parts[1], parts[2], [float(parts[3])]])


def _plain_mean(net, sites, seed, lr, epochs):
    trained = _trained_from(net, _shared_start(net, sites, seed), sites, lr, epochs)
    return np.mean(trained, axis=0)


def _q4_cases(rng):
    cases = []
    for sizes, d, hidden, activation, lr, epochs in (
            ((40, 25), 3, 4, "tanh", 0.5, 3), ((30, 60, 20), 2, 3, "relu", 0.3, 4),
            ((50, 15), 4, 5, "tanh", 0.2, 2), ((35, 35), 2, 2, "relu", 0.5, 5),
            ((45,), 3, 3, "tanh", 0.5, 2)):
        sites = []
        for k, n in enumerate(sizes):
            X, y = _client_data(rng, n, d, prevalence=0.2 + 0.15 * k)
            sites.append((X + 0.4 * k, y))  # the sites' records differ
        cases.append((MLP(hidden=hidden, activation=activation), sites,
                      int(rng.integers(1000)), lr, epochs))
    return cases


q4 = FunctionExercise(
    "One round of FedAvg for a neural network, from one shared initialization",
    reference=_network_round,
    cases=_q4_cases,
    describe=lambda a: (f"net={a[0]!r}, {counted(len(a[1]), 'site')} with "
                        f"{[len(y) for _, y in a[1]]} records, seed={a[2]}, lr={a[3]}, "
                        f"epochs={a[4]}"),
    mistakes=[
        Mistake(_independent_stream,
                "each site started from its own random network: drawing init_params again "
                "from one generator gives a new network at every draw. Draw the start once, "
                "before the loop, and hand the same start to every site"),
        Mistake(_independent_seeds,
                "each site started from a network drawn with its own seed: independently "
                "initialized networks order their hidden units differently, so their average "
                "mixes unrelated units. Draw one start from `seed` for all sites"),
        Mistake(lambda *a: _mixed_layers(*a, average=((0, 1), "first")),
                "you averaged only the hidden layer (W1, b1) and kept the first site's output "
                "layer: FedAvg averages the whole parameter vector"),
        Mistake(lambda *a: _mixed_layers(*a, average=((2, 3), "first")),
                "you averaged only the output layer (w2, b2) and kept the first site's hidden "
                "layer: FedAvg averages the whole parameter vector"),
        Mistake(lambda *a: _mixed_layers(*a, average=((0, 2), "start")),
                "you averaged the weights but left the biases b1 and b2 where they started: "
                "the biases are trained too, and are averaged like the weights"),
        Mistake(lambda *a: _mixed_layers(*a, average=((0, 2), "first")),
                "you averaged the weights but kept the first site's biases b1 and b2: the "
                "biases are averaged like the weights"),
        Mistake(_plain_mean,
                "your average ignores the sites' sizes: weight each site's network by its "
                "number of records"),
        Mistake(lambda *a: _network_round(*a) - _shared_start(a[0], a[1], a[2])[0],
                "you returned the averaged change; the round returns the new global network "
                "(the start plus the averaged change)"),
    ],
    hints=[
        "Draw the start once: start = net.init_params(n_features, random_state=seed), with "
        "n_features = sites[0][0].shape[1]. Every site trains a copy of that same start.",
        "For each (X, y) in sites: net.local_train(start, X, y, epochs=epochs, "
        "batch_size=None, lr=lr); then weighted_mean(new_params, weights=sizes) over the "
        "whole parameter vectors.",
    ],
)
