"""Tests for the secure aggregation protocol (fedlab.secagg, after Bonawitz et al. 2017)."""

import dataclasses
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from fedlab.secagg import (
    MalformedMessageError,
    SecAggAbort,
    SecAggClient,
    SecAggServer,
    encode,
    secure_sum,
)
from fedlab.secagg.messages import AdvertiseKeys, EncryptedShare, SurvivorList


class Round:
    """Drive one protocol round phase by phase, so a test can tamper in between."""

    def __init__(self, n=5, threshold=3, dim=6, bits=32, seed=0):
        rng = np.random.default_rng(seed)
        self.x = rng.uniform(-1, 1, size=(n, dim))
        self.encoded = encode(self.x, clip_range=1.0, bits=bits, n_clients=n)
        common = dict(n_clients=n, threshold=threshold, dim=dim, bits=bits)
        self.clients = [SecAggClient(u, random_state=s, **common)
                        for u, s in enumerate(rng.spawn(n))]
        self.server = SecAggServer(**common)

    def keys(self):
        self.broadcast = self.server.receive_keys([c.advertise_keys() for c in self.clients])
        return self

    def shares(self):
        self.routed = self.server.receive_shares(
            [c.share_keys(self.broadcast) for c in self.clients])
        return self

    def masked_messages(self, skip=()):
        return [c.masked_input(self.encoded[c.client_id], self.routed[c.client_id])
                for c in self.clients if c.client_id not in skip]

    def masked(self, skip=()):
        self.survivors = self.server.receive_masked_inputs(self.masked_messages(skip))
        return self

    def unmask_messages(self, skip=()):
        return [self.clients[u].unmask(self.survivors)
                for u in self.survivors.survivors if u not in skip]


def _bits_and_survivors(data, n, threshold):
    n_drop = data.draw(st.integers(0, n - threshold))
    drop = data.draw(st.permutations(range(n)))[:n_drop]
    split = data.draw(st.integers(0, n_drop))
    return drop[:split], drop[split:]


