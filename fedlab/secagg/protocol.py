"""One round of secure aggregation, end to end and in process, after Bonawitz et al. (2017)."""

import warnings
from dataclasses import dataclass, field

import numpy as np

from .client import SecAggClient, check_setup
from .encoding import _as_finite_floats, _check_clip_range, decode_sum, encode, quantization_step
from .keys import byte_source
from .server import SecAggServer, ServerView

__all__ = ["SecureAggregator", "SecureSumResult", "secure_sum"]


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
        Survivors that also took part in unmasking (U4).
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
               bits=32, noise_std=0.0, expected_survivors=None, round_id=0, random_state=None):
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
    random_state : None, int or numpy.random.Generator, default=None
        ``None`` draws keys, seeds and coefficients from ``os.urandom``: the only
        safe choice outside a classroom. A seed makes the whole round
        reproducible (keys included), for lessons and tests.

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

    This is the paper's protocol against an honest-but-curious server: it leaves
    out the ConsistencyCheck round and the signatures of the actively secure
    version, and the PKI that would authenticate the advertised keys. Messages
    are still checked, so a malformed or inconsistent one is named, not summed.
    Clients and server would run on different machines; here all run in one
    process and ``server_view`` records what the server could see.

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
        per_client = noise_std / np.sqrt(expected)
        x = x + np.stack([rng.normal(0.0, per_client, dim) for rng in streams])
    encoded = encode(x, clip_range=clip_range, bits=bits, n_clients=n_clients)

    common = dict(n_clients=n_clients, threshold=threshold, dim=dim, bits=bits,
                  round_id=round_id)
    clients = [SecAggClient(u, random_state=None if random_state is None else streams[u],
                            **common) for u in range(n_clients)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        server = SecAggServer(**common)
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


class SecureAggregator:
    """Secure summation with fixed settings, one call per training round.

    A thin wrapper around :func:`secure_sum` for a training loop: it keeps the
    settings and numbers the rounds so no key derivation repeats.

    Examples
    --------
    >>> agg = SecureAggregator(3, threshold=2, clip_range=1.0)
    >>> agg.aggregate([[0.5], [0.25], [-0.5]], random_state=0).sum.round(6)
    array([0.25])
    >>> agg.rounds_run
    1
    """

    def __init__(self, n_clients, *, threshold, clip_range=1.0, bits=32, noise_std=0.0,
                 expected_survivors=None):
        check_setup(n_clients=n_clients, threshold=threshold, dim=1, bits=bits, round_id=0)
        self.n_clients, self.threshold = n_clients, threshold
        self.clip_range, self.bits = _check_clip_range(clip_range), bits
        self.noise_std, self.expected_survivors = noise_std, expected_survivors
        self.rounds_run = 0

    def aggregate(self, vectors, *, dropped=(), dropped_before_masking=(), random_state=None):
        """Run one round on ``vectors`` of shape (n_clients, dim); return a SecureSumResult."""
        n = np.shape(vectors)[0] if np.ndim(vectors) else 0
        if n != self.n_clients:
            raise ValueError(f"vectors must have {self.n_clients} rows, one per client, got {n}")
        result = secure_sum(vectors, threshold=self.threshold, dropped=dropped,
                            dropped_before_masking=dropped_before_masking,
                            clip_range=self.clip_range, bits=self.bits,
                            noise_std=self.noise_std, expected_survivors=self.expected_survivors,
                            round_id=self.rounds_run, random_state=random_state)
        self.rounds_run += 1
        return result


def _check_inputs(vectors, *, threshold, dropped, dropped_before_masking, clip_range, bits,
                  noise_std, expected_survivors, round_id):
    x = _as_finite_floats(vectors, "vectors")
    if x.ndim != 2:
        raise ValueError(f"vectors must have shape (n_clients, dim), got shape {x.shape}")
    n_clients, dim = x.shape
    check_setup(n_clients=n_clients, threshold=threshold, dim=dim, bits=bits, round_id=round_id)
    clip_range = _check_clip_range(clip_range)
    after = _check_ids(dropped, "dropped", n_clients)
    before = _check_ids(dropped_before_masking, "dropped_before_masking", n_clients)
    if set(after) & set(before):
        raise ValueError(f"a client cannot drop both before and after masking: "
                         f"{sorted(set(after) & set(before))}")
    expected = n_clients if expected_survivors is None else expected_survivors
    if isinstance(expected, bool) or not isinstance(expected, (int, np.integer)):
        raise TypeError(f"expected_survivors must be an int, got {type(expected).__name__}")
    if not 1 <= expected <= n_clients:
        raise ValueError(f"expected_survivors must be between 1 and {n_clients}, got {expected}")
    if isinstance(noise_std, bool) or not isinstance(noise_std, (int, float, np.number)):
        raise TypeError(f"noise_std must be a number, got {type(noise_std).__name__}")
    if not np.isfinite(noise_std) or noise_std < 0:
        raise ValueError(f"noise_std must be a finite number >= 0, got {noise_std}")
    return x, clip_range, after, before, int(expected)


def _check_ids(ids, name, n_clients):
    if isinstance(ids, (int, np.integer)):
        raise TypeError(f"{name} must be a sequence of client ids, got the int {ids}; "
                        f"write {name}=[{ids}]")
    ids = tuple(ids)
    if not all(isinstance(u, (int, np.integer)) and not isinstance(u, bool) for u in ids):
        raise TypeError(f"{name} must hold int client ids, got {ids}")
    if len(set(ids)) != len(ids) or any(not 0 <= u < n_clients for u in ids):
        raise ValueError(f"{name} must be distinct client ids in [0, {n_clients}), got {ids}")
    return tuple(sorted(int(u) for u in ids))
