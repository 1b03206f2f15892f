"""Lesson 06 checks: each accepts the solution, calls the stub not attempted, names mistakes."""

import numpy as np
import pytest

from fedlab import privacy
from fedlab.exercises import CORRECT, INCORRECT, NOT_ATTEMPTED
from fedlab.exercises import lesson06 as ex


def stub(*args):
    raise NotImplementedError()


@pytest.mark.parametrize("exercise", [ex.q1, ex.q2, ex.q3], ids=["q1", "q2", "q3"])
def test_the_stub_is_not_attempted(exercise):
    assert exercise.evaluate(stub).outcome == NOT_ATTEMPTED


def test_q4_not_computed_is_not_attempted():
    assert ex.q4.evaluate(None).outcome == NOT_ATTEMPTED


def test_q1_accepts_the_solution_and_other_correct_forms():
    assert ex.q1.evaluate(ex.clip).outcome == CORRECT
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
    with np.errstate(divide="ignore", invalid="ignore"):
        result = ex.q1.evaluate(wrong)
    assert result.outcome == INCORRECT and result.message.startswith(named), result.message


def test_q2_accepts_the_solution_and_equivalent_draws():
    assert ex.q2.evaluate(ex.gaussian_release).outcome == CORRECT

    def with_loc(value, sensitivity, noise_multiplier, random_state):
        rng = np.random.default_rng(random_state)
        return rng.normal(value, noise_multiplier * sensitivity, size=np.shape(value))

    assert ex.q2.evaluate(with_loc).outcome == CORRECT


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


def test_q3_agrees_with_the_accountant_and_accepts_the_solution():
    assert ex.q3.evaluate(ex.epsilon_by_hand).outcome == CORRECT
    for sigma, delta in ((1.0, 1e-5), (3.0, 1e-6), (0.7, 1e-3)):
        by_hand = ex.epsilon_by_hand(sigma, delta, privacy.DEFAULT_ORDERS)
        assert by_hand == pytest.approx(privacy.epsilon(sigma, 1.0, 1, delta), rel=1e-12)


def _q3_wrong(rdp, convert, pick=np.min):
    def wrong(sigma, delta, orders):
        a = np.asarray(orders, dtype=float)
        return float(pick(convert(rdp(a, sigma), a, delta)))
    return wrong


def _improved(r, a, d):
    return r + np.log1p(-1 / a) - (np.log(d) + np.log(a)) / (a - 1)


@pytest.mark.parametrize(("wrong", "named"), [
    (_q3_wrong(lambda a, s: a / (2 * s**2), lambda r, a, d: r + np.log(1 / d) / (a - 1)),
     "that is Mironov's original conversion"),
    (_q3_wrong(lambda a, s: a / s**2, _improved), "the RDP of the Gaussian mechanism is alpha / "
                                                  "(2 sigma^2): you forgot the 2"),
    (_q3_wrong(lambda a, s: a / (2 * s**2), _improved, pick=np.max),
     "you took the largest epsilon"),
])
def test_q3_names_typical_mistakes(wrong, named):
    result = ex.q3.evaluate(wrong)
    assert result.outcome == INCORRECT and result.message.startswith(named), result.message


def test_q4_accepts_the_accountants_answer_and_a_close_bisection():
    sigma = privacy.noise_multiplier_for(ex.TARGET_EPSILON, ex.SAMPLE_RATE, ex.ROUNDS, ex.DELTA)
    assert ex.q4.evaluate(sigma).outcome == CORRECT
    assert ex.q4.evaluate(sigma * 1.002).outcome == CORRECT


@pytest.mark.parametrize(("wrong", "named"), [
    (lambda: privacy.noise_multiplier_for(1.0, 1.0, 30, 1e-5), "that is the noise without "
                                                               "subsampling"),
    (lambda: privacy.noise_multiplier_for(1.0, 0.05, 1, 1e-5), "that noise meets the budget "
                                                               "for one round only"),
    (lambda: privacy.noise_multiplier_for(1 / 30, 0.05, 1, 1e-5), "you split the budget"),
])
def test_q4_names_typical_mistakes(wrong, named):
    result = ex.q4.evaluate(wrong())
    assert result.outcome == INCORRECT and result.message.startswith(named), result.message


def test_hints_and_solutions_exist(capsys):
    for exercise in (ex.q1, ex.q2, ex.q3, ex.q4):
        assert len(exercise.hints) == 3
        exercise.solution()
        assert "Solution" in capsys.readouterr().out
