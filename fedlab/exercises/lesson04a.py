"""Exercises of lesson 04a, kinds of shift and client drift.

q1 the FedProx local gradient (Li et al. 2020), q2 a SCAFFOLD client's round
(Karimireddy et al. 2020). The references are fedlab's own FedProx and SCAFFOLD steps
(:func:`fedlab.models.logistic.sgd`, :func:`fedlab.federated.client.scaffold_control`).
Lesson 04b's exercises (FedAdam, recalibration) are in :mod:`fedlab.exercises.lesson04b`.
"""

from __future__ import annotations

import numpy as np

from fedlab.exercises import FunctionExercise, Mistake
from fedlab.exercises._compare import counted
from fedlab.federated.client import scaffold_control
from fedlab.models import logistic

__all__ = ["q1", "q2"]


def _data(rng, n, d, prevalence=0.3):
    X = rng.normal(size=(n, d)).round(3)
    y = (rng.random(n) < prevalence).astype(float)
    y[0], y[1] = 0.0, 1.0
    return X, y


def _floats(*arrays):
    return [np.asarray(a, dtype=float) for a in arrays]


# -- q1: FedProx's local gradient -----------------------------------------------------------

def _fedprox_gradient(theta, anchor, X, y, mu):
    """fedlab's FedProx step (``logistic.sgd`` with ``mu``), one full-batch step of size 1."""
    theta = np.asarray(theta, dtype=float)
    return theta - logistic.sgd(theta, X, y, epochs=1, batch_size=None, lr=1.0, mu=mu,
                             anchor=anchor)


def _q1_cases(rng):
    cases = []
    for n, d, mu in ((20, 2, 0.1), (50, 4, 1.0), (8, 1, 0.5), (30, 3, 0.01), (12, 2, 2.0)):
        X, y = _data(rng, n, d)
        theta = rng.normal(size=d + 1).round(3)
        anchor = theta + rng.normal(scale=0.5, size=d + 1).round(3)
        cases.append((theta, anchor, X, y, mu))
    return cases


def _prox_variant(sign=1.0, factor=1.0, loss=True, bias=True, towards_zero=False):
    def wrong(theta, anchor, X, y, mu):
        theta, anchor = _floats(theta, anchor)
        pull = sign * factor * mu * (theta - (0.0 if towards_zero else anchor))
        if not bias:
            pull[-1] = 0.0
        return (logistic.gradient(theta, X, y) if loss else 0.0) + pull
    return wrong


q1 = FunctionExercise(
    "FedProx: the gradient of a client's local objective",
    reference=_fedprox_gradient,
    cases=_q1_cases,
    describe=lambda a: (f"mu={a[4]}, {counted(len(a[3]), 'record')}, "
                        f"{counted(len(a[0]), 'parameter')}"),
    mistakes=[
        Mistake(_prox_variant(sign=-1.0),
                "the proximal term has the wrong sign: it must pull theta back towards the "
                "global model, so its gradient is mu * (theta - global), not the reverse"),
        Mistake(_prox_variant(bias=False),
                "you left the intercept out of the proximal term: unlike the L2 penalty, "
                "FedProx's ||theta - global||^2 covers every parameter, the intercept too"),
        Mistake(_prox_variant(factor=0.5),
                "the derivative of mu/2 ||theta - global||^2 is mu (theta - global): the 1/2 "
                "cancels against the square"),
        Mistake(_prox_variant(factor=0.0),
                "this is FedAvg's gradient: the proximal term is missing"),
        Mistake(_prox_variant(loss=False),
                "only the proximal term: the gradient of the local loss is missing"),
        Mistake(_prox_variant(towards_zero=True),
                "your proximal term pulls theta towards zero, as an L2 penalty does: "
                "FedProx pulls it towards the global model, mu * (theta - global_params)"),
    ],
    hints=[
        "FedProx's client minimizes F_k(theta) + mu/2 ||theta - theta_global||^2.",
        "Its gradient is the loss gradient (`logistic.gradient`) plus mu times the "
        "difference theta - theta_global, over all parameters.",
    ],
)


# -- q2: a SCAFFOLD client's round ----------------------------------------------------------

def _scaffold_client(x, c, c_i, X, y, lr, steps):
    """fedlab's SCAFFOLD client: full-batch SGD corrected by ``c - c_i``, then option II."""
    x, c, c_i = _floats(x, c, c_i)
    local = logistic.sgd(x, X, y, epochs=steps, batch_size=None, lr=lr, correction=c - c_i)
    return local - x, scaffold_control(c_i, c, local - x, steps, lr)


def _scaffold_variant(correction_sign=1.0, control_sign=1.0, divide_steps=True,
                      gradient_once=False, model=False):
    def wrong(x, c, c_i, X, y, lr, steps):
        x, c, c_i = _floats(x, c, c_i)
        local = x.copy()
        for _ in range(steps):
            at = x if gradient_once else local
            local = local - lr * (logistic.gradient(at, X, y) + correction_sign * (c - c_i))
        scale = steps * lr if divide_steps else lr
        return local if model else local - x, c_i - c + control_sign * (x - local) / scale
    return wrong


def _q2_cases(rng):
    cases = []
    for n, d, lr, steps in ((20, 2, 0.1, 3), (40, 3, 0.05, 5), (10, 1, 0.2, 2),
                            (25, 2, 0.1, 4)):
        X, y = _data(rng, n, d)
        x = rng.normal(size=d + 1).round(3)
        c, c_i = rng.normal(scale=0.3, size=(2, d + 1)).round(3)
        cases.append((x, c, c_i, X, y, lr, steps))
    return cases


q2 = FunctionExercise(
    "SCAFFOLD: one client's corrected local steps and its new control variate",
    reference=_scaffold_client,
    cases=_q2_cases,
    returns=("update", "new_c_i"),
    describe=lambda a: f"lr={a[5]}, steps={a[6]}, {counted(len(a[0]), 'parameter')}",
    mistakes=[
        Mistake(_scaffold_variant(correction_sign=-1.0),
                "the correction has the wrong sign: each step follows g_i(y) - c_i + c, the "
                "local gradient with the client's own drift c_i swapped for the global c"),
        Mistake(_scaffold_variant(control_sign=-1.0),
                "the control-variate update has the wrong sign: option II is "
                "c_i - c + (x - y) / (K lr), with x the global model and y the local one"),
        Mistake(_scaffold_variant(divide_steps=False),
                "the new control variate must divide (x - y) by K * lr, the number of local "
                "steps times the step size, not by lr alone"),
        Mistake(_scaffold_variant(correction_sign=0.0),
                "your local steps are plain SGD: SCAFFOLD adds the correction c - c_i to "
                "every step's gradient"),
        Mistake(_scaffold_variant(gradient_once=True),
                "you computed the local gradient once, at the global model, and reused it: "
                "recompute g_i at the current local model y in every step",
                applies=lambda x, c, c_i, X, y, lr, steps: steps > 1),
        Mistake(_scaffold_variant(model=True),
                "you returned the local model y as the update: the update is y - x, the "
                "change from the global model"),
    ],
    hints=[
        "Start y at the global model x; take K steps y <- y - lr (g_i(y) - c_i + c).",
        "Then c_i+ = c_i - c + (x - y) / (K lr) and the client returns (y - x, c_i+).",
    ],
)
