"""Aggregation rules: how a server turns client updates into one model (McMahan et al. 2017).

Pure numpy functions of a list of equal-shape updates. ``weighted_mean`` is the FedAvg
rule; the robust rules (median, trimmed mean, Krum) resist a few bad hospitals.
"""

from __future__ import annotations

import numpy as np

from fedlab._validation import InvalidParameterError

__all__ = ["weighted_mean", "coordinate_median", "trimmed_mean", "krum", "krum_scores",
           "RULES"]


def weighted_mean(updates, weights=None):
    """Average of client updates, weighted by ``weights`` (e.g. sample counts).

    Parameters
    ----------
    updates : array-like of shape (n_clients, n_params)
        One update per client, all the same shape.
    weights : array-like of shape (n_clients,), optional
        Non-negative weights, not all zero; they need not sum to one. ``None`` is the
        plain mean, every client counting the same.

    Returns
    -------
    ndarray of shape (n_params,)

    Raises
    ------
    ValueError
        If there are no updates, shapes differ, or a weight is negative, not finite, or
        they are all zero.

    Notes
    -----
    The weights are divided by the largest one before they are summed, so weights near
    the float64 limit (``[1e308, 1e308]``) still give the plain mean. FedAvg (McMahan
    et al. 2017) sets ``w_k = n_k``, the number of training records of
    client ``k``: ``theta = sum_k n_k theta_k / sum_k n_k``. With unequal hospitals this
    differs from the plain mean, which gives a clinic of 300 patients the same say as a
    hospital of 3,000.

    References
    ----------
    McMahan, Moore, Ramage, Hampson, Agüera y Arcas. "Communication-efficient learning
    of deep networks from decentralized data." AISTATS 2017.

    Examples
    --------
    >>> weighted_mean([[0.1, 0.2], [0.3, 0.4]])
    array([0.2, 0.3])
    >>> weighted_mean([[0.0, 0.0], [1.0, 1.0]], weights=[3, 1])
    array([0.25, 0.25])
    """
    stacked = _stack(updates)
    if weights is None:
        return stacked.mean(axis=0)
    w = np.asarray(weights, dtype=float)
    if w.shape != (len(stacked),):
        raise InvalidParameterError(
            f"weights must have one entry per update ({len(stacked)}), got shape {w.shape}"
        )
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise InvalidParameterError(f"weights must be finite and >= 0, got {w.tolist()}")
    if not w.any():
        raise InvalidParameterError("weights must not all be zero")
    w = w / w.max()  # in (0, 1]: the sum below cannot overflow (1e308 + 1e308 would)
    return np.tensordot(w / w.sum(), stacked, axes=1)


def coordinate_median(updates, weights=None):
    """Coordinate-wise median of the updates (Yin et al. 2018); ``weights`` is ignored.

    Examples
    --------
    >>> coordinate_median([[0.0, 1.0], [1.0, 2.0], [100.0, -50.0]])
    array([1., 1.])
    """
    return np.median(_stack(updates), axis=0)


def trimmed_mean(updates, weights=None, *, trim=0.2):
    """Coordinate-wise mean after dropping the ``trim`` fraction largest and smallest values.

    Examples
    --------
    >>> trimmed_mean([[0.0], [1.0], [2.0], [3.0], [1000.0]], trim=0.2)
    array([2.])
    """
    stacked = _stack(updates)
    if not 0 <= trim < 0.5:
        raise InvalidParameterError(f"trim must be in [0, 0.5), got {trim}")
    k = int(np.floor(trim * len(stacked)))
    ordered = np.sort(stacked, axis=0)
    return ordered[k:len(stacked) - k].mean(axis=0)


def krum(updates, weights=None, *, n_byzantine=1, multi=1):
    """The update closest to its ``n - f - 2`` nearest neighbours (Blanchard et al. 2017).

    With ``multi > 1`` (Multi-Krum) the plain mean of the ``multi`` best-scored updates.

    Examples
    --------
    >>> krum([[0.0], [0.1], [0.15], [0.3], [50.0]], n_byzantine=1)
    array([0.1])
    >>> krum([[0.0], [0.1], [0.15], [0.3], [50.0]], n_byzantine=1, multi=2)
    array([0.125])
    """
    stacked = _stack(updates)
    n = len(stacked)
    if not 1 <= multi <= n:
        raise InvalidParameterError(f"multi must be in [1, {n}] (the number of updates), got "
                                    f"{multi}")
    scores = krum_scores(stacked, n_byzantine=n_byzantine)
    best = np.argsort(scores, kind="stable")[:multi]
    return stacked[best].mean(axis=0)


def krum_scores(updates, *, n_byzantine=1):
    """Krum's score of each update: the sum of its squared distances to its nearest others.

    Parameters
    ----------
    updates : array-like of shape (n_clients, n_params)
    n_byzantine : int, default=1
        ``f``; each update's ``n - f - 2`` nearest other updates count.

    Returns
    -------
    ndarray of shape (n_clients,)
        Low scores sit in a crowd; Krum keeps the lowest (Blanchard et al. 2017).

    Examples
    --------
    >>> krum_scores([[0.0], [1.0], [3.0], [10.0]], n_byzantine=1)
    array([ 1.,  1.,  4., 49.])
    """
    stacked = _stack(updates)
    n = len(stacked)
    if not 0 <= n_byzantine or n - n_byzantine - 2 < 1:
        raise InvalidParameterError(
            f"krum needs n_clients - n_byzantine - 2 >= 1, got {n} clients and "
            f"n_byzantine={n_byzantine}"
        )
    sq = np.sum((stacked[:, None, :] - stacked[None, :, :]) ** 2, axis=-1)
    k = n - n_byzantine - 2
    return np.sort(sq, axis=1)[:, 1:k + 1].sum(axis=1)  # column 0 is the distance to itself


RULES = {
    "weighted": weighted_mean,
    "mean": weighted_mean,
    "median": coordinate_median,
    "trimmed_mean": trimmed_mean,
    "krum": krum,
}
"""Aggregation rules by name (the plain and weighted mean and the robust rules of lesson 08)."""


def _stack(updates):
    """Stack a sequence of equal-shape updates into a 2-D float array, with clear errors."""
    try:
        stacked = np.asarray(updates, dtype=float)
    except ValueError as err:
        shapes = [np.shape(u) for u in updates]
        raise InvalidParameterError(
            f"updates must all have the same shape, got shapes {shapes}"
        ) from err
    if stacked.ndim == 1:
        stacked = stacked[:, None]
    if stacked.ndim != 2 or len(stacked) == 0:
        raise InvalidParameterError(
            "updates must be a non-empty sequence of 1-D arrays of equal length, "
            f"got an array of shape {stacked.shape}"
        )
    return stacked
