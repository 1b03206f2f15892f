"""Vertical logistic regression by gradient descent: partial predictors up, residuals down.

One step on a batch ``B`` of linked patients (the same rows at every party):

1. every party ``k`` other than the label holder sends its partial linear predictor
   ``u_k = X_k[B] w_k`` (``|B|`` numbers) to the label holder;
2. the label holder adds them to its own, ``z = sum_k u_k + X_L[B] w_L + b``, and sends
   back the residuals ``r = sigmoid(z) - y[B]`` (``|B|`` numbers);
3. every party updates its own block only, ``w_k -= lr (X_k[B]^T r / |B| + l2 w_k)``; the
   label holder also updates the intercept with ``mean(r)``.

Each block's gradient is exactly the joined table's gradient restricted to the block, so
the steps are those of gradient descent on the joined table (:func:`gradient_descent`):
the same model, to rounding. No row of features and no label leaves its party, but the
residuals give the labels away (:mod:`fedlab.vertical.leakage`).

References
----------
.. [1] Hardy, S., Henecka, W., Ivey-Law, H., Nock, R., Patrini, G., Smith, G., & Thorne, B.
   (2017). Private federated learning on vertically partitioned data via entity resolution
   and additively homomorphic encryption. arXiv:1711.10677.
.. [2] Liu, Y., Kang, Y., Zou, T., et al. (2024). Vertical federated learning: concepts,
   advances, and challenges. IEEE TKDE 36(7), 3615-3634.
"""

from __future__ import annotations

import numpy as np

from fedlab._validation import (
    InvalidParameterError,
    check_int,
    check_positive,
    check_rng,
    check_xy,
)
from fedlab.models import logistic
from fedlab.models.logistic import sigmoid

from .parties import VerticalModel, check_parties, standardize_each

__all__ = ["train", "gradient_descent", "batch_order", "FLOAT_BYTES"]

FLOAT_BYTES = 8
"""One float64 on the wire."""


def train(parties, *, steps=500, lr=0.5, l2=1e-3, batch_size=None, tol=None,
          noise_multiplier=0.0, coordinator=None, record=False, random_state=None,
          noise_random_state=None):
    """Train a logistic regression on columns that never meet (vertical FL).

    Parameters
    ----------
    parties : sequence of Party
        At least two; exactly one holds ``y``. Row ``i`` is the same patient everywhere.
    steps : int, default=500
        Gradient steps (the most, with ``tol``).
    lr : float, default=0.5
    l2 : float, default=1e-3
        L2 penalty on every weight (not the intercept), as :func:`fedlab.models.logistic.loss`.
    batch_size : int, optional
        Patients a step; default all of them (full-batch gradient descent). Batches
        follow :func:`batch_order`, which every party computes from the agreed seed.
    tol : float, optional
        Stop once the full gradient's norm falls below ``tol`` (full batch only): each
        party reports its block's squared norm, one number.
    noise_multiplier : float, default=0.0
        The label holder adds Gaussian noise of this standard deviation to every
        residual it sends and uses the same noisy residuals itself, so that the run is
        label-differentially private (:func:`fedlab.vertical.label_epsilon`).
    coordinator : Coordinator, optional
        Send the residuals encrypted under the coordinator's Paillier key; the other
        parties compute their gradients on ciphertexts (:mod:`fedlab.vertical.paillier`).
    record : bool, default=False
        Keep what each party other than the label holder received, in
        ``model.transcript``.
    random_state : None, int or numpy.random.Generator
        The agreed seed of the batch order, which every party knows.
    noise_random_state : None, int or numpy.random.Generator
        The label holder's own seed of its noise, which no other party may know: from
        the agreed seed, any party could draw the same noise and subtract it. Default:
        fresh entropy.

    Returns
    -------
    VerticalModel

    Examples
    --------
    >>> from fedlab.vertical import Party
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3))
    >>> y = (X @ [1.0, -1.0, 0.5] + rng.normal(size=200) > 0).astype(int)
    >>> parties = [Party("lab", X[:, :2], ["a", "b"]), Party("registry", X[:, 2:], ["c"], y=y)]
    >>> fitted = train(parties, steps=300, random_state=0)
    >>> reference = gradient_descent(np.column_stack([parties[0].X, parties[1].X]), y,
    ...                              steps=300, random_state=0)
    >>> bool(np.allclose(fitted.params, reference, atol=1e-12))
    True
    """
    parties, holder = check_parties(parties)
    steps, lr, l2 = _settings(steps, lr, l2)
    noise_multiplier = check_positive(noise_multiplier, "noise_multiplier", strict=False)
    if tol is not None:
        tol = check_positive(tol, "tol")
        if batch_size is not None:
            raise InvalidParameterError("tol applies to full-batch descent (batch_size=None)")
    n = parties[0].n_patients
    batches = batch_order(n, batch_size=batch_size, steps=steps, random_state=random_state)
    noise_rng = check_rng(noise_random_state)
    standardizers, Z = standardize_each(parties)
    y = next(p.y for p in parties if p.name == holder)
    others = [p.name for p in parties if p.name != holder]
    fitted = VerticalModel(
        names=[p.name for p in parties], label_holder=holder, standardizers=standardizers,
        weights={p.name: np.zeros(len(p.feature_names)) for p in parties},
        feature_names={p.name: p.feature_names for p in parties},
        transcript={name: [] for name in others} if record else {})
    times_sent = np.zeros(n, dtype=np.int64)
    for rows in batches:
        # 1. partial predictors, each party to the label holder
        partial = {name: Z[name][rows] @ fitted.weights[name] for name in others}
        z = Z[holder][rows] @ fitted.weights[holder] + fitted.bias
        for name in others:
            z = z + partial[name]
        # 2. the label holder's residuals (noisy under label DP), sent to every party
        residual = sigmoid(z) - y[rows]
        if noise_multiplier > 0:
            residual = residual + noise_rng.normal(0.0, noise_multiplier, size=len(rows))
        times_sent[rows] += 1
        nbytes = 2 * len(others) * len(rows) * FLOAT_BYTES
        # 3. every party its own block's gradient (under encryption, via the coordinator)
        gradients = {holder: Z[holder][rows].T @ residual / len(rows)}
        if coordinator is None:
            for name in others:
                gradients[name] = Z[name][rows].T @ residual / len(rows)
                if record:
                    fitted.transcript[name].append((rows.copy(), residual.copy()))
        else:
            nbytes += _encrypted_gradients(coordinator, Z, rows, residual, others, gradients,
                                           fitted.transcript if record else None)
        gradients = {name: g + l2 * fitted.weights[name] for name, g in gradients.items()}
        bias_gradient = residual.mean()
        for name, gradient in gradients.items():
            fitted.weights[name] = fitted.weights[name] - lr * gradient
        fitted.bias = fitted.bias - lr * bias_gradient
        if tol is not None:  # each party's squared block norm, one number each
            nbytes += len(others) * FLOAT_BYTES
            norm = np.sqrt(bias_gradient**2 + sum(float(g @ g) for g in gradients.values()))
        fitted.nbytes_per_step.append(nbytes)
        if tol is not None and norm < tol:
            break
    fitted.releases = int(times_sent.max(initial=0))
    return fitted


