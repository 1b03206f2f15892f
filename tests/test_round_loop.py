"""The one round loop: refused replies, min_sites, inputs left alone, per-method seeds,
declarations the loop and secure aggregation read."""

import inspect

import numpy as np
import pytest

from fedlab import baselines, data, federated
from fedlab.federated import Client, Update
from fedlab.privacy import DPFedAvg
from fedlab.secagg import SecureFedAvg


def _sites(sizes=(200, 90, 60, 50, 40, 45), d=3, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for k, n in enumerate(sizes):
        X = rng.normal(loc=0.2 * k, size=(n, d))
        y = (rng.random(n) < 1 / (1 + np.exp(-(X[:, 0] - 0.3 * k)))).astype(int)
        out.append((X, y))
    return out


class NaNClient(Client):
    """A site whose reply holds a NaN in one entry (a broken export)."""

    def stacked_records(self):
        return None

    def train(self, params, config, *, state=None, random_state=None):
        u = super().train(params, config, state=state, random_state=random_state)
        vector = u.vector.copy()
        vector[1] = np.nan
        return Update(self.name, vector, u.n_samples, u.metrics, u.arrays)


def _clients(bad=None, sites=None):
    sites = sites or _sites()
    return [(NaNClient if k == bad else Client)(X, y, name=f"s{k}")
            for k, (X, y) in enumerate(sites)]


def _make(cls):
    """A strategy with its required parameters (Krum's f, DP's noise) set."""
    if cls is federated.Krum:
        return cls(num_malicious=1)
    required = [k for k, v in cls.param_defaults().items() if v is inspect.Parameter.empty]
    return cls(**{k: 0.5 for k in required})


STRATEGIES = {name: (lambda cls=cls: _make(cls)) for name, cls in federated.STRATEGY_NAMES.items()}
STRATEGIES["dpfedavg"] = lambda: DPFedAvg(noise_multiplier=0.5, clip_norm=1.0, sample_rate=1.0)
STRATEGIES["securefedavg"] = lambda: SecureFedAvg()
STRATEGIES["secure scaffold"] = lambda: SecureFedAvg(inner=federated.Scaffold())


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_a_nan_update_is_refused_by_every_strategy_and_named(name):
    """One site's NaN never reaches aggregation: the model is the one without that site's
    reply, whatever the strategy (and a robust rule does not depend on where it sorts)."""
    history = federated.run(_clients(bad=2), strategy=STRATEGIES[name](), rounds=3,
                            random_state=4)
    assert np.isfinite(history.params).all()
    for record in history.rounds[1:]:
        assert "s2" not in record.participants
        assert list(record.refused) == ["s2"] and "non-finite" in record.refused["s2"]


def test_without_the_refused_site_the_model_is_the_others_fedavg():
    # SCAFFOLD's and FedAvg's sums over the four others equal a run whose site 2 sends
    # nothing: here, a run where it drops out every round is the same federation
    strategy = federated.FedAvg()
    refused = federated.run(_clients(bad=2), strategy=strategy, rounds=2, random_state=1)
    sites = _sites()
    clients = [Client(X, y, name=f"s{k}") for k, (X, y) in enumerate(sites)]

    class WithoutTwo(federated.FedAvg):
        def aggregate_train(self, server_round, params, updates, *, rng):
            keep = [k for k, c in enumerate(updates.clients) if c != "s2"]
            return super().aggregate_train(server_round, params, updates.take(keep), rng=rng)

    expected = federated.run(clients, strategy=WithoutTwo(), rounds=2, random_state=1)
    np.testing.assert_array_equal(refused.params, expected.params)


def test_too_few_sites_stop_the_run_with_a_clear_error():
    with pytest.raises(federated.TooFewSites,
                       match=r"site 's2' was refused \(non-finite.*round 1; 5 sites took part"
                             r".*fewer than min_sites=6: the run stops"):
        federated.run(_clients(bad=2), rounds=3, min_sites=6, random_state=0)
    # dropouts count too
    with pytest.raises(federated.TooFewSites, match="dropped out in round"):
        federated.run(_clients(), rounds=20, dropout=0.5, min_sites=5, random_state=0)


def test_a_robust_rule_refuses_nan_itself_whatever_its_position():
    ups = [Update(str(k), np.array([v, 1.0]), 1) for k, v in enumerate((0.0, np.nan, 1.0))]
    for strategy in (federated.FedMedian(), federated.FedTrimmedAvg(beta=0.2),
                     federated.Krum(num_malicious=0)):
        with pytest.raises(ValueError, match="update vectors must be finite"):
            strategy.combine(ups)


def test_run_leaves_its_clients_as_it_found_them():
    sites = _sites()
    clients = [Client(X * 100 + 5, y, name=f"s{k}") for k, (X, y) in enumerate(sites)]
    federated.run(clients, rounds=2, random_state=0)  # standardizes for its rounds only
    raw_again = federated.run(clients, rounds=2, standardize=False, random_state=0)
    fresh = [Client(X * 100 + 5, y, name=f"s{k}") for k, (X, y) in enumerate(sites)]
    raw_fresh = federated.run(fresh, rounds=2, standardize=False, random_state=0)
    np.testing.assert_array_equal(raw_again.params, raw_fresh.params)
    assert all(c.preprocessing is None for c in clients)
    # a client's own preprocessing is kept
    own = federated.combine([clients[0].feature_sums()])
    clients[0].preprocess(own)
    federated.run(clients, rounds=1, random_state=0)
    assert clients[0].preprocessing is own


def test_a_methods_result_does_not_depend_on_which_other_methods_ran():
    hospitals = data.load_hospitals()[:3]
    kw = dict(rounds=3, random_state=5)
    alone = baselines.compare(hospitals, strategies=["fedprox"], **kw)
    more = baselines.compare(hospitals, strategies=["scaffold", "fedadam", "fedprox"], **kw)
    for method in ("fedavg (mean)", "fedavg (weighted)", "fedprox"):
        assert alone["methods"][method] == more["methods"][method]
    # and "fedavg (weighted)" is a fresh run seeded by its name
    history = federated.run([Client.from_hospital(h) for h in hospitals], rounds=3,
                            l2=baselines.DEFAULTS["l2"], test_sets=hospitals,
                            random_state=federated.method_seed(5, "fedavg (weighted)"))
    site = hospitals[0].name
    assert alone["methods"]["fedavg (weighted)"]["sites"][site]["loss"] == pytest.approx(
        history.final.sites[site]["loss"], rel=0, abs=1e-15)


def test_method_seeds_are_stable_and_distinct():
    a, b = federated.method_seed(2026, "fedprox"), federated.method_seed(2026, "fedprox")
    assert a.generate_state(4).tolist() == b.generate_state(4).tolist()
    assert a.generate_state(4).tolist() != federated.method_seed(2026, "scaffold").generate_state(
        4).tolist()
    assert a.generate_state(4).tolist() != federated.method_seed(2027, "fedprox").generate_state(
        4).tolist()


def test_strategies_that_only_sum_run_under_secure_aggregation_with_each_sum_masked():
    clients = _clients
    for inner in (federated.Scaffold(), federated.Scaffold(weighted=True), federated.FedNova(),
                  federated.FedProx(mu=0.1), federated.FedAdam()):
        plain = federated.run(clients(), strategy=type(inner)(**inner.get_params()), rounds=3,
                              random_state=2)
        secure = federated.run(clients(), strategy=SecureFedAvg(inner=inner), rounds=3,
                               random_state=2)
        np.testing.assert_allclose(secure.params, plain.params, rtol=0, atol=1e-6,
                                   err_msg=repr(inner))


def test_a_strategy_that_needs_each_update_is_refused_under_secure_aggregation():
    for strategy in (federated.FedMedian(), federated.Krum(), federated.CosineFilter(),
                     federated.NormBounding(), federated.FedTrimmedAvg()):
        assert strategy.summed_arrays is None
        with pytest.raises(ValueError, match="needs each update in the clear"):
            SecureFedAvg(inner=strategy)
        with pytest.raises(ValueError, match="needs each update in the clear"):
            federated.RoundLoop(strategy, rounds=1, config={}, secure=True)


def test_declarations():
    assert federated.Scaffold.client_state == ("control",)
    assert federated.Scaffold.reply_arrays == ("control",)
    assert "control" in federated.Scaffold.summed_arrays
    assert federated.FedNova.reads_local_steps
    assert federated.FedAvg.summed_arrays == ("vector", "weight")
    # FedNova reads tau from the reply, not from the instructions it sent
    s = federated.FedNova()
    s.start(1, 2)
    ups = [Update("a", np.array([1.0]), 10, {"local_steps": 1}),
           Update("b", np.array([1.5]), 30, {"local_steps": 3})]
    np.testing.assert_allclose(s.aggregate_train(1, np.zeros(1), ups, rng=None), [1.5625])
    with pytest.raises(ValueError, match="local_steps"):
        s.aggregate_train(1, np.zeros(1), [Update("a", np.array([1.0]), 10)], rng=None)


def test_repr_and_config_show_every_parameter():
    for cls in federated.STRATEGY_NAMES.values():
        strategy = _make(cls)
        defaults = cls.param_defaults()
        assert list(strategy.get_params()) == list(defaults)
        assert all(f"{k}=" in repr(strategy) for k in defaults)
    history = federated.run(_clients(), strategy=federated.FedAvgM(server_momentum=0.5),
                            rounds=1, random_state=0)
    assert history.config["strategy_params"] == {
        "server_momentum": 0.5, "server_lr": 1.0, "fraction_train": 1.0, "weighted": True}


def test_training_defaults_live_in_one_place():
    import inspect

    run = inspect.signature(federated.run).parameters
    for key, value in federated.TRAINING_DEFAULTS.items():
        assert run[key].default == value
        assert baselines.DEFAULTS[key] == value
