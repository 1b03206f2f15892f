"""Tests for fedlab.attacks: gradient inversion is exact, membership inference needs overfitting."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.metrics import roc_curve as sk_roc_curve
from sklearn.preprocessing import PolynomialFeatures

from fedlab import attacks, data, privacy
from fedlab.federated import Client
from fedlab.models import logistic

moderate = st.floats(-5, 5, allow_nan=False, allow_infinity=False)


# -- gradient inversion ---------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(x=hnp.arrays(np.float64, st.integers(1, 12), elements=moderate),
       data_=st.data(), y=st.integers(0, 1))
def test_a_one_record_gradient_gives_back_the_record_and_its_label(x, data_, y):
    # |w . x + b| < 36 keeps p - y away from 0 in float64 (else nothing can be inverted)
    theta = data_.draw(hnp.arrays(np.float64, len(x) + 1, elements=st.floats(-0.5, 0.5)))
    gradient = logistic.gradient(theta, x[None, :], [y])

    np.testing.assert_allclose(attacks.reconstruct_record(gradient), x, rtol=1e-9, atol=1e-12)
    assert attacks.infer_label(gradient) == y


def test_a_fedavg_update_of_several_local_steps_on_one_record_gives_it_back():
    x, y = np.array([[62.0, 1.0, 141.0]]), np.array([1.0])
    client = Client(x, y, name="one patient")
    start = np.array([0.01, -0.2, 0.003, 0.1])

    for epochs in (1, 5):
        update = client.fit(start, epochs=epochs, batch_size=1, lr=0.05).vector
        np.testing.assert_allclose(attacks.reconstruct_record(update), x[0], rtol=1e-9)
    one_step = client.fit(start, epochs=1, batch_size=1, lr=0.05).vector
    gradient = attacks.gradient_from_update(one_step, lr=0.05)
    np.testing.assert_allclose(gradient, logistic.gradient(start, x, y), rtol=1e-12)
    assert attacks.infer_label(gradient) == 1


def test_a_batch_gradient_reveals_a_residual_weighted_mean_of_its_records():
    rng = np.random.default_rng(0)
    X, theta = rng.normal(size=(32, 4)), rng.normal(size=5)
    y = (rng.random(32) < 0.3).astype(float)

    leak, weights = attacks.batch_leak(theta, X, y)

    np.testing.assert_allclose(attacks.reconstruct_record(logistic.gradient(theta, X, y)), leak)
    np.testing.assert_allclose(weights.sum(), 1.0)
    np.testing.assert_allclose(weights @ X, leak)
    negatives = y == 0  # one label only: every weight positive, a true weighted average
    _, w0 = attacks.batch_leak(theta, X[negatives], y[negatives])
    assert np.all(w0 > 0)


def test_reconstruction_is_exact_after_clipping_and_worsens_with_noise():
    rng = np.random.default_rng(1)
    X, theta = rng.normal(size=(300, 5)), rng.normal(size=6)
    y = (rng.random(300) < 0.5).astype(float)

    medians = [np.median(attacks.reconstruction_error(theta, X, y, noise_multiplier=s,
                                                      clip_norm=0.1, random_state=0))
               for s in (0.0, 0.01, 0.1, 1.0)]

    assert medians[0] < 1e-12  # clipping alone scales both parts: the ratio survives
    assert medians[1] < medians[2] < medians[3]
    assert medians[3] > 1.0  # worse than guessing the average patient


@pytest.mark.parametrize(("gradient", "error", "message"), [
    ([0.5, 0.0], ValueError, "bias part of the gradient is 0"),
    ([1.0], ValueError, r"at least 2 entries per row, got \(1,\)"),
    (np.zeros((2, 2, 2)), ValueError, "gradient must have shape"),
])
def test_reconstruct_record_rejects_what_it_cannot_invert(gradient, error, message):
    with pytest.raises(error, match=message):
        attacks.reconstruct_record(gradient)


def test_gradient_from_update_needs_a_positive_lr():
    with pytest.raises(ValueError, match="lr must be a finite number > 0, got 0"):
        attacks.gradient_from_update([0.1, 0.2], lr=0)


# -- membership inference -------------------------------------------------------------------


@pytest.mark.parametrize("degree", [1, 2, 3])
def test_expand_features_matches_scikit_learn(degree):
    X = np.random.default_rng(2).normal(size=(7, 4))
    expected = PolynomialFeatures(degree, include_bias=False).fit_transform(X)
    np.testing.assert_allclose(attacks.expand_features(X, degree), expected, rtol=1e-12)


def test_design_matrices_use_the_training_statistics_only():
    X_train = np.array([[1.0, 10.0], [3.0, np.nan], [5.0, 30.0]])
    F_train, F_other = attacks.design_matrices(X_train, np.array([[3.0, 20.0]]), degree=2)

    np.testing.assert_allclose(F_train.mean(axis=0), 0.0, atol=1e-12)
    assert F_train.shape == (3, 5) and F_other.shape == (1, 5)
    np.testing.assert_allclose(F_other[0, :2], 0.0, atol=1e-12)  # the training mean


def test_roc_curve_matches_scikit_learn_with_ties():
    rng = np.random.default_rng(3)
    is_member, scores = rng.integers(0, 2, 300), np.round(rng.normal(size=300), 1)

    fpr, tpr, thresholds = attacks.roc_curve(is_member, scores)
    sk_fpr, sk_tpr, sk_thresholds = sk_roc_curve(is_member, scores, drop_intermediate=False)

    np.testing.assert_allclose(fpr, sk_fpr)
    np.testing.assert_allclose(tpr, sk_tpr)
    np.testing.assert_allclose(thresholds[1:], sk_thresholds[1:])
    assert attacks.tpr_at_fpr(fpr, tpr, 0.0) == tpr[fpr == 0].max()


def test_roc_curve_needs_both_groups():
    with pytest.raises(ValueError, match="both members"):
        attacks.roc_curve([1, 1], [0.2, 0.3])


def test_the_score_is_minus_the_loss_of_each_record():
    theta, X, y = np.array([0.5, -1.0, 0.2]), np.array([[1.0, 2.0], [0.0, -1.0]]), [1, 0]

    losses = [logistic.loss(theta, X[i:i + 1], [y[i]]) for i in range(2)]

    np.testing.assert_allclose(attacks.membership_scores(theta, X, y), -np.array(losses))


@pytest.fixture(scope="module")
def overfit_clinic():
    """The smallest hospital, every product of up to 3 measurements, fresh non-members."""
    clinic = min(data.load_hospitals(), key=lambda h: h.n_train)
    fresh = data.generate_patients(1000, profile=clinic.slug, random_state=2026)
    members, non_members = attacks.design_matrices(clinic.X_train, fresh.X, degree=3)
    return (members, clinic.y_train), (non_members, fresh.y)


def test_membership_inference_beats_chance_on_an_overfit_model_and_not_under_dp(
        overfit_clinic):
    (F, y), non_members = overfit_clinic
    start = np.zeros(F.shape[1] + 1)

    overfit = logistic.sgd(start, F, y, epochs=300, batch_size=32, lr=0.1, random_state=0)
    private, accountant = privacy.dp_sgd(start, F, y, noise_multiplier=4.0, clip_norm=1.0,
                                         batch_size=32, epochs=5, lr=0.5, random_state=0)
    without_dp = attacks.loss_threshold_attack(overfit, (F, y), non_members)
    with_dp = attacks.loss_threshold_attack(private, (F, y), non_members)

    assert without_dp.auc > 0.6
    assert with_dp.auc < 0.56
    assert accountant.epsilon(1e-5) < 1.0
    assert without_dp.tpr_at_fpr > 0.02  # more than twice chance at 1 % false positives


def test_batch_inversion_error_matches_a_loop_over_batches():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] + rng.normal(size=40) > 0).astype(float)
    theta = np.array([0.8, -0.2, 0.1, 0.3])
    attack, guess = attacks.batch_inversion_error(theta, X, y, 4, n_batches=25, random_state=7)
    batches = np.random.default_rng(7).random((25, 40)).argsort(axis=1)[:, :4]
    attack_loop, guess_loop = [], []
    for batch in batches:
        leak, _ = attacks.batch_leak(theta, X[batch], y[batch])
        attack_loop.append(np.sqrt(((X[batch] - leak) ** 2).mean(axis=1)).min())
        guess_loop.append(np.sqrt(((X[batch] - X.mean(axis=0)) ** 2).mean(axis=1)).min())
    np.testing.assert_allclose([attack, guess], [np.median(attack_loop), np.median(guess_loop)])


def test_batch_inversion_error_is_exact_for_one_record_and_checks_the_batch_size():
    X = np.array([[1.0, 2.0], [0.5, -1.0], [2.0, 0.0]])
    y = np.array([1.0, 0.0, 1.0])
    attack, guess = attacks.batch_inversion_error([0.1, 0.2, 0.0], X, y, 1, random_state=0)
    assert attack < 1e-12 < guess
    with pytest.raises(ValueError, match="batch_size must be <= 3, got 4"):
        attacks.batch_inversion_error([0.1, 0.2, 0.0], X, y, 4)
