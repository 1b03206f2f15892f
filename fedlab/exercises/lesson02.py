"""Exercises of lesson 02 (the centralized baseline): logistic regression from scratch.

``q1`` a numerically stable sigmoid, ``q2`` the gradient of the mean log loss, ``q3``
gradient descent, ``q4`` the AUC by counting pairs of patients.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from fedlab import metrics
from fedlab.exercises import FunctionExercise, Mistake
from fedlab.exercises._compare import counted
from fedlab.models import logistic

__all__ = ["q1", "q2", "q3", "q4"]


# ---------------------------------------------------------------- q1: sigmoid

def _sigmoid_cases(rng):
    return [
        (rng.normal(0.0, 3.0, size=8),),
        (np.array([0.0]),),
        (np.linspace(-10.0, 10.0, 21),),
        (np.array([-1000.0, -40.0, -5.0, 0.0, 5.0, 40.0, 1000.0]),),
        (rng.normal(0.0, 300.0, size=6),),
    ]


def _describe_z(args):
    (z,) = args
    return f"z = {np.array2string(np.asarray(z), precision=3, threshold=8)}"


def _clipped_sigmoid(bound):
    return lambda z: 1 / (1 + np.exp(-np.clip(z, -bound, bound)))


_CLIPPED = ("you clipped z before exp: the overflow warning is gone, but a patient far from "
            "the boundary (z = -40, say) now gets a risk many orders of magnitude too large "
            "(and the log loss of a confident mistake is capped). Keep every z and use the "
            "two formulas instead, so exp only ever gets a number that is zero or negative")

q1 = FunctionExercise(
    "a numerically stable sigmoid",
    reference=expit,
    cases=_sigmoid_cases,
    atol=1e-12,  # a risk of 2e-9 where it is 4e-18 is a clipped z, not rounding
    describe=_describe_z,
    warning_free_on=(np.array([-1000.0, -710.0, 0.0, 710.0, 1000.0]),),
    warning_message=(
        "your values are right, but for z = [-1000, -710, 0, 710, 1000] numpy warned "
        "\"{warning}\": exp was given a number so large that the result does not fit in a "
        "float (the largest is about e^709). A training loop would print this warning at "
        "every step, and the mirror formula e^z / (1 + e^z) even returns nan. Rewrite it "
        "so that exp only ever gets a number that is zero or negative (ex.q1.hint(2) shows "
        "how). Note that np.where computes both of its branches for every entry, so a "
        "branch you do not pick still overflows"),
    mistakes=[
        Mistake(lambda z: 1 / (1 + np.exp(z)),
                "your sigmoid goes down as z grows, so it gives sigmoid(-z): check the sign "
                "inside exp (a large positive z should give a probability near 1)"),
        Mistake(lambda z: np.exp(z) / (1 + np.exp(z)),
                "for large positive z your function returns nan: e^z overflows to inf, and "
                "inf / inf is not a number. Rewrite it so that exp is only ever given a "
                "number that is zero or negative"),
        Mistake(lambda z: np.exp(-z) / (1 + np.exp(-z)),
                "your sigmoid goes down as z grows, so it gives sigmoid(-z): check the sign "
                "inside exp (a large positive z should give a probability near 1)"),
        Mistake(lambda z: np.exp(z),
                "some of your values are above 1, which no probability can be: did you "
                "forget the 1 + in the denominator?"),
        Mistake(lambda z: 1 / (1 + np.exp(-np.abs(z))),
                "for negative z your sigmoid gives a value above 0.5: after exp(-|z|), the "
                "two signs of z need different formulas (sigmoid(-z) = 1 - sigmoid(z))"),
        *(Mistake(_clipped_sigmoid(bound), _CLIPPED) for bound in (5, 10, 15, 20, 25)),
    ],
    hints=[
        "The sigmoid is 1 / (1 + e^(-z)). It is right mathematically, but for z = -1000 it "
        "computes e^1000, which overflows. Try `np.exp(1000.0)` to see the warning.",
        "Use two algebraically equal forms: for z >= 0, 1 / (1 + e^(-z)); for z < 0, "
        "e^z / (1 + e^z). In both, exp gets a number <= 0, so it never overflows. With "
        "arrays, compute e = np.exp(-np.abs(z)) once and pick per entry with np.where.",
        "In code (scipy.special.expit does the same in compiled code):\n"
        "    e = np.exp(-np.abs(z))\n"
        "    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))",
    ],
)


# ---------------------------------------------------------------- q2: gradient

def _problem(rng, n, d, scale=1.0):
    X = rng.normal(size=(n, d))
    theta = rng.normal(0.0, scale, size=d + 1)
    y = (rng.random(n) < expit(X @ theta[:-1] + theta[-1])).astype(float)
    return X, y, theta


def _gradient_cases(rng):
    cases = []
    for n, d, scale in [(20, 3, 1.0), (7, 1, 0.5), (50, 5, 2.0), (1, 2, 1.0)]:
        X, y, theta = _problem(rng, n, d, scale)
        cases.append((theta, X, y))
    X, y, _ = _problem(rng, 12, 4)
    cases.append((np.zeros(5), X, y))
    return cases


def _describe_gradient(args):
    theta, X, y = args
    return (f"theta of shape {theta.shape}, X of shape {X.shape} and y with "
            f"{counted(int(np.sum(y)), 'event')} among {counted(len(y), 'patient')}")


def _residual(theta, X, y):
    return expit(X @ theta[:-1] + theta[-1]) - y


q2 = FunctionExercise(
    "the gradient of the mean log loss",
    reference=logistic.gradient,
    cases=_gradient_cases,
    describe=_describe_gradient,
    mistakes=[
        Mistake(lambda t, X, y: np.append(X.T @ _residual(t, X, y),
                                          _residual(t, X, y).sum()),
                "you summed over the patients instead of averaging: the loss is a mean over "
                "n patients, so its gradient is divided by n too"),
        Mistake(lambda t, X, y: X.T @ _residual(t, X, y) / len(y),
                "your gradient has one entry per feature, but theta also holds the bias as "
                "its last entry: the bias needs its own component in the gradient"),
        Mistake(lambda t, X, y: -logistic.gradient(t, X, y),
                "your gradient has the wrong sign (it points downhill): for the mean log "
                "loss each patient contributes (p - y) times its inputs, not (y - p)"),
        Mistake(lambda t, X, y: np.append(X.T @ (expit(X @ t[:-1]) - y) / len(y),
                                          np.mean(expit(X @ t[:-1]) - y)),
                "your predicted probabilities leave out the bias: z = X @ w + b, with b the "
                "last entry of theta"),
        Mistake(lambda t, X, y: np.append(
                    np.mean(expit(X @ t[1:] + t[0]) - y),
                    X.T @ (expit(X @ t[1:] + t[0]) - y) / len(y)),
                "you treated the first entry of theta as the bias; in this course the "
                "weights come first and the bias is the last entry"),
        Mistake(lambda t, X, y: np.append(X.T @ (expit(X @ t[1:] + t[0]) - y) / len(y),
                                          np.mean(expit(X @ t[1:] + t[0]) - y)),
                "you used the first entry of theta as the bias when predicting; in this "
                "course the weights come first and the bias is the last entry"),
        Mistake(lambda t, X, y: np.append(_residual(t, X, y).mean(),
                                          X.T @ _residual(t, X, y) / len(y)),
                "your entries are right but in the wrong order: you put the bias's "
                "component first; theta holds the weights first and the bias last, and so "
                "does its gradient"),
        Mistake(lambda t, X, y: np.append(X.T @ _residual(t, X, y) / len(y),
                                          _residual(t, X, y).sum()),
                "your bias component is a sum over the patients: like the weights' "
                "components, it is a mean (divide by n)",
                applies=lambda t, X, y: len(y) > 1),
    ],
    hints=[
        "Split theta into w = theta[:-1] and b = theta[-1]; compute the predicted "
        "probabilities p = sigmoid(X @ w + b), one per patient.",
        "The gradient for the weights is X.T @ (p - y) / n (one entry per feature); for "
        "the bias it is the mean of (p - y). Stack them with np.append, bias last.",
        "In code:\n"
        "    p = expit(X @ theta[:-1] + theta[-1])\n"
        "    r = p - y\n"
        "    return np.append(X.T @ r / len(y), r.mean())",
    ],
)


# ---------------------------------------------------------------- q3: gradient descent

def _gradient_descent(X, y, lr, steps):
    """fedlab's local training with the whole data set as one batch: gradient descent."""
    return logistic.sgd(logistic.init_params(np.shape(X)[1]), X, y, epochs=steps, batch_size=None,
                     lr=lr)


