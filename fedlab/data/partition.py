"""Split records into train/test and across simulated clients (IID and non-IID).

The non-IID partitions follow the Dirichlet scheme of Hsu et al. (2019) and the
taxonomy of Li et al. (2021), "Federated learning on non-IID data silos".
"""

from __future__ import annotations

import numpy as np

from fedlab._validation import InvalidParameterError, check_fraction, check_int, check_positive
from fedlab._validation import check_rng as check_random_state

from .sites import Site


def train_test_split_site(site, *, test_size=0.25, random_state=None):
    """Split a site's records into a train and a test ``Site``.

    Parameters
    ----------
    site : Site
        The records to split (at least 2).
    test_size : float, default=0.25
        Fraction of records in the test set, strictly between 0 and 1.
    random_state : None, int or numpy.random.Generator, default=None
        Seed or generator.

    Returns
    -------
    train, test : Site
        Both keep the site's name; records keep their original order. When both
        classes are present the split is stratified: each class is split in the
        ratio ``test_size`` (rounded), so both sets have about the site's prevalence.

    Examples
    --------
    >>> site = Site("demo", [[float(i)] for i in range(8)], [0, 0, 0, 0, 0, 0, 1, 1], ("x",))
    >>> train, test = train_test_split_site(site, test_size=0.5, random_state=0)
    >>> train.n_records, test.n_records, int(test.y.sum())
    (4, 4, 1)
    """
    if not isinstance(site, Site):
        raise InvalidParameterError(f"site must be a Site, got {type(site).__name__}")
    test_size = check_fraction(test_size, "test_size", include_one=False)
    if site.n_records < 2:
        raise InvalidParameterError(
            f"site must hold at least 2 records to split, got {site.n_records}"
        )
    is_test = stratified_test_mask(site.y, test_size, check_random_state(random_state))
    return site.take(np.flatnonzero(~is_test)), site.take(np.flatnonzero(is_test))


def stratified_test_mask(y, test_size, rng):
    """Boolean mask of the test records of a stratified split (``train_test_split_site``'s)."""
    is_test = np.zeros(len(y), dtype=bool)
    for label in np.unique(y):  # one group per class: a stratified split
        group = np.flatnonzero(y == label)
        shuffled = group[permutation(rng, len(group))]
        is_test[shuffled[: int(round(test_size * len(group)))]] = True
    if is_test.all() or not is_test.any():  # tiny sites: keep one record on each side
        is_test[:] = False
        is_test[permutation(rng, len(y))[0]] = True
    return is_test


def partition_iid(n_records, n_clients, *, random_state=None):
    """Deal records to clients uniformly at random (the IID baseline).

    Parameters
    ----------
    n_records : int
        Number of records, >= ``n_clients``.
    n_clients : int
        Number of clients, >= 1.
    random_state : None, int or numpy.random.Generator, default=None
        Seed or generator.

    Returns
    -------
    list of ndarray
        ``n_clients`` sorted index arrays; together they hold every index in
        ``range(n_records)`` exactly once, and their sizes differ by at most 1.

    Examples
    --------
    >>> [len(part) for part in partition_iid(10, 3, random_state=0)]
    [4, 3, 3]
    """
    n_records, n_clients = _check_counts(n_records, n_clients)
    rng = check_random_state(random_state)
    return [np.sort(part) for part in np.array_split(permutation(rng, n_records), n_clients)]


