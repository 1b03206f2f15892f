"""Exercises of lesson 03, federated averaging (McMahan et al. 2017).

q1 the weighted average of client updates, q2 a client's local update, q3 federated
standardization from sums and counts, q4 one full round of FedAvg.
"""

from __future__ import annotations

import numpy as np

from fedlab import model
from fedlab.aggregate import weighted_mean
from fedlab.exercises import FunctionExercise, Mistake
from fedlab.exercises._compare import short
from fedlab.federated.preprocessing import FeatureSums, combine

__all__ = ["q1", "q2", "q3", "q4"]

HOSPITAL_SIZES = (2250, 225, 525, 487, 337)
"""Training records of the five hospitals, for realistic cases."""


def _local_training(theta, X, y, lr, epochs):
    """fedlab's local training, the whole data set as one batch: ``epochs`` gradient steps."""
    return model.sgd(theta, X, y, epochs=epochs, batch_size=None, lr=lr)


# -- q1: the FedAvg average ---------------------------------------------------------------

def _q1_cases(rng):
    cases = []
    for sizes, n_params in ((HOSPITAL_SIZES[:3], 4), (HOSPITAL_SIZES, 12), ((10, 20, 70), 3),
                            ((1, 3), 2), ((100, 100, 100), 5), ((40,), 3)):
        updates = rng.normal(scale=0.3, size=(len(sizes), n_params)).round(4)
        cases.append((updates, np.array(sizes)))
    cases.append(([[0.1, 0.2], [0.3, 0.4]], [2250, 225]))  # plain lists work too
    return cases


def _stack(updates, n_samples):
    return np.asarray(updates, dtype=float), np.asarray(n_samples, dtype=float)


q1 = FunctionExercise(
    "FedAvg's weighted average of client updates",
    reference=lambda updates, n_samples: weighted_mean(updates, weights=n_samples),
    cases=_q1_cases,
    describe=lambda a: (f"{len(a[1])} client(s) of sizes {list(np.asarray(a[1]).tolist())} "
                        f"and updates {short(np.asarray(a[0], dtype=float), 50)}"),
    mistakes=[
        Mistake(lambda u, n: np.mean(_stack(u, n)[0], axis=0),
                "your average ignores client sizes: every client counts the same, but FedAvg "
                "weights each update by its number of records"),
        Mistake(lambda u, n: np.sum(_stack(u, n)[0] * _stack(u, n)[1][:, None], axis=0),
                "your weights are not normalised: you multiplied each update by its number of "
                "records but did not divide by the total number of records"),
        Mistake(lambda u, n: np.sum(_stack(u, n)[0] * _stack(u, n)[1][:, None], axis=0)
                / len(_stack(u, n)[1]),
                "you divided by the number of clients; divide by the total number of records "
                "instead, so the weights add up to one"),
        Mistake(lambda u, n: np.sum(_stack(u, n)[0], axis=0),
                "you added the updates up without averaging them"),
        Mistake(lambda u, n: np.mean(_stack(u, n)[0], axis=1),
                "you averaged along the wrong axis: the result should have one entry per "
                "parameter, not one per client; average over the clients (axis 0)",
                match="shape"),
        Mistake(lambda u, n: float(np.mean(_stack(u, n)[0])),
                "you returned a single number: the average of the updates is a vector with "
                "one entry per parameter", match="shape"),
    ],
    hints=[
        "Client k counts in proportion to its number of records n_k: its weight is "
        "n_k / (n_1 + ... + n_K), so the weights add up to one.",
        "Turn both inputs into numpy arrays, make w = n_samples / n_samples.sum(), and add up "
        "w[k] * updates[k] over the clients (axis 0). The result has one entry per parameter.",
        "np.average(updates, axis=0, weights=n_samples) does it in one line.",
    ],
)


# -- q2: a client's local update ----------------------------------------------------------

def _client_data(rng, n, d, prevalence=0.3):
    X = rng.normal(size=(n, d)).round(3)
    y = (rng.random(n) < prevalence).astype(float)
    return X, y


def _q2_cases(rng):
    cases = []
    for n, d, lr, epochs in ((40, 3, 0.5, 3), (60, 5, 0.1, 10), (25, 2, 1.0, 1), (1, 3, 0.3, 2),
                             (30, 4, 0.05, 5)):
        X, y = _client_data(rng, n, d)
        theta = rng.normal(scale=0.5, size=d + 1).round(3)
        cases.append((theta, X, y, lr, epochs))
    X, y = _client_data(rng, 20, 3)
    cases.append((np.zeros(4), X, np.zeros(20), 0.5, 4))  # start at zero, one class only
    return cases


def _grad_once(theta, X, y, lr, epochs):
    return np.asarray(theta, float) - epochs * lr * model.gradient(theta, X, y)


