"""Checks for lesson 06a, differential privacy: clipping, the Gaussian mechanism, accounting.

``from fedlab.exercises import lesson06a as ex``, then ``ex.q1.check(clip)``,
``ex.q2.check(gaussian_release)`` and ``ex.q3.check(epsilon_by_hand)``.
"""

from __future__ import annotations

import numpy as np

from fedlab import privacy
from fedlab.exercises import FunctionExercise, Mistake
from fedlab.exercises._compare import counted, number, short
from fedlab.privacy import DEFAULT_ORDERS

__all__ = ["q1", "q2", "q3"]


# q1: clipping -----------------------------------------------------------------------------

def _q1_cases(rng):
    cases = [(np.array([3.0, 4.0]), 1.0), (np.array([0.3, 0.4]), 1.0),
             (np.array([0.6, 0.8]), 1.0), (np.zeros(3), 0.5), (np.array([-7.0]), 2.0),
             (np.array([0.3, 0.4]), 0.25), (np.array([1.2, 1.6]), 3.0)]  # C < |v| < 1, 1 < |v| < C
    for _ in range(4):
        v = rng.normal(scale=rng.choice([0.1, 1.0, 10.0]), size=int(rng.integers(2, 12)))
        cases.append((v, float(rng.uniform(0.1, 3.0))))
    return cases


q1 = FunctionExercise(
    "clip a vector to L2 norm at most C",
    reference=privacy.clip_by_l2_norm,
    cases=_q1_cases,
    mistakes=[
        Mistake(lambda v, C: np.asarray(v) * (C / np.linalg.norm(v)),
                "you rescaled every vector to norm exactly C, short ones too (and a zero "
                "vector became NaN): clipping only shortens vectors longer than C"),
        Mistake(lambda v, C: np.clip(v, -C, C),
                "you clipped each coordinate to [-C, C]: that bounds the coordinates, not "
                "the length; scale the whole vector by C / ||v|| instead, keeping its "
                "direction"),
        Mistake(lambda v, C: np.asarray(v) / max(1.0, np.linalg.norm(v)),
                "you clipped to norm 1 whatever C is: use min(1, C / ||v||)"),
        Mistake(lambda v, C: np.asarray(v) * min(1.0, C / max(np.abs(v).sum(), 1e-300)),
                "you used the L1 norm (sum of absolute values): the sensitivity of the "
                "Gaussian mechanism is measured in the L2 norm, np.linalg.norm(v)"),
        Mistake(lambda v, C: np.asarray(v) * min(1.0, np.linalg.norm(v) / C),
                "the ratio is upside down: a long vector is multiplied by C / ||v||, which is "
                "below 1 exactly when the vector is longer than C"),
        Mistake(lambda v, C: np.asarray(v) / np.linalg.norm(v) if np.linalg.norm(v) > C
                else np.asarray(v),
                "you shortened long vectors to length 1: multiply them by C / ||v||, so "
                "their length becomes C",
                applies=lambda v, C: C != 1.0),
        Mistake(lambda v, C: np.asarray(v) * min(1.0, C / max(np.sum(np.square(v)), 1e-300)),
                "you used the squared norm (the sum of squares): the length is its square "
                "root, np.linalg.norm(v)"),
    ],
    hints=[
        "Compute the vector's length with np.linalg.norm(v) and compare it with C.",
        "A vector no longer than C is returned unchanged; a longer one is multiplied by "
        "C / ||v||, so its direction is kept and its length becomes C.",
        "In code:\n"
        "    norm = np.linalg.norm(v)\n"
        "    return v if norm <= C else v * (C / norm)",
    ],
)


# q2: the Gaussian mechanism ---------------------------------------------------------------
def _gaussian_release(value, sensitivity, noise_multiplier, random_state):
    """fedlab's Gaussian mechanism, its arguments in the exercise's order."""
    return privacy.gaussian_mechanism(value, sensitivity=sensitivity,
                                      noise_multiplier=noise_multiplier,
                                      random_state=random_state)


def _with_seed(wrong):
    def release(value, sensitivity, noise_multiplier, random_state):
        return wrong(value, sensitivity, noise_multiplier, np.random.default_rng(random_state))
    return release


