"""Exercises of lesson 04b, the fixes, personalization and fairness.

q1 the FedAdam server step (Reddi et al. 2021), q2 per-site logistic recalibration
(intercept and slope). The references are Kingma and Ba's own form of Adam's step and
:func:`fedlab.personalize.recalibration`.
"""

from __future__ import annotations

import numpy as np

from fedlab.exercises import FunctionExercise, Mistake
from fedlab.exercises._compare import counted
from fedlab.models import logistic
from fedlab.personalize import recalibration

__all__ = ["q1", "q2"]


def _floats(*arrays):
    return [np.asarray(a, dtype=float) for a in arrays]


# -- q1: the FedAdam server step ------------------------------------------------------------

def _fedadam_step(theta, m, v, delta, t, lr, beta_1, beta_2, tau):
    """Adam's step in Kingma and Ba's own efficient form (section 2 of their paper).

    The bias corrections move into the step size, ``lr_t = lr sqrt(1 - b2^t) / (1 - b1^t)``,
    and ``tau`` becomes ``tau sqrt(1 - b2^t)``: the same step as ``m_hat / (sqrt(v_hat) +
    tau)``, written another way.
    """
    theta, m, v, delta = _floats(theta, m, v, delta)
    m = beta_1 * m + (1 - beta_1) * delta
    v = beta_2 * v + (1 - beta_2) * np.square(delta)
    root = np.sqrt(1 - beta_2 ** t)
    lr_t = lr * root / (1 - beta_1 ** t)
    return theta + lr_t * m / (np.sqrt(v) + tau * root), m, v


def _adam_variant(correct=True, tau_inside=False, sign=1.0, square=True, give_hat=False,
                  betas_swapped=False):
    def wrong(theta, m, v, delta, t, lr, b1, b2, tau):
        theta, m, v, delta = _floats(theta, m, v, delta)
        if betas_swapped:
            b1, b2 = b2, b1
        m = b1 * m + (1 - b1) * delta
        v = b2 * v + (1 - b2) * (delta ** 2 if square else delta)
        m_hat, v_hat = (m / (1 - b1 ** t), v / (1 - b2 ** t)) if correct else (m, v)
        with np.errstate(invalid="ignore"):
            denominator = np.sqrt(v_hat + tau) if tau_inside else np.sqrt(v_hat) + tau
        kept = (m_hat, v_hat) if give_hat else (m, v)
        return theta + sign * lr * m_hat / denominator, *kept
    return wrong


def _q1_cases(rng):
    cases = []
    for d, t, lr, tau in ((3, 1, 0.1, 1e-3), (4, 2, 0.03, 1e-2), (2, 5, 0.1, 1e-1),
                          (5, 10, 0.01, 1e-3), (3, 3, 0.05, 0.5)):
        theta = rng.normal(size=d).round(3)
        m = rng.normal(scale=0.1, size=d).round(4) if t > 1 else np.zeros(d)
        v = rng.uniform(0.001, 0.05, size=d).round(4) if t > 1 else np.zeros(d)
        delta = rng.normal(scale=0.2, size=d).round(4)
        cases.append((theta, m, v, delta, t, lr, 0.9, 0.99, tau))
    return cases


q1 = FunctionExercise(
    "FedAdam: one server step on the round's mean update",
    reference=_fedadam_step,
    cases=_q1_cases,
    returns=("theta", "m", "v"),
    describe=lambda a: (f"round t={a[4]}, lr={a[5]}, tau={a[8]}, "
                        f"{counted(len(a[0]), 'parameter')}"),
    mistakes=[
        Mistake(_adam_variant(correct=False),
                "no bias correction: divide m by (1 - beta_1^t) and v by (1 - beta_2^t) "
                "before the step, or the first rounds' steps are far too small"),
        Mistake(_adam_variant(tau_inside=True),
                "tau goes outside the square root: m_hat / (sqrt(v_hat) + tau)"),
        Mistake(_adam_variant(sign=-1.0),
                "the step goes the wrong way: Delta is the clients' mean update (minus a "
                "gradient), so the server adds lr * m_hat / (...), it does not subtract it"),
        Mistake(_adam_variant(square=False),
                "v tracks the squared update: use Delta**2, not Delta"),
        Mistake(_adam_variant(give_hat=True),
                "you returned the bias-corrected m_hat and v_hat: the server keeps the "
                "uncorrected m and v for the next round, and corrects them anew each round"),
        Mistake(_adam_variant(betas_swapped=True),
                "beta_1 and beta_2 are swapped: m averages the updates with beta_1, v their "
                "squares with beta_2"),
    ],
    hints=[
        "m <- beta_1 m + (1 - beta_1) Delta and v <- beta_2 v + (1 - beta_2) Delta^2.",
        "Bias-correct both with the round t, then theta + lr * m_hat / (sqrt(v_hat) + tau); "
        "return (theta, m, v) with the uncorrected m and v.",
    ],
)


# -- q2: per-site recalibration -------------------------------------------------------------

def _q2_cases(rng):
    cases = []
    for n, a, b in ((200, 0.5, 0.8), (400, -0.7, 1.3), (150, 0.0, 1.0), (300, 1.0, 0.5)):
        logit = rng.normal(-1.5, 1.2, size=n).round(3)
        y = (rng.random(n) < logistic.sigmoid(a + b * logit)).astype(float)
        cases.append((logit, y))
    return cases


def _intercept_only(logit, y):
    """The intercept's maximum-likelihood estimate with the slope fixed at 1 (Newton)."""
    logit = np.asarray(logit, dtype=float)
    a = 0.0
    for _ in range(50):
        p = logistic.sigmoid(a + logit)
        a += np.sum(y - p) / np.sum(p * (1 - p))
    return float(a), 1.0


def _straight_line(logit, y):
    slope, intercept = np.polyfit(np.asarray(logit, dtype=float), y, 1)
    return float(intercept), float(slope)


q2 = FunctionExercise(
    "Logistic recalibration of the global model at one site",
    reference=recalibration,
    cases=_q2_cases,
    returns=("intercept", "slope"),
    rtol=1e-4, atol=1e-4,
    describe=lambda a: (f"{counted(len(a[1]), 'patient')} with "
                        f"{counted(int(np.sum(a[1])), 'event')}"),
    mistakes=[
        Mistake(lambda logit, y: recalibration(logistic.sigmoid(logit), y),
                "you fitted on the predicted risks: recalibration regresses the outcomes on "
                "the global model's logit (its log-odds), the input as given"),
        Mistake(_intercept_only,
                "you fitted the intercept only (slope fixed at 1): recalibration fits both"),
        Mistake(_straight_line,
                "a straight line fitted to 0/1 outcomes is not a logistic regression: fit "
                "logit P(y) = a + b * logit by maximum likelihood"),
    ],
    hints=[
        "Recalibration is a logistic regression with one feature: the global model's logit.",
        "logistic.fit returns (slope, intercept), in that order (the intercept comes "
        "last); return them the other way round:\n"
        "    slope, intercept = logistic.fit(np.reshape(logit, (-1, 1)), y)\n"
        "    return intercept, slope",
    ],
)
