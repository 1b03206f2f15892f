"""Small input checks shared by the ``fedlab.data`` modules (private)."""

from __future__ import annotations

import math
import numbers

import numpy as np


def check_random_state(random_state):
    """Turn ``None``, an int or a ``np.random.Generator`` into a Generator (once)."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None or (
        isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool)
    ):
        return np.random.default_rng(random_state)
    raise TypeError(
        "random_state must be None, an int or a numpy.random.Generator, "
        f"got {random_state!r} of type {type(random_state).__name__}"
    )


def check_int(value, name, *, minimum):
    """Return ``value`` as an int, or raise if it is not an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_positive(value, name):
    """Return ``value`` as a float, or raise if it is not a finite number > 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return float(value)


def check_fraction(value, name):
    """Return ``value`` as a float, or raise if it is not strictly between 0 and 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not 0 < value < 1:
        raise ValueError(f"{name} must be strictly between 0 and 1, got {value}")
    return float(value)


def permutation(rng, n):
    """A random permutation of ``range(n)`` built from uniform draws only.

    ``argsort`` of uniforms gives the same order on every platform and NumPy version.
    """
    return np.argsort(rng.random(n), kind="stable")
