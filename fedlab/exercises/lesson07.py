"""Checks for lesson 07, secure aggregation: masks that cancel, fixed point, Shamir shares.

``from fedlab.exercises import lesson07 as ex``, then ``ex.q1.check(mask_pair)``,
``ex.q2.check(encode, decode)`` and ``ex.q3.check(reconstruct)``.
"""

from __future__ import annotations

import numpy as np

from fedlab.exercises._core import (
    CORRECT,
    INCORRECT,
    NOT_ATTEMPTED,
    FunctionExercise,
    Mistake,
    Result,
    _difference,
    _short,
)

__all__ = ["q1", "q2", "q3"]


class _JudgedExercise(FunctionExercise):
    """A function exercise whose answers are judged by ``judge(args, got)``, not equality.

    ``judge`` returns ``""`` for a right answer and a description of what is wrong
    otherwise; a mistake is named when the learner's output equals the mistake's.
    """

    def __init__(self, title, *, judge, same=None, **kwargs):
        super().__init__(title, **kwargs)
        self.judge = judge
        self.same = same or (lambda a, b: not _difference(a, b, self.rtol, self.atol))

    def evaluate(self, answer):
        if not callable(answer):
            return Result(INCORRECT, f"expected a function, got {_short(answer)}; pass the "
                                     "function itself, without calling it")
        for args in self.cases(np.random.default_rng(self.seed)):
            outcome = _call(answer, args, self.describe)
            if isinstance(outcome, Result):
                return outcome
            problem = self.judge(args, outcome)
            if problem:
                return Result(INCORRECT, self._name_mistake(args, outcome, problem))
        return Result(CORRECT)

    def _name_mistake(self, args, got, problem):
        for mistake in self.mistakes:
            try:
                wrong = mistake.wrong(*args)
                matches = self.same(got, wrong)
            except Exception:  # a mistake model that does not apply to this case
                continue
            if matches:
                return f"{mistake.message} (with {self.describe(args)} you returned " \
                       f"{_short(got)})"
        return f"with {self.describe(args)}: {problem}"


def _call(function, args, describe):
    """The learner's output, or the Result that says why there is none."""
    try:
        return function(*(np.array(a) if isinstance(a, np.ndarray) else a for a in args))
    except NotImplementedError:
        return Result(NOT_ATTEMPTED, "replace `raise NotImplementedError()` with your code, "
                                     "then check again")
    except Exception as err:  # the learner's code may raise anything
        return Result(INCORRECT, f"calling your function with {describe(args)} raised "
                                 f"{type(err).__name__}: {err}")


