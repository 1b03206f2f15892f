"""Tests for private training: record-level DP-SGD and client-level DP-FedAvg."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from fedlab import federated, privacy
from fedlab.federated import Client, Update
from fedlab.models import logistic
from fedlab.privacy import DPFedAvg, DPSGDClient, dp_sgd, epsilon

DELTA = 1e-5


def _data(n=200, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (X @ np.arange(1, d + 1) + rng.normal(size=n) > 0).astype(float)
    return X, y


# -- per-example gradients and clipping -----------------------------------------------------


def test_per_example_gradients_equal_finite_differences():
    X, y = _data(n=5, d=4)
    theta = np.random.default_rng(1).normal(size=5)
    grads = logistic.per_example_gradients(theta, X, y)

    h = 1e-6
    for i in range(len(y)):
        numeric = [(logistic.loss(theta + h * e, X[i:i + 1], y[i:i + 1])
                    - logistic.loss(theta - h * e, X[i:i + 1], y[i:i + 1])) / (2 * h)
                   for e in np.eye(5)]
        np.testing.assert_allclose(grads[i], numeric, rtol=1e-6, atol=1e-9)


@settings(max_examples=100, deadline=None)
@given(X=hnp.arrays(np.float64, st.tuples(st.integers(1, 20), st.integers(1, 6)),
                    elements=st.floats(-100, 100)),
       clip_norm=st.floats(1e-3, 10.0), seed=st.integers(0, 2**16))
def test_clipped_per_example_gradients_never_exceed_the_bound(X, clip_norm, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=len(X))
    theta = rng.normal(size=X.shape[1] + 1)

    clipped = privacy.clip_by_l2_norm(logistic.per_example_gradients(theta, X, y), clip_norm)

    assert np.all(np.linalg.norm(clipped, axis=1) <= clip_norm * (1 + 1e-12))


@settings(max_examples=100, deadline=None)
@given(X=hnp.arrays(np.float64, st.tuples(st.integers(1, 20), st.integers(1, 6)),
                    elements=st.floats(-100, 100)),
       clip_norm=st.floats(1e-3, 10.0), lr=st.floats(1e-3, 10.0), seed=st.integers(0, 2**16))
def test_a_noiseless_full_batch_step_moves_the_model_by_at_most_lr_times_the_clip(
        X, clip_norm, lr, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=len(X))
    theta = rng.normal(size=X.shape[1] + 1)

    new, _ = dp_sgd(theta, X, y, noise_multiplier=0.0, clip_norm=clip_norm, sample_rate=1.0,
                    steps=1, lr=lr, random_state=seed)

    assert np.linalg.norm(new - theta) <= lr * clip_norm * (1 + 1e-9)


# -- DP-SGD ---------------------------------------------------------------------------------


def test_dp_sgd_without_noise_or_clipping_is_full_batch_gradient_descent():
    X, y = _data()
    plain = logistic.sgd(np.zeros(4), X, y, epochs=20, batch_size=None, lr=0.5, l2=0.01)

    private, _ = dp_sgd(np.zeros(4), X, y, noise_multiplier=0.0, clip_norm=1e9,
                        sample_rate=1.0, steps=20, lr=0.5, l2=0.01, random_state=0)

    np.testing.assert_allclose(private, plain, rtol=1e-10)


def test_dp_sgd_noise_has_the_calibrated_standard_deviation():
    # one step, everyone in the batch: noisy minus noiseless is -lr * noise / (q n)
    n, d, sigma, clip, lr = 10, 4999, 1.5, 0.7, 2.0
    X, y = np.zeros((n, d)), np.ones(n)
    kwargs = dict(clip_norm=clip, sample_rate=1.0, steps=1, lr=lr, random_state=3)

    noisy, _ = dp_sgd(np.zeros(d + 1), X, y, noise_multiplier=sigma, **kwargs)
    clean, _ = dp_sgd(np.zeros(d + 1), X, y, noise_multiplier=0.0, **kwargs)
    noise = -(noisy - clean) * n / lr

    assert abs(noise.mean()) < 4 * sigma * clip / np.sqrt(d + 1)
    assert noise.std() == pytest.approx(sigma * clip, rel=0.05)


def test_dp_sgd_samples_each_record_with_probability_q():
    # one-hot records: a step changes weight i only if record i was in the batch
    n, q = 1000, 0.3
    X, y = np.eye(n), np.zeros(n)
    joined = [np.flatnonzero(dp_sgd(np.zeros(n + 1), X, y, noise_multiplier=0.0, clip_norm=1.0,
                                    sample_rate=q, steps=1, random_state=s)[0][:-1])
              for s in range(5)]

    rate = np.mean([len(j) / n for j in joined])
    assert rate == pytest.approx(q, abs=0.03)
    assert len({tuple(j) for j in joined}) == 5  # fresh batches, not a fixed subset


def test_dp_sgd_counts_steps_and_epsilon_like_the_accountant():
    X, y = _data(n=500)

    _, acc = dp_sgd(np.zeros(4), X, y, noise_multiplier=1.1, clip_norm=1.0, batch_size=50,
                    epochs=3, random_state=0)
    _, acc = dp_sgd(np.zeros(4), X, y, noise_multiplier=1.1, clip_norm=1.0, batch_size=50,
                    steps=10, accountant=acc, random_state=1)

    assert acc.steps == 40
    assert acc.epsilon(DELTA) == pytest.approx(
        privacy.epsilon(noise_multiplier=1.1, sample_rate=0.1, steps=40, delta=DELTA)
    )


def test_dp_sgd_is_reproducible_with_a_seed():
    X, y = _data()
    kwargs = dict(noise_multiplier=1.0, clip_norm=1.0, batch_size=20, epochs=2)
    a, _ = dp_sgd(np.zeros(4), X, y, random_state=7, **kwargs)
    b, _ = dp_sgd(np.zeros(4), X, y, random_state=7, **kwargs)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (dict(noise_multiplier=-1.0), ValueError, "noise_multiplier must be a finite number >= 0"),
        (dict(clip_norm=0.0), ValueError, "clip_norm must be a finite number > 0, got 0"),
        (dict(sample_rate=0.1, batch_size=10), ValueError, "give sample_rate or batch_size"),
        (dict(steps=5, epochs=1), ValueError, "give steps or epochs"),
        (dict(sample_rate=1.5), ValueError, r"sample_rate must be in \(0, 1\], got 1.5"),
        (dict(steps=0), ValueError, "steps must be >= 1, got 0"),
        (dict(theta=np.zeros(3)), ValueError, r"theta must have shape \(4,\)"),
        (dict(accountant="acc"), TypeError, "accountant must be a PrivacyAccountant"),
    ],
)
def test_dp_sgd_rejects_bad_arguments(kwargs, error, message):
    X, y = _data(n=20)
    args = dict(theta=np.zeros(4), noise_multiplier=1.0, clip_norm=1.0)
    args.update(kwargs)
    with pytest.raises(error, match=message):
        dp_sgd(args.pop("theta"), X, y, **args)


def test_dp_sgd_clients_compose_every_local_step_of_every_round():
    X, y = _data(n=400)
    clients = [
        DPSGDClient(X[:100], y[:100], noise_multiplier=1.0, clip_norm=1.0, name="a"),
        DPSGDClient(
            X[100:], y[100:], noise_multiplier=1.0, clip_norm=1.0, sample_rate=0.1, name="b"
        ),
    ]

    history = federated.run(
        clients, rounds=4, local_epochs=2, batch_size=20, test_sets={"all": (X, y)}, random_state=0
    )

    assert clients[0].accountant.steps == 4 * 10  # 2 epochs at q = 20/100
    assert clients[1].accountant.steps == 4 * 20  # 2 epochs at its own q = 0.1
    assert clients[0].epsilon() == pytest.approx(
        privacy.epsilon(noise_multiplier=1.0, sample_rate=0.2, steps=40, delta=DELTA)
    )
    assert clients[1].epsilon(1e-6) == pytest.approx(
        privacy.epsilon(noise_multiplier=1.0, sample_rate=0.1, steps=80, delta=1e-6)
    )
    assert history.final.pooled["auc"] > 0.8


def test_a_dp_sgd_client_does_not_report_its_training_loss():
    X, y = _data(n=50)
    client = DPSGDClient(X, y, noise_multiplier=1.0, clip_norm=1.0)
    update = client.fit(np.zeros(4), random_state=0)
    assert set(update.metrics) == {"epsilon"}
    with pytest.raises(ValueError, match="mu must be 0 for a DPSGDClient"):
        client.fit(np.zeros(4), mu=0.1)


def test_a_dp_sgd_client_answers_fedsgd_with_a_noisy_clipped_gradient():
    X, y = _data(n=50)
    client = DPSGDClient(X, y, noise_multiplier=0.0, clip_norm=1e9, random_state=0)

    update = client.gradient(np.zeros(4), l2=0.1)

    np.testing.assert_allclose(update.vector, logistic.gradient(np.zeros(4), X, y, l2=0.1))
    assert client.accountant.history == [(0.0, 1.0, 1)]


# -- DP-FedAvg ------------------------------------------------------------------------------


def _updates(vectors):
    return [Update(f"c{k}", np.asarray(v, dtype=float), 10) for k, v in enumerate(vectors)]


def test_dpfedavg_without_noise_or_clipping_is_the_fixed_denominator_mean():
    strategy = DPFedAvg(noise_multiplier=0.0, clip_norm=1e9, sample_rate=0.2)
    rng = np.random.default_rng(0)
    strategy.select(50, rng=rng)
    vectors = rng.normal(size=(7, 4))

    direction = strategy.combine(_updates(vectors), rng=rng)

    np.testing.assert_allclose(direction, vectors.sum(axis=0) / (0.2 * 50))


def test_dpfedavg_with_everyone_and_no_noise_is_fedavg_with_the_plain_mean():
    X, y = _data(n=300)

    def clients():
        return [Client(X[k::3], y[k::3], name=f"c{k}") for k in range(3)]

    kwargs = dict(rounds=5, batch_size=None, lr=0.5, test_sets={"all": (X, y)}, random_state=0)

    private = federated.run(
        clients(),
        strategy=DPFedAvg(noise_multiplier=0.0, clip_norm=1e9, sample_rate=1.0),
        **kwargs,
    )
    plain = federated.run(clients(), weighted=False, **kwargs)

    np.testing.assert_allclose(private.params, plain.params, rtol=1e-10)


@settings(max_examples=100, deadline=None)
@given(
    vectors=hnp.arrays(
        np.float64, st.tuples(st.integers(1, 10), st.integers(1, 5)), elements=st.floats(-1e3, 1e3)
    ),
    clip_norm=st.floats(1e-3, 10.0),
    n_clients=st.integers(10, 100),
)
def test_dpfedavg_bounds_each_clients_influence_by_the_clip(vectors, clip_norm, n_clients):
    strategy = DPFedAvg(noise_multiplier=0.0, clip_norm=clip_norm, sample_rate=0.1)
    strategy.select(n_clients, rng=np.random.default_rng(0))

    with_all = strategy.combine(_updates(vectors))
    without_first = strategy.combine(_updates(vectors[1:]))  # maybe no update at all

    influence = np.linalg.norm(with_all - without_first)
    assert influence <= clip_norm / (0.1 * n_clients) * (1 + 1e-9)
    np.testing.assert_allclose(strategy.last_norms, np.linalg.norm(vectors[1:], axis=1))


def test_dpfedavg_samples_clients_by_poisson_sampling_sometimes_none():
    strategy = DPFedAvg(noise_multiplier=1.0, clip_norm=1.0, sample_rate=0.05)
    rng = np.random.default_rng(0)

    sizes = [len(strategy.select(40, rng=rng)) for _ in range(2000)]

    assert np.mean(sizes) == pytest.approx(0.05 * 40, rel=0.05)
    assert np.var(sizes) == pytest.approx(40 * 0.05 * 0.95, rel=0.15)  # binomial
    assert 0 in sizes


def test_a_round_without_clients_still_releases_the_noise():
    strategy = DPFedAvg(noise_multiplier=2.0, clip_norm=0.5, sample_rate=0.1, n_params=5000)
    strategy.select(20, rng=np.random.default_rng(0))

    direction = strategy.combine([], rng=np.random.default_rng(1))

    assert direction.shape == (5000,)
    assert direction.std() == pytest.approx(2.0 * 0.5 / (0.1 * 20), rel=0.05)
    assert strategy.rounds == 1


def test_a_round_without_clients_needs_the_models_size_if_none_was_seen():
    strategy = DPFedAvg(noise_multiplier=1.0, clip_norm=1.0, sample_rate=0.1)
    strategy.select(5, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="pass n_params"):
        strategy.combine([])
    assert strategy.combine([], params=np.zeros(3)).shape == (3,)
    assert strategy.combine([]).shape == (3,)  # remembered


def test_epsilon_in_the_history_is_the_accountants_after_each_round():
    X, y = _data(n=400)
    clients = [Client(X[k::40], y[k::40], name=f"c{k}") for k in range(40)]
    strategy = DPFedAvg(noise_multiplier=1.2, clip_norm=0.5, sample_rate=0.25, n_params=4)

    history = federated.run(
        clients,
        rounds=6,
        strategy=strategy,
        batch_size=None,
        test_sets={"all": (X, y)},
        random_state=0,
    )

    assert np.isnan(history.epsilons[0]) or history.epsilons[0] == 0
    expected = [
        privacy.epsilon(noise_multiplier=1.2, sample_rate=0.25, steps=t, delta=DELTA)
        for t in range(1, 7)
    ]
    np.testing.assert_allclose(history.epsilons[1:], expected, rtol=1e-12)


def test_the_summation_can_be_replaced_for_secure_aggregation():
    calls = []

    class Recorder:
        def __call__(self, vectors, *, noise_std, bound, rng):
            calls.append((vectors.copy(), noise_std))
            return vectors.sum(axis=0) + 1.0  # pretend noise

    strategy = DPFedAvg(noise_multiplier=2.0, clip_norm=1.0, sample_rate=0.5, summation=Recorder())
    strategy.select(4, rng=np.random.default_rng(0))

    direction = strategy.combine(_updates([[3.0, 4.0], [0.3, 0.4]]))

    clipped, noise_std = calls[0]
    np.testing.assert_allclose(clipped, [[0.6, 0.8], [0.3, 0.4]])
    assert noise_std == 2.0
    np.testing.assert_allclose(direction, ([0.9, 1.2] + np.ones(2)) / 2)


def test_for_epsilon_meets_the_budget():
    strategy = DPFedAvg.for_epsilon(1.0, rounds=30, clip_norm=0.5, sample_rate=0.05)
    assert (
        privacy.epsilon(
            noise_multiplier=strategy.noise_multiplier, sample_rate=0.05, steps=30, delta=DELTA
        )
        <= 1.0
    )
    assert strategy.clip_norm == 0.5


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (dict(noise_multiplier=-0.5), ValueError, "noise_multiplier must be a finite number >= 0"),
        (dict(clip_norm=0), ValueError, "clip_norm must be a finite number > 0, got 0"),
        (dict(sample_rate=0.0), ValueError, r"sample_rate must be in \(0, 1\], got 0.0"),
        (dict(delta=1.0), ValueError, r"delta must be in \(0, 1\), got 1.0"),
        (dict(summation="secagg"), TypeError, "summation must be None or callable"),
        (dict(n_params=0), ValueError, "n_params must be >= 1, got 0"),
    ],
)
def test_dpfedavg_rejects_bad_arguments(kwargs, error, message):
    args = dict(noise_multiplier=1.0, clip_norm=1.0, sample_rate=0.1)
    args.update(kwargs)
    with pytest.raises(error, match=message):
        DPFedAvg(**args)


def test_dpfedavg_combine_needs_select_first_and_equal_sizes():
    strategy = DPFedAvg(noise_multiplier=1.0, clip_norm=1.0, sample_rate=0.1)
    with pytest.raises(ValueError, match="call select"):
        strategy.combine(_updates([[1.0, 2.0]]))
    strategy.select(10, rng=np.random.default_rng(0))
    strategy.combine(_updates([[1.0, 2.0]]))
    with pytest.raises(ValueError, match="every update must have n_params=2 entries"):
        strategy.combine(_updates([[1.0, 2.0, 3.0]]))


def test_history_records_the_largest_record_level_epsilon_of_the_hospitals():
    from fedlab import data, federated
    from fedlab.privacy import DPSGDClient

    hospitals = data.load_hospitals()[:3]
    clients = [DPSGDClient.from_hospital(h, noise_multiplier=1.0, clip_norm=1.0) for h in hospitals]
    history = federated.run(clients, rounds=3, test_sets=hospitals, random_state=0)
    spent = [c.epsilon() for c in clients]
    assert np.isnan(history.epsilons[0])
    assert history.epsilons[-1] == pytest.approx(max(spent))
    assert np.all(np.diff(history.epsilons[1:]) > 0)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_dp_sgd_refuses_a_non_finite_record_before_spending_privacy(bad):
    # Regression (issue 14): an inf record made the model NaN and epsilon was charged.
    X, y = _data()
    X[17, 1] = bad
    accountant = privacy.PrivacyAccountant()
    with pytest.raises(ValueError, match="record 17"):
        dp_sgd(
            np.zeros(4),
            X,
            y,
            noise_multiplier=1.0,
            clip_norm=1.0,
            steps=5,
            accountant=accountant,
            random_state=0,
        )
    assert accountant.steps == 0


def test_dp_fedavg_refuses_a_non_finite_update_before_spending_privacy():
    strategy = DPFedAvg(noise_multiplier=1.0, clip_norm=1.0, sample_rate=0.5)
    strategy.select(4, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="finite"):
        strategy.combine_vectors([[0.1, 0.2], [np.inf, 0.0]], rng=np.random.default_rng(0))
    assert strategy.accountant.steps == 0


def test_dpsgd_client_gradient_refuses_non_finite_parameters():
    X, y = _data()
    client = DPSGDClient(X, y, noise_multiplier=1.0, clip_norm=1.0)
    client.preprocess(federated.combine([client.feature_sums()]))
    with pytest.raises(ValueError, match="finite"):
        client.gradient(np.array([np.nan, 0.0, 0.0, 0.0]))
    assert client.accountant.steps == 0


# -- DP-SGD as a strategy (issue 17): by name, the same bits as DPSGDClient ----------------


def _dp_sites(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(500, 3))
    y = (X[:, 0] + 0.5 * rng.normal(size=500) > 0).astype(int)
    return [(X[:300], y[:300]), (X[300:], y[300:])]


def test_dpsgd_strategy_trains_exactly_as_dpsgd_clients():
    from fedlab.federated import Client
    from fedlab.privacy import DPSGD

    sites = _dp_sites()
    old = [DPSGDClient(X, y, noise_multiplier=1.1, clip_norm=0.8, name=f"s{k}")
           for k, (X, y) in enumerate(sites)]
    h_old = federated.run(old, rounds=4, batch_size=25, lr=0.2, random_state=5)
    strategy = DPSGD(noise_multiplier=1.1, clip_norm=0.8)
    new = [Client(X, y, name=f"s{k}") for k, (X, y) in enumerate(sites)]
    h_new = federated.run(new, strategy=strategy, rounds=4, batch_size=25, lr=0.2,
                          random_state=5)
    np.testing.assert_array_equal(h_new.params, h_old.params)
    for client in old:  # each site's own accounting, as the client class kept it
        assert strategy.site_epsilons[client.name] == pytest.approx(client.epsilon(),
                                                                    rel=1e-12)
    assert h_new.final.epsilon == pytest.approx(max(c.epsilon() for c in old), rel=1e-12)


def test_dpsgd_strategy_by_name_and_its_privacy_report():
    from fedlab.federated import Client, make_strategy

    strategy = make_strategy("dpsgd", noise_multiplier=1.0, delta=1e-4)
    clients = [Client(X, y, name=f"s{k}") for k, (X, y) in enumerate(_dp_sites(1))]
    federated.run(clients, strategy=strategy, rounds=2, batch_size=50, random_state=0)
    report = strategy.privacy()
    assert report["level"] == "record" and set(report["sites"]) == {"s0", "s1"}
    for name, n in (("s0", 300), ("s1", 200)):
        assert report["sites"][name] == pytest.approx(epsilon(
            noise_multiplier=1.0, sample_rate=50 / n, steps=2 * round(n / 50), delta=1e-4))
    assert report["epsilon"] == report["sites"]["s1"]  # the smaller site spends more


def test_dpsgd_refuses_a_model_without_per_example_gradients():
    from fedlab.federated import Client
    from fedlab.models import LogisticRegression
    from fedlab.privacy import DPSGD

    class NoPerExample(LogisticRegression):  # stands for a Cox model: no per-record bound
        name = "no-per-example"
        supports_per_example = False

    (X, y), _ = _dp_sites()
    client = Client(X, y, name="site", model=NoPerExample())
    with pytest.raises(ValueError, match="per-example gradients, which model "
                                         "'no-per-example' does not have.*dpfedavg"):
        federated.run([client], strategy=DPSGD(noise_multiplier=1.0), rounds=1,
                      random_state=0)


def test_dpsgd_for_epsilon_puts_the_most_spending_site_on_the_budget():
    from fedlab.privacy import DPSGD

    dp = DPSGD.for_epsilon(2.0, rounds=10, n_records=[1000, 80, 400], epochs=2, batch_size=16)
    spent = [epsilon(noise_multiplier=dp.noise_multiplier, sample_rate=16 / n,
                     steps=10 * round(2 / (16 / n)), delta=1e-5) for n in (1000, 80, 400)]
    assert max(spent) == spent[1] and 2.0 * (1 - 1e-3) < spent[1] <= 2.0