def partition_label_skew(y, n_clients, *, alpha, random_state=None):
    """Split records so each client sees its own mix of labels (Dirichlet label skew).

    Parameters
    ----------
    y : array-like of shape (n_records,)
        Labels (any discrete values).
    n_clients : int
        Number of clients, >= 1 and <= ``len(y)``.
    alpha : float
        Dirichlet concentration, > 0. Small (0.1) = each class lives on a few
        clients; large (100) = close to IID.
    random_state : None, int or numpy.random.Generator, default=None
        Seed or generator.

    Returns
    -------
    list of ndarray
        ``n_clients`` sorted index arrays holding every record exactly once.

    Notes
    -----
    For every class :math:`k`, draw :math:`p_k \\sim \\mathrm{Dir}(\\alpha \\mathbf 1)`
    over the clients and deal the class's records in those proportions (Hsu et al.
    2019; Li et al. 2021). A client left empty then receives one random record from
    the largest client, so every client holds at least one record.

    References
    ----------
    T.-M. H. Hsu, H. Qi, M. Brown, "Measuring the effects of non-identical data
    distribution for federated visual classification", arXiv:1909.06335, 2019.
    Q. Li, Y. Diao, Q. Chen, B. He, "Federated learning on non-IID data silos: an
    experimental study", ICDE 2022 (arXiv:2102.02079, 2021).

    Examples
    --------
    >>> y = [0] * 50 + [1] * 50
    >>> parts = partition_label_skew(y, 4, alpha=0.5, random_state=0)
    >>> sum(len(part) for part in parts)
    100
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise InvalidParameterError(f"y must be 1-D (n_records,), got shape {y.shape}")
    n_records, n_clients = _check_counts(len(y), n_clients, records_name="len(y)")
    alpha = check_positive(alpha, "alpha")
    rng = check_random_state(random_state)
    owner = np.empty(n_records, dtype=np.intp)
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        members = members[permutation(rng, len(members))]
        proportions = rng.dirichlet(np.full(n_clients, alpha))
        cuts = np.round(np.cumsum(proportions)[:-1] * len(members)).astype(np.intp)
        for client, part in enumerate(np.split(members, cuts)):
            owner[part] = client
    return _fill_empty_clients(owner, n_clients, rng)


def partition_quantity_skew(n_records, n_clients, *, alpha, random_state=None):
    """Split records so clients hold very different numbers of them (Dirichlet sizes).

    Parameters
    ----------
    n_records : int
        Number of records, >= ``n_clients``.
    n_clients : int
        Number of clients, >= 1.
    alpha : float
        Dirichlet concentration, > 0: small = a few large clients and many tiny ones.
    random_state : None, int or numpy.random.Generator, default=None
        Seed or generator.

    Returns
    -------
    list of ndarray
        ``n_clients`` sorted index arrays holding every record exactly once; every
        client holds at least one record.

    Notes
    -----
    Draw :math:`q \\sim \\mathrm{Dir}(\\alpha \\mathbf 1)`; client :math:`i` gets
    :math:`1 + \\lfloor q_i (n - K) \\rfloor` records, the leftover going to the
    largest remainders, then records are dealt at random.

    Examples
    --------
    >>> parts = partition_quantity_skew(1000, 5, alpha=0.5, random_state=0)
    >>> sum(len(part) for part in parts), min(len(part) for part in parts) >= 1
    (1000, True)
    """
    n_records, n_clients = _check_counts(n_records, n_clients)
    alpha = check_positive(alpha, "alpha")
    rng = check_random_state(random_state)
    shares = rng.dirichlet(np.full(n_clients, alpha)) * (n_records - n_clients)
    sizes = 1 + np.floor(shares).astype(np.intp)
    leftover = n_records - sizes.sum()
    sizes[np.argsort(-(shares - np.floor(shares)), kind="stable")[:leftover]] += 1
    parts = np.split(permutation(rng, n_records), np.cumsum(sizes)[:-1])
    return [np.sort(part) for part in parts]


def shift_feature(site, feature, *, offset=0.0, scale=1.0, noise_sd=0.0, random_state=None):
    """Return a copy of ``site`` whose ``feature`` is recorded as ``scale * x + offset + noise``.

    A measurement shift (feature skew): a device that reads high, a lab with a
    calibration bias, a noisier instrument. Missing values stay missing.

    Parameters
    ----------
    site : Site
        The records.
    feature : str
        Name of the column to shift.
    offset, scale : float, default=0.0, 1.0
        Additive and multiplicative bias.
    noise_sd : float, default=0.0
        Standard deviation of added Gaussian noise, >= 0.
    random_state : None, int or numpy.random.Generator, default=None
        Seed or generator (only used when ``noise_sd > 0``).

    Returns
    -------
    Site

    Examples
    --------
    >>> site = Site("demo", [[120.0], [140.0]], [0, 1], ("sbp",))
    >>> shift_feature(site, "sbp", offset=10).column("sbp")
    array([130., 150.])
    """
    if feature not in site.feature_names:
        raise InvalidParameterError(f"feature must be one of {site.feature_names}, got {feature!r}")
    if not noise_sd >= 0:
        raise InvalidParameterError(f"noise_sd must be >= 0, got {noise_sd}")
    rng = check_random_state(random_state)
    X = site.X.copy()
    j = site.feature_names.index(feature)
    X[:, j] = scale * X[:, j] + offset
    if noise_sd > 0:
        X[:, j] += noise_sd * rng.standard_normal(site.n_records)
    return Site(site.name, X, site.y, site.feature_names)


def _check_counts(n_records, n_clients, *, records_name="n_records"):
    n_clients = check_int(n_clients, "n_clients", minimum=1)
    n_records = check_int(n_records, records_name, minimum=0)
    if n_records < n_clients:
        raise InvalidParameterError(
            f"{records_name} must be >= n_clients so every client gets a record, "
            f"got {records_name}={n_records} and n_clients={n_clients}"
        )
    return n_records, n_clients


def _fill_empty_clients(owner, n_clients, rng):
    counts = np.bincount(owner, minlength=n_clients)
    for client in np.flatnonzero(counts == 0):
        donor = int(np.argmax(counts))
        moved = rng.choice(np.flatnonzero(owner == donor))
        owner[moved] = client
        counts[donor] -= 1
        counts[client] += 1
    return [np.flatnonzero(owner == client) for client in range(n_clients)]


def permutation(rng, n):
    """A random permutation of ``range(n)`` built from uniform draws only.

    ``argsort`` of uniforms gives the same order on every platform and NumPy version,
    which keeps the shipped CSVs byte-identical.
    """
    return np.argsort(rng.random(n), kind="stable")
