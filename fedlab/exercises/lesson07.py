"""Checks for lesson 07, secure aggregation: masks that cancel, fixed point, Shamir shares.

``from fedlab.exercises import lesson07 as ex``, then ``ex.q1.check(mask_pair)``,
``ex.q2.check(encode, decode)`` and ``ex.q3.check(reconstruct)``.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from fedlab.exercises import FunctionExercise, FunctionsExercise, Mistake
from fedlab.exercises._compare import as_int, short
from fedlab.secagg.encoding import decode_sum
from fedlab.secagg.encoding import encode as ring_encode

__all__ = ["q1", "q2", "q3"]


# q1: masks that cancel ------------------------------------------------------
def _q1_cases(rng):
    cases = [(37, 100, 201, 256), (250, 3, 10, 256), (0, 0, 255, 256), (5, 9, 1, 16),
             (65_000, 1, 40_000, 2**16)]
    for _ in range(6):
        modulus = int(2 ** rng.integers(4, 33))
        x_a, x_b, r = (int(v) for v in rng.integers(0, modulus, size=3))
        cases.append((x_a, x_b, r, modulus))
    return cases


def _q1_judge(args, got):
    x_a, x_b, r, modulus = args
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return "return a pair, the two masked values: `return y_a, y_b`"
    y_a, y_b = (as_int(v) for v in got)
    if y_a is None or y_b is None:
        return "both masked values must be whole numbers (integers in the ring)"
    if not (0 <= y_a < modulus and 0 <= y_b < modulus):
        return f"both masked values must lie in [0, {modulus}), the ring's numbers"
    if (y_a + y_b) % modulus != (x_a + x_b) % modulus:
        return f"the masked values must add up to x_a + x_b modulo {modulus}, and yours do not"
    if r % modulus and (y_a - x_a) % modulus not in (r % modulus, -r % modulus):
        return "each hospital must hide its value behind the mask r (plus or minus r)"
    return ""


q1 = FunctionExercise(
    "masks that cancel",
    cases=_q1_cases, judge=_q1_judge, rtol=0.0, atol=0.0,
    describe=lambda a: f"x_a={a[0]}, x_b={a[1]}, r={a[2]}, modulus={a[3]}",
    mistakes=[
        Mistake(lambda x_a, x_b, r, m: ((x_a + r) % m, (x_b + r) % m),
                "both hospitals added the mask, so the server's sum holds 2r; one must add "
                "r and the other subtract it"),
        Mistake(lambda x_a, x_b, r, m: ((x_a - r) % m, (x_b - r) % m),
                "both hospitals subtracted the mask, so the server's sum is off by 2r; one "
                "must add r and the other subtract it"),
        Mistake(lambda x_a, x_b, r, m: (x_a + r, x_b - r),
                "you forgot the modulus: x_b - r can be negative and x_a + r too large, and "
                "a value outside the ring tells the server something about x"),
        Mistake(lambda x_a, x_b, r, m: ((x_a + r) % m, x_b % m),
                "only hospital A is masked: B sends its value in the clear"),
        Mistake(lambda x_a, x_b, r, m: ((x_a + r) % m, x_b - r),
                "hospital B's value is not taken modulo the modulus: x_b - r can be negative, "
                "which tells the server that x_b < r; take % modulus on both",
                applies=lambda x_a, x_b, r, m: x_b < r),
        Mistake(lambda x_a, x_b, r, m: (x_a + r, (x_b - r) % m),
                "hospital A's value is not taken modulo the modulus: x_a + r can reach past "
                "the ring, which tells the server that x_a is large; take % modulus on both",
                applies=lambda x_a, x_b, r, m: x_a + r >= m),
    ],
    hints=["Hospital A adds r, hospital B subtracts r; in the sum, r - r = 0.",
           "Work modulo `modulus`: `(x + r) % modulus` stays in [0, modulus), and so "
           "does `(x - r) % modulus` in Python, even when x - r < 0.",
           "In code:\n    return (x_a + r) % modulus, (x_b - r) % modulus"])


# q2: fixed point ------------------------------------------------------------
def _encode(x, clip_range, bits):
    """fedlab's fixed-point encoding for one client (its precision: ``bits``)."""
    return ring_encode(x, clip_range=clip_range, bits=bits, n_clients=1)


def _decode(k, clip_range, bits):
    """fedlab's decoding of one client's levels (a sum of one)."""
    return decode_sum(np.asarray(k), n_summands=1, clip_range=clip_range, bits=bits)


