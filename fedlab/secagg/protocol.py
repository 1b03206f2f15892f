"""One round of secure aggregation, end to end and in process, after Bonawitz et al. (2017)."""

import warnings
from dataclasses import dataclass, field

import numpy as np

from fedlab._validation import InvalidParameterError, check_rng

from .client import SecAggClient, check_setup
from .encoding import _as_finite_floats, _check_clip_range, decode_sum, encode, quantization_step
from .keys import byte_source
from .pki import PublicKeyInfrastructure
from .server import SecAggServer, ServerView

__all__ = ["SecureSumResult", "secure_sum"]


@dataclass(frozen=True)
class SecureSumResult:
    """What one secure aggregation round produced, and what it cost.

    Attributes
    ----------
    sum : ndarray of shape (dim,)
        The decoded sum of the survivors' (noised, clipped, quantized) vectors.
    ring_sum : ndarray of shape (dim,)
        The same sum as integers of Z_{2^bits}, before decoding.
    survivors : tuple of int
        Clients whose masked input arrived: exactly those summed (the paper's U3).
    responders : tuple of int
        Survivors that also took part in unmasking (the paper's U4, and U5 in the
        actively secure version).
    dropped_before_masking, dropped_after_masking : tuple of int
        The clients that dropped out, as requested.
    step : float
        Quantization step; ``sum`` is within ``len(survivors) * step / 2`` of the
        float sum of the clipped inputs.
    sum_noise_std : float
        Standard deviation of the distributed-DP noise in ``sum``.
    server_view : ServerView
        Every message the server received.
    bytes_up, bytes_down : ndarray of shape (n_clients,)
        Serialized bytes each client sent and received.
    """

    sum: np.ndarray
    ring_sum: np.ndarray
    survivors: tuple
    responders: tuple
    dropped_before_masking: tuple
    dropped_after_masking: tuple
    step: float
    sum_noise_std: float
    server_view: ServerView = field(repr=False)
    bytes_up: np.ndarray = field(repr=False)
    bytes_down: np.ndarray = field(repr=False)


