"""Exercises of lesson 04, heterogeneous hospitals.

q1 the FedProx local gradient (Li et al. 2020), q2 a SCAFFOLD client's round
(Karimireddy et al. 2020), q3 the FedAdam server step (Reddi et al. 2021), q4 per-site
logistic recalibration (intercept and slope). Messages name the mistake, never the
expected value.
"""

from __future__ import annotations

import numpy as np

from fedlab import model
from fedlab.exercises._core import FunctionExercise, Mistake, _short

__all__ = ["q1", "q2", "q3", "q4"]


class _Exercise(FunctionExercise):
    """A FunctionExercise whose fallback message shows the case and the answer, not the key."""

    def _explain(self, args, got, problem):
        message = super()._explain(args, got, problem)
        if message.startswith(f"with {self.describe(args)}: "):
            return (f"with {self.describe(args)} your function returned {_short(got)}, which "
                    "is not the right result; compare it with the formula in the text, term by "
                    "term (hint() helps)")
        return message


def _returned_none(*args):
    return None


_NONE = Mistake(_returned_none, "your function returned None: is a `return` missing?")


def _data(rng, n, d, prevalence=0.3):
    X = rng.normal(size=(n, d)).round(3)
    y = (rng.random(n) < prevalence).astype(float)
    y[0], y[1] = 0.0, 1.0
    return X, y


# -- q1: FedProx's local gradient -----------------------------------------------------------

def _fedprox_gradient(theta, anchor, X, y, mu):
    theta, anchor = np.asarray(theta, float), np.asarray(anchor, float)
    return model.gradient(theta, X, y) + mu * (theta - anchor)


def _q1_cases(rng):
    cases = []
    for n, d, mu in ((20, 2, 0.1), (50, 4, 1.0), (8, 1, 0.5), (30, 3, 0.01), (12, 2, 2.0)):
        X, y = _data(rng, n, d)
        theta = rng.normal(size=d + 1).round(3)
        anchor = theta + rng.normal(scale=0.5, size=d + 1).round(3)
        cases.append((theta, anchor, X, y, mu))
    return cases


def _no_bias(theta, anchor, X, y, mu):
    pull = mu * (np.asarray(theta, float) - np.asarray(anchor, float))
    pull[-1] = 0.0
    return model.gradient(np.asarray(theta, float), X, y) + pull


q1 = _Exercise(
    "FedProx: the gradient of a client's local objective",
    reference=_fedprox_gradient,
    cases=_q1_cases,
    describe=lambda a: f"mu={a[4]}, {len(a[3])} records, {len(a[0])} parameters",
    mistakes=[
        Mistake(lambda t, a, X, y, mu: model.gradient(np.asarray(t, float), X, y)
                + mu * (np.asarray(a, float) - np.asarray(t, float)),
                "the proximal term has the wrong sign: it must pull theta back towards the "
                "global model, so its gradient is mu * (theta - global), not the reverse"),
        Mistake(_no_bias,
                "you left the intercept out of the proximal term: unlike the L2 penalty, "
                "FedProx's ||theta - global||^2 covers every parameter, the intercept too"),
        Mistake(lambda t, a, X, y, mu: model.gradient(np.asarray(t, float), X, y)
                + 0.5 * mu * (np.asarray(t, float) - np.asarray(a, float)),
                "the derivative of mu/2 ||theta - global||^2 is mu (theta - global): the 1/2 "
                "cancels against the square"),
        Mistake(lambda t, a, X, y, mu: model.gradient(np.asarray(t, float), X, y),
                "this is FedAvg's gradient: the proximal term is missing"),
        Mistake(lambda t, a, X, y, mu: mu * (np.asarray(t, float) - np.asarray(a, float)),
                "only the proximal term: the gradient of the local loss is missing"),
        _NONE,
    ],
    hints=[
        "FedProx's client minimizes F_k(theta) + mu/2 ||theta - theta_global||^2.",
        "Its gradient is the loss gradient (fedlab.model.gradient) plus mu times the "
        "difference theta - theta_global, over all parameters.",
    ],
)


# -- q2: a SCAFFOLD client's round ----------------------------------------------------------

def _scaffold_client(x, c, c_i, X, y, lr, steps):
    x = np.asarray(x, float)
    y_local = x.copy()
    for _ in range(steps):
        y_local = y_local - lr * (model.gradient(y_local, X, y) - c_i + c)
    new_c_i = c_i - c + (x - y_local) / (steps * lr)
    return y_local - x, new_c_i


def _scaffold_variant(correction_sign=1.0, control_sign=1.0, divide_steps=True):
    def wrong(x, c, c_i, X, y, lr, steps):
        x = np.asarray(x, float)
        y_local = x.copy()
        for _ in range(steps):
            y_local = y_local - lr * (model.gradient(y_local, X, y)
                                      + correction_sign * (c - c_i))
        scale = steps * lr if divide_steps else lr
        return y_local - x, c_i - c + control_sign * (x - y_local) / scale
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


