"""Tests for the building blocks of fedlab.secagg: Shamir sharing, key agreement, masks."""

import itertools
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from fedlab.secagg import InconsistentSharesError, reconstruct, share
from fedlab.secagg.keys import (
    agree,
    byte_source,
    generate_key,
    private_int,
    private_key_from_int,
    public_bytes,
)
from fedlab.secagg.masks import pairwise_mask, prg, ring_mask
from fedlab.secagg.shamir import PRIME


def _is_probable_prime(n, rounds=32):
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    rand = random.Random(0)
    for _ in range(rounds):
        x = pow(rand.randrange(2, n - 2), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


# Shamir ------------------------------------------------------------------
def test_prime_is_a_prime_above_every_32_byte_secret():
    assert PRIME > 2**256 - 1
    assert _is_probable_prime(PRIME)


@settings(max_examples=40, deadline=None)
@given(secret=st.integers(0, PRIME - 1), threshold=st.integers(1, 6),
       extra=st.integers(0, 3), data=st.data())
def test_any_threshold_shares_rebuild_the_secret(secret, threshold, extra, data):
    n = threshold + extra
    shares = share(secret, threshold=threshold, n_shares=n,
                   random_state=data.draw(st.integers(0, 2**32)))
    subset = data.draw(st.permutations(shares))[: data.draw(st.integers(threshold, n))]

    assert reconstruct(subset, threshold=threshold) == secret


def test_every_subset_of_threshold_shares_agrees():
    shares = share(123456789, threshold=3, n_shares=5, random_state=1)

    for subset in itertools.combinations(shares, 3):
        assert reconstruct(subset, threshold=3) == 123456789


def test_fewer_than_threshold_shares_cannot_reconstruct():
    shares = share(99, threshold=4, n_shares=6, random_state=2)

    with pytest.raises(ValueError, match="need at least threshold=4 shares to reconstruct, got 3"):
        reconstruct(shares[:3], threshold=4)


def test_the_missing_share_could_make_the_secret_anything():
    """With t - 1 shares known, the secret is an affine bijection of the missing share."""
    known = share(5, threshold=3, n_shares=5, random_state=3)[:2]

    secrets = [reconstruct([*known, (3, y)], threshold=3) for y in range(4)]

    steps = {(b - a) % PRIME for a, b in itertools.pairwise(secrets)}
    assert len(set(secrets)) == 4 and len(steps) == 1 and 0 not in steps


@pytest.mark.parametrize("position", [0, 2, 5])
def test_a_corrupted_share_is_named(position):
    shares = share(2024, threshold=3, n_shares=6, random_state=4)
    x, y = shares[position]
    shares[position] = (x, (y + 1) % PRIME)

    with pytest.raises(InconsistentSharesError, match=f"share at x={x} does not lie") as err:
        reconstruct(shares, threshold=3)

    assert err.value.bad_x == (x,)


def test_with_one_spare_share_a_corruption_is_detected_but_not_located():
    shares = share(2024, threshold=3, n_shares=4, random_state=5)
    shares[3] = (4, (shares[3][1] + 1) % PRIME)

    with pytest.raises(InconsistentSharesError, match="cannot tell which") as err:
        reconstruct(shares, threshold=3)

    assert err.value.bad_x == (1, 2, 3, 4)


def test_share_rejects_bad_arguments():
    with pytest.raises(ValueError, match="threshold must be between 1 and n_shares=3, got 4"):
        share(1, threshold=4, n_shares=3)
    with pytest.raises(ValueError, match=r"secret must be an int in \[0, PRIME\)"):
        share(PRIME, threshold=2, n_shares=3)
    with pytest.raises(ValueError, match="x-coordinates must be distinct"):
        reconstruct([(1, 2), (1, 3)], threshold=2)


# Key agreement -----------------------------------------------------------
def test_agreement_is_symmetric_and_bound_to_purpose_and_round():
    rand = byte_source(0)
    a, b = generate_key(rand), generate_key(rand)

    ab = agree(a, public_bytes(b), purpose="mask", round_id=3)

    assert len(ab) == 32
    assert ab == agree(b, public_bytes(a), purpose="mask", round_id=3)
    assert ab != agree(a, public_bytes(b), purpose="channel", round_id=3)
    assert ab != agree(a, public_bytes(b), purpose="mask", round_id=4)


def test_private_key_survives_the_trip_through_an_int():
    key = generate_key(byte_source(7))

    assert public_bytes(private_key_from_int(private_int(key))) == public_bytes(key)


def test_byte_source_rejects_other_types():
    with pytest.raises(TypeError, match="random_state must be None, an int or a numpy"):
        byte_source(1.5)


# Masks -------------------------------------------------------------------
@pytest.mark.parametrize("bits", [12, 32, 40, 62])
def test_prg_is_deterministic_and_stays_in_the_ring(bits):
    m = prg(bytes(range(32)), 1000, bits=bits)

    assert m.shape == (1000,)
    assert int(m.max()) < 2**bits
    np.testing.assert_array_equal(m, prg(bytes(range(32)), 1000, bits=bits))
    assert not np.array_equal(m, prg(bytes(32), 1000, bits=bits))


@pytest.mark.parametrize("bits", [16, 32, 48])
def test_pairwise_masks_of_all_clients_cancel_exactly(bits):
    rand = byte_source(11)
    keys = [generate_key(rand) for _ in range(5)]
    total = np.zeros(64, dtype=prg(bytes(32), 1, bits=bits).dtype)

    for u, v in itertools.permutations(range(5), 2):
        seed = agree(keys[u], public_bytes(keys[v]), purpose="mask", round_id=0)
        total += pairwise_mask(seed, 64, bits=bits, own_id=u, peer_id=v)

    assert not (total & ring_mask(bits)).any()


def test_prg_output_is_uniform_on_the_ring():
    m = prg(bytes(range(32)), 100_000, bits=32)

    assert stats.kstest(m / 2**32, "uniform").pvalue > 1e-3
    counts = np.bincount((m >> 24).astype(np.int64), minlength=256)
    assert stats.chisquare(counts).pvalue > 1e-3
