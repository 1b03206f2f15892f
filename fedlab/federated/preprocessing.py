"""Federated standardization: global mean, spread and imputation values from clients' sums.

Each client sends, per feature, how many values it observed, their sum and their sum of
squares. The server adds these up and derives the global mean and standard deviation
without seeing a single record; missing values are then filled with the global mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FeatureSums", "Standardizer", "feature_sums", "combine"]


@dataclass(frozen=True)
class FeatureSums:
    """What a client reveals for preprocessing: per-feature counts, sums, sums of squares.

    Attributes
    ----------
    count : ndarray of shape (n_features,)
        Number of observed (non-missing) values.
    total : ndarray of shape (n_features,)
        Sum of the observed values.
    total_sq : ndarray of shape (n_features,)
        Sum of their squares.
    """

    count: np.ndarray
    total: np.ndarray
    total_sq: np.ndarray

    @property
    def nbytes(self):
        """Size of the message on the wire (three float64 vectors)."""
        return int(self.count.nbytes + self.total.nbytes + self.total_sq.nbytes)


@dataclass(frozen=True)
class Standardizer:
    """A fitted standardization: fill missing values, subtract ``mean``, divide by ``scale``.

    Examples
    --------
    >>> s = Standardizer(mean=np.array([1.0]), scale=np.array([2.0]))
    >>> s.transform(np.array([[3.0], [np.nan]]))
    array([[1.],
           [0.]])
    """

    mean: np.ndarray
    scale: np.ndarray

    def transform(self, X):
        """Standardize ``X`` of shape (n_samples, n_features); NaN becomes the mean (0)."""
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != len(self.mean):
            raise ValueError(
                f"X must have shape (n_samples, {len(self.mean)}), got {X.shape}"
            )
        Z = (X - self.mean) / self.scale
        return np.where(np.isnan(Z), 0.0, Z)

    @property
    def nbytes(self):
        """Size of the message the server broadcasts (two float64 vectors)."""
        return int(self.mean.nbytes + self.scale.nbytes)


def feature_sums(X):
    """Summarise one client's records as :class:`FeatureSums` (missing values skipped).

    Examples
    --------
    >>> feature_sums(np.array([[1.0], [3.0], [np.nan]])).total
    array([4.])
    """
    X = np.asarray(X, dtype=float)
    observed = ~np.isnan(X)
    Xz = np.where(observed, X, 0.0)
    return FeatureSums(observed.sum(axis=0).astype(float), Xz.sum(axis=0), (Xz**2).sum(axis=0))


def combine(messages):
    """Build the global :class:`Standardizer` from every client's :class:`FeatureSums`.

    Notes
    -----
    ``mean = sum_k total_k / sum_k count_k`` and
    ``var = sum_k total_sq_k / N - mean^2`` (population variance), exactly what pooling
    the records would give. A constant feature gets scale 1 so nothing divides by zero.

    Examples
    --------
    >>> a = feature_sums(np.array([[0.0], [2.0]]))
    >>> b = feature_sums(np.array([[4.0], [6.0]]))
    >>> s = combine([a, b])
    >>> float(s.mean[0]), round(float(s.scale[0]), 4)
    (3.0, 2.2361)
    """
    messages = list(messages)
    if not messages:
        raise ValueError("combine needs at least one client's FeatureSums, got none")
    count = sum(m.count for m in messages)
    if np.any(count == 0):
        empty = np.flatnonzero(count == 0).tolist()
        raise ValueError(f"features {empty} have no observed value at any client")
    mean = sum(m.total for m in messages) / count
    var = np.maximum(sum(m.total_sq for m in messages) / count - mean**2, 0.0)
    scale = np.sqrt(var)
    scale[scale < 1e-12] = 1.0
    return Standardizer(mean=mean, scale=scale)
