"""Signatures under a simulated PKI: what the actively secure protocol of Bonawitz et al. adds.

Against a server that follows the protocol (honest but curious), unauthenticated
public keys are enough. Against a server that cheats they are not: it can hand a
client its own public keys in place of the peers' and read everything that client
shares. The actively secure version of the protocol (Bonawitz et al. 2017, Figure 4
and Section 6.2) therefore assumes a public-key infrastructure: every client holds a
long-term signing key whose verification key all parties trust, signs the keys it
advertises, and signs the survivor list in the ConsistencyCheck round.

Here signatures are Ed25519 (RFC 8032) and the PKI is a registry built in process, a
stand-in for the certificates a deployment would get from an enrolment service.
"""

import struct

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fedlab._validation import InvalidParameterError

from .keys import KEY_BYTES, byte_source

__all__ = ["SIGNATURE_BYTES", "PublicKeyInfrastructure", "key_statement",
           "survivors_statement"]

SIGNATURE_BYTES = 64
_RAW = serialization.Encoding.Raw
_ROUND_ID = struct.Struct("<II")


class PublicKeyInfrastructure:
    """A trusted registry of the clients' Ed25519 verification keys (simulated).

    Examples
    --------
    >>> pki = PublicKeyInfrastructure()
    >>> signing_key = pki.enroll(3, random_state=0)
    >>> pki.verify(3, signing_key.sign(b"hello"), b"hello")
    True
    >>> pki.verify(3, signing_key.sign(b"hello"), b"hullo")
    False
    >>> pki.verify(4, signing_key.sign(b"hello"), b"hello")  # nobody enrolled as 4
    False
    >>> len(pki.verification_key(3))
    32
    """

    def __init__(self):
        self._verification_keys = {}

    def __contains__(self, client_id):
        return client_id in self._verification_keys

    def enroll(self, client_id, *, random_state=None):
        """Create client ``client_id``'s signing key, register its verification key.

        Parameters
        ----------
        client_id : int
        random_state : None, int or numpy.random.Generator, default=None
            ``None`` draws the key from ``os.urandom``; a seed is for teaching only.

        Returns
        -------
        Ed25519PrivateKey
            The signing key, which only the client keeps.
        """
        if client_id in self._verification_keys:
            raise InvalidParameterError(f"client {client_id} is already enrolled")
        signing_key = Ed25519PrivateKey.from_private_bytes(
            byte_source(random_state)(KEY_BYTES))
        self._verification_keys[client_id] = signing_key.public_key()
        return signing_key

    def verification_key(self, client_id):
        """Client ``client_id``'s raw 32-byte verification key, what a certificate holds."""
        return self._verification_keys[client_id].public_bytes(
            _RAW, serialization.PublicFormat.Raw)

    def verify(self, client_id, signature, message):
        """Whether ``signature`` is client ``client_id``'s signature of ``message``."""
        key = self._verification_keys.get(client_id)
        if key is None or not isinstance(signature, bytes):
            return False
        try:
            key.verify(signature, message)
        except InvalidSignature:
            return False
        return True


def key_statement(round_id, client_id, c_public, s_public):
    """The bytes a client signs in AdvertiseKeys: its id, the round and its two keys."""
    return b"fedlab-secagg|keys|" + _ROUND_ID.pack(round_id, client_id) + c_public + s_public


def survivors_statement(round_id, survivors):
    """The bytes a client signs in ConsistencyCheck: the round and the sorted survivor set."""
    ids = b"".join(struct.pack("<I", u) for u in sorted(survivors))
    return b"fedlab-secagg|survivors|" + _ROUND_ID.pack(round_id, len(survivors)) + ids
