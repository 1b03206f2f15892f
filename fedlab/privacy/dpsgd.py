"""Record-level DP-SGD inside one hospital (Abadi et al. 2016): clip each record, add noise.

:func:`dp_sgd` trains a model (logistic regression by default) so that the finished
model (and every intermediate one) is differentially private with respect to any single
patient record. In a federated run every client trains this way under the
:class:`~fedlab.privacy.DPSGD` strategy (``strategy="dpsgd"``, ``--strategy dpsgd``);
:class:`DPSGDClient` is one such client on its own (one hospital private among others
that are not), whose accountant composes every local step of every round.
"""

from __future__ import annotations

import numpy as np

from fedlab._validation import (
    InvalidParameterError,
    check_finite,
    check_int,
    check_positive,
    check_rng,
)
from fedlab.federated.client import Client
from fedlab.federated.messages import Update
from fedlab.models import LogisticRegression

from .accounting import PrivacyAccountant
from .mechanisms import noisy_clipped_sum
from .renyi import check_delta, check_noise_multiplier, check_sample_rate

__all__ = ["dp_sgd", "DPSGDClient"]


def dp_sgd(theta, X, y, *, noise_multiplier, clip_norm, sample_rate=None, batch_size=None,
           steps=None, epochs=None, lr=0.1, l2=0.0, accountant=None, model=None,
           random_state=None):
    """DP-SGD from ``theta``: Poisson batches, per-record clipping, Gaussian noise.

    Parameters
    ----------
    theta : array-like of shape (n_params,)
        Starting parameters (a copy is trained); ``(n_features + 1,)`` for logistic
        regression.
    X : array-like of shape (n_samples, n_features)
        Preprocessed records (no missing values).
    y : array-like of shape (n_samples,)
        Labels, 0 or 1.
    noise_multiplier : float
        ``sigma``: the noise standard deviation in units of ``clip_norm``, >= 0.
    clip_norm : float
        ``C``: each record's gradient is scaled down to L2 norm at most ``C``, > 0.
    sample_rate : float in (0, 1], optional
        ``q``: each record joins each step's batch independently with this probability.
    batch_size : int, optional
        Expected batch size instead: ``q = batch_size / n_samples``. Give ``sample_rate``
        or ``batch_size``, not both; with neither, ``batch_size=32``.
    steps : int, optional
        Number of noisy steps, >= 1.
    epochs : float, optional
        Instead of ``steps``: ``round(epochs / q)`` steps, so each record is used
        ``epochs`` times on average. Give ``steps`` or ``epochs``, not both; with
        neither, one epoch.
    lr : float, default=0.1
    l2 : float, default=0.0
        L2 penalty on the weights (data-independent, so it costs no privacy).
    accountant : PrivacyAccountant, optional
        Records the steps; pass the same one again to keep counting (a hospital across
        federated rounds). A new one is made when ``None``.
    model : fedlab.models.Model, optional
        The model trained; it must support per-example gradients. ``None`` is
        :class:`~fedlab.models.LogisticRegression`.
    random_state : None, int or numpy.random.Generator
        Seeds the batches and the noise.

    Returns
    -------
    params : ndarray of shape (n_params,)
    accountant : PrivacyAccountant
        ``accountant.epsilon(delta)`` is the privacy spent.

    Raises
    ------
    ValueError
        If an argument is out of range, or both (or neither of) ``steps``/``epochs`` or
        ``sample_rate``/``batch_size`` are given inconsistently, or a record, label or
        ``theta`` holds NaN or infinity (checked before any privacy is spent), or the
        model has no per-example gradients (a Cox model: one record sits in many risk
        sets, so clipping it bounds nothing).

    Notes
    -----
    One step, with ``B`` the Poisson batch (each record in it with probability ``q``) and
    ``g_i`` the gradient of record ``i``'s loss (``(p_i - y_i) [x_i, 1]`` for logistic
    regression):

    ``theta <- theta - lr * ( (sum_{i in B} clip_C(g_i) + N(0, sigma^2 C^2 I)) / (q n)
    + l2 w )`` (``w`` the weights, biases not penalised)

    with ``clip_C(g) = g * min(1, C / ||g||)``. Adding or removing one record changes the
    noisy sum by at most ``C``, so each step is the sampled Gaussian mechanism with noise
    multiplier ``sigma`` and rate ``q``; the accountant composes the steps (Mironov et
    al. 2019). Dividing by the *expected* batch size ``q n`` rather than ``|B|`` keeps the
    denominator independent of the data. Per-record gradients come from the model's
    :meth:`~fedlab.models.Model.per_example_gradients`, all records of a batch at once.

    References
    ----------
    .. [1] Abadi, M., Chu, A., Goodfellow, I., McMahan, H. B., Mironov, I., Talwar, K., &
       Zhang, L. (2016). Deep learning with differential privacy. CCS.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 3)); y = (X[:, 0] > 0).astype(float)
    >>> theta, acc = dp_sgd(np.zeros(4), X, y, noise_multiplier=1.0, clip_norm=1.0,
    ...                     batch_size=50, epochs=5, lr=0.5, random_state=0)
    >>> acc.steps, round(acc.epsilon(1e-5), 2)
    (50, 5.88)
    >>> bool(theta[0] > 0)  # it learnt that feature 0 predicts the label
    True
    """
    model = _per_example_model(model)
    X, y = model.check_data(X, y)
    _check_finite_records(X, y)
    theta = np.array(theta, dtype=float)
    n_params = model.n_params(X.shape[1])
    if theta.shape != (n_params,):
        raise InvalidParameterError(f"theta must have shape ({n_params},) for {X.shape[1]} "
                                    f"features and {model!r}, got shape {theta.shape}")
    check_finite(theta, "theta")
    sigma = check_noise_multiplier(noise_multiplier)
    clip_norm = float(check_positive(clip_norm, "clip_norm"))
    check_positive(lr, "lr")
    check_positive(l2, "l2", strict=False)
    n = len(y)
    q = _sample_rate(sample_rate, batch_size, n)
    steps = _steps(steps, epochs, q)
    if accountant is None:
        accountant = PrivacyAccountant()
    elif not isinstance(accountant, PrivacyAccountant):
        raise InvalidParameterError(f"accountant must be a PrivacyAccountant, got "
                        f"{type(accountant).__name__}")
    rng = check_rng(random_state)

    for _ in range(steps):
        batch = np.flatnonzero(rng.random(n) < q)  # Poisson sampling
        per_record = model.per_example_gradients(theta, X[batch], y[batch]) if batch.size \
            else np.zeros((0, len(theta)))
        noisy = noisy_clipped_sum(per_record, clip_norm, sigma * clip_norm, rng=rng)
        theta -= lr * (noisy / (q * n) + model.penalty_gradient(theta, l2=l2))
    accountant.step(noise_multiplier=sigma, sample_rate=q, steps=steps)
    return theta, accountant


