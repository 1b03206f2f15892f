"""Membership inference by a loss threshold (Yeom et al. 2018), scored as Carlini et al. 2022.

A model fits its training records better than records it never saw, so a low loss on a
patient's record is evidence that the patient was in the training set. The attack
scores each record by ``-loss``; it is judged by its ROC AUC and, as Carlini et al.
insist, by its true-positive rate at a low false-positive rate (1 %): how many members
it exposes while rarely accusing a non-member.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fedlab._validation import InvalidParameterError, check_int, check_xy
from fedlab.federated.preprocessing import combine, feature_sums
from fedlab.metrics import roc_auc

__all__ = [
    "expand_features",
    "design_matrices",
    "per_record_loss",
    "membership_scores",
    "roc_curve",
    "tpr_at_fpr",
    "MembershipAttack",
    "loss_threshold_attack",
]


def expand_features(X, degree=2):
    """Every product of up to ``degree`` features (polynomial features, no constant).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    degree : int, default=2
        Highest degree, >= 1; ``1`` returns ``X`` unchanged.

    Returns
    -------
    ndarray of shape (n_samples, C(n_features + degree, degree) - 1)
        The columns of ``X``, then all products of two columns (squares included), of
        three, ... in lexicographic order, as scikit-learn's ``PolynomialFeatures``.

    Examples
    --------
    >>> expand_features([[2.0, 3.0]], degree=2)
    array([[2., 3., 4., 6., 9.]])
    >>> expand_features(np.zeros((5, 11)), degree=3).shape
    (5, 363)
    """
    from sklearn.preprocessing import PolynomialFeatures

    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise InvalidParameterError(f"X must be 2-D of shape (n_samples, n_features), got shape "
                                    f"{X.shape}")
    degree = check_int(degree, "degree", minimum=1)
    return PolynomialFeatures(degree, include_bias=False).fit_transform(X)


def design_matrices(X_train, *X_others, degree=2):
    """Standardize, expand to ``degree``, standardize again; all with the training statistics.

    Parameters
    ----------
    X_train : array-like of shape (n_train, n_features)
        Raw training records (missing values as NaN, filled with the mean).
    *X_others : array-like of shape (n, n_features)
        Other raw records (held-out patients), transformed with the same statistics.
    degree : int, default=2

    Returns
    -------
    list of ndarray
        The design matrix of ``X_train``, then one per array of ``X_others``.

    Examples
    --------
    >>> F_train, F_test = design_matrices([[1.0], [2.0], [np.nan]], [[3.0]], degree=2)
    >>> F_train.shape, F_test.shape
    ((3, 2), (1, 2))
    """
    first = combine([feature_sums(X_train)])
    expanded = [expand_features(first.transform(X), degree) for X in (X_train, *X_others)]
    second = combine([feature_sums(expanded[0])])
    return [second.transform(F) for F in expanded]


def per_record_loss(params, X, y):
    """Log loss of each record, ``log(1 + e^z) - y z`` with ``z = w . x + b``.

    Examples
    --------
    >>> per_record_loss([0.0, 0.0], [[1.0], [2.0]], [1, 0]).round(4)  # log 2 each
    array([0.6931, 0.6931])
    """
    params = np.asarray(params, dtype=float)
    X, y = check_xy(X, y)
    z = X @ params[:-1] + params[-1]
    return np.logaddexp(0.0, z) - y * z


def membership_scores(params, X, y):
    """The attack's score of each record: ``-loss`` (higher = more likely a member).

    Examples
    --------
    >>> membership_scores([2.0, 0.0], [[1.0], [1.0]], [1, 0]).round(3)
    array([-0.127, -2.127])
    """
    return -per_record_loss(params, X, y)


def roc_curve(is_member, scores):
    """False- and true-positive rates of every threshold on ``scores``.

    Parameters
    ----------
    is_member : array-like of shape (n,)
        1 for members, 0 for non-members.
    scores : array-like of shape (n,)
        Higher means "member".

    Returns
    -------
    fpr, tpr, thresholds : ndarray of shape (n_thresholds,)
        Calling "member" every record with ``score >= thresholds[j]`` has false-positive
        rate ``fpr[j]`` and true-positive rate ``tpr[j]``; both rise from 0 to 1 (the
        first threshold is ``inf``: nobody is called a member). scikit-learn's
        ``roc_curve`` with every threshold kept.

    Examples
    --------
    >>> fpr, tpr, thr = roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> fpr, tpr
    (array([0. , 0. , 0.5, 0.5, 1. ]), array([0. , 0.5, 0.5, 1. , 1. ]))
    """
    is_member = np.asarray(is_member) == 1
    scores = np.asarray(scores, dtype=float)
    if is_member.shape != scores.shape or is_member.ndim != 1:
        raise InvalidParameterError(f"is_member and scores must be 1-D of the same length, got "
                                    f"shapes "
                         f"{is_member.shape} and {scores.shape}")
    if is_member.all() or not is_member.any():
        raise InvalidParameterError("is_member must hold both members (1) and non-members (0)")
    from sklearn import metrics

    return metrics.roc_curve(is_member, scores, drop_intermediate=False)


def tpr_at_fpr(fpr, tpr, target=0.01):
    """Highest true-positive rate among thresholds whose false-positive rate is <= ``target``.

    Examples
    --------
    >>> tpr_at_fpr([0.0, 0.005, 0.02, 1.0], [0.0, 0.1, 0.3, 1.0], 0.01)
    0.1
    """
    fpr, tpr = np.asarray(fpr, dtype=float), np.asarray(tpr, dtype=float)
    if not 0 <= target <= 1:
        raise InvalidParameterError(f"target must be in [0, 1], got {target!r}")
    return float(tpr[fpr <= target].max(initial=0.0))


@dataclass(frozen=True)
class MembershipAttack:
    """The outcome of a membership-inference attack.

    Attributes
    ----------
    auc : float
        ROC AUC of telling members from non-members (0.5 = guessing).
    tpr_at_fpr : float
        True-positive rate at :attr:`target_fpr` false positives.
    target_fpr : float
    fpr, tpr, thresholds : ndarray
        The ROC curve (see :func:`roc_curve`).
    member_scores, non_member_scores : ndarray
        The score of every member and every non-member.
    """

    auc: float
    tpr_at_fpr: float
    target_fpr: float
    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray
    member_scores: np.ndarray
    non_member_scores: np.ndarray

    def __repr__(self):
        return (f"MembershipAttack(auc={self.auc:.3f}, tpr_at_{self.target_fpr:.0%}_fpr="
                f"{self.tpr_at_fpr:.3f}, members={len(self.member_scores)}, "
                f"non_members={len(self.non_member_scores)})")


def loss_threshold_attack(params, members, non_members, *, target_fpr=0.01):
    """Run the loss-threshold attack of Yeom et al. on a model.

    Parameters
    ----------
    params : array-like of shape (n_features + 1,)
        The attacked model.
    members : tuple (X, y)
        Records the model was trained on.
    non_members : tuple (X, y)
        Records of the same population it never saw.
    target_fpr : float, default=0.01
        The false-positive rate at which the true-positive rate is reported.

    Returns
    -------
    MembershipAttack

    References
    ----------
    .. [1] Yeom, S., Giacomelli, I., Fredrikson, M., & Jha, S. (2018). Privacy risk in
       machine learning: analyzing the connection to overfitting. CSF.
    .. [2] Carlini, N., Chien, S., Nasr, M., Song, S., Terzis, A., & Tramèr, F. (2022).
       Membership inference attacks from first principles. IEEE S&P.

    Examples
    --------
    >>> from fedlab.models import logistic
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 30)); y = rng.integers(0, 2, 40).astype(float)
    >>> theta = logistic.sgd(np.zeros(31), X[:20], y[:20], epochs=200, lr=0.5, random_state=0)
    >>> attack = loss_threshold_attack(theta, (X[:20], y[:20]), (X[20:], y[20:]))
    >>> attack.auc > 0.8  # 20 records, 30 features: the model memorised them
    True
    """
    member_scores = membership_scores(params, *members)
    non_member_scores = membership_scores(params, *non_members)
    is_member = np.r_[np.ones(len(member_scores)), np.zeros(len(non_member_scores))]
    scores = np.r_[member_scores, non_member_scores]
    fpr, tpr, thresholds = roc_curve(is_member, scores)
    return MembershipAttack(roc_auc(is_member, scores), tpr_at_fpr(fpr, tpr, target_fpr),
                            float(target_fpr), fpr, tpr, thresholds, member_scores,
                            non_member_scores)
