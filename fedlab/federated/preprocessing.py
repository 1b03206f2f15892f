"""Federated standardization: global mean and spread from clients' summaries (Chan et al. 1979).

Each client sends, per feature, how many values it observed, their mean, and the sum of
their squared deviations from that mean (``M2``). The server merges these with Chan,
Golub & LeVeque's pairwise formula into the global mean and standard deviation, exactly
what pooling the records would give, without seeing a single record; missing values are
then filled with the global mean. The same three numbers carry the same information as a
count, a sum and a sum of squares, but stay accurate when values are large compared with
their spread, and a value too large for float64 is refused instead of zeroing a feature.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fedlab._validation import InvalidParameterError

__all__ = ["FeatureSums", "Standardizer", "feature_sums", "combine"]

#: A feature whose spread is below this fraction of its magnitude is treated as constant.
RELATIVE_SPREAD_FLOOR = 1e-12


@dataclass(frozen=True)
class FeatureSums:
    """What a client reveals for preprocessing: per-feature count, mean and M2.

    Attributes
    ----------
    count : ndarray of shape (n_features,)
        Number of observed (non-missing) values.
    mean : ndarray of shape (n_features,)
        Their mean (0 where nothing was observed).
    m2 : ndarray of shape (n_features,)
        Sum of squared deviations of the observed values from ``mean``.

    Examples
    --------
    >>> s = feature_sums(np.array([[1.0], [3.0], [np.nan]]))
    >>> s.count, s.mean, s.m2
    (array([2.]), array([2.]), array([2.]))
    >>> s.total, s.total_sq  # the same message as a sum and a sum of squares
    (array([4.]), array([10.]))
    """

    count: np.ndarray
    mean: np.ndarray
    m2: np.ndarray

    @property
    def total(self):
        """Sum of the observed values, ``count * mean``."""
        return self.count * self.mean

    @property
    def total_sq(self):
        """Sum of their squares, ``m2 + count * mean^2``."""
        return self.m2 + self.count * self.mean**2

    @property
    def nbytes(self):
        """Size of the message on the wire (three float64 vectors)."""
        return int(self.count.nbytes + self.mean.nbytes + self.m2.nbytes)


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
            raise InvalidParameterError(
                f"X must have shape (n_samples, {len(self.mean)}), got {X.shape}"
            )
        Z = (X - self.mean) / self.scale
        return np.where(np.isnan(Z), 0.0, Z)

    @property
    def nbytes(self):
        """Size of the message the server broadcasts (two float64 vectors)."""
        return int(self.mean.nbytes + self.scale.nbytes)


def feature_sums(X, *, site=None, feature_names=None):
    """Summarise one client's records as :class:`FeatureSums` (missing values skipped).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Raw records; ``nan`` marks a missing value.
    site : str, optional
        The client's name, for error messages.
    feature_names : sequence of str, optional
        Column names, for error messages.

    Raises
    ------
    ValueError
        Naming the site and the column: an infinite value, or values so large that
        their spread overflows float64 (``|x|`` beyond about ``1e154``).

    Notes
    -----
    Two passes: the mean, then the squared deviations from it (with the usual
    correction for the rounding of the mean). Summing squares of raw values instead
    would overflow at ``|x| ~ 1e154`` and lose all precision when the mean is large
    compared with the spread.

    Examples
    --------
    >>> feature_sums(np.array([[1e9 + 1.0], [1e9 + 3.0]])).m2  # exact; sums of squares: 0
    array([2.])
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise InvalidParameterError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}")
    observed = ~np.isnan(X)
    count = observed.sum(axis=0).astype(float)
    infinite = np.isinf(X).any(axis=0)
    if infinite.any():
        raise InvalidParameterError(f"{_where(site, feature_names, np.flatnonzero(infinite)[0])}: "
                         "holds an infinite value; standardization needs finite numbers")
    n = np.maximum(count, 1.0)
    work = np.where(observed, X, 0.0)  # the one n x d temporary
    largest = np.maximum(work.max(axis=0, initial=0.0), -work.min(axis=0, initial=0.0))
    unit = np.ldexp(1.0, np.frexp(largest)[1] - 1)  # a power of two near the largest |x|
    with np.errstate(over="ignore", invalid="ignore"):
        work /= unit  # exact (a power of two): the sum below cannot overflow
        mean = work.sum(axis=0) / n * unit
        work *= unit
        work -= mean
        work[~observed] = 0.0
        m2 = np.einsum("ij,ij->j", work, work)
        m2 -= work.sum(axis=0) ** 2 / n  # the rounding of the mean, corrected
    m2 = np.maximum(m2, 0.0)
    scale = largest
    overflow = ~np.isfinite(mean) | ~np.isfinite(m2)
    if overflow.any():
        j = np.flatnonzero(overflow)[0]
        raise InvalidParameterError(f"{_where(site, feature_names, j)}: values as large as "
                         f"{scale[j]:.3g} cannot be standardized in float64 (their squared "
                         "spread overflows); check the column's units or for an entry error")
    return FeatureSums(count, mean, m2)


