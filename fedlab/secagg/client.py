"""The client's side of the secure aggregation protocol of Bonawitz et al. (2017)."""

import hashlib

import numpy as np
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from fedlab._validation import InvalidParameterError

from .client_checks import ServerMessageChecks
from .encoding import value_bits
from .keys import agree, byte_source, generate_key, private_int, public_bytes
from .masks import pairwise_mask, prg, ring_mask
from .messages import (
    SHARE_PLAINTEXT,
    AdvertiseKeys,
    ConsistencyCheck,
    EncryptedShare,
    MalformedMessageError,
    MaskedInput,
    RoutedShares,
    SecAggAbort,
    ShareKeys,
    SurvivorList,
    UnmaskShares,
)
from .pki import PublicKeyInfrastructure, key_statement, survivors_statement
from .shamir import PRIME, SHARE_BYTES, share

__all__ = ["SecAggClient", "check_setup", "commit_seed"]


def check_setup(*, n_clients, threshold, dim, bits, round_id):
    """Validate the parameters every party of a round agrees on."""
    for name, value in (("n_clients", n_clients), ("threshold", threshold), ("dim", dim),
                        ("bits", bits), ("round_id", round_id)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise InvalidParameterError(f"{name} must be an int, got {type(value).__name__}")
    if n_clients < 2:
        raise InvalidParameterError(f"n_clients must be >= 2, got {n_clients}")
    if not 2 <= threshold <= n_clients:
        raise InvalidParameterError(
            f"threshold must be between 2 and n_clients={n_clients}, got {threshold}"
        )
    if dim < 1:
        raise InvalidParameterError(f"dim must be >= 1, got {dim}")
    if not 0 <= round_id < 2**32:
        raise InvalidParameterError(f"round_id must be in [0, 2^32), got {round_id}")
    value_bits(bits=bits, n_clients=n_clients)


def commit_seed(seed, *, client_id, round_id):
    """SHA-256 commitment to a self-mask seed, so a corrupted rebuild is caught."""
    tag = f"fedlab-secagg|b|round={round_id}|client={client_id}|".encode()
    return hashlib.sha256(tag + seed).digest()


class SecAggClient(ServerMessageChecks):
    """One client of a secure aggregation round.

    Parameters
    ----------
    client_id : int
        This client's id, in ``[0, n_clients)``; its Shamir x-coordinate is
        ``client_id + 1``.
    n_clients : int
        Number of clients that start the round.
    threshold : int
        Shares needed to rebuild a secret; also the fewest clients the round
        may continue with.
    dim : int
        Length of the input vector.
    bits : int, default=32
        Width of the ring Z_{2^bits}.
    round_id : int, default=0
        The training round; bound into every message and key derivation.
    random_state : None, int or numpy.random.Generator, default=None
        ``None`` draws keys and seeds from ``os.urandom``, as a deployment must.
        A seed makes them reproducible, for teaching only.
    pki : PublicKeyInfrastructure, optional
        Given, the client runs the actively secure version: it signs its keys with
        ``signing_key``, checks every peer's signature against ``pki``, and unmasks
        only after the ConsistencyCheck phase (:meth:`consistency_check`).
    signing_key : Ed25519PrivateKey, optional
        This client's long-term signing key, from ``pki.enroll(client_id)``; needed
        with ``pki``.

    Raises
    ------
    ValueError
        In the actively secure version, if ``threshold <= n_clients / 2``: the client
        refuses, since a server could then split the survivors into two groups of
        ``threshold`` and collect both shares of one client.

    Notes
    -----
    Call the phases in order: :meth:`advertise_keys`, :meth:`share_keys`,
    :meth:`masked_input`, (actively secure version: :meth:`consistency_check`),
    :meth:`unmask`. The client checks what the server relays: its own keys
    unchanged, distinct keys, authentic share ciphertexts, at least ``threshold``
    clients left; and it never reveals both the b-share and the s-share of one peer.

    **Which server this protects against** (Bonawitz et al. 2017, Section 6). Without
    ``pki`` (honest-but-curious version): a server that follows the protocol and
    colludes with fewer than ``threshold`` clients learns nothing beyond the sum of the
    honest survivors' inputs (the honest-but-curious statement). A server that cheats
    defeats it: it can substitute its own public keys in the broadcast to one client and
    read all that client shares, whatever the threshold; and with ``threshold <= n / 2``
    it can send different survivor lists to two halves of the clients and collect both
    shares of one client. With ``pki`` (actively secure version: signed keys,
    ConsistencyCheck): a server that deviates at will, colluding with ``n_C`` clients,
    learns at most one sum of the inputs of at least ``threshold - n_C`` honest clients,
    when ``2 threshold > n + n_C`` (the active-adversary statement, proven in the
    random-oracle model): ``threshold > n / 2`` with no colluder, and with ``threshold >
    2 n / 3`` it holds while fewer than ``n / 3`` clients collude. Counting makes the
    condition concrete: two disjoint groups of honest clients, each of ``threshold -
    n_C``, cannot both exist when ``2 threshold > n + n_C``. No version stops a cheating
    server from ending the round or from making the sum wrong (the protocol gives
    privacy, not correctness, against an active server).

    References
    ----------
    .. [1] K. Bonawitz et al., "Practical Secure Aggregation for Privacy-Preserving
       Machine Learning", ACM CCS 2017: Figure 4 (the protocol, with the parts the
       active model needs), Section 6 (security: the honest-but-curious statement, and
       the active-adversary one in the random-oracle model).
    """

    def __init__(
        self,
        client_id,
        *,
        n_clients,
        threshold,
        dim,
        bits=32,
        round_id=0,
        random_state=None,
        pki=None,
        signing_key=None,
    ):
        check_setup(n_clients=n_clients, threshold=threshold, dim=dim, bits=bits, round_id=round_id)
        if not 0 <= client_id < n_clients:
            raise InvalidParameterError(f"client_id must be in [0, {n_clients}), got {client_id}")
        if (pki is None) != (signing_key is None):
            raise InvalidParameterError(
                "pki and signing_key go together: pass both (actively secure "
                "version) or neither (honest-but-curious version)"
            )
        if pki is not None:
            if not isinstance(pki, PublicKeyInfrastructure):
                raise InvalidParameterError(
                    f"pki must be a PublicKeyInfrastructure, got {type(pki).__name__}"
                )
            if 2 * threshold <= n_clients:
                raise InvalidParameterError(
                    f"client {client_id} refuses threshold={threshold} with "
                    f"n_clients={n_clients}: at most half, so a server could collect both "
                    "shares of one client from two groups; use threshold > n_clients / 2 "
                    f"(> 2n/3 = {2 * n_clients / 3:.4g} to tolerate colluding clients)"
                )
        self.pki, self._signing_key = pki, signing_key
        self.client_id, self.n_clients, self.threshold = int(client_id), n_clients, threshold
        self.dim, self.bits, self.round_id = dim, bits, round_id
        byte_source(random_state)  # validates the type
        if random_state is not None:
            random_state = np.random.default_rng(random_state)  # a Generator passes through
        self._rng = random_state  # None means os.urandom
        self._random_bytes = byte_source(random_state)
        self._c_key = generate_key(self._random_bytes)
        self._s_key = generate_key(self._random_bytes)
        self._peers = None  # id -> AdvertiseKeys, the set U1
        self._channels = {}  # peer id -> AESGCM under the pair's channel key
        self._held = {}  # dealer id -> (s_share, b_share) this client holds, dealers in U2
        self._b_seed = None
        self._revealed_b, self._revealed_s = set(), set()
        self._signed = None  # the survivor list signed in ConsistencyCheck

    @property
    def authenticated(self):
        """Whether this client runs the actively secure version (signatures, PKI)."""
        return self.pki is not None

    # Phase 0 ---------------------------------------------------------------
    def advertise_keys(self):
        """Phase 0: publish the two public keys (signed, in the actively secure version)."""
        c_public, s_public = public_bytes(self._c_key), public_bytes(self._s_key)
        signature = (
            b""
            if self._signing_key is None
            else self._signing_key.sign(
                key_statement(self.round_id, self.client_id, c_public, s_public)
            )
        )
        return AdvertiseKeys(self.round_id, self.client_id, c_public, s_public, signature)

    # Phase 1 ---------------------------------------------------------------
    def share_keys(self, broadcast):
        """Phase 1: Shamir-share ``s_sk`` and ``b``, one AEAD ciphertext per peer."""
        peers = self._check_broadcast(broadcast)
        if len(peers) < self.threshold:
            raise SecAggAbort(
                f"only {len(peers)} clients advertised keys, fewer than "
                f"threshold={self.threshold}: round aborted"
            )
        self._peers = peers
        self._b_seed = self._random_bytes(32)
        s_shares = share(
            private_int(self._s_key),
            threshold=self.threshold,
            n_shares=self.n_clients,
            random_state=self._rng,
        )
        b_shares = share(
            int.from_bytes(self._b_seed, "little"),
            threshold=self.threshold,
            n_shares=self.n_clients,
            random_state=self._rng,
        )
        ciphertexts = []
        for v in sorted(peers):
            s_v, b_v = s_shares[v][1], b_shares[v][1]
            if v == self.client_id:
                self._held[v] = (s_v, b_v)
                continue
            plain = s_v.to_bytes(SHARE_BYTES, "little") + b_v.to_bytes(SHARE_BYTES, "little")
            aead, nonce, aad = self._channel(v, sender=self.client_id, recipient=v)
            ciphertexts.append(EncryptedShare(self.client_id, v, aead.encrypt(nonce, plain, aad)))
        commitment = commit_seed(self._b_seed, client_id=self.client_id, round_id=self.round_id)
        return ShareKeys(self.round_id, self.client_id, tuple(ciphertexts), commitment)

    # Phase 2 ---------------------------------------------------------------
    def masked_input(self, encoded, routed):
        """Phase 2: decrypt the shares received and send ``x + PRG(b) + sum_v p_{u,v}``.

        Parameters
        ----------
        encoded : ndarray of shape (dim,)
            The input already in the ring, e.g. from :func:`fedlab.secagg.encode`.
        routed : RoutedShares
            The ciphertexts the server relayed to this client.
        """
        if self._peers is None:
            raise RuntimeError("call share_keys before masked_input")
        x = self._check_encoded(encoded)
        self._check_from_server(routed, RoutedShares)
        if routed.recipient != self.client_id:
            raise MalformedMessageError(
                f"shares for client {routed.recipient} were routed to client {self.client_id}", None
            )
        for item in routed.ciphertexts:
            sender = getattr(item, "sender", None)
            if (
                not isinstance(item, EncryptedShare)
                or sender not in self._peers
                or sender == self.client_id
                or sender in self._held
                or item.recipient != self.client_id
            ):
                raise MalformedMessageError(
                    f"unexpected share ciphertext from client {sender}", sender
                )
            aead, nonce, aad = self._channel(sender, sender=sender, recipient=self.client_id)
            try:
                plain = aead.decrypt(nonce, item.ciphertext, aad)
            except InvalidTag:
                raise MalformedMessageError(
                    f"the share ciphertext from client {sender} failed "
                    "authentication (tampered or misrouted)",
                    sender,
                ) from None
            s_v = int.from_bytes(plain[:SHARE_BYTES], "little")
            b_v = int.from_bytes(plain[SHARE_BYTES:], "little")
            if len(plain) != 2 * SHARE_BYTES or s_v >= PRIME or b_v >= PRIME:
                raise MalformedMessageError(f"client {sender} sent malformed shares", sender)
            self._held[sender] = (s_v, b_v)
        if len(self._held) < self.threshold:
            raise SecAggAbort(
                f"only {len(self._held)} clients shared keys, fewer than "
                f"threshold={self.threshold}: round aborted"
            )
        y = x + prg(self._b_seed, self.dim, bits=self.bits)
        for v in self._held:
            if v != self.client_id:
                seed = agree(
                    self._s_key, self._peers[v].s_public, purpose="mask", round_id=self.round_id
                )
                y += pairwise_mask(seed, self.dim, bits=self.bits, own_id=self.client_id, peer_id=v)
        y &= ring_mask(self.bits)
        return MaskedInput(self.round_id, self.client_id, self.bits, self.dim, y)

    # Phase 3 (actively secure version) -------------------------------------
    def consistency_check(self, survivors):
        """ConsistencyCheck: sign the survivor list; the only list this client will sign.

        Raises
        ------
        RuntimeError
            In the honest-but-curious version, which has no such phase.
        """
        if not self.authenticated:
            raise RuntimeError(
                "consistency_check belongs to the actively secure version; "
                "create the client with pki= and signing_key="
            )
        listed = self._check_survivors(survivors, SurvivorList)
        if self._signed is not None and self._signed != listed:
            raise SecAggAbort(
                f"client {self.client_id} refuses to sign a second, different survivor list"
            )
        self._signed = listed
        signature = self._signing_key.sign(survivors_statement(self.round_id, listed))
        return ConsistencyCheck(self.round_id, self.client_id, signature)

    # Phase 4 ---------------------------------------------------------------
    def unmask(self, survivors):
        """Unmasking: reveal b-shares of the survivors and s-shares of the dropped.

        Parameters
        ----------
        survivors : SurvivorList or SignedSurvivors
            The survivor list (honest-but-curious version) or, in the actively secure
            version, the list this client signed with the signatures of at least
            ``threshold`` survivors on that same list.

        Raises
        ------
        SecAggAbort
            If fewer than ``threshold`` survivors (or signatures) are listed, or the
            server asks for both shares of one client (now or across calls).
        MalformedMessageError
            If a signature does not verify or the list is not the one signed.
        """
        if not self._held:
            raise RuntimeError("call masked_input before unmask")
        if self.authenticated:
            listed = self._check_signed(survivors)
        else:
            listed = self._check_survivors(survivors, SurvivorList)
        dropped = set(self._held) - listed
        both = (listed & self._revealed_s) | (dropped & self._revealed_b)
        if both:
            raise SecAggAbort(
                f"client {self.client_id} refuses: revealing both the b-share and "
                f"the s-share of client(s) {sorted(both)} would expose their input"
            )
        self._revealed_b |= listed
        self._revealed_s |= dropped
        return UnmaskShares(
            self.round_id,
            self.client_id,
            b_shares={u: self._held[u][1] for u in sorted(listed)},
            s_shares={u: self._held[u][0] for u in sorted(dropped)},
        )

    # helpers ---------------------------------------------------------------
    def _channel(self, peer, *, sender, recipient):
        if peer not in self._channels:  # one key agreement per peer, kept for phase 2
            key = agree(
                self._c_key, self._peers[peer].c_public, purpose="channel", round_id=self.round_id
            )
            self._channels[peer] = AESGCM(key)
        header = SHARE_PLAINTEXT.pack(self.round_id, sender, recipient)  # 12 bytes
        return self._channels[peer], header, header  # unique nonce per key and direction
