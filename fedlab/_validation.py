"""Shared input checks: every public function fails early with a message a learner can act on."""

from __future__ import annotations

import numbers

import numpy as np


def check_rng(random_state):
    """Turn ``None``, an int or a ``numpy.random.Generator`` into a Generator.

    Examples
    --------
    >>> int(check_rng(0).integers(10)) == int(check_rng(0).integers(10))
    True
    """
    if random_state is None or isinstance(random_state, (numbers.Integral, np.random.SeedSequence)):
        return np.random.default_rng(random_state)
    if isinstance(random_state, np.random.Generator):
        return random_state
    raise TypeError(
        "random_state must be None, an int or a numpy.random.Generator, "
        f"got {type(random_state).__name__}"
    )


def check_xy(X, y):
    """Return ``X`` as a 2-D float array and ``y`` as a 1-D float array of the same length."""
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D of shape (n_samples, n_features), got shape {X.shape}")
    if y.ndim != 1 or len(y) != len(X):
        raise ValueError(
            f"y must be 1-D with one label per row of X ({len(X)} rows), got shape {y.shape}"
        )
    if len(y) == 0:
        raise ValueError("X and y must hold at least one sample, got 0")
    return X, y


def check_positive(value, name, *, strict=True):
    """Raise ``ValueError`` unless ``value`` is a finite number > 0 (>= 0 if not strict)."""
    if not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if (strict and value <= 0) or (not strict and value < 0):
        rule = "> 0" if strict else ">= 0"
        raise ValueError(f"{name} must be {rule}, got {value!r}")
    return value


def check_int(value, name, *, minimum=None, maximum=None):
    """Raise ``ValueError`` unless ``value`` is an integer within ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if not (isinstance(value, numbers.Real) and float(value).is_integer()):
            raise ValueError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_fraction(value, name):
    """Raise ``ValueError`` unless ``0 < value <= 1``."""
    if not isinstance(value, numbers.Real) or not 0 < value <= 1:
        raise ValueError(f"{name} must be in (0, 1], got {value!r}")
    return float(value)
