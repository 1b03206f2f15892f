"""Input checks of federated k-means: errors name the site and the rule."""

from __future__ import annotations

import numpy as np

from fedlab._validation import InvalidParameterError

__all__ = ["check_site_arrays", "as_records"]


def check_site_arrays(site_arrays, site_names):
    """The sites' arrays as 2-D float arrays with one number of features, and their names."""
    if isinstance(site_arrays, np.ndarray) and site_arrays.ndim == 2:
        raise InvalidParameterError("site_arrays must hold one array per site, got a single "
                                    "2-D array (pass [X] for one site)")
    arrays = list(site_arrays)
    if not arrays:
        raise InvalidParameterError("site_arrays must hold one array per site, got none")
    names = [f"site {k}" for k in range(len(arrays))] if site_names is None else \
        [str(n) for n in site_names]
    if len(names) != len(arrays):
        raise InvalidParameterError(f"site_names has {len(names)} names for "
                                    f"{len(arrays)} sites")
    sites, d = [], None
    for X, name in zip(arrays, names):
        try:
            X = np.asarray(X, dtype=float)
        except (TypeError, ValueError):
            raise InvalidParameterError(f"site {name!r}: the records must be numbers") \
                from None
        if X.ndim != 2 or X.shape[0] == 0:
            raise InvalidParameterError(f"site {name!r} has no records" if X.size == 0 else
                                        f"site {name!r}: records must be 2-D, got shape "
                                        f"{X.shape}")
        if np.isnan(X).any():
            raise InvalidParameterError(
                f"site {name!r} has {int(np.isnan(X).sum())} missing values: k-means needs "
                "complete records (impute them first, e.g. with the federated mean)")
        if not np.isfinite(X).all():
            raise InvalidParameterError(f"site {name!r} has infinite values")
        if d is not None and X.shape[1] != d:
            raise InvalidParameterError(f"site {name!r} has {X.shape[1]} features, the "
                                        f"first site {d}")
        d = X.shape[1]
        sites.append(X)
    return sites, names


def as_records(X, name, n_features, rows=None):
    """``X`` as a finite 2-D float array of ``n_features`` columns (and ``rows`` rows)."""
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != n_features or (rows is not None and len(X) != rows):
        shape = f"({rows if rows is not None else 'n'}, {n_features})"
        raise InvalidParameterError(f"{name} must have shape {shape}, got {X.shape}")
    if not np.isfinite(X).all():
        raise InvalidParameterError(f"{name} must be finite")
    return X
