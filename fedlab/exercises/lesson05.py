"""Checks for lesson 05, privacy attacks: batch inversion, membership scores, TPR at low FPR.

``from fedlab.exercises import lesson05 as ex``, then ``ex.q1.check(failing_batch_size)``,
``ex.q2.check(membership_score)`` and ``ex.q3.check(tpr_at_low_fpr)``.
"""

from __future__ import annotations

import numpy as np

from fedlab import attacks
from fedlab.exercises import FunctionExercise, Mistake
from fedlab.exercises._compare import counted
from fedlab.models import logistic

__all__ = ["q1", "q2", "q3"]


# q1: the batch size at which inversion fails ---------------------------------------------
def _batch_errors(params, X, y, random_state, batch_size):
    return attacks.batch_inversion_error(params, X, y, batch_size, random_state=random_state)


def _first_failing(params, X, y, random_state, fails):
    """The smallest batch size at which ``fails(attack, guess)``, from 1 up."""
    for batch_size in range(1, len(y) + 1):
        if fails(*_batch_errors(params, X, y, random_state, batch_size)):
            return batch_size
    return len(y)


def _q1_cases(rng):
    cases = []
    for n, d, signal in ((300, 11, 1.0), (200, 5, 2.0), (400, 8, 0.5), (150, 3, 1.5)):
        X = rng.normal(size=(n, d)) @ (np.eye(d) + 0.3 * rng.normal(size=(d, d)))
        X = (X - X.mean(axis=0)) / X.std(axis=0)
        params = np.r_[signal * rng.normal(size=d) / np.sqrt(d), -1.0]
        y = (rng.random(n) < logistic.predict_proba(params, X)).astype(float)
        cases.append((params, X, y, int(rng.integers(1000))))
    return cases


def _q1_judge(args, got):
    if np.ndim(got) != 0:
        return "return a single number, the batch size, not an array or a tuple"
    if isinstance(got, (bool, np.bool_)) or not float(got).is_integer() or got < 1:
        return "a batch size is a whole number of records, at least 1"
    size = int(got)
    params, X, y, random_state = args
    if size > len(y):
        return f"the data hold only {len(y)} records: no batch can be larger"
    attack, guess = _batch_errors(params, X, y, random_state, size)
    if attack < guess:
        return (f"at that batch size inversion still works: the leak lands {attack:.2f} "
                f"from a patient of the batch, the average patient {guess:.2f}")
    if size > 1 and _first_failing(params, X, y, random_state, lambda a, g: a >= g) < size:
        return ("inversion already fails at a smaller batch size: return the smallest "
                "(try every size from 1 up)")
    return ""


q1 = FunctionExercise(
    "the smallest batch at which gradient inversion fails",
    judge=_q1_judge,
    cases=_q1_cases,
    mistakes=[
        Mistake(lambda p, X, y, s: _first_failing(p, X, y, s, lambda a, g: a >= g) - 1,
                "inversion still works at that batch size (the leak lands closer to a "
                "patient of the batch than the average patient does): the question is the "
                "first batch size at which it fails",
                applies=lambda p, X, y, s: _first_failing(p, X, y, s,
                                                          lambda a, g: a >= g) > 1),
        Mistake(lambda p, X, y, s: _first_failing(p, X, y, s, lambda a, g: a >= 1.0),
                "you compared the attack's error with a fixed 1 standard deviation: "
                "compare it with the error of guessing the average patient at the same "
                "batch size (the second number `batch_inversion_error` returns)"),
        Mistake(lambda p, X, y, s: _first_failing(p, X, y, s, lambda a, g: a > 0),
                "you stopped at the first batch size where inversion is not exact: it "
                "fails only when it is no better than guessing the average patient"),
    ],
    describe=lambda args: (f"{counted(args[1].shape[0], 'record')} with "
                           f"{counted(args[1].shape[1], 'feature')}, "
                           f"random_state={args[3]}"),
    hints=[
        "Call attacks.batch_inversion_error(params, X, y, batch_size, "
        "random_state=random_state) for batch_size = 1, 2, 3, ...: it returns the "
        "attack's error and the error of guessing the average patient.",
        "Inversion fails at the first batch size where the attack's error is at least the "
        "guess's; return that batch size.",
        "In code:\n"
        "    for b in range(1, len(y) + 1):\n"
        "        attack, guess = attacks.batch_inversion_error(params, X, y, b, "
        "random_state=random_state)\n"
        "        if attack >= guess:\n"
        "            return b",
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
                "that is the loss itself: training records have a low loss, so a higher "
                "score must mean a lower loss; return minus the loss"),
        Mistake(lambda p, X, y: np.full(len(y), -np.mean(_loss(p, X, y))),
                "every record got the same score, the mean: score each record with its own "
                "loss"),
        Mistake(lambda p, X, y: -np.mean(_loss(p, X, y)),
                "you returned one number, the mean loss: the attack needs one score per "
                "record"),
        Mistake(lambda p, X, y: logistic.predict_proba(p, X),
                "you returned the predicted probability of the positive class: the score "
                "must say how well the model fits each record's own label y"),
        Mistake(lambda p, X, y: np.exp(-_loss(p, X, y)),
                "you returned the model's probability of each record's own label: the score "
                "is its log, minus the log loss (a probability squeezes the well-fitted "
                "records together near 1)"),
        Mistake(lambda p, X, y: np.log(logistic.predict_proba(p, X)),
                "you used log p for every record: for a record with y = 0 the model's "
                "probability of its label is 1 - p"),
    ],
    hints=[
        "A record's log loss is -[y log p + (1 - y) log(1 - p)], with p = "
        "sigmoid(X @ w + b); the score is minus that.",
        "With z = X @ params[:-1] + params[-1], the log loss is np.logaddexp(0, z) - y * z "
        "(stable for large z).",
        "In code:\n"
        "    z = X @ params[:-1] + params[-1]\n"
        "    return -(np.logaddexp(0, z) - y * z)",
    ],
)


