"""Dataset shift between sites, each kind with a strength knob (Moreno-Torres et al. 2012).

A site's records come from ``P(x, y) = P(y | x) P(x)``. Each function here changes one
factor of a site and leaves the other alone, so its effect on a model can be seen on its
own: :func:`shift_prevalence` changes ``P(y)`` (label or prior shift),
:func:`shift_covariates` changes ``P(x)`` (covariate shift, e.g. an older case mix),
:func:`shift_concept` changes ``P(y | x)`` (concept shift: the same patient has another
risk). Measurement shift (a device that reads high) is
:func:`~fedlab.data.shift_feature`; quantity skew is
:func:`~fedlab.data.partition_quantity_skew`.

Label and covariate shift by drawing records keep only some of the site's patients, and
another subset at every strength. To compare one model before and after such a shift on
**the same patients**, :func:`prevalence_weights` and :func:`covariate_weights` give every
record an importance weight instead (``P'(y) / P(y)``, or proportional to
``exp(strength * z)``): strength 0 gives every record weight 1, the unshifted site itself.
"""

from __future__ import annotations

import numpy as np

from fedlab._validation import InvalidParameterError, check_fraction, check_rng
from fedlab.models import logistic

from .sites import Site

__all__ = ["shift_prevalence", "shift_covariates", "shift_concept", "prevalence_weights",
           "covariate_weights"]


def shift_prevalence(site, prevalence, *, random_state=None):
    """Keep the largest random subset of ``site`` whose share of events is ``prevalence``.

    Label (prior) shift: ``P(y)`` changes, ``P(x | y)`` does not (within each class the
    records kept are a uniform random sample).

    Parameters
    ----------
    site : Site
        Records with both classes.
    prevalence : float in (0, 1)
        Share of records with label 1 after the shift.
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    Site
        Records in their original order.

    Examples
    --------
    >>> site = Site("demo", [[float(i)] for i in range(10)], [0] * 8 + [1] * 2, ("x",))
    >>> shifted = shift_prevalence(site, 0.5, random_state=0)
    >>> shifted.n_records, shifted.prevalence
    (4, 0.5)
    """
    _check_site(site)
    prevalence = check_fraction(prevalence, "prevalence", include_one=False)
    rng = check_rng(random_state)
    pos, neg = np.flatnonzero(site.y == 1), np.flatnonzero(site.y == 0)
    if len(pos) == 0 or len(neg) == 0:
        raise InvalidParameterError(
            f"site {site.name!r} must hold both classes to change its prevalence, got "
            f"{len(pos)} events and {len(neg)} non-events")
    # the most records n with n * prevalence events and n * (1 - prevalence) non-events
    n = min(len(pos) / prevalence, len(neg) / (1.0 - prevalence))
    n_pos = max(1, int(round(n * prevalence)))
    n_neg = max(1, int(round(n * (1.0 - prevalence))))
    keep = np.concatenate([rng.choice(pos, min(n_pos, len(pos)), replace=False),
                           rng.choice(neg, min(n_neg, len(neg)), replace=False)])
    return site.take(np.sort(keep))


def shift_covariates(site, feature="age", *, strength, size=0.5, random_state=None):
    """A random subset of ``site`` tilted towards high (or low) values of ``feature``.

    Covariate shift: records are drawn without replacement with probability proportional
    to ``exp(strength * z)``, ``z`` the feature standardized within the site, so ``P(x)``
    changes while ``P(y | x)`` does not (the labels are those of the records drawn).

    Parameters
    ----------
    site : Site
    feature : str, default="age"
        The column whose distribution is tilted.
    strength : float
        ``0`` keeps a uniform random subset; ``1`` favours records one standard deviation
        above the mean by a factor ``e``; negative values favour low values.
    size : float in (0, 1], default=0.5
        Share of the site's records kept.
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    Site

    Examples
    --------
    >>> site = Site("demo", [[float(a)] for a in range(30, 80)], [0, 1] * 25, ("age",))
    >>> older = shift_covariates(site, "age", strength=2.0, random_state=0)
    >>> older.n_records, bool(older.column("age").mean() > site.column("age").mean())
    (25, True)
    """
    _check_site(site)
    z = _standardized(site, feature)
    strength = _check_strength(strength)
    size = check_fraction(size, "size")
    rng = check_rng(random_state)
    n_keep = max(1, int(round(size * site.n_records)))
    log_w = strength * np.nan_to_num(z)
    # Efraimidis-Spirakis: the n_keep largest keys log(u) / w draw without replacement
    keys = np.log(rng.random(site.n_records)) * np.exp(-(log_w - log_w.max()))
    keep = np.argsort(-keys, kind="stable")[:n_keep]
    return site.take(np.sort(keep))


