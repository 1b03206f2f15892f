"""FedAvg through secure aggregation: the server learns only the mean (Bonawitz et al. 2017).

:class:`SecureFedAvg` is a strategy for :func:`fedlab.federated.run`: every round the
clients' updates go through the real protocol of :func:`fedlab.secagg.secure_sum`, and
the server learns the weighted mean and nothing else.
"""


import numpy as np

from fedlab._validation import InvalidParameterError
from fedlab.federated.messages import Updates
from fedlab.federated.strategy import FedAvg, Strategy

from .encoding import _as_finite_floats, _check_clip_range
from .rounds import _SecureRounds

__all__ = ["SecureFedAvg"]


class SecureFedAvg(_SecureRounds, Strategy):
    """Federated averaging through secure aggregation: the server learns only the mean.

    A strategy for :func:`fedlab.federated.run` (``strategy=SecureFedAvg()``). Each
    round, every participating client turns its update into one vector, and the round's
    clients run the four phases of Bonawitz et al. (2017) in process: key agreement,
    Shamir-shared seeds, masked inputs, unmasking. The server only ever holds masked
    vectors and the unmasked sum.

    Parameters
    ----------
    threshold : None, int or float, default=None
        Clients needed to finish a round. ``None``: ``max(2, floor(2 m / 3) + 1)`` of the
        round's ``m`` participants (see :func:`default_threshold`); an int: that many;
        a float in (0.5, 1]: that fraction of ``m``, rounded up.
    clip_range : float, default=8.0
        Bound on each entry of a (weighted) update, the ``c`` of
        :func:`fedlab.secagg.encode`. Entries beyond it are clipped, with a warning.
    bits : int, default=32
        Width of the ring Z_{2^bits}; 32 sends 4 bytes per parameter.
    weighted : bool, default=True
        Weight each update by the client's number of records (FedAvg); ``False`` is the
        plain mean.
    dropout_before_masking, dropout_after_masking : float, default=0.0
        Probability that a participant drops out of the protocol after sharing its keys
        but before sending its masked update (its update is lost), or right after it (its
        update still counts; the others rebuild its masks). Drawn from the ``rng`` the
        engine passes to :meth:`combine`.
    fraction_train : float in (0, 1], default=1.0
        Fraction of the clients chosen each round, as in FedAvg.
    authenticated : bool, default=False
        Run the actively secure version of the protocol (Ed25519-signed keys under a
        simulated PKI, the ConsistencyCheck phase, clients that refuse a threshold
        ``<= m / 2``). ``False``: the honest-but-curious version. See Notes.
    random_state : None, int or numpy.random.Generator, default=None
        Source of the keys, mask seeds and Shamir coefficients. ``None`` uses
        ``os.urandom``, as a deployment must; the sums, and so the trained model, are
        the same whatever the keys, so runs stay reproducible. A seed also makes the
        masked vectors reproducible, for demonstrations.
    inner : Strategy, optional
        A strategy that needs only sums (its ``summed_arrays``: the FedAvg family,
        SCAFFOLD, FedNova, q-FedSGD) to run under secure aggregation: every array it
        sums is masked. Default: ``FedAvg(weighted=weighted)``.

    Attributes
    ----------
    log : list of dict
        One entry per round: participants, threshold, who dropped, survivors, bytes
        up and down, quantization step, and whether the round aborted.
    last_result : SecureSumResult or None
        The last round's protocol result, with its ``server_view``.
    aborted_rounds : list of int

    Raises
    ------
    ValueError
        From :meth:`combine`, when a round has exactly one participant: its "sum" would
        be its own update, so there is nothing to hide it among.

    Warns
    -----
    RuntimeWarning
        When a round aborts because fewer than ``threshold`` clients are left; the
        global model is then left unchanged for that round, as in a deployment.

    Notes
    -----
    **Weighting.** FedAvg needs ``sum_k n_k delta_k / sum_k n_k`` over the updates that
    arrive, and ``n_k`` is private too (a hospital's size). Each client sends the
    vector ``[w_k delta_k, c w_k]`` with ``w_k = n_k / B`` (in general: the wrapped
    strategy's summands divided by ``B``, its weight times ``c``): its weight rides along as
    one extra coordinate, and the server divides the first coordinates of the secure
    sum by the last (and multiplies by ``c``). ``B`` is a public scale, the smallest
    power of two at least the largest client's size (all it says about that client;
    a deployment would fix it at enrolment); it keeps every ``w_k`` in (0, 1],
    so ``w_k delta_k`` needs no wider range than ``delta_k`` and ``c w_k`` is never
    clipped, and the largest weight is above 1/2. Because the denominator is summed
    securely too, the mean stays correct when clients drop out before masking: their
    weight leaves the denominator with their update. The server learns the
    survivors' total weight, ``sum n_k / B``, and nothing per client.

    **Precision.** With ``m`` clients each entry is encoded with
    ``q = bits - ceil(log2 m)`` bits (step ``2 c / (2^q - 1)``), so the sum of ``m``
    encoded entries stays below ``2^bits``: overflow is impossible and values beyond
    ``c`` are clipped, never wrapped. The mean's error is at most about ``m`` steps:
    ``m * step / 2`` in the numerator over a total weight of at least 1/2 (plus the
    same relative error in the denominator). With the defaults and five hospitals,
    ``q = 29`` and the step is 3e-8.

    **Which server it protects against.** ``authenticated=False``: a server that
    follows the protocol (honest but curious), colluding with fewer than ``threshold``
    clients, learns only the mean (Bonawitz et al. 2017, Section 6, honest-but-curious
    security); a server that cheats can substitute keys and read one client's update.
    ``authenticated=True``: a server that deviates at will, with ``n_C`` colluding
    clients, learns at most one sum over at least ``threshold - n_C`` honest clients
    when ``2 threshold > m + n_C`` (Section 6, security against active adversaries,
    proven in the random-oracle model): ``threshold > m / 2`` with no colluder; the
    default threshold, above ``2 m / 3``, keeps it while fewer than ``m / 3`` clients
    collude. The enrolment in the PKI is simulated afresh each round; a deployment
    enrols each client once.

    **Randomness.** The keys come from ``random_state`` (default ``os.urandom``); the
    simulated dropouts come from the engine's ``rng`` (or, called without one, from a
    generator seeded by ``random_state``), and only when a dropout probability is set,
    so the engine samples the same clients as without secure aggregation.

    References
    ----------
    Bonawitz, Ivanov, Kreuter, Marcedone, McMahan, Patel, Ramage, Segal, Seth (2017).
    Practical secure aggregation for privacy-preserving machine learning. ACM CCS.

    Examples
    --------
    >>> from fedlab.federated.messages import Update
    >>> updates = [Update("a", np.array([0.1, -0.2]), 300), Update("b", np.array([0.5, 0.4]), 100),
    ...            Update("c", np.array([-0.3, 0.0]), 100)]
    >>> strategy = SecureFedAvg()
    >>> strategy.combine(updates, rng=None).round(6)
    array([ 0.1 , -0.04])
    >>> strategy.log[-1]["threshold"], strategy.log[-1]["survivors"]
    (3, (0, 1, 2))
    """

    def __init__(self, *, threshold=None, clip_range=8.0, bits=32, weighted=True,
                 dropout_before_masking=0.0, dropout_after_masking=0.0, fraction_train=1.0,
                 authenticated=False, random_state=None, inner=None):
        _SecureRounds.__init__(self, threshold=threshold, bits=bits,
                               dropout_before_masking=dropout_before_masking,
                               dropout_after_masking=dropout_after_masking,
                               authenticated=authenticated, random_state=random_state)
        Strategy.__init__(self, fraction_train=fraction_train, weighted=weighted)
        self.clip_range = _check_clip_range(clip_range)
        self.random_state = random_state
        self._default_inner = inner is None
        if inner is None:
            inner = FedAvg(weighted=weighted, fraction_train=fraction_train)
        elif not isinstance(inner, Strategy) or inner.summed_arrays is None:
            raise InvalidParameterError(
                f"inner must be a Strategy that needs only sums (its summed_arrays); "
                f"{inner!r} needs each update in the clear")
        self.inner = inner
        self.client_state, self.reply_arrays = self.inner.client_state, self.inner.reply_arrays
        self.reads_local_steps = self.inner.reads_local_steps
        self.summed_arrays = self.inner.summed_arrays

    def start(self, n_params, n_clients):
        super().start(n_params, n_clients)
        self.inner.total_samples = self.total_samples
        self.inner.start(n_params, n_clients)

    def configure_train(self, server_round, params, config, n_clients, *, rng):
        """The wrapped strategy's choice of clients and instructions."""
        indices, self._config = self.inner.configure_train(server_round, params, config,
                                                           n_clients, rng=rng)
        return indices, self._config

    def bytes_up(self, updates):
        """Bytes the clients sent in the round's four protocol phases (0 if it aborted)."""
        return self.protocol_bytes()[0]

    def bytes_down(self, params, n_selected):
        """The model broadcast plus the server's protocol messages."""
        return self.inner.bytes_down(params, n_selected) + self.protocol_bytes()[1]

    def aggregate_train(self, server_round, params, updates, *, rng):
        """The wrapped strategy's step from the secure sums (unchanged if the round aborted)."""
        sums = self.secure_sums(updates, rng=rng)
        if sums is None:
            return params
        return self.inner.aggregate_sums(server_round, params, sums, rng=rng)

    def combine(self, updates, *, rng=None):
        """Run one round of secure aggregation; return the (weighted) mean update.

        Parameters
        ----------
        updates : sequence of fedlab.federated.Update
        rng : numpy.random.Generator, optional
            Draws the simulated dropouts (nothing else); ``None``: the strategy's own
            generator, seeded by ``random_state``.

        Returns
        -------
        ndarray of shape (n_params,), or 0.0 when there is nothing to add
            (no update, or the round aborted).
        """
        sums = self.secure_sums(updates, rng=rng)
        return 0.0 if sums is None else sums["vector"] / sums["weight"][0]

    def secure_sums(self, updates, *, rng=None):
        """One round of the protocol over the clients' summands: their sums, or ``None``.

        Each client computes the wrapped strategy's
        :meth:`~fedlab.federated.Strategy.summands` from its own update, checks that they
        are finite (a client with NaN or infinity leaves the round before masking: it is
        refused, never summed), divides them by the public scale ``B`` and masks them as
        one vector; the server unmasks only the sum, and multiplies it by ``B``.
        ``None`` when nothing arrived or the round aborted.
        """
        updates = Updates.of(list(updates) if not isinstance(updates, Updates) else updates)
        if not len(updates):
            return None
        if len(updates) == 1:
            raise InvalidParameterError(
                "secure aggregation needs at least 2 clients in a round, got 1: the sum of "
                "one update is that update, so the server would see it in the clear; "
                "sample more clients (fraction_train) or use plain FedAvg")
        if self.weighted and self._default_inner:
            counts = updates.n_samples.astype(float)
            if not (np.isfinite(counts) & (counts >= 1)).all():
                raise InvalidParameterError(
                    f"every update must count n_samples >= 1 to be weighted, got {counts.tolist()}"
                )
        summands = [self.inner.summands(u) for u in updates]
        names = list(summands[0])
        rows = np.array([np.concatenate([np.ravel(s[k]) for k in names]) for s in summands])
        finite = np.isfinite(rows).all(axis=1)
        self.refused = [c for c, ok in zip(updates.clients, finite) if not ok]
        rows = rows[finite]
        if len(rows) == 0:
            return None
        rows = _as_finite_floats(rows, "update vectors")
        scales = self.inner.summand_scales(updates.n_samples[finite],
                                           getattr(self, "_config", {}))
        sizes = [int(np.size(summands[0][k])) for k in names]
        # the weight travels as c w / B: in range whatever c is, and at full precision
        factor = np.concatenate([np.full(size, (self.clip_range if k == "weight" else 1.0)
                                         / scales[k]) for k, size in zip(names, sizes)])
        result = self._run(rows * factor, rng=rng, clip_range=self.clip_range)
        if result is None:
            return None
        total, sums = result.sum / factor, {}
        for k, size, start in zip(names, sizes, np.cumsum([0, *sizes[:-1]])):
            sums[k] = total[start:start + size].reshape(np.shape(summands[0][k]))
        return sums
