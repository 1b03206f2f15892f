"""The messages of the four-phase protocol of Bonawitz et al. (2017), with their wire sizes."""

import struct
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from .shamir import SHARE_BYTES

__all__ = [
    "PHASES",
    "AdvertiseKeys",
    "ConsistencyCheck",
    "EncryptedShare",
    "KeyBroadcast",
    "MalformedMessageError",
    "MaskedInput",
    "RoutedShares",
    "SecAggAbort",
    "ShareKeys",
    "SignedSurvivors",
    "SurvivorList",
    "UnmaskShares",
]

PHASES = ("AdvertiseKeys", "ShareKeys", "MaskedInputCollection", "ConsistencyCheck",
          "Unmasking")
"""The paper's rounds; here *phases*, keeping "round" for the training round.

ConsistencyCheck belongs to the actively secure version only; the honest-but-curious
version goes from MaskedInputCollection straight to Unmasking.
"""

_HEADER = struct.Struct("<BII")  # phase, round_id, client id (sender or recipient)
_PAIR = struct.Struct("<II")
_INT = struct.Struct("<I")
SHARE_PLAINTEXT = struct.Struct("<III")  # round_id, sender, recipient: AES-GCM nonce and AAD
AEAD_TAG_BYTES = 16


class SecAggAbort(ValueError):
    """Too few clients are left to continue: the round stops and reveals nothing."""


class MalformedMessageError(ValueError):
    """A message breaks the protocol.

    ``client_id`` names the client who sent it (a tuple when the culprit is one
    of several), or is ``None`` when a client caught the *server* misbehaving.
    """

    def __init__(self, message, client_id):
        super().__init__(message)
        self.client_id = client_id


@dataclass(frozen=True)
class AdvertiseKeys:
    """Phase 0, client to server: the client's two public keys.

    ``c_public`` keys the private channels between clients, ``s_public`` the
    pairwise mask seeds. In the actively secure version ``signature`` is the
    client's Ed25519 signature of both (:func:`fedlab.secagg.pki.key_statement`);
    empty otherwise.
    """

    phase: ClassVar[int] = 0
    round_id: int
    client_id: int
    c_public: bytes
    s_public: bytes
    signature: bytes = b""

    def to_bytes(self):
        """Serialize: header, the two 32-byte keys, then the signature (if any)."""
        header = _HEADER.pack(self.phase, self.round_id, self.client_id)
        return header + self.c_public + self.s_public + self.signature


@dataclass(frozen=True)
class KeyBroadcast:
    """Phase 0, server to every client: all the public keys it received."""

    phase: ClassVar[int] = 0
    round_id: int
    keys: tuple  # of AdvertiseKeys

    def to_bytes(self):
        """Serialize: header, count, then each client's ``AdvertiseKeys``."""
        body = b"".join(k.to_bytes() for k in self.keys)
        return _HEADER.pack(self.phase, self.round_id, len(self.keys)) + body


@dataclass(frozen=True)
class EncryptedShare:
    """One AEAD ciphertext holding the shares ``sender`` dealt to ``recipient``."""

    sender: int
    recipient: int
    ciphertext: bytes

    def to_bytes(self):
        """Serialize: sender, recipient, ciphertext."""
        return _PAIR.pack(self.sender, self.recipient) + self.ciphertext


@dataclass(frozen=True)
class ShareKeys:
    """Phase 1, client to server: one ciphertext for every other client.

    Each holds the sender's Shamir shares of its mask-key ``s_sk`` and of its
    self-mask seed ``b``, encrypted so that only the recipient can read them.
    ``b_commitment`` (a SHA-256 hash of ``b``, an addition to the paper) lets the
    server tell a correctly rebuilt seed from one rebuilt from a corrupted share.
    """

    phase: ClassVar[int] = 1
    round_id: int
    client_id: int
    ciphertexts: tuple  # of EncryptedShare
    b_commitment: bytes = b""

    def to_bytes(self):
        """Serialize: header, commitment, count, then the ciphertexts."""
        body = b"".join(c.to_bytes() for c in self.ciphertexts)
        return (_HEADER.pack(self.phase, self.round_id, self.client_id) + self.b_commitment
                + _INT.pack(len(self.ciphertexts)) + body)


