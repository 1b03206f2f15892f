"""Training-seed variation: seed_spread repeats a comparison and reports both sources of noise."""

import numpy as np
import pytest

from fedlab import federated
from fedlab._validation import InvalidParameterError
from fedlab.metrics import TRAINING_SEEDS, auc_difference, seed_spread


def test_the_course_seeds_are_2020_to_2029():
    assert TRAINING_SEEDS == tuple(range(2020, 2030))


def test_values_and_intervals_are_collected_per_seed():
    spread = seed_spread(lambda s: (s / 10, s / 10 - 1, s / 10 + 1), seeds=[10, 20, 30])
    np.testing.assert_allclose(spread.estimates, [1, 2, 3])
    assert spread.mean == pytest.approx(2) and spread.sd == pytest.approx(1)
    assert spread.range == (1, 3)
    assert spread.n_excluding == 2  # [0, 2] contains 0; [1, 3] and [2, 4] exclude it
    assert "3 seeds" in str(spread) and "excludes 0 for 2 of 3" in str(spread)


def test_an_interval_containing_zero_is_not_counted():
    spread = seed_spread(lambda s: (0.01, -0.01 * s, 0.03), seeds=[1, 2])
    assert spread.n_excluding == 0


def test_bad_results_are_refused_by_name():
    with pytest.raises(InvalidParameterError, match="non-finite"):
        seed_spread(lambda s: float("nan"), seeds=[1])
    with pytest.raises(InvalidParameterError, match="mix"):
        seed_spread(lambda s: 1.0 if s == 1 else (1.0, 0.0, 2.0), seeds=[1, 2])
    with pytest.raises(InvalidParameterError, match="at least one seed"):
        seed_spread(lambda s: 1.0, seeds=[])


def test_a_real_comparison_varies_with_the_training_seed():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    y = (X[:, 0] + rng.normal(size=400) > 0).astype(int)
    clients = [federated.Client(X[:100], y[:100], name="a"),
               federated.Client(X[100:200], y[100:200], name="b")]
    X_test, y_test = X[200:], y[200:]

    def compare(seed):
        def score(strategy):
            h = federated.run(clients, strategy=strategy, rounds=2, lr=0.5, random_state=seed)
            z = X_test @ h.params[:-1] + h.params[-1]
            return 1 / (1 + np.exp(-z))
        d = auc_difference(y_test, score("fedavg"), score("fedsgd"))
        return d["difference"], *d["ci"]

    spread = seed_spread(compare, seeds=[2020, 2021, 2022])
    assert spread.sd > 0  # other shuffles, another model
