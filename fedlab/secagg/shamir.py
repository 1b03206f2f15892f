"""Shamir t-of-n secret sharing over a prime field (Shamir 1979), as in Bonawitz et al. (2017)."""

from functools import lru_cache

import numpy as np

from fedlab._validation import InvalidParameterError

from .keys import byte_source

__all__ = ["PRIME", "SHARE_BYTES", "InconsistentSharesError", "reconstruct", "share"]

PRIME = 2**256 + 297
"""The smallest prime above 2^256, so any 32-byte secret is a field element."""

SHARE_BYTES = (PRIME.bit_length() + 7) // 8  # 33 bytes per share value


class InconsistentSharesError(ValueError):
    """Shares that do not lie on one polynomial; ``bad_x`` names the culprits' x."""

    def __init__(self, message, bad_x):
        super().__init__(message)
        self.bad_x = tuple(bad_x)


def share(secret, *, threshold, n_shares, random_state=None):
    """Split ``secret`` into ``n_shares`` shares, any ``threshold`` of which rebuild it.

    Parameters
    ----------
    secret : int
        A field element, ``0 <= secret < PRIME``.
    threshold : int
        The number of shares needed, ``1 <= threshold <= n_shares``.
    n_shares : int
        How many shares to hand out.
    random_state : None, int or numpy.random.Generator, default=None
        Source of the polynomial's coefficients; ``None`` uses ``os.urandom``
        (see :func:`fedlab.secagg.keys.byte_source`).

    Returns
    -------
    list of (int, int)
        ``(x, f(x))`` for ``x = 1, ..., n_shares``.

    Notes
    -----
    ``f(x) = secret + a_1 x + ... + a_{t-1} x^{t-1} mod p`` with uniformly random
    ``a_i``. Any ``t`` points fix ``f`` and so ``f(0) = secret``; any ``t - 1``
    points are consistent with every possible secret, so they reveal nothing.

    References
    ----------
    .. [1] A. Shamir, "How to share a secret", Communications of the ACM 22(11), 1979.

    Examples
    --------
    >>> shares = share(42, threshold=3, n_shares=5, random_state=0)
    >>> reconstruct(shares[2:], threshold=3)
    42
    """
    _check_counts(threshold, n_shares)
    threshold, n_shares = int(threshold), int(n_shares)
    if not isinstance(secret, int) or not 0 <= secret < PRIME:
        raise InvalidParameterError(f"secret must be an int in [0, PRIME), got {secret!r}")
    random_bytes = byte_source(random_state)
    width = SHARE_BYTES + 16  # 128 extra bits make `% PRIME` uniform to within 2^-128
    pool = random_bytes(width * (threshold - 1))
    coeffs = [int.from_bytes(pool[i : i + width], "little") % PRIME
              for i in range(0, len(pool), width)]
    coeffs = [secret, *coeffs]
    out = []
    for x in range(1, n_shares + 1):
        acc = 0
        for c in reversed(coeffs):  # Horner; x is small, so reduce once at the end
            acc = acc * x + c
        out.append((x, acc % PRIME))
    return out


