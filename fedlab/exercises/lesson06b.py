"""Checks for lesson 06b, training with DP: DP-SGD's step, DP-FedAvg's step, a budget's settings.

``from fedlab.exercises import lesson06b as ex``, then ``ex.q1.check(dp_sgd_step)``,
``ex.q2.check(dp_fedavg_step)`` and ``ex.q3.check(dp_fedavg_settings)``.
"""

from __future__ import annotations

import functools
import numbers

import numpy as np

from fedlab import data, federated, privacy
from fedlab.exercises import FunctionExercise, Mistake
from fedlab.exercises._compare import counted, number, short

__all__ = ["q1", "q2", "q3", "N_DEVICES", "TARGET_AUC", "MAX_ROUNDS"]


# q1: DP-SGD's clip-and-noise step -----------------------------------------------------------
def _noisy_mean(vectors, clip_norm, noise_multiplier, expected, random_state):
    """fedlab's clipping and Gaussian noise: (sum of clipped rows + noise) / expected."""
    total = privacy.clip_by_l2_norm(np.asarray(vectors, dtype=float), clip_norm).sum(axis=0)
    return privacy.add_gaussian_noise(total, noise_std=noise_multiplier * clip_norm,
                                      random_state=random_state) / expected


def _noise(shape, std, random_state):
    return np.random.default_rng(random_state).normal(0.0, std, size=shape)


def _q1_cases(rng):
    cases = []
    for batch, d, clip_norm, sigma in ((12, 12, 1.0, 1.1), (5, 4, 0.5, 2.0), (30, 12, 2.0, 0.8),
                                       (1, 3, 0.1, 5.0)):
        grads = rng.normal(scale=rng.choice([0.3, 1.0, 3.0]), size=(batch, d))
        expected = float(batch + rng.integers(-2, 4)) if batch > 2 else 2.5
        cases.append((grads, clip_norm, sigma, expected, int(rng.integers(1000))))
    cases.append((np.zeros((0, 4)), 1.0, 1.5, 3.0, 7))  # Poisson sampling drew nobody
    return cases


def _has_records(grads, *rest):
    return len(grads) > 0


def _q1_describe(args):
    grads, clip_norm, sigma, expected, seed = args
    return (f"{counted(grads.shape[0], 'per-record gradient')} of "
            f"{counted(grads.shape[1], 'parameter')}, clip_norm={number(clip_norm)}, "
            f"noise_multiplier={number(sigma)}, expected_batch_size={number(expected)}, "
            f"random_state={seed}")


