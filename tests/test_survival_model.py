"""CoxPH on the model protocol: exact gradient, FedSGD = centralized descent, DP refusals."""

import numpy as np
import pytest

from fedlab import federated
from fedlab._validation import InvalidParameterError
from fedlab.federated import Client
from fedlab.models import CoxPH, Model, make_model
from fedlab.privacy import DPFedAvg, DPSGDClient, dp_sgd
from fedlab.survival import CoxSite, fit_federated_cox

phreg = pytest.importorskip("statsmodels.duration.hazard_regression")


def _sites(seed=0, sizes=(120, 200, 80), p=3):
    rng = np.random.default_rng(seed)
    out = []
    for k, n in enumerate(sizes):
        X = rng.normal(size=(n, p))
        event_time = rng.exponential((2 + k) * np.exp(-X @ np.linspace(0.8, -0.5, p)))
        censor = rng.uniform(0.5, 6, n)
        time = np.ceil(np.minimum(event_time, censor) * 4) / 4  # ties
        out.append((X, np.c_[time, (event_time <= censor).astype(float)]))
    return out


@pytest.mark.parametrize("ties", ["breslow", "efron"])
@pytest.mark.parametrize("l2", [0.0, 0.3])
def test_gradient_equals_finite_differences_of_the_loss(ties, l2):
    X, y = _sites(1)[0]
    model = CoxPH(ties=ties)
    b = np.array([0.4, -0.3, 0.2])
    grad = model.gradient(b, X, y, l2=l2)
    h = 1e-6
    numeric = [(model.loss(b + h * e, X, y, l2=l2) - model.loss(b - h * e, X, y, l2=l2)) / (2 * h)
               for e in np.eye(3)]
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


def test_local_training_gives_the_bits_of_the_protocols_plain_loop():
    X, y = _sites(9)[1]
    model = CoxPH(ties="efron")
    start = np.array([0.1, -0.2, 0.3])
    options = dict(epochs=7, batch_size=16, lr=0.3, l2=0.05, mu=0.2, anchor=np.zeros(3),
                   corrections=np.array([0.01, -0.02, 0.0]), random_state=0)
    np.testing.assert_array_equal(model.local_train(start, X, y, **options),
                                  Model.local_train(model, start, X, y, **options))


def test_loss_is_the_sites_negative_log_partial_likelihood_over_its_records():
    X, y = _sites(2)[0]
    b = np.array([0.1, 0.2, -0.1])
    ref = phreg.PHReg(y[:, 0], X, status=y[:, 1], ties="efron").loglike(b)
    np.testing.assert_allclose(CoxPH(ties="efron").loss(b, X, y, l2=0.5),
                               -ref / len(y) + 0.25 * b @ b, rtol=1e-12)


def _stratified_gd(sites, *, rounds, lr, l2):
    """Centralized full-batch gradient descent on the pooled site-stratified likelihood."""
    X = np.vstack([X for X, _ in sites])
    y = np.vstack([y for _, y in sites])
    strata = np.repeat(np.arange(len(sites)), [len(y) for _, y in sites])
    model = phreg.PHReg(y[:, 0], X, status=y[:, 1], strata=strata, ties="breslow")
    b = np.zeros(X.shape[1])
    for _ in range(rounds):
        b = b - lr * (-model.score(b) / len(y) + l2 * b)
    return b


def test_weighted_fedsgd_is_centralized_gradient_descent_on_the_stratified_likelihood():
    sites = _sites(3)
    clients = [Client(X, y, name=f"h{k}", model=CoxPH()) for k, (X, y) in enumerate(sites)]
    history = federated.run(clients, strategy="fedsgd", rounds=25, lr=0.5, l2=0.01,
                            standardize=False, random_state=0)
    np.testing.assert_allclose(history.params, _stratified_gd(sites, rounds=25, lr=0.5,
                                                              l2=0.01), atol=1e-10)