def gradient_descent(X, y, *, steps=500, lr=0.5, l2=1e-3, batch_size=None,
                     random_state=None):
    """The centralized reference: gradient descent on the joined (standardized) table.

    The same steps as :func:`train` with the same settings and ``random_state``
    (standardization, batch order, objective :func:`fedlab.models.logistic.loss`), on a table no
    real study could assemble.

    Parameters
    ----------
    X : array-like of shape (n_patients, n_features)
        Every party's columns side by side, in the parties' order.
    y : array-like of shape (n_patients,)
    steps, lr, l2, batch_size, random_state
        As in :func:`train`.

    Returns
    -------
    params : ndarray of shape (n_features + 1,)
        The weights on the standardized columns, then the intercept.
    """
    from fedlab.federated.preprocessing import combine, feature_sums

    X, y = check_xy(X, y)
    steps, lr, l2 = _settings(steps, lr, l2)
    Z = combine([feature_sums(X)]).transform(X)
    theta = logistic.init_params(X.shape[1])
    for rows in batch_order(len(y), batch_size=batch_size, steps=steps,
                            random_state=random_state):
        theta = theta - lr * logistic.gradient(theta, Z[rows], y[rows], l2=l2)
    return theta


def batch_order(n_patients, *, batch_size=None, steps, random_state=None):
    """The rows of each step's batch: epochs of a seeded shuffle, cut into batches.

    Every party computes the same order from the agreed seed, so no index travels.

    Parameters
    ----------
    n_patients : int
    batch_size : int, optional
        Default (or ``>= n_patients``): every row at every step, in order.
    steps : int
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    list of ndarray of int
        ``steps`` arrays; an epoch's last batch may be smaller.

    Examples
    --------
    >>> [b.tolist() for b in batch_order(5, batch_size=2, steps=4, random_state=0)]
    [[2, 4], [3, 0], [1], [4, 1]]
    """
    n_patients = check_int(n_patients, "n_patients", minimum=1)
    steps = check_int(steps, "steps", minimum=1)
    if batch_size is None or batch_size >= n_patients:
        return [np.arange(n_patients)] * steps
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    rng = check_rng(random_state)
    batches = []
    while len(batches) < steps:
        perm = rng.permutation(n_patients)
        batches += [perm[i:i + batch_size] for i in range(0, n_patients, batch_size)]
    return batches[:steps]


def _settings(steps, lr, l2):
    return (check_int(steps, "steps", minimum=1), check_positive(lr, "lr"),
            check_positive(l2, "l2", strict=False))


def _encrypted_gradients(coordinator, Z, rows, residual, others, gradients, transcript):
    """Each other party's gradient from encrypted residuals; returns the bytes it took."""
    from .paillier import encrypted_block_gradient

    encrypted = coordinator.public_key_encrypt(residual)
    nbytes = 0
    for name in others:
        gradient, cost = encrypted_block_gradient(coordinator, Z[name][rows], encrypted)
        gradients[name] = gradient
        nbytes += cost
        if transcript is not None:
            transcript[name].append((rows.copy(), [c.ciphertext() for c in encrypted]))
    # the encrypted residuals replace the plain ones on the way down
    return nbytes - len(others) * len(rows) * FLOAT_BYTES
