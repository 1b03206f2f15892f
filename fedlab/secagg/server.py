"""The server's side of the secure aggregation protocol of Bonawitz et al. (2017)."""

import warnings
from dataclasses import dataclass, field

import numpy as np

from fedlab._validation import InvalidParameterError

from .client import check_setup, commit_seed
from .encoding import ring_dtype
from .keys import KEY_BYTES, agree, private_key_from_int, public_bytes
from .masks import pairwise_mask, prg, ring_mask
from .messages import (
    AEAD_TAG_BYTES,
    PHASES,
    AdvertiseKeys,
    ConsistencyCheck,
    EncryptedShare,
    KeyBroadcast,
    MalformedMessageError,
    MaskedInput,
    RoutedShares,
    SecAggAbort,
    ShareKeys,
    SignedSurvivors,
    SurvivorList,
    UnmaskShares,
)
from .pki import PublicKeyInfrastructure, key_statement, survivors_statement
from .shamir import PRIME, SHARE_BYTES, InconsistentSharesError, reconstruct

__all__ = ["SecAggServer", "ServerView"]


@dataclass
class ServerView:
    """Everything the server received in a round: what an honest-but-curious server sees.

    Attributes
    ----------
    messages : list of (str, int, object)
        ``(phase name, client id, message)`` in arrival order.
    masked_inputs : dict of int to ndarray
        The masked vectors ``y_u``, ring elements that look uniformly random.
    """

    messages: list = field(default_factory=list)
    masked_inputs: dict = field(default_factory=dict)


