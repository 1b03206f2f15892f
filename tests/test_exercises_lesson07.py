"""Lesson 07 checks: other right answers pass, typical mistakes are named.

The notebook's own solution and the lesson's stub are tested in test_exercises_contract.py.
"""

import numpy as np
import pytest

from fedlab.exercises import CORRECT, INCORRECT, NOT_ATTEMPTED
from fedlab.exercises import lesson07 as ex
from fedlab.secagg import reconstruct as package_reconstruct
from fedlab.secagg import share
from fedlab.secagg.encoding import decode_sum, encode
from fedlab.secagg.shamir import PRIME


def stub(*args):
    raise NotImplementedError()


# q1: masks that cancel -----------------------------------------------------
def test_q1_accepts_either_sign_convention_and_numpy_integers():
    assert ex.q1.evaluate(lambda a, b, r, m: ((a - r) % m, (b + r) % m)).outcome == CORRECT
    assert ex.q1.evaluate(
        lambda a, b, r, m: (np.int64((a + r) % m), np.int64((b - r) % m))).outcome == CORRECT
    assert ex.q1.evaluate(lambda a, b, r, m: [(a + r) % m, (b - r) % m]).outcome == CORRECT


@pytest.mark.parametrize(("wrong", "named"), [
    (lambda a, b, r, m: ((a - r) % m, (b - r) % m), "both hospitals subtracted the mask"),
    (lambda a, b, r, m: ((a + r) % m, (b + r) % m), "both hospitals added the mask"),
    (lambda a, b, r, m: (a + r, b - r), "you forgot the modulus"),
    (lambda a, b, r, m: ((a + r) % m, b), "only hospital A is masked"),
])
def test_q1_names_typical_mistakes(wrong, named):
    result = ex.q1.evaluate(wrong)
    assert result.outcome == INCORRECT and result.message.startswith(named)


def test_q1_explains_unknown_wrong_answers_without_the_answer():
    swapped = ex.q1.evaluate(lambda a, b, r, m: ((b + r) % m, (a - r) % m))
    single = ex.q1.evaluate(lambda a, b, r, m: (a + b) % m)
    floats = ex.q1.evaluate(lambda a, b, r, m: ((a + r) % m + 0.5, (b - r) % m - 0.5))
    assert swapped.outcome == INCORRECT and "hide its value behind the mask" in swapped.message
    assert single.outcome == INCORRECT and "return a pair" in single.message
    assert "whole numbers" in floats.message
    off = ex.q1.evaluate(lambda a, b, r, m: ((a + r) % m, (b - r + 1) % m))
    assert off.message.endswith("must add up to x_a + x_b modulo 256, and yours do not")


# q2: fixed point ---------------------------------------------------------------
def _package_encode(x, clip_range, bits):
    return encode(x, clip_range=clip_range, bits=bits)


def _package_decode(k, clip_range, bits):
    return decode_sum(np.asarray(k), n_summands=1, clip_range=clip_range, bits=bits)


def test_q2_accepts_the_package_and_other_correct_roundings():
    def encode_round(x, clip_range, bits):  # np.round instead of np.rint: still right
        step = 2 * clip_range / (2**bits - 1)
        return np.round((np.clip(x, -clip_range, clip_range) + clip_range) / step).astype(int)

    assert ex.q2.evaluate(_package_encode, _package_decode).outcome == CORRECT
    assert ex.q2.evaluate(encode_round, _package_decode).outcome == CORRECT


def test_q2_float_levels_are_not_integer_levels():
    def encode_float(x, clip_range, bits):  # the right levels, but floats: not in the ring
        step = 2 * clip_range / (2**bits - 1)
        return np.round((np.clip(x, -clip_range, clip_range) + clip_range) / step)

    result = ex.q2.evaluate(encode_float, _package_decode)
    assert result.outcome == INCORRECT
    assert result.message.startswith("`encode`: your levels are floats"), result.message


