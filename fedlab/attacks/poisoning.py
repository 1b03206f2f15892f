"""Poisoning attacks: a wrapper that turns an honest hospital into a malicious one.

:func:`malicious` keeps the client's records and its protocol (``train`` returns an
``Update``), but changes what it sends: label flipping (data poisoning), sign flip and
scaled model replacement (Bagdasaryan et al. 2020), Gaussian noise (Blanchard et al.
2017), "a little is enough" (Baruch et al. 2019) and a targeted backdoor.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np

from fedlab._validation import (
    InvalidParameterError,
    check_choice,
    check_int,
    check_positive,
    check_rng,
)
from fedlab.federated.client import Client
from fedlab.federated.messages import Update

__all__ = ["ATTACKS", "MaliciousClient", "malicious", "little_is_enough_z"]

ATTACKS = {
    "label_flip": {},
    "sign_flip": {"scale": 1.0},
    "model_replacement": {"boost": 10.0},
    "gaussian": {"std": 1.0},
    "little": {"z": 1.0, "n_shards": 5},
    "backdoor": {"target": None, "boost": 1.0, "copies": 3},
}
"""Attack names and their parameters with defaults (``backdoor`` needs ``target``)."""


def malicious(client, attack, **params):
    """The same hospital, now sending poisoned updates.

    Parameters
    ----------
    client : Client
        The honest client whose records (and place in the protocol) the attacker takes.
    attack : str
        One of :data:`ATTACKS`:

        - ``"label_flip"``: trains honestly on records whose outcome is flipped (0 <-> 1).
        - ``"sign_flip"``: sends ``-scale`` times its honest update.
        - ``"model_replacement"``: sends ``boost`` times its honest update, so that its
          model survives the averaging (Bagdasaryan et al. 2020 use ``boost = n / eta``).
        - ``"gaussian"``: sends pure noise ``N(0, std^2 I)``.
        - ``"little"``: sends ``mean - z * std`` of honest updates, coordinate-wise: close
          enough to the crowd to pass a robust rule, always pushed the same way.
        - ``"backdoor"``: relabels its records where ``target(X)`` holds as 0 (no event),
          repeats them ``copies`` times, trains, and sends ``boost`` times the update.
    **params
        The attack's parameters (see :data:`ATTACKS` for the defaults).

    Returns
    -------
    MaliciousClient

    Raises
    ------
    InvalidParameterError
        For an unknown attack, a parameter the attack does not take, or a bad value.

    Examples
    --------
    >>> import numpy as np
    >>> honest = Client([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1], name="site")
    >>> bad = malicious(honest, "sign_flip", scale=10)
    >>> config = {"epochs": 1, "batch_size": None, "lr": 0.1}
    >>> up = honest.train(np.zeros(2), config, random_state=0)
    >>> np.allclose(bad.train(np.zeros(2), config, random_state=0).vector, -10 * up.vector)
    True
    """
    return MaliciousClient(client, attack, **params)


class MaliciousClient:
    """A client the round loop calls like any other, whose replies are poisoned.

    Not a :class:`~fedlab.federated.Client` subclass: the round loop therefore calls its
    :meth:`train` one by one instead of the vectorized executor. Its name, size and
    feature sums are the honest client's, so nothing but its updates gives it away.
    See :func:`malicious` for the attacks and their parameters.

    Attributes
    ----------
    honest : Client
        The wrapped client.
    attack : str
    params : dict
        The attack's parameters, defaults filled in.
    """

    def __init__(self, client, attack, **params):
        if not isinstance(client, Client):
            raise InvalidParameterError(
                f"client must be a fedlab.federated.Client, got {type(client).__name__}")
        self.attack = check_choice(attack, "attack", tuple(ATTACKS))
        unknown = sorted(set(params) - set(ATTACKS[attack]))
        if unknown:
            raise InvalidParameterError(
                f"attack {attack!r} takes {sorted(ATTACKS[attack]) or 'no parameters'}, got "
                f"{', '.join(unknown)}")
        self.params = {**ATTACKS[attack], **params}
        self.honest = client
        self._trainer = _poisoned_client(client, attack, self.params)
        self._shards = self._standardizer = None

    name = property(lambda self: self.honest.name)
    n_samples = property(lambda self: self.honest.n_samples)
    n_features = property(lambda self: self.honest.n_features)
    model = property(lambda self: self.honest.model)

    def __repr__(self):
        extra = ", ".join(f"{k}={v!r}" for k, v in self.params.items() if k != "target")
        return f"malicious({self.honest!r}, {self.attack!r}{', ' * bool(extra)}{extra})"

    def feature_sums(self):
        """The honest client's sums: the attacker hides in preprocessing."""
        return self.honest.feature_sums()

    def preprocess(self, standardizer):
        """Standardize the honest records and any poisoned copy the attack trains on."""
        self.honest.preprocess(standardizer)
        if self._trainer is not self.honest:
            self._trainer.preprocess(standardizer)
        self._standardizer = standardizer
        self._shards = None

    @property
    def preprocessing(self):
        """The standardizer the records are preprocessed with, or ``None`` (raw)."""
        return self._standardizer

    def stacked_records(self):
        """``None``: the round loop must call :meth:`train` (the attack is in there)."""
        return None

    def train(self, params, config, *, state=None, random_state=None):
        """Answer the round like the honest client would, then poison the reply."""
        rng = check_rng(random_state)
        p = self.params
        if self.attack == "little":
            return Update(self.name, self._little(params, config, rng), self.n_samples)
        update = self._trainer.train(params, config, state=state, random_state=rng)
        vector = update.vector
        if self.attack == "sign_flip":
            vector = -p["scale"] * vector
        elif self.attack in ("model_replacement", "backdoor"):
            vector = p["boost"] * vector
        elif self.attack == "gaussian":
            vector = rng.normal(scale=p["std"], size=vector.shape)
        return Update(self.name, vector, self.n_samples, update.metrics, update.arrays)

    def _little(self, params, config, rng):
        """``mean - z std`` of updates trained on disjoint shards of the attacker's records.

        Baruch et al. (2019) let the attackers estimate the honest updates' mean and
        spread from their own honest updates; one hospital simulates several by splitting
        its records into ``n_shards`` parts.
        """
        if self._shards is None:
            X, y = self.honest.records()  # the attacker is the hospital: its own records
            parts = np.array_split(np.arange(len(y)), self.params["n_shards"])
            self._shards = [Client(X[i], y[i], name=f"{self.name} shard {k}",
                                   model=self.model)
                            for k, i in enumerate(parts)]
            for shard in self._shards:
                if self._standardizer is not None:
                    shard.preprocess(self._standardizer)
        vectors = np.array([s.train(params, config, random_state=rng).vector
                            for s in self._shards])
        return vectors.mean(axis=0) - self.params["z"] * vectors.std(axis=0, ddof=1)


