"""Training-seed variation: the same comparison repeated over several training seeds.

A 95 % interval from one trained model covers the sampling of the test patients only: a
second training run (other shuffles, other client samples, other noise) gives another
model and another estimate. :func:`seed_spread` repeats a comparison over the course's
training seeds (2020-2029) so a lesson can show both sources of variation side by side,
and say how many seeds' intervals exclude zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fedlab._validation import InvalidParameterError

__all__ = ["TRAINING_SEEDS", "SeedSpread", "seed_spread"]

TRAINING_SEEDS = tuple(range(2020, 2030))


@dataclass(frozen=True)
class SeedSpread:
    """One statistic over several training seeds, each with its test-sampling interval.

    Attributes
    ----------
    seeds : tuple of int
    estimates : ndarray of shape (n_seeds,)
    lower, upper : ndarray of shape (n_seeds,) or None
        Each seed's 95 % interval (test-patient sampling), when the comparison gives one.
    """

    seeds: tuple
    estimates: np.ndarray
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None

    @property
    def mean(self):
        """Mean of the estimates over the seeds."""
        return float(np.mean(self.estimates))

    @property
    def sd(self):
        """Standard deviation over the seeds (``ddof=1``; 0 for a single seed)."""
        return float(np.std(self.estimates, ddof=1)) if len(self.estimates) > 1 else 0.0

    @property
    def range(self):
        """``(min, max)`` of the estimates over the seeds."""
        return float(np.min(self.estimates)), float(np.max(self.estimates))

    @property
    def n_excluding(self):
        """Number of seeds whose interval excludes ``value`` 0 (``None`` without intervals)."""
        if self.lower is None:
            return None
        return int(np.sum((self.lower > 0) | (self.upper < 0)))

    def __str__(self):
        low, high = self.range
        text = (f"over {len(self.seeds)} training seeds: mean {self.mean:+.4f}, "
                f"SD {self.sd:.4f}, range [{low:+.4f}, {high:+.4f}]")
        if self.lower is not None:
            text += (f"; the 95 % interval excludes 0 for {self.n_excluding} of "
                     f"{len(self.seeds)} seeds")
        return text


def seed_spread(compare, *, seeds=TRAINING_SEEDS):
    """Repeat ``compare(seed)`` over training seeds and collect its estimates and intervals.

    Parameters
    ----------
    compare : callable
        ``compare(seed)`` trains with ``random_state=seed`` and returns the statistic (a
        float), or ``(estimate, lower, upper)`` with its 95 % interval over test patients.
    seeds : sequence of int, default=TRAINING_SEEDS
        The training seeds (2020-2029 in the course).

    Returns
    -------
    SeedSpread

    Raises
    ------
    InvalidParameterError
        When ``seeds`` is empty, or ``compare`` returns a non-finite value or mixes
        plain values with intervals.

    Examples
    --------
    >>> spread = seed_spread(lambda s: (s - 2024.5) / 100, seeds=range(2020, 2030))
    >>> round(spread.mean, 6), spread.range
    (0.0, (-0.045, 0.045))
    >>> spread = seed_spread(lambda s: (0.02, 0.01, 0.03), seeds=[1, 2])
    >>> spread.n_excluding
    2
    """
    seeds = tuple(int(s) for s in seeds)
    if not seeds:
        raise InvalidParameterError("seeds must hold at least one seed, got none")
    results = [compare(seed) for seed in seeds]
    with_interval = [isinstance(r, tuple | list) for r in results]
    if any(with_interval) and not all(with_interval):
        raise InvalidParameterError(
            "compare must return either a value or (estimate, lower, upper) for every seed, "
            "not a mix of the two")
    table = np.asarray(results, dtype=float).reshape(len(seeds), -1)
    if not np.all(np.isfinite(table)):
        bad = seeds[int(np.flatnonzero(~np.isfinite(table).all(axis=1))[0])]
        raise InvalidParameterError(f"compare({bad}) returned a non-finite value")
    if table.shape[1] == 1:
        return SeedSpread(seeds, table[:, 0])
    if table.shape[1] != 3:
        raise InvalidParameterError(
            f"compare must return a value or (estimate, lower, upper), got {table.shape[1]} "
            "numbers")
    return SeedSpread(seeds, table[:, 0], table[:, 1], table[:, 2])