def _as_int(value):
    """``value`` as a Python int if it is an integer (numpy or not), else ``None``."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    return None


# q1: masks that cancel ------------------------------------------------------
def mask_pair(x_a, x_b, r, modulus):
    """Reference: hospital A adds the shared mask ``r``, hospital B subtracts it."""
    return (x_a + r) % modulus, (x_b - r) % modulus


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
        return f"expected a pair (y_a, y_b), got {_short(got)}"
    y_a, y_b = (_as_int(v) for v in got)
    if y_a is None or y_b is None:
        return f"expected two integers, got {_short(got)}"
    if not (0 <= y_a < modulus and 0 <= y_b < modulus):
        return f"both masked values must lie in [0, {modulus}), got ({y_a}, {y_b})"
    if (y_a + y_b) % modulus != (x_a + x_b) % modulus:
        return (f"the masked values must add up to x_a + x_b modulo {modulus}, which is "
                f"{(x_a + x_b) % modulus}; yours add up to {(y_a + y_b) % modulus}")
    if r % modulus and (y_a - x_a) % modulus not in (r % modulus, -r % modulus):
        return "each hospital must hide its value behind the mask r (plus or minus r)"
    return ""


q1 = _JudgedExercise(
    "masks that cancel",
    reference=mask_pair, cases=_q1_cases, judge=_q1_judge, rtol=0.0, atol=0.0,
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
    ],
    hints=["Hospital A adds r, hospital B subtracts r; in the sum, r - r = 0.",
           "Work modulo `modulus`: `(x + r) % modulus` stays in [0, modulus), and so "
           "does `(x - r) % modulus` in Python, even when x - r < 0.",
           "return (x_a + r) % modulus, (x_b - r) % modulus"],
    solution=mask_pair)


# q2: fixed point ------------------------------------------------------------
def encode(x, clip_range, bits):
    """Reference: clip, shift to [0, 2c], divide by the step, round to the nearest level."""
    levels = 2**bits - 1
    step = 2 * clip_range / levels
    clipped = np.clip(np.asarray(x, dtype=float), -clip_range, clip_range)
    return np.rint((clipped + clip_range) / step).astype(np.int64)


def decode(k, clip_range, bits):
    """Reference: level times step, shifted back by ``clip_range``."""
    step = 2 * clip_range / (2**bits - 1)
    return np.asarray(k, dtype=float) * step - clip_range


class _EncodeDecode(FunctionExercise):
    """Checks ``encode`` against the reference, then ``decode``, then the round trip."""

    def __init__(self, title, *, decode_mistakes, **kwargs):
        super().__init__(title, **kwargs)
        self.decode_mistakes = tuple(decode_mistakes)

    def check(self, encode, decode=None):
        """Check the learner's ``encode`` and ``decode`` functions."""
        return super().check((encode, decode))

    def evaluate(self, answer):
        if not isinstance(answer, tuple):
            answer = (answer, None)
        encode_fn, decode_fn = answer
        for name, fn in (("encode", encode_fn), ("decode", decode_fn)):
            if not callable(fn):
                return Result(INCORRECT, f"pass both functions, ex.q2.check(encode, decode); "
                                         f"{name} is {_short(fn)}")
        cases = self.cases(np.random.default_rng(self.seed))
        for fn, reference, mistakes, what in (
                (encode_fn, encode, self.mistakes, "encode"),
                (decode_fn, decode, self.decode_mistakes, "decode")):
            for x, clip_range, bits in cases:
                args = (x, clip_range, bits) if what == "encode" else \
                    (encode(x, clip_range, bits), clip_range, bits)
                got = _call(fn, args, self.describe)
                if isinstance(got, Result):
                    return Result(got.outcome, f"{what}: {got.message}")
                problem = _difference(got, reference(*args), self.rtol, self.atol)
                if problem:
                    return Result(INCORRECT, f"{what}: " + self._named(args, got, problem,
                                                                       mistakes))
        x, clip_range, bits = cases[0]
        back = decode_fn(encode_fn(x, clip_range, bits), clip_range, bits)
        step = 2 * clip_range / (2**bits - 1)
        if np.abs(np.asarray(back) - np.clip(x, -clip_range, clip_range)).max() > step / 2 + 1e-9:
            return Result(INCORRECT, "decode(encode(x)) should be within half a step of x")
        return Result(CORRECT)

    def _named(self, args, got, problem, mistakes):
        for mistake in mistakes:
            try:
                wrong = mistake.wrong(*args)
            except Exception:
                continue
            if not _difference(got, wrong, self.rtol, self.atol):
                return f"{mistake.message} (with {self.describe(args)} you returned " \
                       f"{_short(got)})"
        return f"with {self.describe(args)}: {problem}"


def _q2_cases(rng):
    # no value falls exactly halfway between two levels (x = 0 would, for every bits),
    # so every correct way of rounding to the nearest level agrees
    cases = [(np.array([-1.0, -0.5, 0.01, 0.3, 1.0]), 1.0, 8),
             (np.array([-3.0, 0.1, 0.7, 2.5]), 2.0, 4),  # -3 and 2.5 lie outside
             (np.array([0.123456, -0.000042]), 0.5, 16)]
    for _ in range(3):
        clip_range = float(rng.choice([0.5, 1.0, 4.0]))
        x = rng.uniform(-clip_range, clip_range, size=6)
        cases.append((x, clip_range, int(rng.integers(3, 20))))
    return cases


def _describe_q2(args):
    x, clip_range, bits = args
    return f"x={_short(np.asarray(x), 60)}, clip_range={clip_range}, bits={bits}"


