"""fedlab.models: every model honours the protocol the round loop, DP-SGD and attacks use."""

import numpy as np
import pytest

from fedlab import federated, privacy
from fedlab.metrics import Evaluator, roc_auc
from fedlab.models import MLP, MODEL_NAMES, CoxPH, LogisticRegression, Model, make_model
from fedlab.secagg import SecureFedAvg

BINARY_MODELS = [LogisticRegression(), MLP(hidden=5), MLP(hidden=3, activation="relu")]


class ToyExponential(Model):
    """A survival model of the Cox model's kind, for the plumbing only.

    Exponential survival with rate ``exp(x . beta)`` (no intercept): the mean negative
    log-likelihood is ``mean(exp(x . beta) t - event x . beta)``. It declares what the
    Cox model declares: no per-example gradients, full-batch local steps.
    """

    name = "toy-exponential"
    outcome = "survival"
    supports_per_example = False
    full_batch = True

    def n_params(self, n_features):
        return n_features

    def init_params(self, n_features, *, random_state=None):
        return np.zeros(n_features)

    def loss(self, params, X, y, *, l2=0.0):
        X, y = self.check_data(X, y)
        eta = X @ params
        return float(np.mean(np.exp(eta) * y[:, 0] - y[:, 1] * eta) + 0.5 * l2 * params @ params)

    def gradient(self, params, X, y, *, l2=0.0):
        X, y = self.check_data(X, y)
        eta = X @ params
        return X.T @ (np.exp(eta) * y[:, 0] - y[:, 1]) / len(X) + l2 * np.asarray(params)

    def predict(self, params, X):
        return np.asarray(X, dtype=float) @ params

    def evaluate(self, params, X, y):
        risk, (time, event) = self.predict(params, X), np.asarray(y, dtype=float).T
        comparable = (time[:, None] < time[None, :]) & (event[:, None] == 1)
        concordant = (risk[:, None] > risk[None, :]) + 0.5 * (risk[:, None] == risk[None, :])
        return {"loss": self.loss(params, X, y),
                "c_index": float(concordant[comparable].mean())}


def _binary_sites(n_sites=3, n=60, d=3, seed=0):
    rng = np.random.default_rng(seed)
    w = np.array([1.5, -1.0, 0.5])[:d]
    sites = []
    for k in range(n_sites):
        X = rng.normal(size=(n + 15 * k, d))
        y = (rng.random(len(X)) < 1 / (1 + np.exp(-(X @ w)))).astype(float)
        sites.append((X, y))
    return sites


def _survival_sites(n_sites=3, n=50, seed=0):
    rng = np.random.default_rng(seed)
    sites = []
    for k in range(n_sites):
        X = rng.normal(size=(n + 10 * k, 2))
        event_time = rng.exponential(1 / np.exp(X @ [0.8, -0.5]))
        censor = rng.exponential(2.0, size=len(X))
        y = np.column_stack([np.minimum(event_time, censor), event_time <= censor]) * 1.0
        sites.append((X, y))
    return sites


def _clients(sites, model):
    return [federated.Client(X, y, name=f"site{k}", model=model)
            for k, (X, y) in enumerate(sites)]


def _numeric_gradient(model, params, X, y, l2, eps=1e-6):
    return np.array([(model.loss(params + eps * e, X, y, l2=l2)
                      - model.loss(params - eps * e, X, y, l2=l2)) / (2 * eps)
                     for e in np.eye(len(params))])


