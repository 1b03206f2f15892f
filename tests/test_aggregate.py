"""fedlab.aggregate: the rules a server combines updates with."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from fedlab import aggregate

finite = st.floats(-1e3, 1e3, allow_nan=False)
updates_strategy = st.integers(1, 8).flatmap(lambda m: st.integers(1, 5).flatmap(
    lambda d: arrays(float, (m, d), elements=finite)))


def test_textbook_example():
    np.testing.assert_allclose(aggregate.weighted_mean([[0.1, 0.2], [0.3, 0.4]]), [0.2, 0.3])


def test_weighting_by_sample_count_differs_from_plain_mean():
    updates = [[0.0], [1.0]]
    np.testing.assert_allclose(aggregate.weighted_mean(updates, [900, 100]), [0.1])
    np.testing.assert_allclose(aggregate.weighted_mean(updates), [0.5])


@settings(max_examples=60, deadline=None)
@given(updates_strategy, st.data())
def test_weighted_mean_invariants(updates, data):
    m = len(updates)
    weights = np.array(data.draw(st.lists(st.floats(0.01, 100), min_size=m, max_size=m)))
    perm = np.array(data.draw(st.permutations(range(m))))
    result = aggregate.weighted_mean(updates, weights)
    # permutation invariant
    np.testing.assert_allclose(aggregate.weighted_mean(updates[perm], weights[perm]), result,
                               rtol=1e-9, atol=1e-9)
    # scaling all weights changes nothing (only proportions matter)
    np.testing.assert_allclose(aggregate.weighted_mean(updates, 3.7 * weights), result,
                               rtol=1e-9, atol=1e-9)
    # equal weights give the plain mean; result within the per-coordinate range
    np.testing.assert_allclose(aggregate.weighted_mean(updates, np.ones(m)), updates.mean(0),
                               rtol=1e-9, atol=1e-9)
    assert np.all(result <= updates.max(0) + 1e-9) and np.all(result >= updates.min(0) - 1e-9)


@settings(max_examples=40, deadline=None)
@given(updates_strategy)
def test_robust_rules_are_permutation_invariant_and_within_range(updates):
    perm = np.random.default_rng(0).permutation(len(updates))
    for rule in (aggregate.coordinate_median, aggregate.trimmed_mean):
        result = rule(updates)
        np.testing.assert_allclose(rule(updates[perm]), result)
        assert np.all(result <= updates.max(0) + 1e-9)
        assert np.all(result >= updates.min(0) - 1e-9)


def test_robust_rules_ignore_one_outlier_but_the_mean_does_not():
    honest = np.random.default_rng(0).normal(0, 0.1, size=(9, 3))
    updates = np.vstack([honest, [[1e6, -1e6, 1e6]]])
    assert np.abs(aggregate.weighted_mean(updates)).max() > 1e4
    for result in (aggregate.coordinate_median(updates), aggregate.trimmed_mean(updates),
                   aggregate.krum(updates, n_byzantine=1)):
        assert np.abs(result).max() < 1


@pytest.mark.parametrize("updates, weights, match", [
    ([], None, "non-empty"),
    ([[1.0, 2.0], [1.0]], None, "same shape"),
    ([[1.0], [2.0]], [1.0], "one entry per update"),
    ([[1.0], [2.0]], [1.0, -1.0], "finite and >= 0"),
    ([[1.0], [2.0]], [0.0, 0.0], "must not all be zero"),
    ([[1.0], [2.0]], [np.nan, 1.0], "finite and >= 0"),
])
def test_weighted_mean_rejects_bad_input(updates, weights, match):
    with pytest.raises(ValueError, match=match):
        aggregate.weighted_mean(updates, weights)


@pytest.mark.parametrize("n, f", [(5, 1), (7, 2), (9, 0)])
def test_krum_scores_are_sums_of_squared_distances_to_the_nearest_others(n, f):
    updates = np.random.default_rng(n).normal(size=(n, 3))
    expected = [sum(sorted(float(np.sum((updates[i] - updates[j]) ** 2))
                           for j in range(n) if j != i)[:n - f - 2]) for i in range(n)]
    np.testing.assert_allclose(aggregate.krum_scores(updates, n_byzantine=f), expected)
    best = int(np.argmin(expected))
    np.testing.assert_allclose(aggregate.krum(updates, n_byzantine=f), updates[best])


def test_krum_and_trimmed_mean_validate_their_settings():
    with pytest.raises(ValueError, match="trim must be in"):
        aggregate.trimmed_mean([[1.0]], trim=0.5)
    with pytest.raises(ValueError, match="n_clients - n_byzantine - 2 >= 1"):
        aggregate.krum([[1.0], [2.0], [3.0]], n_byzantine=1)


@pytest.mark.parametrize("weights", [[1e308, 1e308], [1.7e308, 1e308, 1e308], [5e-324] * 3])
def test_weights_near_the_float_limits_are_normalised_safely(weights):
    # Regression (issue 14): [1e308, 1e308] summed to inf and the mean came out 0.
    updates = np.arange(len(weights), dtype=float)[:, None] + 1.0
    expected = np.average(updates[:, 0], weights=np.array(weights) / max(weights))
    np.testing.assert_allclose(aggregate.weighted_mean(updates, weights), [expected])