class DPSGDClient(Client):
    """A federated client that trains locally with DP-SGD: record-level privacy.

    Every round it runs :func:`dp_sgd` from the global model and replies with the change,
    as a :class:`~fedlab.federated.Client` does; its own accountant composes every local
    step of every round, so :meth:`epsilon` is the privacy this hospital's patients have
    spent so far. Use it in :func:`fedlab.federated.run` like any client.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Training records, raw (missing values as NaN).
    y : array-like of shape (n_samples,)
    noise_multiplier : float
        DP-SGD noise multiplier ``sigma``, >= 0.
    clip_norm : float
        Per-record clipping norm ``C``, > 0.
    sample_rate : float in (0, 1], optional
        Poisson sampling rate of the local steps; by default the run's ``batch_size``
        divided by the number of local records.
    delta : float, default=1e-5
        The delta at which :meth:`epsilon` reports.
    name : str, default="client"
    model : fedlab.models.Model, optional
        The model trained (``None``: logistic regression); it must support per-example
        gradients.
    random_state : None, int or numpy.random.Generator
        Noise of :meth:`gradient` (FedSGD) when it is not given a generator; local
        training (:meth:`fit`) uses the stream the federated run hands it.

    Notes
    -----
    What is protected is each record of this client: the updates it sends, and anything
    computed from them, are differentially private with respect to adding or removing one
    of its patients. Three things stay outside the guarantee, as in most DP-FL systems:
    the number of local records (the FedAvg weight; use ``FedAvg(weighted=False)`` to avoid
    it), the per-feature sums of federated standardization, and the local loss, which
    this client therefore does not report. A round runs ``round(local_epochs / q)`` steps.

    Examples
    --------
    >>> from fedlab import federated
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 2)); y = (X[:, 0] > 0).astype(int)
    >>> clients = [DPSGDClient(X[:200], y[:200], noise_multiplier=1.0, clip_norm=1.0),
    ...            DPSGDClient(X[200:], y[200:], noise_multiplier=1.0, clip_norm=1.0)]
    >>> h = federated.run(clients, rounds=3, batch_size=20, random_state=0)
    >>> clients[0].accountant.steps  # 3 rounds x 10 steps of rate 20 / 200
    30
    >>> round(clients[0].epsilon(), 2)
    4.85
    """

    def __init__(self, X, y, *, noise_multiplier, clip_norm, sample_rate=None, delta=1e-5,
                 name="client", model=None, random_state=None):
        super().__init__(X, y, name=name, model=_per_example_model(model))
        self._rng = check_rng(random_state)
        self.noise_multiplier = check_noise_multiplier(noise_multiplier)
        self.clip_norm = float(check_positive(clip_norm, "clip_norm"))
        self.sample_rate = None if sample_rate is None else check_sample_rate(sample_rate)
        self.delta = check_delta(delta)
        self.accountant = PrivacyAccountant()

    @classmethod
    def from_hospital(cls, hospital, **dp):
        """A DP-SGD client holding a hospital's training split; ``dp`` as in the class."""
        return cls(hospital.X_train, hospital.y_train, name=hospital.name, **dp)

    def __repr__(self):
        return (f"DPSGDClient(name={self.name!r}, n_samples={self.n_samples}, "
                f"noise_multiplier={self.noise_multiplier}, clip_norm={self.clip_norm})")

    def stacked_records(self):
        """``None``: DP-SGD trains in its own way, never in the plain-SGD executor."""
        return None

    def fit(self, params, *, epochs=1, batch_size=32, lr=0.1, l2=0.0, mu=0.0,
            correction=None, random_state=None):
        """Train locally with DP-SGD from ``params``; reply with the parameter change.

        ``batch_size`` sets the sampling rate ``batch_size / n_samples`` unless the client
        has its own ``sample_rate`` (``None`` means full batches, ``q = 1``). FedProx
        (``mu > 0``) and SCAFFOLD (``correction``) are not supported.

        Returns
        -------
        Update
            ``vector`` is ``theta_local - params``; ``metrics`` holds ``{"epsilon": ...}``.
        """
        if mu:
            raise InvalidParameterError(
                f"mu must be 0 for a DPSGDClient (FedProx is not supported), got {mu!r}"
            )
        if correction is not None:
            raise InvalidParameterError(
                "a DPSGDClient cannot run SCAFFOLD: its control variates are "
                "not covered by the DP-SGD accounting"
            )
        q = self.sample_rate
        if q is None:
            q = 1.0 if batch_size is None else min(1.0, batch_size / self.n_samples)
        new, _ = dp_sgd(
            params,
            self._records(),
            self._y,
            noise_multiplier=self.noise_multiplier,
            clip_norm=self.clip_norm,
            sample_rate=q,
            epochs=epochs,
            lr=lr,
            l2=l2,
            accountant=self.accountant,
            model=self.model,
            random_state=random_state,
        )
        return Update(self.name, new - params, self.n_samples, {"epsilon": self.epsilon()})

    def gradient(self, params, *, l2=0.0, random_state=None):
        """FedSGD with DP: the clipped, noised mean gradient over all records (``q = 1``)."""
        X = self._records()
        rng = self._rng if random_state is None else check_rng(random_state)
        noisy = noisy_clipped_sum(
            self.model.per_example_gradients(params, X, self._y),
            self.clip_norm,
            self.noise_multiplier * self.clip_norm,
            rng=rng,
        )
        grad = noisy / self.n_samples
        grad += self.model.penalty_gradient(params, l2=l2)
        self.accountant.step(noise_multiplier=self.noise_multiplier, sample_rate=1.0)
        return Update(self.name, grad, self.n_samples, {"epsilon": self.epsilon()})

    def epsilon(self, delta=None):
        """Privacy spent by this client's records so far, at ``delta`` (default: its own)."""
        return self.accountant.epsilon(self.delta if delta is None else delta)