def test_q2_stub_is_not_attempted_and_so_is_a_missing_decode():
    assert ex.q2.evaluate(stub, stub).outcome == NOT_ATTEMPTED
    result = ex.q2.evaluate(_package_encode, stub)
    assert result.outcome == NOT_ATTEMPTED and result.message.startswith("`decode`:")


@pytest.mark.parametrize(("wrong", "named"), [
    (lambda x, c, b: np.rint((np.clip(x, -c, c) + c) / (2 * c / 2**b)).astype(int),
     "off by one in the levels"),
    (lambda x, c, b: ((np.clip(x, -c, c) + c) / (2 * c / (2**b - 1))).astype(int),
     "you rounded down"),
    (lambda x, c, b: np.rint((np.asarray(x) + c) / (2 * c / (2**b - 1))).astype(int),
     "values outside [-clip_range, clip_range] must be clipped first"),
    (lambda x, c, b: np.rint(np.clip(x, -c, c) / (2 * c / (2**b - 1))).astype(int),
     "you forgot to shift by clip_range"),
])
def test_q2_names_typical_encode_mistakes(wrong, named):
    result = ex.q2.evaluate(wrong, _package_decode)
    assert result.outcome == INCORRECT and result.message.startswith("`encode`: " + named)


def test_q2_names_typical_decode_mistakes():
    result = ex.q2.evaluate(_package_encode, lambda k, c, b: np.asarray(k) * 2 * c / (2**b - 1))
    assert result.outcome == INCORRECT
    assert result.message.startswith("`decode`: you forgot to shift back")


def test_q2_check_takes_both_functions(capsys):
    ex.q2.check(_package_encode, _package_decode)
    assert "Correct" in capsys.readouterr().out
    result = ex.q2.evaluate(_package_encode)
    assert result.outcome == INCORRECT
    assert "pass the 2 functions, in this order: check(encode, decode)" in result.message


# q3: Shamir --------------------------------------------------------------------
def test_q3_the_reference_agrees_with_the_package_on_its_prime():
    shares = share(123456789, threshold=3, n_shares=5, random_state=0)
    assert ex.q3.expected((shares[1:4], PRIME)) == package_reconstruct(shares, threshold=3)
    assert ex.q3.expected((shares[1:4], PRIME)) == 123456789


def test_q3_accepts_a_learner_using_fractions():
    from fractions import Fraction

    def with_fractions(shares, prime):
        total = sum(y * np.prod([Fraction(xj, xj - x) for xj, _ in shares if xj != x])
                    for x, y in shares)
        return total.numerator * pow(total.denominator, -1, prime) % prime

    assert ex.q3.evaluate(with_fractions).outcome == CORRECT


@pytest.mark.parametrize(("wrong", "named"), [
    (ex._float_lagrange, "you divided with floats"),
    (ex._floor_division_lagrange, "integer division // is not division modulo a prime"),
    (ex._no_final_mod, "your answer is not reduced modulo the prime"),
    (ex._wrong_sign, "the Lagrange weight at 0"),
])
def test_q3_names_typical_mistakes(wrong, named):
    result = ex.q3.evaluate(wrong)
    assert result.outcome == INCORRECT and result.message.startswith(named)


def test_q3_compares_big_integers_exactly_and_never_shows_the_secret():
    def off_by_one(shares, prime):
        return (ex.q3.expected((shares, prime)) + 1) % prime

    result = ex.q3.evaluate(off_by_one)
    shares, prime = result.case
    returned = (ex.q3.expected(result.case) + 1) % prime
    assert result.message == (f"with {ex.q3.described(result.case)} you returned {returned}: "
                              "that is not right")


def test_learner_errors_are_wrapped_and_hints_exist():
    result = ex.q3.evaluate(lambda shares, prime: shares[10])
    assert result.outcome == INCORRECT and "raised IndexError" in result.message
    for q in (ex.q1, ex.q2, ex.q3):
        assert len(q.hints) >= 2
