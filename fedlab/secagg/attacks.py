"""Two servers that cheat, and what stops them: why the active version of SecAgg exists.

Bonawitz et al. (2017) give two versions of their protocol. The first protects against
an *honest-but-curious* server, one that follows the protocol and only looks at what
it receives. The second adds signed keys under a PKI and a ConsistencyCheck round, and
protects against a server that deviates at will (Section 6.2). The two functions here
play such a server against either version:

- :func:`substitute_keys`: the server hands one client its own public keys in place of
  the peers', reads every share that client deals, and unmasks its input. The
  signatures of the active version stop it at once.
- :func:`split_survivors`: the server tells some clients that the target survived and
  the others that it dropped out, and collects the b-shares of its self mask from the
  first group and the s-shares of its mask key from the second. It needs two disjoint
  groups of ``threshold`` clients (colluding clients count in both), so it succeeds
  when ``2 threshold <= n + n_colluders``. Clients of the active version refuse
  ``threshold <= n / 2``, and each signs one survivor list only, so with
  ``threshold > 2 n / 3`` fewer than ``n / 3`` colluders cannot make it work.

Both return the target's input as the server rebuilt it, or raise the error with which
the clients stopped the attack.
"""

import warnings
from dataclasses import replace

import numpy as np
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from fedlab._validation import InvalidParameterError

from .client import SecAggClient
from .encoding import _as_finite_floats, decode_sum, encode
from .keys import KEY_BYTES, agree, byte_source, generate_key, private_key_from_int, public_bytes
from .masks import pairwise_mask, prg, ring_mask
from .messages import (
    SHARE_PLAINTEXT,
    EncryptedShare,
    KeyBroadcast,
    RoutedShares,
    SecAggAbort,
    SignedSurvivors,
    SurvivorList,
)
from .pki import PublicKeyInfrastructure, survivors_statement
from .server import SecAggServer
from .shamir import SHARE_BYTES, reconstruct

__all__ = ["split_survivors", "substitute_keys"]


def substitute_keys(vectors, *, threshold, target=0, clip_range=1.0, bits=32,
                    authenticated=False, random_state=None):
    """Play a server that swaps its own public keys into one client's key broadcast.

    Parameters
    ----------
    vectors : array-like of shape (n_clients, dim)
        The clients' inputs.
    threshold : int
        The round's threshold.
    target : int, default=0
        The client whose input the server wants.
    clip_range, bits : float, int
        As in :func:`fedlab.secagg.secure_sum`.
    authenticated : bool, default=False
        Attack the actively secure version instead of the honest-but-curious one.
    random_state : None, int or numpy.random.Generator, default=None
        Seeds the clients' and the server's keys.

    Returns
    -------
    ndarray of shape (dim,)
        The target's input, decoded from what the server unmasked.

    Raises
    ------
    MalformedMessageError
        In the actively secure version: the target finds that the keys in its
        broadcast do not carry the peers' signatures, and stops.

    Examples
    --------
    >>> x = [[0.25, -0.5], [0.1, 0.2], [0.3, 0.4], [0.0, 0.1]]
    >>> substitute_keys(x, threshold=3, random_state=0).round(6)
    array([ 0.25, -0.5 ])
    """
    x, clients, server, _, rand = _setup(vectors, threshold, bits, authenticated,
                                            random_state)
    n, dim = x.shape
    r, victim = server.round_id, clients[target]
    broadcast = server.receive_keys([c.advertise_keys() for c in clients])
    fake = {k.client_id: (generate_key(rand), generate_key(rand))
            for k in broadcast.keys if k.client_id != target}
    forged = tuple(k if k.client_id == target else replace(
        k, c_public=public_bytes(fake[k.client_id][0]),
        s_public=public_bytes(fake[k.client_id][1])) for k in broadcast.keys)
    dealt = victim.share_keys(KeyBroadcast(r, forged))  # the active version stops here
    own = victim.advertise_keys()
    channels = {v: AESGCM(agree(c_key, own.c_public, purpose="channel", round_id=r))
                for v, (c_key, _) in fake.items()}
    b_shares = []
    for item in dealt.ciphertexts:  # every share the victim dealt, read in the clear
        header = SHARE_PLAINTEXT.pack(r, target, item.recipient)
        plain = channels[item.recipient].decrypt(header, item.ciphertext, header)
        b_shares.append((item.recipient + 1, int.from_bytes(plain[SHARE_BYTES:], "little")))
    b_seed = reconstruct(b_shares, threshold=threshold).to_bytes(KEY_BYTES, "little")
    zeros = bytes(2 * SHARE_BYTES)  # forged shares, so that the victim goes on to mask
    routed = RoutedShares(r, target, tuple(
        EncryptedShare(v, target, channels[v].encrypt(SHARE_PLAINTEXT.pack(r, v, target), zeros,
                                                      SHARE_PLAINTEXT.pack(r, v, target)))
        for v in sorted(fake)))
    y = victim.masked_input(_encode(x, clip_range, bits)[target], routed).masked.copy()
    y -= prg(b_seed, dim, bits=bits)
    for v, (_, s_key) in fake.items():
        seed = agree(s_key, own.s_public, purpose="mask", round_id=r)
        y -= pairwise_mask(seed, dim, bits=bits, own_id=target, peer_id=v)
    return _decode(y & ring_mask(bits), clip_range, bits, n)