def _per_example_model(model):
    """``model`` (logistic regression for ``None``) if it has per-example gradients."""
    model = LogisticRegression() if model is None else model
    if not getattr(model, "supports_per_example", False):
        raise InvalidParameterError(
            f"record-level DP-SGD needs per-example gradients to clip, and {model!r} has "
            "none (supports_per_example=False); use client-level DP (DP-FedAvg) instead")
    return model


def _sample_rate(sample_rate, batch_size, n):
    if sample_rate is not None and batch_size is not None:
        raise InvalidParameterError(
            f"give sample_rate or batch_size, not both (got sample_rate="
            f"{sample_rate!r}, batch_size={batch_size!r})"
        )
    if sample_rate is not None:
        return check_sample_rate(sample_rate)
    batch_size = 32 if batch_size is None else check_int(batch_size, "batch_size", minimum=1)
    return min(1.0, batch_size / n)


def _steps(steps, epochs, q):
    if steps is not None and epochs is not None:
        raise InvalidParameterError(
            f"give steps or epochs, not both (got steps={steps!r}, epochs={epochs!r})"
        )
    if steps is not None:
        return check_int(steps, "steps", minimum=1)
    epochs = 1 if epochs is None else check_positive(epochs, "epochs")
    return max(1, int(round(epochs / q)))


def _check_finite_records(X, y):
    """Refuse NaN or infinity in the records: clipping cannot bound them (nor the noise)."""
    bad = ~np.isfinite(X).all(axis=1) | ~np.isfinite(y)
    if bad.any():
        row = int(np.argmax(bad))
        raise InvalidParameterError(
            f"X and y must be finite for DP-SGD: record {row} holds NaN or "
            "infinity (impute or standardize missing values first)"
        )
