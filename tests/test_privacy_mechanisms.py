"""Tests for fedlab.privacy mechanisms: clipping, Gaussian noise and its calibration."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from fedlab.privacy import (
    add_gaussian_noise,
    classic_gaussian_sigma,
    clip_by_l2_norm,
    gaussian_epsilon,
    gaussian_mechanism,
)

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
matrices = hnp.arrays(
    np.float64, hnp.array_shapes(min_dims=2, max_dims=2, max_side=8), elements=finite
)
bounds = st.floats(1e-3, 1e3)


# -- clipping -------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(vectors=matrices, clip_norm=bounds)
def test_clipped_norms_never_exceed_the_bound(vectors, clip_norm):
    clipped = clip_by_l2_norm(vectors, clip_norm)

    norms = np.linalg.norm(clipped, axis=1)
    assert np.all(norms <= clip_norm * (1 + 1e-12))


@settings(max_examples=200, deadline=None)
@given(vectors=matrices, clip_norm=bounds)
def test_clipping_keeps_short_rows_and_directions(vectors, clip_norm):
    clipped, norms = clip_by_l2_norm(vectors, clip_norm, return_norms=True)

    np.testing.assert_allclose(norms, np.linalg.norm(vectors, axis=1))
    short = norms <= clip_norm
    np.testing.assert_array_equal(clipped[short], vectors[short])
    # every row is the original times a factor in (0, 1]: same direction
    scale = np.minimum(1.0, clip_norm / np.maximum(norms, 1e-300))
    np.testing.assert_allclose(clipped, vectors * scale[:, None], rtol=1e-12, atol=1e-300)
    long = norms > clip_norm
    np.testing.assert_allclose(np.linalg.norm(clipped[long], axis=1), clip_norm, rtol=1e-12)


def test_clip_one_vector_and_the_zero_vector():
    clipped, norm = clip_by_l2_norm([3.0, 4.0], 2.5, return_norms=True)

    np.testing.assert_allclose(clipped, [1.5, 2.0])
    assert norm == 5.0
    np.testing.assert_array_equal(clip_by_l2_norm(np.zeros((2, 3)), 1.0), np.zeros((2, 3)))


def test_clip_does_not_modify_its_input():
    vectors = np.array([[3.0, 4.0]])

    clip_by_l2_norm(vectors, 1.0)

    np.testing.assert_array_equal(vectors, [[3.0, 4.0]])


@pytest.mark.parametrize(
    ("vectors", "clip_norm", "message"),
    [
        ([1.0, 2.0], 0, r"clip_norm must be a finite number > 0, got 0"),
        ([1.0, 2.0], -1.5, r"clip_norm must be a finite number > 0, got -1.5"),
        ([1.0, 2.0], float("nan"), r"clip_norm must be a finite number > 0, got nan"),
        (np.zeros((2, 2, 2)), 1.0, r"vectors must be 1-D .* or 2-D .*, got shape \(2, 2, 2\)"),
    ],
)
def test_clip_rejects_bad_arguments(vectors, clip_norm, message):
    with pytest.raises(ValueError, match=message):
        clip_by_l2_norm(vectors, clip_norm)


# -- Gaussian noise -------------------------------------------------------------------------


def test_gaussian_mechanism_noise_is_calibrated():
    noisy = gaussian_mechanism(
        np.full(100_000, 7.0), sensitivity=0.5, noise_multiplier=2.0, random_state=0
    )

    assert np.std(noisy) == pytest.approx(1.0, rel=0.01)
    assert np.mean(noisy) == pytest.approx(7.0, abs=0.01)


def test_gaussian_mechanism_is_reproducible_and_takes_generators():
    a = gaussian_mechanism([1.0, 2.0], sensitivity=1.0, noise_multiplier=1.0, random_state=3)
    b = gaussian_mechanism(
        [1.0, 2.0], sensitivity=1.0, noise_multiplier=1.0, random_state=np.random.default_rng(3)
    )

    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(
        a, gaussian_mechanism([1.0, 2.0], sensitivity=1.0, noise_multiplier=1.0, random_state=4)
    )


def test_gaussian_mechanism_keeps_scalars_and_shapes():
    assert isinstance(gaussian_mechanism(3.0, sensitivity=1.0, noise_multiplier=1.0), float)
    assert gaussian_mechanism(np.ones((2, 3)), sensitivity=1.0, noise_multiplier=1.0).shape == (
        2,
        3,
    )
    assert gaussian_mechanism(3.0, sensitivity=1.0, noise_multiplier=0.0) == 3.0


def test_add_gaussian_noise_std():
    noisy = add_gaussian_noise(np.zeros(100_000), noise_std=0.3, random_state=1)

    assert np.std(noisy) == pytest.approx(0.3, rel=0.01)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sensitivity": 0}, r"sensitivity must be a finite number > 0, got 0"),
        ({"noise_multiplier": -1}, r"noise_multiplier must be a finite number >= 0, got -1"),
    ],
)
def test_gaussian_mechanism_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        gaussian_mechanism(1.0, **{"sensitivity": 1.0, "noise_multiplier": 1.0, **kwargs})


def test_noise_rejects_bad_std_and_random_state():
    with pytest.raises(ValueError, match=r"noise_std must be a finite number >= 0, got -0.1"):
        add_gaussian_noise([1.0], noise_std=-0.1)
    with pytest.raises(TypeError, match=r"random_state must be None, an int or"):
        add_gaussian_noise([1.0], noise_std=1.0, random_state="seed")


# -- calibration of one release ---------------------------------------------------------------


def test_classic_sigma_formula_and_its_slack():
    sigma = classic_gaussian_sigma(0.5, 1e-5)

    assert sigma == pytest.approx(math.sqrt(2 * math.log(1.25e5)) / 0.5)
    assert gaussian_epsilon(sigma, 1e-5) < 0.5  # valid, and loose


def test_classic_sigma_warns_outside_its_proof():
    with pytest.warns(UserWarning, match="proven only for epsilon < 1, got 2.0"):
        classic_gaussian_sigma(2.0, 1e-5)


def test_gaussian_epsilon_decreases_with_noise_and_can_be_zero():
    values = [gaussian_epsilon(s, 1e-5) for s in (0.5, 1.0, 2.0, 4.0)]

    assert values == sorted(values, reverse=True)
    assert gaussian_epsilon(1e4, 0.5) == 0.0  # delta alone covers it


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: gaussian_epsilon(0.0, 1e-5), r"noise_multiplier must be >= 1e-06 .*, got 0.0"),
        (lambda: gaussian_epsilon(1.0, 0.0), r"delta must be in \(0, 1\), got 0.0"),
        (lambda: classic_gaussian_sigma(0.0, 1e-5), r"epsilon must be a finite number > 0"),
        (lambda: classic_gaussian_sigma(0.5, 1.5), r"delta must be in \(0, 1\), got 1.5"),
    ],
)
def test_calibration_rejects_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_clipping_refuses_non_finite_vectors(bad):
    # Regression (issue 14): an inf gradient has an inf norm, "clips" to NaN, and the
    # noisy sum (and the model) become NaN while epsilon is still charged.
    with pytest.raises(ValueError, match=r"finite.*\(row 1\)"):
        clip_by_l2_norm([[1.0, 2.0], [bad, 0.0]], 1.0)
    with pytest.raises(ValueError, match="finite"):
        clip_by_l2_norm([bad, 1.0], 1.0)


def test_gaussian_epsilon_refuses_noise_below_its_float_range():
    assert gaussian_epsilon(1e-6, 1e-5) > 1e11
    with pytest.raises(ValueError, match="noise_multiplier must be >= 1e-06"):
        gaussian_epsilon(1e-50, 1e-5)