def combine(messages, *, names=None, feature_names=None):
    """Build the global :class:`Standardizer` from every client's :class:`FeatureSums`.

    Parameters
    ----------
    messages : sequence of FeatureSums
    names : sequence of str, optional
        The clients' names, for error messages.
    feature_names : sequence of str, optional
        Column names, for error messages.

    Raises
    ------
    ValueError
        If a feature has no observed value at any client, or the clients' means are so
        far apart that the pooled spread overflows float64 (naming the column and the
        client whose mean is farthest).

    Notes
    -----
    With ``N = sum_k n_k`` and ``mean = sum_k (n_k / N) mean_k``, Chan et al.'s merge
    gives ``M2 = sum_k M2_k + sum_k n_k (mean_k - mean)^2``; the population variance is
    ``M2 / N``, exactly what pooling the records would give. A feature whose standard
    deviation is below ``1e-12`` times ``max(|mean|, 1)`` (a constant, up to rounding)
    gets scale 1, so nothing divides by (almost) zero.

    References
    ----------
    .. [1] Chan, T. F., Golub, G. H., & LeVeque, R. J. (1979). Updating formulae and a
       pairwise algorithm for computing sample variances. Stanford CS report 79-773.

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
        raise InvalidParameterError("combine needs at least one client's FeatureSums, got none")
    counts = np.array([m.count for m in messages], dtype=float)
    means = np.array([m.mean for m in messages], dtype=float)
    count = counts.sum(axis=0)
    if np.any(count == 0):
        empty = np.flatnonzero(count == 0).tolist()
        raise InvalidParameterError(f"features {empty} have no observed value at any client")
    weights = counts / count
    with np.errstate(over="ignore", invalid="ignore"):
        mean = (weights * means).sum(axis=0)
        between = (counts * (means - mean) ** 2).sum(axis=0)
        m2 = sum(m.m2 for m in messages) + between
    overflow = ~np.isfinite(mean) | ~np.isfinite(m2)
    if overflow.any():
        j = np.flatnonzero(overflow)[0]
        k = int(np.argmax(np.where(counts[:, j] > 0, np.abs(means[:, j]), -1.0)))
        site = names[k] if names is not None else f"client {k}"
        raise InvalidParameterError(
            f"{_where(site, feature_names, j)}: a mean of {means[k, j]:.3g} is "
            "too far from the other clients' to standardize in float64; "
            "check the column's units or for an entry error"
        )
    scale = np.sqrt(m2 / count)
    scale[scale <= RELATIVE_SPREAD_FLOOR * np.maximum(np.abs(mean), 1.0)] = 1.0
    return Standardizer(mean=mean, scale=scale)


def _where(site, feature_names, j):
    column = f"column '{feature_names[j]}'" if feature_names is not None else f"column {j}"
    return f"{site}: {column}" if site else column