def _encode_cases(rng):
    # no value falls exactly halfway between two levels (x = 0 would, for every bits),
    # so every correct way of rounding to the nearest level agrees
    cases = [(np.array([-1.0, -0.5, 0.01, 0.3, 1.0]), 1.0, 8),
             (np.array([-3.0, 0.1, 0.7, 2.5]), 2.0, 8),  # -3 and 2.5 lie outside
             (np.array([0.123456, -0.000042]), 0.5, 16)]
    for _ in range(3):
        clip_range = float(rng.choice([0.5, 1.0, 4.0]))
        x = rng.uniform(-clip_range, clip_range, size=6)
        cases.append((x, clip_range, int(rng.integers(8, 21))))
    return cases


def _decode_cases(rng):
    cases = [(np.array([0, 1, 127, 128, 255]), 1.0, 8), (np.array([3, 65_000]), 0.5, 16)]
    for _ in range(3):
        bits = int(rng.integers(8, 21))
        cases.append((rng.integers(0, 2**bits, size=5), float(rng.choice([0.5, 1.0, 4.0])),
                      bits))
    return cases


q2 = FunctionsExercise(
    "fixed point in the ring",
    parts={
        "encode": FunctionExercise(
            "encode", reference=_encode, cases=_encode_cases,
            mistakes=[
                Mistake(lambda x, c, b: np.rint((np.clip(x, -c, c) + c) / (2 * c / 2**b)),
                        "off by one in the levels: bits bits give 2**bits levels, 0 to "
                        "2**bits - 1, so the step is 2 * clip_range / (2**bits - 1)"),
                Mistake(lambda x, c, b: np.floor((np.clip(x, -c, c) + c)
                                                 / (2 * c / (2**b - 1))),
                        "you rounded down (floor or int()); round to the nearest level with "
                        "np.rint so the error is at most half a step"),
                Mistake(lambda x, c, b: np.rint((np.asarray(x) + c) / (2 * c / (2**b - 1))),
                        "values outside [-clip_range, clip_range] must be clipped first "
                        "(np.clip), or they land outside the levels"),
                Mistake(lambda x, c, b: np.rint(np.clip(x, -c, c) / (2 * c / (2**b - 1))),
                        "you forgot to shift by clip_range: negative values must become "
                        "levels >= 0, so add clip_range before dividing by the step"),
                Mistake(lambda x, c, b: np.rint((np.clip(x, -c, c) + c) / (2 * c / (2**b - 1))),
                        "your levels are floats (np.rint keeps the float type): the ring holds "
                        "integers, so turn them into whole numbers with .astype(int)"),
            ]),
        "decode": FunctionExercise(
            "decode", reference=_decode, cases=_decode_cases,
            mistakes=[
                Mistake(lambda k, c, b: np.asarray(k) * (2 * c / (2**b - 1)),
                        "you forgot to shift back: subtract clip_range after multiplying by "
                        "the step"),
                Mistake(lambda k, c, b: np.asarray(k) * (2 * c / 2**b) - c,
                        "off by one in the levels: the step is 2 * clip_range / "
                        "(2**bits - 1)"),
                Mistake(lambda k, c, b: np.asarray(k) * (2 * c / (2**b - 1)) + c,
                        "you added clip_range: encoding added it, so decoding subtracts it"),
                Mistake(lambda k, c, b: np.asarray(k) / (2 * c / (2**b - 1)) - c,
                        "you divided by the step: encoding divided by it, so decoding "
                        "multiplies"),
            ]),
    },
    hints=["There are 2**bits levels, 0 to 2**bits - 1, spread evenly over "
           "[-clip_range, clip_range]: the step is 2 * clip_range / (2**bits - 1).",
           "encode: clip, add clip_range, divide by the step, round with np.rint, make it "
           "int. decode: multiply by the step, subtract clip_range.",
           "encode, in code:\n"
           "    step = 2 * clip_range / (2**bits - 1)\n"
           "    levels = np.rint((np.clip(x, -clip_range, clip_range) + clip_range) / step)"
           ".astype(int)"])


# q3: Shamir reconstruction --------------------------------------------------
def _secret(shares, prime):
    """The polynomial through the shares, in exact fractions, at 0; then taken mod ``prime``.

    Interpolating over the rationals and reducing at the end gives the field's answer,
    since every denominator (a product of differences of distinct x < prime) is invertible.
    """
    value = Fraction(0)
    for i, (x_i, y_i) in enumerate(shares):
        weight = Fraction(1)
        for j, (x_j, _) in enumerate(shares):
            if j != i:
                weight *= Fraction(x_j, x_j - x_i)
        value += y_i * weight
    return value.numerator * pow(value.denominator, -1, prime) % prime


def _shares(secret, threshold, n, prime, rng):
    coeffs = [secret] + [int(rng.integers(0, 2**62)) % prime for _ in range(threshold - 1)]
    return [(x, sum(c * x**k for k, c in enumerate(coeffs)) % prime) for x in range(1, n + 1)]


