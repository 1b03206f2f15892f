"""What a site computes on its own records (and the server on the sites' summaries).

Nearest centres, per-cluster sums and counts, weighted Lloyd steps and weighted k-means++
seeding (Arthur & Vassilvitskii 2007): plain numpy, no communication.
"""

from __future__ import annotations

import numpy as np

__all__ = ["nearest", "local_sums", "lloyd", "kmeans_plus_plus"]


def nearest(X, centres):
    """Index of the nearest centre of each row, and the squared distance to it."""
    d2 = (X**2).sum(axis=1)[:, None] - 2 * X @ centres.T + (centres**2).sum(axis=1)
    labels = d2.argmin(axis=1)
    return labels, np.maximum(d2[np.arange(len(X)), labels], 0.0)


def local_sums(X, centres):
    """Per cluster: the sum of the site's records nearest to it and their number; inertia."""
    labels, d2 = nearest(X, centres)
    k = len(centres)
    onehot = np.zeros((len(X), k))
    onehot[np.arange(len(X)), labels] = 1.0
    return onehot.T @ X, onehot.sum(axis=0), float(d2.sum())


def lloyd(points, weights, centres, n_iter):
    """``n_iter`` weighted Lloyd steps: the centres, the weight nearest each, the inertia.

    A centre with no weight nearest to it stays where it is.
    """
    for _ in range(n_iter):
        labels, _ = nearest(points, centres)
        onehot = np.zeros((len(points), len(centres)))
        onehot[np.arange(len(points)), labels] = weights
        counts = onehot.sum(axis=0)
        filled = counts > 0
        centres = centres.copy()
        centres[filled] = (onehot.T @ points)[filled] / counts[filled, None]
    labels, d2 = nearest(points, centres)
    return centres, np.bincount(labels, weights=weights, minlength=len(centres)), \
        float(weights @ d2)


def kmeans_plus_plus(points, weights, k, rng):
    """k of ``points``, by greedy k-means++ (Arthur & Vassilvitskii 2007), with weights.

    The first is drawn in proportion to the weights; each next one is the best (lowest
    weighted potential) of ``2 + log k`` candidates drawn in proportion to weight times
    the squared distance to the nearest centre so far, as scikit-learn does.
    """
    trials = 2 + int(np.log(k))
    first = rng.choice(len(points), p=weights / weights.sum())
    chosen = [first]
    d2 = ((points - points[first]) ** 2).sum(axis=1)
    for _ in range(1, k):
        score = weights * d2
        p = score / score.sum() if score.sum() > 0 else weights / weights.sum()
        candidates = rng.choice(len(points), size=trials, p=p)
        new_d2 = np.minimum(d2, ((points[:, None, :] - points[candidates][None]) ** 2)
                            .sum(axis=2).T)
        best = int(np.argmin(new_d2 @ weights))
        chosen.append(candidates[best])
        d2 = new_d2[best]
    return points[chosen].astype(float)


