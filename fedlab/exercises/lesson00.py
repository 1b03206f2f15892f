"""Checks of lesson 00 (welcome): a federated mean from sums, and a model's size on the wire."""

from __future__ import annotations

import numpy as np

from fedlab.aggregate import weighted_mean
from fedlab.exercises import FunctionExercise, Mistake
from fedlab.models import logistic

__all__ = ["q1", "q2"]


# --- Exercise 1: a federated mean from each hospital's (count, sum) -------------------------

def _pooled_mean(counts, sums):
    """The hospitals' own means, weighted by their numbers of patients (FedAvg's average)."""
    means = np.divide(sums, counts, dtype=float)
    return float(weighted_mean(means[:, None], weights=counts)[0])


def _q1_cases(rng):
    cases = [
        ([100, 100, 100], [5000.0, 5600.0, 6200.0]),  # equal sizes
        ([300, 3000], [19620.0, 160800.0]),  # a small clinic and a big hospital
    ]
    for _ in range(4):  # random hospitals of very different sizes
        k = int(rng.integers(2, 7))
        counts = rng.integers(20, 3000, size=k)
        sums = np.round(counts * rng.normal(55.0, 8.0, size=k), 1)
        cases.append((counts.tolist(), sums.tolist()))
    cases.append(([225], [14715.0]))  # a single hospital
    counts = rng.integers(50, 800, size=5)  # numpy arrays as well as lists
    cases.append((counts, counts * rng.normal(120.0, 10.0, size=5)))
    return cases


def _q1_describe(args):
    counts, sums = (np.asarray(a).tolist() for a in args)
    sums = [round(s, 1) for s in sums]
    return f"counts={counts}, sums={sums}"


q1 = FunctionExercise(
    "federated mean from per-hospital counts and sums",
    reference=_pooled_mean,
    cases=_q1_cases,
    describe=_q1_describe,
    mistakes=[
        Mistake(lambda c, s: np.mean(np.asarray(s, float) / np.asarray(c, float)),
                "you averaged the hospitals' own means, so a clinic of 300 patients counts "
                "as much as a hospital of 3,000; in a pooled mean every patient counts "
                "once, whichever hospital they are at"),
        Mistake(lambda c, s: np.mean(s),
                "you averaged the hospitals' sums: a sum is a total per hospital, not a "
                "value per patient"),
        Mistake(lambda c, s: np.sum(s),
                "you returned the total of all the sums, which is not yet a per-patient "
                "mean"),
        Mistake(lambda c, s: np.sum(c) / np.sum(s),
                "your fraction is upside down"),
        Mistake(lambda c, s: np.sum(s) // np.sum(c),
                "you used integer division (//), which throws the decimals away"),
        Mistake(lambda c, s: np.sum(np.multiply(c, s)) / np.sum(c),
                "you multiplied each hospital's sum by its count: a sum already adds up "
                "every patient once, so add the sums as they are"),
    ],
    hints=[
        "A mean over all patients is (the sum of every patient's value) / (the number of "
        "patients). Which of these two can you build from the hospitals' messages?",
        "Adding up the hospitals' sums gives the sum over every patient; adding up their "
        "counts gives the number of patients.",
        "In code (it works for lists and arrays alike):\n"
        "    return np.sum(sums) / np.sum(counts)",
    ],
)


# --- Exercise 2: how many bytes one model takes on the wire ----------------------------------

def _model_bytes(n_features):
    """What fedlab's parameter vector for ``n_features`` features takes in memory."""
    return logistic.init_params(n_features).nbytes


def _q2_cases(rng):
    return [(11,), (1,), (30,), *((int(n),) for n in rng.integers(2, 5000, size=3)),
            (1_000_000,)]


q2 = FunctionExercise(
    "bytes of a logistic-regression model in float64",
    reference=_model_bytes,
    cases=_q2_cases,
    describe=lambda args: f"n_features={args[0]}",
    rtol=0.0,
    atol=0.0,
    mistakes=[
        Mistake(lambda n: 8 * n,
                "you counted one weight per feature but forgot the bias (the intercept): "
                "the model has one more parameter than there are features"),
        Mistake(lambda n: 4 * (n + 1),
                "4 bytes is the size of a float32 number; fedlab's parameters are float64"),
        Mistake(lambda n: 4 * n,
                "two slips: 4 bytes is a float32 number (fedlab uses float64), and the bias "
                "(the intercept) is missing"),
        Mistake(lambda n: 64 * (n + 1),
                "that is the size in bits; a byte holds 8 bits"),
        Mistake(lambda n: 64 * n,
                "that is the size in bits (a byte holds 8 bits), and the bias (the "
                "intercept) is missing"),
        Mistake(lambda n: n + 1,
                "you counted the parameters; the question asks for bytes, and each float64 "
                "number takes more than one byte"),
        Mistake(lambda n: 8 * n + 1,
                "you added one byte for the bias: the bias is one more parameter, a float64 "
                "like the weights"),
    ],
    hints=[
        "Count the parameters first: one weight per feature, plus one more. Then multiply "
        "by the size of one number.",
        "A float64 number takes 64 bits, and a byte is 8 bits. The extra parameter is the "
        "bias (the intercept).",
        "In code:\n    return 8 * (n_features + 1)",
    ],
)
