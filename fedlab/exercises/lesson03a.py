"""Exercises of lesson 03a, federated averaging: one round and the averaging rule.

q1 FedAvg's weighted average of client updates (McMahan et al. 2017), q2 a client's local
update, q3 a judgement: the server's weights for a goal stated in the study protocol,
checked by training on the hospitals' records.
"""

from __future__ import annotations

import numpy as np

from fedlab.aggregate import weighted_mean
from fedlab.baselines import DEFAULTS
from fedlab.exercises import FunctionExercise, Mistake
from fedlab.exercises._compare import counted, short
from fedlab.federated.preprocessing import combine, feature_sums
from fedlab.models import logistic

__all__ = ["q1", "q2", "q3"]

HOSPITAL_SIZES = (2250, 225, 525, 487, 337)
"""Training records of the five hospitals, for realistic cases."""


def _local_training(theta, X, y, lr, epochs):
    """fedlab's local training, the whole data set as one batch: ``epochs`` gradient steps."""
    return logistic.sgd(theta, X, y, epochs=epochs, batch_size=None, lr=lr)


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
    describe=lambda a: (f"{counted(len(a[1]), 'client')} of sizes "
                        f"{list(np.asarray(a[1]).tolist())} and updates "
                        f"{short(np.asarray(a[0], dtype=float), 50)}"),
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
        Mistake(lambda u, n: np.sum(_stack(u, n)[0] * (np.asarray(n) // np.sum(n))[:, None],
                                    axis=0),
                "you used integer division (//) for the weights, which rounds every share "
                "down to 0: divide with /",
                applies=lambda u, n: len(n) > 1),
    ],
    hints=[
        "Client k counts in proportion to its number of records n_k: its weight is "
        "n_k / (n_1 + ... + n_K), so the weights add up to one.",
        "Turn both inputs into numpy arrays, make w = n_samples / n_samples.sum(), and add up "
        "w[k] * updates[k] over the clients (axis 0). The result has one entry per parameter.",
        "np.average does it in one line:\n"
        "    return np.average(updates, axis=0, weights=n_samples)",
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
    return np.asarray(theta, float) - epochs * lr * logistic.gradient(theta, X, y)


def _uphill(theta, X, y, lr, epochs):
    theta = np.asarray(theta, float)
    for _ in range(epochs):
        theta = theta + lr * logistic.gradient(theta, X, y)
    return theta


def _record_by_record(theta, X, y, lr, epochs):
    theta = np.asarray(theta, float)
    for _ in range(epochs):
        for i in range(len(y)):
            theta = theta - lr * logistic.gradient(theta, X[i:i + 1], y[i:i + 1])
    return theta


def _weights_only(theta, X, y, lr, epochs):
    theta = np.array(theta, dtype=float)
    for _ in range(epochs):
        theta[:-1] -= lr * logistic.gradient(theta, X, y)[:-1]
    return theta


q2 = FunctionExercise(
    "A client's local update: full-batch gradient descent from the global model",
    reference=_local_training,
    cases=_q2_cases,
    describe=lambda a: (f"theta={short(np.asarray(a[0]), 40)}, {counted(len(a[2]), 'record')}"
                        f" x {counted(np.shape(a[1])[1], 'feature')}, lr={a[3]}, "
                        f"epochs={a[4]}"),
    mistakes=[
        Mistake(lambda t, X, y, lr, e: logistic.gradient(t, X, y),
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
                "records (logistic.gradient already does)"),
        Mistake(lambda t, X, y, lr, e: _local_training(np.zeros(np.shape(t)), X, y, lr, e),
                "you started from zeros: a client starts from the global model theta it "
                "received, or every round forgets what the federation learned",
                applies=lambda t, X, y, lr, e: bool(np.any(np.asarray(t) != 0))),
        Mistake(_record_by_record,
                "you took one step per record (stochastic gradient descent with batches of "
                "one): here each epoch is one full-batch step, on the gradient over all the "
                "client's records",
                applies=lambda t, X, y, lr, e: len(y) > 1),
    ],
    hints=[
        "Start from a copy of theta. In each epoch compute the gradient of the client's loss "
        "at the current parameters and take one step against it.",
        "logistic.gradient(theta, X, y) is the gradient of the mean log loss; one step is "
        "theta = theta - lr * gradient, repeated `epochs` times. Return theta.",
        "In code:\n"
        "    theta = np.array(theta, dtype=float)\n"
        "    for _ in range(epochs):\n"
        "        theta = theta - lr * logistic.gradient(theta, X, y)\n"
        "    return theta",
    ],
)


# -- q3: the server's weights for a stated goal ----------------------------------------------

GOAL_SHARE = 0.5
"""The protocol's compromise: at least this share of the plain mean's gain for the
worst-served hospital, at no more than this share of its cost to all patients."""

FEDERATIONS = ((0, 1, 2, 3, 4), (1, 2, 3, 4), (0, 2, 3, 4), (0, 1, 3, 4), (0, 1, 2, 4),
               (0, 1, 2, 3), (0, 1))
"""The federations the check trains (indices of the shipped hospitals)."""


def _federation(sizes):
    """The shipped hospitals whose training sizes are ``sizes``, standardized together."""
    hospitals = _hospitals()
    by_size = {h.n_train: h for h in hospitals}
    chosen = [by_size[int(n)] for n in sizes]
    scaler = combine([feature_sums(h.X_train) for h in chosen])
    return [(scaler.transform(h.X_train), h.y_train) for h in chosen]


def _hospitals():
    from fedlab.data import load_hospitals  # only when checked: loading reads five files

    if not _CACHE:
        _CACHE.append(load_hospitals())
    return _CACHE[0]


_CACHE = []


def _losses(sites, weights):
    """Each site's training log loss at the minimum of sum_k w_k L_k + l2/2 ||w||^2.

    An independent formulation: scikit-learn's L-BFGS with per-record weights w_k / n_k.
    """
    from sklearn.linear_model import LogisticRegression

    w = np.asarray(weights, dtype=float)
    w = w / w.sum()
    X = np.vstack([X for X, _ in sites])
    y = np.concatenate([y for _, y in sites])
    per_record = np.concatenate([np.full(len(y_k), w_k / len(y_k))
                                 for (_, y_k), w_k in zip(sites, w)])
    fitted = LogisticRegression(C=1 / DEFAULTS["l2"], tol=1e-10, max_iter=2000).fit(
        X, y, sample_weight=per_record)
    theta = np.append(fitted.coef_.ravel(), fitted.intercept_)
    return np.array([logistic.loss(theta, X_k, y_k) for X_k, y_k in sites])


def _outcome(sizes, weights):
    """(loss over all patients, worst hospital's loss) of the model trained with ``weights``."""
    key = (tuple(int(n) for n in sizes), tuple(np.round(np.asarray(weights, float)
                                                        / np.sum(weights), 12)))
    if key not in _OUTCOMES:
        losses = _losses(_federation(sizes), weights)
        _OUTCOMES[key] = (float(np.average(losses, weights=sizes)), float(losses.max()))
    return _OUTCOMES[key]


_OUTCOMES = {}


def _q3_cases(rng):
    hospitals = _hospitals()
    return [(np.array([hospitals[k].n_train for k in ks]),) for ks in FEDERATIONS]


def _q3_judge(args, got):
    (sizes,) = args
    w = np.asarray(got, dtype=float)
    if w.shape != sizes.shape:
        return (f"return one weight per hospital: {len(sizes)} numbers for these "
                f"{len(sizes)} hospitals, got shape {w.shape}")
    if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        return f"the weights must be finite, >= 0 and not all zero, got {short(w, 60)}"
    pooled_n, worst_n = _outcome(sizes, sizes)           # FedAvg's weights
    pooled_1, worst_1 = _outcome(sizes, np.ones(len(sizes)))  # the plain mean
    pooled, worst = _outcome(sizes, w)
    gain, cost = worst_n - worst, pooled - pooled_n
    full_gain, full_cost = worst_n - worst_1, pooled_1 - pooled_n
    if gain < GOAL_SHARE * full_gain:
        return (f"the worst-served hospital's training loss falls by {gain:.4f} with your "
                f"weights; the plain mean lowers it by {full_gain:.4f}, and the protocol asks "
                f"for at least {GOAL_SHARE:.0%} of that, {GOAL_SHARE * full_gain:.4f}: give "
                "the small hospitals more say")
    if cost > GOAL_SHARE * full_cost:
        return (f"the loss over all patients rises by {cost:.5f} with your weights; the plain "
                f"mean raises it by {full_cost:.5f}, and the protocol allows at most "
                f"{GOAL_SHARE:.0%} of that, {GOAL_SHARE * full_cost:.5f}: give the large "
                "hospitals more say")
    return ""


q3 = FunctionExercise(
    "The server's weights for the protocol's goal: a compromise between two rules",
    judge=_q3_judge,
    cases=_q3_cases,
    describe=lambda a: f"the {len(a[0])} hospitals with {list(a[0].tolist())} training records",
    mistakes=[
        Mistake(lambda n: np.asarray(n, dtype=float),
                "these are FedAvg's weights (proportional to the patients): nothing changes "
                "for the worst-served hospital. The protocol asks for a compromise between "
                "them and the plain mean"),
        Mistake(lambda n: np.ones(len(n)),
                "this is the plain mean: it gives the worst-served hospital the whole gain, "
                "but costs all patients more than the protocol allows. Look for weights "
                "between the plain mean and the patients' counts"),
        Mistake(lambda n: 1 / np.asarray(n, dtype=float),
                "these weights favour the smallest hospitals even more than the plain mean "
                "does, and cost all patients far more than the protocol allows"),
    ],
    hints=[
        "The weighted mean gives hospital k the weight n_k, the plain mean the weight 1. A "
        "family of rules in between is n_k ** alpha, for alpha between 0 (the plain mean) "
        "and 1 (FedAvg).",
        "Try a few values of alpha and read what the check says: when the worst hospital "
        "gains too little, lower alpha; when all patients pay too much, raise it. Values "
        "between 0.3 and 0.5 are worth a look.",
    ],
)