q1 = FunctionExercise(
    "DP-SGD's step: clip each record's gradient, add noise to the sum",
    reference=_noisy_mean,
    cases=_q1_cases,
    mistakes=[
        Mistake(lambda g, c, s, e, r: (privacy.clip_by_l2_norm(g.sum(axis=0), c)
                                       + _noise(g.shape[1], s * c, r)) / e,
                "you clipped the batch's summed gradient: clip each record's gradient "
                "(each row) before summing, so that one patient moves the sum by at most "
                "clip_norm",
                applies=_has_records),
        Mistake(lambda g, c, s, e, r: (privacy.clip_by_l2_norm(g, c)
                                       + _noise(g.shape, s * c, r)).sum(axis=0) / e,
                "you added noise to every record's gradient: add one draw of noise to the "
                "sum (each record's own noise adds up to sqrt(batch) times too much, and "
                "costs nothing in privacy terms that the one draw does not already pay)",
                applies=_has_records),
        Mistake(lambda g, c, s, e, r: (privacy.clip_by_l2_norm(g, c).sum(axis=0)
                                       + _noise(g.shape[1], s, r)) / e,
                "the noise's standard deviation is the noise multiplier alone: it is "
                "noise_multiplier * clip_norm, the sensitivity of the sum being clip_norm"),
        Mistake(lambda g, c, s, e, r: (privacy.clip_by_l2_norm(g, c).sum(axis=0)
                                       + _noise(g.shape[1], s * c, r)) / len(g),
                "you divided by the batch's realized size: divide by the expected batch "
                "size q n, which does not depend on who was drawn (the realized size would "
                "itself reveal whether a patient was in the batch)",
                applies=_has_records),
        Mistake(lambda g, c, s, e, r: privacy.clip_by_l2_norm(g, c).sum(axis=0) / e
                + _noise(g.shape[1], s * c, r),
                "you added the noise after dividing: add N(0, (sigma C)^2) to the sum, "
                "then divide everything by the expected batch size"),
        Mistake(lambda g, c, s, e, r: privacy.clip_by_l2_norm(g, c).sum(axis=0) / e,
                "no noise was added: clipping bounds each patient's influence, the noise "
                "hides it"),
        Mistake(lambda g, c, s, e, r: (g.sum(axis=0) + _noise(g.shape[1], s * c, r)) / e,
                "you did not clip: without clipping one patient's gradient can be as large "
                "as it likes, and no amount of noise hides it. Clip each row to clip_norm "
                "first",
                applies=lambda g, *rest: bool(np.any(np.linalg.norm(g, axis=1) > rest[0]))),
        Mistake(lambda g, c, s, e, r: privacy.clip_by_l2_norm(g, c).sum(axis=0)
                + _noise(g.shape[1], s * c, r),
                "you returned the noisy sum: divide it by the expected batch size to get "
                "the step's mean gradient"),
        Mistake(lambda g, c, s, e, r: (privacy.clip_by_l2_norm(g, c).sum(axis=0)
                                       + _noise(g.shape[1], s * c, r)) // e,
                "you used integer division (//), which rounds every entry down to a whole "
                "number: divide with /"),
        Mistake(lambda g, c, s, e, r: (privacy.clip_by_l2_norm(g, c).sum(axis=0)
                                       + np.random.RandomState(r).normal(0.0, s * c,
                                                                         size=g.shape[1])) / e,
                "you seeded numpy's global generator (np.random.seed) and drew from it: "
                "that is another stream of numbers, and it reseeds every other cell's "
                "randomness too. Draw from rng = np.random.default_rng(random_state)"),
    ],
    describe=_q1_describe,
    hints=[
        "Clip every row of `per_record_grads` to norm at most `clip_norm` "
        "(privacy.clip_by_l2_norm does it row by row), then sum the rows.",
        "Add one draw of noise, of standard deviation noise_multiplier * clip_norm, one "
        "number per parameter, then divide by `expected_batch_size`:\n"
        "    rng = np.random.default_rng(random_state)\n"
        "    noise = rng.normal(0, noise_multiplier * clip_norm, size=per_record_grads.shape[1])",
        "In code:\n"
        "    total = privacy.clip_by_l2_norm(per_record_grads, clip_norm).sum(axis=0)\n"
        "    rng = np.random.default_rng(random_state)\n"
        "    noise = rng.normal(0, noise_multiplier * clip_norm, size=total.shape)\n"
        "    return (total + noise) / expected_batch_size",
    ],
)


# q2: DP-FedAvg's server step -----------------------------------------------------------------
def _dp_fedavg_step(updates, n_samples, clip_norm, noise_multiplier, expected_clients,
                    random_state):
    """fedlab's DP-FedAvg combine: clip each update, sum, noise, divide by q K (no n_k)."""
    return _noisy_mean(updates, clip_norm, noise_multiplier, expected_clients, random_state)


def _q2_cases(rng):
    cases = []
    for k, d, clip_norm, sigma, expected in ((8, 4, 0.5, 0.7, 10.0), (5, 12, 0.1, 1.0, 5.0),
                                             (25, 12, 0.1, 1.6, 25.0), (3, 6, 1.0, 2.0, 2.5)):
        updates = rng.normal(scale=rng.choice([0.05, 0.3]), size=(k, d))
        n_samples = rng.integers(3, 400, size=k)
        cases.append((updates, n_samples, clip_norm, sigma, expected, int(rng.integers(1000))))
    return cases


def _clipped(u, c):
    return privacy.clip_by_l2_norm(np.asarray(u, dtype=float), c)