def test_fedavg_of_one_full_batch_step_is_fedsgd_and_reaches_the_exact_fit_but_local_fits_drift():
    sites = _sites(4)

    def clients():
        return [Client(X, y, name=f"h{k}", model=CoxPH()) for k, (X, y) in enumerate(sites)]

    common = dict(rounds=10, lr=0.5, standardize=False, random_state=0)
    sgd = federated.run(clients(), strategy="fedsgd", **common)
    avg = federated.run(clients(), strategy="fedavg", local_epochs=1, **common)
    np.testing.assert_allclose(avg.params, sgd.params, atol=1e-12)
    exact = fit_federated_cox([CoxSite(X, y[:, 0], y[:, 1]) for X, y in sites]).coef
    long = {**common, "rounds": 200}
    steps = federated.run(clients(), strategy="fedavg", local_epochs=1, **long)
    np.testing.assert_allclose(steps.params, exact, atol=1e-8)  # gradient steps: exact
    # 20 local epochs: the clients' drift leaves a fixed point away from the pooled fit
    drift = federated.run(clients(), strategy="fedavg", local_epochs=20,
                          **{**common, "rounds": 30})
    shorter = federated.run(clients(), strategy="fedavg", local_epochs=20,
                            **{**common, "rounds": 15})
    np.testing.assert_allclose(drift.params, shorter.params, atol=1e-8)
    assert np.abs(drift.params - exact).max() > 0.02


def test_cox_runs_through_fedprox_fedadam_and_dp_fedavg():
    sites = _sites(5)
    for strategy in ("fedprox", "fedadam"):
        clients = [Client(X, y, name=f"h{k}", model=CoxPH()) for k, (X, y) in enumerate(sites)]
        history = federated.run(clients, strategy=strategy, rounds=5, lr=0.1,
                                test_sets={f"h{k}": s for k, s in enumerate(sites)},
                                random_state=0)
        assert 0.5 < history.final.pooled["c_index"] <= 1
    clients = [Client(X, y, name=f"h{k}", model=CoxPH()) for k, (X, y) in enumerate(sites)]
    private = federated.run(clients, strategy=DPFedAvg(noise_multiplier=0.5, clip_norm=1.0,
                                                      sample_rate=1.0),
                            rounds=3, lr=0.1, random_state=0)
    assert np.all(np.isfinite(private.params)) and private.rounds[-1].epsilon > 0


def test_record_level_dp_sgd_refuses_the_cox_model():
    X, y = _sites(6)[0]
    with pytest.raises(InvalidParameterError, match="supports_per_example=False"):
        dp_sgd(np.zeros(3), X, y, noise_multiplier=1.0, clip_norm=1.0, model=CoxPH())
    with pytest.raises(InvalidParameterError, match="supports_per_example=False"):
        DPSGDClient(X, y, noise_multiplier=1.0, clip_norm=1.0, model=CoxPH())
    with pytest.raises(InvalidParameterError, match="per-example"):
        CoxPH().per_example_gradients(np.zeros(3), X, y)


def test_cox_is_in_the_registry_and_checks_its_inputs():
    assert make_model("cox", ties="efron") == CoxPH(ties="efron")
    model = CoxPH()
    assert (model.outcome, model.supports_per_example, model.full_batch) == ("survival",
                                                                            False, True)
    np.testing.assert_array_equal(model.init_params(4, random_state=0), np.zeros(4))
    X, y = _sites(7)[0]
    with pytest.raises(InvalidParameterError, match="no intercept"):
        model.loss(np.zeros(4), X, y)
    with pytest.raises(InvalidParameterError, match="shape"):
        model.loss(np.zeros(3), X, y[:, 0])
    with pytest.raises(InvalidParameterError, match="ties must be one of"):
        CoxPH(ties="exact")
    assert model.local_steps(500, epochs=3, batch_size=32) == 3  # full batch


def test_evaluate_gives_the_loss_and_harrells_c():
    X, y = _sites(8)[0]
    b = fit_federated_cox([CoxSite(X, y[:, 0], y[:, 1])]).coef
    metrics = CoxPH().evaluate(b, X, y)
    assert metrics["loss"] == pytest.approx(CoxPH().loss(b, X, y))
    assert 0.6 < metrics["c_index"] < 1
