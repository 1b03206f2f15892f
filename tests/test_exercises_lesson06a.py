"""Lesson 06a checks: other right answers pass, typical mistakes are named.

The notebook's own solution and the lesson's stub are tested in test_exercises_contract.py.
"""

import numpy as np
import pytest

from fedlab import privacy
from fedlab.exercises import CORRECT, INCORRECT
from fedlab.exercises import lesson06a as ex


def test_q1_accepts_the_package_and_another_correct_form():
    assert ex.q1.evaluate(lambda v, C: privacy.clip_by_l2_norm(v, C)).outcome == CORRECT
    assert ex.q1.evaluate(
        lambda v, C: v * min(1.0, C / max(np.linalg.norm(v), 1e-300))).outcome == CORRECT


@pytest.mark.parametrize(("wrong", "named"), [
    (lambda v, C: v * C / np.linalg.norm(v), "you rescaled every vector to norm exactly C"),
    (lambda v, C: np.clip(v, -C, C), "you clipped each coordinate"),
    (lambda v, C: v / max(1.0, np.linalg.norm(v)), "you clipped to norm 1 whatever C is"),
    (lambda v, C: v * min(1.0, C / max(np.abs(v).sum(), 1e-300)), "you used the L1 norm"),
])
def test_q1_names_typical_mistakes(wrong, named):
    result = ex.q1.evaluate(wrong)
    assert result.outcome == INCORRECT and result.message.startswith(named), result.message


def test_q1_scaling_the_callers_vector_in_place_is_incorrect():
    def in_place(v, C):
        v *= min(1.0, C / max(np.linalg.norm(v), 1e-300))
        return v

    result = ex.q1.evaluate(in_place)
    assert result.outcome == INCORRECT and "changed its input `v` in place" in result.message


def test_q2_accepts_the_package_and_an_equivalent_draw():
    def with_loc(value, sensitivity, noise_multiplier, random_state):
        rng = np.random.default_rng(random_state)
        return rng.normal(value, noise_multiplier * sensitivity, size=np.shape(value))

    def package(value, sensitivity, noise_multiplier, random_state):
        return privacy.gaussian_mechanism(value, sensitivity=sensitivity,
                                          noise_multiplier=noise_multiplier,
                                          random_state=random_state)

    assert ex.q2.evaluate(with_loc).outcome == CORRECT
    assert ex.q2.evaluate(package).outcome == CORRECT


def _seeded(noise):
    def release(value, sensitivity, noise_multiplier, random_state):
        rng = np.random.default_rng(random_state)
        return value + noise(rng, value, sensitivity, noise_multiplier)
    return release


@pytest.mark.parametrize(("wrong", "named"), [
    (_seeded(lambda g, v, s, m: g.normal(0, m, size=np.shape(v))),
     "the noise std is the noise multiplier alone"),
    (_seeded(lambda g, v, s, m: g.normal(0, (m * s) ** 2, size=np.shape(v))),
     "you passed the variance"),
    (_seeded(lambda g, v, s, m: g.normal(0, m * s)), "you drew one noise number"),
    (lambda v, s, m, r: v, "no noise was added"),
])
def test_q2_names_typical_mistakes(wrong, named):
    result = ex.q2.evaluate(wrong)
    assert result.outcome == INCORRECT and result.message.startswith(named), result.message


def test_q2_a_mistake_that_divides_by_the_noise_multiplier_is_not_tried_at_zero_noise():
    """The case without noise is where that model would divide by zero: it is skipped."""
    [divides] = [m for m in ex.q2.mistakes if m.message.startswith("you divided the")]
    cases = ex.q2.cases(np.random.default_rng(ex.q2.seed))
    assert [args[2] for args in cases if not divides.applies(*args)] == [0.0]
    result = ex.q2.evaluate(_seeded(lambda g, v, s, m: g.normal(0, s / m, size=np.shape(v))))
    assert result.message.startswith("you divided the sensitivity by the noise multiplier")


def test_q3_accepts_the_accountant():
    assert (
        ex.q3.evaluate(
            lambda sigma, delta, orders: privacy.epsilon(
                noise_multiplier=sigma, sample_rate=1.0, steps=1, delta=delta, orders=orders
            )
        ).outcome
        == CORRECT
    )


def _q3_wrong(rdp, convert, pick=np.min):
    def wrong(sigma, delta, orders):
        a = np.asarray(orders, dtype=float)
        return float(pick(convert(rdp(a, sigma), a, delta)))

    return wrong


def _improved(r, a, d):
    return r + np.log1p(-1 / a) - (np.log(d) + np.log(a)) / (a - 1)


@pytest.mark.parametrize(
    ("wrong", "named"),
    [
        (
            _q3_wrong(lambda a, s: a / (2 * s**2), lambda r, a, d: r + np.log(1 / d) / (a - 1)),
            "that is Mironov's original conversion",
        ),
        (
            _q3_wrong(lambda a, s: a / s**2, _improved),
            "the RDP of the Gaussian mechanism is alpha / (2 sigma^2): you forgot the 2",
        ),
        (
            _q3_wrong(lambda a, s: a / (2 * s**2), _improved, pick=np.max),
            "you took the largest epsilon",
        ),
    ],
)
def test_q3_names_typical_mistakes(wrong, named):
    result = ex.q3.evaluate(wrong)
    assert result.outcome == INCORRECT and result.message.startswith(named), result.message


def test_hints_exist():
    for exercise in (ex.q1, ex.q2, ex.q3):
        assert len(exercise.hints) == 3
