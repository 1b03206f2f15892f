"""Vertical logistic regression is logistic regression on the joined table, step for step."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from fedlab import data
from fedlab._validation import InvalidParameterError
from fedlab.federated.preprocessing import combine, feature_sums
from fedlab.models.logistic import sigmoid
from fedlab.vertical import FLOAT_BYTES, Party, batch_order, gradient_descent, train

REGISTRY = ("smoker", "diabetes")  # the label holder's columns in the shipped-data study


def _study(rng, n=400, widths=(3, 2), missing=0.05):
    """Parties with correlated columns (some missing) on different scales; the last holds y."""
    d = sum(widths)
    X = rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) * rng.uniform(1, 50, d) + 100
    y = (rng.random(n) < sigmoid((X - X.mean(0)) / X.std(0) @ rng.normal(size=d))).astype(int)
    X[rng.random(X.shape) < missing] = np.nan
    parties, start = [], 0
    for k, width in enumerate(widths):
        names = [f"p{k}_x{j}" for j in range(width)]
        label = y if k == len(widths) - 1 else None
        parties.append(Party(f"party {k}", X[:, start:start + width], names, y=label))
        start += width
    return parties, X, y


def _shipped():
    """The shipped hospitals' records cut vertically: a hospital and a registry (the label)."""
    hospitals = data.load_hospitals()
    names = list(hospitals[0].feature_names)
    reg = [names.index(c) for c in REGISTRY]
    hosp = [j for j in range(len(names)) if j not in reg]

    def cut(split):
        X = np.vstack([getattr(h, f"X_{split}") for h in hospitals])
        y = np.concatenate([getattr(h, f"y_{split}") for h in hospitals])
        return X[:, hosp], X[:, reg], y

    hospital, registry, y = cut("train")
    parties = [Party("hospital", hospital, [names[j] for j in hosp]),
               Party("registry", registry, list(REGISTRY), y=y)]
    return parties, cut("test")


@pytest.mark.parametrize(("widths", "l2"), [((3, 2), 1e-3), ((1, 4), 0.0), ((2, 2, 1), 0.1),
                                            ((4, 1, 1, 2), 1e-2)])
def test_full_batch_descent_equals_centralized_descent_on_the_joined_table(widths, l2):
    # Arrange
    parties, X, y = _study(np.random.default_rng(len(widths) * 10 + int(100 * l2)),
                           widths=widths)
    # Act
    fitted = train(parties, steps=300, lr=0.8, l2=l2)
    reference = gradient_descent(X, y, steps=300, lr=0.8, l2=l2)
    # Assert: every coefficient and the intercept, to rounding
    np.testing.assert_allclose(fitted.params, reference, rtol=0, atol=1e-10)
    assert np.abs(reference).max() > 0.1  # the run moved the coefficients


@pytest.mark.parametrize(("batch_size", "seed"), [(32, 0), (17, 5), (399, 1), (1, 2)])
def test_minibatch_descent_follows_the_same_seeded_order_as_centralized(batch_size, seed):
    parties, X, y = _study(np.random.default_rng(seed))
    fitted = train(parties, steps=150, lr=0.3, l2=1e-3, batch_size=batch_size,
                   random_state=seed)
    reference = gradient_descent(X, y, steps=150, lr=0.3, l2=1e-3, batch_size=batch_size,
                                 random_state=seed)
    np.testing.assert_allclose(fitted.params, reference, rtol=0, atol=1e-10)
    other = gradient_descent(X, y, steps=150, lr=0.3, l2=1e-3, batch_size=batch_size,
                             random_state=seed + 1)
    assert np.abs(other - reference).max() > 1e-3  # the order matters: the test can fail


def test_each_party_standardizes_its_own_columns_as_the_joined_table_would():
    parties, X, _ = _study(np.random.default_rng(3))
    fitted = train(parties, steps=1)
    joined = combine([feature_sums(X)])
    mean = np.concatenate([fitted.standardizers[p.name].mean for p in parties])
    scale = np.concatenate([fitted.standardizers[p.name].scale for p in parties])
    np.testing.assert_allclose(mean, joined.mean, rtol=1e-14)
    np.testing.assert_allclose(scale, joined.scale, rtol=1e-14)


def test_at_convergence_the_test_auc_is_scikit_learns_pooled_fit():
    # Arrange: the shipped hospitals, cut into a hospital and a registry
    parties, (hospital_test, registry_test, y_test) = _shipped()
    l2 = 1e-3
    # Act
    fitted = train(parties, steps=5000, lr=2.0, l2=l2, tol=1e-8)
    risk = fitted.predict_proba({"hospital": hospital_test, "registry": registry_test})
    joined = np.column_stack([p.X for p in parties])
    standardizer = combine([feature_sums(joined)])
    n = len(parties[1].y)
    pooled = LogisticRegression(C=1 / (l2 * n), tol=1e-12, max_iter=10_000).fit(
        standardizer.transform(joined), parties[1].y)
    pooled_risk = pooled.predict_proba(
        standardizer.transform(np.column_stack([hospital_test, registry_test])))[:, 1]
    # Assert
    assert fitted.steps < 5000  # converged: the gradient's norm fell below tol
    assert abs(roc_auc_score(y_test, risk) - roc_auc_score(y_test, pooled_risk)) < 1e-3
    np.testing.assert_allclose(fitted.params[:-1], pooled.coef_[0], atol=1e-4)


