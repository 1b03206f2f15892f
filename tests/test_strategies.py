"""Every strategy: runs through federated.run, same seed same bits, cites its paper; references."""

import inspect

import numpy as np
import pytest

from fedlab import federated
from fedlab.federated import Client, Update
from fedlab.models import logistic
from fedlab.privacy import DPFedAvg, DPSGDClient
from fedlab.secagg import SecureFedAvg


def _sites(sizes=(300, 120, 60, 40, 30), d=3, seed=0):
    rng = np.random.default_rng(seed)
    sites = []
    for k, n in enumerate(sizes):
        X = rng.normal(loc=0.3 * k, size=(n, d))
        y = (rng.random(n) < 1 / (1 + np.exp(-(X[:, 0] - 0.5 * k)))).astype(int)
        sites.append((X, y))
    return sites


def _clients(cls=Client, **kw):
    return [cls(X, y, name=f"site{k}", **kw) for k, (X, y) in enumerate(_sites())]


EXPORTED = [getattr(federated, name) for name in federated.__all__
            if inspect.isclass(getattr(federated, name))
            and issubclass(getattr(federated, name), federated.Strategy)
            and getattr(federated, name) is not federated.Strategy]


def _make(cls):
    if cls is federated.Krum:
        return cls(num_malicious=1)
    return cls()


ALL = [*((cls.__name__, lambda cls=cls: _make(cls)) for cls in EXPORTED),
       ("DPFedAvg", lambda: DPFedAvg(noise_multiplier=1.0, clip_norm=0.5, sample_rate=0.6)),
       ("SecureFedAvg", lambda: SecureFedAvg(threshold=0.7))]


def test_every_name_builds_its_class():
    """The registry is derived from the classes: each public fedlab strategy by its name."""
    import fedlab.privacy
    import fedlab.secagg

    expected = {c.__name__.lower(): c for c in EXPORTED}
    expected.update(dpsgd=fedlab.privacy.DPSGD, dpfedavg=DPFedAvg, securefedavg=SecureFedAvg)
    assert federated.STRATEGY_NAMES == expected

    class Mine(federated.FedAvg):  # a user's own subclass is not registered
        pass
    assert "mine" not in federated.STRATEGY_NAMES


@pytest.mark.parametrize("name, make", ALL, ids=[n for n, _ in ALL])
def test_every_strategy_runs_and_is_deterministic_bit_for_bit(name, make):
    runs = [federated.run(_clients(), strategy=make(), rounds=4, local_epochs=2,
                          test_sets={"a": _sites()[0]}, random_state=7) for _ in range(2)]
    assert np.isfinite(runs[0].params).all()
    np.testing.assert_array_equal(runs[0].params, runs[1].params)
    if not isinstance(make(), federated.FedSGD):  # full-batch gradients: nothing to seed
        other = federated.run(_clients(), strategy=make(), rounds=4, local_epochs=2,
                              random_state=8)
        assert not np.array_equal(runs[0].params, other.params)


@pytest.mark.parametrize("name, make", ALL, ids=[n for n, _ in ALL])
def test_every_strategy_cites_its_paper_and_says_what_the_server_learns(name, make):
    doc = inspect.getdoc(type(make()))
    assert "References" in doc and any(str(y) in doc for y in range(2016, 2022))
    assert "server learns" in doc


@pytest.mark.parametrize("algorithm", ["fedavg", "fedsgd"])
def test_dp_sgd_clients_follow_the_seed(algorithm):
    # FedSGD with DPSGDClient once drew its noise from an unseeded generator
    def once():
        clients = _clients(DPSGDClient, noise_multiplier=1.0, clip_norm=1.0)
        return federated.run(clients, strategy=algorithm, rounds=3, random_state=0).params
    np.testing.assert_array_equal(once(), once())


def test_a_strategy_object_takes_no_further_strategy_parameters():
    with pytest.raises(ValueError, match="fraction_train cannot be combined with a strategy"):
        federated.run(_clients(), strategy=DPFedAvg(noise_multiplier=1.0, clip_norm=1.0,
                                                    sample_rate=0.5), fraction_train=0.5)
    with pytest.raises(ValueError, match="cannot be combined with a strategy object"):
        federated.run(_clients(), strategy=federated.FedAvg(), mu=0.1)


def test_fedprox_with_mu_zero_is_fedavg():
    a = federated.run(_clients(), strategy=federated.FedProx(mu=0.0), rounds=3, random_state=1)
    b = federated.run(_clients(), strategy=federated.FedAvg(), rounds=3, random_state=1)
    np.testing.assert_array_equal(a.params, b.params)


def test_scaffold_with_one_client_is_plain_local_sgd():
    X, y = _sites()[0]
    history = federated.run([Client(X, y)], strategy=federated.Scaffold(), rounds=3,
                            local_epochs=2, batch_size=50, lr=0.1, standardize=False,
                            random_state=3)
    rng = np.random.default_rng(3).spawn(1)[0]
    theta = logistic.init_params(X.shape[1])
    for _ in range(3):
        theta = logistic.sgd(theta, X, y, epochs=2, batch_size=50, lr=0.1, random_state=rng)
    np.testing.assert_allclose(history.params, theta, atol=1e-10)


