"""Properties of a secure aggregation round over many sizes, thresholds, rings and dropouts."""

import warnings

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from fedlab.secagg import decode_sum, encode, quantization_step, secure_sum


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_the_decoded_sum_is_exactly_the_sum_of_the_quantized_inputs(data):
    n = data.draw(st.integers(2, 12), label="n")
    threshold = data.draw(st.integers(2, n), label="threshold")  # also <= n / 2 (warns)
    dim = data.draw(st.integers(1, 12), label="dim")
    bits = data.draw(st.integers(8 + (n - 1).bit_length(), 62), label="bits")
    clip = data.draw(st.sampled_from([0.01, 1.0, 37.5]), label="clip_range")
    order = data.draw(st.permutations(range(n)), label="order")
    n_drop = data.draw(st.integers(0, n - threshold), label="n_drop")
    split = data.draw(st.integers(0, n_drop), label="split")
    before, after = sorted(order[:split]), sorted(order[split:n_drop])
    seed = data.draw(st.integers(0, 2**32), label="seed")
    x = np.random.default_rng(seed).uniform(-clip, clip, size=(n, dim))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # thresholds of half or less
        result = secure_sum(x, threshold=threshold, dropped=after,
                            dropped_before_masking=before, clip_range=clip, bits=bits,
                            random_state=seed)

    summed = [u for u in range(n) if u not in before]
    encoded = encode(x[summed], clip_range=clip, bits=bits, n_clients=n)
    exact = encoded.astype(object).sum(axis=0)  # python ints: no wrap-around
    assert result.survivors == tuple(summed)
    assert result.responders == tuple(u for u in summed if u not in after)
    assert result.ring_sum.astype(object).tolist() == exact.tolist()
    quantized = sum(decode_sum(e, n_summands=1, clip_range=clip, bits=bits, n_clients=n)
                    for e in encoded)
    np.testing.assert_allclose(result.sum, quantized, rtol=0,
                               atol=1e-12 * max(1.0, clip * n))
    step = quantization_step(clip_range=clip, bits=bits, n_clients=n)
    np.testing.assert_array_less(np.abs(result.sum - x[summed].sum(axis=0)),
                                 len(summed) * step / 2 * (1 + 1e-9) + 1e-12)


def test_masked_vectors_are_uniform_in_a_small_ring_too():
    x = np.zeros((3, 60_000))
    x[0] = 1.0
    x[2, ::2] = -1.0

    view = secure_sum(x, threshold=2, bits=12, random_state=1).server_view

    for y in view.masked_inputs.values():
        counts = np.bincount(y.astype(np.int64), minlength=2**12)
        assert counts.size == 2**12  # nothing outside Z_{2^12}
        assert stats.chisquare(counts).pvalue > 1e-3


def test_no_proper_subset_of_masked_vectors_reveals_its_sum():
    n, bits = 5, 16
    x = np.full((n, 40_000), 0.5)
    result = secure_sum(x, threshold=3, bits=bits, random_state=2)
    y = [result.server_view.masked_inputs[u].astype(np.int64) for u in range(n)]

    for subset in ([0, 1], [1, 3, 4], [0, 1, 2, 3]):  # pairwise masks with the rest remain
        partial = sum(y[u] for u in subset) % 2**bits
        counts = np.bincount(partial >> (bits - 8), minlength=256)
        assert stats.chisquare(counts).pvalue > 1e-3
    total = sum(y) % 2**bits  # all of them: pairwise masks cancel, self masks remain
    counts = np.bincount(total >> (bits - 8), minlength=256)
    assert stats.chisquare(counts).pvalue > 1e-3


def test_two_very_different_inputs_give_indistinguishable_masked_vectors():
    low = secure_sum(np.full((4, 30_000), -1.0), threshold=3, random_state=3)
    high = secure_sum(np.full((4, 30_000), 1.0), threshold=3, random_state=4)

    a = low.server_view.masked_inputs[0] / 2**32
    b = high.server_view.masked_inputs[0] / 2**32

    assert stats.ks_2samp(a, b).pvalue > 1e-3
    assert stats.kstest(a, "uniform").pvalue > 1e-3