q2 = FunctionExercise(
    "DP-FedAvg's server step: clip each client's update, noise on the sum, no n_k",
    reference=_dp_fedavg_step,
    cases=_q2_cases,
    mistakes=[
        Mistake(lambda u, n, c, s, e, r: np.average(_clipped(u, c), axis=0, weights=n)
                + _noise(u.shape[1], s * c, r) / e,
                "you weighted the updates by the clients' numbers of records, as FedAvg "
                "does: with weights, one large client moves the model by more than "
                "clip_norm / (q K), and the noise no longer covers it; every clipped update "
                "counts once"),
        Mistake(lambda u, n, c, s, e, r: (_clipped(u, c) * (n / n.mean())[:, None]).sum(axis=0)
                / e + _noise(u.shape[1], s * c, r) / e,
                "you scaled each update by its client's share of the records: every clipped "
                "update must count once, whatever the client's size, or one large client "
                "moves the model by more than the noise covers"),
        Mistake(lambda u, n, c, s, e, r: (_clipped(u, c).sum(axis=0)
                                          + _noise(u.shape[1], s * c, r)) / len(u),
                "you divided by the number of updates that arrived: divide by the expected "
                "number of clients q K, which does not depend on who took part",
                applies=lambda u, n, c, s, e, r: len(u) != e),
        Mistake(lambda u, n, c, s, e, r: (privacy.clip_by_l2_norm(u.sum(axis=0), c)
                                          + _noise(u.shape[1], s * c, r)) / e,
                "you clipped the sum of the updates: clip each client's update before "
                "summing, so that one client moves the sum by at most clip_norm"),
        Mistake(lambda u, n, c, s, e, r: (_clipped(u, c).sum(axis=0)
                                          + _noise(u.shape[1], s, r)) / e,
                "the noise's standard deviation is noise_multiplier * clip_norm, not the "
                "noise multiplier alone"),
        Mistake(lambda u, n, c, s, e, r: (np.sum(u, axis=0) + _noise(u.shape[1], s * c, r)) / e,
                "you did not clip: without clipping one client's update can be as large as "
                "it likes, and the noise no longer hides it. Clip each update to clip_norm "
                "first"),
        Mistake(lambda u, n, c, s, e, r: _clipped(u, c).sum(axis=0)
                + _noise(u.shape[1], s * c, r),
                "you returned the noisy sum: divide it by the expected number of clients"),
    ],
    describe=lambda a: (f"{counted(a[0].shape[0], 'update')} of "
                        f"{counted(a[0].shape[1], 'parameter')}, n_samples={short(a[1], 40)}, "
                        f"clip_norm={number(a[2])}, noise_multiplier={number(a[3])}, "
                        f"expected_clients={number(a[4])}, random_state={a[5]}"),
    hints=[
        "The same three moves as DP-SGD's step, one level up: clip each client's update "
        "(each row), sum, add one draw of noise, divide by the expected number of clients.",
        "`n_samples` is there to tempt you: DP-FedAvg does not weight by it.",
        "In code:\n"
        "    total = privacy.clip_by_l2_norm(updates, clip_norm).sum(axis=0)\n"
        "    rng = np.random.default_rng(random_state)\n"
        "    noise = rng.normal(0, noise_multiplier * clip_norm, size=total.shape)\n"
        "    return (total + noise) / expected_clients",
    ],
)


# q3: settings that meet a budget with a good model ----------------------------------------
SEED, DELTA = 2026, 1e-5
N_DEVICES = 500  # each hospital's records on its own devices, in proportion to its size
TARGET_AUC = 0.74
MAX_ROUNDS = 300
CLIP_NORM, LR = 0.1, 0.5


@functools.lru_cache(maxsize=1)
def _devices():
    hospitals = data.load_hospitals()
    total = sum(h.n_train for h in hospitals)
    devices = []
    for h in hospitals:
        parts = data.partition_iid(h.n_train, round(N_DEVICES * h.n_train / total),
                                   random_state=SEED)
        devices += [federated.Client(h.X_train[p], h.y_train[p]) for p in parts]
    return devices, hospitals


@functools.lru_cache(maxsize=64)
def _test_auc(noise_multiplier, sample_rate, rounds):
    devices, hospitals = _devices()
    strategy = privacy.DPFedAvg(noise_multiplier=noise_multiplier, clip_norm=CLIP_NORM,
                                sample_rate=sample_rate)
    run = federated.run(devices, strategy=strategy, rounds=rounds, batch_size=None, lr=LR,
                        test_sets=hospitals, random_state=SEED)
    return run.final.pooled["auc"]


