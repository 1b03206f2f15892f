"""Poisoning attacks and faulty exports: each on a case whose answer is known by construction."""

import numpy as np
import pytest

from fedlab import data, federated
from fedlab._validation import InvalidParameterError
from fedlab.attacks import (
    duplicated_records,
    flag_unit_errors,
    flipped_outcome,
    little_is_enough_z,
    local_duplicates,
    malicious,
    outcome_contrast,
    site_means,
    unit_error,
)
from fedlab.federated import Client, feature_sums

CONFIG = {"epochs": 1, "batch_size": 8, "lr": 0.1, "l2": 0.0}


@pytest.fixture
def client():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] + 0.3 * rng.normal(size=60) > 0).astype(float)
    return Client(X, y, name="site")


def _honest(client, params, seed=1):
    return client.train(params, CONFIG, random_state=seed).vector


def test_sign_flip_and_model_replacement_scale_the_honest_update(client):
    params = np.full(4, 0.1)
    honest = _honest(client, params)
    assert np.allclose(malicious(client, "sign_flip", scale=10).train(
        params, CONFIG, random_state=1).vector, -10 * honest)
    assert np.allclose(malicious(client, "model_replacement", boost=5).train(
        params, CONFIG, random_state=1).vector, 5 * honest)


def test_label_flip_trains_on_the_flipped_outcome(client):
    X, y = client.records()
    flipped = Client(X, 1 - y, name="site")
    got = malicious(client, "label_flip").train(np.zeros(4), CONFIG, random_state=3).vector
    assert np.allclose(got, _honest(flipped, np.zeros(4), seed=3))


def test_gaussian_sends_pure_noise_of_the_given_spread(client):
    bad = malicious(client, "gaussian", std=2.0)
    draws = np.array([bad.train(np.zeros(4), CONFIG, random_state=k).vector
                      for k in range(500)])
    assert abs(draws.std() - 2.0) < 0.1 and abs(draws.mean()) < 0.1


def test_little_is_mean_minus_z_std_of_its_shards(client):
    bad = malicious(client, "little", z=1.5, n_shards=3)
    got = bad.train(np.zeros(4), CONFIG, random_state=np.random.default_rng(7)).vector
    rng = np.random.default_rng(7)
    parts = np.array_split(np.arange(60), 3)
    X, y = client.records()
    shards = [Client(X[p], y[p]) for p in parts]
    vectors = np.array([s.train(np.zeros(4), CONFIG, random_state=rng).vector
                        for s in shards])
    assert np.allclose(got, vectors.mean(0) - 1.5 * vectors.std(0, ddof=1))


def test_little_is_enough_z_follows_the_paper():
    # Baruch et al. (2019): n = 50, m = 12 -> s = 14, z = Phi^-1(36 / 50) = 0.583
    assert little_is_enough_z(50, 12) == pytest.approx(0.5828, abs=1e-4)


def test_backdoor_relabels_the_target_and_repeats_it(client):
    target = lambda X: X[:, 1] > 1.0  # noqa: E731
    raw, outcome = client.records()
    mask = target(raw)
    X = np.vstack([raw, raw[mask], raw[mask]])
    y = np.concatenate([np.where(mask, 0.0, outcome), np.zeros(2 * mask.sum())])
    expected = 3 * Client(X, y).train(np.zeros(4), CONFIG, random_state=2).vector
    bad = malicious(client, "backdoor", target=target, copies=2, boost=3.0)
    assert np.allclose(bad.train(np.zeros(4), CONFIG, random_state=2).vector, expected)


def test_the_attacker_looks_honest_outside_its_updates(client):
    bad = malicious(client, "sign_flip")
    assert bad.name == "site" and bad.n_samples == 60 and bad.stacked_records() is None
    assert np.array_equal(bad.feature_sums().total, client.feature_sums().total)


@pytest.mark.parametrize("attack, params, message", [
    ("poison", {}, "attack must be one of"),
    ("sign_flip", {"boost": 2}, "takes ['scale']"),
    ("sign_flip", {"scale": -1}, "scale must be a finite number > 0"),
    ("backdoor", {}, "needs target"),
    ("backdoor", {"target": lambda X: X[:, 0] > 99}, "at least one"),
    ("little", {"n_shards": 1}, "n_shards must be >= 2"),
])
def test_bad_attacks_name_the_parameter_and_rule(client, attack, params, message):
    with pytest.raises(InvalidParameterError, match=None) as err:
        malicious(client, attack, **params)
    assert message in str(err.value)


def test_unit_error_is_flagged_from_sums_and_only_it():
    hospitals = data.load_hospitals()
    chol = list(hospitals[0].feature_names).index("total_chol")
    faulty = list(hospitals)
    faulty[3] = unit_error(hospitals[3], "total_chol")
    sums = [feature_sums(h.X_train) for h in faulty]
    flags = flag_unit_errors(sums)
    assert flags[3, chol] and flags.sum() == 1
    assert site_means(sums)[3, chol] == pytest.approx(
        np.nanmean(hospitals[3].X_train[:, chol]) / 38.67)
    assert not flag_unit_errors([feature_sums(h.X_train) for h in hospitals]).any()


def test_flipped_outcome_reverses_every_contrast():
    h = data.load_hospitals()[1]
    honest = outcome_contrast(h.X_train, h.y_train)
    flipped = flipped_outcome(h)
    assert np.allclose(outcome_contrast(flipped.X_train, flipped.y_train), -honest,
                       equal_nan=True)


def test_duplicates_are_counted_locally():
    h = data.load_hospitals()[1]
    assert local_duplicates(h.X_train) == 0
    doubled = duplicated_records(h, 0.2, random_state=0)
    assert doubled.n_train == h.n_train + 45
    assert local_duplicates(doubled.X_train) == 45


def test_a_run_with_an_attacker_goes_through_the_round_loop(client):
    X, y = client.records()
    h = federated.run([client, malicious(Client(X, y, name="b"), "sign_flip")], rounds=2,
                      random_state=0)
    assert len(h.rounds) == 3
