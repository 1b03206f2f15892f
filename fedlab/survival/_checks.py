"""Input checks shared by the survival modules: times, event indicators, covariates."""

from __future__ import annotations

import numpy as np

from fedlab._validation import InvalidParameterError

__all__ = ["check_survival", "check_covariates", "split_y"]


def check_survival(time, event, *, name="time"):
    """Return ``time`` (float, finite, >= 0) and ``event`` (bool) as 1-D arrays of one length.

    Raises
    ------
    InvalidParameterError
        If a time is negative, missing or infinite, an event is not 0/1, or the lengths
        differ.
    """
    try:
        t = np.asarray(time, dtype=float)
        e = np.asarray(event, dtype=float)
    except (TypeError, ValueError) as err:
        raise InvalidParameterError(f"{name} and event must be numeric arrays") from err
    if t.ndim != 1 or e.shape != t.shape:
        raise InvalidParameterError(
            f"{name} and event must be 1-D of one length, got shapes {t.shape} and {e.shape}")
    if len(t) == 0:
        raise InvalidParameterError(f"{name} must hold at least one patient, got 0")
    bad = ~np.isfinite(t)
    if bad.any():
        raise InvalidParameterError(
            f"{name} must be finite, got {int(bad.sum())} missing or infinite value(s)")
    if (t < 0).any():
        raise InvalidParameterError(
            f"{name} must be >= 0, got {int((t < 0).sum())} negative value(s), e.g. {t.min()}")
    if not np.isin(e, (0.0, 1.0)).all():
        odd = e[~np.isin(e, (0.0, 1.0))][0]
        raise InvalidParameterError(f"event must be 0 or 1, got {odd}")
    return t, e.astype(bool)


def check_covariates(X, n, *, name="X"):
    """Return ``X`` as a finite 2-D float array with ``n`` rows."""
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or len(X) != n:
        raise InvalidParameterError(
            f"{name} must be 2-D with one row per patient ({n}), got shape {X.shape}")
    if not np.isfinite(X).all():
        raise InvalidParameterError(f"{name} must be finite, got NaN or infinite values")
    return X


def split_y(y):
    """Split a survival outcome of shape (n, 2) (time, event) into checked time and event.

    Examples
    --------
    >>> t, e = split_y([[2.0, 1], [3.5, 0]])
    >>> t.tolist(), e.tolist()
    ([2.0, 3.5], [True, False])
    """
    y = np.asarray(y, dtype=float)
    if y.ndim != 2 or y.shape[1] != 2:
        raise InvalidParameterError(
            f"y must have shape (n, 2): column 0 the time, column 1 the event (0/1), "
            f"got shape {y.shape}")
    return check_survival(y[:, 0], y[:, 1])
