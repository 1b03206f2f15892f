"""A federated client: a hospital that keeps its records and answers only with messages."""

from __future__ import annotations

import numpy as np

from fedlab._validation import InvalidParameterError
from fedlab.federated.messages import Update
from fedlab.federated.preprocessing import feature_sums
from fedlab.models import LogisticRegression, Model

__all__ = ["Client"]


class Client:
    """One participant of federated training; its records never leave this object.

    The server and the engine talk to a client only through its methods, each of which
    returns a message (:class:`~fedlab.federated.messages.Update` or
    :class:`~fedlab.federated.preprocessing.FeatureSums`), never the records.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Training records, raw (missing values as NaN).
    y : array-like of shape (n_samples,) or (n_samples, 2)
        The outcome the model takes: binary outcomes 0 or 1, or (time, event) rows for
        a survival model.
    name : str, default="client"
    model : fedlab.models.Model, optional
        The model this client trains (every client of a run shares one);
        ``None`` is :class:`~fedlab.models.LogisticRegression`.

    Examples
    --------
    >>> c = Client([[1.0], [2.0], [3.0]], [0, 1, 1], name="clinic")
    >>> c.n_samples
    3
    >>> c.feature_sums().total
    array([6.])
    """

    def __init__(self, X, y, *, name="client", model=None):
        if model is None:
            model = LogisticRegression()
        elif not isinstance(model, Model):
            raise InvalidParameterError(
                f"model must be a fedlab.models.Model (e.g. LogisticRegression(), MLP()), "
                f"got {type(model).__name__}")
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or len(X) == 0:
            raise InvalidParameterError(
                f"X of client {name!r} must be 2-D of shape (n_samples, n_features) with "
                f"at least one record, got shape {X.shape}")
        self.name = str(name)
        self.model = model
        self._X_raw = X
        self._missing = bool(np.isnan(X).any())  # raw records cannot be trained on as they are
        self._y = model.check_outcome(y, len(X), client=self.name)
        self._X = None  # preprocessed records, set by preprocess()
        self._standardizer = None

    @classmethod
    def from_hospital(cls, hospital, *, model=None):
        """A client holding a hospital's training split (the test split stays out)."""
        return cls(hospital.X_train, hospital.y_train, name=hospital.name, model=model)

    @property
    def n_samples(self):
        """Number of local training records (what FedAvg weights by)."""
        return len(self._y)

    @property
    def n_features(self):
        """Number of features of the local records."""
        return self._X_raw.shape[1]

    def __repr__(self):
        return f"Client(name={self.name!r}, n_samples={self.n_samples})"

    def records(self):
        """Copies of this client's own raw training records and outcomes, ``(X, y)``.

        For code that runs *at the hospital* (a local data check, an attack by the
        hospital itself): the server and the round loop never call it. Copies, so that
        changing them leaves the client's records alone.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Raw records, missing values as NaN (not standardized).
        y : ndarray of shape (n_samples,) or (n_samples, 2)

        Examples
        --------
        >>> c = Client([[1.0], [2.0]], [0, 1], name="clinic")
        >>> X, y = c.records()
        >>> X[0, 0] = 99.0
        >>> c.records()[0].tolist(), y.tolist()
        ([[1.0], [2.0]], [0.0, 1.0])
        """
        return self._X_raw.copy(), self._y.copy()

    def feature_sums(self):
        """Counts, sums and sums of squares per feature, for federated standardization."""
        return feature_sums(self._X_raw, site=self.name)

    def preprocess(self, standardizer):
        """Standardize the local records with the global ``standardizer`` (kept locally).

        ``None`` goes back to the raw records.
        """
        self._standardizer = standardizer
        self._X = None if standardizer is None else standardizer.transform(self._X_raw)

    @property
    def preprocessing(self):
        """The standardizer the records are preprocessed with, or ``None`` (raw)."""
        return self._standardizer

    def train(self, params, config, *, state=None, random_state=None):
        """Answer one round's instructions: the one entry point the round loop calls.

        Parameters
        ----------
        params : ndarray of shape (n_params,)
            The global model received from the server.
        config : dict
            The strategy's instructions: ``task`` (``"fit"``, the default,
            ``"gradient"`` for FedSGD, or ``"dp_sgd"`` for
            :class:`fedlab.privacy.DPSGD`), ``epochs``, ``batch_size``, ``lr``, ``l2``, and
            optionally ``mu`` (FedProx) and ``control`` (SCAFFOLD's server variate).
        state : dict, optional
            This client's memory across the rounds of one run (SCAFFOLD keeps its
            ``c_i`` here), held on the client's side; never read by the server.
        random_state : None, int or numpy.random.Generator
            This client's own stream (shuffles, and noise for a private client).

        Returns
        -------
        Update
        """
        if config.get("task", "fit") == "gradient":
            return self.gradient(params, l2=config.get("l2", 0.0), random_state=random_state)
        if config.get("task") == "dp_sgd":  # strategy DPSGD: record-level DP at this site
            from fedlab.privacy.dpsgd_strategy import dp_sgd_reply

            return dp_sgd_reply(self, params, config, state={} if state is None else state,
                                random_state=random_state)
        settings = {k: config[k] for k in ("epochs", "batch_size", "lr", "l2", "mu")
                    if k in config}
        if "control" not in config:
            return self.fit(params, **settings, random_state=random_state)
        state = {} if state is None else state
        own = state.get("control", np.zeros_like(params))
        update = self.fit(params, **settings, correction=config["control"] - own,
                          random_state=random_state)
        new_own = scaffold_control(own, config["control"], update.vector,
                                   self.local_steps(config), config.get("lr", 0.1))
        state["control"] = new_own
        update.arrays["control"] = new_own - own
        return update

    def local_steps(self, config):
        """Number of local SGD steps one round of ``config`` takes on this client."""
        return self.model.local_steps(self.n_samples, epochs=config.get("epochs", 1),
                                      batch_size=config.get("batch_size", 32))

    def fit(self, params, *, epochs=1, batch_size=32, lr=0.1, l2=0.0, mu=0.0,
            correction=None, random_state=None):
        """Train locally from the global ``params``; reply with the parameter change.

        Parameters
        ----------
        params : ndarray of shape (n_params,)
            The global model received from the server.
        epochs, batch_size, lr, l2, mu : see :meth:`fedlab.models.Model.local_train`
        correction : ndarray of shape (n_params,), optional
            SCAFFOLD's ``c - c_i`` (the model's ``corrections``).
        random_state : None, int or numpy.random.Generator

        Returns
        -------
        Update
            ``vector`` is ``theta_local - params``.
        """
        X = self._records()
        new = self.model.local_train(params, X, self._y, epochs=epochs, batch_size=batch_size,
                                     lr=lr, l2=l2, mu=mu, corrections=correction,
                                     random_state=random_state)
        return Update(self.name, new - params, self.n_samples,
                      {"loss": self.model.loss(new, X, self._y, l2=l2)})

    def gradient(self, params, *, l2=0.0, random_state=None):
        """FedSGD: reply with the gradient of the local loss at ``params`` (all records).

        ``random_state`` is unused here (the gradient is exact); a private client draws
        its noise from it.
        """
        X = self._records()
        return Update(self.name, self.model.gradient(params, X, self._y, l2=l2),
                      self.n_samples, {"loss": self.model.loss(params, X, self._y, l2=l2)})

    def stacked_records(self):
        """Preprocessed records and outcomes ``(X, y)`` for the model's ``stacked_train``.

        Returns ``None`` for a client that trains in a way of its own (e.g. DP-SGD), so
        the round loop calls its :meth:`train` instead. A simulation shortcut: the
        model trains every such client at once
        (:meth:`fedlab.models.Model.stacked_train`), exactly as their :meth:`fit` would.
        """
        return self._records(), self._y

    def _records(self):
        if self._X is None:
            if self._missing:
                raise InvalidParameterError(
                    f"client {self.name!r} has missing values: call preprocess() with a "
                    "Standardizer (federated.run does this when standardize=True)"
                )
            return self._X_raw
        return self._X


def scaffold_control(own, server, delta, steps, lr):
    """SCAFFOLD's new client control variate, option II: ``c_i - c + (x - y) / (K lr)``.

    ``delta`` is ``y - x``, the client's update after ``steps`` local steps of size ``lr``.

    Examples
    --------
    >>> scaffold_control(np.zeros(1), np.zeros(1), np.array([-0.2]), 2, 0.1)
    array([1.])
    """
    return own - server - delta / (steps * lr)
