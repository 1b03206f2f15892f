"""What a federated run leaves behind: per-round metrics, bytes on the wire, the model."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

__all__ = ["RoundRecord", "History"]


@dataclass
class RoundRecord:
    """Metrics after one round (round 0 is the initial model, before any training).

    Attributes
    ----------
    round : int
    pooled : dict
        ``{"loss", "accuracy", "auc"}`` on all hospitals' test sets together.
    sites : dict of str to dict
        The same metrics on each hospital's test set.
    bytes_up, bytes_down : int
        Bytes sent to and from the server in this round (cumulative totals live in
        :meth:`History.bytes`).
    participants : list of str
        Clients whose update the server used.
    epsilon : float or None
        Privacy spent so far, when the run is differentially private.
    dropped : list of str
        Clients chosen this round whose reply did not arrive (a simulated dropout, a
        site that stopped, failed or was late).
    refused : dict of str to str
        Clients whose reply was refused before aggregation, and why (e.g. a non-finite
        update): treated as failed for the round, never averaged.
    """

    round: int
    pooled: dict
    sites: dict
    bytes_up: int = 0
    bytes_down: int = 0
    participants: list = field(default_factory=list)
    epsilon: float | None = None
    dropped: list = field(default_factory=list)
    refused: dict = field(default_factory=dict)


@dataclass
class History:
    """The record of a federated run.

    Attributes
    ----------
    rounds : list of RoundRecord
    params : ndarray of shape (n_params,)
        The final global model.
    standardizer : Standardizer or None
        The federated preprocessing the model expects its inputs to go through.
    config : dict
        The settings of the run.

    Examples
    --------
    >>> h = History([RoundRecord(0, {"auc": 0.5}, {"a": {"auc": 0.5}}),
    ...              RoundRecord(1, {"auc": 0.7}, {"a": {"auc": 0.6}}, bytes_up=16)])
    >>> h.metric("auc")
    array([0.5, 0.7])
    >>> h.metric("auc", site="a")
    array([0.5, 0.6])
    >>> h.bytes()
    array([ 0, 16])
    """

    rounds: list
    params: np.ndarray | None = None
    standardizer: object = None
    config: dict = field(default_factory=dict)

    def metric(self, name="auc", *, site=None):
        """One metric per round, pooled or for ``site``, as an array."""
        if site is None:
            return np.array([r.pooled[name] for r in self.rounds])
        return np.array([r.sites[site][name] for r in self.rounds])

    def bytes(self, direction="both"):
        """Cumulative bytes on the wire after each round (``"up"``, ``"down"`` or ``"both"``)."""
        up = np.cumsum([r.bytes_up for r in self.rounds])
        down = np.cumsum([r.bytes_down for r in self.rounds])
        return {"up": up, "down": down, "both": up + down}[direction]

    @property
    def epsilons(self):
        """Privacy spent after each round (NaN where the run was not private)."""
        return np.array([np.nan if r.epsilon is None else r.epsilon for r in self.rounds])

    @property
    def final(self):
        """The last :class:`RoundRecord`."""
        return self.rounds[-1]

    def to_dict(self):
        """A JSON-ready dict of the per-round records and the settings."""
        return {"config": dict(self.config), "rounds": [asdict(r) for r in self.rounds]}

    def __repr__(self):
        last = self.final
        return (f"History({len(self.rounds) - 1} rounds, final pooled AUC "
                f"{last.pooled.get('auc', float('nan')):.3f})")
