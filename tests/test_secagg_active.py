"""The actively secure version of secure aggregation against servers that cheat (issue 14).

Each attack must succeed against the honest-but-curious version and fail against the
actively secure one (signed keys under a PKI, ConsistencyCheck, clients that refuse a
threshold <= n/2), and the split attack must work exactly when the counting argument
says: two disjoint groups of threshold - n_C honest clients, 2 t <= n + n_C.
"""

import warnings
from dataclasses import replace

import numpy as np
import pytest

from fedlab import data, federated
from fedlab.privacy import DPFedAvg
from fedlab.secagg import (
    MalformedMessageError,
    PublicKeyInfrastructure,
    SecAggAbort,
    SecAggClient,
    SecAggServer,
    SecureFedAvg,
    SecureSummation,
    default_threshold,
    encode,
    quantization_step,
    secure_sum,
)
from fedlab.secagg.attacks import split_survivors, substitute_keys
from fedlab.secagg.messages import KeyBroadcast, SignedSurvivors


def _inputs(n, dim=5, seed=1):
    return np.random.default_rng(seed).uniform(-1, 1, size=(n, dim))


# The two attacks ---------------------------------------------------------
def test_key_substitution_reads_one_input_unless_keys_are_signed():
    n, t = 10, default_threshold(10)
    x = _inputs(n)
    step = quantization_step(clip_range=1.0, bits=32, n_clients=n)
    assert t == 7

    stolen = substitute_keys(x, threshold=t, target=3, random_state=0)
    np.testing.assert_allclose(stolen, x[3], atol=step / 2 + 1e-12)
    with pytest.raises(MalformedMessageError, match="do not carry that client's signature"):
        substitute_keys(x, threshold=t, target=3, authenticated=True, random_state=0)


def test_split_survivor_lists_unmask_one_input_at_t_3_of_7_unless_clients_refuse():
    x = _inputs(7)
    step = quantization_step(clip_range=1.0, bits=32, n_clients=7)

    stolen = split_survivors(x, threshold=3, target=2, random_state=0)
    np.testing.assert_allclose(stolen, x[2], atol=step / 2 + 1e-12)
    with pytest.raises(ValueError, match="refuses threshold=3 with n_clients=7"):
        split_survivors(x, threshold=3, target=2, authenticated=True, random_state=0)


@pytest.mark.parametrize("n_colluders", [0, 1, 2])
@pytest.mark.parametrize("threshold", range(2, 8))
def test_split_succeeds_exactly_when_two_groups_of_t_minus_colluders_fit(threshold, n_colluders):
    n, x = 7, _inputs(7, dim=3)
    colluders = list(range(n - n_colluders, n))
    feasible = 2 * threshold <= n + n_colluders
    for authenticated in (False, True):
        attack = dict(threshold=threshold, target=0, colluders=colluders,
                      authenticated=authenticated, random_state=threshold)
        if authenticated and 2 * threshold <= n:
            with pytest.raises(ValueError, match="refuses"):
                split_survivors(x, **attack)
        elif feasible:
            np.testing.assert_allclose(split_survivors(x, **attack), x[0], atol=1e-8)
        else:
            with pytest.raises(SecAggAbort):
                split_survivors(x, **attack)


def test_with_the_default_threshold_two_colluders_of_seven_cannot_split():
    x = _inputs(7)
    assert default_threshold(7) == 5  # 2 * 5 > 7 + 2
    with pytest.raises(SecAggAbort, match="refuses to unmask"):
        split_survivors(x, threshold=5, colluders=[5, 6], authenticated=True, random_state=0)


# The actively secure round -----------------------------------------------
class ActiveRound:
    """One actively secure round, phase by phase, so a test can cheat in between."""

    def __init__(self, n=5, threshold=4, dim=4, seed=0):
        rng = np.random.default_rng(seed)
        self.x = rng.uniform(-1, 1, size=(n, dim))
        self.encoded = encode(self.x, clip_range=1.0, bits=32, n_clients=n)
        self.pki = PublicKeyInfrastructure()
        common = dict(n_clients=n, threshold=threshold, dim=dim)
        streams = rng.spawn(n)
        self.clients = [SecAggClient(u, random_state=s, pki=self.pki,
                                     signing_key=self.pki.enroll(u, random_state=s), **common)
                        for u, s in enumerate(streams)]
        self.server = SecAggServer(pki=self.pki, **common)
        self.broadcast = self.server.receive_keys([c.advertise_keys() for c in self.clients])
        routed = self.server.receive_shares([c.share_keys(self.broadcast) for c in self.clients])
        self.survivors = self.server.receive_masked_inputs(
            [c.masked_input(self.encoded[c.client_id], routed[c.client_id])
             for c in self.clients])


