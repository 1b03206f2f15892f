"""Shared input checks: every public function fails early with a message a learner can act on."""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = ["InvalidParameterError", "check_rng", "check_xy", "check_positive", "check_int",
           "check_fraction", "check_finite", "check_choice", "check_sgd_step"]


class InvalidParameterError(ValueError, TypeError):
    """A public function's argument is out of its allowed range or of the wrong type.

    One error class for every input check of the package (as scikit-learn's
    ``InvalidParameterError``): it is both a ``ValueError`` and a ``TypeError``, so callers
    may catch either. The message names the parameter, the value and the rule.
    """


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
    raise InvalidParameterError(
        "random_state must be None, an int or a numpy.random.Generator, "
        f"got {type(random_state).__name__}"
    )


def check_xy(X, y):
    """Return ``X`` as a 2-D float array and ``y`` as a 1-D float array of the same length."""
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if X.ndim != 2:
        raise InvalidParameterError(
            f"X must be 2-D of shape (n_samples, n_features), got shape {X.shape}")
    if y.ndim != 1 or len(y) != len(X):
        raise InvalidParameterError(
            f"y must be 1-D with one label per row of X ({len(X)} rows), got shape {y.shape}"
        )
    if len(y) == 0:
        raise InvalidParameterError("X and y must hold at least one sample, got 0")
    return X, y


def check_positive(value, name, *, strict=True):
    """Return ``value`` as a float; raise unless it is a finite number > 0 (>= 0 if not strict).

    Examples
    --------
    >>> check_positive(0.5, "lr")
    0.5
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidParameterError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value) or (value <= 0 if strict else value < 0):
        rule = "> 0" if strict else ">= 0"
        raise InvalidParameterError(f"{name} must be a finite number {rule}, got {value}")
    return float(value)


def check_int(value, name, *, minimum=None, maximum=None):
    """Return ``value`` as an int; raise unless it is an integer in ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidParameterError(f"{name} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise InvalidParameterError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise InvalidParameterError(f"{name} must be <= {maximum}, got {value}")
    return int(value)


def check_fraction(value, name, *, include_one=True):
    """Return ``value`` as a float; raise unless ``0 < value <= 1`` (``< 1`` without one)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidParameterError(f"{name} must be a number, got {value!r}")
    if not (0 < value <= 1 if include_one else 0 < value < 1):
        interval = "(0, 1]" if include_one else "(0, 1)"
        raise InvalidParameterError(f"{name} must be in {interval}, got {value}")
    return float(value)


def check_finite(values, name):
    """Return ``values`` as a float array; raise if any entry is NaN or infinite.

    Examples
    --------
    >>> check_finite([1.0, 2.0], "update")
    array([1., 2.])
    """
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as err:
        raise InvalidParameterError(f"{name} must be numeric, got {type(values).__name__}") \
            from err
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise InvalidParameterError(
            f"{name} must be finite, got {bad} NaN or infinite value{'s' * (bad != 1)}")
    return arr


def check_choice(value, name, allowed):
    """Return ``value`` if it is one of ``allowed``; raise naming the choices otherwise.

    Examples
    --------
    >>> check_choice("fedavg", "algorithm", ("fedavg", "fedsgd"))
    'fedavg'
    """
    if value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise InvalidParameterError(f"{name} must be one of {choices}, got {value!r}")
    return value


def check_sgd_step(lr, l2):
    """Refuse ``lr * l2 >= 2``: local SGD's penalty step would grow the weights without bound.

    Each SGD step multiplies the weights by ``1 - lr l2`` before the data's gradient is
    subtracted; at ``lr l2 >= 2`` that factor is ``<= -1`` and the weights swing ever
    wider until they overflow (NaN parameters).

    Examples
    --------
    >>> check_sgd_step(0.1, 1e-3)
    >>> check_sgd_step(0.1, 1e300)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    fedlab._validation.InvalidParameterError: l2 must be below 2 / lr = 20 ... got l2=1e+300...
    """
    if lr * l2 >= 2:
        raise InvalidParameterError(
            f"l2 must be below 2 / lr = {2 / lr:.3g} for local SGD (lr={lr:g}): got "
            f"l2={l2:g}, whose penalty step w <- (1 - lr l2) w makes the weights diverge")
