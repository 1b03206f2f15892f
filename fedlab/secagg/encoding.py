"""Fixed-point encoding of float vectors into the ring Z_{2^bits}, as in Bonawitz et al. (2017)."""

import warnings

import numpy as np

from fedlab._validation import InvalidParameterError

MIN_VALUE_BITS = 8
MAX_VALUE_BITS = 52  # float64 has a 53-bit significand: finer levels would not be exact
MAX_BITS = 62

__all__ = [
    "MAX_VALUE_BITS",
    "MIN_VALUE_BITS",
    "decode_sum",
    "encode",
    "quantization_step",
    "ring_dtype",
    "value_bits",
]


def ring_dtype(bits):
    """Return the unsigned numpy dtype that holds elements of Z_{2^bits}.

    ``uint32`` when ``bits <= 32`` (half the memory and half the keystream of
    ``uint64``), ``uint64`` otherwise. Both wrap around modulo 2^32 or 2^64, and
    2^bits divides either, so plain numpy ``+`` and ``-`` followed by a mask with
    ``2^bits - 1`` is exact ring arithmetic.

    Examples
    --------
    >>> ring_dtype(16), ring_dtype(32), ring_dtype(48)
    (dtype('uint32'), dtype('uint32'), dtype('uint64'))
    """
    _check_bits(bits)
    return np.dtype(np.uint32 if bits <= 32 else np.uint64)


def value_bits(*, bits, n_clients):
    """Return q, the bits each encoded value may use so a sum of ``n_clients`` fits.

    Parameters
    ----------
    bits : int
        Width of the ring Z_{2^bits}, between 8 and 62.
    n_clients : int
        The largest number of encoded values that will ever be summed.

    Returns
    -------
    int
        ``q = min(bits - ceil(log2(n_clients)), 52)``.

    Raises
    ------
    ValueError
        If fewer than ``MIN_VALUE_BITS`` (8) bits would remain per value.

    Notes
    -----
    Each value is an integer in ``[0, 2^q - 1]``, so a sum of ``n`` of them is at
    most ``n (2^q - 1) < n 2^q <= 2^bits``: it never wraps around the ring, and the
    ring sum *is* the integer sum. ``q`` stops at 52 because a float64 holds 53
    significant bits: finer levels would not round exactly.

    Examples
    --------
    >>> value_bits(bits=32, n_clients=100)
    25
    >>> value_bits(bits=16, n_clients=1000)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    fedlab._validation.InvalidParameterError: bits=16 cannot hold the sum of 1000 clients; ...
    """
    _check_bits(bits)
    if isinstance(n_clients, bool) or not isinstance(n_clients, (int, np.integer)):
        raise InvalidParameterError(f"n_clients must be an int, got {type(n_clients).__name__}")
    if n_clients < 1:
        raise InvalidParameterError(f"n_clients must be >= 1, got {n_clients}")
    headroom = (int(n_clients) - 1).bit_length()  # ceil(log2(n)), exactly
    q = bits - headroom
    if q < MIN_VALUE_BITS:
        need = MIN_VALUE_BITS + headroom
        raise InvalidParameterError(
            f"bits={bits} cannot hold the sum of {n_clients} clients; need at least "
            f"bits={need} ({MIN_VALUE_BITS} bits per value plus {headroom} bits of "
            "headroom for the sum)"
        )
    return min(q, MAX_VALUE_BITS)


def quantization_step(*, clip_range, bits=32, n_clients=1):
    """Return the quantization step ``2 clip_range / (2^q - 1)`` of :func:`encode`.

    Examples
    --------
    >>> quantization_step(clip_range=1.0, bits=10, n_clients=4)
    0.00784313725490196
    """
    clip_range = _check_clip_range(clip_range)
    q = value_bits(bits=bits, n_clients=n_clients)
    return 2.0 * clip_range / (2**q - 1)


