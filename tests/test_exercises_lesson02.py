"""Lesson 02's checks: each accepts the solution, names typical mistakes, sees the stub."""

import warnings

import numpy as np
import pytest
from scipy.special import expit

from fedlab import model
from fedlab.exercises import CORRECT, INCORRECT, NOT_ATTEMPTED
from fedlab.exercises import lesson02 as ex


def stub(*args):
    raise NotImplementedError()


# ---------------------------------------------------------------- q1: sigmoid

def stable_sigmoid(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


@pytest.mark.parametrize("answer", [stable_sigmoid, expit, lambda z: 0.5 * (1 + np.tanh(z / 2))],
                         ids=["two-branch", "scipy", "tanh"])
def test_q1_accepts_stable_sigmoids(answer):
    assert ex.q1.evaluate(answer).outcome == CORRECT


def test_q1_stub_is_not_attempted():
    assert ex.q1.evaluate(stub).outcome == NOT_ATTEMPTED


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

def gradient_solution(theta, X, y):
    p = expit(X @ theta[:-1] + theta[-1])
    return np.append(X.T @ (p - y) / len(y), np.mean(p - y))


def test_q2_accepts_the_solution_and_the_library():
    assert ex.q2.evaluate(gradient_solution).outcome == CORRECT
    assert ex.q2.evaluate(model.gradient).outcome == CORRECT


def test_q2_stub_is_not_attempted():
    assert ex.q2.evaluate(stub).outcome == NOT_ATTEMPTED


@pytest.mark.parametrize("wrong, says", [
    (lambda t, X, y: gradient_solution(t, X, y) * len(y), "summed over the patients"),
    (lambda t, X, y: gradient_solution(t, X, y)[:-1], "the bias needs its own component"),
    (lambda t, X, y: -gradient_solution(t, X, y), "wrong sign"),
    (lambda t, X, y: gradient_solution(np.append(t[:-1], 0.0), X, y), "leave out the bias"),
    (lambda t, X, y: np.roll(gradient_solution(np.roll(t, -1), X, y), 1),
     "first entry of theta as the bias"),
], ids=["no-mean", "no-bias", "sign", "bias-not-in-z", "bias-first"])
def test_q2_names_typical_mistakes(wrong, says):
    result = ex.q2.evaluate(wrong)
    assert result.outcome == INCORRECT and says in result.message, result.message


def test_q2_wraps_an_exception():
    result = ex.q2.evaluate(lambda t, X, y: X @ t)  # theta has one entry too many
    assert result.outcome == INCORRECT and result.message.startswith("calling your function")


# ---------------------------------------------------------------- q3: gradient descent

def descent_solution(X, y, lr, steps):
    theta = np.zeros(X.shape[1] + 1)
    for _ in range(steps):
        theta = theta - lr * model.gradient(theta, X, y)
    return theta


def test_q3_accepts_the_solution_and_sgd_with_full_batches():
    assert ex.q3.evaluate(descent_solution).outcome == CORRECT
    full_batch = lambda X, y, lr, steps: model.sgd(  # noqa: E731
        np.zeros(X.shape[1] + 1), X, y, epochs=steps, batch_size=None, lr=lr, random_state=0)
    assert ex.q3.evaluate(full_batch).outcome == CORRECT


def test_q3_stub_is_not_attempted():
    assert ex.q3.evaluate(stub).outcome == NOT_ATTEMPTED


def returns_gradient(X, y, lr, steps):
    theta = np.zeros(X.shape[1] + 1)
    for _ in range(steps):
        grad = model.gradient(theta, X, y)
        theta = theta - lr * grad
    return grad


def climbs(X, y, lr, steps):
    theta = np.zeros(X.shape[1] + 1)
    for _ in range(steps):
        theta += lr * model.gradient(theta, X, y)
    return theta


def never_updates(X, y, lr, steps):
    theta = np.zeros(X.shape[1] + 1)
    for _ in range(steps):
        theta - lr * model.gradient(theta, X, y)  # noqa: B018 - the mistake under test
    return theta


@pytest.mark.parametrize("wrong, says", [
    (returns_gradient, "you returned the gradient, not the updated weights"),
    (climbs, "you added the gradient"),
    (never_updates, "never changes"),
    (lambda X, y, lr, steps: descent_solution(X, y, 1.0, steps), "ignore the learning rate"),
    (lambda X, y, lr, steps: descent_solution(X, y, lr, steps + 1), "one step too many"),
], ids=["gradient", "ascent", "no-update", "no-lr", "off-by-one"])
def test_q3_names_typical_mistakes(wrong, says):
    result = ex.q3.evaluate(wrong)
    assert result.outcome == INCORRECT and says in result.message, result.message


# ---------------------------------------------------------------- q4: AUC by pairs

def auc_solution(y, score):
    pos, neg = score[y == 1], score[y == 0]
    return np.mean((pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :]))


def auc_loops(y, score):
    pairs = [(1.0 if p > q else 0.5 if p == q else 0.0)
             for p, t in zip(score, y) if t == 1 for q, u in zip(score, y) if u == 0]
    return sum(pairs) / len(pairs)


def test_q4_accepts_broadcasting_and_loops():
    assert ex.q4.evaluate(auc_solution).outcome == CORRECT
    assert ex.q4.evaluate(auc_loops).outcome == CORRECT


def test_q4_stub_is_not_attempted():
    assert ex.q4.evaluate(stub).outcome == NOT_ATTEMPTED


@pytest.mark.parametrize("wrong, says", [
    (lambda y, s: np.mean(s[y == 1][:, None] >= s[y == 0][None, :]),
     "tied pairs as correctly ranked"),
    (lambda y, s: np.mean(s[y == 1][:, None] > s[y == 0][None, :]),
     "tied pairs as wrongly ranked"),
    (lambda y, s: 1 - auc_solution(y, s), "flipped"),
    (lambda y, s: auc_solution(y, s) * (y == 1).sum() * (y == 0).sum() / len(y) ** 2,
     "divided by n^2"),
], ids=["ties-win", "ties-lose", "flipped", "n-squared"])
def test_q4_names_typical_mistakes(wrong, says):
    result = ex.q4.evaluate(wrong)
    assert result.outcome == INCORRECT and says in result.message, result.message


@pytest.mark.parametrize("q", [ex.q1, ex.q2, ex.q3, ex.q4], ids=["q1", "q2", "q3", "q4"])
def test_every_exercise_has_hints_and_a_solution(q, capsys):
    assert 1 <= len(q.hints) <= 3
    q.hint(1)
    q.solution()
    shown = capsys.readouterr().out
    assert "Hint 1/" in shown and "Solution:" in shown and "def " in shown