# Correctness -------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_secure_sum_equals_the_sum_of_the_quantized_inputs(data):
    n = data.draw(st.integers(3, 8), label="n")
    dim = data.draw(st.integers(1, 20), label="dim")
    threshold = data.draw(st.integers(n // 2 + 1, n), label="threshold")
    bits = data.draw(st.sampled_from([16, 32, 48]), label="bits")
    x = data.draw(arrays(np.float64, (n, dim), elements=st.floats(-1.0, 1.0)), label="x")
    before, after = _bits_and_survivors(data, n, threshold)

    result = secure_sum(x, threshold=threshold, dropped=after, dropped_before_masking=before,
                        bits=bits, random_state=data.draw(st.integers(0, 2**32)))

    summed = [u for u in range(n) if u not in before]
    expected = encode(x[summed], clip_range=1.0, bits=bits, n_clients=n).astype(object)
    assert result.survivors == tuple(summed)
    assert result.ring_sum.astype(object).tolist() == expected.sum(axis=0).tolist()
    np.testing.assert_allclose(result.sum, x[summed].sum(axis=0),
                               atol=len(summed) * result.step / 2 + 1e-9)


def test_dropouts_at_both_phases_in_one_round():
    x = np.random.default_rng(1).uniform(-1, 1, size=(8, 5))

    result = secure_sum(x, threshold=5, dropped=[0, 7], dropped_before_masking=[3],
                        random_state=1)

    assert result.survivors == (0, 1, 2, 4, 5, 6, 7)
    assert result.responders == (1, 2, 4, 5, 6)
    np.testing.assert_allclose(result.sum, np.delete(x, 3, axis=0).sum(axis=0), atol=1e-7)


def test_same_seed_same_round_and_none_uses_fresh_randomness():
    x = np.zeros((4, 3))

    a, b = (secure_sum(x, threshold=3, random_state=5) for _ in range(2))
    c, d = (secure_sum(x, threshold=3) for _ in range(2))

    np.testing.assert_array_equal(a.server_view.masked_inputs[0], b.server_view.masked_inputs[0])
    assert not np.array_equal(c.server_view.masked_inputs[0], d.server_view.masked_inputs[0])
    np.testing.assert_array_equal(c.ring_sum, a.ring_sum)


def test_the_round_id_is_in_every_message_the_server_receives():
    result = secure_sum(np.ones((4, 2)), threshold=3, round_id=7, random_state=0)

    np.testing.assert_allclose(result.sum, [4.0, 4.0], atol=1e-6)
    assert {message.round_id for _, _, message in result.server_view.messages} == {7}


# What the server sees ----------------------------------------------------
def test_masked_inputs_look_uniform_whatever_the_input():
    x = np.zeros((4, 20_000))
    x[1] = 1.0  # a constant vector and an all-zero one: as structured as inputs get

    view = secure_sum(x, threshold=3, random_state=0).server_view

    for y in view.masked_inputs.values():
        assert stats.kstest(y / 2**32, "uniform").pvalue > 1e-3
        counts = np.bincount((y >> 24).astype(np.int64), minlength=256)
        assert stats.chisquare(counts).pvalue > 1e-3


def test_server_view_holds_no_plaintext():
    r = Round(n=4, threshold=3, dim=50, seed=3).keys().shares().masked()
    r.server.receive_unmask_shares(r.unmask_messages())
    wire = b"".join(m.to_bytes() for _, _, m in r.server.view.messages)

    for u, y in r.server.view.masked_inputs.items():
        assert np.mean(y == r.encoded[u]) < 0.05
        assert r.encoded[u].tobytes() not in wire
    held = r.clients[0]._held[1]  # a share client 1 dealt to client 0, sent encrypted
    assert held[0].to_bytes(33, "little") not in wire
    assert r.clients[2]._s_key.private_bytes_raw() not in wire


def test_bytes_are_counted_per_client():
    result = secure_sum(np.zeros((5, 100)), threshold=3, dropped_before_masking=[4],
                        random_state=0)

    assert result.bytes_up.shape == result.bytes_down.shape == (5,)
    assert (result.bytes_up[:4] > 400).all()  # 100 uint32 in the masked input alone
    assert result.bytes_up[4] < result.bytes_up[0]
    assert (result.bytes_down > 0).all()


# Distributed DP ----------------------------------------------------------
@pytest.mark.parametrize(("before", "expected", "std"),
                         [((), None, 2.0), ((0, 1, 2, 3), None, 2.0 * np.sqrt(0.6)),
                          ((0, 1, 2, 3), 6, 2.0)])
def test_noise_std_is_split_among_the_clients(before, expected, std):
    result = secure_sum(np.zeros((10, 20_000)), threshold=6, clip_range=8.0, noise_std=2.0,
                        dropped_before_masking=before, expected_survivors=expected,
                        random_state=0)

    assert result.sum_noise_std == pytest.approx(std)
    assert np.std(result.sum) == pytest.approx(std, rel=0.03)


# Aborts ------------------------------------------------------------------
def test_too_few_masked_inputs_abort_before_anything_is_revealed():
    with pytest.raises(SecAggAbort, match="only 2 clients answered in phase "
                                          "MaskedInputCollection, fewer than threshold=3"):
        secure_sum(np.zeros((4, 3)), threshold=3, dropped_before_masking=[0, 1], random_state=0)


def test_too_few_unmaskers_abort_without_reconstructing(monkeypatch):
    r = Round(n=5, threshold=3).keys().shares().masked()
    messages = r.unmask_messages(skip=(0, 1, 2))

    def forbidden(*args, **kwargs):
        raise AssertionError("the server reconstructed a secret during an abort")

    monkeypatch.setattr("fedlab.secagg.server.reconstruct", forbidden)
    with pytest.raises(SecAggAbort, match="only 2 clients answered in phase Unmasking"):
        r.server.receive_unmask_shares(messages)


def test_secure_sum_aborts_when_dropouts_after_masking_leave_too_few():
    with pytest.raises(SecAggAbort, match="fewer than threshold=4"):
        secure_sum(np.zeros((5, 2)), threshold=4, dropped=[0, 1], random_state=0)


def test_client_refuses_a_survivor_list_below_threshold():
    r = Round(n=5, threshold=3).keys().shares().masked()

    with pytest.raises(SecAggAbort, match="only 2 masked inputs arrived"):
        r.clients[0].unmask(SurvivorList(0, (0, 1)))


def test_client_never_reveals_both_shares_of_one_peer():
    r = Round(n=5, threshold=3).keys().shares().masked()
    r.clients[0].unmask(r.survivors)  # b-shares of everyone

    with pytest.raises(SecAggAbort, match=r"refuses: .* client\(s\) \[4\]"):
        r.clients[0].unmask(SurvivorList(0, (0, 1, 2, 3)))  # now asks for 4's s-share


def test_a_threshold_of_half_or_less_warns():
    with pytest.warns(UserWarning, match="threshold > n_clients / 2"):
        SecAggServer(6, threshold=3, dim=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SecAggServer(6, threshold=4, dim=1)


# Tampering ---------------------------------------------------------------
def _tamper_masked(field_values, bits=32):
    r = Round(n=4, threshold=3, bits=bits).keys().shares()
    messages = r.masked_messages()
    messages[2] = dataclasses.replace(messages[2], **field_values(messages[2]))
    return r, messages


@pytest.mark.parametrize(("change", "match"), [
    (lambda m: dict(masked=m.masked[:-1]), r"shape \(6,\)"),
    (lambda m: dict(masked=m.masked[:-1], dim=5), "dim=5"),
    (lambda m: dict(masked=m.masked.astype(np.int64)), "uint32 array"),
    (lambda m: dict(masked=m.masked.astype(np.float64)), "uint32 array"),
    (lambda m: dict(bits=16), "masked for bits=16"),
    (lambda m: dict(round_id=7), "message of round 7 in round 0"),
])
def test_malformed_masked_inputs_are_rejected_naming_the_client(change, match):
    r, messages = _tamper_masked(change)

    with pytest.raises(MalformedMessageError, match=match) as err:
        r.server.receive_masked_inputs(messages)

    assert err.value.client_id == 2 and "client 2" in str(err.value)


def test_masked_values_outside_the_ring_are_rejected():
    r, messages = _tamper_masked(lambda m: dict(masked=m.masked | np.uint32(1 << 20)), bits=20)

    with pytest.raises(MalformedMessageError, match="client 2's masked input holds values "
                                                    "outside the ring"):
        r.server.receive_masked_inputs(messages)


def test_unknown_and_repeated_senders_are_rejected():
    r = Round(n=4, threshold=3).keys()
    bad = dataclasses.replace(r.clients[0].advertise_keys(), client_id=9)

    with pytest.raises(MalformedMessageError, match="unknown or unexpected client id 9"):
        SecAggServer(4, threshold=3, dim=6).receive_keys([bad])
    with pytest.raises(MalformedMessageError, match="client 1 sent twice"):
        SecAggServer(4, threshold=3, dim=6).receive_keys(
            [c.advertise_keys() for c in r.clients] + [r.clients[1].advertise_keys()])


@pytest.mark.parametrize(("owner", "kind"), [(0, "b"), (4, "s")])
def test_a_corrupted_unmasking_share_is_named(owner, kind):
    r = Round(n=7, threshold=4).keys().shares().masked(skip=(4,))
    messages = r.unmask_messages()
    shares = dict(getattr(messages[1], f"{kind}_shares"))
    shares[owner] += 1
    messages[1] = dataclasses.replace(messages[1], **{f"{kind}_shares": shares})

    with pytest.raises(MalformedMessageError,
                       match=f"client 1 sent a {kind}-share of client {owner}") as err:
        r.server.receive_unmask_shares(messages)

    assert err.value.client_id == 1


def test_a_corrupted_share_is_caught_even_with_exactly_threshold_shares():
    r = Round(n=4, threshold=3).keys().shares().masked()
    messages = r.unmask_messages(skip=(3,))
    shares = dict(messages[0].b_shares)
    shares[2] += 1
    messages[0] = dataclasses.replace(messages[0], b_shares=shares)

    with pytest.raises(MalformedMessageError, match="rebuilt for client 2 does not match"):
        r.server.receive_unmask_shares(messages)


def test_missing_or_extra_unmasking_shares_are_rejected():
    r = Round(n=4, threshold=3).keys().shares().masked()
    messages = r.unmask_messages()
    messages[0] = dataclasses.replace(messages[0], s_shares={1: 5})

    with pytest.raises(MalformedMessageError, match="client 0 must send b-shares"):
        r.server.receive_unmask_shares(messages)


def test_a_tampered_share_ciphertext_is_caught_by_its_recipient():
    r = Round(n=4, threshold=3).keys().shares()
    routed = r.routed[0]
    first = routed.ciphertexts[0]
    flipped = bytes([first.ciphertext[0] ^ 1]) + first.ciphertext[1:]
    r.routed[0] = dataclasses.replace(routed, ciphertexts=(
        EncryptedShare(first.sender, first.recipient, flipped), *routed.ciphertexts[1:]))

    with pytest.raises(MalformedMessageError, match=f"from client {first.sender} failed "
                                                    "authentication"):
        r.masked_messages()


def test_a_client_rejects_a_broadcast_that_alters_its_keys():
    r = Round(n=4, threshold=3).keys()
    keys = list(r.broadcast.keys)
    keys[1] = AdvertiseKeys(0, 1, keys[2].c_public, keys[1].s_public)
    broadcast = dataclasses.replace(r.broadcast, keys=tuple(keys))

    with pytest.raises(MalformedMessageError, match="client 1's own keys were altered"):
        r.clients[1].share_keys(broadcast)
    with pytest.raises(MalformedMessageError, match="repeats a public key"):
        r.clients[0].share_keys(broadcast)


@pytest.mark.parametrize(("kwargs", "match"), [
    (dict(threshold=1), "threshold must be between 2 and n_clients=4, got 1"),
    (dict(threshold=5), "threshold must be between 2 and n_clients=4, got 5"),
    (dict(threshold=3, dropped=[4]), r"dropped must be distinct client ids in \[0, 4\)"),
    (dict(threshold=3, dropped=[1], dropped_before_masking=[1]), "both before and after"),
    (dict(threshold=3, noise_std=-1.0), "noise_std must be a finite number >= 0, got -1.0"),
    (dict(threshold=3, bits=8), "bits=8 cannot hold the sum of 4 clients"),
])
def test_secure_sum_validates_its_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        secure_sum(np.zeros((4, 2)), **kwargs)


def test_secure_sum_rejects_a_one_dimensional_input():
    with pytest.raises(ValueError, match=r"shape \(n_clients, dim\), got shape \(3,\)"):
        secure_sum([1.0, 2.0, 3.0], threshold=2)


def test_a_client_silent_after_advertising_keys_is_left_out_of_the_masks():
    r = Round(n=5, threshold=3).keys()
    r.routed = r.server.receive_shares([c.share_keys(r.broadcast) for c in r.clients[:4]])
    late = r.clients[4]  # never shared its keys, so nobody masks with it

    messages = [c.masked_input(r.encoded[c.client_id], r.routed[c.client_id])
                for c in r.clients[:4]]
    with pytest.raises(MalformedMessageError, match="unexpected client id 4") as err:
        r.server.receive_masked_inputs(messages + [dataclasses.replace(messages[0], client_id=4)])
    assert err.value.client_id == late.client_id == 4

    r.survivors = r.server.receive_masked_inputs(messages)
    ring_sum = r.server.receive_unmask_shares(r.unmask_messages())

    expected = r.encoded[:4].astype(np.uint64).sum(axis=0) % 2**32
    np.testing.assert_array_equal(ring_sum, expected)
