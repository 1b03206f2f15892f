"""Exact secure sums of a site's counts, sums and sums of squares: fixed-point digits.

Under ``secure-aggregation`` a site's setup reply (its sizes, its event count and, per
feature, the count, sum and sum of squares of its observed values) leaves the node only
masked by SecAgg+ (:func:`fedlab.flower.secure.secure_totals`), so the ServerApp learns
only the totals over the sites. These quantities add up across sites; a mean or an
``M2`` does not.

SecAgg+ sums integers of 22 bits (Flower's quantization range ``2**22`` in a ring of
``2**32``). To sum float64 values *exactly* each value ``v`` is written as the integer
``V = v * 2**1074`` (exact: every float64 is a multiple of ``2**-1074``) in two's
complement modulo ``2**(21 L)`` and sent as its ``L`` digits of 21 bits, each one an
entry of the masked vector that SecAgg+ quantizes without rounding (clipping range
``2**21``: an integer lands on the grid). The server adds the digit sums back with
their weights ``2**(21 i)``: the total of the sites' values, exactly, for up to
``MAX_SITES`` sites. What it learns besides the totals: how many carries each digit's
sum produced (at most ``log2(K)`` bits per digit about how the sites' low-order digits
add up), as any fixed-point secure sum reveals at its rounding.

Numerical stability: the mean and variance are computed from the exact totals in
rational arithmetic, and rounded once to float64. Each site's own float64 sums carry its
rounding (relative ``~n 2**-53``); when a feature's mean is large compared with its
spread (``mean**2 > 2**20 var``), the sum of squares loses those digits, so a second
secure sum, centred on the first one's mean (a public reference: it is computed from
totals only), gives the spread from each site's stable ``M2``.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from fedlab._validation import InvalidParameterError
from fedlab.federated import FeatureSums

__all__ = ["DIGIT_BITS", "FRACTION_BITS", "REAL_DIGITS", "COUNT_DIGITS", "MAX_SITES",
           "CENTRE_BELOW", "encode", "decode", "setup_summands", "read_setup_totals",
           "spread_summands", "pooled_sums", "needs_centring"]

DIGIT_BITS = 21            # one SecAgg+ entry: an integer in [0, 2**21)
FRACTION_BITS = 1074       # every float64 is an integer multiple of 2**-1074
REAL_DIGITS = 101          # 21 * 101 = 2121 bits: |sum over 1024 sites| < 2**1035 fits signed
COUNT_DIGITS = 3           # counts below 2**62
MAX_SITES = 1024           # 1024 sums of 22-bit entries fit Flower's 2**32 ring
CENTRE_BELOW = 2.0 ** -20  # centre again when M2 < CENTRE_BELOW * sum of squares
_BASE = 1 << DIGIT_BITS


def encode(values, *, digits, fraction_bits=0):
    """The digits of each value's fixed-point integer: a vector of ``len(values) * digits``.

    Parameters
    ----------
    values : sequence of float or int
        Finite numbers (a float64 is exact at ``fraction_bits=1074``).
    digits : int
        Digits of ``DIGIT_BITS`` bits per value.
    fraction_bits : int, default=0

    Raises
    ------
    ValueError
        A value that is not finite, or that does not fit ``digits`` digits (signed).

    Examples
    --------
    >>> decode(encode([3, -2], digits=2) * 2, digits=2)  # two sites' digits, summed
    [Fraction(6, 1), Fraction(-4, 1)]
    """
    width = DIGIT_BITS * digits
    out = np.empty(len(values) * digits)
    for k, value in enumerate(values):
        value = float(value) if not isinstance(value, (int, np.integer)) else int(value)
        if isinstance(value, float) and not np.isfinite(value):
            raise InvalidParameterError(f"cannot sum {value!r} securely: values must be finite")
        p, q = value.as_integer_ratio() if isinstance(value, float) else (value, 1)
        integer = p * (1 << fraction_bits) // q
        if integer * q != p * (1 << fraction_bits) or abs(integer) >= 1 << (width - 11):
            raise InvalidParameterError(f"{value!r} does not fit {digits} digits of "
                                        f"{DIGIT_BITS} bits at 2**-{fraction_bits}")
        integer %= 1 << width  # two's complement
        out[k * digits:(k + 1) * digits] = [(integer >> (DIGIT_BITS * i)) & (_BASE - 1)
                                            for i in range(digits)]
    return out


def decode(digit_sums, *, digits, fraction_bits=0):
    """The exact totals (:class:`fractions.Fraction`) from the summed digits of :func:`encode`.

    ``digit_sums`` are the sums over the sites of each digit (integers below
    ``MAX_SITES * 2**21``, as floats from SecAgg+'s unmasking; rounded to integers here).
    """
    sums = np.rint(np.asarray(digit_sums, dtype=float)).astype(np.int64)
    width = DIGIT_BITS * digits
    totals = []
    for k in range(len(sums) // digits):
        integer = sum(int(d) << (DIGIT_BITS * i)
                      for i, d in enumerate(sums[k * digits:(k + 1) * digits]))
        integer %= 1 << width
        if integer >= 1 << (width - 1):
            integer -= 1 << width
        totals.append(Fraction(integer, 1 << fraction_bits))
    return totals


def setup_summands(n_train, n_test, events_train, sums):
    """A site's setup reply under secure aggregation, as one vector of digits.

    Its sizes and event count, then per feature the count of observed values, their sum
    and their sum of squares (each site's :class:`~fedlab.federated.FeatureSums`, whose
    own checks refuse a value whose square overflows, naming site and column).
    """
    counts = [int(n_train), int(n_test), int(events_train), *(int(c) for c in sums.count)]
    with np.errstate(over="raise"):
        reals = [*sums.total.tolist(), *sums.total_sq.tolist()]
    return np.concatenate([encode(counts, digits=COUNT_DIGITS),
                           encode(reals, digits=REAL_DIGITS, fraction_bits=FRACTION_BITS)])


def read_setup_totals(vector, n_features):
    """``({n_train, n_test, events_train}, count, sum, sum of squares)``: the exact totals."""
    split = (3 + n_features) * COUNT_DIGITS
    counts = [int(c) for c in decode(vector[:split], digits=COUNT_DIGITS)]
    reals = decode(vector[split:], digits=REAL_DIGITS, fraction_bits=FRACTION_BITS)
    sizes = dict(zip(("n_train", "n_test", "events_train"), counts[:3]))
    return sizes, counts[3:], reals[:n_features], reals[n_features:]


def spread_summands(sums, reference):
    """Per feature ``sum (x - r)**2 = M2 + n (mean - r)**2`` at a public reference ``r``."""
    spread = sums.m2 + sums.count * (sums.mean - np.asarray(reference, dtype=float)) ** 2
    return encode(spread.tolist(), digits=REAL_DIGITS, fraction_bits=FRACTION_BITS)


def pooled_sums(count, total, total_sq, *, centred=None, reference=None,
                feature_names=None):
    """The pooled :class:`~fedlab.federated.FeatureSums` of all sites, from exact totals.

    ``M2 = sum x**2 - (sum x)**2 / N``, or, from a centred pass,
    ``M2 = sum (x - r)**2 - (sum x - N r)**2 / N``; rational arithmetic, one rounding.

    Raises
    ------
    ValueError
        A feature with no observed value, or whose pooled spread overflows float64
        (naming the column).
    """
    out_count, mean, m2 = [], [], []
    for j, (n, s1, s2) in enumerate(zip(count, total, total_sq)):
        name = f"column '{feature_names[j]}'" if feature_names is not None else f"column {j}"
        if n == 0:
            raise InvalidParameterError(f"{name} has no observed value at any site")
        if centred is not None:
            shift = s1 - n * Fraction(float(reference[j]))
            spread = centred[j] - shift * shift / n
        else:
            spread = s2 - s1 * s1 / n
        try:
            out_count.append(float(n))
            mean.append(float(s1 / n))
            m2.append(max(float(spread), 0.0))
        except OverflowError:
            raise InvalidParameterError(f"{name}: the sites' pooled spread overflows float64; "
                                        "check the column's units or for an entry "
                                        "error") from None
    return FeatureSums(np.array(out_count), np.array(mean), np.array(m2))


def needs_centring(count, total, total_sq):
    """Whether a feature's spread is small against its sum of squares (see module notes)."""
    return any(s2 > 0 and (s2 - s1 * s1 / n) < CENTRE_BELOW * s2
               for n, s1, s2 in zip(count, total, total_sq) if n > 0)
