"""Residuals encrypted under a coordinator's Paillier key, gradients masked (Hardy et al. 2017).

Paillier encryption is additively homomorphic: from ciphertexts ``[[r_i]]`` anyone with
the public key computes ``[[sum_i x_i r_i]]`` without the key. So the label holder sends
its residuals encrypted under the public key of a coordinator, who holds the private key
and sees nothing else; each other party computes its block's gradient on ciphertexts,
adds a random mask (a one-time pad modulo ``n``), and has the coordinator decrypt the
masked sum; it removes the mask and updates its block. The other party never sees a
residual, the coordinator sees only uniformly random numbers, and the label holder holds
no key, since a label holder holding the key would decrypt the other party's gradient.
The parties must not collude with the coordinator.

Here the partial predictors still travel in the clear to the label holder, which then
computes exact residuals (Hardy et al. also encrypt them and use a Taylor approximation
of the logistic loss). A 2048-bit ciphertext is 512 bytes against 8 for a float64, and
encrypting one value costs milliseconds (see ``benchmarks/bench_vertical.py``).

References
----------
.. [1] Paillier, P. (1999). Public-key cryptosystems based on composite degree residuosity
   classes. EUROCRYPT.
.. [2] Hardy, S., Henecka, W., Ivey-Law, H., Nock, R., Patrini, G., Smith, G., & Thorne, B.
   (2017). Private federated learning on vertically partitioned data via entity resolution
   and additively homomorphic encryption. arXiv:1711.10677.
"""

from __future__ import annotations

import secrets

import numpy as np

from fedlab._validation import InvalidParameterError

__all__ = ["Coordinator", "encrypted_block_gradient", "ciphertext_bytes"]


class Coordinator:
    """The party that holds the Paillier private key and decrypts only masked sums.

    Parameters
    ----------
    key_bits : int, default=2048
        The modulus ``n``'s length (2048 bits: about 112-bit security; use fewer only
        in tests).

    Examples
    --------
    >>> coordinator = Coordinator(key_bits=256)  # a toy key, for speed
    >>> encrypted = coordinator.public_key_encrypt([0.25, -0.5])
    >>> gradient, nbytes = encrypted_block_gradient(coordinator, np.array([[2.0], [1.0]]),
    ...                                             encrypted)
    >>> gradient.tolist()  # (2 * 0.25 + 1 * -0.5) / 2
    [0.0]
    """

    def __init__(self, *, key_bits=2048):
        from phe import paillier

        if int(key_bits) != key_bits or key_bits < 128 or key_bits % 8:
            raise InvalidParameterError(
                f"key_bits must be a multiple of 8 and >= 128, got {key_bits!r}")
        self.public_key, self._private_key = paillier.generate_paillier_keypair(
            n_length=int(key_bits))

    def public_key_encrypt(self, values):
        """What the label holder does: encrypt each value under the public key."""
        values = np.asarray(values, dtype=float)
        if not np.isfinite(values).all():
            raise InvalidParameterError("values to encrypt must be finite numbers")
        return [self.public_key.encrypt(float(v)) for v in values]

    def decrypt_masked(self, ciphertexts):
        """What the coordinator does: decrypt masked sums to integers modulo ``n``."""
        return [self._private_key.raw_decrypt(c) for c in ciphertexts]


def encrypted_block_gradient(coordinator, X_block, encrypted_residuals):
    """One party's block gradient ``X^T r / |B|`` from encrypted residuals, via the coordinator.

    Parameters
    ----------
    coordinator : Coordinator
    X_block : ndarray of shape (batch_size, n_features_k)
        The party's standardized columns of the batch.
    encrypted_residuals : list of phe.EncryptedNumber
        The label holder's residuals for the batch, under the coordinator's key.

    Returns
    -------
    gradient : ndarray of shape (n_features_k,)
    nbytes : int
        What the step cost this party on the wire: the encrypted residuals received, the
        masked gradient sent to the coordinator, and its decryption sent back.
    """
    from phe import EncodedNumber

    X_block = np.asarray(X_block, dtype=float)
    public_key = coordinator.public_key
    if len(encrypted_residuals) != len(X_block):
        raise InvalidParameterError(
            f"{len(encrypted_residuals)} encrypted residuals for {len(X_block)} rows")
    sums = [sum(float(x) * r for x, r in zip(column, encrypted_residuals))
            for column in X_block.T]  # [[sum_i x_ij r_i]], on ciphertexts
    masks = [secrets.randbelow(public_key.n) for _ in sums]
    masked = [s._raw_add(s.ciphertext(be_secure=False), public_key.raw_encrypt(m))
              for s, m in zip(sums, masks)]
    opened = coordinator.decrypt_masked(masked)  # uniformly random to the coordinator
    gradient = np.array([
        EncodedNumber(public_key, (value - m) % public_key.n, s.exponent).decode()
        for value, m, s in zip(opened, masks, sums)], dtype=float) / len(X_block)
    size = ciphertext_bytes(public_key)
    nbytes = size * len(encrypted_residuals) + size * len(sums) + size // 2 * len(sums)
    return gradient, nbytes


def ciphertext_bytes(public_key):
    """Bytes of one ciphertext, an integer modulo ``n^2``."""
    return (public_key.nsquare.bit_length() + 7) // 8