q2 = _EncodeDecode(
    "fixed point in the ring",
    reference=encode, cases=_q2_cases, describe=_describe_q2,
    mistakes=[
        Mistake(lambda x, c, b: np.rint((np.clip(x, -c, c) + c) / (2 * c / 2**b)),
                "off by one in the levels: bits bits give 2**bits levels, 0 to "
                "2**bits - 1, so the step is 2 * clip_range / (2**bits - 1)"),
        Mistake(lambda x, c, b: np.floor((np.clip(x, -c, c) + c) / (2 * c / (2**b - 1))),
                "you rounded down (floor or int()); round to the nearest level with np.rint "
                "so the error is at most half a step"),
        Mistake(lambda x, c, b: np.rint((np.asarray(x) + c) / (2 * c / (2**b - 1))),
                "values outside [-clip_range, clip_range] must be clipped first (np.clip), "
                "or they land outside the levels"),
        Mistake(lambda x, c, b: np.rint(np.clip(x, -c, c) / (2 * c / (2**b - 1))),
                "you forgot to shift by clip_range: negative values must become levels "
                ">= 0, so add clip_range before dividing by the step"),
    ],
    decode_mistakes=[
        Mistake(lambda k, c, b: np.asarray(k) * (2 * c / (2**b - 1)),
                "you forgot to shift back: subtract clip_range after multiplying by the step"),
        Mistake(lambda k, c, b: np.asarray(k) * (2 * c / 2**b) - c,
                "off by one in the levels: the step is 2 * clip_range / (2**bits - 1)"),
    ],
    hints=["There are 2**bits levels, 0 to 2**bits - 1, spread evenly over "
           "[-clip_range, clip_range]: the step is 2 * clip_range / (2**bits - 1).",
           "encode: clip, add clip_range, divide by the step, round with np.rint, make it "
           "int. decode: multiply by the step, subtract clip_range.",
           "step = 2 * clip_range / (2**bits - 1); "
           "encode: np.rint((np.clip(x, -clip_range, clip_range) + clip_range) / step)"
           ".astype(int)"],
    solution=(encode, decode))


# q3: Shamir reconstruction --------------------------------------------------
def reconstruct(shares, prime):
    """Reference: Lagrange interpolation at 0, with modular inverses."""
    secret = 0
    for i, (x_i, y_i) in enumerate(shares):
        num, den = 1, 1
        for j, (x_j, _) in enumerate(shares):
            if j != i:
                num = num * (-x_j) % prime
                den = den * (x_i - x_j) % prime
        secret = (secret + y_i * num * pow(den, -1, prime)) % prime
    return secret


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


def _q3_judge(args, got):
    expected = reconstruct(*args)
    value = _as_int(got)
    if value is None:
        return f"expected an integer, got {_short(got)}"
    if value != expected:
        return f"expected {expected}, got {value}"
    return ""


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


q3 = _JudgedExercise(
    "Shamir: rebuild the secret",
    reference=reconstruct, cases=_q3_cases, judge=_q3_judge,
    same=lambda got, wrong: _as_int(got) is not None and _as_int(got) == _as_int(wrong),
    describe=lambda a: f"shares={_short(a[0], 60)}, prime={a[1]}",
    mistakes=[
        Mistake(_float_lagrange,
                "you divided with floats: in a prime field there are no fractions, divide "
                "by multiplying with the modular inverse, pow(den, -1, prime)"),
        Mistake(_floor_division_lagrange,
                "integer division // is not division modulo a prime; multiply by the "
                "modular inverse pow(den, -1, prime) instead"),
        Mistake(_no_final_mod,
                "your answer is not reduced modulo the prime: take % prime at the end"),
        Mistake(_wrong_sign,
                "the Lagrange weight at 0 is prod (0 - x_j) / (x_i - x_j): the numerator "
                "is -x_j, not x_j (or flip the denominator to x_j - x_i)"),
    ],
    hints=["The secret is f(0). Lagrange: f(0) = sum_i y_i * prod_{j != i} "
           "(0 - x_j) / (x_i - x_j), everything modulo the prime.",
           "Division modulo a prime p is multiplication by the inverse: "
           "a / b = a * pow(b, -1, p) % p (Python 3.8+).",
           "For each share i: num = prod(-x_j), den = prod(x_i - x_j) over j != i; "
           "secret += y_i * num * pow(den, -1, prime); return secret % prime."],
    solution=reconstruct)