def _descent_cases(rng):
    cases = []
    for n, d, lr, steps in [(30, 3, 0.5, 10), (40, 2, 0.1, 1), (25, 4, 0.3, 40),
                            (60, 5, 1.0, 20), (10, 1, 0.2, 3)]:
        X, y, _ = _problem(rng, n, d)
        cases.append((X, y, lr, steps))
    X, y, _ = _problem(rng, 15, 2)
    cases.append((X, y, 0.5, 0))
    return cases


def _describe_descent(args):
    X, y, lr, steps = args
    return (f"X of shape {X.shape}, y with {counted(int(np.sum(y)), 'event')} among "
            f"{counted(len(y), 'patient')}, lr={lr}, steps={steps}")


def _last_gradient(X, y, lr, steps):
    theta = np.zeros(X.shape[1] + 1)
    grad = logistic.gradient(theta, X, y)
    for _ in range(steps):
        grad = logistic.gradient(theta, X, y)
        theta = theta - lr * grad
    return grad


def _climb(X, y, lr, steps):
    theta = np.zeros(X.shape[1] + 1)
    for _ in range(steps):
        theta = theta + lr * logistic.gradient(theta, X, y)
    return theta


def _gradient_once(X, y, lr, steps):
    theta = np.zeros(X.shape[1] + 1)
    return theta - steps * lr * logistic.gradient(theta, X, y)