@dataclass(frozen=True)
class RoutedShares:
    """Phase 1, server to one client: the ciphertexts addressed to it."""

    phase: ClassVar[int] = 1
    round_id: int
    recipient: int
    ciphertexts: tuple  # of EncryptedShare

    def to_bytes(self):
        """Serialize: header, count, then the ciphertexts."""
        body = b"".join(c.to_bytes() for c in self.ciphertexts)
        return (_HEADER.pack(self.phase, self.round_id, self.recipient)
                + _INT.pack(len(self.ciphertexts)) + body)


@dataclass(frozen=True)
class MaskedInput:
    """Phase 2, client to server: ``y_u = x_u + PRG(b_u) + sum_v p_{u,v} mod 2^bits``.

    ``bits`` and ``dim`` travel with the vector so the server can refuse a
    vector built for another ring or another model.
    """

    phase: ClassVar[int] = 2
    round_id: int
    client_id: int
    bits: int
    dim: int
    masked: np.ndarray = field(repr=False)

    def to_bytes(self):
        """Serialize: header, bits, dim, then the vector as little-endian words."""
        data = np.ascontiguousarray(self.masked)
        data = data.astype(data.dtype.newbyteorder("<"), copy=False)
        return (_HEADER.pack(self.phase, self.round_id, self.client_id)
                + _PAIR.pack(self.bits, self.dim) + data.tobytes())


@dataclass(frozen=True)
class SurvivorList:
    """Phase 2, server to clients: who sent a masked input (the set U3)."""

    phase: ClassVar[int] = 2
    round_id: int
    survivors: tuple

    def to_bytes(self):
        """Serialize: header, count, then the ids."""
        ids = b"".join(_INT.pack(u) for u in self.survivors)
        return _HEADER.pack(self.phase, self.round_id, len(self.survivors)) + ids


@dataclass(frozen=True)
class ConsistencyCheck:
    """Phase 3 (actively secure version), client to server: its signature of the survivors.

    ``signature`` signs :func:`fedlab.secagg.pki.survivors_statement` of the survivor
    list the client received. A client signs one list per round, so the server cannot
    collect ``threshold`` signatures on two different lists from honest clients
    (Bonawitz et al. 2017, Figure 4, Round 3).
    """

    phase: ClassVar[int] = 3
    round_id: int
    client_id: int
    signature: bytes

    def to_bytes(self):
        """Serialize: header, then the 64-byte signature."""
        return _HEADER.pack(self.phase, self.round_id, self.client_id) + self.signature


@dataclass(frozen=True)
class SignedSurvivors:
    """Phase 3, server to clients: the survivor list and the signatures it collected (U4)."""

    phase: ClassVar[int] = 3
    round_id: int
    survivors: tuple
    signatures: dict = field(default_factory=dict)  # client id -> signature

    def to_bytes(self):
        """Serialize: header, counts, the survivor ids, then (id, signature) pairs."""
        ids = b"".join(_INT.pack(u) for u in self.survivors)
        sigs = b"".join(_INT.pack(u) + s for u, s in sorted(self.signatures.items()))
        return (_HEADER.pack(self.phase, self.round_id, len(self.survivors))
                + _INT.pack(len(self.signatures)) + ids + sigs)


@dataclass(frozen=True)
class UnmaskShares:
    """Phase 3, client to server: the shares that let the server remove the masks.

    ``b_shares[u]`` for every client ``u`` whose masked input arrived (to remove
    its self mask), ``s_shares[u]`` for every client who dealt shares but sent no
    masked input (to remove its pairwise masks). Never both for one ``u``.
    """

    phase: ClassVar[int] = 4
    round_id: int
    client_id: int
    b_shares: dict = field(default_factory=dict)
    s_shares: dict = field(default_factory=dict)

    def to_bytes(self):
        """Serialize: header, counts, then (owner id, share value) pairs."""
        def pack(shares):
            return b"".join(_INT.pack(u) + y.to_bytes(SHARE_BYTES, "little")
                            for u, y in sorted(shares.items()))
        return (_HEADER.pack(self.phase, self.round_id, self.client_id)
                + _PAIR.pack(len(self.b_shares), len(self.s_shares))
                + pack(self.b_shares) + pack(self.s_shares))