def reconstruct(shares, *, threshold):
    """Rebuild the secret from at least ``threshold`` shares, checking the extras.

    Parameters
    ----------
    shares : sequence of (int, int)
        Distinct ``x`` in ``[1, PRIME)``, values in ``[0, PRIME)``.
    threshold : int
        The ``threshold`` the secret was shared with.

    Returns
    -------
    int
        ``f(0)``, interpolated from the first ``threshold`` shares.

    Raises
    ------
    ValueError
        If fewer than ``threshold`` shares are given, or an ``x`` repeats.
    InconsistentSharesError
        If the shares beyond the first ``threshold`` do not all lie on the
        polynomial through the first ones. When exactly one share is off and at
        least ``threshold + 2`` are given, ``bad_x`` names it; otherwise it lists
        every ``x``, as the culprit cannot be located.

    Notes
    -----
    Lagrange interpolation at 0:
    ``f(0) = sum_i y_i prod_{j != i} x_j / (x_j - x_i) mod p``. The weights depend
    only on the ``x``s, which are the same for every secret a server rebuilds in a
    round, so they are cached. With exactly ``threshold`` shares nothing can be
    checked: any ``t`` points lie on some polynomial of degree ``t - 1``.

    Examples
    --------
    >>> shares = share(7, threshold=2, n_shares=4, random_state=1)
    >>> reconstruct(shares, threshold=2)
    7
    >>> reconstruct(shares[:1], threshold=2)
    Traceback (most recent call last):
    ...
    fedlab._validation.InvalidParameterError: need at least threshold=2 shares to reconstruct, got 1
    """
    _check_counts(threshold, threshold)
    threshold = int(threshold)
    points = [(int(x), int(y)) for x, y in shares]
    if len(points) < threshold:
        raise InvalidParameterError(
            f"need at least threshold={threshold} shares to reconstruct, got {len(points)}"
        )
    xs = tuple(x for x, _ in points)
    if len(set(xs)) != len(xs):
        raise InvalidParameterError(f"share x-coordinates must be distinct, got {sorted(xs)}")
    for x, y in points:
        if not (0 < x < PRIME and 0 <= y < PRIME):
            raise InconsistentSharesError(f"share at x={x} is not a field element", [x])
    bad = _disagreeing(points, threshold)
    if bad:
        culprits = _culprits(points, threshold)
        if len(culprits) == 1:
            message = f"share at x={culprits[0]} does not lie on the polynomial of the others"
        else:
            message = (f"shares at x={culprits} do not lie on one polynomial of degree "
                       f"{threshold - 1}, and cannot tell which are wrong")
        raise InconsistentSharesError(message, culprits)
    head = points[:threshold]
    weights = _weights(tuple(x for x, _ in head), (0,))[0]
    return sum(w * y for w, (_, y) in zip(weights, head, strict=True)) % PRIME


def _disagreeing(points, threshold):
    """Return the x of every share beyond the first ``threshold`` that is off their polynomial."""
    head, rest = points[:threshold], points[threshold:]
    if not rest:
        return []
    rows = _weights(tuple(x for x, _ in head), tuple(x for x, _ in rest))
    return [x for row, (x, y) in zip(rows, rest, strict=True)
            if sum(w * yh for w, (_, yh) in zip(row, head, strict=True)) % PRIME != y]


def _culprits(points, threshold):
    """Find the single share whose removal makes the rest consistent; else blame all."""
    if len(points) >= threshold + 2:
        suspects = [x for x, _ in points
                    if not _disagreeing([p for p in points if p[0] != x], threshold)]
        if len(suspects) == 1:
            return suspects
    return [x for x, _ in points]


@lru_cache(maxsize=64)
def _weights(xs, targets):
    """Lagrange weights: ``rows[k][i] = prod_{j != i} (z_k - x_j) / (x_i - x_j)`` mod p."""
    inverses = [pow(_product_without(xs, i, xi), -1, PRIME) for i, xi in enumerate(xs)]
    return [[_product_without(xs, i, z) * inv % PRIME for i, inv in enumerate(inverses)]
            for z in targets]


def _product_without(xs, i, z):
    """``prod_{j != i} (z - x_j)`` mod p: a numerator (z a target) or denominator (z = x_i)."""
    product = 1
    for j, xj in enumerate(xs):
        if j != i:
            product = product * (z - xj) % PRIME
    return product


def _check_counts(threshold, n_shares):
    for name, value in (("threshold", threshold), ("n_shares", n_shares)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise InvalidParameterError(f"{name} must be an int, got {type(value).__name__}")
    if not 1 <= threshold <= n_shares:
        raise InvalidParameterError(f"threshold must be between 1 and n_shares={n_shares}, got "
                                    f"{threshold}")