def _no_lr(X, y, lr, steps):
    return _gradient_descent(X, y, 1.0, steps)


q3 = FunctionExercise(
    "gradient descent",
    reference=_gradient_descent,
    cases=_descent_cases,
    describe=_describe_descent,
    mistakes=[
        Mistake(_last_gradient,
                "you returned the gradient, not the updated weights: return theta after the "
                "loop"),
        Mistake(lambda X, y, lr, steps: logistic.gradient(_gradient_descent(X, y, lr, steps),
                                                       X, y),
                "you returned the gradient, not the updated weights: return theta after the "
                "loop"),
        Mistake(_climb,
                "you added the gradient, so every step climbs the loss: gradient descent "
                "moves against the gradient"),
        Mistake(lambda X, y, lr, steps: np.zeros(X.shape[1] + 1),
                "your theta never changes from zeros: assign the update back to theta "
                "inside the loop (theta = theta - ...)"),
        Mistake(_no_lr,
                "your steps ignore the learning rate: each step should move lr times the "
                "gradient"),
        Mistake(lambda X, y, lr, steps: _gradient_descent(X, y, lr, steps + 1),
                "you took one step too many: `steps` updates, no more"),
        Mistake(lambda X, y, lr, steps: _gradient_descent(X, y, lr, max(steps - 1, 0)),
                "you took one step too few: `steps` updates, no fewer"),
        Mistake(_gradient_once,
                "you computed the gradient once, before the loop, and reused it: recompute "
                "it at the current theta in every step",
                applies=lambda X, y, lr, steps: steps > 1),
        Mistake(lambda X, y, lr, steps: np.zeros(X.shape[1]),
                "your theta has no entry for the bias: start from np.zeros(n_features + 1), "
                "the weights and the bias (last)", match="shape"),
    ],
    hints=[
        "Start from theta = np.zeros(n_features + 1) (the weights and the bias), then "
        "repeat `steps` times: compute the gradient at the current theta and take a small "
        "step against it.",
        "Inside the loop, step against the gradient at the current theta; return theta, "
        "not the gradient:\n"
        "    theta = np.zeros(X.shape[1] + 1)\n"
        "    for _ in range(steps):\n"
        "        theta = theta - lr * logistic.gradient(theta, X, y)\n"
        "    return theta",
    ],
)


# ---------------------------------------------------------------- q4: AUC by pairs