def _uphill(theta, X, y, lr, epochs):
    theta = np.asarray(theta, float)
    for _ in range(epochs):
        theta = theta + lr * model.gradient(theta, X, y)
    return theta


def _weights_only(theta, X, y, lr, epochs):
    theta = np.array(theta, dtype=float)
    for _ in range(epochs):
        theta[:-1] -= lr * model.gradient(theta, X, y)[:-1]
    return theta


q2 = FunctionExercise(
    "A client's local update: full-batch gradient descent from the global model",
    reference=_local_training,
    cases=_q2_cases,
    describe=lambda a: (f"theta={short(np.asarray(a[0]), 40)}, {len(a[2])} records x "
                        f"{np.shape(a[1])[1]} features, lr={a[3]}, epochs={a[4]}"),
    mistakes=[
        Mistake(lambda t, X, y, lr, e: model.gradient(t, X, y),
                "you returned the gradient, not the updated weights: the client steps "
                "theta <- theta - lr * gradient and returns the new theta"),
        Mistake(lambda t, X, y, lr, e: _local_training(t, X, y, lr, e) - np.asarray(t, float),
                "you returned the change (new theta minus old theta) instead of the new "
                "parameters themselves"),
        Mistake(_uphill,
                "you stepped uphill: gradient descent subtracts lr * gradient (check the sign)"),
        Mistake(lambda t, X, y, lr, e: _local_training(t, X, y, lr, 1),
                "you took a single step: the client takes one full-batch step per epoch, "
                "`epochs` steps in all"),
        Mistake(_grad_once,
                "you computed the gradient once and reused it: recompute it at the current "
                "parameters in every epoch"),
        Mistake(_weights_only,
                "the bias (the last entry of theta) never moves: it has a gradient too, "
                "the mean of (p - y)"),
        Mistake(lambda t, X, y, lr, e: _local_training(t, X, y, lr * len(y), e),
                "your gradient is a sum over the records, not a mean: divide by the number of "
                "records (model.gradient already does)"),
    ],
    hints=[
        "Start from a copy of theta. In each epoch compute the gradient of the client's loss "
        "at the current parameters and take one step against it.",
        "model.gradient(theta, X, y) is the gradient of the mean log loss; one step is "
        "theta = theta - lr * gradient, repeated `epochs` times. Return theta.",
        "theta = np.array(theta, dtype=float)\nfor _ in range(epochs):\n"
        "    theta = theta - lr * model.gradient(theta, X, y)\nreturn theta",
    ],
)


# -- q3: federated standardization ----------------------------------------------------------

def _global_mean_std(counts, sums, sums_sq):
    """fedlab's federated standardization: the server combines the hospitals' sums."""
    standardizer = combine(FeatureSums(*site) for site in zip(counts, sums, sums_sq))
    return standardizer.mean, standardizer.scale


def _site_stats(counts, sums, sums_sq):
    counts, sums, sums_sq = (np.asarray(a, dtype=float) for a in (counts, sums, sums_sq))
    means = sums / counts
    return counts, means, np.sqrt(np.maximum(sums_sq / counts - means**2, 0.0))


def _averaged_sites(counts, sums, sums_sq, *, weigh_means, weigh_stds):
    counts, means, stds = _site_stats(counts, sums, sums_sq)
    w = counts / counts.sum(axis=0)
    mean = (w * means).sum(axis=0) if weigh_means else means.mean(axis=0)
    std = (w * stds).sum(axis=0) if weigh_stds else stds.mean(axis=0)
    return mean, std


def _sample_variance(counts, sums, sums_sq):
    mean, std = _global_mean_std(counts, sums, sums_sq)
    n = np.asarray(counts, dtype=float).sum(axis=0)
    return mean, std * np.sqrt(n / (n - 1))


def _q3_cases(rng):
    cases = []
    for sizes, n_features, missing in (((40, 12, 25), 2, 0.0), ((30, 30), 3, 0.2),
                                       ((50, 8, 20, 15, 10), 1, 0.0), ((35,), 2, 0.1),
                                       ((300, 30, 70, 65, 45), 4, 0.1)):
        counts, sums, sums_sq = [], [], []
        for size in sizes:
            loc = rng.normal(scale=3.0, size=n_features)  # the sites' means differ
            X = rng.normal(loc, rng.uniform(0.5, 2.0, size=n_features), (size, n_features))
            X[rng.random(X.shape) < missing] = np.nan
            X[0] = np.where(np.isnan(X[0]), loc, X[0])  # at least one value per feature
            seen = ~np.isnan(X)
            counts.append(seen.sum(axis=0))
            sums.append(np.where(seen, X, 0.0).sum(axis=0))
            sums_sq.append(np.where(seen, X**2, 0.0).sum(axis=0))
        cases.append(tuple(np.array(a, dtype=float) for a in (counts, sums, sums_sq)))
    return cases