def _settings(sample_rate, rounds):
    def choose(target_epsilon):
        sigma = privacy.noise_multiplier_for(target_epsilon=target_epsilon,
                                             sample_rate=sample_rate, steps=rounds, delta=DELTA)
        return sigma, sample_rate, rounds

    return choose


def _q3_judge(args, got):
    (target,) = args
    if not isinstance(got, (tuple, list)):
        return "you returned one value, not three: return (noise_multiplier, sample_rate, rounds)"
    if len(got) != 3:
        return (
            f"your answer holds {counted(len(got), 'value')}, not three: return (noise_multiplier, "
            "sample_rate, rounds)"
        )
    if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in got):
        return "the three values must be numbers"
    sigma, q, rounds = got
    if not 0 < q <= 1:
        return "the sample rate is a probability: it must be in (0, 1]"
    if not float(rounds).is_integer() or not 1 <= rounds <= MAX_ROUNDS:
        return f"rounds must be a whole number from 1 to {MAX_ROUNDS}"
    if sigma <= 0:
        return "without noise (noise_multiplier 0) no budget is met: epsilon is infinite"
    spent = privacy.epsilon(
        noise_multiplier=float(sigma), sample_rate=float(q), steps=int(rounds), delta=DELTA
    )
    if spent > target * (1 + 1e-6):
        return (
            f"these settings spend epsilon {number(spent)} by the accountant, more than the "
            f"budget {number(target)}: more noise, fewer rounds or a smaller sample rate"
        )
    auc = _test_auc(float(sigma), float(q), int(rounds))
    if auc < TARGET_AUC:
        return (
            f"the budget holds, but the model reaches test AUC {auc:.3f}, below the "
            f"{TARGET_AUC} asked: more devices per round average the noise down, and "
            "too many rounds spread the budget thin"
        )
    return ""


q3 = FunctionExercise(
    "noise, sample rate and rounds that meet a budget with a good model",
    judge=_q3_judge,
    cases=lambda rng: [(0.1,), (0.2,), (0.5,)],
    mistakes=[
        Mistake(
            _settings(0.05, 30),
            "that is section 3's setting, 25 devices a round, as many rounds: within the "
            "budget, but at small budgets the model stays below the AUC asked; try more "
            "devices per round, and let the accountant set the noise",
        ),
        Mistake(
            lambda eps: (
                privacy.noise_multiplier_for(
                    target_epsilon=eps, sample_rate=0.2, steps=1, delta=DELTA
                ),
                0.2,
                100,
            ),
            "the noise was calibrated for a single round: the accountant must be given "
            "every round (steps=rounds), or the budget is overspent",
        ),
        Mistake(
            lambda eps: (1.0, 25, 30),
            "the sample rate is a probability, each device's chance of taking part in a "
            "round: 25 devices a round is a sample rate of 25 / N_DEVICES",
        ),
        Mistake(
            _settings(1.0, MAX_ROUNDS),
            "every device in each of 300 rounds: the budget is spread over so many rounds "
            "that each round needs a lot of noise, and the model drowns in it; fewer "
            "rounds",
        ),
    ],
    describe=lambda a: f"target_epsilon={number(a[0])}",
    hints=[
        "Fix a sample rate and a number of rounds, and let the accountant give the noise "
        "(its arguments are keyword-only); then try other pairs with the `train` helper "
        "above the exercise:\n"
        "    sigma = privacy.noise_multiplier_for(target_epsilon=target_epsilon, "
        "sample_rate=0.05, steps=30, delta=DELTA)",
        "The noise on the average update is noise_multiplier * clip_norm / (q K): more "
        "devices per round shrink it, while the accountant raises the noise only slowly.",
        "For example every device in every round, for 30 rounds:\n"
        "    sigma = privacy.noise_multiplier_for(target_epsilon=target_epsilon, "
        "sample_rate=1.0, steps=30, delta=DELTA)\n"
        "    return sigma, 1.0, 30",
    ],
)