# q3: the true-positive rate at a low false-positive rate ---------------------------------
def _tpr_at_low_fpr(member_scores, non_member_scores, fpr):
    """fedlab's ROC curve read at ``fpr`` (scikit-learn's roc_curve, every threshold)."""
    is_member = np.r_[np.ones(len(member_scores)), np.zeros(len(non_member_scores))]
    curve = attacks.roc_curve(is_member, np.r_[member_scores, non_member_scores])
    return attacks.tpr_at_fpr(curve[0], curve[1], fpr)


def _q3_cases(rng):
    cases = []
    for n_members, n_others, shift, fpr in ((225, 1000, 1.0, 0.01), (50, 400, 0.5, 0.05),
                                            (300, 300, 2.0, 0.01), (80, 1000, 0.0, 0.01)):
        cases.append((rng.normal(shift, 1.0, size=n_members),
                      rng.normal(0.0, 1.0, size=n_others), fpr))
    # by hand: a member ties the threshold, another sits just above it (fpr 0.1 of 20: 2)
    cases.insert(1, (np.array([0.5, 0.8, 0.805, 1.2, 2.0]),
                     np.r_[np.full(15, -1.0), 0.2, 0.5, 0.8, 0.9, 1.5], 0.1))
    # ties: scores rounded to one decimal, as a loss printed to a few digits would be
    cases.append((np.round(rng.normal(0.8, 1.0, size=100), 1),
                  np.round(rng.normal(0.0, 1.0, size=500), 1), 0.02))
    return cases


def _threshold_one_too_high(member_scores, non_member_scores, fpr):
    k = int(np.floor(fpr * len(non_member_scores)))
    threshold = np.sort(non_member_scores)[::-1][k - 1]
    return float(np.mean(member_scores > threshold))


def _by_quantile(member_scores, non_member_scores, fpr):
    return float(np.mean(member_scores >= np.quantile(non_member_scores, 1 - fpr)))


def _by_share_flagged(member_scores, non_member_scores, fpr):
    threshold = np.sort(non_member_scores)[::-1][int(np.floor(fpr * len(non_member_scores)))]
    return float(np.mean(member_scores >= threshold))


q3 = FunctionExercise(
    "the true-positive rate at a low false-positive rate",
    reference=_tpr_at_low_fpr,
    cases=_q3_cases,
    atol=1e-9,
    mistakes=[
        Mistake(lambda m, n, fpr: float(np.mean(n >= np.quantile(m, 1 - fpr))),
                "members and non-members are swapped: the threshold is set on the "
                "non-members' scores (at most that share of them may be flagged), and the "
                "rate counted among the members"),
        Mistake(_by_share_flagged,
                "you flagged scores equal to the threshold too: the threshold is the score "
                "of the first non-member who must not be flagged, so flag only scores "
                "strictly above it"),
        Mistake(_by_quantile,
                "`np.quantile` interpolates between scores, and `>=` flags the non-member "
                "at the threshold: count how many non-members may be flagged, "
                "floor(fpr * n), and put the threshold just above the next one"),
        Mistake(_threshold_one_too_high,
                "your threshold is the k-th highest non-member score, so flagging scores "
                "above it flags only k - 1 non-members: the threshold is the score of the "
                "first non-member who must not be flagged, the (k + 1)-th highest",
                applies=lambda m, n, fpr: int(np.floor(fpr * len(n))) >= 1),
        Mistake(lambda m, n, fpr: float(np.mean(m > np.max(n))),
                "you flagged only members above every non-member: that is the rate at 0 "
                "false positives; a share `fpr` of the non-members may be flagged"),
        Mistake(lambda m, n, fpr: float(np.mean(m > np.quantile(n, fpr))),
                "the threshold is at the `fpr` quantile of the non-members, so almost all of "
                "them are flagged: use the 1 - fpr end, the highest scores"),
    ],
    describe=lambda args: (f"{len(args[0])} members' and {len(args[1])} non-members' "
                           f"scores, fpr={args[2]:g}"),
    hints=[
        "Flag a record as a member when its score is above a threshold; choose the "
        "threshold so that at most a share `fpr` of the non-members is flagged, and "
        "report the share of members flagged.",
        "At most k = floor(fpr * n) non-members may be flagged: sort their scores from "
        "highest, and the threshold is the (k + 1)-th highest; flag scores strictly "
        "above it.",
        "In code:\n"
        "    k = int(np.floor(fpr * len(non_member_scores)))\n"
        "    threshold = np.sort(non_member_scores)[::-1][k]\n"
        "    return float(np.mean(member_scores > threshold))",
    ],
)
