"""Local training of many clients at once: stacked mini-batch SGD (a simulation speed-up).

:func:`stacked_sgd` gives every client exactly the model that
:func:`fedlab.model.sgd` would give it, drawing the same shuffles from the same
streams, but runs all clients' step ``s`` together: one batched matrix product per
step instead of a Python call per client and step. This is what keeps the dashboards
live with many clients; nothing about the protocol changes.
"""

from __future__ import annotations

import numpy as np

from fedlab.model import _sigmoid_inplace

__all__ = ["stacked_sgd"]


def stacked_sgd(records, params, *, epochs=1, batch_size=32, lr=0.1, l2=0.0, mu=0.0,
                corrections=None, rngs, return_loss=False):
    """Local mini-batch SGD of every client from the same ``params``, all at once.

    Parameters
    ----------
    records : sequence of (ndarray, ndarray)
        Per client: records with a trailing column of ones, of shape
        (n_k, n_params), and labels of shape (n_k,).
    params : ndarray of shape (n_params,)
        The global model every client starts from (and FedProx's anchor).
    epochs, batch_size, lr, l2, mu : as :func:`fedlab.model.sgd`
    corrections : ndarray of shape (n_clients, n_params), optional
        A constant added to each client's every gradient (SCAFFOLD).
    rngs : sequence of numpy.random.Generator
        Each client's stream; each epoch draws ``rng.permutation(n_k)`` from it, as
        :func:`fedlab.model.sgd` does (not for full batches, where order does not matter).
    return_loss : bool, default=False
        Also return each client's training objective at its new model.

    Returns
    -------
    ndarray of shape (n_clients, n_params)
        Each client's local model after training.
    ndarray of shape (n_clients,)
        With ``return_loss``: :func:`fedlab.model.loss` of each local model on its records.

    Notes
    -----
    The clients' records are stacked into one array padded with rows of zeros (which
    add nothing to a gradient). At step ``s`` of an epoch, client ``k`` uses the
    records ``s B`` to ``(s + 1) B`` of its own shuffle; a client whose epoch has
    fewer steps than the largest client's waits (its mask is 0) until the next epoch.

    Examples
    --------
    >>> from fedlab import model
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 2)); y = (X[:, 0] > 0).astype(float)
    >>> X1 = np.hstack([X, np.ones((50, 1))])
    >>> fast = stacked_sgd([(X1, y)], np.zeros(3), batch_size=8, rngs=[np.random.default_rng(1)])
    >>> slow = model.sgd(np.zeros(3), X, y, batch_size=8, random_state=1)
    >>> bool(np.allclose(fast[0], slow, atol=1e-12))
    True
    """
    X, Y, sizes = _stack(records)
    k_clients, n_max, p = len(sizes), X.shape[1] - 1, len(params)
    full_batch = batch_size is None
    batch = n_max if full_batch else int(batch_size)
    steps = -(-n_max // batch)
    # rows of each step per client; 1 / rows, or 0 while a client waits
    rows = np.clip(sizes[:, None] - batch * np.arange(steps)[None, :], 0, batch)
    if full_batch:
        rows = sizes[:, None]
    # per step and client: lr / rows, or 0 while a client waits for the next epoch
    scale = np.divide(float(lr), rows, out=np.zeros(rows.shape), where=rows > 0)
    lr_active = lr * (rows > 0)[:, :, None]
    penalty = np.full(p, float(l2))
    penalty[-1] = 0.0
    extra = bool(l2 or mu or corrections is not None)
    # keep -theta, as a column per client: the logit's sign flip is then free
    neg = np.tile(-np.asarray(params, dtype=float), (k_clients, 1))[:, :, None]
    anchor = -neg.copy()
    order = np.full((k_clients, steps * batch), n_max)
    clients = np.arange(k_clients)[:, None]
    with np.errstate(over="ignore"):
        for _ in range(int(epochs)):
            if full_batch:  # one step on every record: their order changes nothing
                X_epoch, Y_epoch = X, Y[:, :, None]
            else:
                for k, rng in enumerate(rngs):  # as model.sgd: no shuffle for one batch
                    order[k, :sizes[k]] = (rng.permutation(sizes[k]) if batch < sizes[k]
                                           else np.arange(sizes[k]))
                X_epoch, Y_epoch = X[clients, order], Y[clients, order][:, :, None]
            XT_epoch = np.ascontiguousarray(X_epoch.transpose(0, 2, 1))
            for s in range(steps):
                rows_s = slice(s * batch, (s + 1) * batch)
                residual = _sigmoid_inplace(np.matmul(X_epoch[:, rows_s], neg))
                residual -= Y_epoch[:, rows_s]
                residual *= scale[:, s, None, None]
                step = np.matmul(XT_epoch[:, :, rows_s], residual)
                if extra:
                    step += _extra_terms(-neg[:, :, 0], anchor[:, :, 0], penalty, mu,
                                         corrections)[:, :, None] * lr_active[:, s, None]
                neg += step
    theta = -neg[:, :, 0]
    if not return_loss:
        return theta
    z = np.matmul(X, theta[:, :, None])[:, :, 0]
    data_loss = np.logaddexp(0.0, z) - Y * z
    data_loss[:, -1] = 0.0  # the padding row
    mask = np.arange(n_max + 1)[None, :] < sizes[:, None]
    mean = np.where(mask, data_loss, 0.0).sum(axis=1) / sizes
    return theta, mean + 0.5 * l2 * np.sum(theta[:, :-1] ** 2, axis=1)


_cache = {"key": None}


def _stack(records):
    """The records padded into one array (and the labels), cached for repeated rounds."""
    key = tuple((id(Xk), id(yk)) for Xk, yk in records)
    if _cache["key"] != key:
        sizes = np.array([len(y) for _, y in records])
        n_max, p = int(sizes.max()), records[0][0].shape[1]
        X = np.zeros((len(records), n_max + 1, p))  # row n_max stays zero: padding
        Y = np.zeros((len(records), n_max + 1))
        for k, (Xk, yk) in enumerate(records):
            X[k, :len(yk)], Y[k, :len(yk)] = Xk, yk
        _cache.update(key=key, value=(X, Y, sizes), records=records)
    return _cache["value"]


def _extra_terms(theta, anchor, penalty, mu, corrections):
    """The gradient's terms beyond the data: L2 penalty, FedProx pull, SCAFFOLD correction."""
    term = penalty * theta
    if mu:
        term += mu * (theta - anchor)
    if corrections is not None:
        term += corrections
    return term