def test_bytes_per_step_are_one_partial_predictor_and_one_residual_per_patient_and_party():
    parties, _, _ = _study(np.random.default_rng(4), n=250, widths=(1, 2, 3))
    full = train(parties, steps=3)
    batched = train(parties, steps=10, batch_size=100, random_state=0)
    assert full.nbytes_per_step == [2 * 2 * 250 * FLOAT_BYTES] * 3
    sizes = [len(b) for b in batch_order(250, batch_size=100, steps=10, random_state=0)]
    assert sizes[:3] == [100, 100, 50]
    assert batched.nbytes_per_step == [2 * 2 * s * FLOAT_BYTES for s in sizes]


def test_predictions_need_every_partys_partial_predictor():
    parties, X, y = _study(np.random.default_rng(5))
    fitted = train(parties, steps=50)
    theta = gradient_descent(X, y, steps=50)
    Z = combine([feature_sums(X)]).transform(X)
    blocks = {p.name: p.X for p in parties}
    np.testing.assert_allclose(fitted.predict_proba(blocks), sigmoid(Z @ theta[:-1] + theta[-1]),
                               atol=1e-12)
    with pytest.raises(InvalidParameterError, match="lacks the records of parties"):
        fitted.predict_proba({parties[0].name: parties[0].X})


def test_same_seed_same_bits():
    parties, _, _ = _study(np.random.default_rng(6))
    options = dict(steps=40, batch_size=25, noise_multiplier=0.5, random_state=9,
                   noise_random_state=3)
    assert train(parties, **options).params.tobytes() == train(
        parties, **options).params.tobytes()


def test_the_label_holders_noise_does_not_follow_from_the_agreed_seed():
    # every party knows the agreed seed (the batch order); from it, anyone could redraw
    # the noise and subtract it, so the noise has a seed of its own
    parties, _, _ = _study(np.random.default_rng(6))
    a = train(parties, steps=5, batch_size=25, noise_multiplier=0.5, random_state=9,
              noise_random_state=1, record=True)
    b = train(parties, steps=5, batch_size=25, noise_multiplier=0.5, random_state=9,
              noise_random_state=2, record=True)
    (rows_a, noisy_a), (rows_b, noisy_b) = a.transcript["party 0"][0], b.transcript["party 0"][0]
    assert np.array_equal(rows_a, rows_b)  # the same agreed order
    assert np.abs(noisy_a - noisy_b).min() > 0  # but other noise on every residual


def test_coefficients_are_named_by_feature():
    parties, _, _ = _study(np.random.default_rng(7))
    fitted = train(parties, steps=5)
    assert list(fitted.coefficients()) == [f for p in parties for f in p.feature_names]


@pytest.mark.parametrize(("change", "match"), [
    ("two holders", "exactly one party must hold the labels"),
    ("no holder", "exactly one party must hold the labels"),
    ("shared column", "column 'p0_x0' is held by parties 'party 0' and 'party 1'"),
    ("rows", "every party must hold the same linked patients"),
    ("names", "parties must have distinct names"),
    ("one party", "parties must be at least two Party objects")])
def test_a_malformed_study_is_refused(change, match):
    parties, _, y = _study(np.random.default_rng(8))
    a, b = parties
    study = {"two holders": [Party(a.name, a.X, a.feature_names, y=y), b],
             "no holder": [a, Party(b.name, b.X, b.feature_names)],
             "shared column": [a, Party(b.name, b.X, ["p0_x0", "z"], y=y)],
             "rows": [Party(a.name, a.X[:-1], a.feature_names), b],
             "names": [Party(b.name, a.X, a.feature_names), b],
             "one party": [b]}[change]
    with pytest.raises(InvalidParameterError, match=match):
        train(study, steps=1)


@pytest.mark.parametrize(("options", "match"), [
    ({"steps": 0}, "steps"), ({"lr": -1}, "lr"), ({"l2": -0.1}, "l2"),
    ({"tol": 1e-6, "batch_size": 10}, "tol applies to full-batch"),
    ({"noise_multiplier": -1}, "noise_multiplier")])
def test_bad_settings_are_refused(options, match):
    parties, _, _ = _study(np.random.default_rng(9))
    with pytest.raises(InvalidParameterError, match=match):
        train(parties, **options)


def test_a_party_refuses_infinite_values_and_labels_other_than_0_and_1():
    with pytest.raises(InvalidParameterError, match="infinite"):
        Party("a", [[1.0], [np.inf]], ["x"])
    with pytest.raises(InvalidParameterError, match="each 0 or 1"):
        Party("a", [[1.0], [2.0]], ["x"], y=[0, 2])