q2 = _Exercise(
    "SCAFFOLD: one client's corrected local steps and its new control variate",
    reference=_scaffold_client,
    cases=_q2_cases,
    describe=lambda a: f"lr={a[5]}, steps={a[6]}, {len(a[0])} parameters",
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
        Mistake(lambda x, c, c_i, X, y, lr, K: _scaffold_variant(correction_sign=0.0)(
            x, c, c_i, X, y, lr, K),
                "your local steps are plain SGD: SCAFFOLD adds the correction c - c_i to "
                "every step's gradient"),
        _NONE,
    ],
    hints=[
        "Start y at the global model x; take K steps y <- y - lr (g_i(y) - c_i + c).",
        "Then c_i+ = c_i - c + (x - y) / (K lr) and the client returns (y - x, c_i+).",
    ],
)


# -- q3: the FedAdam server step ------------------------------------------------------------

def _fedadam_step(theta, m, v, delta, t, lr, beta_1, beta_2, tau):
    m = beta_1 * np.asarray(m, float) + (1 - beta_1) * np.asarray(delta, float)
    v = beta_2 * np.asarray(v, float) + (1 - beta_2) * np.asarray(delta, float) ** 2
    m_hat, v_hat = m / (1 - beta_1 ** t), v / (1 - beta_2 ** t)
    return np.asarray(theta, float) + lr * m_hat / (np.sqrt(v_hat) + tau), m, v


def _adam_variant(correct=True, tau_inside=False, sign=1.0, square=True):
    def wrong(theta, m, v, delta, t, lr, b1, b2, tau):
        delta = np.asarray(delta, float)
        m = b1 * np.asarray(m, float) + (1 - b1) * delta
        v = b2 * np.asarray(v, float) + (1 - b2) * (delta ** 2 if square else delta)
        m_hat, v_hat = (m / (1 - b1 ** t), v / (1 - b2 ** t)) if correct else (m, v)
        with np.errstate(invalid="ignore"):
            denominator = np.sqrt(v_hat + tau) if tau_inside else np.sqrt(v_hat) + tau
        return np.asarray(theta, float) + sign * lr * m_hat / denominator, m, v
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


q3 = _Exercise(
    "FedAdam: one server step on the round's mean update",
    reference=_fedadam_step,
    cases=_q3_cases,
    describe=lambda a: f"round t={a[4]}, lr={a[5]}, tau={a[8]}, {len(a[0])} parameters",
    mistakes=[
        Mistake(_adam_variant(correct=False),
                "no bias correction: divide m by (1 - beta_1^t) and v by (1 - beta_2^t) "
                "before the step, or the first rounds' steps are far too small"),
        Mistake(_adam_variant(tau_inside=True),
                "tau goes outside the square root: m_hat / (sqrt(v_hat) + tau)"),
        Mistake(_adam_variant(sign=-1.0),
                "the step goes the wrong way: Delta is the clients' mean *update* (minus a "
                "gradient), so the server adds lr * m_hat / (...), it does not subtract it"),
        Mistake(_adam_variant(square=False),
                "v tracks the squared update: use Delta**2, not Delta"),
        _NONE,
    ],
    hints=[
        "m <- beta_1 m + (1 - beta_1) Delta and v <- beta_2 v + (1 - beta_2) Delta^2.",
        "Bias-correct both with the round t, then theta + lr * m_hat / (sqrt(v_hat) + tau); "
        "return (theta, m, v) with the uncorrected m and v.",
    ],
)


# -- q4: per-site recalibration -------------------------------------------------------------

def _recalibration(logit, y):
    slope, intercept = model.fit(np.asarray(logit, float).reshape(-1, 1), y)
    return float(intercept), float(slope)


def _q4_cases(rng):
    cases = []
    for n, a, b in ((200, 0.5, 0.8), (400, -0.7, 1.3), (150, 0.0, 1.0), (300, 1.0, 0.5)):
        logit = rng.normal(-1.5, 1.2, size=n).round(3)
        y = (rng.random(n) < model.sigmoid(a + b * logit)).astype(float)
        cases.append((logit, y))
    return cases


def _intercept_only(logit, y):
    logit = np.asarray(logit, float)
    a = 0.0
    for _ in range(50):
        p = model.sigmoid(a + logit)
        a += np.sum(y - p) / np.sum(p * (1 - p))
    return float(a), 1.0


q4 = _Exercise(
    "Logistic recalibration of the global model at one site",
    reference=_recalibration,
    cases=_q4_cases,
    rtol=1e-4, atol=1e-4,
    describe=lambda a: f"{len(a[1])} patients with {int(np.sum(a[1]))} events",
    mistakes=[
        Mistake(lambda lg, y: _recalibration(lg, y)[::-1],
                "intercept and slope are swapped: return (intercept, slope)"),
        Mistake(_intercept_only,
                "you fitted the intercept only (slope fixed at 1): recalibration fits both"),
        Mistake(lambda lg, y: tuple(float(v) for v in np.polyfit(np.asarray(lg, float), y,
                                                                 1)[::-1]),
                "a straight line fitted to 0/1 outcomes is not a logistic regression: fit "
                "logit P(y) = a + b * logit by maximum likelihood"),
        _NONE,
    ],
    hints=[
        "Recalibration is a logistic regression with one feature: the global model's logit.",
        "fedlab.model.fit(logit.reshape(-1, 1), y) returns (slope, intercept), in that "
        "order (the intercept comes last).",
    ],
)