def split_survivors(vectors, *, threshold, target=0, colluders=(), clip_range=1.0, bits=32,
                    authenticated=False, random_state=None):
    """Play a server that gives two groups of clients different survivor lists.

    The round runs honestly up to the masked inputs. Then the server tells the
    target and ``threshold - 1 - len(colluders)`` others that every client survived,
    and the remaining honest clients that the target dropped out: the first group
    reveals b-shares of the target's self-mask seed, the second s-shares of its mask
    key. Colluding clients hand over both of theirs, and sign both lists.

    Parameters
    ----------
    vectors, threshold, target, clip_range, bits, authenticated, random_state
        As in :func:`substitute_keys`.
    colluders : sequence of int, default=()
        Clients that work with the server (not ``target``).

    Returns
    -------
    ndarray of shape (dim,)
        The target's input, decoded from what the server unmasked.

    Raises
    ------
    ValueError
        In the actively secure version, if ``threshold <= n / 2``: the clients refuse
        to start.
    SecAggAbort
        If the server cannot get ``threshold`` shares of both kinds: in the active
        version the second group's clients refuse to unmask without ``threshold``
        signatures on their list; in the honest-but-curious version the server simply
        holds too few shares.

    Examples
    --------
    >>> x = np.linspace(-0.5, 0.5, 14).reshape(7, 2)
    >>> x[0]
    array([-0.5       , -0.42307692])
    >>> split_survivors(x, threshold=3, random_state=0).round(6)  # n = 7, t = 3
    array([-0.5     , -0.423077])
    """
    x, clients, server, signing_keys, _ = _setup(vectors, threshold, bits, authenticated,
                                                  random_state)
    n, dim = x.shape
    r, colluders = server.round_id, [int(c) for c in colluders]
    if target in colluders:
        raise InvalidParameterError(f"the target {target} cannot also be a colluder")
    encoded = _encode(x, clip_range, bits)
    broadcast = server.receive_keys([c.advertise_keys() for c in clients])
    routed = server.receive_shares([c.share_keys(broadcast) for c in clients])
    masked = {c.client_id: c.masked_input(encoded[c.client_id], routed[c.client_id]).masked
              for c in clients}
    others = [u for u in range(n) if u != target and u not in colluders]
    group_a = [target, *others[:max(0, threshold - 1 - len(colluders))]]
    group_b = others[len(group_a) - 1:]
    lists = {"a": tuple(range(n)), "b": tuple(u for u in range(n) if u != target)}
    messages = {}
    for name, group in (("a", group_a), ("b", group_b)):
        if authenticated:  # each honest client signs its list; colluders sign anything
            signatures = {u: clients[u].consistency_check(SurvivorList(r, lists[name])).signature
                          for u in group}
            statement = survivors_statement(r, lists[name])
            signatures.update({c: signing_keys[c].sign(statement) for c in colluders})
            messages[name] = SignedSurvivors(r, lists[name], signatures)
        else:
            messages[name] = SurvivorList(r, lists[name])
    held = {c: clients[c]._held[target] for c in colluders}  # a colluder gives what it holds
    b_shares = [(u + 1, clients[u].unmask(messages["a"]).b_shares[target]) for u in group_a]
    s_shares = [(u + 1, clients[u].unmask(messages["b"]).s_shares[target]) for u in group_b]
    b_shares += [(c + 1, b) for c, (_, b) in held.items()]
    s_shares += [(c + 1, s) for c, (s, _) in held.items()]
    if min(len(b_shares), len(s_shares)) < threshold:
        raise SecAggAbort(f"the server holds {len(b_shares)} b-shares and {len(s_shares)} "
                          f"s-shares of client {target}; it needs threshold={threshold} of each")
    b_seed = reconstruct(b_shares, threshold=threshold).to_bytes(KEY_BYTES, "little")
    s_key = private_key_from_int(reconstruct(s_shares, threshold=threshold))
    y = masked[target] - prg(b_seed, dim, bits=bits)
    for key in broadcast.keys:
        if key.client_id != target:
            seed = agree(s_key, key.s_public, purpose="mask", round_id=r)
            y -= pairwise_mask(seed, dim, bits=bits, own_id=target, peer_id=key.client_id)
    return _decode(y & ring_mask(bits), clip_range, bits, n)


def _setup(vectors, threshold, bits, authenticated, random_state):
    """Clients (enrolled in a PKI if authenticated), an honest server, the server's randomness."""
    x = _as_finite_floats(vectors, "vectors")
    if x.ndim != 2:
        raise InvalidParameterError(f"vectors must have shape (n_clients, dim), got shape "
                                    f"{x.shape}")
    n, dim = x.shape
    byte_source(random_state)  # validates the type
    streams = np.random.default_rng(random_state).spawn(n + 1)
    keys = [None if random_state is None else s for s in streams]
    pki = PublicKeyInfrastructure() if authenticated else None
    signing_keys = [pki.enroll(u, random_state=keys[u]) if pki else None for u in range(n)]
    common = dict(n_clients=n, threshold=threshold, dim=dim, bits=bits)
    clients = [
        SecAggClient(u, random_state=keys[u], pki=pki, signing_key=signing_keys[u], **common)
        for u in range(n)
    ]
    with warnings.catch_warnings():  # the threshold warning is for honest servers
        warnings.simplefilter("ignore", UserWarning)
        server = SecAggServer(pki=pki, **common)
    return x, clients, server, signing_keys, byte_source(keys[n])


def _encode(x, clip_range, bits):
    return encode(x, clip_range=clip_range, bits=bits, n_clients=len(x))


def _decode(ring_value, clip_range, bits, n):
    return decode_sum(ring_value, n_summands=1, clip_range=clip_range, bits=bits, n_clients=n)