def test_scaffold_control_variates_follow_option_two_of_the_paper():
    # two clients, full-batch local steps: c_i+ = c_i - c + (x - y_i) / (K lr), and
    # c <- c + mean over all N clients of (c_i+ - c_i)
    sites = _sites()[:2]
    clients = [Client(X, y, name=str(k)) for k, (X, y) in enumerate(sites)]
    strategy = federated.Scaffold()
    federated.run(clients, strategy=strategy, rounds=1, local_epochs=3, batch_size=None,
                  lr=0.2, standardize=False, random_state=0)
    expected = []
    for X, y in sites:
        theta = logistic.sgd(np.zeros(4), X, y, epochs=3, batch_size=None, lr=0.2)
        expected.append((np.zeros(4) - theta) / (3 * 0.2))  # c_i+ with c = c_i = 0
    np.testing.assert_allclose(strategy.control, np.mean(expected, axis=0), atol=1e-12)


def test_fedadam_matches_a_hand_written_adam_on_the_mean_update():
    rng = np.random.default_rng(0)
    deltas = rng.normal(size=(5, 3))
    s = federated.FedAdam(server_lr=0.05, beta_1=0.8, beta_2=0.95, tau=1e-3)
    s.start(3, 1)
    theta, m, v = np.zeros(3), np.zeros(3), np.zeros(3)
    expected = theta.copy()
    for t, d in enumerate(deltas, start=1):
        theta = s.aggregate_train(t, theta, [Update("a", d, 1)], rng=None)
        m = 0.8 * m + 0.2 * d
        v = 0.95 * v + 0.05 * d * d
        expected = expected + 0.05 * (m / (1 - 0.8 ** t)) / (np.sqrt(v / (1 - 0.95 ** t)) + 1e-3)
    np.testing.assert_allclose(theta, expected, rtol=1e-12)


def test_fedyogi_and_fedadagrad_second_moments():
    d = np.array([0.5, -2.0])
    yogi, ada = federated.FedYogi(beta_2=0.9, tau=0.1), federated.FedAdagrad(tau=0.1)
    for s in (yogi, ada):
        s.start(2, 1)
        s.aggregate_train(1, np.zeros(2), [Update("a", d, 1)], rng=None)
    v0 = np.full(2, 0.01)
    np.testing.assert_allclose(yogi.v, v0 - 0.1 * d**2 * np.sign(v0 - d**2))
    np.testing.assert_allclose(ada.v, v0 + d**2)


def test_fedavgm_with_zero_momentum_is_fedavg():
    a = federated.run(_clients(), strategy=federated.FedAvgM(server_momentum=0.0), rounds=3,
                      random_state=2)
    b = federated.run(_clients(), strategy="fedavg", rounds=3, random_state=2)
    np.testing.assert_allclose(a.params, b.params, atol=1e-15)


def test_krum_and_multikrum_and_robust_rules():
    vectors = [np.array([v]) for v in (0.0, 0.1, 0.15, 0.3, 50.0)]
    ups = [Update(str(k), v, 1) for k, v in enumerate(vectors)]
    assert federated.Krum(num_malicious=1).combine(ups)[0] == 0.1
    assert federated.Krum(num_malicious=1, num_to_keep=3).combine(ups)[0] == pytest.approx(
        (0.0 + 0.1 + 0.15) / 3)
    with pytest.raises(ValueError, match=r"m >= 2f \+ 3"):
        federated.Krum(num_malicious=2).combine(ups[:6])
    assert federated.FedMedian().combine(ups)[0] == 0.15
    with pytest.raises(ValueError, match=r"beta must be in \[0, 0.5\)"):
        federated.FedTrimmedAvg(beta=0.5)


@pytest.mark.parametrize("kwargs, match", [
    ({"server_momentum": 1.0}, r"server_momentum must be in \[0, 1\)"),
    ({"server_lr": float("nan")}, "server_lr must be a finite number > 0"),
    ({"server_lr": -1.0}, "server_lr must be a finite number > 0"),
])
def test_strategies_reject_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        federated.FedAvgM(**kwargs)


def test_run_server_lr_shortcut_is_validated():
    with pytest.raises(ValueError, match="server_lr must be a finite number > 0"):
        federated.run(_clients(), server_lr=float("nan"))


def test_importing_the_round_loop_does_not_import_scipy():
    # scipy.special once cost 0.3 s of every `import fedlab.federated` for one sigmoid
    import subprocess
    import sys

    code = "import sys, fedlab.federated; print('scipy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_an_option_a_strategy_does_not_take_is_a_clear_error():
    with pytest.raises(ValueError, match="weighted does not apply to strategy 'qfedsgd'"):
        federated.make_strategy("qfedsgd", weighted=False)
    with pytest.raises(ValueError, match="server_momentum does not apply to strategy 'fedavg'"):
        federated.run(_clients(), strategy="fedavg", server_momentum=0.9)


def test_private_and_secure_strategies_are_found_by_name_without_importing_their_packages():
    import subprocess
    import sys

    code = ("from fedlab.federated import make_strategy; "
            "print(*(type(make_strategy(n, noise_multiplier=1.0) if n != 'securefedavg' "
            "else make_strategy(n)).__name__ for n in ('dpsgd', 'dpfedavg', 'securefedavg')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["DPSGD", "DPFedAvg", "SecureFedAvg"]
