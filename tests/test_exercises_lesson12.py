"""Lesson 12's checks: other right answers pass, typical mistakes are named.

The notebook's own solution and the lesson's stub are tested in test_exercises_contract.py;
the answers here are written as a learner would.
"""

import hashlib

import numpy as np
import pytest

from fedlab.exercises import CORRECT, INCORRECT, NOT_ATTEMPTED
from fedlab.exercises import lesson12 as ex
from fedlab.models.logistic import sigmoid
from fedlab.vertical import linkage_key, normalize_date, normalize_name, salted_hash


def stub(*args):
    raise NotImplementedError()


def _says(question, answer, words):
    result = question.evaluate(answer)
    assert result.outcome == INCORRECT, result
    assert words in result.message, result.message


# -- right answers, written as learners would ----------------------------------------------------


def pseudonym(name, birth_date, salt):
    return salted_hash(linkage_key(name, birth_date), salt=salt)


def pseudonym_by_hand(name, birth_date, salt):
    key = f"{normalize_name(name)}|{normalize_date(birth_date)}"
    return hashlib.sha256((salt + key).encode()).hexdigest()


def residuals(partial_predictors, own_predictor, y):
    z = own_predictor.copy()
    for u in partial_predictors:
        z = z + u
    return sigmoid(z) - y


def residuals_with_exp(partial_predictors, own_predictor, y):
    z = sum(partial_predictors) + own_predictor
    return 1 / (1 + np.exp(-z)) - y


def party_step(theta, X_party, residuals, block, lr):
    new = theta.copy()
    new[block] = theta[block] - lr * X_party.T @ residuals / len(residuals)
    return new


def party_step_by_concatenation(theta, X_party, residuals, block, lr):
    w = theta[block.start:block.stop]
    gradient = X_party.T.dot(residuals) / X_party.shape[0]
    return np.concatenate([theta[:block.start], w - lr * gradient, theta[block.stop:]])


def recover_labels(residuals):
    return (residuals < 0).astype(int)


def recover_labels_as_booleans(residuals):
    return np.where(np.sign(residuals) < 0, 1, 0)


@pytest.mark.parametrize(("question", "answer"), [
    (ex.q1, pseudonym), (ex.q1, pseudonym_by_hand), (ex.q2, residuals),
    (ex.q2, residuals_with_exp), (ex.q3, party_step), (ex.q3, party_step_by_concatenation),
    (ex.q4, recover_labels), (ex.q4, recover_labels_as_booleans)])
def test_right_answers_are_correct(question, answer):
    assert question.evaluate(answer).outcome == CORRECT


@pytest.mark.parametrize("question", [ex.q1, ex.q2, ex.q3, ex.q4])
def test_the_stub_is_not_attempted(question):
    assert question.evaluate(stub).outcome == NOT_ATTEMPTED


# -- q1: typical mistakes ----------------------------------------------------------------------


def test_q1_names_hashing_without_normalizing():
    _says(ex.q1, lambda name, birth_date, salt: hashlib.sha256(
        f"{salt}{name}|{birth_date}".encode()).hexdigest(), "as they were written")


def test_q1_names_hashing_without_normalizing_through_salted_hash():
    _says(ex.q1, lambda name, birth_date, salt: salted_hash(f"{name}|{birth_date}", salt=salt),
          "as they were written")


def test_q1_names_a_hash_without_a_secret():
    _says(ex.q1, lambda name, birth_date, salt: salted_hash(linkage_key(name, birth_date)),
          "does not depend on the salt")


def test_q1_names_the_salt_at_the_end():
    _says(ex.q1, lambda name, birth_date, salt: hashlib.sha256(
        (linkage_key(name, birth_date) + salt).encode()).hexdigest(), "after the identifier")


def test_q1_names_a_name_only_lower_cased():
    _says(ex.q1, lambda name, birth_date, salt: salted_hash(
        f"{name.strip().lower()}|{birth_date}", salt=salt), "kept its accents")


def test_q1_names_a_date_left_as_written():
    _says(ex.q1, lambda name, birth_date, salt: salted_hash(
        f"{normalize_name(name)}|{birth_date}", salt=salt), "but not the date")


def test_q1_says_a_bytes_digest_is_not_a_string():
    _says(ex.q1, lambda name, birth_date, salt: hashlib.sha256(
        (salt + linkage_key(name, birth_date)).encode()).digest(), "not a string")


# -- q2 -----------------------------------------------------------------------------------------


def test_q2_names_forgetting_the_other_parties_partial_predictors():
    _says(ex.q2, lambda partial, own, y: sigmoid(own) - y, "own predictor only")


def test_q2_names_the_sign():
    _says(ex.q2, lambda partial, own, y: y - sigmoid(sum(partial) + own), "wrong sign")


def test_q2_names_returning_the_risks():
    _says(ex.q2, lambda partial, own, y: sigmoid(sum(partial) + own),
          "returned the predicted risks")


def test_q2_names_one_sigmoid_per_party():
    _says(ex.q2, lambda partial, own, y: sum(sigmoid(u) for u in partial) + sigmoid(own) - y,
          "each party's predictor")


def test_q2_a_sum_over_patients_is_a_wrong_shape():
    result = ex.q2.evaluate(lambda partial, own, y: float(np.sum(
        sigmoid(np.sum(partial, axis=0) + own) - y)))
    assert result.outcome == INCORRECT and "single number" in result.message


# -- q3 -----------------------------------------------------------------------------------------


def test_q3_names_a_party_updating_another_partys_block():
    def first_entries(theta, X_party, residuals, block, lr):
        new = theta.copy()
        gradient = X_party.T @ residuals / len(residuals)
        new[:len(gradient)] = theta[block] - lr * gradient  # as if its block came first
        return new

    _says(ex.q3, first_entries, "changed weights outside your block")


def test_q3_names_moving_the_intercept():
    def with_intercept(theta, X_party, residuals, block, lr):
        new = party_step(theta, X_party, residuals, block, lr)
        new[-1] = new[-1] - lr * np.mean(residuals)
        return new

    _says(ex.q3, with_intercept, "also moved the intercept")


def test_q3_names_the_sum_instead_of_the_mean():
    def summed(theta, X_party, residuals, block, lr):
        new = theta.copy()
        new[block] = theta[block] - lr * X_party.T @ residuals
        return new

    _says(ex.q3, summed, "sum over patients, not the mean")


def test_q3_names_going_uphill():
    def uphill(theta, X_party, residuals, block, lr):
        new = theta.copy()
        new[block] = theta[block] + lr * X_party.T @ residuals / len(residuals)
        return new

    _says(ex.q3, uphill, "goes uphill")


def test_q3_names_returning_the_block_alone():
    _says(ex.q3, lambda theta, X, r, block, lr: theta[block] - lr * X.T @ r / len(r),
          "not the block alone")


def test_q3_an_update_in_place_is_named():
    def in_place(theta, X_party, residuals, block, lr):
        theta[block] -= lr * X_party.T @ residuals / len(residuals)
        return theta

    result = ex.q3.evaluate(in_place)
    assert result.outcome == INCORRECT and "theta" in result.message


# -- q4 -----------------------------------------------------------------------------------------


def test_q4_names_the_wrong_way_round():
    _says(ex.q4, lambda r: (r > 0).astype(int), "the wrong way round")


def test_q4_names_a_threshold_at_minus_one_half():
    _says(ex.q4, lambda r: (r < -0.5).astype(int), "compared with -0.5")


def test_q4_names_flagging_large_residuals():
    _says(ex.q4, lambda r: (np.abs(r) > 0.5).astype(int), "flagged large residuals")