@pytest.mark.parametrize("model", BINARY_MODELS + [ToyExponential()], ids=repr)
def test_gradient_equals_central_finite_differences(model):
    sites = _survival_sites() if model.outcome == "survival" else _binary_sites()
    X, y = sites[0]
    params = model.init_params(X.shape[1], random_state=1)
    params = params + 0.3 * np.random.default_rng(2).normal(size=params.shape)
    for l2 in (0.0, 0.1):
        np.testing.assert_allclose(model.gradient(params, X, y, l2=l2),
                                   _numeric_gradient(model, params, X, y, l2),
                                   rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("model", BINARY_MODELS, ids=repr)
def test_per_example_gradients_average_to_the_gradient(model):
    X, y = _binary_sites()[1]
    params = model.init_params(X.shape[1], random_state=3) + 0.1
    per_example = model.per_example_gradients(params, X, y)
    assert per_example.shape == (len(y), model.n_params(X.shape[1]))
    np.testing.assert_allclose(per_example.mean(axis=0), model.gradient(params, X, y),
                               rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("model", BINARY_MODELS, ids=repr)
def test_penalty_gradient_is_the_penalty_part_of_the_gradient(model):
    X, y = _binary_sites()[0]
    params = model.init_params(X.shape[1], random_state=4) + 0.2
    np.testing.assert_allclose(
        model.gradient(params, X, y, l2=0.3) - model.gradient(params, X, y),
        model.penalty_gradient(params, l2=0.3), atol=1e-14)


def test_a_model_without_per_example_gradients_says_so():
    X, y = _survival_sites()[0]
    with pytest.raises(ValueError, match="has no per-example gradients"):
        ToyExponential().per_example_gradients(np.zeros(2), X, y)


@pytest.mark.parametrize("model", BINARY_MODELS + [ToyExponential()], ids=repr)
def test_weighted_fedsgd_equals_centralized_full_batch_gradient_descent(model):
    # One full-batch gradient per client per round, averaged with weights n_k / n, is the
    # gradient of the pooled mean loss: FedSGD is gradient descent on the pooled records.
    sites = _survival_sites() if model.outcome == "survival" else _binary_sites()
    lr, rounds, l2 = 0.3, 15, 0.01
    history = federated.run(_clients(sites, model), strategy="fedsgd", rounds=rounds, lr=lr,
                            l2=l2, standardize=False, random_state=5)
    X = np.vstack([X for X, _ in sites])
    y = np.concatenate([y for _, y in sites])
    theta = federated.run(_clients(sites, model), rounds=0, standardize=False,
                          random_state=5).params  # the run's own starting point
    for _ in range(rounds):
        theta = theta - lr * model.gradient(theta, X, y, l2=l2)
    np.testing.assert_allclose(history.params, theta, rtol=1e-9, atol=1e-12)


def test_run_starts_from_the_model_s_initialization_drawn_from_the_seed():
    sites = _binary_sites()
    a = federated.run(_clients(sites, MLP(hidden=4)), rounds=0, random_state=3)
    b = federated.run(_clients(sites, MLP(hidden=4)), rounds=0, random_state=3)
    c = federated.run(_clients(sites, MLP(hidden=4)), rounds=0, random_state=4)
    np.testing.assert_array_equal(a.params, b.params)
    assert not np.array_equal(a.params, c.params)
    assert np.any(a.params != 0)


STRATEGIES = sorted({*federated.STRATEGY_NAMES, "dpsgd", "dpfedavg", "securefedavg"})


def _strategy(name):
    if name == "dpfedavg":
        return privacy.DPFedAvg(noise_multiplier=0.5, clip_norm=1.0, sample_rate=0.5)
    if name == "securefedavg":
        return SecureFedAvg()
    if name == "dpsgd":
        return privacy.DPSGD(noise_multiplier=0.5)
    return name


@pytest.mark.parametrize("name", STRATEGIES)
@pytest.mark.parametrize("model", [LogisticRegression(), MLP(hidden=4), ToyExponential()],
                         ids=repr)
def test_every_model_runs_under_every_strategy(model, name):
    sites = _survival_sites(5) if model.outcome == "survival" else _binary_sites(5)
    test = {"all": (np.vstack([X for X, _ in sites]), np.concatenate([y for _, y in sites]))}
    if name == "dpsgd" and not model.supports_per_example:  # refused, with the reason
        with pytest.raises(ValueError, match="needs per-example gradients"):
            federated.run(_clients(sites, model), strategy=_strategy(name), rounds=1)
        return
    history = federated.run(_clients(sites, model), strategy=_strategy(name), rounds=3,
                            lr=0.05, test_sets=test, random_state=0)
    assert history.params.shape == (model.n_params(sites[0][0].shape[1]),)
    assert np.all(np.isfinite(history.params))
    metric = "c_index" if model.outcome == "survival" else "auc"
    assert np.isfinite(history.final.pooled[metric])


def test_mlp_learns_a_separable_toy_set():
    # A ring: no linear model separates it, a small network does.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 2))
    y = (np.hypot(X[:, 0], X[:, 1]) > 1.2).astype(float)
    sites = [(X[k::3], y[k::3]) for k in range(3)]
    test = {"all": (X, y)}
    net = federated.run(_clients(sites, MLP(hidden=8)), rounds=60, lr=0.5, test_sets=test,
                        random_state=0)
    linear = federated.run(_clients(sites, LogisticRegression()), rounds=60, lr=0.5,
                           test_sets=test, random_state=0)
    assert net.final.pooled["auc"] > 0.97
    assert linear.final.pooled["auc"] < 0.7


@pytest.mark.parametrize("model", BINARY_MODELS + [ToyExponential()], ids=repr)
def test_stacked_train_gives_each_client_its_local_train(model):
    sites = _survival_sites() if model.outcome == "survival" else _binary_sites()
    start = model.init_params(sites[0][0].shape[1], random_state=0) + 0.05
    corrections = np.full((len(sites), len(start)), 0.01)
    options = dict(epochs=2, batch_size=16, lr=0.2, l2=0.01, mu=0.3)
    fast, losses = model.stacked_train(sites, start, corrections=corrections,
                                       rngs=[np.random.default_rng(k) for k in range(3)],
                                       return_loss=True, **options)
    for k, (X, y) in enumerate(sites):
        slow = model.local_train(start, X, y, corrections=corrections[k], random_state=k,
                                 **options)
        np.testing.assert_allclose(fast[k], slow, rtol=0, atol=1e-10)
        assert losses[k] == pytest.approx(model.loss(slow, X, y, l2=0.01), rel=1e-10)


def test_a_full_batch_model_ignores_the_batch_size_and_draws_nothing():
    X, y = _survival_sites()[0]
    model = ToyExponential()
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    a = model.local_train(np.zeros(2), X, y, epochs=3, batch_size=8, random_state=rng)
    assert rng.bit_generator.state == state
    b = model.local_train(np.zeros(2), X, y, epochs=3, batch_size=None)
    np.testing.assert_array_equal(a, b)
    assert model.local_steps(len(y), epochs=3, batch_size=8) == 3
    client = federated.Client(X, y, model=model)
    assert client.local_steps({"epochs": 3, "batch_size": 8}) == 3


def test_record_level_dp_refuses_a_model_without_per_example_gradients():
    X, y = _survival_sites()[0]
    with pytest.raises(ValueError, match="record-level DP-SGD needs per-example gradients"):
        privacy.DPSGDClient(X, y, noise_multiplier=1.0, clip_norm=1.0, model=ToyExponential())
    with pytest.raises(ValueError, match="record-level DP-SGD needs per-example gradients"):
        privacy.dp_sgd(np.zeros(2), X, y, noise_multiplier=1.0, clip_norm=1.0,
                       model=ToyExponential())


def test_dp_sgd_trains_a_network_with_per_example_clipping():
    X, y = _binary_sites(n=300)[0]
    net = MLP(hidden=4)
    start = net.init_params(3, random_state=0)
    theta, accountant = privacy.dp_sgd(start, X, y, noise_multiplier=0.0, clip_norm=1e9,
                                       batch_size=300, steps=1, lr=0.5, model=net)
    # no clipping, no noise, every record: one plain gradient step
    np.testing.assert_allclose(theta, start - 0.5 * net.gradient(start, X, y), atol=1e-12)
    clients = [privacy.DPSGDClient(X, y, noise_multiplier=1.0, clip_norm=1.0, model=net,
                                   name=f"s{k}") for k in range(2)]
    history = federated.run(clients, rounds=2, random_state=0)
    assert np.all(np.isfinite(history.params)) and clients[0].accountant.steps > 0


def test_clients_check_the_outcome_their_model_takes():
    X, y = _survival_sites()[0]
    with pytest.raises(ValueError, match=r"must have shape \(50, 2\) for a survival model"):
        federated.Client(X, y[:, 0], name="s", model=ToyExponential())
    with pytest.raises(ValueError, match="events .* must hold only 0 and 1"):
        federated.Client(X, np.column_stack([y[:, 0], 2 * y[:, 1]]), model=ToyExponential())
    with pytest.raises(ValueError, match="must be 1-D with one label per record"):
        federated.Client(X, y, name="s")
    with pytest.raises(ValueError, match="model must be a fedlab.models.Model"):
        federated.Client(X, y[:, 1], model="mlp")


def test_a_run_refuses_clients_with_different_models():
    sites = _binary_sites()
    clients = [federated.Client(*sites[0], name="a", model=MLP(hidden=4)),
               federated.Client(*sites[1], name="b", model=MLP(hidden=5))]
    with pytest.raises(ValueError, match="every client of a run must hold the same model"):
        federated.run(clients, rounds=1)


def test_the_evaluator_scores_with_the_model_s_metrics():
    sites = _survival_sites()
    model = ToyExponential()
    pooled, per_site = Evaluator({"a": sites[0], "b": sites[1]}, model=model)(np.array([0.8,
                                                                                       -0.5]))
    assert set(pooled) == {"loss", "c_index"} and pooled["c_index"] > 0.6
    X, y = _binary_sites()[0]
    net = MLP(hidden=3)
    params = net.init_params(3, random_state=0)
    pooled, _ = Evaluator({"a": (X, y)}, model=net)(params)
    assert pooled["auc"] == pytest.approx(roc_auc(y, net.predict(params, X)))


def test_registry_is_derived_from_the_classes():
    assert MODEL_NAMES == {"logistic": LogisticRegression, "mlp": MLP, "cox": CoxPH}
    assert make_model("mlp", hidden=3, activation="relu") == MLP(hidden=3, activation="relu")
    assert repr(make_model("mlp")) == "MLP(hidden=8, activation='tanh')"
    with pytest.raises(ValueError, match="model must be one of"):
        make_model("forest")
    with pytest.raises(ValueError, match="model 'mlp' takes"):
        make_model("mlp", depth=3)
    with pytest.raises(ValueError, match="activation must be one of"):
        MLP(activation="sigmoid")
    with pytest.raises(ValueError, match="hidden must be >= 1"):
        MLP(hidden=0)


def test_mlp_parameter_layout_is_w1_b1_w2_b2():
    net = MLP(hidden=2)
    params = np.arange(net.n_params(3), dtype=float)
    W1, b1, w2, b2 = net.unpack(params, 3)
    np.testing.assert_array_equal(W1, [[0, 1], [2, 3], [4, 5]])
    np.testing.assert_array_equal(b1, [6, 7])
    np.testing.assert_array_equal(w2, [8, 9])
    assert b2 == 10
    X = np.array([[0.5, -1.0, 2.0]])
    expected = 1 / (1 + np.exp(-(np.tanh(X @ W1 + b1) @ w2 + b2)))
    np.testing.assert_allclose(net.predict(params, X), expected)