def little_is_enough_z(n_clients, n_malicious):
    """The largest shift ``z`` (in standard deviations) that Baruch et al. (2019) allow.

    With ``n`` clients of which ``m`` are malicious, ``s = floor(n / 2 + 1) - m`` honest
    clients must be "further from the mean" than the attackers for a majority rule to
    pick them; ``z = Phi^-1((n - s) / n)``.

    Examples
    --------
    >>> round(little_is_enough_z(50, 12), 3)
    0.583
    """
    n = check_int(n_clients, "n_clients", minimum=2)
    m = check_int(n_malicious, "n_malicious", minimum=1, maximum=n - 1)
    s = n // 2 + 1 - m
    return NormalDist().inv_cdf((n - s) / n)


def _poisoned_client(client, attack, params):
    """The client the attacker actually trains: honest, or with poisoned labels/records."""
    if attack in ("label_flip", "backdoor") and client.model.outcome != "binary":
        raise InvalidParameterError(
            f"attack {attack!r} flips binary outcomes; the model of {client.name!r} "
            f"({client.model!r}) has a {client.model.outcome} outcome")
    if attack == "label_flip":
        X, y = client.records()
        return Client(X, 1.0 - y, name=client.name, model=client.model)
    if attack == "backdoor":
        target = params["target"]
        if not callable(target):
            raise InvalidParameterError(
                "attack 'backdoor' needs target, a function of the raw records X that "
                "returns True for the patients to make look low-risk, got "
                f"{target!r}")
        X, y = client.records()
        mask = np.asarray(target(X), dtype=bool)
        if mask.shape != (client.n_samples,) or not mask.any():
            raise InvalidParameterError(
                f"target must mark at least one of the {client.n_samples} records of "
                f"{client.name!r} (a boolean array of that length), got {int(mask.sum())} "
                "marked")
        copies = check_int(params["copies"], "copies", minimum=1)
        poisoned_X = np.vstack([X] + [X[mask]] * copies)
        poisoned_y = np.concatenate([np.where(mask, 0.0, y)] + [np.zeros(mask.sum())] * copies)
        check_positive(params["boost"], "boost")
        return Client(poisoned_X, poisoned_y, name=client.name, model=client.model)
    for key in ("scale", "boost", "std", "z"):
        if key in params:
            check_positive(params[key], key, strict=key != "z")
    if attack == "little":
        check_int(params["n_shards"], "n_shards", minimum=2, maximum=client.n_samples)
    return client
