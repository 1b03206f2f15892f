"""Exercises of lesson 04, heterogeneous hospitals.

q1 the FedProx local gradient (Li et al. 2020), q2 a SCAFFOLD client's round
(Karimireddy et al. 2020), q3 the FedAdam server step (Reddi et al. 2021), q4 per-site
logistic recalibration (intercept and slope). The references are fedlab's own FedProx and
SCAFFOLD steps (:func:`fedlab.models.logistic.sgd`), Kingma and Ba's own form of Adam's step, and
:func:`fedlab.personalize.recalibration`.
"""

from __future__ import annotations

import numpy as np

from fedlab.exercises import FunctionExercise, Mistake
from fedlab.exercises._compare import counted
from fedlab.federated.client import scaffold_control
from fedlab.models import logistic
from fedlab.personalize import recalibration

__all__ = ["q1", "q2", "q3", "q4"]


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


# -- q3: the FedAdam server step ------------------------------------------------------------

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


def _q3_cases(rng):
    cases = []
    for d, t, lr, tau in ((3, 1, 0.1, 1e-3), (4, 2, 0.03, 1e-2), (2, 5, 0.1, 1e-1),
                          (5, 10, 0.01, 1e-3), (3, 3, 0.05, 0.5)):
        theta = rng.normal(size=d).round(3)
        m = rng.normal(scale=0.1, size=d).round(4) if t > 1 else np.zeros(d)
        v = rng.uniform(0.001, 0.05, size=d).round(4) if t > 1 else np.zeros(d)
        delta = rng.normal(scale=0.2, size=d).round(4)
        cases.append((theta, m, v, delta, t, lr, 0.9, 0.99, tau))
    return cases


q3 = FunctionExercise(
    "FedAdam: one server step on the round's mean update",
    reference=_fedadam_step,
    cases=_q3_cases,
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


# -- q4: per-site recalibration -------------------------------------------------------------

def _q4_cases(rng):
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


q4 = FunctionExercise(
    "Logistic recalibration of the global model at one site",
    reference=recalibration,
    cases=_q4_cases,
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
