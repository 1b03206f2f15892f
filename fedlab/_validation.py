"""Shared input checks: every public function fails early with a message a learner can act on."""

from __future__ import annotations

import math
import numbers

import numpy as np


def check_rng(random_state):
    """Turn ``None``, an int or a ``numpy.random.Generator`` into a Generator.

    Examples
    --------
    >>> int(check_rng(0).integers(10)) == int(check_rng(0).integers(10))
    True
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None or (isinstance(random_state, numbers.Integral)
                                and not isinstance(random_state, bool)):
        return np.random.default_rng(random_state)
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
    """Return ``value`` as a float; raise unless it is a finite number > 0 (>= 0 if not strict).

    Examples
    --------
    >>> check_positive(0.5, "lr")
    0.5
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value) or (value <= 0 if strict else value < 0):
        rule = "> 0" if strict else ">= 0"
        raise ValueError(f"{name} must be a finite number {rule}, got {value}")
    return float(value)


def check_int(value, name, *, minimum=None, maximum=None):
    """Return ``value`` as an int; raise unless it is an integer in ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return int(value)


def check_fraction(value, name, *, include_one=True):
    """Return ``value`` as a float; raise unless ``0 < value <= 1`` (``< 1`` without one)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not (0 < value <= 1 if include_one else 0 < value < 1):
        interval = "(0, 1]" if include_one else "(0, 1)"
        raise ValueError(f"{name} must be in {interval}, got {value}")
    return float(value)
