"""fedlab.federated: clients, server, the round loop, federated preprocessing, history."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedlab import federated
from fedlab.federated import Client
from fedlab.models import logistic


def _sites(sizes=(400, 100, 40), d=3, seed=0, missing=False):
    rng = np.random.default_rng(seed)
    sites = []
    for k, n in enumerate(sizes):
        X = rng.normal(loc=k, scale=1 + k, size=(n, d))
        y = (rng.random(n) < 1 / (1 + np.exp(-(X[:, 0] - k)))).astype(int)
        if missing:
            X[rng.random(n) < 0.2, 1] = np.nan
        sites.append((X, y))
    return sites


def _clients(sites):
    return [Client(X, y, name=f"site{k}") for k, (X, y) in enumerate(sites)]


class OnlyMessages:
    """Exposes nothing but the protocol: proof the engine never reaches for records."""

    def __init__(self, client):
        self._client = client
        self.name, self.n_features, self.n_samples = client.name, client.n_features, \
            client.n_samples
        self.model = client.model  # which model to train is public, not a record

    def feature_sums(self):
        return self._client.feature_sums()

    def preprocess(self, standardizer):
        self._client.preprocess(standardizer)

    def train(self, params, config, **kwargs):
        return self._client.train(params, config, **kwargs)


@pytest.mark.parametrize("strategy", ["fedavg", "fedsgd", "fedprox", "scaffold"])
def test_engine_talks_to_clients_only_through_messages(strategy):
    # the wrapper has no records to stack, so every reply comes through train(): the same
    # models as the vectorized executor's, to float rounding
    sites = _sites()
    options = {"mu": 0.1} if strategy == "fedprox" else {}
    plain = federated.run(_clients(sites), strategy=strategy, rounds=3, local_epochs=2,
                          random_state=1, **options)
    guarded = federated.run([OnlyMessages(c) for c in _clients(sites)], strategy=strategy,
                            rounds=3, local_epochs=2, random_state=1, **options)
    np.testing.assert_allclose(plain.params, guarded.params, rtol=0, atol=1e-10)


def test_federated_standardization_equals_pooled_statistics():
    sites = _sites(missing=True)
    clients = _clients(sites)
    scaler = federated.combine([c.feature_sums() for c in clients])
    pooled = np.vstack([X for X, _ in sites])
    np.testing.assert_allclose(scaler.mean, np.nanmean(pooled, axis=0))
    np.testing.assert_allclose(scaler.scale, np.nanstd(pooled, axis=0))
    Z = scaler.transform(pooled)
    assert not np.isnan(Z).any()
    np.testing.assert_allclose(np.nanmean(scaler.transform(pooled), axis=0), 0, atol=0.05)


def test_weighted_fedsgd_is_exactly_centralized_gradient_descent():
    # sum_k (n_k / N) grad_k = the pooled gradient, so FedSGD takes the centralized step
    sites = _sites()
    history = federated.run(_clients(sites), rounds=25, strategy="fedsgd", lr=0.5,
                            standardize=False, random_state=0)
    X = np.vstack([X for X, _ in sites])
    y = np.concatenate([y for _, y in sites])
    centralized = logistic.sgd(logistic.init_params(3), X, y, epochs=25, batch_size=None, lr=0.5)
    np.testing.assert_allclose(history.params, centralized, atol=1e-12)


def test_plain_mean_fedsgd_is_not_centralized_with_unequal_sites():
    sites = _sites()
    history = federated.run(_clients(sites), rounds=25, strategy="fedsgd", lr=0.5,
                            weighted=False, standardize=False, random_state=0)
    X = np.vstack([X for X, _ in sites])
    y = np.concatenate([y for _, y in sites])
    centralized = logistic.sgd(logistic.init_params(3), X, y, epochs=25, batch_size=None, lr=0.5)
    assert np.abs(history.params - centralized).max() > 1e-3


def test_fedavg_with_one_client_is_local_training():
    X, y = _sites(sizes=(200,))[0]
    history = federated.run([Client(X, y)], rounds=4, local_epochs=2, batch_size=None,
                            lr=0.3, standardize=False, random_state=0)
    local = logistic.sgd(logistic.init_params(3), X, y, epochs=8, batch_size=None, lr=0.3)
    np.testing.assert_allclose(history.params, local, atol=1e-12)


def test_fedavg_approaches_the_centralized_model_and_history_records_it():
    sites = _sites()
    test_sets = {f"site{k}": site for k, site in enumerate(_sites(seed=9))}
    history = federated.run(_clients(sites), rounds=30, lr=0.1, test_sets=test_sets,
                            random_state=0)
    auc = history.metric("auc")
    assert len(auc) == 31 and auc[0] == 0.5 and auc[-1] > 0.75
    assert set(history.final.sites) == set(test_sets)
    assert history.final.participants == ["site0", "site1", "site2"]


def test_bytes_on_the_wire_are_counted_per_round():
    d = 3
    history = federated.run(_clients(_sites(d=d)), rounds=2, random_state=0)
    params_bytes = 8 * (d + 1)
    # round 0: feature sums up (3 float vectors per client), standardizer down
    assert history.rounds[0].bytes_up == 3 * (3 * 8 * d)
    assert history.rounds[0].bytes_down == 3 * (2 * 8 * d)
    assert history.rounds[1].bytes_down == 3 * params_bytes
    assert history.rounds[1].bytes_up == 3 * (params_bytes + 8)
    assert history.bytes()[-1] == sum(r.bytes_up + r.bytes_down for r in history.rounds)


def test_client_fraction_and_dropout_change_who_takes_part():
    clients = [Client(X, y, name=f"c{k}") for k, (X, y) in
               enumerate(_sites(sizes=(50,) * 10))]
    sampled = federated.run(clients, rounds=5, fraction_train=0.3, random_state=0)
    assert all(len(r.participants) == 3 for r in sampled.rounds[1:])
    assert len({tuple(r.participants) for r in sampled.rounds[1:]}) > 1
    dropped = federated.run(clients, rounds=20, dropout=0.5, random_state=0)
    counts = [len(r.participants) for r in dropped.rounds[1:]]
    assert min(counts) < 10 and 3 < np.mean(counts) < 7


def test_same_seed_same_history():
    a = federated.run(_clients(_sites()), rounds=3, fraction_train=0.7, random_state=5)
    b = federated.run(_clients(_sites()), rounds=3, fraction_train=0.7, random_state=5)
    np.testing.assert_array_equal(a.params, b.params)
    c = federated.run(_clients(_sites()), rounds=3, fraction_train=0.7, random_state=6)
    assert not np.array_equal(a.params, c.params)


def test_robust_rule_and_custom_strategy_plug_in():
    class PlainMean(federated.Strategy):
        def combine(self, updates, *, rng=None):
            return np.mean([u.vector for u in updates], axis=0)

    clients = _clients(_sites())
    median = federated.run(clients, rounds=2, strategy="fedmedian", random_state=0)
    custom = federated.run(clients, rounds=2, strategy=PlainMean(), random_state=0)
    mean = federated.run(clients, rounds=2, weighted=False, random_state=0)
    np.testing.assert_allclose(custom.params, mean.params)
    assert not np.allclose(median.params, mean.params)


def test_missing_values_need_preprocessing():
    X, y = _sites(missing=True)[0]
    with pytest.raises(ValueError, match="has missing values: call preprocess"):
        federated.run([Client(X, y)], rounds=1, standardize=False)


@pytest.mark.parametrize("kwargs, match", [
    ({"rounds": -1}, "rounds must be >= 0"),
    ({"strategy": "fedmagic"}, "strategy must be one of"),
    ({"fraction_train": 0}, r"fraction_train must be in \(0, 1\]"),
    ({"fraction_train": 1.5}, r"fraction_train must be in \(0, 1\]"),
    ({"aggregate": "mean"}, "aggregate does not apply to strategy 'fedavg'"),
    ({"algorithm": "fedsgd"}, "algorithm does not apply to strategy 'fedavg'"),
    ({"strategy": "fedavg", "mu": 0.1}, "mu does not apply to strategy 'fedavg'"),
    ({"min_sites": -1}, "min_sites must be >= 0"),
    ({"dropout": 1.0}, r"dropout must be in \[0, 1\)"),
    ({"lr": 0.0}, "lr must be a finite number > 0"),
    ({"local_epochs": 0}, "local_epochs must be >= 1"),
])
def test_run_rejects_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        federated.run(_clients(_sites()), **kwargs)


def test_a_client_gives_its_own_raw_records_as_copies():
    X = np.array([[1.0, np.nan], [3.0, 4.0], [5.0, 6.0]])
    client = Client(X, [0, 1, 1], name="clinic")
    client.preprocess(federated.combine([client.feature_sums()]))
    got_X, got_y = client.records()
    np.testing.assert_array_equal(got_X, X)  # raw, NaN kept, not standardized
    np.testing.assert_array_equal(got_y, [0.0, 1.0, 1.0])
    got_X[:] = 0.0
    got_y[:] = 0.0
    np.testing.assert_array_equal(client.records()[0], X)
    assert client.feature_sums().count.tolist() == [3, 2]


def test_clients_reject_bad_records():
    with pytest.raises(ValueError, match="must hold only 0 and 1"):
        Client([[1.0], [2.0]], [0, 2], name="bad")
    with pytest.raises(ValueError, match="clients must hold at least one Client"):
        federated.run([])
    with pytest.raises(ValueError, match="same number of features"):
        federated.run([Client([[1.0]], [1]), Client([[1.0, 2.0]], [0])])


def test_roc_auc_and_log_loss_match_scikit_learn():
    from sklearn.metrics import log_loss, roc_auc_score

    from fedlab.metrics import evaluate, roc_auc

    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 500)
    score = np.round(rng.random(500), 2)  # many ties
    assert roc_auc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    X = rng.normal(size=(500, 2))
    m = evaluate([0.5, -0.2, 0.1], X, y)
    p = logistic.predict_proba([0.5, -0.2, 0.1], X)
    assert m["loss"] == pytest.approx(log_loss(y, p), rel=1e-9)
    assert m["auc"] == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert np.isnan(roc_auc(np.ones(5), np.arange(5)))


def test_a_strategy_object_can_choose_clients_combine_count_bytes_and_report_epsilon():
    class EveryOtherClient(federated.Strategy):
        def start(self, n_params, n_clients):
            super().start(n_params, n_clients)
            self.rounds = 0

        def configure_train(self, server_round, params, config, n_clients, *, rng):
            return np.arange(0, n_clients, 2), config

        def combine(self, updates, *, rng=None):
            self.rounds += 1
            return np.sum([u.vector for u in updates], axis=0) / len(updates)

        def bytes_up(self, updates):
            return 1000 * len(updates)

        def epsilon(self):
            return 0.5 * self.rounds

    clients = [Client(X, y, name=f"c{k}") for k, (X, y) in enumerate(_sites((60,) * 5))]
    history = federated.run(clients, rounds=3, strategy=EveryOtherClient(), random_state=0)
    assert history.final.participants == ["c0", "c2", "c4"]
    assert history.final.bytes_up == 3000
    np.testing.assert_allclose(history.epsilons, [np.nan, 0.5, 1.0, 1.5])


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 5)), min_size=2, max_size=60))
def test_roc_auc_equals_scikit_learn_with_any_ties(pairs):
    from sklearn.metrics import roc_auc_score

    from fedlab.metrics import roc_auc

    y, score = map(np.array, zip(*pairs))
    if len(set(y)) < 2:
        assert np.isnan(roc_auc(y, score))
    else:
        assert roc_auc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)


def test_history_is_json_ready():
    import json

    history = federated.run(_clients(_sites()), rounds=2, test_sets={"a": _sites()[0]},
                            random_state=0)
    saved = json.loads(json.dumps(history.to_dict()))
    assert saved["config"]["rounds"] == 2
    assert [r["round"] for r in saved["rounds"]] == [0, 1, 2]
    assert saved["rounds"][-1]["pooled"]["auc"] == history.final.pooled["auc"]
