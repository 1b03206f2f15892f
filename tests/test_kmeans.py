"""Federated k-means gives pooled scikit-learn k-means's centres; options and bad input."""

import warnings

import numpy as np
import pytest
from sklearn.cluster import KMeans

from fedlab.kmeans import FederatedKMeans


def _non_iid_sites(seed, n_sites=4, d=3, k=4):
    """Blobs split so that every site holds a different mix of them (one holds one only)."""
    rng = np.random.default_rng(seed)
    means = rng.normal(0, 4, size=(k, d))
    sites = []
    for s in range(n_sites):
        mix = rng.dirichlet(np.full(k, 0.4)) if s else np.eye(k)[0]
        n = int(rng.integers(20, 200))
        labels = rng.choice(k, size=n, p=mix)
        sites.append(means[labels] + rng.normal(0, 1.0, size=(n, d)))
    return sites


def _sklearn(sites, init, **kwargs):
    return KMeans(len(init), init=init, n_init=1, algorithm="lloyd", **kwargs).fit(
        np.vstack(sites))


@pytest.mark.parametrize("seed", range(6))
def test_centres_equal_sklearn_lloyd_on_the_pooled_records_from_the_same_start(seed):
    sites = _non_iid_sites(seed, n_sites=2 + seed % 4, d=2 + seed % 3, k=3 + seed % 3)
    rng = np.random.default_rng(100 + seed)
    pooled = np.vstack(sites)
    init = pooled[rng.choice(len(pooled), size=3 + seed % 3, replace=False)] + 0.1

    ours = FederatedKMeans(len(init), init=init, tol=0.0, max_iter=300, min_cell=1).fit(sites)
    ref = _sklearn(sites, init, tol=0.0, max_iter=300)

    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, atol=1e-6)
    assert ours.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(ours.inertia_, ref.inertia_, rtol=1e-9)
    np.testing.assert_array_equal(ours.predict(pooled), ref.predict(pooled))
    np.testing.assert_allclose(ours.cluster_sizes_, np.bincount(ref.labels_,
                                                                minlength=len(init)))


def _blobs(seed, sizes=((40, 0, 25), (0, 30, 60), (12, 45, 0))):
    """Well-separated blobs; ``sizes[s][j]`` records of blob j at site s (0 or >= 5)."""
    rng = np.random.default_rng(seed)
    means = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    return [np.vstack([means[j] + rng.normal(0, 0.7, (n, 2)) for j, n in enumerate(row)])
            for row in sizes]


@pytest.mark.parametrize("seed", range(4))
def test_where_no_cell_is_small_suppression_changes_nothing(seed):
    sites = _blobs(seed)
    init = np.array([[1.0, 1.0], [9.0, 1.0], [1.0, 9.0]])
    ours = FederatedKMeans(3, init=init, tol=0.0).fit(sites)  # min_cell=5
    ref = _sklearn(sites, init, tol=0.0)
    assert ours.n_suppressed_ == 0
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, atol=1e-9)
    assert ours.n_iter_ == ref.n_iter_


@pytest.mark.parametrize("secure", [False, True])
def test_a_lone_outlier_gets_no_cluster_of_its_own(secure):
    """Issue 21: a cluster of size 1 whose centre was the patient's record."""
    sites = _blobs(0)
    outlier = np.array([[40.0, -30.0]])
    sites[1] = np.vstack([sites[1], outlier])
    init = np.array([[1.0, 1.0], [9.0, 1.0], [1.0, 9.0], [39.0, -29.0]])
    model = FederatedKMeans(4, init=init, tol=0.0, secure_aggregation=secure,
                            random_state=0).fit(sites)
    assert not np.any(np.all(np.isclose(model.cluster_centers_, outlier), axis=1))
    assert round(model.cluster_sizes_[3], 6) == 0 and model.n_suppressed_ == 1
    np.testing.assert_array_equal(model.cluster_centers_[3], init[3])  # never moved
    if not secure:
        assert np.all((model.site_counts_ == 0) | (model.site_counts_ >= 5))
    unguarded = FederatedKMeans(4, init=init, tol=0.0, min_cell=1).fit(sites)
    np.testing.assert_allclose(unguarded.cluster_centers_[3], outlier[0])  # what it stops


