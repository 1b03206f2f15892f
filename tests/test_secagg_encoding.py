"""Tests for fedlab.secagg.encoding: fixed-point encoding into Z_{2^bits}."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from fedlab.secagg import decode_sum, encode, quantization_step, value_bits
from fedlab.secagg.encoding import ring_dtype


@settings(max_examples=60, deadline=None)
@given(
    x=arrays(np.float64, st.integers(1, 30), elements=st.floats(-2.0, 2.0)),
    bits=st.sampled_from([11, 16, 32, 48, 62]),
    n_clients=st.integers(1, 8),
)
def test_round_trip_error_is_at_most_half_a_step(x, bits, n_clients):
    step = quantization_step(clip_range=2.0, bits=bits, n_clients=n_clients)

    decoded = decode_sum(encode(x, clip_range=2.0, bits=bits, n_clients=n_clients),
                         n_summands=1, clip_range=2.0, bits=bits, n_clients=n_clients)

    np.testing.assert_array_less(np.abs(decoded - x), step / 2 + 1e-12)


@settings(max_examples=40, deadline=None)
@given(x=arrays(np.float64, (5, 7), elements=st.floats(-1.0, 1.0)),
       bits=st.sampled_from([11, 16, 32, 62]))
def test_sum_of_encodings_never_wraps_and_decodes_to_the_quantized_sum(x, bits):
    enc = encode(x, clip_range=1.0, bits=bits, n_clients=5)
    step = quantization_step(clip_range=1.0, bits=bits, n_clients=5)

    ring_sum = enc.astype(object).sum(axis=0)  # exact python ints
    total = decode_sum(np.array(ring_sum, dtype=np.uint64), n_summands=5, clip_range=1.0,
                       bits=bits, n_clients=5)

    assert max(ring_sum) < 2**bits
    np.testing.assert_allclose(total, x.sum(axis=0), atol=5 * step / 2 + 1e-9)


def test_encode_maps_the_range_onto_the_levels():
    enc = encode([-1.0, 0.0, 1.0], clip_range=1.0, bits=16, n_clients=4)

    assert enc.dtype == np.uint32
    assert enc.tolist() == [0, 2**13, 2**14 - 1]


def test_value_bits_leaves_room_for_the_sum():
    assert value_bits(bits=32, n_clients=1) == 32
    assert value_bits(bits=32, n_clients=2) == 31
    assert value_bits(bits=32, n_clients=100) == 25
    assert value_bits(bits=32, n_clients=128) == 25


def test_too_many_clients_for_the_ring_is_a_clear_error():
    with pytest.raises(ValueError, match=r"bits=16 cannot hold the sum of 1000 clients; "
                                         r"need at least bits=18"):
        encode([0.0], clip_range=1.0, bits=16, n_clients=1000)


def test_values_outside_the_range_are_clipped_with_a_warning():
    with pytest.warns(RuntimeWarning, match="2 of 3 values lie outside"):
        enc = encode([-5.0, 0.5, 7.0], clip_range=1.0, bits=8)

    assert enc[0] == 0 and enc[2] == 255


def test_values_inside_the_range_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        encode([-1.0, 1.0], clip_range=1.0, bits=8)


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    (dict(clip_range=0.0), ValueError, "clip_range must be a finite number > 0, got 0.0"),
    (dict(clip_range="1"), TypeError, "clip_range must be a number"),
    (dict(clip_range=1.0, bits=4), ValueError, "bits must be between 8 and 62, got 4"),
    (dict(clip_range=1.0, bits=63), ValueError, "bits must be between 8 and 62, got 63"),
    (dict(clip_range=1.0, bits=32.0), TypeError, "bits must be an int"),
    (dict(clip_range=1.0, n_clients=0), ValueError, "n_clients must be >= 1, got 0"),
])
def test_encode_rejects_bad_settings(kwargs, error, match):
    with pytest.raises(error, match=match):
        encode([0.0], **kwargs)


def test_encode_rejects_nan():
    with pytest.raises(ValueError, match="vector must be finite"):
        encode([0.0, np.nan], clip_range=1.0)


def test_decode_sum_rejects_a_sum_too_large_for_its_summands():
    enc = encode([1.0], clip_range=1.0, bits=16, n_clients=4)

    with pytest.raises(ValueError, match="the largest sum of 1 encoded values"):
        decode_sum(enc * 2, n_summands=1, clip_range=1.0, bits=16, n_clients=4)


def test_decode_sum_rejects_more_summands_than_clients():
    with pytest.raises(ValueError, match="n_summands=5 exceeds n_clients=4"):
        decode_sum([0], n_summands=5, clip_range=1.0, n_clients=4)


def test_ring_dtype_uses_32_bit_words_up_to_32_bits():
    assert ring_dtype(32) == np.uint32
    assert ring_dtype(33) == np.uint64
