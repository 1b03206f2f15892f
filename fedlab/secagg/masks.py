"""Pseudorandom masks in Z_{2^bits} expanded with ChaCha20, after Bonawitz et al. (2017)."""

import numpy as np
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

from fedlab._validation import InvalidParameterError

from .encoding import ring_dtype

__all__ = ["pairwise_mask", "prg", "ring_mask"]

_NONCE = bytes(16)


def ring_mask(bits):
    """Return ``2^bits - 1`` in the ring dtype: ``x & ring_mask(bits)`` is ``x mod 2^bits``."""
    return ring_dtype(bits).type(2**bits - 1)


def prg(seed, dim, *, bits):
    """Expand a 32-byte seed into ``dim`` pseudorandom elements of Z_{2^bits}.

    Parameters
    ----------
    seed : bytes
        32 bytes, used as a ChaCha20 key.
    dim : int
        Number of ring elements.
    bits : int
        Width of the ring.

    Returns
    -------
    ndarray of shape (dim,) and dtype ``ring_dtype(bits)``

    Notes
    -----
    The keystream of ChaCha20 (RFC 8439) under key ``seed`` and an all-zero
    nonce, read as little-endian 32- or 64-bit words and reduced modulo 2^bits.
    Since 2^bits divides the word size the result is uniform on the ring. An
    all-zero nonce is safe because every seed is fresh: self-mask seeds are drawn
    per round and pairwise seeds mix the round number into their derivation.

    Examples
    --------
    >>> m = prg(bytes(32), 4, bits=32)
    >>> m.dtype, m.shape, bool((prg(bytes(32), 4, bits=32) == m).all())
    (dtype('uint32'), (4,), True)
    """
    if len(seed) != 32:
        raise InvalidParameterError(f"seed must be 32 bytes, got {len(seed)}")
    dtype = ring_dtype(bits)
    encryptor = Cipher(algorithms.ChaCha20(bytes(seed), _NONCE), mode=None).encryptor()
    keystream = encryptor.update(bytes(dim * dtype.itemsize))  # encrypt zeros
    words = np.frombuffer(keystream, dtype=dtype.newbyteorder("<"))
    words = words.astype(dtype, copy=True)  # native byte order, writeable
    if bits < 8 * dtype.itemsize:
        words &= ring_mask(bits)
    return words


def pairwise_mask(seed, dim, *, bits, own_id, peer_id):
    """Return client ``own_id``'s share of the mask it agreed with ``peer_id``.

    ``+prg(seed)`` when ``own_id < peer_id`` and ``-prg(seed)`` otherwise, so the
    two sides' masks add up to zero modulo 2^bits.

    Examples
    --------
    >>> seed = bytes(range(32))
    >>> a = pairwise_mask(seed, 5, bits=16, own_id=0, peer_id=3)
    >>> b = pairwise_mask(seed, 5, bits=16, own_id=3, peer_id=0)
    >>> ((a + b) & ring_mask(16)).tolist()
    [0, 0, 0, 0, 0]
    """
    if own_id == peer_id:
        raise InvalidParameterError(f"a client has no pairwise mask with itself (id {own_id})")
    mask = prg(seed, dim, bits=bits)
    if own_id > peer_id:
        mask = (ring_dtype(bits).type(0) - mask) & ring_mask(bits)
    return mask
