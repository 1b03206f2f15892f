"""X25519 key agreement with HKDF-SHA256, the KA.gen/KA.agree of Bonawitz et al. (2017)."""

import os

import numpy as np
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from fedlab._validation import InvalidParameterError

__all__ = ["KEY_BYTES", "agree", "byte_source", "generate_key", "private_key_from_int",
           "private_int", "public_bytes"]

KEY_BYTES = 32
_PURPOSES = ("channel", "mask")
_RAW = serialization.Encoding.Raw


def byte_source(random_state=None):
    """Return a function ``n -> n random bytes``.

    Parameters
    ----------
    random_state : None, int or numpy.random.Generator, default=None
        ``None`` gives the operating system's cryptographic randomness
        (``os.urandom``): what a real deployment must use. An int or a Generator
        gives reproducible bytes from numpy, for lessons and tests only: numpy's
        PCG64 is *not* a cryptographic generator.

    Examples
    --------
    >>> byte_source(0)(4) == byte_source(0)(4)
    True
    >>> len(byte_source()(32))
    32
    """
    if random_state is None:
        return os.urandom
    if isinstance(random_state, np.random.Generator):
        return random_state.bytes
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        return np.random.default_rng(random_state).bytes
    raise InvalidParameterError(
        "random_state must be None, an int or a numpy.random.Generator, "
        f"got {type(random_state).__name__}"
    )


def generate_key(random_bytes=os.urandom):
    """Generate an X25519 private key from 32 bytes of ``random_bytes``.

    Examples
    --------
    >>> key = generate_key(byte_source(0))
    >>> len(public_bytes(key))
    32
    """
    return X25519PrivateKey.from_private_bytes(random_bytes(KEY_BYTES))


def public_bytes(private_key):
    """Return the 32-byte public key of an X25519 private key."""
    return private_key.public_key().public_bytes(_RAW, serialization.PublicFormat.Raw)


def private_int(private_key):
    """Return the private key's 32 raw bytes as an int in ``[0, 2^256)``, ready to share."""
    raw = private_key.private_bytes(_RAW, serialization.PrivateFormat.Raw,
                                    serialization.NoEncryption())
    return int.from_bytes(raw, "little")


def private_key_from_int(value):
    """Rebuild the X25519 private key that :func:`private_int` turned into ``value``.

    Raises
    ------
    ValueError
        If ``value`` does not fit in 32 bytes (a corrupted reconstruction).
    """
    if not 0 <= value < 2 ** (8 * KEY_BYTES):
        raise InvalidParameterError(f"a private key is an int in [0, 2^256), got {value}")
    return X25519PrivateKey.from_private_bytes(value.to_bytes(KEY_BYTES, "little"))


def agree(private_key, peer_public, *, purpose, round_id):
    """Derive the 32-byte secret two clients share, for one purpose and one round.

    Parameters
    ----------
    private_key : X25519PrivateKey
        This side's private key.
    peer_public : bytes
        The peer's 32-byte public key.
    purpose : {"channel", "mask"}
        ``"channel"`` for the AEAD key of the pair's private channel (the paper's
        c-keys), ``"mask"`` for the seed of their pairwise mask (the s-keys).
    round_id : int
        The training round; mixed into the derivation so no key is reused.

    Returns
    -------
    bytes
        32 bytes, the same on both sides: ``agree(a, B) == agree(b, A)``.

    Notes
    -----
    ``HKDF-SHA256(X25519(sk_u, pk_v), info="fedlab-secagg|<purpose>|round=<r>")``.
    X25519's raw output is a curve point's coordinate, not a uniform string;
    HKDF (RFC 5869) turns it into one.

    References
    ----------
    .. [1] Bonawitz et al., "Practical Secure Aggregation for Privacy-Preserving
       Machine Learning", CCS 2017, Section 3 (key agreement).
    .. [2] RFC 7748 (X25519) and RFC 5869 (HKDF).

    Examples
    --------
    >>> rand = byte_source(1)
    >>> a, b = generate_key(rand), generate_key(rand)
    >>> ab = agree(a, public_bytes(b), purpose="mask", round_id=0)
    >>> ab == agree(b, public_bytes(a), purpose="mask", round_id=0)
    True
    >>> ab == agree(a, public_bytes(b), purpose="mask", round_id=1)
    False
    """
    if purpose not in _PURPOSES:
        raise InvalidParameterError(f"purpose must be one of {_PURPOSES}, got {purpose!r}")
    shared = private_key.exchange(X25519PublicKey.from_public_bytes(peer_public))
    info = f"fedlab-secagg|{purpose}|round={int(round_id)}".encode()
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=info).derive(shared)
