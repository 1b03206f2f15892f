"""A neural network with one hidden layer, in numpy: the smallest network FedAvg can train.

``p = sigmoid(w2 . act(W1^T x + b1) + b2)`` for a binary outcome, trained on the mean
log loss (McMahan et al. 2017 train such multilayer perceptrons with FedAvg; their
Fig. 1 shows why the clients must start from a shared initialization).
"""

from __future__ import annotations

import numpy as np

from fedlab._validation import InvalidParameterError, check_choice, check_int, check_rng
from fedlab.models.base import Model
from fedlab.models.logistic import sigmoid

__all__ = ["MLP"]

ACTIVATIONS = ("tanh", "relu")


class MLP(Model):
    """One hidden layer of ``hidden`` units (tanh or ReLU) and a sigmoid output.

    Parameters
    ----------
    hidden : int, default=8
        Number of hidden units ``h``.
    activation : {"tanh", "relu"}, default="tanh"
        The hidden units' activation function: tanh or relu.

    Notes
    -----
    The flat parameter vector of length ``d h + h + h + 1`` (``d`` features) is, in
    order: ``W1`` of shape (d, h) row by row (``W1[i, j]`` links feature ``i`` to unit
    ``j``), ``b1`` of shape (h,), ``w2`` of shape (h,), ``b2`` (one number). The penalty
    ``l2 / 2 (||W1||^2 + ||w2||^2)`` leaves the biases alone.

    With ``A = act(X W1 + b1)`` and ``z = A w2 + b2``, the gradient of the mean log loss
    is backpropagation: ``r = (sigmoid(z) - y) / n``, ``dw2 = A^T r``, ``db2 = sum r``,
    ``D = (r w2^T) * act'(X W1 + b1)``, ``dW1 = X^T D``, ``db1 = sum_i D_i``.

    :meth:`init_params` draws ``W1`` from ``N(0, 1 / d)`` and ``w2`` from ``N(0, 1 / h)``
    (LeCun's scaling; biases 0), from ``random_state``: the same seed gives the same
    network, which is what FedAvg's clients must share.

    References
    ----------
    McMahan, Moore, Ramage, Hampson, Agüera y Arcas (2017). Communication-efficient
    learning of deep networks from decentralized data. AISTATS.

    Examples
    --------
    >>> net = MLP(hidden=3)
    >>> net.n_params(2)  # W1: 6, b1: 3, w2: 3, b2: 1
    13
    >>> params = net.init_params(2, random_state=0)
    >>> bool(np.array_equal(params, net.init_params(2, random_state=0)))
    True
    >>> net.predict(params, [[0.0, 0.0]])  # b1 = 0 and b2 = 0: an even chance
    array([0.5])
    """

    name = "mlp"
    outcome = "binary"
    supports_per_example = True
    full_batch = False

    def __init__(self, hidden=8, activation="tanh"):
        self.hidden = check_int(hidden, "hidden", minimum=1)
        self.activation = check_choice(activation, "activation", ACTIVATIONS)

    def n_params(self, n_features):
        d = check_int(n_features, "n_features", minimum=1)
        return d * self.hidden + 2 * self.hidden + 1

    def init_params(self, n_features, *, random_state=None):
        d, h = check_int(n_features, "n_features", minimum=1), self.hidden
        rng = check_rng(random_state)
        W1 = rng.normal(0.0, 1.0 / np.sqrt(d), size=(d, h))
        w2 = rng.normal(0.0, 1.0 / np.sqrt(h), size=h)
        return np.concatenate([W1.ravel(), np.zeros(h), w2, [0.0]])

    def param_shapes(self, n_features):
        """``{"W1": (d, h), "b1": (h,), "w2": (h,), "b2": ()}``, the layout of the vector."""
        d, h = check_int(n_features, "n_features", minimum=1), self.hidden
        return {"W1": (d, h), "b1": (h,), "w2": (h,), "b2": ()}

    def unpack(self, params, n_features):
        """``(W1, b1, w2, b2)``: views into ``params`` of shapes (d, h), (h,), (h,), ()."""
        params = np.asarray(params, dtype=float)
        d, h = int(n_features), self.hidden
        if params.shape != (self.n_params(d),):
            raise InvalidParameterError(
                f"params must have shape ({self.n_params(d)},) for {d} features and "
                f"hidden={h}, got shape {params.shape}")
        W1 = params[:d * h].reshape(d, h)
        return W1, params[d * h:d * h + h], params[d * h + h:d * h + 2 * h], params[-1]

    def predict(self, params, X):
        X = np.asarray(X, dtype=float)
        if X.ndim != 2:
            raise InvalidParameterError(
                f"X must be 2-D of shape (n_samples, n_features), got shape {X.shape}")
        z, _, _ = self._forward(params, X)
        return sigmoid(z)

    def loss(self, params, X, y, *, l2=0.0):
        X, y = self.check_data(X, y)
        z, _, _ = self._forward(params, X)
        W1, _, w2, _ = self.unpack(params, X.shape[1])
        data_loss = np.mean(np.logaddexp(0.0, z) - y * z)
        return float(data_loss + 0.5 * l2 * (np.sum(W1 * W1) + w2 @ w2))

    def gradient(self, params, X, y, *, l2=0.0):
        X, y = self.check_data(X, y)
        z, A, slope = self._forward(params, X)
        W1, _, w2, _ = self.unpack(params, X.shape[1])
        r = (sigmoid(z) - y) / len(y)
        D = np.outer(r, w2) * slope
        return np.concatenate([(X.T @ D + l2 * W1).ravel(), D.sum(axis=0), A.T @ r + l2 * w2,
                               [r.sum()]])

    def per_example_gradients(self, params, X, y):
        X, y = self.check_data(X, y)
        z, A, slope = self._forward(params, X)
        _, _, w2, _ = self.unpack(params, X.shape[1])
        r = sigmoid(z) - y
        D = r[:, None] * w2 * slope                                   # (n, h)
        dW1 = (X[:, :, None] * D[:, None, :]).reshape(len(y), -1)      # (n, d h)
        return np.hstack([dW1, D, A * r[:, None], r[:, None]])

    def penalty_gradient(self, params, *, l2=0.0):
        params = np.asarray(params, dtype=float)
        d = (len(params) - 2 * self.hidden - 1) // self.hidden
        W1, _, w2, _ = self.unpack(params, d)
        return float(l2) * np.concatenate([W1.ravel(), np.zeros(self.hidden), w2, [0.0]])

    def _forward(self, params, X):
        """Output logits ``z``, hidden activations ``A`` and ``act'`` at the hidden layer."""
        W1, b1, w2, b2 = self.unpack(params, X.shape[1])
        pre = X @ W1 + b1
        if self.activation == "tanh":
            A = np.tanh(pre)
            slope = 1.0 - A * A
        else:
            A = np.maximum(pre, 0.0)
            slope = (pre > 0).astype(float)
        return A @ w2 + b2, A, slope