def encode(vector, *, clip_range, bits=32, n_clients=1):
    """Encode floats in ``[-clip_range, clip_range]`` as integers in Z_{2^bits}.

    Parameters
    ----------
    vector : array-like of shape (dim,) or (n_clients, dim)
        Finite floats. Values outside ``[-clip_range, clip_range]`` are clipped,
        with a warning.
    clip_range : float
        Half-width ``c`` of the representable interval, > 0.
    bits : int, default=32
        Width of the ring, between 8 and 62.
    n_clients : int, default=1
        The largest number of encoded vectors that will be summed; sets the
        per-value precision (see :func:`value_bits`).

    Returns
    -------
    ndarray of dtype ``ring_dtype(bits)``, same shape as ``vector``
        Integers in ``[0, 2^q - 1]``.

    Raises
    ------
    ValueError
        If ``vector`` holds NaN or infinity, or the ring is too small.

    Notes
    -----
    With ``q = value_bits(bits=bits, n_clients=n_clients)`` and step
    ``delta = 2c / (2^q - 1)``, a value ``x`` becomes
    ``round((clip(x, -c, c) + c) / delta)``: deterministic round-to-nearest, so
    the round-trip error is at most ``delta / 2``. Unbiased *stochastic* rounding
    is the usual choice when the sum feeds an estimator; with 25 bits per value
    the bias of rounding to nearest is far below anything a model notices.

    Examples
    --------
    >>> encode([-1.0, 0.0, 1.0], clip_range=1.0, bits=8)
    array([  0, 128, 255], dtype=uint32)
    """
    clip_range = _check_clip_range(clip_range)
    q = value_bits(bits=bits, n_clients=n_clients)
    x = _as_finite_floats(vector, "vector")
    top = 2**q - 1
    step = 2.0 * clip_range / top
    outside = np.count_nonzero(np.abs(x) > clip_range)
    if outside:
        warnings.warn(
            f"{outside} of {x.size} values lie outside [-{clip_range}, {clip_range}] "
            "and were clipped; raise clip_range or clip the update beforehand",
            RuntimeWarning,
            stacklevel=2,
        )
    levels = np.rint((np.clip(x, -clip_range, clip_range) + clip_range) / step)
    return np.clip(levels, 0, top).astype(ring_dtype(bits))


def decode_sum(ring_sum, *, n_summands, clip_range, bits=32, n_clients=None):
    """Turn the ring sum of ``n_summands`` encoded vectors back into a float sum.

    Parameters
    ----------
    ring_sum : array-like of shape (dim,)
        The sum modulo 2^bits of ``n_summands`` outputs of :func:`encode`.
    n_summands : int
        How many encoded vectors went into the sum (>= 1).
    clip_range, bits
        As given to :func:`encode`.
    n_clients : int, optional
        As given to :func:`encode`; defaults to ``n_summands``.

    Returns
    -------
    ndarray of float64 of shape (dim,)
        ``ring_sum * delta - n_summands * clip_range``: exactly the sum of the
        quantized inputs (up to float64 rounding).

    Raises
    ------
    ValueError
        If an element exceeds ``n_summands (2^q - 1)``, the largest sum
        ``n_summands`` encoded values can have: the inputs were not produced by
        :func:`encode` with these settings, or ``n_summands`` is wrong.

    Examples
    --------
    >>> a = encode([0.5, -0.25], clip_range=1.0, bits=16, n_clients=2)
    >>> b = encode([0.25, 0.25], clip_range=1.0, bits=16, n_clients=2)
    >>> decode_sum(a + b, n_summands=2, clip_range=1.0, bits=16).round(3)
    array([0.75, 0.  ])
    """
    if isinstance(n_summands, bool) or not isinstance(n_summands, (int, np.integer)):
        raise InvalidParameterError(f"n_summands must be an int, got {type(n_summands).__name__}")
    if n_summands < 1:
        raise InvalidParameterError(f"n_summands must be >= 1, got {n_summands}")
    n_clients = n_summands if n_clients is None else n_clients
    if n_summands > n_clients:
        raise InvalidParameterError(f"n_summands={n_summands} exceeds n_clients={n_clients}")
    step = quantization_step(clip_range=clip_range, bits=bits, n_clients=n_clients)
    q = value_bits(bits=bits, n_clients=n_clients)
    total = np.asarray(ring_sum)
    if total.dtype.kind not in "ui":
        raise InvalidParameterError(f"ring_sum must hold integers, got dtype {total.dtype}")
    largest = int(n_summands) * (2**q - 1)
    if total.size and (total.min() < 0 or int(total.max()) > largest):
        raise InvalidParameterError(
            f"ring_sum holds {int(total.max())}, above {largest}, the largest sum of "
            f"{n_summands} encoded values: inputs or n_summands are inconsistent"
        )
    return total.astype(np.float64) * step - n_summands * float(clip_range)


def _check_bits(bits):
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)):
        raise InvalidParameterError(f"bits must be an int, got {type(bits).__name__}")
    if not MIN_VALUE_BITS <= bits <= MAX_BITS:
        raise InvalidParameterError(f"bits must be between {MIN_VALUE_BITS} and {MAX_BITS}, got "
                                    f"{bits}")


def _check_clip_range(clip_range):
    if isinstance(clip_range, bool) or not isinstance(clip_range, (int, float, np.number)):
        raise InvalidParameterError(f"clip_range must be a number, got {type(clip_range).__name__}")
    if not np.isfinite(clip_range) or clip_range <= 0:
        raise InvalidParameterError(f"clip_range must be a finite number > 0, got {clip_range}")
    return float(clip_range)


def _as_finite_floats(values, name):
    try:
        x = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InvalidParameterError(f"{name} must be array-like of floats: {err}") from None
    if not np.all(np.isfinite(x)):
        raise InvalidParameterError(
            f"{name} must be finite, got {np.count_nonzero(~np.isfinite(x))} NaN or infinite values"
        )
    return x
