"""Faulty exports and how to spot them from per-site sums, before any training.

A multicenter study fails more often from one site's bad export than from an attacker:
a laboratory value in other units, an outcome coded the other way round, records
exported twice. The functions here make such a site (to practise on) and flag it from
what lesson 03b's federated preprocessing already shares: counts and sums per feature,
here also split by outcome. No record leaves its site.
"""

from __future__ import annotations

import numpy as np

from fedlab._validation import InvalidParameterError, check_fraction, check_positive, check_rng
from fedlab.data.sites import Hospital
from fedlab.federated.preprocessing import feature_sums

__all__ = ["MG_DL_PER_MMOL_L", "unit_error", "flipped_outcome", "duplicated_records",
           "site_means", "flag_unit_errors", "outcome_contrast", "local_duplicates"]

MG_DL_PER_MMOL_L = 38.67
"""Total or HDL cholesterol: 1 mmol/L is 38.67 mg/dL."""


def unit_error(hospital, feature="total_chol", *, factor=1 / MG_DL_PER_MMOL_L):
    """The hospital with one feature's training values multiplied by ``factor``.

    The default turns cholesterol in mg/dL into mmol/L (a site exporting the SI unit).

    Examples
    --------
    >>> h = Hospital("demo", [[200.0]], [0], [[190.0]], [1], ("total_chol",))
    >>> round(float(unit_error(h).X_train[0, 0]), 2)
    5.17
    """
    column = _column(hospital, feature)
    X = hospital.X_train.copy()
    X[:, column] *= check_positive(factor, "factor")
    return _with_train(hospital, X, hospital.y_train)


def flipped_outcome(hospital):
    """The hospital with its training outcome coded the other way round (1 <-> 0).

    Examples
    --------
    >>> h = Hospital("demo", [[1.0], [2.0]], [0, 1], [[1.0]], [1], ("age",))
    >>> flipped_outcome(h).y_train
    array([1, 0])
    """
    return _with_train(hospital, hospital.X_train, 1.0 - hospital.y_train)


def duplicated_records(hospital, fraction=0.5, *, random_state=None):
    """The hospital with ``fraction`` of its training records exported a second time.

    Examples
    --------
    >>> h = Hospital("demo", [[1.0], [2.0], [3.0], [4.0]], [0, 1, 0, 1], [[1.0]], [1], ("age",))
    >>> duplicated_records(h, 0.5, random_state=0).n_train
    6
    """
    fraction = check_fraction(fraction, "fraction")
    rng = check_rng(random_state)
    n = hospital.n_train
    again = rng.choice(n, size=max(1, int(round(fraction * n))), replace=False)
    order = np.concatenate([np.arange(n), np.sort(again)])
    return _with_train(hospital, hospital.X_train[order], hospital.y_train[order])


def site_means(sums):
    """Each site's mean of each feature, from its :class:`FeatureSums` (missing values skipped).

    Parameters
    ----------
    sums : sequence of FeatureSums
        One per site.

    Returns
    -------
    ndarray of shape (n_sites, n_features)

    Examples
    --------
    >>> from fedlab.federated import feature_sums
    >>> site_means([feature_sums([[1.0], [3.0]]), feature_sums([[10.0]])])
    array([[ 2.],
           [10.]])
    """
    count = np.array([s.count for s in sums], dtype=float)
    total = np.array([s.total for s in sums], dtype=float)
    return np.divide(total, count, out=np.full(total.shape, np.nan), where=count > 0)


def flag_unit_errors(sums, *, factor=2.0):
    """Sites whose mean of a feature is more than ``factor`` times off the sites' median.

    A unit error multiplies every value by a constant (38.67 between mg/dL and
    mmol/L of cholesterol), far more than real sites differ (a few per cent for
    laboratory values): the ratio of a site's mean to the median of all sites' means
    shows it. Meant for positive quantities (laboratory values, pressures, ages); 0/1
    features are never flagged (recognised from the sums: their sum of squares equals
    their sum at every site), since a site may simply have no smokers or no men.

    Parameters
    ----------
    sums : sequence of FeatureSums
        One per site (at least three, so that the median belongs to honest sites).
    factor : float, default=2.0
        How many times above or below the median a mean must be to be flagged.

    Returns
    -------
    ndarray of bool of shape (n_sites, n_features)

    Examples
    --------
    >>> from fedlab.federated import feature_sums
    >>> sums = [feature_sums([[v]]) for v in (200.0, 190.0, 5.2, 210.0)]
    >>> flag_unit_errors(sums)[:, 0]
    array([False, False,  True, False])
    """
    if len(sums) < 3:
        raise InvalidParameterError(
            f"sums must come from at least 3 sites (the median must be an honest site's), "
            f"got {len(sums)}")
    factor = check_positive(factor, "factor")
    if factor <= 1:
        raise InvalidParameterError(f"factor must be > 1, got {factor}")
    means = site_means(sums)
    binary = np.all([np.isclose(s.total_sq, s.total) for s in sums], axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = means / np.nanmedian(means, axis=0)
        return ((ratio > factor) | (ratio < 1 / factor)) & ~binary


def outcome_contrast(X, y):
    """Per feature, the mean among patients with the event minus the mean among the others.

    Computed at the site from two :func:`~fedlab.federated.feature_sums` (cases and
    non-cases): only sums and counts are shared. With the outcome coded the other way
    round, every contrast changes sign (events look younger, with lower blood pressure).

    Returns
    -------
    ndarray of shape (n_features,)

    Examples
    --------
    >>> outcome_contrast([[70.0], [50.0], [60.0]], [1, 0, 0])
    array([15.])
    """
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    cases, others = site_means([feature_sums(X[y == 1]), feature_sums(X[y == 0])])
    return cases - others


def local_duplicates(X):
    """Number of records identical to an earlier record (run at the site; only the count leaves).

    Sums cannot reveal duplicates (a copied record leaves means and spreads almost
    unchanged); a count of repeated rows, computed locally, can.

    Examples
    --------
    >>> local_duplicates([[1.0, 2.0], [1.0, 2.0], [3.0, 4.0]])
    1
    """
    X = np.asarray(X, dtype=float)
    filled = np.where(np.isnan(X), np.inf, X)  # NaN never equals itself; inf does
    return int(len(filled) - len(np.unique(filled, axis=0)))


def _column(hospital, feature):
    if feature not in hospital.feature_names:
        raise InvalidParameterError(
            f"feature must be one of {list(hospital.feature_names)}, got {feature!r}")
    return list(hospital.feature_names).index(feature)


def _with_train(hospital, X, y):
    return Hospital(hospital.name, X, y, hospital.X_test, hospital.y_test,
                    hospital.feature_names, description=hospital.description,
                    slug=hospital.slug)