def secure_sum(vectors, *, threshold, dropped=(), dropped_before_masking=(), clip_range=1.0,
               bits=32, noise_std=0.0, expected_survivors=None, round_id=0,
               authenticated=False, random_state=None, noise_random_state=None):
    """Sum the clients' vectors so that the server learns the sum and nothing else.

    Parameters
    ----------
    vectors : array-like of shape (n_clients, dim)
        One float vector per client, e.g. its clipped model update.
    threshold : int
        Shares needed to rebuild a secret, and the fewest clients a phase may
        continue with; between 2 and ``n_clients``, best above ``n_clients / 2``.
    dropped : sequence of int, default=()
        Clients that drop out *after* sending their masked input: their inputs
        are still summed, their masks rebuilt from the others' shares.
    dropped_before_masking : sequence of int, default=()
        Clients that drop out after sharing their keys but *before* sending a
        masked input: they are not summed, and their pairwise masks are removed.
    clip_range : float, default=1.0
        Values are clipped to ``[-clip_range, clip_range]`` (with a warning).
    bits : int, default=32
        Ring width; see :func:`fedlab.secagg.value_bits` for the precision left.
    noise_std : float, default=0.0
        Distributed differential privacy: each client adds Gaussian noise of
        standard deviation ``noise_std / sqrt(expected_survivors)`` to its vector.
    expected_survivors : int, optional
        How many noise shares are expected to reach the sum; defaults to
        ``n_clients``. Pass ``threshold`` to guarantee at least ``noise_std``.
    round_id : int, default=0
        The training round, bound into keys and messages.
    authenticated : bool, default=False
        Run the actively secure version: every client enrols in a (simulated) PKI,
        signs its keys with Ed25519, and the round has a ConsistencyCheck phase in
        which the survivors sign the survivor list. ``False`` runs the
        honest-but-curious version (see Notes for what each protects against).
    random_state : None, int or numpy.random.Generator, default=None
        ``None`` draws keys, seeds and coefficients from ``os.urandom``: the only
        safe choice outside a classroom. A seed makes the whole round
        reproducible (keys included), for lessons and tests.
    noise_random_state : None, int or numpy.random.Generator, default=None
        Source of the clients' noise shares. ``None``: each client's stream of
        ``random_state``. A training loop passes its own seeded generator here, so
        the noise follows the run's seed even when the keys come from ``os.urandom``.

    Returns
    -------
    SecureSumResult

    Raises
    ------
    SecAggAbort
        If fewer than ``threshold`` clients are left at any phase; no sum is
        returned.
    MalformedMessageError
        If a message breaks the protocol; ``err.client_id`` names the sender.

    Notes
    -----
    Client ``u`` sends ``y_u = x_u + PRG(b_u) + sum_{v != u} +-PRG(s_{u,v})
    mod 2^bits``. Pairwise masks cancel in the sum; the server removes the
    self masks ``PRG(b_u)`` of the survivors, and the pairwise masks of clients
    that dropped before masking, by rebuilding ``b_u`` or ``s_u`` from
    ``threshold`` Shamir shares. No client ever reveals both shares of one peer.

    Noise: with every client in the sum, the noise has variance ``noise_std^2``.
    If only ``k`` of the expected clients are summed, the variance falls to
    ``k / expected_survivors * noise_std^2`` and the privacy guarantee weakens;
    over-provision by setting ``expected_survivors`` to the fewest survivors
    you tolerate (``threshold`` at the lowest). Gaussian noise added in floating
    point before quantization is a teaching simplification; deployments use
    discrete noise added in the ring (Kairouz et al. 2021).

    Threat models (Bonawitz et al. 2017, Section 6). With ``authenticated=False`` the
    round protects against an honest-but-curious server: one that follows the protocol,
    even colluding with fewer than ``threshold`` clients, learns only the sum of the
    honest survivors (the honest-but-curious statement). A server that cheats can break
    it: by substituting its own public keys for the peers' in one client's broadcast it
    reads that client's input at any threshold, and with ``threshold <= n/2`` it can
    send two halves of the clients different survivor lists
    (:mod:`fedlab.secagg.attacks` does both). With ``authenticated=True`` (signed keys
    under a PKI, the ConsistencyCheck phase, clients that refuse ``threshold <= n/2``) a
    server that deviates at will, colluding with ``n_C`` clients, learns at most one sum
    over at least ``threshold - n_C`` honest clients when ``2 threshold > n + n_C`` (the
    active-adversary statement, proven in the random-oracle model): ``threshold > n/2``
    with no colluder; the default threshold, above ``2n/3``, keeps it while fewer than
    ``n/3`` clients collude. Against a cheating server neither version guarantees that
    the round finishes or that the sum is right. Messages are checked either way, so a
    malformed or inconsistent one is named, not summed. Clients and server would run on
    different machines; here all run
    in one process and ``server_view`` records what the server could see.

    Costs: each client does ``n - 1`` key agreements per key pair and expands
    ``n - 1`` pairwise masks, so a round is O(n^2 dim) work in total; Bell et
    al. (2020) cut this to O(n log n) neighbours per client.

    References
    ----------
    .. [1] K. Bonawitz et al., "Practical Secure Aggregation for
       Privacy-Preserving Machine Learning", ACM CCS 2017.
    .. [2] P. Kairouz, Z. Liu, T. Steinke, "The Distributed Discrete Gaussian
       Mechanism for Federated Learning with Secure Aggregation", ICML 2021.
    .. [3] J. Bell et al., "Secure Single-Server Aggregation with
       (Poly)Logarithmic Overhead", ACM CCS 2020.

    Examples
    --------
    >>> vectors = [[0.1, 0.2], [0.3, -0.4], [0.5, 0.6], [-0.2, 0.1]]
    >>> result = secure_sum(vectors, threshold=3, dropped=[1], random_state=0)
    >>> result.sum.round(6)
    array([0.7, 0.5])
    >>> result.survivors, result.responders
    ((0, 1, 2, 3), (0, 2, 3))
    >>> late = secure_sum(vectors, threshold=3, dropped_before_masking=[1], random_state=0)
    >>> late.sum.round(6), late.survivors
    (array([0.4, 0.9]), (0, 2, 3))
    """
    x, clip_range, after, before, expected = _check_inputs(
        vectors, threshold=threshold, dropped=dropped,
        dropped_before_masking=dropped_before_masking, clip_range=clip_range, bits=bits,
        noise_std=noise_std, expected_survivors=expected_survivors, round_id=round_id)
    n_clients, dim = x.shape
    byte_source(random_state)  # validates the type
    streams = np.random.default_rng(random_state).spawn(n_clients)
    if noise_std > 0:
        noise_streams = (streams if noise_random_state is None
                         else check_rng(noise_random_state).spawn(n_clients))
        x = x + noise_shares(noise_streams, dim, noise_std / np.sqrt(expected))
    encoded = encode(x, clip_range=clip_range, bits=bits, n_clients=n_clients)

    common = dict(n_clients=n_clients, threshold=threshold, dim=dim, bits=bits,
                  round_id=round_id)
    keys = [None if random_state is None else rng for rng in streams]
    pki = PublicKeyInfrastructure() if authenticated else None
    identities = [dict(pki=pki, signing_key=pki.enroll(u, random_state=keys[u]))
                  if authenticated else {} for u in range(n_clients)]
    clients = [SecAggClient(u, random_state=keys[u], **identities[u], **common)
               for u in range(n_clients)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        server = SecAggServer(pki=pki, **common)
    for w in caught:  # point the threshold warning at the caller, not at this module
        warnings.warn(w.message, w.category, stacklevel=2)
    up, down = np.zeros(n_clients, dtype=np.int64), np.zeros(n_clients, dtype=np.int64)

    def send(messages):
        for m in messages:
            up[m.client_id] += len(m.to_bytes())
        return messages

    broadcast = server.receive_keys(send([c.advertise_keys() for c in clients]))
    down += len(broadcast.to_bytes())
    routed = server.receive_shares(send([c.share_keys(broadcast) for c in clients]))
    for v, message in routed.items():
        down[v] += len(message.to_bytes())
    masked = [clients[u].masked_input(encoded[u], routed[u])
              for u in range(n_clients) if u not in before]
    survivor_list = server.receive_masked_inputs(send(masked))
    responders = tuple(u for u in survivor_list.survivors if u not in after)
    down[list(responders)] += len(survivor_list.to_bytes())
    if authenticated:  # ConsistencyCheck: the responders sign the list; all see the signatures
        survivor_list = server.receive_consistency_checks(
            send([clients[u].consistency_check(survivor_list) for u in responders]))
        down[list(responders)] += len(survivor_list.to_bytes())
    ring_sum = server.receive_unmask_shares(send([clients[u].unmask(survivor_list)
                                                  for u in responders]))
    survivors = survivor_list.survivors
    total = decode_sum(ring_sum, n_summands=len(survivors), clip_range=clip_range, bits=bits,
                       n_clients=n_clients)
    return SecureSumResult(
        sum=total, ring_sum=ring_sum, survivors=survivors, responders=responders,
        dropped_before_masking=before, dropped_after_masking=after,
        step=quantization_step(clip_range=clip_range, bits=bits, n_clients=n_clients),
        sum_noise_std=float(noise_std * np.sqrt(len(survivors) / expected)),
        server_view=server.view, bytes_up=up, bytes_down=down)


def noise_shares(rngs, dim, share_std):
    """Each client's share of the Gaussian noise: one row of std ``share_std`` per generator.

    The one place where secure aggregation draws noise (distributed DP): ``k`` rows sum
    to noise of standard deviation ``share_std * sqrt(k)``.

    Examples
    --------
    >>> rows = noise_shares(np.random.default_rng(0).spawn(4), 50_000, 0.5)
    >>> rows.shape, round(float(rows.sum(axis=0).std()), 2)
    ((4, 50000), 1.0)
    """
    return np.stack([rng.normal(0.0, share_std, dim) for rng in rngs])


def _check_inputs(vectors, *, threshold, dropped, dropped_before_masking, clip_range, bits,
                  noise_std, expected_survivors, round_id):
    x = _as_finite_floats(vectors, "vectors")
    if x.ndim != 2:
        raise InvalidParameterError(f"vectors must have shape (n_clients, dim), got shape "
                                    f"{x.shape}")
    n_clients, dim = x.shape
    check_setup(n_clients=n_clients, threshold=threshold, dim=dim, bits=bits, round_id=round_id)
    clip_range = _check_clip_range(clip_range)
    after = _check_ids(dropped, "dropped", n_clients)
    before = _check_ids(dropped_before_masking, "dropped_before_masking", n_clients)
    if set(after) & set(before):
        raise InvalidParameterError(
            f"a client cannot drop both before and after masking: "
            f"{sorted(set(after) & set(before))}"
        )
    expected = n_clients if expected_survivors is None else expected_survivors
    if isinstance(expected, bool) or not isinstance(expected, (int, np.integer)):
        raise InvalidParameterError(
            f"expected_survivors must be an int, got {type(expected).__name__}"
        )
    if not 1 <= expected <= n_clients:
        raise InvalidParameterError(
            f"expected_survivors must be between 1 and {n_clients}, got {expected}"
        )
    if isinstance(noise_std, bool) or not isinstance(noise_std, (int, float, np.number)):
        raise InvalidParameterError(f"noise_std must be a number, got {type(noise_std).__name__}")
    if not np.isfinite(noise_std) or noise_std < 0:
        raise InvalidParameterError(f"noise_std must be a finite number >= 0, got {noise_std}")
    return x, clip_range, after, before, int(expected)


def _check_ids(ids, name, n_clients):
    if isinstance(ids, (int, np.integer)):
        raise InvalidParameterError(
            f"{name} must be a sequence of client ids, got the int {ids}; write {name}=[{ids}]"
        )
    ids = tuple(ids)
    if not all(isinstance(u, (int, np.integer)) and not isinstance(u, bool) for u in ids):
        raise InvalidParameterError(f"{name} must hold int client ids, got {ids}")
    if len(set(ids)) != len(ids) or any(not 0 <= u < n_clients for u in ids):
        raise InvalidParameterError(
            f"{name} must be distinct client ids in [0, {n_clients}), got {ids}"
        )
    return tuple(sorted(int(u) for u in ids))
