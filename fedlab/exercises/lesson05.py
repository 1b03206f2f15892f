"""Checks for lesson 05, privacy attacks: gradient inversion and membership scores.

``from fedlab.exercises import lesson05 as ex``, then ``ex.q1.check(reconstruct)`` and
``ex.q2.check(membership_score)``.
"""

from __future__ import annotations

import numpy as np

from fedlab import attacks, model
from fedlab.exercises import FunctionExercise, Mistake

__all__ = ["q1", "q2"]


# q1: rebuild a record from its gradient --------------------------------------------------
def _q1_cases(rng):
    cases = []
    for n_features in (1, 3, 11, 11, 5):
        theta = rng.normal(size=n_features + 1)
        x = rng.normal(size=(1, n_features))
        y = [float(rng.integers(0, 2))]
        cases.append((model.per_example_gradients(theta, x, y)[0],))
    # a FedAvg update of one local step (-lr * gradient), and a record of zeros
    cases.append((-0.1 * model.per_example_gradients([0.5, -1.0, 0.2], [[1.2, -0.7]], [1])[0],))
    cases.append((model.per_example_gradients([0.3, 0.3, 0.3, 0.0], [[0.0, 0.0, 0.0]], [0])[0],))
    return cases


q1 = FunctionExercise(
    "rebuild a patient's record from a one-record gradient",
    reference=attacks.reconstruct_record,
    cases=_q1_cases,
    mistakes=[
        Mistake(lambda g: np.asarray(g)[:-1],
                "you returned the weights part as it is: it is the record multiplied by "
                "(p - y), the number in the bias part, so divide that number out"),
        Mistake(lambda g: np.asarray(g) / np.asarray(g)[-1],
                "your answer still has the bias entry at the end (it is always 1 after "
                "dividing): the record has one entry per feature, the gradient one more"),
        Mistake(lambda g: np.asarray(g)[:-1] * np.asarray(g)[-1],
                "you multiplied by the bias part; the weights part is the record *times* "
                "(p - y), so divide by it"),
        Mistake(lambda g: np.asarray(g)[1:] / np.asarray(g)[0],
                "you divided by the first entry: in fedlab the bias is the *last* entry of "
                "the parameter vector (theta = [w..., b]), and so of the gradient"),
        Mistake(lambda g: -np.asarray(g)[:-1] / np.asarray(g)[-1],
                "the sign is flipped: g_w / g_b is x itself, no minus sign (the minus of "
                "an update, -lr * g, cancels in the ratio too)"),
    ],
    hints=[
        "Write the gradient of one record's log loss: the weights part is (p - y) * x, "
        "the bias part is (p - y).",
        "The bias part is the last entry, gradient[-1]; the weights part is gradient[:-1].",
        "return gradient[:-1] / gradient[-1]",
    ],
)


# q2: the membership score -----------------------------------------------------------------
_loss = attacks.per_record_loss


def _q2_cases(rng):
    cases = []
    for n, d in ((6, 2), (10, 4), (1, 3), (25, 11)):
        X = rng.normal(size=(n, d))
        y = rng.integers(0, 2, size=n).astype(float)
        cases.append((rng.normal(scale=2.0, size=d + 1), X, y))
    cases.append((np.zeros(3), np.ones((4, 2)), np.array([0.0, 1.0, 1.0, 0.0])))
    return cases


q2 = FunctionExercise(
    "the loss-threshold membership score",
    reference=attacks.membership_scores,
    cases=_q2_cases,
    mistakes=[
        Mistake(_loss,
                "that is the loss itself: training records have a *low* loss, so a higher "
                "score must mean a lower loss; return minus the loss"),
        Mistake(lambda p, X, y: np.full(len(y), -np.mean(_loss(p, X, y))),
                "every record got the same score, the mean: score each record with its own "
                "loss"),
        Mistake(lambda p, X, y: -np.mean(_loss(p, X, y)),
                "you returned one number, the mean loss: the attack needs one score per "
                "record"),
        Mistake(lambda p, X, y: model.predict_proba(p, X),
                "you returned the predicted probability of the positive class: the score "
                "must say how well the model fits each record's *own* label y"),
        Mistake(lambda p, X, y: np.log(model.predict_proba(p, X)),
                "you used log p for every record: for a record with y = 0 the model's "
                "probability of its label is 1 - p"),
    ],
    hints=[
        "A record's log loss is -[y log p + (1 - y) log(1 - p)], with p = "
        "sigmoid(X @ w + b); the score is minus that.",
        "With z = X @ params[:-1] + params[-1], the log loss is np.logaddexp(0, z) - y * z "
        "(stable for large z).",
        "z = X @ params[:-1] + params[-1]; return -(np.logaddexp(0, z) - y * z)",
    ],
)
