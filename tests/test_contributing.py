"""The recipes in CONTRIBUTING.md run as written and do what they say."""

import re
from pathlib import Path

import numpy as np
import pytest
import statsmodels.api as sm

from fedlab import federated
from fedlab.federated import Update

ROOT = Path(__file__).resolve().parents[1]
TEXT = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")


def _recipe(heading):
    """Run the first Python block under ``heading``; return its namespace."""
    section = TEXT[TEXT.index(heading):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace = {}
    exec(compile(code, f"CONTRIBUTING.md ({heading})", "exec"), namespace)
    return namespace


@pytest.fixture(scope="module")
def strategy_recipe():
    return _recipe("### Recipe 1: a strategy")


@pytest.fixture(scope="module")
def model_recipe():
    return _recipe("### Recipe 2: a model")


def test_the_strategy_clips_a_long_step_and_leaves_a_short_one(strategy_recipe):
    strategy = strategy_recipe["FedAvgClippedServer"](max_step=0.5)
    params = np.array([1.0, -1.0])
    long = [Update("a", np.array([3.0, 4.0]), 10), Update("b", np.array([3.0, 4.0]), 30)]
    new = strategy.aggregate_train(1, params, long, rng=None)
    np.testing.assert_allclose(new - params, [0.3, 0.4])  # (3, 4) cut to length 0.5
    short = [Update("a", np.array([0.1, 0.0]), 10), Update("b", np.array([0.3, 0.0]), 30)]
    np.testing.assert_allclose(strategy.aggregate_train(1, params, short, rng=None) - params,
                               [0.25, 0.0])  # the weighted mean, untouched
    assert repr(strategy) == ("FedAvgClippedServer(max_step=0.5, fraction_train=1.0, "
                              "weighted=True, server_lr=1.0)")
    assert strategy.summed_arrays == ("vector", "weight")  # it works on sums only


def test_the_strategy_recipe_steps_at_most_max_step_where_fedavg_steps_further(
        strategy_recipe):
    clipped, plain = strategy_recipe["clipped"], strategy_recipe["plain"]
    assert len(clipped.rounds) == 6 and np.isfinite(clipped.params).all()
    assert np.linalg.norm(clipped.params) <= 5 * 0.05 + 1e-12
    assert np.linalg.norm(plain.params) > 5 * 0.05  # so the cap did something
    assert clipped.config["strategy_params"]["max_step"] == 0.05


def test_the_model_recipe_gradient_equals_finite_differences(model_recipe):
    probit, X, y = model_recipe["probit"], model_recipe["X"], model_recipe["y"]
    params = np.array([0.4, -0.3, 0.1])
    eps = 1e-6
    numeric = [(probit.loss(params + eps * e, X, y, l2=0.1)
                - probit.loss(params - eps * e, X, y, l2=0.1)) / (2 * eps) for e in np.eye(3)]
    np.testing.assert_allclose(probit.gradient(params, X, y, l2=0.1), numeric, rtol=1e-6,
                               atol=1e-9)
    per_example = probit.per_example_gradients(params, X, y)
    assert per_example.shape == (len(X), 3)
    np.testing.assert_allclose(per_example.mean(axis=0), probit.gradient(params, X, y))


def test_the_model_recipe_trains_through_the_round_loop(model_recipe):
    history = model_recipe["history"]
    auc = history.metric("auc")
    assert len(auc) == 31 and auc[0] == 0.5 and auc[-1] > 0.75
    loss = history.metric("loss")
    assert loss[-1] < loss[0] - 0.1


def test_the_model_recipe_by_fedsgd_reaches_statsmodels_probit(model_recipe):
    X, y, clients = model_recipe["X"], model_recipe["y"], model_recipe["clients"]
    history = federated.run(clients, strategy="fedsgd", rounds=400, lr=1.0,
                            standardize=False, random_state=0)
    reference = sm.Probit(y, np.column_stack([X, np.ones(len(X))])).fit(disp=0).params
    np.testing.assert_allclose(history.params, reference, atol=1e-4)


def test_the_dataset_recipe_loads_its_columns_by_role_and_trains():
    namespace = _recipe("### Recipe 3: a dataset")
    hospitals, history = namespace["hospitals"], namespace["history"]
    assert [h.name for h in hospitals] == ["North Clinic", "South Clinic", "East Clinic"]
    for h, n in zip(hospitals, (200, 300, 400)):
        assert list(h.feature_names) == ["age", "sbp"]  # id, outcome and split are never features
        assert len(h.y_test) == n // 4 and len(h.y_train) == n - n // 4  # the published split
    assert history.final.pooled["auc"] > 0.75