def _summed_per_hospital(counts, sums, sums_sq):
    counts, sums, sums_sq = (np.asarray(a, dtype=float) for a in (counts, sums, sums_sq))
    mean = sums.sum(axis=1) / counts.sum(axis=1)
    return mean, np.sqrt(np.maximum(sums_sq.sum(axis=1) / counts.sum(axis=1) - mean**2, 0.0))


q3 = FunctionExercise(
    "Federated standardization: global mean and standard deviation from sums and counts",
    reference=_global_mean_std,
    returns=("mean", "std"),
    cases=_q3_cases,
    describe=lambda a: (f"{np.shape(a[0])[0]} hospital(s) x {np.shape(a[0])[1]} feature(s), "
                        f"counts {short(a[0], 50)}"),
    mistakes=[
        Mistake(lambda c, s, q: _averaged_sites(c, s, q, weigh_means=False,
                                                weigh_stds=False),
                "you averaged the hospitals' means and standard deviations: a clinic of 225 "
                "then counts as much as a hospital of 2,250, and the spread between the "
                "hospitals' means is lost. Add up the sums, the sums of squares and the "
                "counts first"),
        Mistake(lambda c, s, q: _averaged_sites(c, s, q, weigh_means=True,
                                                weigh_stds=True),
                "you averaged the hospitals' standard deviations (weighted by count): the mean "
                "is right, but the spread between the hospitals' means is missing. Build the "
                "variance from the total sum of squares"),
        Mistake(lambda c, s, q: _averaged_sites(c, s, q, weigh_means=True,
                                                weigh_stds=False),
                "you averaged the hospitals' standard deviations: the mean is right, but the "
                "spread between the hospitals' means is missing. Build the variance from the "
                "total sum of squares"),
        Mistake(lambda c, s, q: (_averaged_sites(c, s, q, weigh_means=False,
                                                 weigh_stds=False)[0],
                                 _global_mean_std(c, s, q)[1]),
                "you averaged the hospitals' means, so a small clinic counts as much as a big "
                "hospital: divide the total of the sums by the total count"),
        Mistake(_sample_variance,
                "you used the sample variance (dividing by N - 1). This course uses the "
                "population variance, dividing by N, as fedlab.federated.combine and np.std "
                "do; with thousands of patients the two differ by less than 0.1 %, but the "
                "check asks for N"),
        Mistake(lambda c, s, q: (_global_mean_std(c, s, q)[0],
                                 _global_mean_std(c, s, q)[1] ** 2),
                "you returned the variance: the standard deviation is its square root"),
        Mistake(lambda c, s, q: (_global_mean_std(c, s, q)[0],
                                 np.sqrt(np.sum(q, axis=0) / np.sum(c, axis=0))),
                "you forgot to subtract the squared mean: variance = (sum of squares) / N - "
                "mean**2"),
        Mistake(_summed_per_hospital,
                "you added up along the wrong axis: sum over the hospitals (axis 0), which "
                "leaves one number per feature", match="shape"),
    ],
    hints=[
        "First add up each input over the hospitals: the total count N, the total sum S and "
        "the total sum of squares Q of every feature.",
        "mean = S / N, and the (population) variance is Q / N - mean**2. Sum over axis 0, the "
        "hospitals.",
        "n = counts.sum(axis=0); mean = sums.sum(axis=0) / n\n"
        "std = np.sqrt(sums_sq.sum(axis=0) / n - mean**2); return mean, std",
    ],
)


# -- q4: one full round of FedAvg -----------------------------------------------------------

def _fedavg_round(theta, client_data, lr, epochs):
    """fedlab's local training at every client, then the weighted mean at the server."""
    new = [_local_training(theta, X, y, lr, epochs) for X, y in client_data]
    return weighted_mean(new, weights=[len(y) for _, y in client_data])


def _q4_cases(rng):
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


def _fedsgd_step(theta, client_data, lr, epochs):
    grads = [model.gradient(theta, X, y) for X, y in client_data]
    return np.asarray(theta, float) - lr * np.average(
        grads, axis=0, weights=[len(y) for _, y in client_data])


q4 = FunctionExercise(
    "One full round of FedAvg",
    reference=_fedavg_round,
    cases=_q4_cases,
    describe=lambda a: (f"theta={short(np.asarray(a[0]), 40)}, {len(a[1])} client(s) with "
                        f"{[len(y) for _, y in a[1]]} records, lr={a[2]}, epochs={a[3]}"),
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
    ],
    hints=[
        "Every client starts from the same theta and takes `epochs` gradient steps on its own "
        "records, as in exercise 2; the server then averages the new models, weighted by the "
        "clients' numbers of records, as in exercise 1.",
        "Loop over client_data, collect each client's new parameters and len(y), then return "
        "weighted_mean(new_params, weights=sizes) (fedlab.aggregate.weighted_mean).",
    ],
)
