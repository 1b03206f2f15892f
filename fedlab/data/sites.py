"""The records one hospital holds: a ``Site`` (one table) and a ``Hospital`` (train + test)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fedlab._validation import InvalidParameterError


@dataclass(frozen=True, eq=False)
class Site:
    """The patient records held by one site: features ``X`` and labels ``y``.

    Parameters
    ----------
    name : str
        Name of the site, e.g. ``"Hillcrest Rural Clinic"``.
    X : array-like of shape (n_records, n_features)
        Feature values as floats; ``np.nan`` marks a missing value. Copied.
    y : array-like of shape (n_records,)
        Labels, 0 or 1. Copied.
    feature_names : sequence of str
        Name of each column of ``X``.
    time : array-like of shape (n_records,), default=None
        A time-to-event outcome's observed times (``>= 0``); ``y`` is then the event
        indicator (1 = event, 0 = censored). ``None`` for a binary outcome. Copied.
    ids : array-like of str of shape (n_records,), default=None
        Each record's patient id, where the site has one (never a feature).

    Raises
    ------
    ValueError
        If the shapes disagree, ``y`` holds anything but 0 and 1 or a time is negative
        or not finite.

    Examples
    --------
    >>> site = Site("demo", [[50.0, 1.0], [61.0, 0.0]], [0, 1], ("age", "sex"))
    >>> site
    Site(name='demo', n_records=2, n_features=2, prevalence=0.500)
    >>> site.column("age")
    array([50., 61.])
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    time: np.ndarray | None = None
    ids: np.ndarray | None = None

    def __post_init__(self):
        X, y, names = _check_table(self.X, self.y, self.feature_names, where=self.name)
        object.__setattr__(self, "X", X)
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "feature_names", names)
        object.__setattr__(self, "time", _check_time(self.time, len(y), where=self.name))
        object.__setattr__(self, "ids", _check_ids(self.ids, len(y), where=self.name))

    @classmethod
    def _adopt(cls, name, X, y, feature_names, time=None, ids=None):
        """A ``Site`` that takes ``X`` and ``y`` over without copying (the CSV reader's).

        For arrays nobody else holds: a big file's records then live in memory once.
        """
        site = cls.__new__(cls)
        X, y, names = _check_table(X, y, feature_names, where=name, copy=False)
        time = _check_time(time, len(y), where=name, copy=False)
        ids = _check_ids(ids, len(y), where=name)
        for field, value in (("name", name), ("X", X), ("y", y), ("feature_names", names),
                             ("time", time), ("ids", ids)):
            object.__setattr__(site, field, value)
        return site

    @property
    def outcome(self):
        """``"survival"`` when the site holds event times, else ``"binary"``."""
        return "binary" if self.time is None else "survival"

    @property
    def n_records(self):
        """Number of records (rows)."""
        return len(self.y)

    @property
    def prevalence(self):
        """Fraction of records with label 1 (``nan`` for an empty site)."""
        return float(self.y.mean()) if len(self.y) else float("nan")

    def column(self, name):
        """Return one feature column as a 1-D array (a copy)."""
        if name not in self.feature_names:
            raise InvalidParameterError(
                f"no feature named {name!r}; features are {self.feature_names}"
            )
        return self.X[:, self.feature_names.index(name)].copy()

    def take(self, indices, *, name=None):
        """Return a new ``Site`` with the records at ``indices`` (e.g. one client's share).

        ``indices`` is an array of row numbers or a boolean mask of length ``n_records``.
        """
        indices = np.asarray(indices)
        if indices.dtype == bool:
            indices = np.flatnonzero(indices)
        elif indices.size and not np.issubdtype(indices.dtype, np.integer):
            raise InvalidParameterError(
                f"indices must be integers or a boolean mask, got {indices.dtype}"
            )
        return Site(name or self.name, self.X[indices], self.y[indices], self.feature_names,
                    time=None if self.time is None else self.time[indices],
                    ids=None if self.ids is None else self.ids[indices])

    def __repr__(self):
        return (
            f"Site(name={self.name!r}, n_records={self.n_records}, "
            f"n_features={len(self.feature_names)}, prevalence={self.prevalence:.3f})"
        )


