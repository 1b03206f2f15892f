"""The residuals give every label away; label-DP noise and Paillier encryption stop the attack."""

import sys
from pathlib import Path

import numpy as np
import pytest

from fedlab import privacy
from fedlab._validation import InvalidParameterError
from fedlab.vertical import (
    FLOAT_BYTES,
    Coordinator,
    attack_bound,
    ciphertext_bytes,
    encrypted_block_gradient,
    label_attack,
    label_epsilon,
    labels_from_residuals,
    train,
)

sys.path.insert(0, str(Path(__file__).parent))
from test_vertical_regression import _shipped, _study


def _balanced_accuracy(y, guess):
    return 0.5 * (np.mean(guess[y == 1] == 1) + np.mean(guess[y == 0] == 0))


@pytest.fixture(scope="module")
def shipped():
    return _shipped()


def test_the_residuals_of_the_first_step_reveal_every_label(shipped):
    parties, _ = shipped
    y = parties[1].y
    fitted = train(parties, steps=1, record=True)
    rows, residuals = fitted.transcript["hospital"][0]
    assert np.array_equal(labels_from_residuals(residuals), y[rows])


def test_the_attack_recovers_every_label_from_a_whole_minibatch_run(shipped):
    parties, _ = shipped
    y = parties[1].y
    fitted = train(parties, steps=200, batch_size=64, record=True, random_state=1)
    guessed, score = label_attack(fitted.transcript["hospital"], len(y))
    assert fitted.releases >= 3  # several epochs
    assert np.array_equal(guessed, y)
    assert np.all(score[y == 1] > 0) and np.all(score[y == 0] < 0)


def test_reading_the_residuals_the_wrong_way_round_gets_every_label_wrong(shipped):
    parties, _ = shipped
    fitted = train(parties, steps=1, record=True)
    rows, residuals = fitted.transcript["hospital"][0]
    assert not np.any((residuals > 0).astype(int) == parties[1].y[rows])


@pytest.mark.parametrize("target", [1.0, 2.0])
def test_label_dp_noise_keeps_the_attack_below_the_dp_bound(shipped, target):
    # Arrange: noise calibrated by the course's accountant for 10 full-batch steps
    parties, _ = shipped
    y = parties[1].y
    delta = 1 / len(y)
    sigma = privacy.noise_multiplier_for(target_epsilon=target, sample_rate=1.0, steps=10,
                                         delta=delta)
    # Act
    fitted = train(parties, steps=10, lr=2.0, noise_multiplier=sigma, record=True,
                   noise_random_state=0)
    guessed, _ = label_attack(fitted.transcript["hospital"], len(y))
    epsilon = label_epsilon(fitted, noise_multiplier=sigma, delta=delta)
    # Assert: the run spent the budget, and the attack no longer reads the labels
    assert fitted.releases == 10
    assert epsilon == pytest.approx(target, rel=1e-3)
    assert _balanced_accuracy(y, guessed) < attack_bound(epsilon, delta)
    assert _balanced_accuracy(y, guessed) < 0.7


def test_label_epsilon_counts_the_releases_of_one_patients_residual():
    parties, _, _ = _study(np.random.default_rng(0), n=100)
    fitted = train(parties, steps=25, batch_size=10, noise_multiplier=2.0, random_state=0)
    assert fitted.releases == 3  # 25 batches of 10: two epochs and a half
    assert label_epsilon(fitted, noise_multiplier=2.0, delta=1e-3) == pytest.approx(
        privacy.epsilon(noise_multiplier=2.0, sample_rate=1.0, steps=3, delta=1e-3))


def test_attack_bound_is_the_dp_limit_on_balanced_accuracy():
    assert attack_bound(0.0, 0.0) == 0.5
    assert attack_bound(np.log(3), 0.0) == pytest.approx(0.75)
    assert attack_bound(50.0, 0.0) == pytest.approx(1.0)


# -- Paillier: the residuals encrypted under a coordinator's key --------------------------------


@pytest.fixture(scope="module")
def coordinator():
    return Coordinator(key_bits=512)  # a short key keeps the test fast; 2048 in practice


def test_an_encrypted_run_gives_the_plain_runs_model(coordinator):
    parties, _, _ = _study(np.random.default_rng(1), n=60, widths=(3, 2))
    options = {"steps": 3, "batch_size": 12, "lr": 0.5, "random_state": 4}
    plain = train(parties, **options)
    encrypted = train(parties, coordinator=coordinator, record=True, **options)
    np.testing.assert_allclose(encrypted.params, plain.params, rtol=0, atol=1e-12)
    size = ciphertext_bytes(coordinator.public_key)
    # per step: 12 encrypted residuals down, 3 masked sums up and 3 decryptions back,
    # 12 partial predictors in the clear up
    assert size == 128
    assert encrypted.nbytes_per_step == [12 * size + 3 * size + 3 * size // 2
                                         + 12 * FLOAT_BYTES] * 3
    rows, received = encrypted.transcript["party 0"][0]
    assert len(received) == 12 and all(isinstance(c, int) for c in received)


def test_the_label_attack_reads_nothing_from_encrypted_residuals(coordinator):
    # Arrange: the first step's residuals of 400 patients
    parties, _, y = _study(np.random.default_rng(2), n=400)
    rows, residuals = train(parties, steps=1, record=True).transcript["party 0"][0]
    assert np.array_equal(labels_from_residuals(residuals), y)  # in the clear: every label
    # Act: what the other party receives instead, and rules it might try on it
    ciphertexts = np.array([float(c.ciphertext()) for c in
                            coordinator.public_key_encrypt(residuals)])
    parity = np.array([c.ciphertext() % 2 for c in coordinator.public_key_encrypt(residuals)])
    above = (ciphertexts > np.median(ciphertexts)).astype(int)
    # Assert: chance (a deterministic encoding, 1 + m n mod n^2, would give it all away)
    for guess in (above, 1 - above, parity):
        assert abs(_balanced_accuracy(y, guess) - 0.5) < 0.1
    again = coordinator.public_key_encrypt(residuals[:5])
    first = coordinator.public_key_encrypt(residuals[:5])
    assert all(a.ciphertext() != b.ciphertext() for a, b in zip(again, first))


def test_the_coordinator_decrypts_only_masked_sums(coordinator):
    X = np.array([[1.0, -2.0], [0.5, 3.0], [-1.0, 0.25]])
    residuals = np.array([0.3, -0.8, 0.1])
    seen = []
    original = coordinator.decrypt_masked

    def spying(ciphertexts):  # what the coordinator learns
        opened = original(ciphertexts)
        seen.append(opened)
        return opened

    coordinator.decrypt_masked = spying
    try:
        encrypted = coordinator.public_key_encrypt(residuals)
        first, _ = encrypted_block_gradient(coordinator, X, encrypted)
        second, _ = encrypted_block_gradient(coordinator, X, encrypted)
    finally:
        del coordinator.decrypt_masked
    np.testing.assert_allclose(first, X.T @ residuals / 3, atol=1e-15)
    np.testing.assert_array_equal(first, second)
    assert seen[0] != seen[1]  # fresh masks: the same gradient opens to different numbers
    assert min(min(values) for values in seen) > 2**200  # not the small encodings of X^T r


def test_a_bad_key_size_or_non_finite_residual_is_refused(coordinator):
    with pytest.raises(InvalidParameterError, match="key_bits"):
        Coordinator(key_bits=100)
    with pytest.raises(InvalidParameterError, match="finite"):
        coordinator.public_key_encrypt([0.1, np.nan])
