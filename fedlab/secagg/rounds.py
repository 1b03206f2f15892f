"""What the training strategies of secure aggregation share: the threshold, dropouts, the log.

:class:`fedlab.secagg.SecureFedAvg` (:mod:`.fedavg`) and
:class:`fedlab.secagg.SecureSummation` (:mod:`.summation`) both run one round of the
protocol of Bonawitz et al. (2017), :func:`fedlab.secagg.secure_sum`, per training
round; the base class here picks each round's threshold, simulates the dropouts and
keeps the log.
"""

import math
import warnings

import numpy as np

from fedlab._validation import InvalidParameterError, check_rng

from .messages import SecAggAbort
from .protocol import secure_sum

__all__ = ["default_threshold"]


def default_threshold(n_clients):
    """Return the default threshold ``max(2, floor(2 n / 3) + 1)`` for ``n_clients`` clients.

    More than two thirds of the round's clients must stay to the end: a strict majority, as
    the security argument of Bonawitz et al. needs, with room for a third to drop out.

    Examples
    --------
    >>> [default_threshold(n) for n in (2, 3, 5, 10, 100)]
    [2, 3, 4, 7, 67]
    """
    n = int(n_clients)
    if n < 2:
        raise InvalidParameterError(f"secure aggregation needs at least 2 clients, got {n}")
    return min(n, max(2, 2 * n // 3 + 1))


class _SecureRounds:
    """What both strategies share: threshold per round, simulated dropouts, the log."""

    def __init__(self, *, threshold, bits, dropout_before_masking, dropout_after_masking,
                 authenticated, random_state):
        if threshold is not None:
            if isinstance(threshold, bool) or not isinstance(threshold, (int, float,
                                                                         np.number)):
                raise InvalidParameterError(f"threshold must be None, an int or a fraction, got "
                                f"{type(threshold).__name__}")
            if isinstance(threshold, (float, np.floating)) and not 0.5 < threshold <= 1:
                raise InvalidParameterError(
                    f"a fractional threshold must be in (0.5, 1], got {threshold}"
                )
            if isinstance(threshold, (int, np.integer)) and threshold < 2:
                raise InvalidParameterError(f"threshold must be >= 2, got {threshold}")
        for name, p in (
            ("dropout_before_masking", dropout_before_masking),
            ("dropout_after_masking", dropout_after_masking),
        ):
            if isinstance(p, bool) or not isinstance(p, (int, float, np.number)) or not 0 <= p < 1:
                raise InvalidParameterError(f"{name} must be a probability in [0, 1), got {p!r}")
        if dropout_before_masking + dropout_after_masking >= 1:
            raise InvalidParameterError(
                "dropout_before_masking + dropout_after_masking must be < 1, got "
                f"{dropout_before_masking + dropout_after_masking}"
            )
        if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)):
            raise InvalidParameterError(f"bits must be an int, got {type(bits).__name__}")
        if not isinstance(authenticated, (bool, np.bool_)):
            raise InvalidParameterError(
                f"authenticated must be True or False, got {authenticated!r}"
            )
        self.threshold, self.bits = threshold, int(bits)
        self.authenticated = bool(authenticated)
        self.dropout_before_masking = float(dropout_before_masking)
        self.dropout_after_masking = float(dropout_after_masking)
        # keys, seeds and Shamir coefficients: os.urandom unless seeded (teaching only)
        self._keys = None if random_state is None else np.random.default_rng(random_state)
        # dropouts and noise when no engine rng is passed: seeded if random_state is
        self._own_rng = np.random.default_rng(random_state)
        self.rounds_run = 0
        self.log = []
        self.last_result = None

    def threshold_for(self, n_clients):
        """The threshold of a round with ``n_clients`` participants."""
        if self.threshold is None:
            return default_threshold(n_clients)
        if isinstance(self.threshold, (float, np.floating)):
            return min(n_clients, max(2, math.ceil(self.threshold * n_clients)))
        if self.threshold > n_clients:
            raise InvalidParameterError(
                f"threshold={self.threshold} exceeds the {n_clients} clients of "
                "this round; pass a fraction such as threshold=0.7, or None"
            )
        return int(self.threshold)

    def _rng(self, rng):
        """The engine's generator if it passed one, else this strategy's own."""
        return self._own_rng if rng is None else check_rng(rng)

    def _run(self, rows, *, rng, clip_range, noise_std=0.0, expected_survivors=None):
        """One protocol round over ``rows``; returns the SecureSumResult or None on abort.

        Every random draw but the keys (dropouts, noise shares) comes from ``rng``.
        """
        rng = self._rng(rng)
        m = len(rows)
        t = self.threshold_for(m)
        before, after = self._dropouts(m, rng)
        entry = dict(
            round=self.rounds_run,
            n_clients=m,
            threshold=t,
            dropped_before_masking=before,
            dropped_after_masking=after,
            authenticated=self.authenticated,
        )
        self.rounds_run += 1
        try:
            result = secure_sum(
                rows,
                threshold=t,
                dropped=after,
                dropped_before_masking=before,
                clip_range=clip_range,
                bits=self.bits,
                noise_std=noise_std,
                expected_survivors=expected_survivors,
                round_id=entry["round"] % 2**32,
                authenticated=self.authenticated,
                random_state=self._keys,
                noise_random_state=rng if noise_std > 0 else None,
            )
        except SecAggAbort as err:
            warnings.warn(
                f"secure aggregation round {entry['round']} aborted ({err}); "
                "nothing was revealed and the global model is left unchanged",
                RuntimeWarning,
                stacklevel=3,
            )
            self.log.append(
                {**entry, "aborted": True, "survivors": (), "bytes_up": 0, "bytes_down": 0}
            )
            self.last_result = None
            return None
        self.last_result = result
        self.log.append(
            {
                **entry,
                "aborted": False,
                "survivors": result.survivors,
                "bytes_up": int(result.bytes_up.sum()),
                "bytes_down": int(result.bytes_down.sum()),
                "step": result.step,
                "clip_range": clip_range,
            }
        )
        return result

    def _dropouts(self, m, rng):
        if self.dropout_before_masking == 0 and self.dropout_after_masking == 0:
            return (), ()
        draw = rng.random(m)
        before = np.flatnonzero(draw < self.dropout_before_masking)
        after = np.flatnonzero(
            (draw >= self.dropout_before_masking)
            & (draw < self.dropout_before_masking + self.dropout_after_masking)
        )
        return tuple(before.tolist()), tuple(after.tolist())

    @property
    def aborted_rounds(self):
        """Rounds (counted from 0) that aborted because too few clients were left."""
        return [e["round"] for e in self.log if e["aborted"]]

    def protocol_bytes(self):
        """Bytes ``(up, down)`` of the last round's protocol, all four phases (0 if aborted).

        ``down`` counts what the server sent in the protocol, beyond the model broadcast.
        """
        if not self.log:
            return 0, 0
        return self.log[-1]["bytes_up"], self.log[-1]["bytes_down"]
