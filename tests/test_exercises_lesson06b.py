"""Lesson 06b checks: other right answers pass, typical mistakes are named.

The notebook's own solution and the lesson's stub are tested in test_exercises_contract.py.
"""

import numpy as np
import pytest

from fedlab import privacy
from fedlab.exercises import CORRECT, INCORRECT
from fedlab.exercises import lesson06b as ex


def _step_by_loop(grads, clip_norm, sigma, expected, random_state):
    """A learner's loop over the records, noise drawn with an explicit size tuple."""
    total = np.zeros(np.shape(grads)[1])
    for g in grads:
        total = total + g * min(1.0, clip_norm / np.linalg.norm(g))
    rng = np.random.default_rng(random_state)
    return (total + rng.normal(0.0, sigma * clip_norm, size=(len(total),))) / expected


def test_q1_accepts_the_package_functions_and_a_loop():
    def by_package(grads, clip_norm, sigma, expected, random_state):
        total = privacy.clip_by_l2_norm(grads, clip_norm).sum(axis=0)
        return privacy.add_gaussian_noise(total, noise_std=sigma * clip_norm,
                                          random_state=random_state) / expected

    assert ex.q1.evaluate(by_package).outcome == CORRECT
    assert ex.q1.evaluate(_step_by_loop).outcome == CORRECT


def _noise(n, std, seed):
    return np.random.default_rng(seed).normal(0.0, std, size=n)


@pytest.mark.parametrize(("wrong", "named"), [
    (lambda g, c, s, e, r: (privacy.clip_by_l2_norm(g.sum(axis=0), c)
                            + _noise(g.shape[1], s * c, r)) / e,
     "you clipped the batch's summed gradient"),
    (lambda g, c, s, e, r: (privacy.clip_by_l2_norm(g, c)
                            + np.random.default_rng(r).normal(0, s * c, g.shape)).sum(axis=0) / e,
     "you added noise to every record's gradient"),
    (lambda g, c, s, e, r: (privacy.clip_by_l2_norm(g, c).sum(axis=0)
                            + _noise(g.shape[1], s, r)) / e,
     "the noise's standard deviation is the noise multiplier alone"),
    (lambda g, c, s, e, r: (privacy.clip_by_l2_norm(g, c).sum(axis=0)
                            + _noise(g.shape[1], s * c, r)) / max(len(g), 1),
     "you divided by the batch's realized size"),
])
def test_q1_names_typical_mistakes(wrong, named):
    result = ex.q1.evaluate(wrong)
    assert result.outcome == INCORRECT and result.message.startswith(named), result.message


def test_q2_accepts_the_strategy_itself():
    def by_strategy(updates, n_samples, clip_norm, sigma, expected, random_state):
        strategy = privacy.DPFedAvg(noise_multiplier=sigma, clip_norm=clip_norm,
                                    sample_rate=0.5)
        strategy.start(updates.shape[1], 1)
        strategy.n_clients = expected / 0.5  # so that q K is the expected number
        return strategy.combine_vectors(updates, rng=np.random.default_rng(random_state))

    assert ex.q2.evaluate(by_strategy).outcome == CORRECT


@pytest.mark.parametrize(("wrong", "named"), [
    (lambda u, n, c, s, e, r: np.average(privacy.clip_by_l2_norm(u, c), axis=0, weights=n)
     + _noise(u.shape[1], s * c, r) / e, "you weighted the updates by the clients' numbers"),
    (lambda u, n, c, s, e, r: (privacy.clip_by_l2_norm(u, c).sum(axis=0)
                               + _noise(u.shape[1], s * c, r)) / len(u),
     "you divided by the number of updates that arrived"),
    (lambda u, n, c, s, e, r: (privacy.clip_by_l2_norm(u.sum(axis=0), c)
                               + _noise(u.shape[1], s * c, r)) / e,
     "you clipped the sum of the updates"),
])
def test_q2_names_typical_mistakes(wrong, named):
    result = ex.q2.evaluate(wrong)
    assert result.outcome == INCORRECT and result.message.startswith(named), result.message


def test_q3_accepts_another_good_choice():
    def fewer_rounds(target_epsilon):
        return (
            privacy.noise_multiplier_for(
                target_epsilon=target_epsilon, sample_rate=1.0, steps=20, delta=1e-5
            ),
            1.0,
            20,
        )

    assert ex.q3.evaluate(fewer_rounds).outcome == CORRECT


@pytest.mark.parametrize(
    ("wrong", "said"),
    [
        (
            lambda eps: (
                privacy.noise_multiplier_for(
                    target_epsilon=eps, sample_rate=0.05, steps=30, delta=1e-5
                ),
                0.05,
                30,
            ),
            "that is section 3's setting",
        ),
        (
            lambda eps: (
                privacy.noise_multiplier_for(
                    target_epsilon=2 * eps, sample_rate=1.0, steps=30, delta=1e-5
                ),
                1.0,
                30,
            ),
            "more than the budget",
        ),
        (lambda eps: (0.0, 1.0, 30), "without noise"),
        (lambda eps: (5.0, 1.5, 30), "the sample rate is a probability"),
        (lambda eps: (5.0, 1.0, 30.5), "rounds must be a whole number"),
        (lambda eps: (5.0, 1.0), "your answer holds 2 values"),
        (lambda eps: 5.0, "you returned one value"),
    ],
)
def test_q3_says_what_is_wrong(wrong, said):
    result = ex.q3.evaluate(wrong)
    assert result.outcome == INCORRECT and said in result.message, result.message


def test_q3_the_notebook_setting_is_told_its_auc_not_the_answer():
    result = ex.q3.evaluate(
        lambda eps: (
            privacy.noise_multiplier_for(
                target_epsilon=eps, sample_rate=0.05, steps=300, delta=1e-5
            ),
            0.05,
            300,
        )
    )
    assert result.outcome == INCORRECT and "the model reaches test AUC" in result.message


def test_hints_exist():
    for exercise in (ex.q1, ex.q2, ex.q3):
        assert len(exercise.hints) == 3