def shift_concept(site, *, strength, feature=None, random_state=None):
    """Relabel ``site`` so that its log-odds of an event move by ``strength`` (concept shift).

    ``P(x)`` stays; ``P(y | x)`` becomes ``logistic(logit p(x) + strength * s(x))`` with
    ``s = 1`` (``feature=None``: every patient's risk moves, as in a site whose outcome
    definition or care differs) or ``s = z``, the standardized ``feature`` (its effect on
    the outcome grows or shrinks).

    Parameters
    ----------
    site : Site
        Records with both classes.
    strength : float
        Change of the log-odds (per standard deviation of ``feature``); 0 leaves the
        labels as they are.
    feature : str, optional
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    Site
        The same records with new labels.

    Notes
    -----
    ``p(x)`` is estimated by a logistic regression fitted on the site (missing values
    set to the mean). Each label moves only as far as needed: where ``p' > p`` a
    non-event becomes an event with probability ``(p' - p) / (1 - p)``, where ``p' < p``
    an event becomes a non-event with probability ``(p - p') / p``; if ``y`` follows
    ``p(x)``, the new label follows ``p'(x)``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(2000, 1)); y = (rng.random(2000) < 0.2).astype(int)
    >>> site = Site("demo", x, y, ("x",))
    >>> riskier = shift_concept(site, strength=1.0, random_state=0)
    >>> round(site.prevalence, 2), round(riskier.prevalence, 2)
    (0.2, 0.41)
    """
    _check_site(site)
    strength = _check_strength(strength)
    s = 1.0 if feature is None else np.nan_to_num(_standardized(site, feature))
    rng = check_rng(random_state)
    if len(np.unique(site.y)) < 2:
        raise InvalidParameterError(
            f"site {site.name!r} must hold both classes to estimate P(y | x) for a concept "
            "shift, got one")
    X = _imputed_standardized(site.X)
    p = logistic.predict_proba(logistic.fit(X, site.y, l2=1e-3), X)
    p_new = logistic.sigmoid(np.log(p) - np.log1p(-p) + strength * s)
    u = rng.random(site.n_records)
    up = (site.y == 0) & (p_new > p) & (u < (p_new - p) / (1.0 - p))
    down = (site.y == 1) & (p_new < p) & (u < (p - p_new) / p)
    y = site.y.copy()
    y[up], y[down] = 1.0, 0.0
    return Site(site.name, site.X, y, site.feature_names)


def prevalence_weights(site, prevalence):
    """Importance weights that give ``site`` the share of events ``prevalence``, every record kept.

    Label (prior) shift as a reweighting: each event weighs ``prevalence / p`` and each
    non-event ``(1 - prevalence) / (1 - p)``, ``p`` the site's own share of events, so the
    weighted share of events is ``prevalence`` and ``P(x | y)`` is untouched. The weights
    average 1; ``prevalence = p`` gives every record weight 1.

    Parameters
    ----------
    site : Site
        Records with both classes.
    prevalence : float in (0, 1)

    Returns
    -------
    ndarray of shape (n_records,)

    Examples
    --------
    >>> site = Site("demo", [[float(i)] for i in range(10)], [0] * 8 + [1] * 2, ("x",))
    >>> w = prevalence_weights(site, 0.5)
    >>> float(w[site.y == 1].sum() / w.sum()), float(w.mean())
    (0.5, 1.0)
    """
    _check_site(site)
    prevalence = check_fraction(prevalence, "prevalence", include_one=False)
    events = site.y == 1
    if events.all() or not events.any():
        raise InvalidParameterError(
            f"site {site.name!r} must hold both classes to change its prevalence, got "
            f"{int(events.sum())} events and {int((~events).sum())} non-events")
    p = events.mean()
    return np.where(events, prevalence / p, (1.0 - prevalence) / (1.0 - p))


def covariate_weights(site, feature="age", *, strength):
    """Importance weights that tilt ``site`` towards high (or low) ``feature``, every record kept.

    Covariate shift as a reweighting: record ``i`` weighs ``exp(strength * z_i)``
    (``z`` the feature standardized within the site; a missing value counts as the mean),
    rescaled to average 1. ``P(y | x)`` is untouched; strength 0 gives every record
    weight 1. The same tilt as :func:`shift_covariates`, without drawing a subset.

    Parameters
    ----------
    site : Site
    feature : str, default="age"
    strength : float

    Returns
    -------
    ndarray of shape (n_records,)

    Examples
    --------
    >>> site = Site("demo", [[float(a)] for a in range(30, 80)], [0, 1] * 25, ("age",))
    >>> w = covariate_weights(site, "age", strength=1.0)
    >>> round(float(w.mean()), 6), bool(np.average(site.column("age"), weights=w) > 54.5)
    (1.0, True)
    """
    _check_site(site)
    z = np.nan_to_num(_standardized(site, feature))
    strength = _check_strength(strength)
    log_w = strength * z
    w = np.exp(log_w - log_w.max())
    return w / w.mean()


def _check_site(site):
    if not isinstance(site, Site):
        raise InvalidParameterError(f"site must be a fedlab.data.Site, got {type(site).__name__}")


def _check_strength(strength):
    if isinstance(strength, bool) or not isinstance(strength, (int, float, np.number)) \
            or not np.isfinite(strength):
        raise InvalidParameterError(f"strength must be a finite number, got {strength!r}")
    return float(strength)


def _standardized(site, feature):
    if feature not in site.feature_names:
        raise InvalidParameterError(
            f"feature must be one of {site.feature_names}, got {feature!r}")
    x = site.column(feature)
    sd = np.nanstd(x)
    return (x - np.nanmean(x)) / (sd if sd > 0 else 1.0)


def _imputed_standardized(X):
    mean, sd = np.nanmean(X, axis=0), np.nanstd(X, axis=0)
    return np.nan_to_num((X - mean) / np.where(sd > 0, sd, 1.0))
