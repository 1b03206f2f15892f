"""The FederatedKMeans estimator: Lloyd's algorithm on the sites' per-cluster sums and counts.

Each round the server broadcasts the centres; every site assigns its records to the
nearest centre and sends, per cluster, the sum of its records and their number. The
totals give exactly the centres that pooled k-means computes (Lloyd's update is a mean,
and means are sums over counts). Options: secure aggregation (the server sees only the
totals, Bonawitz et al. 2017) and Gaussian noise on each site's sums (differential
privacy, as in the "SuLQ" k-means of Blum et al. 2005).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from fedlab._validation import InvalidParameterError, check_int, check_positive, check_rng
from fedlab.analytics.disclosure import DEFAULT_MIN_CELL

from ._checks import as_records, check_site_arrays
from .steps import kmeans_plus_plus, lloyd, local_sums, nearest

__all__ = ["FederatedKMeans"]

_LOCAL_ITERATIONS = 10  # Lloyd steps on a site's records, or on the summaries at the server
_SERVER_STARTS = 10  # k-means++ starts the server tries on the summaries


class FederatedKMeans:
    """k-means over records that stay at their sites, in the style of scikit-learn's KMeans.

    Parameters
    ----------
    n_clusters : int
        The number of clusters ``k``.
    init : "k-means++" or array-like of shape (n_clusters, n_features), default="k-means++"
        ``"k-means++"``: each site summarises its records as at most ``k`` local cluster
        means with their counts (clusters of fewer than ``min_cell`` records are
        withheld); the
        server seeds ``k`` centres from these summaries by k-means++ sampling (D^2
        weighting, Arthur & Vassilvitskii 2007), weighted by the counts, refines them by
        Lloyd's algorithm on the summaries and keeps the best of 10 such starts (as the
        one-shot k-FED of Dennis et al. 2021). No record leaves a site. An array: these
        initial centres.
    max_iter : int, default=300
        Most rounds of Lloyd's algorithm.
    tol : float, default=1e-4
        Stop when the squared distance the centres move in a round, summed over clusters,
        is at most ``tol``. (scikit-learn multiplies ``tol`` by the mean variance of the
        features, which is 1 on standardized data.)
    min_cell : int, default=5
        Small-cell suppression at each site, every round: a cluster that holds 1 to
        ``min_cell - 1`` of a site's records gets neither their sum nor their count from
        that site (the site sends zeros), so every number the server sees, and every
        total, rests on 0 or at least ``min_cell`` records of each site. Those records
        still belong to their nearest centre (``predict``), but do not move it. 1 switches
        suppression off (then, with no small cell, the centres are scikit-learn's).
    secure_aggregation : bool, default=False
        Sum the sites' vectors with :func:`fedlab.secagg.secure_sum`: the server learns
        the totals only. Needs at least two sites. Suppression applies as in the clear
        (a total that one site alone contributes to would otherwise be its cell).
    secagg_range : float, optional
        The public bound on every number a site sends through secure aggregation (a
        cluster's sum of coordinates, a count, a site's inertia): the fixed-point ring is
        sized so that the sum of all sites' numbers fits, exact to about
        ``secagg_range * 2**-51``. Default: from the sites' sizes and the scale of the
        records, ``n_max * B`` in the rounds and ``n_max * 4 d B**2`` for the inertia,
        ``n_max`` the largest site, ``d`` the features and ``B`` the power of two above
        the largest ``|coordinate|`` at any site (each site reveals that power of two).
        Standardized records need no such reveal: ``|z| <= sqrt(N - 1)`` (Samuelson's
        inequality), which the ``kmeans`` command uses.
    noise_multiplier : float, default=0.0
        Differential privacy: each site adds Gaussian noise of standard deviation
        ``noise_multiplier`` times the sensitivity to everything it sends
        (:func:`fedlab.privacy.gaussian_mechanism`). 0 switches it off.
    clip_norm : float, optional
        Needed with noise: each record is scaled to Euclidean norm at most ``clip_norm``
        before clustering, which bounds what one patient can change.
    delta : float, default=1e-5
        The delta of the reported ``epsilon_``.
    random_state : None, int or numpy.random.Generator, default=None
        Seeds the initialisation, the noise and the secure aggregation keys.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
    init_centers_ : ndarray of shape (n_clusters, n_features)
        Where Lloyd's algorithm started (give them to scikit-learn to compare).
    inertia_ : float
        Sum over all records of the squared distance to the nearest centre.
    cluster_sizes_ : ndarray of shape (n_clusters,)
        Records nearest to each final centre, over all sites, except those in a
        site's suppressed cells (noisy with DP).
    n_iter_ : int
        Rounds of Lloyd's algorithm run.
    site_counts_ : ndarray of shape (n_sites, n_clusters) or None
        The per-site cluster counts the server saw in the last round (0 where a site
        suppressed a small cell); ``None`` with secure aggregation, where it sees totals
        only.
    n_suppressed_ : int
        Records left out of the last round's sums by suppression, over all sites (the
        simulation counts them for the learner; no site sends this number).
    bytes_sent_ : ndarray of shape (n_sites,)
        Bytes each site sent in all (initialisation, rounds, final inertia).
    epsilon_ : float
        Record-level epsilon of each site's releases in the rounds (``inf`` without
        noise). The k-means++ summaries are not covered: pass ``init`` from public
        information for a complete guarantee.

    Notes
    -----
    Lloyd's update is ``c_j = (sum_k S_kj) / (sum_k n_kj)`` with ``S_kj`` and ``n_kj`` the
    sum and count of site ``k``'s records nearest to centre ``j``. A cluster with no
    record keeps its centre (scikit-learn moves it to a far-away record instead, which
    would reveal that record). With noise, a site's vector of sums and counts changes by at
    most ``sqrt(clip_norm**2 + 1)`` when one record is added or removed (its L2
    sensitivity); each round is one Gaussian mechanism, composed with
    :func:`fedlab.privacy.epsilon`.

    References
    ----------
    .. [1] S. Lloyd, "Least squares quantization in PCM", IEEE Trans. Inf. Theory, 1982.
    .. [2] D. Arthur and S. Vassilvitskii, "k-means++: the advantages of careful
       seeding", SODA 2007.
    .. [3] A. Blum, C. Dwork, F. McSherry, K. Nissim, "Practical privacy: the SuLQ
       framework", PODS 2005.
    .. [4] D. K. Dennis, T. Li, V. Smith, "Heterogeneity for the win: one-shot federated
       clustering", ICML 2021.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> site_a = rng.normal(0, 0.5, size=(40, 2))
    >>> site_b = np.vstack([rng.normal(0, 0.5, size=(10, 2)), rng.normal(5, 0.5, (30, 2))])
    >>> km = FederatedKMeans(2, random_state=0).fit([site_a, site_b])
    >>> np.round(km.cluster_centers_[np.argsort(km.cluster_centers_[:, 0])], 1)
    array([[-0. ,  0.1],
           [ 4.9,  5. ]])
    >>> km.predict([[4.0, 6.0]]) == km.predict([[5.0, 5.0]])
    array([ True])
    """

    def __init__(self, n_clusters, *, init="k-means++", max_iter=300, tol=1e-4,
                 min_cell=DEFAULT_MIN_CELL, secure_aggregation=False, secagg_range=None,
                 noise_multiplier=0.0, clip_norm=None, delta=1e-5, random_state=None):
        self.n_clusters, self.init, self.max_iter, self.tol = n_clusters, init, max_iter, tol
        self.min_cell = min_cell
        self.secure_aggregation, self.secagg_range = secure_aggregation, secagg_range
        self.noise_multiplier, self.clip_norm, self.delta = noise_multiplier, clip_norm, delta
        self.random_state = random_state

    def fit(self, site_arrays, *, site_names=None):
        """Cluster the records of every site; each array stays with its site.

        Parameters
        ----------
        site_arrays : sequence of array-like of shape (n_records_k, n_features)
            One array of complete, numeric records per site.
        site_names : sequence of str, optional
            Named in error messages; default ``"site 0"``, ``"site 1"``, ...

        Returns
        -------
        self
        """
        sites, names = check_site_arrays(site_arrays, site_names)
        self._check_params(sites, names)
        rng = check_rng(self.random_state)
        noise = float(self.noise_multiplier)
        if noise > 0:
            from fedlab.privacy import clip_by_l2_norm

            sites = [clip_by_l2_norm(X, self.clip_norm) for X in sites]
        self._rng, self._names, self._streams = rng, names, rng.spawn(len(sites))
        self.bytes_sent_ = np.zeros(len(sites), dtype=np.int64)
        self._round = 0

        if isinstance(self.init, str):
            if noise > 0:
                warnings.warn("the k-means++ summaries are not differentially private; "
                              "epsilon_ covers the Lloyd rounds only (pass init=centres "
                              "from public information)", UserWarning, stacklevel=2)
            centres = self._seed(sites)
        else:
            centres = np.array(self.init, dtype=float)
        self.init_centers_ = centres.copy()

        k, d = self.n_clusters, sites[0].shape[1]
        self._ranges = self._secagg_ranges(sites)
        sensitivity = math.sqrt((self.clip_norm or 0.0) ** 2 + 1)
        self.n_iter_ = 0
        while self.n_iter_ < self.max_iter:
            self.n_iter_ += 1
            local = [self._suppress(*local_sums(X, centres)) for X in sites]
            total = self._aggregate([np.r_[s.ravel(), n] for s, n, _ in local], sensitivity,
                                    self._ranges[0])
            sums, counts = total[:k * d].reshape(k, d), total[k * d:]
            filled = counts >= (1.0 if noise == 0 else 0.5)  # a noisy count below 1/2: empty
            new = np.where(filled[:, None], sums / np.where(filled, counts, 1.0)[:, None],
                           centres)
            shift = float(((new - centres) ** 2).sum())
            centres = new
            if shift <= self.tol:
                break
        self.site_counts_ = None if self.secure_aggregation else np.array(
            [n for _, n, _ in local], dtype=float)
        self.n_suppressed_ = sum(len(X) for X in sites) - int(sum(n.sum() for _, n, _ in local))

        final = [self._suppress(*local_sums(X, centres)) for X in sites]
        reach = (self.clip_norm or 0.0) + float(np.linalg.norm(centres, axis=1).min())
        total = self._aggregate([np.r_[n, inertia] for _, n, inertia in final],
                                math.sqrt(1 + reach**4), self._ranges[1])
        self.cluster_centers_, self.cluster_sizes_ = centres, total[:k]
        self.inertia_ = float(total[k])
        self.n_features_in_ = d
        if noise > 0:
            from fedlab.privacy import epsilon

            self.epsilon_ = epsilon(noise_multiplier=noise, sample_rate=1.0,
                                    steps=self.n_iter_ + 1, delta=self.delta)
        else:
            self.epsilon_ = math.inf
        return self

    def predict(self, X):
        """The index of the nearest centre for each record of ``X`` (computed where X is)."""
        if not hasattr(self, "cluster_centers_"):
            raise InvalidParameterError("this FederatedKMeans is not fitted yet: call fit")
        X = as_records(X, "X", self.n_features_in_)
        return nearest(X, self.cluster_centers_)[0]

    # -- the rounds ----------------------------------------------------------------------
    def _suppress(self, sums, counts, inertia):
        """A site's message with its clusters of 1 to ``min_cell - 1`` records zeroed."""
        small = (counts > 0) & (counts < self.min_cell)
        return np.where(small[:, None], 0.0, sums), np.where(small, 0.0, counts), inertia

    def _secagg_ranges(self, sites):
        """The public bounds of the rounds' and the final round's numbers (see the class)."""
        if self.secagg_range is not None:
            return float(self.secagg_range), float(self.secagg_range)
        largest = max(float(np.abs(X).max()) for X in sites)
        bound = 2.0 ** math.ceil(math.log2(max(largest, 1.0)))
        n_max, d = max(len(X) for X in sites), sites[0].shape[1]
        return n_max * bound, n_max * 4 * d * bound**2

    def _aggregate(self, vectors, sensitivity, secagg_range):
        """The sum of the sites' vectors, noised by each site and summed securely if asked."""
        vectors = np.array(vectors, dtype=float)
        if self.noise_multiplier > 0:
            from fedlab.privacy import gaussian_mechanism

            vectors = np.array([gaussian_mechanism(v, sensitivity=sensitivity,
                                                   noise_multiplier=float(
                                                       self.noise_multiplier),
                                                   random_state=stream)
                                for v, stream in zip(vectors, self._streams)])
        self._round += 1
        if not self.secure_aggregation:
            self.bytes_sent_ += vectors[0].nbytes
            return vectors.sum(axis=0)
        from fedlab import secagg

        too_large = np.abs(vectors).max(axis=1) > secagg_range
        if too_large.any():
            raise InvalidParameterError(
                f"site {self._names[int(np.argmax(too_large))]!r} has a number above "
                f"secagg_range={secagg_range:g} to send (the public bound on any sum, count "
                "or inertia a site sends): pass a larger secagg_range, or None to size it "
                "from the sites' records")
        seed = None if self.random_state is None else int(self._rng.integers(2**63))
        result = secagg.secure_sum(vectors, threshold=secagg.default_threshold(len(vectors)),
                                   clip_range=secagg_range, bits=62,
                                   round_id=self._round, random_state=seed)
        self.bytes_sent_ += result.bytes_up
        return result.sum

    def _seed(self, sites):
        """k-means++ on the sites' local summaries (cluster means and counts), then Lloyd.

        The server can afford several starts: they run on the summaries, with no message.
        """
        points, weights = [], []
        for k, (X, stream) in enumerate(zip(sites, self._streams)):
            local_k = min(self.n_clusters, len(X) // self.min_cell)
            if local_k == 0:
                continue  # too few records to summarise without disclosing them
            start = kmeans_plus_plus(X, np.ones(len(X)), local_k, stream)
            centres, counts, _ = lloyd(X, np.ones(len(X)), start, _LOCAL_ITERATIONS)
            keep = counts >= self.min_cell
            points.append(centres[keep])
            weights.append(counts[keep])
            self.bytes_sent_[k] += centres[keep].nbytes + counts[keep].nbytes
        points = np.vstack(points) if points else np.empty((0, sites[0].shape[1]))
        if len(points) < self.n_clusters:
            raise InvalidParameterError(
                f"the sites' summaries hold {len(points)} cluster means of at least "
                f"{self.min_cell} records, fewer than n_clusters={self.n_clusters}: "
                "lower n_clusters or pass init=centres")
        weights = np.concatenate(weights)
        best, best_cost = None, np.inf
        for _ in range(_SERVER_STARTS):
            start = kmeans_plus_plus(points, weights, self.n_clusters, self._rng)
            centres, _, cost = lloyd(points, weights, start, _LOCAL_ITERATIONS)
            if cost < best_cost:
                best, best_cost = centres, cost
        return best

    def _check_params(self, sites, names):
        k = check_int(self.n_clusters, "n_clusters", minimum=1)
        check_int(self.min_cell, "min_cell", minimum=1)
        check_int(self.max_iter, "max_iter", minimum=1)
        check_positive(self.tol, "tol", strict=False)
        total = sum(len(X) for X in sites)
        if k > total:
            raise InvalidParameterError(f"n_clusters={k} is more than the {total} records of "
                                        "all sites together")
        d = sites[0].shape[1]
        if isinstance(self.init, str):
            if self.init != "k-means++":
                raise InvalidParameterError(f"init must be 'k-means++' or an array of "
                                            f"centres, got {self.init!r}")
        else:
            as_records(self.init, "init", d, rows=k)
        check_positive(self.noise_multiplier, "noise_multiplier", strict=False)
        if self.noise_multiplier > 0:
            if self.clip_norm is None:
                raise InvalidParameterError("clip_norm is needed with noise_multiplier > 0: "
                                            "it bounds what one record can change")
            check_positive(self.clip_norm, "clip_norm")
            if not 0 < self.delta < 1:
                raise InvalidParameterError(f"delta must be in (0, 1), got {self.delta!r}")
        if self.secure_aggregation:
            if self.secagg_range is not None:
                check_positive(self.secagg_range, "secagg_range")
            if len(sites) < 2:
                raise InvalidParameterError("secure aggregation needs at least 2 sites, "
                                            f"got {len(sites)} ({names[0]!r})")
