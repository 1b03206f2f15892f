"""Logistic regression's local training of many clients at once: stacked mini-batch SGD.

A simulation speed-up behind :meth:`fedlab.models.LogisticRegression.stacked_train`:
:func:`stacked_sgd` gives every client exactly the model that
:func:`fedlab.models.logistic.sgd` would give it, drawing the same shuffles from the same
streams, but runs all clients' step ``s`` together: one batched matrix product per
step instead of a Python call per client and step. This is what keeps the dashboards
live with many clients; nothing about the protocol changes.
"""

from __future__ import annotations

import numpy as np

from fedlab.models.logistic import _sigmoid_inplace

__all__ = ["stacked_sgd"]


def stacked_sgd(records, params, *, epochs=1, batch_size=32, lr=0.1, l2=0.0, mu=0.0,
                corrections=None, rngs, return_loss=False):
    """Local mini-batch SGD of every client from the same ``params``, all at once.

    Parameters
    ----------
    records : sequence of (ndarray, ndarray)
        Per client: preprocessed records of shape (n_k, n_features) and labels of
        shape (n_k,). The same arrays round after round are stacked once (cached).
    params : ndarray of shape (n_params,)
        The global model every client starts from (and FedProx's anchor).
    epochs, batch_size, lr, l2, mu : as :func:`fedlab.models.logistic.sgd`
    corrections : ndarray of shape (n_clients, n_params), optional
        A constant added to each client's every gradient (SCAFFOLD).
    rngs : sequence of numpy.random.Generator
        Each client's stream; each epoch draws ``rng.permutation(n_k)`` from it, as
        :func:`fedlab.models.logistic.sgd` does (not for full batches, where order does
        not matter).
    return_loss : bool, default=False
        Also return each client's training objective at its new model.

    Returns
    -------
    ndarray of shape (n_clients, n_params)
        Each client's local model after training.
    ndarray of shape (n_clients,)
        With ``return_loss``: :func:`fedlab.models.logistic.loss` of each local model on
        its records.

    Notes
    -----
    All clients' records sit in one array; each epoch they are gathered once, in each
    client's shuffled order, into consecutive blocks of ``B`` rows per client and step
    (a short last batch is padded with a row of zeros, which adds nothing to a
    gradient). Clients are ranked by size, so at step ``s`` the clients still stepping
    are the first ``a_s``: one batched product for them, none for those whose epoch
    is over.

    Examples
    --------
    >>> from fedlab.models import logistic
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 2)); y = (X[:, 0] > 0).astype(float)
    >>> fast = stacked_sgd([(X, y)], np.zeros(3), batch_size=8, rngs=[np.random.default_rng(1)])
    >>> slow = logistic.sgd(np.zeros(3), X, y, batch_size=8, random_state=1)
    >>> bool(np.allclose(fast[0], slow, atol=1e-12))
    True
    """
    Xflat, Yflat, sizes, offsets = _stack(records)
    k_clients, p = len(sizes), len(params)
    pad = len(Yflat) - 1  # the last row of Xflat is zeros: it adds nothing to a gradient
    full_batch = batch_size is None
    batch = int(sizes.max()) if full_batch else int(batch_size)
    # clients by size, largest first: the clients still stepping are always a prefix
    rank = np.argsort(-sizes, kind="stable")
    n = sizes[rank]
    steps_k = -(-n // batch)
    active = (steps_k[None, :] > np.arange(steps_k[0])[:, None]).sum(axis=1)
    block = np.r_[0, np.cumsum(active * batch)]
    # every slot of an epoch: (client rank, position in its shuffle); beyond n: padding
    slot_rank = np.concatenate([np.repeat(np.arange(a), batch) for a in active])
    slot_j = np.concatenate([s * batch + np.tile(np.arange(batch), a)
                             for s, a in enumerate(active)])
    valid = slot_j < n[slot_rank]
    slot_pos = offsets[rank][slot_rank] + np.where(valid, slot_j, 0)
    rows = np.clip(n[:, None] - batch * np.arange(len(active))[None, :], 0, batch)
    scale = np.divide(float(lr), rows, out=np.zeros(rows.shape), where=rows > 0)
    penalty = np.full(p, float(l2))
    penalty[-1] = 0.0
    extra = bool(l2 or mu or corrections is not None)
    if corrections is not None:
        corrections = np.asarray(corrections, dtype=float)[rank]
    theta0 = np.asarray(params, dtype=float)
    neg = np.tile(-theta0, (k_clients, 1))  # -theta per client: the logit's sign for free
    shuffled = np.arange(len(Yflat) - 1)  # each client's records in this epoch's order
    src = np.where(valid, slot_pos, pad)
    with np.errstate(over="ignore"):
        for _ in range(int(epochs)):
            shuffles = [(r, rngs[r]) for r in rank if batch < sizes[r]]
            for r, rng in shuffles:  # as logistic.sgd: a client with one batch draws none
                shuffled[offsets[r]:offsets[r] + sizes[r]] = offsets[r] + rng.permutation(
                    sizes[r])
            if shuffles:
                src = np.where(valid, shuffled[slot_pos], pad)
            X_epoch, Y_epoch = Xflat[src], Yflat[src]
            for s, a in enumerate(active):
                rows_s = slice(block[s], block[s + 1])
                Xb = X_epoch[rows_s].reshape(a, batch, p)
                residual = _sigmoid_inplace(np.matmul(Xb, neg[:a, :, None])[:, :, 0])
                residual -= Y_epoch[rows_s].reshape(a, batch)
                residual *= scale[:a, s, None]
                step = np.matmul(residual[:, None, :], Xb)[:, 0, :]
                if extra:
                    theta = -neg[:a]
                    term = penalty * theta
                    if mu:
                        term += mu * (theta - theta0)
                    if corrections is not None:
                        term += corrections[:a]
                    term *= lr
                    step += term
                neg[:a] += step
    theta = np.empty_like(neg)
    theta[rank] = -neg
    if not return_loss:
        return theta
    owner = np.repeat(np.arange(k_clients), sizes)
    z = np.einsum("ij,ij->i", Xflat[:-1], theta[owner])
    data_loss = np.bincount(owner, np.logaddexp(0.0, z) - Yflat[:-1] * z,
                            minlength=k_clients) / sizes
    return theta, data_loss + 0.5 * l2 * np.sum(theta[:, :-1] ** 2, axis=1)


_cache = {"key": None}


def _stack(records):
    """All clients' records with a column of ones in one array (a zero row last), labels,
    sizes and offsets.

    Cached for the repeated rounds of a run (the records are kept alive with the key).
    """
    key = tuple((id(Xk), id(yk)) for Xk, yk in records)
    if _cache["key"] != key:
        sizes = np.array([len(y) for _, y in records])
        Xflat = np.zeros((int(sizes.sum()) + 1, records[0][0].shape[1] + 1))
        Xflat[:-1, :-1] = np.vstack([Xk for Xk, _ in records])
        Xflat[:-1, -1] = 1.0
        Yflat = np.concatenate([np.asarray(yk, dtype=float) for _, yk in records] + [[0.0]])
        offsets = np.r_[0, np.cumsum(sizes)[:-1]]
        _cache.update(key=key, value=(Xflat, Yflat, sizes, offsets), records=records)
    return _cache["value"]