@dataclass(frozen=True, eq=False)
class Hospital:
    """One hospital of the course: its records already split into train and test.

    Parameters
    ----------
    name : str
        Readable name, e.g. ``"Metro University Hospital"``.
    X_train, X_test : array-like of shape (n_train, n_features), (n_test, n_features)
        Features (floats, ``np.nan`` = missing).
    y_train, y_test : array-like of shape (n_train,), (n_test,)
        Labels, 0 or 1.
    feature_names : sequence of str
        Names of the columns of ``X_train`` and ``X_test``.
    description : str, default=""
        The hospital's profile in one sentence.
    slug : str, default=""
        Short file-name form of the name, e.g. ``"metro_university"``.
    time_train, time_test : array-like of shape (n_train,), (n_test,), default=None
        Observed times of a time-to-event outcome (``y`` then holds the events).
    ids_train, ids_test : array-like of str, default=None
        Patient ids, where the site has them.

    Examples
    --------
    >>> h = Hospital("demo", [[50.0], [60.0]], [0, 1], [[55.0]], [1], ("age",))
    >>> h.n_train, h.n_test, round(h.prevalence, 3)
    (2, 1, 0.667)
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    feature_names: tuple[str, ...]
    description: str = ""
    slug: str = ""
    time_train: np.ndarray | None = None
    time_test: np.ndarray | None = None
    ids_train: np.ndarray | None = None
    ids_test: np.ndarray | None = None

    def __post_init__(self):
        names = self.feature_names
        if (self.time_train is None) != (self.time_test is None):
            raise InvalidParameterError(f"{self.name}: give time_train and time_test, or "
                                        "neither")
        for split in ("train", "test"):
            where = f"{self.name} ({split})"
            X, y, names = _check_table(
                getattr(self, f"X_{split}"), getattr(self, f"y_{split}"), names, where=where
            )
            object.__setattr__(self, f"X_{split}", X)
            object.__setattr__(self, f"y_{split}", y)
            object.__setattr__(self, f"time_{split}",
                               _check_time(getattr(self, f"time_{split}"), len(y), where=where))
            object.__setattr__(self, f"ids_{split}",
                               _check_ids(getattr(self, f"ids_{split}"), len(y), where=where))
        object.__setattr__(self, "feature_names", names)

    @classmethod
    def from_sites(cls, train, test, *, description="", slug="", name=None):
        """Build a ``Hospital`` from a train ``Site`` and a test ``Site``."""
        if tuple(train.feature_names) != tuple(test.feature_names):
            raise InvalidParameterError("train and test sites must have the same feature_names")
        if train.outcome != test.outcome:
            raise InvalidParameterError("train and test sites must have the same outcome kind")
        return cls(
            name or train.name,
            train.X,
            train.y,
            test.X,
            test.y,
            train.feature_names,
            description=description,
            slug=slug,
            time_train=train.time, time_test=test.time, ids_train=train.ids, ids_test=test.ids,
        )

    @property
    def n_train(self):
        """Number of training records."""
        return len(self.y_train)

    @property
    def n_test(self):
        """Number of test records."""
        return len(self.y_test)

    @property
    def prevalence(self):
        """Fraction of label-1 records over train and test together."""
        n = self.n_train + self.n_test
        return float((self.y_train.sum() + self.y_test.sum()) / n) if n else float("nan")

    @property
    def outcome(self):
        """``"survival"`` when the hospital holds event times, else ``"binary"``."""
        return "binary" if self.time_train is None else "survival"

    @property
    def train(self):
        """The training records as a ``Site``."""
        return Site(self.name, self.X_train, self.y_train, self.feature_names,
                    time=self.time_train, ids=self.ids_train)

    @property
    def test(self):
        """The test records as a ``Site``."""
        return Site(self.name, self.X_test, self.y_test, self.feature_names,
                    time=self.time_test, ids=self.ids_test)

    def __repr__(self):
        return (
            f"Hospital(name={self.name!r}, n_train={self.n_train}, n_test={self.n_test}, "
            f"prevalence={self.prevalence:.3f})"
        )


def pool_sites(sites, *, name="pooled"):
    """Stack the records of several sites into one ``Site`` (the centralized baseline).

    Parameters
    ----------
    sites : sequence of Site
        Sites with identical ``feature_names``.
    name : str, default="pooled"
        Name of the pooled site.

    Returns
    -------
    Site

    Examples
    --------
    >>> a = Site("a", [[1.0]], [0], ("x",))
    >>> b = Site("b", [[2.0], [3.0]], [1, 1], ("x",))
    >>> pool_sites([a, b]).n_records
    3
    """
    sites = list(sites)
    if not sites:
        raise InvalidParameterError("sites must hold at least one Site, got an empty sequence")
    names = sites[0].feature_names
    for site in sites[1:]:
        if site.feature_names != names:
            raise InvalidParameterError(
                f"site {site.name!r} has features {site.feature_names}, "
                f"but site {sites[0].name!r} has {names}"
            )
    X = np.concatenate([site.X for site in sites])
    y = np.concatenate([site.y for site in sites])
    outcomes = {site.outcome for site in sites}
    if len(outcomes) > 1:
        raise InvalidParameterError("sites must all have event times or none, got a mix")
    time = None if outcomes == {"binary"} else np.concatenate([site.time for site in sites])
    ids = (np.concatenate([site.ids for site in sites])
           if all(site.ids is not None for site in sites) else None)
    return Site(name, X, y, names, time=time, ids=ids)


def _check_table(X, y, feature_names, *, where, copy=True):
    names = tuple(str(n) for n in feature_names)
    X = np.array(X, dtype=float, copy=copy or None)
    y_raw = np.array(y, copy=copy or None)
    if X.ndim == 1 and X.size == 0:
        X = X.reshape(0, len(names))
    if X.ndim != 2:
        raise InvalidParameterError(
            f"{where}: X must be 2-D (n_records, n_features), got shape {X.shape}"
        )
    if y_raw.ndim != 1 or len(y_raw) != len(X):
        raise InvalidParameterError(
            f"{where}: y must have shape ({len(X)},), got shape {y_raw.shape}"
        )
    if X.shape[1] != len(names):
        raise InvalidParameterError(
            f"{where}: X has {X.shape[1]} columns but {len(names)} feature_names were given"
        )
    if len(set(names)) != len(names):
        raise InvalidParameterError(f"{where}: feature_names must be unique, got {names}")
    valid = (y_raw == 0) | (y_raw == 1)  # no temporary copy of y (np.isin makes one)
    if not valid.all():
        bad = y_raw[~valid][0].item()
        raise InvalidParameterError(f"{where}: y must hold only 0 and 1, got {bad!r}")
    return X, y_raw.astype(np.int64, copy=copy), names


def _check_time(time, n, *, where, copy=True):
    if time is None:
        return None
    time = np.array(time, dtype=float, copy=copy or None)
    if time.shape != (n,):
        raise InvalidParameterError(f"{where}: time must have shape ({n},), got {time.shape}")
    bad = ~np.isfinite(time) | (time < 0)
    if bad.any():
        raise InvalidParameterError(f"{where}: time must be finite and >= 0, got "
                                    f"{time[bad][0]!r}")
    return time


def _check_ids(ids, n, *, where):
    if ids is None:
        return None
    ids = np.array([str(i) for i in ids], dtype=object)
    if ids.shape != (n,):
        raise InvalidParameterError(f"{where}: ids must have shape ({n},), got {ids.shape}")
    return ids