def test_an_honest_active_round_sums_like_the_honest_but_curious_one():
    x = _inputs(6, dim=8)
    plain = secure_sum(x, threshold=4, dropped=[1], dropped_before_masking=[4], random_state=3)
    active = secure_sum(x, threshold=4, dropped=[1], dropped_before_masking=[4],
                        authenticated=True, random_state=3)

    np.testing.assert_array_equal(active.ring_sum, plain.ring_sum)
    assert active.survivors == (0, 1, 2, 3, 5) and active.responders == (0, 2, 3, 5)
    phases = {phase for phase, _, _ in active.server_view.messages}
    assert "ConsistencyCheck" in phases
    # 64-byte signatures: on the keys of all 6 and on the list of the 4 responders
    assert active.bytes_up.sum() - plain.bytes_up.sum() == 64 * 6 + (64 + 9) * 4


def test_an_active_client_refuses_to_sign_two_lists_or_to_unmask_another():
    r = ActiveRound()
    client, everyone = r.clients[0], r.survivors
    fewer = replace(everyone, survivors=everyone.survivors[:4])
    signature = client.consistency_check(everyone).signature

    with pytest.raises(SecAggAbort, match="refuses to sign a second"):
        client.consistency_check(fewer)
    with pytest.raises(MalformedMessageError, match="other than the one it signed"):
        client.unmask(SignedSurvivors(0, fewer.survivors, {0: signature}))


def test_an_active_client_unmasks_only_with_threshold_valid_signatures():
    r = ActiveRound()
    signed = r.server.receive_consistency_checks(
        [c.consistency_check(r.survivors) for c in r.clients])
    sigs = dict(signed.signatures)

    with pytest.raises(SecAggAbort, match="only 3 clients signed"):
        r.clients[0].unmask(replace(signed, signatures={u: sigs[u] for u in (0, 1, 2)}))
    forged = {**sigs, 4: sigs[3]}  # client 3's signature passed off as client 4's
    with pytest.raises(MalformedMessageError, match=r"client\(s\) \[4\]"):
        r.clients[0].unmask(replace(signed, signatures=forged))
    shares = [c.unmask(signed) for c in r.clients]
    total = r.server.receive_unmask_shares(shares)
    np.testing.assert_array_equal(total, r.encoded.sum(axis=0, dtype=np.uint32))


def test_the_honest_server_names_a_client_whose_key_signature_is_wrong():
    r = ActiveRound()
    server = SecAggServer(5, threshold=4, dim=4, pki=r.pki)
    adverts = [c.advertise_keys() for c in r.clients]
    adverts[2] = replace(adverts[2], s_public=adverts[1].s_public)

    with pytest.raises(MalformedMessageError, match="client 2's keys") as err:
        server.receive_keys(adverts)
    assert err.value.client_id == 2


def test_an_active_client_rejects_a_broadcast_with_an_unsigned_key():
    r = ActiveRound()
    keys = list(r.broadcast.keys)
    keys[3] = replace(keys[3], signature=b"")
    fresh = SecAggClient(0, n_clients=5, threshold=4, dim=4, pki=r.pki,
                         signing_key=PublicKeyInfrastructure().enroll(0))
    with pytest.raises(MalformedMessageError, match="keys of client 3"):
        fresh.share_keys(KeyBroadcast(0, tuple(keys)))


def test_pki_and_signing_key_go_together_and_pki_is_checked():
    with pytest.raises(ValueError, match="go together"):
        SecAggClient(0, n_clients=3, threshold=2, dim=1, pki=PublicKeyInfrastructure())
    with pytest.raises(TypeError, match="PublicKeyInfrastructure"):
        SecAggServer(3, threshold=2, dim=1, pki={})
    with pytest.raises(RuntimeError, match="honest-but-curious version has no"):
        SecAggServer(3, threshold=2, dim=1).receive_consistency_checks([])


# Seeds: every draw from the engine's generator ---------------------------
def _train(strategy, seed=7):
    hospitals = data.load_hospitals()
    clients = [federated.Client.from_hospital(h) for h in hospitals]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # aborted rounds, lost noise
        return federated.run(clients, strategy=strategy, rounds=4, random_state=seed).params


@pytest.mark.parametrize("make", [
    lambda: SecureFedAvg(dropout_before_masking=0.2, dropout_after_masking=0.2),
    lambda: SecureFedAvg(dropout_before_masking=0.2, authenticated=True),
    lambda: DPFedAvg(noise_multiplier=1.0, clip_norm=0.5, sample_rate=1.0,
                     summation=SecureSummation(dropout_before_masking=0.2,
                                               dropout_after_masking=0.1)),
], ids=["SecureFedAvg", "SecureFedAvg-active", "DPFedAvg-SecureSummation"])
def test_a_seeded_run_is_the_same_bit_for_bit_though_keys_come_from_os_urandom(make):
    first, second = _train(make()), _train(make())

    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, _train(make(), seed=8))
