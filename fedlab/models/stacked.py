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
    All clients' records sit in one array (stacked once per run). Each epoch draws every
    client's order; each step gathers its ``B`` rows per client, in that order, into a
    small buffer that stays in the cache (a short last batch is padded with a row of
    zeros, which adds nothing to a gradient). Clients are ranked by size, so at step
    ``s`` the clients still stepping are the first ``a_s``: one batched product for
    them, none for those whose epoch is over. Which rows each step reads depends only on
    the clients' sizes and ``B``, so it is planned once per run (:class:`_Plan`).

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
    stack = _stack(records)
    sizes, p = stack.sizes, len(params)
    plan = stack.plan(int(sizes.max()) if batch_size is None else int(batch_size))
    rank, active, block, batch = plan.rank, plan.active, plan.block, plan.batch
    scale = plan.scale(lr)
    penalty = np.full(p, float(l2))
    penalty[-1] = 0.0
    extra = bool(l2 or mu or corrections is not None)
    if corrections is not None:
        corrections = np.asarray(corrections, dtype=float)[rank]
    theta0 = np.asarray(params, dtype=float)
    neg = np.tile(-theta0, (len(sizes), 1))  # -theta per client: the logit's sign for free
    with np.errstate(over="ignore"):
        for _ in range(int(epochs)):
            src, Y_epoch = plan.epoch(rngs)
            for s, a in enumerate(active):
                rows_s = slice(block[s], block[s + 1])
                Xb = plan.batch_rows(src, rows_s).reshape(a, batch, p)
                residual = _sigmoid_inplace(np.matmul(Xb, neg[:a, :, None])[:, :, 0])
                residual -= Y_epoch[rows_s].reshape(a, batch)
                residual *= scale[s]
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
    # every client's logits in one pass over the stack (its last column is the bias's ones)
    z = np.einsum("ij,ij->i", stack.X[:-1], np.repeat(theta, sizes, axis=0))
    per_record = np.logaddexp(0.0, z)
    per_record -= stack.y[:-1] * z
    data_loss = np.add.reduceat(per_record, stack.offsets) / sizes
    return theta, data_loss + 0.5 * l2 * np.sum(theta[:, :-1] ** 2, axis=1)


class _Stack:
    """All clients' records with a column of ones in one array, a zero row last.

    The plan of an epoch (which rows each step reads) depends only on the clients' sizes
    and the batch size, so it is made once per batch size and kept (:meth:`plan`).
    """

    def __init__(self, records):
        self.sizes = np.array([len(y) for _, y in records])
        self.offsets = np.r_[0, np.cumsum(self.sizes)[:-1]]
        total = int(self.sizes.sum())
        self.X = np.zeros((total + 1, records[0][0].shape[1] + 1))
        self.X[:-1, :-1] = np.vstack([Xk for Xk, _ in records])
        self.X[:-1, -1] = 1.0
        self.y = np.concatenate([np.asarray(yk, dtype=float) for _, yk in records] + [[0.0]])
        self._plans = {}

    def plan(self, batch):
        if batch not in self._plans:
            self._plans[batch] = _Plan(self, batch)
        return self._plans[batch]


class _Plan:
    """Where each epoch's slots read from, for one batch size ``B``.

    Clients are ranked by size, largest first, so the clients still stepping at step
    ``s`` are the first ``active[s]``; step ``s`` reads rows ``block[s]:block[s + 1]`` of
    the epoch's array, ``B`` per active client. A slot beyond a client's records reads
    the zero row (padding).
    """

    def __init__(self, stack, batch):
        sizes, offsets = stack.sizes, stack.offsets
        self.stack, self.batch = stack, batch
        self.rank = np.argsort(-sizes, kind="stable")
        n = sizes[self.rank]
        steps = -(-n // batch)
        self.active = (steps[None, :] > np.arange(steps[0])[:, None]).sum(axis=1)
        self.block = np.r_[0, np.cumsum(self.active * batch)]
        slot_rank = np.concatenate([np.repeat(np.arange(a), batch) for a in self.active])
        slot_j = np.concatenate([s * batch + np.tile(np.arange(batch), a)
                                 for s, a in enumerate(self.active)])
        valid = slot_j < n[slot_rank]
        pad = len(stack.y) - 1
        # position of each slot in this epoch's order of all records; `pad` for padding
        self.slot_pos = np.where(valid, offsets[self.rank][slot_rank] + slot_j, pad)
        self.rows = np.clip(n[:, None] - batch * np.arange(len(self.active))[None, :], 0,
                            batch)
        self.shufflers = [r for r in self.rank if batch < sizes[r]]  # one batch: no draw
        self.order = np.arange(len(stack.y))  # this epoch's order (the pad row stays last)
        self.src = self.slot_pos.copy()  # the record each slot reads this epoch
        self.y_epoch = np.take(stack.y, self.slot_pos)
        self._buffer = np.empty((int(self.active[0]) * batch, stack.X.shape[1]))
        self._scales = {}

    def scale(self, lr):
        """``lr / rows`` per step, as one (active clients, 1) column each."""
        if lr not in self._scales:
            scale = np.divide(float(lr), self.rows, out=np.zeros(self.rows.shape),
                              where=self.rows > 0)
            self._scales[lr] = [scale[:a, s, None] for s, a in enumerate(self.active)]
        return self._scales[lr]

    def epoch(self, rngs):
        """Which record each slot reads this epoch, and its label; draws the shuffles."""
        if self.shufflers:
            stack, order = self.stack, self.order
            for r in self.shufflers:  # as logistic.sgd: rng.permutation(n) per epoch
                start, n = stack.offsets[r], stack.sizes[r]
                order[start:start + n] = rngs[r].permutation(n)
                order[start:start + n] += start
            order.take(self.slot_pos, out=self.src)
            stack.y.take(self.src, out=self.y_epoch)
        return self.src, self.y_epoch

    def batch_rows(self, src, rows):
        """One step's records, gathered into a small buffer that stays in the cache."""
        rows = src[rows]
        return self.stack.X.take(rows, axis=0, out=self._buffer[:len(rows)])


_cache = {"key": None}


def _stack(records):
    """The :class:`_Stack` of ``records``, cached for the repeated rounds of a run.

    The records are kept alive with the key (their ids), so a key cannot be reused.
    """
    key = tuple((id(Xk), id(yk)) for Xk, yk in records)
    if _cache["key"] != key:
        _cache.update(key=key, value=_Stack(records), records=records)
    return _cache["value"]