def _auc_cases(rng):
    def labels(n, rate):
        y = (rng.random(n) < rate).astype(int)
        y[:2] = [1, 0]  # both classes, always
        return y

    y = labels(30, 0.3)
    cases = [(y, rng.random(30) + 0.5 * y)]                          # no ties
    y = labels(40, 0.25)
    cases.append((y, np.round(rng.random(40) + 0.4 * y, 1)))        # many ties
    cases.append((np.array([0, 0, 0, 1, 1]), np.array([0.1, 0.2, 0.3, 0.8, 0.9])))  # perfect
    cases.append((np.array([1, 0, 1, 0]), np.array([0.5, 0.5, 0.5, 0.5])))  # all tied
    cases.append((np.array([1, 0]), np.array([0.2, 0.7])))          # reversed, one pair
    y = labels(400, 0.1)
    cases.append((y, np.round(rng.normal(size=400) + y, 2)))
    return cases


def _describe_auc(args):
    y, score = args
    ties = len(np.unique(score)) < len(score)
    return (f"y with {counted(int(np.sum(y)), 'event')} among {counted(len(y), 'patient')} and "
            f"{'scores with ties' if ties else 'scores without ties'}")


def _pairs(y, score):
    y, score = np.asarray(y), np.asarray(score, dtype=float)
    pos, neg = score[y == 1], score[y == 0]
    return pos[:, None], neg[None, :]


def _auc_weights(win, tie):
    def auc(y, score):
        pos, neg = _pairs(y, score)
        return float(np.mean(win * (pos > neg) + tie * (pos == neg)))
    return auc


q4 = FunctionExercise(
    "the AUC by counting pairs of patients",
    reference=metrics.roc_auc,
    cases=_auc_cases,
    describe=_describe_auc,
    mistakes=[
        Mistake(_auc_weights(1.0, 1.0),
                "you counted tied pairs as correctly ranked; a tie says nothing about which "
                "patient is at higher risk, so it counts as half a pair"),
        Mistake(_auc_weights(1.0, 0.0),
                "you counted tied pairs as wrongly ranked; a tie says nothing about which "
                "patient is at higher risk, so it counts as half a pair"),
        Mistake(lambda y, s: 1 - metrics.roc_auc(y, s),
                "your AUC is flipped (1 minus the right value): a pair is ranked correctly "
                "when the patient WITH the event has the higher score"),
        Mistake(lambda y, s: float(np.sum((_pairs(y, s)[0] > _pairs(y, s)[1])
                                          + 0.5 * (_pairs(y, s)[0] == _pairs(y, s)[1]))
                                   / (len(y) * (len(y) - 1) / 2)),
                "you divided by the number of all pairs of patients; divide by the number "
                "of (event, no event) pairs: n_events x n_no_events"),
        Mistake(lambda y, s: float(np.sum((_pairs(y, s)[0] > _pairs(y, s)[1])
                                          + 0.5 * (_pairs(y, s)[0] == _pairs(y, s)[1]))
                                   / len(y) ** 2),
                "you divided by n^2; divide by the number of (event, no event) pairs: "
                "n_events x n_no_events"),
        Mistake(lambda y, s: float(np.mean((_pairs(y, s)[0] >= _pairs(y, s)[1])
                                           + 0.5 * (_pairs(y, s)[0] == _pairs(y, s)[1]))),
                "your tied pairs count one and a half: `>=` already counts a tie once, and "
                "the 0.5 counts it again; use `>` with the 0.5 for ties"),
        Mistake(lambda y, s: float(np.sum((_pairs(y, s)[0] > _pairs(y, s)[1])
                                          + 0.5 * (_pairs(y, s)[0] == _pairs(y, s)[1]))),
                "you returned the number of correctly ranked pairs: the AUC is their share "
                "of all (event, no event) pairs"),
    ],
    hints=[
        "Take the scores of the patients with an event (y == 1) and of those without "
        "(y == 0). Every (event, no event) pair is one comparison.",
        "Broadcasting builds all pairs at once: pos[:, None] > neg[None, :] is a table of "
        "True/False, one row per event, one column per non-event. Ties count one half.",
        "In code:\n"
        "    pos, neg = score[y == 1], score[y == 0]\n"
        "    return np.mean((pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :]))",
    ],
)