def _q2_cases(rng):
    cases = [(412, 1.0, 5.0, 0), (37, 1.0, 0.0, 1), (120.0, 1.0, 2.0, 2),
             (5480.0, 100.0, 1.5, 3), (np.array([1.5, -0.3, 0.2]), 0.5, 1.1, 4)]
    for seed in range(5, 8):
        value = rng.normal(size=int(rng.integers(2, 6))) if seed % 2 else float(
            rng.integers(0, 1000))
        cases.append((value, float(rng.uniform(0.1, 10)), float(rng.uniform(0.5, 4)), seed))
    return cases


q2 = FunctionExercise(
    "the Gaussian mechanism",
    reference=_gaussian_release,
    cases=_q2_cases,
    mistakes=[
        Mistake(_with_seed(lambda v, s, m, g: v + g.normal(0.0, m, size=np.shape(v))),
                "the noise std is the noise multiplier alone: scale it by the sensitivity, "
                "std = noise_multiplier * sensitivity"),
        Mistake(_with_seed(lambda v, s, m, g: v + g.normal(0.0, (m * s) ** 2, size=np.shape(v))),
                "you passed the variance (sigma * sensitivity)^2 where numpy expects the "
                "standard deviation"),
        Mistake(_with_seed(lambda v, s, m, g: v + g.normal(0.0, s / m, size=np.shape(v))),
                "you divided the sensitivity by the noise multiplier: more noise must come "
                "from a larger multiplier, std = noise_multiplier * sensitivity",
                applies=lambda v, s, m, seed: m > 0),
        Mistake(_with_seed(lambda v, s, m, g: v + g.normal(0.0, m * s)),
                "you drew one noise number and added it to every coordinate: each "
                "coordinate needs its own draw (size=np.shape(value))"),
        Mistake(lambda v, s, m, seed: v,
                "no noise was added: the exact answer is what differential privacy hides"),
        Mistake(lambda v, s, m, seed: v + np.random.RandomState(seed).normal(
                    0.0, m * s, size=np.shape(v)),
                "you seeded numpy's global generator (np.random.seed) and drew from it: that "
                "is another stream of numbers than a generator's, and it reseeds the "
                "randomness of every other cell too. Make your own: rng = "
                "np.random.default_rng(random_state), then rng.normal(...)",
                applies=lambda v, s, m, seed: m > 0),
        Mistake(_with_seed(lambda v, s, m, g: v + g.laplace(0.0, m * s, size=np.shape(v))),
                "you drew Laplace noise: the Gaussian mechanism adds normal noise, "
                "rng.normal(0, noise_multiplier * sensitivity, ...)",
                applies=lambda v, s, m, seed: m > 0),
    ],
    describe=lambda args: (f"value={short(np.round(args[0], 3))}, sensitivity="
                           f"{number(args[1])}, noise_multiplier={number(args[2])}, "
                           f"random_state={args[3]}"),
    hints=[
        "Make a generator with rng = np.random.default_rng(random_state), then add "
        "rng.normal(...) to the value.",
        "The standard deviation is noise_multiplier * sensitivity; draw one number per "
        "coordinate with size=np.shape(value).",
        "In code:\n"
        "    rng = np.random.default_rng(random_state)\n"
        "    return value + rng.normal(0, noise_multiplier * sensitivity, size=np.shape(value))",
    ],
)


# q3: epsilon of one Gaussian release, by hand ---------------------------------------------
def _epsilon_of_one_release(sigma, delta, orders):
    """fedlab's accountant for one Gaussian release (no subsampling, one step)."""
    return privacy.epsilon(noise_multiplier=sigma, sample_rate=1.0, steps=1, delta=delta,
                           orders=orders)


def _q3_mistake(rdp, convert, pick=np.min):
    def wrong(sigma, delta, orders):
        alphas = np.asarray(orders, dtype=float)
        return float(pick(convert(rdp(alphas, sigma), alphas, delta)))
    return wrong


def _half(alphas, sigma):
    return alphas / (2 * sigma**2)