def _q3_cases(rng):
    cases = []
    for prime, threshold, n in ((257, 3, 5), (257, 1, 3), (65_537, 2, 4), (2**31 - 1, 4, 6),
                                (2**61 - 1, 3, 5), (2**127 - 1, 5, 7)):
        secret = int(rng.integers(0, min(prime, 2**62)))
        shares = _shares(secret, threshold, n, prime, rng)
        order = rng.permutation(n)
        k = int(rng.integers(threshold, n + 1))
        cases.append(([shares[i] for i in order[:k]], prime))
    return cases


def _float_lagrange(shares, prime):
    total = 0.0
    for i, (x_i, y_i) in enumerate(shares):
        weight = 1.0
        for j, (x_j, _) in enumerate(shares):
            if j != i:
                weight *= x_j / (x_j - x_i)
        total += y_i * weight
    return round(total) % prime


def _floor_division_lagrange(shares, prime):
    total = 0
    for i, (x_i, y_i) in enumerate(shares):
        num, den = 1, 1
        for j, (x_j, _) in enumerate(shares):
            if j != i:
                num *= -x_j
                den *= x_i - x_j
        total += y_i * num // den
    return total % prime


def _no_final_mod(shares, prime):
    total = 0
    for i, (x_i, y_i) in enumerate(shares):
        num, den = 1, 1
        for j, (x_j, _) in enumerate(shares):
            if j != i:
                num = num * (-x_j) % prime
                den = den * (x_i - x_j) % prime
        total += y_i * num * pow(den, -1, prime)
    return total


def _no_mod_at_all(shares, prime):
    total = 0
    for i, (x_i, y_i) in enumerate(shares):
        num, den = 1, 1
        for j, (x_j, _) in enumerate(shares):
            if j != i:
                num *= -x_j
                den *= x_i - x_j
        total += y_i * num * pow(den, -1, prime)
    return total


def _float_inverse(shares, prime):
    total = 0.0
    for i, (x_i, y_i) in enumerate(shares):
        num, den = 1, 1
        for j, (x_j, _) in enumerate(shares):
            if j != i:
                num *= -x_j
                den *= x_i - x_j
        total += y_i * num * pow(den, -1)
    return total % prime


def _wrong_sign(shares, prime):
    total = 0
    for i, (x_i, y_i) in enumerate(shares):
        num, den = 1, 1
        for j, (x_j, _) in enumerate(shares):
            if j != i:
                num = num * x_j % prime
                den = den * (x_i - x_j) % prime
        total += y_i * num * pow(den, -1, prime)
    return total % prime


q3 = FunctionExercise(
    "Shamir: rebuild the secret",
    reference=_secret, cases=_q3_cases,
    describe=lambda a: f"shares={short(a[0], 60)}, prime={a[1]}",
    mistakes=[
        Mistake(_float_lagrange,
                "you divided with floats: in a prime field there are no fractions, divide "
                "by multiplying with the modular inverse, pow(den, -1, prime)"),
        Mistake(_floor_division_lagrange,
                "integer division // is not division modulo a prime; multiply by the "
                "modular inverse pow(den, -1, prime) instead"),
        Mistake(_no_final_mod,
                "your answer is not reduced modulo the prime: take % prime at the end"),
        Mistake(_no_mod_at_all,
                "you never took % prime: the secret is a number of the field, 0 to prime - "
                "1, so reduce the sum modulo the prime (at the end, or at every step)"),
        Mistake(_float_inverse,
                "pow(den, -1) without the prime is the float 1 / den: give pow the prime as "
                "its third argument, pow(den, -1, prime), the inverse in the field"),
        Mistake(_wrong_sign,
                "the Lagrange weight at 0 is prod (0 - x_j) / (x_i - x_j): the numerator "
                "is -x_j, not x_j (or flip the denominator to x_j - x_i)"),
    ],
    hints=["The secret is f(0). Lagrange: f(0) = sum_i y_i * prod_{j != i} "
           "(0 - x_j) / (x_i - x_j), everything modulo the prime.",
           "Division modulo a prime p is multiplication by the inverse: "
           "a / b = a * pow(b, -1, p) % p (Python 3.8+).",
           "In code:\n"
           "    secret = 0\n"
           "    for i, (x_i, y_i) in enumerate(shares):\n"
           "        num, den = 1, 1\n"
           "        for j, (x_j, _) in enumerate(shares):\n"
           "            if j != i:\n"
           "                num, den = num * -x_j, den * (x_i - x_j)\n"
           "        secret += y_i * num * pow(den, -1, prime)\n"
           "    return secret % prime"])