def test_no_site_count_of_1_to_4_at_80_clusters_on_the_hospitals():
    """Issue 21: at k = 80 the server's per-site counts held 145 cells of 1-4 patients."""
    from fedlab import data
    from fedlab.federated import combine, feature_sums

    raw = [h.X_train for h in data.load_hospitals()]
    scaler = combine([feature_sums(X) for X in raw])
    Z = [np.nan_to_num(scaler.transform(X)) for X in raw]
    init = np.vstack(Z)[np.random.default_rng(0).choice(sum(map(len, Z)), 80, replace=False)]
    for model in (FederatedKMeans(80, init=init, max_iter=20).fit(Z),
                  FederatedKMeans(80, init=init, max_iter=20, min_cell=1).fit(Z)):
        small = int(np.sum((model.site_counts_ > 0) & (model.site_counts_ < 5)))
        assert (small == 0) == (model.min_cell == 5), small
    sizes = FederatedKMeans(80, init=init, max_iter=20, secure_aggregation=True,
                            random_state=0).fit(Z).cluster_sizes_
    assert np.all((np.round(sizes) == 0) | (np.round(sizes) >= 5))


def test_secure_aggregation_sizes_its_ring_from_the_sites():
    """Issue 21: 120,000 rows a site failed with 'raise secagg_range'."""
    rng = np.random.default_rng(0)
    sites = [rng.normal(0, 1, (120_000, 2)), rng.normal(3, 1, (120_000, 2))]
    init = np.array([[0.0, 0.0], [3.0, 3.0]])
    plain = FederatedKMeans(2, init=init, max_iter=3, tol=0.0).fit(sites)
    secure = FederatedKMeans(2, init=init, max_iter=3, tol=0.0, secure_aggregation=True,
                             random_state=0).fit(sites)
    np.testing.assert_allclose(secure.cluster_centers_, plain.cluster_centers_, atol=1e-6)
    np.testing.assert_allclose(secure.inertia_, plain.inertia_, rtol=1e-6)
    with pytest.raises(ValueError, match="above secagg_range=1000 to send \\(the public bound"):
        FederatedKMeans(2, init=init, secure_aggregation=True, secagg_range=1e3).fit(sites)


@pytest.mark.parametrize("max_iter", [1, 2, 5])
def test_the_same_number_of_rounds_gives_the_same_centres(max_iter):
    sites = _non_iid_sites(11, n_sites=5, d=4, k=5)
    init = np.vstack(sites)[:5]
    ours = FederatedKMeans(5, init=init, tol=0.0, max_iter=max_iter, min_cell=1).fit(sites)
    ref = _sklearn(sites, init, tol=0.0, max_iter=max_iter)
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, atol=1e-6)
    assert ours.n_iter_ == ref.n_iter_ == max_iter


def test_default_tol_matches_sklearn_on_standardized_records():
    sites = _non_iid_sites(3, n_sites=3, d=3, k=3)
    pooled = np.vstack(sites)
    mean, std = pooled.mean(axis=0), pooled.std(axis=0)
    sites = [(X - mean) / std for X in sites]  # mean variance 1: sklearn's tol is ours
    init = np.vstack(sites)[[0, 50, 100]]
    ours = FederatedKMeans(3, init=init, min_cell=1).fit(sites)
    ref = _sklearn(sites, init)
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, atol=1e-6)
    assert ours.n_iter_ == ref.n_iter_


def test_kmeans_plus_plus_start_is_seeded_and_reveals_no_record():
    sites = _non_iid_sites(5)
    a = FederatedKMeans(4, random_state=0, min_cell=1).fit(sites)
    b = FederatedKMeans(4, random_state=0, min_cell=1).fit(sites)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    pooled = np.vstack(sites)
    distances = ((pooled[:, None, :] - a.init_centers_[None]) ** 2).sum(axis=2)
    assert distances.min() > 1e-12  # the start is made of local means, never a record
    ref = _sklearn(sites, a.init_centers_, tol=a.tol)
    np.testing.assert_allclose(a.cluster_centers_, ref.cluster_centers_, atol=1e-6)
    best = KMeans(4, n_init=10, random_state=0).fit(pooled).inertia_
    assert a.inertia_ <= 1.05 * best


def test_an_empty_cluster_keeps_its_centre():
    sites = _non_iid_sites(2, n_sites=2, d=2, k=2)
    init = np.array([[0.0, 0.0], [1.0, 1.0], [1e3, 1e3]])
    model = FederatedKMeans(3, init=init, tol=0.0).fit(sites)
    np.testing.assert_array_equal(model.cluster_centers_[2], [1e3, 1e3])
    assert model.cluster_sizes_[2] == 0


def test_secure_aggregation_gives_the_same_centres_and_hides_the_sites_counts():
    sites = _non_iid_sites(8, n_sites=4)
    init = np.vstack(sites)[:4]
    plain = FederatedKMeans(4, init=init, tol=0.0).fit(sites)
    secure = FederatedKMeans(4, init=init, tol=0.0, secure_aggregation=True,
                             random_state=1).fit(sites)
    np.testing.assert_allclose(secure.cluster_centers_, plain.cluster_centers_, atol=1e-8)
    np.testing.assert_allclose(secure.inertia_, plain.inertia_, rtol=1e-9)
    assert secure.n_iter_ == plain.n_iter_
    assert plain.site_counts_.shape == (4, 4) and secure.site_counts_ is None
    assert np.all(secure.bytes_sent_ > plain.bytes_sent_)