def _improved(r, alphas, delta):
    return r + np.log1p(-1 / alphas) - (np.log(delta) + np.log(alphas)) / (alphas - 1)


def _improved_log10(r, alphas, delta):
    return r + np.log10(1 - 1 / alphas) - (np.log10(delta) + np.log10(alphas)) / (alphas - 1)


def _best_order(sigma, delta, orders):
    alphas = np.asarray(orders, dtype=float)
    return float(alphas[np.argmin(_improved(_half(alphas, sigma), alphas, delta))])


def _q3_cases(rng):
    cases = [(3.0, 1e-5, DEFAULT_ORDERS), (1.0, 1e-5, DEFAULT_ORDERS), (2.0, 1e-6, DEFAULT_ORDERS),
             (5.0, 1e-6, DEFAULT_ORDERS), (0.8, 1e-3, (2.0, 4.0, 8.0, 16.0, 32.0, 64.0))]
    for _ in range(3):
        cases.append((float(rng.uniform(0.5, 10.0)), float(10 ** rng.uniform(-7, -3)),
                      DEFAULT_ORDERS))
    return cases


q3 = FunctionExercise(
    "epsilon of one Gaussian release, by hand (RDP)",
    reference=_epsilon_of_one_release,
    cases=_q3_cases,
    mistakes=[
        Mistake(_q3_mistake(_half, lambda r, a, d: r + np.log(1 / d) / (a - 1)),
                "that is Mironov's original conversion, r + log(1/delta) / (alpha - 1): "
                "correct but looser; use the improved one, with the log((alpha - 1) / alpha) "
                "and log(alpha) terms"),
        Mistake(_q3_mistake(lambda a, s: a / s**2, _improved),
                "the RDP of the Gaussian mechanism is alpha / (2 sigma^2): you forgot the 2"),
        Mistake(_q3_mistake(lambda a, s: a / (2 * s), _improved),
                "the RDP of the Gaussian mechanism is alpha / (2 sigma^2): sigma is squared"),
        Mistake(_q3_mistake(_half, _improved, pick=np.max),
                "you took the largest epsilon over the orders: every order gives a valid "
                "guarantee, so keep the smallest"),
        Mistake(_q3_mistake(_half, lambda r, a, d: r + np.log1p(-1 / a)
                            - (np.log(1 / d) + np.log(a)) / (a - 1)),
                "a sign slipped: the conversion subtracts (log(delta) + log(alpha)) / "
                "(alpha - 1), and log(delta) is negative"),
        Mistake(_q3_mistake(_half, _improved_log10),
                "you used log10: the conversion's logarithms are natural ones, np.log "
                "(np.log1p for log(1 - 1/alpha))"),
        Mistake(_q3_mistake(_half, lambda r, a, d: r - np.log1p(-1 / a)
                            - (np.log(d) + np.log(a)) / (a - 1)),
                "a sign slipped: the term log((alpha - 1) / alpha) is added (it is negative, "
                "so it lowers epsilon), not subtracted"),
        Mistake(_q3_mistake(_half, lambda r, a, d: r + np.log1p(-1 / a) - np.log(d) / (a - 1)),
                "the conversion subtracts (log(delta) + log(alpha)) / (alpha - 1): the "
                "log(alpha) part is missing"),
        Mistake(_best_order,
                "you returned the best order alpha, not the epsilon it gives"),
    ],
    describe=lambda args: (f"sigma={number(args[0])}, delta={number(args[1])}, "
                           f"{counted(len(args[2]), 'order')}"),
    hints=[
        "First the RDP curve: at order alpha, one Gaussian release with noise multiplier "
        "sigma has RDP alpha / (2 sigma^2). Make alphas = np.asarray(orders).",
        "Convert each order: eps(alpha) = rdp + log((alpha - 1) / alpha) - (log(delta) + "
        "log(alpha)) / (alpha - 1). Every order is a valid bound.",
        "In code:\n"
        "    alphas = np.asarray(orders, dtype=float)\n"
        "    rdp = alphas / (2 * sigma**2)\n"
        "    return float(np.min(rdp + np.log1p(-1 / alphas) - (np.log(delta) + "
        "np.log(alphas)) / (alphas - 1)))",
    ],
)
