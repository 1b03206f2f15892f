"""The model protocol: what the round loop, DP-SGD and the attacks ask of a model.

A model is a small stateless object: its parameters live in a flat float64 vector that
the clients and the server exchange, and its methods compute on that vector (loss,
gradient, per-example gradients, predictions, local training, metrics). The round loop
never imports a particular model; it asks the clients' model. Subclasses set the class
attributes and write :meth:`~Model.n_params`, :meth:`~Model.init_params`,
:meth:`~Model.loss`, :meth:`~Model.gradient` and :meth:`~Model.predict`; the rest
(mini-batch local SGD, the stacked loop over clients, the metrics) comes from here.
"""

from __future__ import annotations

import functools
import inspect

import numpy as np

from fedlab._validation import InvalidParameterError, check_int, check_positive, check_rng

__all__ = ["Model"]

OUTCOMES = ("binary", "survival")


class Model:
    """Base class of every model: a flat parameter vector and what is computed on it.

    Attributes
    ----------
    name : str
        The registry key (:func:`fedlab.models.make_model`), e.g. ``"logistic"``.
    outcome : {"binary", "survival"}
        ``"binary"``: ``y`` of shape (n,) holding 0 and 1. ``"survival"``: ``y`` of shape
        (n, 2), column 0 the observed time (event or censoring), column 1 the event
        indicator 0/1.
    supports_per_example : bool
        Whether :meth:`per_example_gradients` is meaningful (DP-SGD clips it, attacks
        read it). A Cox model says no: one record sits in many risk sets.
    full_batch : bool
        Whether every local step uses the whole local data set (``batch_size`` ignored).
    linear : bool
        Whether the prediction is a function of one linear predictor ``X w (+ b)``, so
        that the parameters are one coefficient per feature (and an intercept): reports
        then name them by feature (:func:`fedlab.cli.report.fitted_coefficients`).
        Otherwise they are reported as the arrays of :meth:`param_shapes`.

    Notes
    -----
    Penalty: :meth:`loss` is the mean loss plus ``l2 / 2 * ||w||^2`` over the weights
    ``w`` (biases are not penalised); :meth:`penalty_gradient` is its gradient. Local SGD
    (:meth:`local_train`) visits the records ``batch_size`` at a time in a fresh order
    each epoch, drawn as ``rng.permutation(n)``, and draws nothing when one batch holds
    every record: models that override it for speed keep these draws, so that the same
    seed gives the same shuffles whatever the model.

    Examples
    --------
    >>> from fedlab.models import MLP
    >>> MLP(hidden=4)
    MLP(hidden=4, activation='tanh')
    >>> MLP(hidden=4).get_params()
    {'hidden': 4, 'activation': 'tanh'}
    """

    name = None
    outcome = "binary"
    supports_per_example = True
    full_batch = False
    linear = False

    # -- description, as scikit-learn's estimators --------------------------------------
    @classmethod
    def _param_names(cls):
        return _constructor_parameters(cls)

    def get_params(self):
        """The constructor's parameters and their values, as a dict (scikit-learn's)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other):
        return type(other) is type(self) and other.get_params() == self.get_params()

    def __hash__(self):
        return hash((type(self), tuple(self.get_params().items())))

    # -- what a model writes ------------------------------------------------------------
    def n_params(self, n_features):
        """Length of the parameter vector for ``n_features`` features."""
        raise NotImplementedError(f"{type(self).__name__} must define n_params")

    def init_params(self, n_features, *, random_state=None):
        """The starting parameter vector, of shape ``(n_params(n_features),)``."""
        raise NotImplementedError(f"{type(self).__name__} must define init_params")

    def loss(self, params, X, y, *, l2=0.0):
        """Mean loss over the records plus ``l2 / 2 * ||w||^2``, a float."""
        raise NotImplementedError(f"{type(self).__name__} must define loss")

    def gradient(self, params, X, y, *, l2=0.0):
        """Exact gradient of :meth:`loss` with respect to ``params``."""
        raise NotImplementedError(f"{type(self).__name__} must define gradient")

    def predict(self, params, X):
        """Binary outcome: ``P(y = 1)`` per record; survival: the risk score."""
        raise NotImplementedError(f"{type(self).__name__} must define predict")

    def per_example_gradients(self, params, X, y):
        """Gradient of each record's loss (no penalty), of shape (n_samples, n_params).

        Raises
        ------
        InvalidParameterError
            For a model that declares ``supports_per_example = False``.
        """
        raise InvalidParameterError(
            f"model {self!r} has no per-example gradients (supports_per_example=False): "
            "record-level DP-SGD and the gradient attacks need them; use a model that "
            "supports them, or client-level DP (DP-FedAvg)")

    def param_shapes(self, n_features):
        """The named arrays the flat parameter vector holds, in its order: ``{name: shape}``.

        Here one array, ``"params"`` of shape ``(n_params,)``; models with a layout (a
        network's layers) name their arrays. ``params`` splits as
        ``numpy.split(params, numpy.cumsum(sizes)[:-1])`` with ``sizes`` the products of
        the shapes.
        """
        return {"params": (self.n_params(n_features),)}

    def penalty_gradient(self, params, *, l2=0.0):
        """Gradient of the penalty ``l2 / 2 * ||w||^2``: ``l2`` times the weights.

        Here every parameter is a weight (a model without an intercept); models with
        biases set those entries to 0.
        """
        return float(l2) * np.asarray(params, dtype=float)

    # -- data checks --------------------------------------------------------------------
    def check_outcome(self, y, n_samples, *, client="client"):
        """``y`` as a float array of this model's outcome for ``n_samples`` records.

        Raises
        ------
        InvalidParameterError
            Binary: unless ``y`` has shape (n_samples,) and holds only 0 and 1.
            Survival: unless ``y`` has shape (n_samples, 2) with finite times >= 0 in
            column 0 and events 0 or 1 in column 1.
        """
        y = np.asarray(y, dtype=float)
        if self.outcome == "binary":
            if y.shape != (n_samples,):
                raise InvalidParameterError(
                    f"y of client {client!r} must be 1-D with one label per record "
                    f"({n_samples}), got shape {y.shape}")
            if not np.all(np.isin(y, (0.0, 1.0))):
                raise InvalidParameterError(f"y of client {client!r} must hold only 0 and 1")
            return y
        if y.shape != (n_samples, 2):
            raise InvalidParameterError(
                f"y of client {client!r} must have shape ({n_samples}, 2) for a survival model "
                f"(column 0 time, column 1 event), got shape {y.shape}")
        if not np.all(np.isfinite(y[:, 0])) or np.any(y[:, 0] < 0):
            raise InvalidParameterError(
                f"times (y[:, 0]) of client {client!r} must be finite and >= 0")
        if not np.all(np.isin(y[:, 1], (0.0, 1.0))):
            raise InvalidParameterError(
                f"events (y[:, 1]) of client {client!r} must hold only 0 and 1")
        return y

    def check_data(self, X, y):
        """``(X, y)`` as float arrays: ``X`` 2-D, ``y`` of this outcome's shape, same rows.

        Raises
        ------
        InvalidParameterError
            Naming the shape that is wrong (values are not checked: see
            :meth:`check_outcome`).
        """
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float)
        if X.ndim != 2:
            raise InvalidParameterError(
                f"X must be 2-D of shape (n_samples, n_features), got shape {X.shape}")
        shape = (len(X),) if self.outcome == "binary" else (len(X), 2)
        if y.shape != shape:
            raise InvalidParameterError(f"y must have shape {shape} for X of {len(X)} rows "
                                        f"and a {self.outcome} outcome, got shape {y.shape}")
        if len(X) == 0:
            raise InvalidParameterError("X and y must hold at least one sample, got 0")
        return X, y

    # -- local training -----------------------------------------------------------------
    def local_steps(self, n_records, *, epochs=1, batch_size=32):
        """Number of SGD steps :meth:`local_train` takes on ``n_records`` records.

        Examples
        --------
        >>> from fedlab.models import LogisticRegression
        >>> LogisticRegression().local_steps(100, epochs=2, batch_size=32)
        8
        """
        batch = n_records if (self.full_batch or batch_size is None) else int(batch_size)
        return int(epochs) * -(-int(n_records) // batch)

    def local_train(self, params, X, y, *, epochs=1, batch_size=32, lr=0.1, l2=0.0, mu=0.0,
                    anchor=None, corrections=None, random_state=None):
        """Local mini-batch SGD from ``params``; returns the new parameters (a copy).

        Parameters
        ----------
        params : array-like of shape (n_params,)
            Starting parameters (the global model a client received).
        X : array-like of shape (n_samples, n_features)
        y : array-like of the model's outcome, one row per record
        epochs : int, default=1
        batch_size : int or None, default=32
            ``None`` (or a ``full_batch`` model) uses every record in each step.
        lr : float, default=0.1
        l2 : float, default=0.0
        mu : float, default=0.0
            FedProx: adds ``mu / 2 * ||params - anchor||^2`` (Li et al. 2020).
        anchor : array-like of shape (n_params,), optional
            FedProx's anchor; defaults to the starting ``params``.
        corrections : array-like of shape (n_params,), optional
            A constant added to every step's gradient (SCAFFOLD's ``c - c_i``).
        random_state : None, int or numpy.random.Generator
            The shuffles: ``rng.permutation(n)`` per epoch, none for a single batch.

        Returns
        -------
        ndarray of shape (n_params,)
        """
        X, y = self.check_data(X, y)
        batch, epochs, rng = _check_sgd(len(y), epochs, batch_size, lr, random_state,
                                        full_batch=self.full_batch)
        theta = np.array(params, dtype=float)
        anchor = theta.copy() if anchor is None else np.asarray(anchor, dtype=float)
        corrections = None if corrections is None else np.asarray(corrections, dtype=float)
        n = len(y)
        for _ in range(epochs):
            if batch >= n:
                X_epoch, y_epoch = X, y
            else:
                order = rng.permutation(n)
                X_epoch, y_epoch = X[order], y[order]
            for start in range(0, n, batch):
                step = self.gradient(theta, X_epoch[start:start + batch],
                                     y_epoch[start:start + batch], l2=l2)
                if mu:
                    step += mu * (theta - anchor)
                if corrections is not None:
                    step += corrections
                theta -= lr * step
        return theta

    def fit(self, X, y, *, l2=0.0, epochs=1, batch_size=32, lr=0.1, random_state=None):
        """Train on one data set alone (pooled records, or one site): the reference models.

        Here: :meth:`init_params` from ``random_state``, then :meth:`local_train` for
        ``epochs`` epochs from the same generator, i.e. the optimizer every client runs
        locally, on these records. Models whose loss is convex may override it with
        their exact optimum (logistic regression: Newton's method, and the SGD settings
        are unused). A model fitted so is not an optimum of a non-convex loss (a network):
        it is what the same budget of local SGD reaches from one initialization.

        Returns
        -------
        ndarray of shape (n_params,)
        """
        X, y = self.check_data(X, y)
        rng = check_rng(random_state)
        params = self.init_params(X.shape[1], random_state=rng)
        return self.local_train(params, X, y, epochs=epochs, batch_size=batch_size, lr=lr,
                                l2=l2, random_state=rng)

    def stacked_train(self, records, params, *, epochs=1, batch_size=32, lr=0.1, l2=0.0,
                      mu=0.0, corrections=None, rngs, return_loss=False):
        """Local training of many clients from the same ``params``.

        Each client gets exactly what :meth:`local_train` gives it with its own stream;
        this base version simply loops, and models override it with a vectorized path.

        Parameters
        ----------
        records : sequence of (X, y)
            Each client's preprocessed records and outcomes.
        params : ndarray of shape (n_params,)
            The global model (and FedProx's anchor).
        epochs, batch_size, lr, l2, mu : as :meth:`local_train`
        corrections : ndarray of shape (n_clients, n_params), optional
            Each client's SCAFFOLD correction.
        rngs : sequence of numpy.random.Generator
            Each client's stream.
        return_loss : bool, default=False
            Also return each client's :meth:`loss` (with ``l2``) at its new model.

        Returns
        -------
        ndarray of shape (n_clients, n_params)
            Each client's local model.
        ndarray of shape (n_clients,)
            With ``return_loss`` only.
        """
        local = np.array([
            self.local_train(params, X, y, epochs=epochs, batch_size=batch_size, lr=lr, l2=l2,
                             mu=mu, corrections=None if corrections is None else corrections[k],
                             random_state=rngs[k])
            for k, (X, y) in enumerate(records)]).reshape(len(records), len(params))
        if not return_loss:
            return local
        return local, np.array([self.loss(theta, X, y, l2=l2)
                                for theta, (X, y) in zip(local, records)])

    # -- evaluation ---------------------------------------------------------------------
    def evaluate(self, params, X, y):
        """The metrics that fit the outcome, as a dict of floats.

        Binary: ``loss`` (the mean log loss, without penalty), ``accuracy`` (at 0.5) and
        ``auc`` (NaN with a single class). Survival models define their own
        (``loss``, ``c_index``).
        """
        from fedlab.metrics.evaluator import probability_metrics  # metrics imports models

        if self.outcome != "binary":
            raise NotImplementedError(f"{type(self).__name__} must define evaluate for a "
                                      f"{self.outcome} outcome")
        X, y = self.check_data(X, y)
        return probability_metrics(y, self.predict(params, X))


@functools.cache
def _constructor_parameters(cls):
    """Names of the parameters of ``cls.__init__`` (read once per class)."""
    signature = inspect.signature(cls.__init__)
    return [p.name for p in signature.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def _check_sgd(n, epochs, batch_size, lr, random_state, *, full_batch=False):
    """Checked ``(batch, epochs, rng)`` for local SGD on ``n`` records."""
    check_positive(lr, "lr")
    epochs = check_int(epochs, "epochs", minimum=0)
    if full_batch or batch_size is None:
        batch = n
    elif (isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer))
          or batch_size < 1):
        raise InvalidParameterError(f"batch_size must be a positive integer or None, got "
                                    f"{batch_size!r}")
    else:
        batch = int(batch_size)
    return batch, epochs, check_rng(random_state)
