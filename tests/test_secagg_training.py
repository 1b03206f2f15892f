"""Secure aggregation inside training: SecureFedAvg and SecureSummation (fedlab.secagg)."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedlab import data, federated
from fedlab.federated.messages import Update
from fedlab.privacy import DPFedAvg
from fedlab.secagg import SecureFedAvg, SecureSummation, default_threshold


def _updates(vectors, counts):
    return [Update(f"c{k}", np.asarray(v, dtype=float), int(n))
            for k, (v, n) in enumerate(zip(vectors, counts))]


def _synthetic_clients(sizes=(300, 120, 60, 40), d=3, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=d)
    clients = []
    for k, n in enumerate(sizes):
        X = rng.normal(loc=0.3 * k, size=(n, d))
        y = (X @ w + rng.normal(size=n) > 0).astype(int)
        clients.append(federated.Client(X, y, name=f"site {k}"))
    return clients


@pytest.fixture(scope="module")
def hospitals():
    return data.load_hospitals()


def _run(hospitals, strategy, rounds=10, **kwargs):
    clients = [federated.Client.from_hospital(h) for h in hospitals]
    return federated.run(clients, rounds=rounds, strategy=strategy, test_sets=hospitals,
                         random_state=2026, **kwargs)


# The mean is right --------------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_combine_is_the_weighted_mean_of_the_updates_that_arrived(data):
    m = data.draw(st.integers(2, 7), label="m")
    d = data.draw(st.integers(1, 8), label="d")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32), label="seed"))
    vectors = rng.uniform(-1, 1, size=(m, d))
    counts = rng.integers(1, 5000, size=m)
    strategy = SecureFedAvg(
        dropout_before_masking=data.draw(st.sampled_from([0.0, 0.2, 0.4]), label="before"),
        dropout_after_masking=data.draw(st.sampled_from([0.0, 0.3]), label="after"))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        direction = strategy.combine(_updates(vectors, counts), rng=rng)

    entry = strategy.log[-1]
    if entry["aborted"]:
        assert direction == 0.0 and any("aborted" in str(w.message) for w in caught)
        assert m - len(entry["dropped_before_masking"]) - len(entry["dropped_after_masking"]) \
            < entry["threshold"]
        return
    arrived = [k for k in range(m) if k not in entry["dropped_before_masking"]]
    assert entry["survivors"] == tuple(arrived)
    expected = np.average(vectors[arrived], axis=0, weights=counts[arrived])
    # error bound: m half-steps in the numerator and in the denominator W
    weight = counts[arrived].sum() / 2.0 ** math.ceil(math.log2(counts.max()))
    slack, c = m * entry["step"] / 2, strategy.clip_range
    bound = slack * (1 + np.abs(expected).max() / c) / (weight - slack / c)
    np.testing.assert_allclose(direction, expected, rtol=0, atol=bound + 1e-12)


def test_unweighted_is_the_plain_mean():
    vectors = np.array([[0.4, -0.2], [0.1, 0.5], [-0.3, 0.3]])

    direction = SecureFedAvg(weighted=False).combine(_updates(vectors, [900, 5, 5]))

    np.testing.assert_allclose(direction, vectors.mean(axis=0), atol=1e-7)


def test_the_keys_do_not_change_the_result_and_the_engine_stream_is_untouched():
    updates = _updates(np.random.default_rng(3).uniform(-1, 1, size=(4, 5)), [10, 20, 30, 40])
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state

    seeded = SecureFedAvg(random_state=1).combine(updates, rng=rng)
    fresh = SecureFedAvg().combine(updates, rng=rng)  # keys from os.urandom

    np.testing.assert_array_equal(seeded, fresh)  # exact: the masks cancel in the ring
    assert rng.bit_generator.state == state  # no dropout simulated, nothing drawn


# The engine reaches the same model -----------------------------------------
def test_fedavg_on_the_hospitals_reaches_the_same_model_with_secure_aggregation(hospitals):
    plain = _run(hospitals, "fedavg")
    strategy = SecureFedAvg()
    secure = _run(hospitals, strategy)

    assert np.abs(secure.params - plain.params).max() < 1e-6
    assert round(secure.final.pooled["auc"], 3) == round(plain.final.pooled["auc"], 3)
    np.testing.assert_allclose(secure.metric("auc"), plain.metric("auc"), atol=1e-6)
    assert [e["threshold"] for e in strategy.log] == [4] * 10  # 2*5//3 + 1
    up = [r.bytes_up for r in secure.rounds[1:]]
    assert up == [e["bytes_up"] for e in strategy.log]
    assert min(up) > max(r.bytes_up for r in plain.rounds[1:])  # keys and shares cost


@pytest.mark.parametrize("kwargs", [dict(batch_size=None, local_epochs=3, lr=0.5),
                                    dict(fraction_train=0.5), dict(weighted=False)])
def test_the_engine_agrees_with_plain_aggregation_in_other_settings(kwargs):
    kwargs = dict(kwargs)
    weighted = kwargs.pop("weighted", True)
    fraction = kwargs.pop("fraction_train", 1.0)
    strategy = SecureFedAvg(weighted=weighted, fraction_train=fraction)

    plain = federated.run(_synthetic_clients(), rounds=5, random_state=1,
                          strategy=federated.FedAvg(weighted=weighted, fraction_train=fraction),
                          **kwargs)
    secure = federated.run(_synthetic_clients(), rounds=5, strategy=strategy, random_state=1,
                           **kwargs)

    np.testing.assert_allclose(secure.params, plain.params, atol=1e-6)
    assert [r.participants for r in secure.rounds] == [r.participants for r in plain.rounds]


def test_dropouts_inside_the_protocol_keep_the_mean_of_the_updates_that_arrived():
    strategy = SecureFedAvg(dropout_before_masking=0.2, dropout_after_masking=0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # aborted rounds
        history = federated.run(_synthetic_clients(sizes=(200,) * 8), rounds=8,
                                strategy=strategy, random_state=4)

    finished = [e for e in strategy.log if not e["aborted"]]
    assert finished and any(e["dropped_before_masking"] for e in finished)
    assert any(e["dropped_after_masking"] for e in finished)
    assert np.isfinite(history.params).all()


# Aborts, errors, settings ---------------------------------------------------
def test_a_round_with_too_few_clients_left_aborts_and_leaves_the_model_alone():
    strategy = SecureFedAvg(threshold=3, dropout_before_masking=0.9)
    updates = _updates(np.ones((3, 2)), [5, 5, 5])

    with pytest.warns(RuntimeWarning, match=r"round 0 aborted \(only \d clients answered "
                                            r"in phase MaskedInputCollection, fewer than "
                                            r"threshold=3"):
        direction = strategy.combine(updates, rng=np.random.default_rng(0))

    assert direction == 0.0 and strategy.aborted_rounds == [0]
    assert strategy.bytes_up(updates) == 0 and strategy.last_result is None


def test_one_participant_is_an_error_and_none_is_no_change():
    strategy = SecureFedAvg()

    with pytest.raises(ValueError, match="at least 2 clients in a round, got 1"):
        strategy.combine(_updates([[1.0]], [3]))
    assert strategy.combine([]) == 0.0


def test_weights_need_a_positive_sample_count():
    with pytest.raises(ValueError, match=r"n_samples >= 1 to be weighted, got \[3.0, 0.0\]"):
        SecureFedAvg().combine(_updates([[1.0], [2.0]], [3, 0]))


def test_updates_beyond_the_clip_range_are_clipped_with_a_warning():
    with pytest.warns(RuntimeWarning, match="lie outside"):
        direction = SecureFedAvg(clip_range=0.5, weighted=False).combine(
            _updates([[2.0], [0.0]], [1, 1]))

    assert direction == pytest.approx([0.25], abs=1e-6)


def test_threshold_rules():
    assert [default_threshold(n) for n in (2, 3, 4, 5, 6, 9, 60)] == [2, 3, 3, 4, 5, 7, 41]
    assert SecureFedAvg(threshold=0.6).threshold_for(5) == 3
    assert SecureFedAvg(threshold=0.99).threshold_for(2) == 2
    with pytest.raises(ValueError, match="threshold=4 exceeds the 3 clients"):
        SecureFedAvg(threshold=4).threshold_for(3)
    with pytest.raises(ValueError, match="at least 2 clients, got 1"):
        default_threshold(1)


@pytest.mark.parametrize(("kwargs", "match"), [
    (dict(threshold=1), "threshold must be >= 2, got 1"),
    (dict(threshold=0.5), r"fractional threshold must be in \(0.5, 1\], got 0.5"),
    (dict(threshold="all"), "threshold must be None, an int or a fraction"),
    (dict(dropout_before_masking=1.0), r"dropout_before_masking must be a probability"),
    (dict(dropout_before_masking=0.6, dropout_after_masking=0.5), "must be < 1"),
    (dict(clip_range=0), "clip_range must be a finite number > 0"),
])
def test_bad_settings_are_named(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        SecureFedAvg(**kwargs)


# Distributed DP: SecureSummation ------------------------------------------
def test_secure_summation_without_noise_is_the_sum():
    x = np.random.default_rng(0).uniform(-1, 1, size=(6, 9))
    summation = SecureSummation()

    total = summation(x, noise_std=0.0, rng=np.random.default_rng(1))

    np.testing.assert_allclose(total, x.sum(axis=0), atol=6 * summation.log[-1]["step"])
    assert summation.log[-1]["clip_range"] == 1.0  # the next power of two above max|x|


def test_each_client_adds_its_share_and_the_sum_carries_noise_std():
    x = np.zeros((5, 20_000))
    summation = SecureSummation()

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        total = summation(x, noise_std=2.0, rng=np.random.default_rng(0))

    assert np.std(total) == pytest.approx(2.0, rel=0.03)
    assert summation.log[-1]["noise_std"] == pytest.approx(2.0)
    # what the server decoded is the noised sum: it never held an un-noised one
    np.testing.assert_allclose(summation.last_result.sum, total)


def test_dropouts_before_masking_take_noise_away_unless_shares_are_sized_for_the_threshold():
    x = np.zeros((9, 20_000))
    lossy = SecureSummation(dropout_before_masking=0.25)
    safe = SecureSummation(dropout_before_masking=0.25, expected_survivors="threshold")

    with pytest.warns(RuntimeWarning, match="took their noise shares with them"):
        low = lossy(x, noise_std=1.0, rng=np.random.default_rng(0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        high = safe(x, noise_std=1.0, rng=np.random.default_rng(0))

    k = len(lossy.log[-1]["survivors"])
    assert 7 <= k < 9  # the seed drops one or two, the threshold is 7
    assert np.std(low) == pytest.approx(np.sqrt(k / 9), rel=0.03)
    assert np.std(high) == pytest.approx(np.sqrt(k / 7), rel=0.03)
    assert np.std(high) >= 0.97


def test_rounds_of_zero_or_one_client_need_no_protocol():
    summation = SecureSummation()
    rng = np.random.default_rng(0)

    empty = summation(np.zeros((0, 20_000)), noise_std=1.5, rng=rng)
    single = summation(np.full((1, 20_000), 3.0), noise_std=1.5, rng=rng)

    assert np.std(empty) == pytest.approx(1.5, rel=0.03)  # an empty round is noise too
    assert np.mean(single) == pytest.approx(3.0, abs=0.05)
    assert np.std(single) == pytest.approx(1.5, rel=0.03)
    assert [e["protocol"] for e in summation.log] == [False, False]


def test_secure_summation_validates():
    with pytest.raises(ValueError, match=r"shape \(m, dim\)"):
        SecureSummation()(np.zeros(3), noise_std=1.0, rng=None)
    with pytest.raises(ValueError, match="noise_std must be a finite number >= 0"):
        SecureSummation()(np.zeros((2, 3)), noise_std=-1.0, rng=None)
    with pytest.raises(ValueError, match="expected_survivors must be None or 'threshold'"):
        SecureSummation(expected_survivors=3)


@pytest.mark.parametrize("sample_rate", [1.0, 0.6])
def test_dp_fedavg_with_secure_summation_spends_the_same_epsilon(hospitals, sample_rate):
    settings_ = dict(noise_multiplier=1.0, clip_norm=0.5, sample_rate=sample_rate)
    summation = SecureSummation()

    clear = _run(hospitals, DPFedAvg(**settings_), rounds=6)
    secure = _run(hospitals, DPFedAvg(**settings_, summation=summation), rounds=6)

    np.testing.assert_array_equal(secure.epsilons, clear.epsilons)
    assert all(e["noise_std"] == pytest.approx(0.5) for e in summation.log)
    if sample_rate < 1:  # Poisson sampling: some rounds have fewer than 5 hospitals
        assert {e["n_clients"] for e in summation.log} != {5}


def test_dp_fedavg_without_noise_matches_in_the_clear_summation(hospitals):
    settings_ = dict(noise_multiplier=0.0, clip_norm=0.5, sample_rate=1.0)

    clear = _run(hospitals, DPFedAvg(**settings_))
    secure = _run(hospitals, DPFedAvg(**settings_, summation=SecureSummation()))

    assert np.abs(secure.params - clear.params).max() < 1e-6


def test_with_a_public_bound_the_ring_range_does_not_depend_on_the_data():
    small = np.full((4, 3), 0.01)
    large = np.full((4, 3), 0.4)
    steps = []
    for vectors in (small, large):
        summation = SecureSummation(random_state=0)
        summation(vectors, noise_std=0.1, bound=0.5, rng=np.random.default_rng(0))
        steps.append(summation.log[-1]["step"])
    assert steps[0] == steps[1]
    unbounded = SecureSummation(random_state=0)
    unbounded(small, noise_std=0.1, rng=np.random.default_rng(0))
    assert unbounded.log[-1]["step"] != steps[0]  # derived from the data: documented
