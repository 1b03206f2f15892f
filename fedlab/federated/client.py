"""A federated client: a hospital that keeps its records and answers only with messages."""

from __future__ import annotations

import numpy as np

from fedlab import model
from fedlab._validation import check_xy
from fedlab.federated.messages import Update
from fedlab.federated.preprocessing import feature_sums

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
    y : array-like of shape (n_samples,)
        Binary outcomes, 0 or 1.
    name : str, default="client"

    Examples
    --------
    >>> c = Client([[1.0], [2.0], [3.0]], [0, 1, 1], name="clinic")
    >>> c.n_samples
    3
    >>> c.feature_sums().total
    array([6.])
    """

    def __init__(self, X, y, *, name="client"):
        X, y = check_xy(X, y)
        if not np.all(np.isin(y, (0.0, 1.0))):
            raise ValueError(f"y of client {name!r} must hold only 0 and 1")
        self.name = str(name)
        self._X_raw = X
        self._y = y
        self._X = None  # preprocessed records, set by preprocess()

    @classmethod
    def from_hospital(cls, hospital):
        """A client holding a hospital's training split (the test split stays out)."""
        return cls(hospital.X_train, hospital.y_train, name=hospital.name)

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

    def feature_sums(self):
        """Counts, sums and sums of squares per feature, for federated standardization."""
        return feature_sums(self._X_raw)

    def preprocess(self, standardizer):
        """Standardize the local records with the global ``standardizer`` (kept locally)."""
        self._X = standardizer.transform(self._X_raw)

    def fit(self, params, *, epochs=1, batch_size=32, lr=0.1, l2=0.0, mu=0.0,
            random_state=None):
        """Train locally from the global ``params``; reply with the parameter change.

        Parameters
        ----------
        params : ndarray of shape (n_params,)
            The global model received from the server.
        epochs, batch_size, lr, l2, mu : see :func:`fedlab.model.sgd`
        random_state : None, int or numpy.random.Generator

        Returns
        -------
        Update
            ``vector`` is ``theta_local - params``.
        """
        X = self._records()
        new = model.sgd(params, X, self._y, epochs=epochs, batch_size=batch_size, lr=lr,
                        l2=l2, mu=mu, random_state=random_state)
        return Update(self.name, new - params, self.n_samples,
                      {"loss": model.loss(new, X, self._y, l2=l2)})

    def gradient(self, params, *, l2=0.0):
        """FedSGD: reply with the gradient of the local loss at ``params`` (all records)."""
        X = self._records()
        return Update(self.name, model.gradient(params, X, self._y, l2=l2), self.n_samples,
                      {"loss": model.loss(params, X, self._y, l2=l2)})

    def _records(self):
        if self._X is None:
            if np.isnan(self._X_raw).any():
                raise ValueError(
                    f"client {self.name!r} has missing values: call preprocess() with a "
                    "Standardizer (federated.run does this when standardize=True)"
                )
            return self._X_raw
        return self._X
