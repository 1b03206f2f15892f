"""Gradient inversion for logistic regression: an update can hand over a patient's record.

For one record the gradient of the log loss is ``(p - y) [x, 1]``: the weights part is the
record itself times the number in the bias part, so dividing the two rebuilds ``x``
exactly (Phong et al. 2018; Zhu, Liu & Han 2019 show the same risk for deep networks).
The sign of the bias part gives away the label. For a batch, what leaks is a weighted
mean of the batch's records.
"""

from __future__ import annotations

import numpy as np

from fedlab._validation import InvalidParameterError, check_int, check_positive, check_rng, check_xy
from fedlab.models import LogisticRegression
from fedlab.privacy.mechanisms import clip_by_l2_norm
from fedlab.privacy.renyi import check_noise_multiplier

__all__ = [
    "reconstruct_record",
    "infer_label",
    "gradient_from_update",
    "batch_leak",
    "batch_inversion_error",
    "reconstruction_error",
]

MODEL = LogisticRegression()
"""The model attacked: the division trick rests on its gradient ``(p - y) [x, 1]``."""


def reconstruct_record(gradient):
    """Rebuild the record behind a one-record gradient: ``x = g_w / g_b``.

    Parameters
    ----------
    gradient : array-like of shape (n_features + 1,) or (n_gradients, n_features + 1)
        The gradient of one record's log loss (weights first, bias last), or one per row.
        A FedAvg update of local steps on a single record works too: it is a multiple of
        the gradient, and the multiple cancels.

    Returns
    -------
    ndarray of shape (n_features,) or (n_gradients, n_features)
        The record's features, in the units the model saw (standardized).

    Raises
    ------
    ValueError
        If ``gradient`` has fewer than 2 entries, or (1-D) its bias part is 0: the model
        already predicts the record perfectly and the gradient carries nothing.

    Notes
    -----
    With ``p = sigmoid(w . x + b)``, the record's gradient is ``g_w = (p - y) x`` and
    ``g_b = p - y``, so ``g_w / g_b = x``. A local step sends ``-lr g``, and several steps
    on the same record send a sum of multiples of ``[x, 1]``: the ratio is still ``x``.
    (With an L2 penalty, subtract ``l2 w`` first; the server knows ``w``.)

    Examples
    --------
    >>> x, y = np.array([[1.5, -2.0]]), np.array([1.0])
    >>> g = MODEL.gradient([0.3, 0.1, -0.2], x, y)
    >>> reconstruct_record(g)
    array([ 1.5, -2. ])
    """
    g = _check_gradient(gradient)
    if g.ndim == 1 and g[-1] == 0:
        raise InvalidParameterError("the bias part of the gradient is 0 (the model predicts "
                                    "this record "
                         "perfectly), so the record cannot be rebuilt from it")
    with np.errstate(divide="ignore", invalid="ignore"):
        return g[..., :-1] / g[..., -1:]


def infer_label(gradient):
    """The label of the record behind a one-record gradient: 1 if ``g_b < 0``, else 0.

    ``g_b = p - y`` is negative exactly when ``y = 1`` (``p`` lies in (0, 1)). For a
    FedAvg update (``-lr g``) pass ``gradient_from_update(update, lr=lr)``.

    Examples
    --------
    >>> infer_label(MODEL.gradient([0.0, 0.0], [[2.0]], [1]))
    1
    >>> infer_label([[0.2, 0.1], [-0.3, -0.6]])
    array([0, 1])
    """
    g = _check_gradient(gradient)
    labels = (g[..., -1] < 0).astype(int)
    return int(labels) if labels.ndim == 0 else labels


def gradient_from_update(update, *, lr):
    """The gradient behind a FedAvg update of one local SGD step: ``g = -update / lr``.

    Examples
    --------
    >>> gradient_from_update([0.1, -0.05], lr=0.1)
    array([-1. ,  0.5])
    """
    check_positive(lr, "lr")
    return -_check_gradient(update) / lr


def batch_leak(params, X, y):
    """What the mean gradient of a batch reveals: ``sum_i r_i x_i / sum_i r_i``.

    Parameters
    ----------
    params : array-like of shape (n_features + 1,)
        The model the gradient was taken at.
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)

    Returns
    -------
    leak : ndarray of shape (n_features,)
        What :func:`reconstruct_record` returns for the batch's mean gradient.
    weights : ndarray of shape (n_samples,)
        ``r_i / sum_j r_j`` with residuals ``r_i = p_i - y_i``: ``leak = weights @ X``.
        They sum to 1; when every label in the batch is the same they are all positive
        and the leak is a weighted average of the records, pulled towards the records
        the model gets most wrong.

    Examples
    --------
    >>> X, y = np.array([[1.0, 0.0], [3.0, 2.0]]), np.array([0.0, 0.0])
    >>> leak, weights = batch_leak([0.0, 0.0, 0.0], X, y)  # p = 1/2 for both
    >>> leak, weights
    (array([2., 1.]), array([0.5, 0.5]))
    >>> np.allclose(reconstruct_record(MODEL.gradient([0.0, 0.0, 0.0], X, y)), leak)
    True
    """
    X, y = check_xy(X, y)
    residual = MODEL.predict(params, X) - y
    weights = residual / residual.sum()
    return weights @ X, weights


