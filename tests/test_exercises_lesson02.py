"""Lesson 02's checks: other right answers pass, typical mistakes are named.

The notebook's own solution and the lesson's stub are tested in test_exercises_contract.py;
wrong answers here are built on fedlab's functions, not on a copy of the solution.
"""

import warnings

import numpy as np
import pytest
from scipy.special import expit

from fedlab import metrics
from fedlab.exercises import CORRECT, INCORRECT
from fedlab.exercises import lesson02 as ex
from fedlab.models import logistic

# ---------------------------------------------------------------- q1: sigmoid


@pytest.mark.parametrize("answer", [expit, lambda z: 0.5 * (1 + np.tanh(z / 2))],
                         ids=["scipy", "tanh"])
def test_q1_accepts_stable_sigmoids(answer):
    assert ex.q1.evaluate(answer).outcome == CORRECT


def test_q1_names_the_sign_error():
    result = ex.q1.evaluate(lambda z: 1 / (1 + np.exp(z)))
    assert result.outcome == INCORRECT
    assert result.message.startswith("your sigmoid goes down as z grows")


def test_q1_names_overflow_of_the_textbook_formula_and_prints_nothing():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning leaking out of the check would fail here
        result = ex.q1.evaluate(lambda z: 1 / (1 + np.exp(-z)))
    assert result.outcome == INCORRECT
    assert "overflow encountered in exp" in result.message and "-1000" in result.message


def test_q1_a_sigmoid_that_raises_on_extreme_inputs_is_reported():
    def refuses_extremes(z):
        if np.abs(z).max() > 700:
            raise OverflowError("z too large")
        return expit(z)

    result = ex.q1.evaluate(refuses_extremes)
    assert "raised OverflowError: z too large" in result.message and "-1000" in result.message


def test_q1_names_overflow_hidden_in_an_unused_np_where_branch():
    result = ex.q1.evaluate(
        lambda z: np.where(z >= 0, 1 / (1 + np.exp(-z)), np.exp(z) / (1 + np.exp(z))))
    assert result.outcome == INCORRECT and "np.where computes both" in result.message


def test_q1_names_nan_for_large_positive_z():
    result = ex.q1.evaluate(lambda z: np.exp(z) / (1 + np.exp(z)))
    assert result.outcome == INCORRECT and "returns nan" in result.message


def test_q1_names_a_missing_one():
    assert "forget the 1 +" in ex.q1.evaluate(np.exp).message


# ---------------------------------------------------------------- q2: gradient

def test_q2_accepts_the_library_and_per_patient_gradients():
    assert ex.q2.evaluate(logistic.gradient).outcome == CORRECT
    assert ex.q2.evaluate(
        lambda t, X, y: logistic.per_example_gradients(t, X, y).mean(axis=0)).outcome == CORRECT


@pytest.mark.parametrize("wrong, says", [
    (lambda t, X, y: logistic.gradient(t, X, y) * len(y), "summed over the patients"),
    (lambda t, X, y: logistic.gradient(t, X, y)[:-1], "the bias needs its own component"),
    (lambda t, X, y: -logistic.gradient(t, X, y), "wrong sign"),
    (lambda t, X, y: logistic.gradient(np.append(t[:-1], 0.0), X, y), "leave out the bias"),
    (lambda t, X, y: np.roll(logistic.gradient(np.roll(t, -1), X, y), 1),
     "first entry of theta as the bias"),
], ids=["no-mean", "no-bias", "sign", "bias-not-in-z", "bias-first"])
def test_q2_names_typical_mistakes(wrong, says):
    result = ex.q2.evaluate(wrong)
    assert result.outcome == INCORRECT and says in result.message, result.message


def test_q2_wraps_an_exception():
    result = ex.q2.evaluate(lambda t, X, y: X @ t)  # theta has one entry too many
    assert result.outcome == INCORRECT and result.message.startswith("calling your function")


# ---------------------------------------------------------------- q3: gradient descent

def descent(X, y, lr, steps):
    """fedlab's full-batch training: what gradient descent gives (not the notebook's code)."""
    return logistic.sgd(np.zeros(X.shape[1] + 1), X, y, epochs=steps, batch_size=None, lr=lr,
                     random_state=0)


def test_q3_accepts_a_while_loop_with_in_place_steps_on_its_own_array():
    def in_place(X, y, lr, steps):
        theta, done = np.zeros(X.shape[1] + 1), 0
        while done < steps:
            theta -= lr * logistic.gradient(theta, X, y)  # theta is this function's own array
            done += 1
        return theta

    assert ex.q3.evaluate(in_place).outcome == CORRECT


def returns_gradient(X, y, lr, steps):
    theta = np.zeros(X.shape[1] + 1)
    for _ in range(steps):
        grad = logistic.gradient(theta, X, y)
        theta = theta - lr * grad
    return grad


def climbs(X, y, lr, steps):
    theta = np.zeros(X.shape[1] + 1)
    for _ in range(steps):
        theta += lr * logistic.gradient(theta, X, y)
    return theta


def never_updates(X, y, lr, steps):
    theta = np.zeros(X.shape[1] + 1)
    for _ in range(steps):
        theta - lr * logistic.gradient(theta, X, y)
    return theta


@pytest.mark.parametrize("wrong, says", [
    (returns_gradient, "you returned the gradient, not the updated weights"),
    (climbs, "you added the gradient"),
    (never_updates, "never changes"),
    (lambda X, y, lr, steps: descent(X, y, 1.0, steps), "ignore the learning rate"),
    (lambda X, y, lr, steps: descent(X, y, lr, steps + 1), "one step too many"),
], ids=["gradient", "ascent", "no-update", "no-lr", "off-by-one"])
def test_q3_names_typical_mistakes(wrong, says):
    result = ex.q3.evaluate(wrong)
    assert result.outcome == INCORRECT and says in result.message, result.message


# ---------------------------------------------------------------- q4: AUC by pairs

def auc_loops(y, score):
    pairs = [(1.0 if p > q else 0.5 if p == q else 0.0)
             for p, t in zip(score, y) if t == 1 for q, u in zip(score, y) if u == 0]
    return sum(pairs) / len(pairs)


def test_q4_accepts_loops_and_scikit_learn():
    from sklearn.metrics import roc_auc_score

    assert ex.q4.evaluate(auc_loops).outcome == CORRECT
    assert ex.q4.evaluate(roc_auc_score).outcome == CORRECT


@pytest.mark.parametrize("wrong, says", [
    (lambda y, s: np.mean(s[y == 1][:, None] >= s[y == 0][None, :]),
     "tied pairs as correctly ranked"),
    (lambda y, s: np.mean(s[y == 1][:, None] > s[y == 0][None, :]),
     "tied pairs as wrongly ranked"),
    (lambda y, s: 1 - metrics.roc_auc(y, s), "flipped"),
    (lambda y, s: metrics.roc_auc(y, s) * (y == 1).sum() * (y == 0).sum() / len(y) ** 2,
     "divided by n^2"),
], ids=["ties-win", "ties-lose", "flipped", "n-squared"])
def test_q4_names_typical_mistakes(wrong, says):
    result = ex.q4.evaluate(wrong)
    assert result.outcome == INCORRECT and says in result.message, result.message


@pytest.mark.parametrize("q", [ex.q1, ex.q2, ex.q3, ex.q4], ids=["q1", "q2", "q3", "q4"])
def test_every_exercise_has_tiered_hints(q, capsys):
    assert 1 <= len(q.hints) <= 3
    q.hint(1)
    assert "Hint 1/" in capsys.readouterr().out
