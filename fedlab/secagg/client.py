"""The client's side of the secure aggregation protocol of Bonawitz et al. (2017)."""

import hashlib

import numpy as np
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .encoding import ring_dtype, value_bits
from .keys import agree, byte_source, generate_key, private_int, public_bytes
from .masks import pairwise_mask, prg, ring_mask
from .messages import (
    SHARE_PLAINTEXT,
    AdvertiseKeys,
    EncryptedShare,
    KeyBroadcast,
    MalformedMessageError,
    MaskedInput,
    RoutedShares,
    SecAggAbort,
    ShareKeys,
    SurvivorList,
    UnmaskShares,
)
from .shamir import PRIME, SHARE_BYTES, share

__all__ = ["SecAggClient", "check_setup", "commit_seed"]


def check_setup(*, n_clients, threshold, dim, bits, round_id):
    """Validate the parameters every party of a round agrees on."""
    for name, value in (("n_clients", n_clients), ("threshold", threshold), ("dim", dim),
                        ("bits", bits), ("round_id", round_id)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if n_clients < 2:
        raise ValueError(f"n_clients must be >= 2, got {n_clients}")
    if not 2 <= threshold <= n_clients:
        raise ValueError(f"threshold must be between 2 and n_clients={n_clients}, got {threshold}")
    if dim < 1:
        raise ValueError(f"dim must be >= 1, got {dim}")
    if not 0 <= round_id < 2**32:
        raise ValueError(f"round_id must be in [0, 2^32), got {round_id}")
    value_bits(bits=bits, n_clients=n_clients)


def commit_seed(seed, *, client_id, round_id):
    """SHA-256 commitment to a self-mask seed, so a corrupted rebuild is caught."""
    tag = f"fedlab-secagg|b|round={round_id}|client={client_id}|".encode()
    return hashlib.sha256(tag + seed).digest()


class SecAggClient:
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

    Notes
    -----
    Call the four phases in order: :meth:`advertise_keys`, :meth:`share_keys`,
    :meth:`masked_input`, :meth:`unmask`. The client checks what the server
    relays: its own keys unchanged, distinct keys, authentic share ciphertexts,
    and at least ``threshold`` clients left; and it never reveals both the
    b-share and the s-share of one peer, the rule that keeps a malicious server
    from unmasking a single input (Bonawitz et al. 2017, Section 4).
    """

    def __init__(self, client_id, *, n_clients, threshold, dim, bits=32, round_id=0,
                 random_state=None):
        check_setup(n_clients=n_clients, threshold=threshold, dim=dim, bits=bits,
                    round_id=round_id)
        if not 0 <= client_id < n_clients:
            raise ValueError(f"client_id must be in [0, {n_clients}), got {client_id}")
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

    # Phase 0 ---------------------------------------------------------------
    def advertise_keys(self):
        """Phase 0: publish the two public keys."""
        return AdvertiseKeys(self.round_id, self.client_id,
                             public_bytes(self._c_key), public_bytes(self._s_key))

    # Phase 1 ---------------------------------------------------------------
    def share_keys(self, broadcast):
        """Phase 1: Shamir-share ``s_sk`` and ``b``, one AEAD ciphertext per peer."""
        self._check_from_server(broadcast, KeyBroadcast)
        peers = {}
        for keys in broadcast.keys:
            if not isinstance(keys, AdvertiseKeys) or keys.round_id != self.round_id:
                raise MalformedMessageError("the server's key broadcast holds a foreign entry",
                                            getattr(keys, "client_id", None))
            if keys.client_id in peers or not 0 <= keys.client_id < self.n_clients:
                raise MalformedMessageError(
                    f"the key broadcast lists client {keys.client_id} twice or out of range",
                    keys.client_id)
            peers[keys.client_id] = keys
        if peers.get(self.client_id) != self.advertise_keys():
            raise MalformedMessageError(
                f"client {self.client_id}'s own keys were altered or left out", self.client_id)
        publics = [k.c_public for k in peers.values()] + [k.s_public for k in peers.values()]
        if len(set(publics)) != len(publics):
            raise MalformedMessageError("the key broadcast repeats a public key", None)
        if len(peers) < self.threshold:
            raise SecAggAbort(f"only {len(peers)} clients advertised keys, fewer than "
                              f"threshold={self.threshold}: round aborted")
        self._peers = peers
        self._b_seed = self._random_bytes(32)
        s_shares = share(private_int(self._s_key), threshold=self.threshold,
                         n_shares=self.n_clients, random_state=self._rng)
        b_shares = share(int.from_bytes(self._b_seed, "little"), threshold=self.threshold,
                         n_shares=self.n_clients, random_state=self._rng)
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
            raise MalformedMessageError(f"shares for client {routed.recipient} were routed to "
                                        f"client {self.client_id}", None)
        for item in routed.ciphertexts:
            sender = getattr(item, "sender", None)
            if (not isinstance(item, EncryptedShare) or sender not in self._peers
                    or sender == self.client_id or sender in self._held
                    or item.recipient != self.client_id):
                raise MalformedMessageError(f"unexpected share ciphertext from client {sender}",
                                            sender)
            aead, nonce, aad = self._channel(sender, sender=sender, recipient=self.client_id)
            try:
                plain = aead.decrypt(nonce, item.ciphertext, aad)
            except InvalidTag:
                raise MalformedMessageError(f"the share ciphertext from client {sender} failed "
                                            "authentication (tampered or misrouted)",
                                            sender) from None
            s_v = int.from_bytes(plain[:SHARE_BYTES], "little")
            b_v = int.from_bytes(plain[SHARE_BYTES:], "little")
            if len(plain) != 2 * SHARE_BYTES or s_v >= PRIME or b_v >= PRIME:
                raise MalformedMessageError(f"client {sender} sent malformed shares", sender)
            self._held[sender] = (s_v, b_v)
        if len(self._held) < self.threshold:
            raise SecAggAbort(f"only {len(self._held)} clients shared keys, fewer than "
                              f"threshold={self.threshold}: round aborted")
        y = x + prg(self._b_seed, self.dim, bits=self.bits)
        for v in self._held:
            if v != self.client_id:
                seed = agree(self._s_key, self._peers[v].s_public, purpose="mask",
                             round_id=self.round_id)
                y += pairwise_mask(seed, self.dim, bits=self.bits, own_id=self.client_id,
                                   peer_id=v)
        y &= ring_mask(self.bits)
        return MaskedInput(self.round_id, self.client_id, self.bits, self.dim, y)

    # Phase 3 ---------------------------------------------------------------
    def unmask(self, survivors):
        """Phase 3: reveal b-shares of the survivors and s-shares of the dropped.

        Raises
        ------
        SecAggAbort
            If fewer than ``threshold`` survivors are listed, or the server asks
            for both shares of one client (now or across calls).
        """
        if not self._held:
            raise RuntimeError("call masked_input before unmask")
        self._check_from_server(survivors, SurvivorList)
        listed = set(survivors.survivors)
        if len(listed) != len(survivors.survivors) or not listed <= set(self._held):
            raise MalformedMessageError("the survivor list repeats a client or names one that "
                                        "never shared keys", None)
        if self.client_id not in listed:
            raise MalformedMessageError(f"the survivor list leaves out client {self.client_id}, "
                                        "which did send its masked input", self.client_id)
        if len(listed) < self.threshold:
            raise SecAggAbort(f"only {len(listed)} masked inputs arrived, fewer than "
                              f"threshold={self.threshold}: round aborted")
        dropped = set(self._held) - listed
        both = (listed & self._revealed_s) | (dropped & self._revealed_b)
        if both:
            raise SecAggAbort(f"client {self.client_id} refuses: revealing both the b-share and "
                              f"the s-share of client(s) {sorted(both)} would expose their input")
        self._revealed_b |= listed
        self._revealed_s |= dropped
        return UnmaskShares(self.round_id, self.client_id,
                            b_shares={u: self._held[u][1] for u in sorted(listed)},
                            s_shares={u: self._held[u][0] for u in sorted(dropped)})

    # helpers ---------------------------------------------------------------
    def _channel(self, peer, *, sender, recipient):
        if peer not in self._channels:  # one key agreement per peer, kept for phase 2
            key = agree(self._c_key, self._peers[peer].c_public, purpose="channel",
                        round_id=self.round_id)
            self._channels[peer] = AESGCM(key)
        header = SHARE_PLAINTEXT.pack(self.round_id, sender, recipient)  # 12 bytes
        return self._channels[peer], header, header  # unique nonce per key and direction

    def _check_from_server(self, message, cls):
        if not isinstance(message, cls):
            raise TypeError(f"expected a {cls.__name__}, got {type(message).__name__}")
        if message.round_id != self.round_id:
            raise MalformedMessageError(f"the server sent a message of round {message.round_id} "
                                        f"in round {self.round_id}", None)

    def _check_encoded(self, encoded):
        x = np.asarray(encoded)
        if x.dtype.kind not in "ui" or x.shape != (self.dim,):
            raise ValueError(f"encoded must be integers of shape ({self.dim},), got dtype "
                             f"{x.dtype} and shape {x.shape}")
        if x.size and (x.min() < 0 or int(x.max()) >= 2**self.bits):
            raise ValueError(f"encoded must hold ring elements in [0, 2^{self.bits})")
        return x.astype(ring_dtype(self.bits))