def batch_inversion_error(params, X, y, batch_size, *, n_batches=200, random_state=None):
    """How close the division trick lands to a patient of the batch, and to a mere guess.

    For each of ``n_batches`` random batches of ``batch_size`` distinct records, the
    attacker divides the batch's mean gradient (:func:`batch_leak`) and claims the result
    is one of the batch's patients. Its error is the distance from the leak to the
    *nearest* record of the batch. An attacker who saw no update and guessed the average
    patient (the mean of ``X``) would be off by the distance from that mean to the
    nearest record of the batch.

    Parameters
    ----------
    params : array-like of shape (n_features + 1,)
        The model the gradients are taken at.
    X : array-like of shape (n_samples, n_features)
        Standardized records.
    y : array-like of shape (n_samples,)
    batch_size : int
        Records per batch, from 1 to ``n_samples``.
    n_batches : int, default=200
    random_state : None, int or numpy.random.Generator
        Draws the batches.

    Returns
    -------
    attack : float
        Median over the batches of the root-mean-square error per feature (in standard
        deviations) between the leak and the batch's nearest record; 0 for one record.
    guess : float
        The same median for the average patient instead of the leak. Inversion *fails*
        at this batch size when ``attack >= guess``: the update tells the attacker no
        more about a patient than the average patient does.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 4)); y = (X[:, 0] + rng.normal(size=300) > 0) * 1.0
    >>> theta = np.array([1.0, 0.0, 0.0, 0.0, 0.0])
    >>> attack, guess = batch_inversion_error(theta, X, y, 1, random_state=0)
    >>> attack < 1e-12 < guess  # one record: the division rebuilds it exactly
    True
    >>> attack, guess = batch_inversion_error(theta, X, y, 30, random_state=0)
    >>> bool(attack > guess)  # thirty records: worse than guessing the average
    True
    """
    X, y = check_xy(X, y)
    batch_size = check_int(batch_size, "batch_size", minimum=1, maximum=len(y))
    n_batches = check_int(n_batches, "n_batches", minimum=1)
    rng = check_rng(random_state)
    batches = rng.random((n_batches, len(y))).argsort(axis=1)[:, :batch_size]
    residual = (MODEL.predict(params, X) - y)[batches]     # (n_batches, batch_size)
    records = X[batches]                                          # (n_batches, B, n_features)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        leak = np.einsum("bk,bkf->bf", residual / residual.sum(axis=1, keepdims=True), records)
        attack = _nearest(records, leak)
    return float(np.median(attack)), float(np.median(_nearest(records, X.mean(axis=0))))


def reconstruction_error(params, X, y, *, noise_multiplier=0.0, clip_norm=1.0,
                         random_state=None):
    """How far each rebuilt record lands when its gradient is clipped and noised (DP).

    Each record's gradient is clipped to ``clip_norm``, given Gaussian noise of std
    ``noise_multiplier * clip_norm`` in every coordinate (what DP-SGD does to a batch of
    one), and inverted with :func:`reconstruct_record`.

    Parameters
    ----------
    params : array-like of shape (n_features + 1,)
    X : array-like of shape (n_samples, n_features)
        Standardized records.
    y : array-like of shape (n_samples,)
    noise_multiplier : float, default=0.0
    clip_norm : float, default=1.0
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    ndarray of shape (n_samples,)
        Root-mean-square error per feature of each rebuilt record, in standard
        deviations (the records are standardized); ``0`` when the attack is exact.

    Notes
    -----
    Clipping alone does not help: it scales ``g_w`` and ``g_b`` by the same factor, and
    the ratio is unchanged. Noise does: ``g_b`` is a single small number, so a little
    noise on it throws the ratio far off.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3)); y = (X[:, 0] > 0).astype(float)
    >>> theta = np.array([1.0, 0.0, 0.0, 0.0])
    >>> float(np.median(reconstruction_error(theta, X, y)))  # clipping only: exact
    0.0
    >>> bool(np.median(reconstruction_error(theta, X, y, noise_multiplier=1.0,
    ...                                     random_state=0)) > 1)
    True
    """
    X, y = check_xy(X, y)
    sigma = check_noise_multiplier(noise_multiplier)
    check_positive(clip_norm, "clip_norm")
    rng = check_rng(random_state)
    grads = clip_by_l2_norm(MODEL.per_example_gradients(params, X, y), clip_norm)
    noisy = grads + rng.normal(0.0, sigma * clip_norm, size=grads.shape)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        rebuilt = noisy[:, :-1] / noisy[:, -1:]
        error = np.sqrt(np.mean((rebuilt - X) ** 2, axis=1))
    return np.where(np.isnan(error), np.inf, error)


def _nearest(records, points):
    """RMS distance per feature from each batch's point to its nearest record."""
    points = np.broadcast_to(points, (records.shape[0], records.shape[2]))
    distance = np.sqrt(np.mean((records - points[:, None, :]) ** 2, axis=2)).min(axis=1)
    return np.where(np.isnan(distance), np.inf, distance)


def _check_gradient(gradient):
    g = np.asarray(gradient, dtype=float)
    if g.ndim not in (1, 2) or g.shape[-1] < 2:
        raise InvalidParameterError("gradient must have shape (n_features + 1,) or (n_gradients, "
                         f"n_features + 1) with at least 2 entries per row, got {g.shape}")
    return g