class SecAggServer:
    """The server of a secure aggregation round: it relays, checks and unmasks the sum.

    Parameters
    ----------
    n_clients, threshold, dim, bits, round_id
        As for :class:`~fedlab.secagg.client.SecAggClient`; every party must agree.
    pki : PublicKeyInfrastructure, optional
        Given, the round is the actively secure version: the server checks the
        clients' signatures and runs the ConsistencyCheck phase
        (:meth:`receive_consistency_checks`) between masking and unmasking.

    Attributes
    ----------
    view : ServerView
        Every message received so far.

    Warns
    -----
    UserWarning
        In the honest-but-curious version, if ``threshold <= n_clients / 2``: a
        server that cheats could then split the survivors into two groups and
        unmask one client. (The clients of the actively secure version refuse
        such a threshold themselves; a warning is no defence.)

    Notes
    -----
    Each ``receive_*`` method takes the messages of one phase, rejects any
    malformed one with :class:`MalformedMessageError` naming its sender, and
    raises :class:`SecAggAbort` if fewer than ``threshold`` clients answered,
    before it reveals anything. Clients that stay silent in a phase have dropped.
    This class is the honest server; what each version protects against when the
    server is not honest is in :class:`~fedlab.secagg.client.SecAggClient`, and
    :mod:`fedlab.secagg.attacks` plays two cheating servers.
    """

    def __init__(self, n_clients, *, threshold, dim, bits=32, round_id=0, pki=None):
        check_setup(n_clients=n_clients, threshold=threshold, dim=dim, bits=bits,
                    round_id=round_id)
        if pki is not None and not isinstance(pki, PublicKeyInfrastructure):
            raise InvalidParameterError(
                f"pki must be a PublicKeyInfrastructure, got {type(pki).__name__}"
            )
        if pki is None and 2 * threshold <= n_clients:
            warnings.warn(
                f"threshold={threshold} is at most half of n_clients={n_clients}: secure "
                "only against a server that follows the protocol; a cheating server could "
                "split the survivors and unmask one client. Use threshold > n_clients / 2, "
                f"e.g. floor(2n/3) + 1 = {2 * n_clients // 3 + 1}, and the actively secure "
                "version (pki=)",
                UserWarning,
                stacklevel=2,
            )
        self.pki = pki
        self.n_clients, self.threshold = n_clients, threshold
        self.dim, self.bits, self.round_id = dim, bits, round_id
        self.view = ServerView()
        self._keys, self._commitments, self._masked = {}, {}, {}
        self._signers = None  # U4: clients whose ConsistencyCheck signature arrived

    def receive_keys(self, messages):
        """Phase 0: collect public keys (U1) and broadcast them to everyone."""
        received = self._collect(messages, AdvertiseKeys, range(self.n_clients))
        for u, msg in received.items():
            if len(msg.c_public) != KEY_BYTES or len(msg.s_public) != KEY_BYTES:
                raise MalformedMessageError(
                    f"client {u} sent public keys that are not {KEY_BYTES} bytes", u
                )
            if self.pki is not None and not self.pki.verify(
                u, msg.signature, key_statement(self.round_id, u, msg.c_public, msg.s_public)
            ):
                raise MalformedMessageError(f"client {u}'s keys do not carry its signature", u)
        self._require(received, 0)
        self._keys = received
        return KeyBroadcast(self.round_id, tuple(received[u] for u in sorted(received)))

    def receive_shares(self, messages):
        """Phase 1: collect share ciphertexts (U2) and route each to its recipient."""
        received = self._collect(messages, ShareKeys, self._keys)
        size = 2 * SHARE_BYTES + AEAD_TAG_BYTES
        for u, msg in received.items():
            items = msg.ciphertexts
            if (
                not all(isinstance(c, EncryptedShare) for c in items)
                or sorted(c.recipient for c in items) != sorted(set(self._keys) - {u})
                or any(c.sender != u or len(c.ciphertext) != size for c in items)
            ):
                raise MalformedMessageError(
                    f"client {u} did not send exactly one well-formed "
                    "share ciphertext to every other client",
                    u,
                )
            if not isinstance(msg.b_commitment, bytes) or len(msg.b_commitment) != 32:
                raise MalformedMessageError(f"client {u} sent no 32-byte seed commitment", u)
        self._require(received, 1)
        self._commitments = {u: msg.b_commitment for u, msg in received.items()}
        inbox = {v: [] for v in self._keys}
        for u in sorted(received):
            for c in received[u].ciphertexts:
                inbox[c.recipient].append(c)
        return {v: RoutedShares(self.round_id, v, tuple(cs)) for v, cs in inbox.items()}

    def receive_masked_inputs(self, messages):
        """Phase 2: collect masked inputs (U3) and announce who they came from."""
        received = self._collect(messages, MaskedInput, self._commitments)
        dtype = ring_dtype(self.bits)
        for u, msg in received.items():
            y = msg.masked
            if msg.bits != self.bits or msg.dim != self.dim:
                raise MalformedMessageError(
                    f"client {u} masked for bits={msg.bits}, "
                    f"dim={msg.dim}; this round uses bits={self.bits}, "
                    f"dim={self.dim}",
                    u,
                )
            if not isinstance(y, np.ndarray) or y.dtype != dtype or y.shape != (self.dim,):
                raise MalformedMessageError(
                    f"client {u}'s masked input must be a {dtype} array of shape ({self.dim},), "
                    f"got {getattr(y, 'dtype', type(y).__name__)} of shape "
                    f"{getattr(y, 'shape', None)}",
                    u,
                )
            if np.any(y > ring_mask(self.bits)):
                raise MalformedMessageError(
                    f"client {u}'s masked input holds values outside the ring Z_2^{self.bits}", u
                )
        self._require(received, 2)
        self._masked = {u: received[u].masked for u in sorted(received)}
        self.view.masked_inputs = dict(self._masked)
        return SurvivorList(self.round_id, tuple(self._masked))

    def receive_consistency_checks(self, messages):
        """ConsistencyCheck (actively secure version): collect signatures of the survivors.

        Returns
        -------
        SignedSurvivors
            The survivor list and the signatures of the clients that signed it (U4),
            for every one of them.
        """
        if self.pki is None:
            raise RuntimeError(
                "the honest-but-curious version has no ConsistencyCheck "
                "phase; create the server with pki="
            )
        received = self._collect(messages, ConsistencyCheck, self._masked)
        statement = survivors_statement(self.round_id, tuple(self._masked))
        for u, msg in received.items():
            if not self.pki.verify(u, msg.signature, statement):
                raise MalformedMessageError(
                    f"client {u}'s signature of the survivor list does not verify", u
                )
        self._require(received, 3)
        self._signers = set(received)
        return SignedSurvivors(
            self.round_id, tuple(self._masked), {u: received[u].signature for u in sorted(received)}
        )

    def receive_unmask_shares(self, messages):
        """Unmasking: rebuild the seeds, strip the masks and return the ring sum.

        Returns
        -------
        ndarray of shape (dim,) and dtype ``ring_dtype(bits)``
            ``sum_{u in U3} x_u mod 2^bits``.
        """
        survivors = set(self._masked)
        dropped = set(self._commitments) - survivors
        if self.pki is not None and self._signers is None:
            raise RuntimeError("call receive_consistency_checks before receive_unmask_shares")
        expected = survivors if self.pki is None else self._signers
        received = self._collect(messages, UnmaskShares, expected)
        for u, msg in received.items():
            if not (isinstance(msg.b_shares, dict) and isinstance(msg.s_shares, dict)):
                raise MalformedMessageError(f"client {u} sent shares that are not dicts", u)
            shares = list(msg.b_shares.values()) + list(msg.s_shares.values())
            if (
                set(msg.b_shares) != survivors
                or set(msg.s_shares) != dropped
                or not all(isinstance(y, int) and 0 <= y < PRIME for y in shares)
            ):
                raise MalformedMessageError(
                    f"client {u} must send b-shares for clients "
                    f"{sorted(survivors)} and s-shares for "
                    f"{sorted(dropped)}, as field elements",
                    u,
                )
        self._require(received, 4)
        total = np.zeros(self.dim, dtype=ring_dtype(self.bits))
        for y in self._masked.values():
            total += y
        for u in sorted(survivors):
            b_seed = self._rebuild(received, u, "b")
            total -= prg(b_seed, self.dim, bits=self.bits)
        for u in sorted(dropped):
            s_key = private_key_from_int(int.from_bytes(self._rebuild(received, u, "s"), "little"))
            for v in sorted(survivors):
                seed = agree(s_key, self._keys[v].s_public, purpose="mask", round_id=self.round_id)
                total -= pairwise_mask(seed, self.dim, bits=self.bits, own_id=v, peer_id=u)
        return total & ring_mask(self.bits)

    # helpers ---------------------------------------------------------------
    def _collect(self, messages, cls, expected):
        """Record the messages of one phase and check their type, round and sender."""
        received = {}
        for msg in messages:
            u = getattr(msg, "client_id", None)
            self.view.messages.append((PHASES[cls.phase], u, msg))
            if not isinstance(msg, cls):
                raise MalformedMessageError(
                    f"client {u} sent a {type(msg).__name__} in phase "
                    f"{PHASES[cls.phase]}, expected {cls.__name__}",
                    u,
                )
            if msg.round_id != self.round_id:
                raise MalformedMessageError(
                    f"client {u} sent a message of round {msg.round_id} in round {self.round_id}", u
                )
            if u not in expected:
                raise MalformedMessageError(
                    f"unknown or unexpected client id {u!r} in phase {PHASES[cls.phase]}", u
                )
            if u in received:
                raise MalformedMessageError(
                    f"client {u} sent twice in phase {PHASES[cls.phase]}", u
                )
            received[u] = msg
        return received

    def _require(self, received, phase):
        if len(received) < self.threshold:
            raise SecAggAbort(
                f"only {len(received)} clients answered in phase {PHASES[phase]}, "
                f"fewer than threshold={self.threshold}: round aborted, "
                "nothing revealed"
            )

    def _rebuild(self, received, owner, which):
        """Rebuild client ``owner``'s b seed or s key and check it against what it published."""
        field_name = f"{which}_shares"
        holders = sorted(received)
        shares = [(v + 1, getattr(received[v], field_name)[owner]) for v in holders]
        secret_name = "self-mask seed b" if which == "b" else "mask key s_sk"
        try:
            secret = reconstruct(shares, threshold=self.threshold)
        except InconsistentSharesError as err:
            bad = [x - 1 for x in err.bad_x]
            if len(bad) == 1:
                raise MalformedMessageError(
                    f"client {bad[0]} sent a {which}-share of client "
                    f"{owner}'s {secret_name} that is inconsistent with "
                    "the other shares",
                    bad[0],
                ) from None
            raise MalformedMessageError(
                f"the {which}-shares of client {owner}'s {secret_name} "
                f"from clients {bad} are inconsistent; cannot tell "
                "which is wrong",
                tuple(bad),
            ) from None
        ok = secret < 2 ** (8 * KEY_BYTES)
        raw = secret.to_bytes(KEY_BYTES, "little") if ok else b""
        if which == "b":
            ok = (
                ok
                and commit_seed(raw, client_id=owner, round_id=self.round_id)
                == self._commitments[owner]
            )
        else:
            ok = ok and public_bytes(private_key_from_int(secret)) == self._keys[owner].s_public
        if not ok:
            raise MalformedMessageError(
                f"the {secret_name} rebuilt for client {owner} does not "
                "match what it published: a share from one of clients "
                f"{holders} is corrupted",
                tuple(holders),
            )
        return raw