def test_bytes_sent_are_counted_per_site():
    sites = _non_iid_sites(9, n_sites=3, d=3, k=2)
    model = FederatedKMeans(2, init=np.vstack(sites)[:2]).fit(sites)
    per_round = 2 * (3 + 1) * 8  # per cluster: 3 sums and a count, 8 bytes each
    final = (2 + 1) * 8          # the final counts and inertia
    np.testing.assert_array_equal(model.bytes_sent_, model.n_iter_ * per_round + final)
    seeded = FederatedKMeans(2, random_state=0).fit(sites)
    assert np.all(seeded.bytes_sent_ > seeded.n_iter_ * per_round + final)  # summaries too


def test_noise_costs_accuracy_and_buys_a_finite_epsilon():
    sites = _non_iid_sites(4, n_sites=3, d=2, k=3)
    init = np.vstack(sites)[:3]
    plain = FederatedKMeans(3, init=init, max_iter=10, tol=0.0).fit(sites)
    settings = dict(init=init, max_iter=10, tol=0.0, clip_norm=20.0, random_state=0)
    low = FederatedKMeans(3, noise_multiplier=0.5, **settings).fit(sites)
    high = FederatedKMeans(3, noise_multiplier=5.0, **settings).fit(sites)
    assert plain.epsilon_ == np.inf
    assert np.isfinite(low.epsilon_) and high.epsilon_ < low.epsilon_
    again = FederatedKMeans(3, noise_multiplier=0.5, **settings).fit(sites)
    np.testing.assert_array_equal(again.cluster_centers_, low.cluster_centers_)
    assert not np.allclose(low.cluster_centers_, plain.cluster_centers_)


def test_noise_with_the_kmeans_plus_plus_start_warns_that_it_is_not_covered():
    sites = _non_iid_sites(4, n_sites=3)
    with pytest.warns(UserWarning, match="not differentially private"):
        FederatedKMeans(2, noise_multiplier=1.0, clip_norm=5.0, max_iter=3,
                        random_state=0).fit(sites)


@pytest.mark.parametrize("model, sites, match", [
    (FederatedKMeans(10), [np.zeros((3, 2)), np.ones((4, 2))],
     "n_clusters=10 is more than the 7 records"),
    (FederatedKMeans(2), [np.zeros((3, 2)), np.empty((0, 2))], "site 'site 1' has no records"),
    (FederatedKMeans(2), [np.zeros((3, 2)), [[1.0, np.nan]]], "site 'site 1' has 1 missing"),
    (FederatedKMeans(2), [np.zeros((3, 2)), np.zeros((3, 3))], "site 'site 1' has 3 features"),
    (FederatedKMeans(2), np.zeros((3, 2)), "one array per site"),
    (FederatedKMeans(2), [[["a", "b"]]], "must be numbers"),
    (FederatedKMeans(2, init="random"), [np.zeros((9, 2))], "init must be 'k-means\\+\\+'"),
    (FederatedKMeans(2, init=np.zeros((3, 2))), [np.zeros((9, 2))], "init must have shape"),
    (FederatedKMeans(0), [np.zeros((9, 2))], "n_clusters must be >= 1"),
    (FederatedKMeans(2, noise_multiplier=1.0), [np.zeros((9, 2))], "clip_norm is needed"),
    (FederatedKMeans(2, secure_aggregation=True), [np.zeros((9, 2))], "at least 2 sites"),
    (FederatedKMeans(2, tol=-1), [np.zeros((9, 2))], "tol must be"),
])
def test_bad_input_is_a_clear_error_naming_the_site(model, sites, match):
    with pytest.raises(ValueError, match=match):
        model.fit(sites)


def test_site_names_appear_in_errors_and_predict_needs_a_fit():
    with pytest.raises(ValueError, match="site 'Lakeview' has 2 missing values"):
        FederatedKMeans(1).fit([np.zeros((5, 2)), np.full((1, 2), np.nan)],
                               site_names=["Metro", "Lakeview"])
    with pytest.raises(ValueError, match="not fitted"):
        FederatedKMeans(2).predict([[0.0]])


def test_too_few_summaries_for_k_is_explained():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="summaries hold"):
            FederatedKMeans(3, random_state=0).fit([np.random.default_rng(0).normal(
                size=(9, 2))])
