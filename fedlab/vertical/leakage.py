"""What the residuals give away: every label, and the label-DP noise that hides them.

A residual is ``r_i = p_i - y_i`` with a predicted risk ``0 < p_i < 1``, so ``r_i < 0``
exactly when ``y_i = 1``: a party that receives residuals reads every label off their
signs, at the first step. Two mitigations: encrypt the residuals
(:mod:`fedlab.vertical.paillier`), or have the label holder add Gaussian noise to them.
One patient's label moves its residual by exactly 1, so noise of standard deviation
``sigma`` makes each release a Gaussian mechanism of sensitivity 1 on the labels, and a
run is label-differentially private (Ghazi et al. 2021) with the epsilon of the course's
accountant for the number of times a patient's residual was released.

References
----------
.. [1] Ghazi, B., Golowich, N., Kumar, R., Manurangsi, P., & Zhang, C. (2021). Deep learning
   with label differential privacy. NeurIPS.
.. [2] Fu, C., Zhang, X., Ji, S., et al. (2022). Label inference attacks against vertical
   federated learning. USENIX Security.
"""

from __future__ import annotations

import numpy as np

from fedlab._validation import InvalidParameterError, check_positive

__all__ = ["labels_from_residuals", "label_attack", "label_epsilon", "attack_bound"]


def labels_from_residuals(residuals):
    """The attack: a negative residual ``p - y`` means the label is 1.

    Parameters
    ----------
    residuals : array-like of shape (n_patients,)

    Returns
    -------
    ndarray of int of shape (n_patients,)

    Examples
    --------
    >>> labels_from_residuals([0.2, -0.7, 0.05, -0.1]).tolist()
    [0, 1, 0, 1]
    """
    residuals = np.asarray(residuals, dtype=float)
    if residuals.ndim != 1 or not np.isfinite(residuals).all():
        raise InvalidParameterError("residuals must be a 1-D array of finite numbers")
    return (residuals < 0).astype(int)


def label_attack(transcript, n_patients):
    """Every label a party infers from the residuals it received over a run.

    Parameters
    ----------
    transcript : list of (ndarray of int, ndarray of float)
        ``(rows, residuals)`` per step, as in ``VerticalModel.transcript[party]``.
    n_patients : int

    Returns
    -------
    labels : ndarray of int of shape (n_patients,)
        The sign of each patient's mean received residual (0 for a patient never seen).
    score : ndarray of shape (n_patients,)
        Minus that mean: higher means "more likely 1" (an attack AUC uses it).

    Notes
    -----
    Averaging the ``m`` noisy releases of a patient's residual shrinks the noise by
    ``sqrt(m)``: the attacker's best simple use of a run, and what the label-DP
    accounting (:func:`label_epsilon`) bounds.
    """
    total = np.zeros(int(n_patients))
    seen = np.zeros(int(n_patients))
    for rows, residuals in transcript:
        values = np.asarray(residuals, dtype=float)
        np.add.at(total, rows, values)
        np.add.at(seen, rows, 1.0)
    mean = np.divide(total, seen, out=np.zeros_like(total), where=seen > 0)
    return labels_from_residuals(mean), -mean


def label_epsilon(model, *, noise_multiplier, delta):
    """The label-DP epsilon of a run whose residuals carried Gaussian noise.

    Parameters
    ----------
    model : VerticalModel
        Trained with ``noise_multiplier``; its ``releases`` is the most times one
        patient's residual was sent.
    noise_multiplier : float
        The noise's standard deviation (the labels' sensitivity is 1).
    delta : float

    Returns
    -------
    float
        :func:`fedlab.privacy.epsilon` of ``releases`` Gaussian mechanisms (sample rate
        1: a patient's label enters only the steps whose batch holds the patient).
    """
    from fedlab import privacy

    noise_multiplier = check_positive(noise_multiplier, "noise_multiplier")
    return privacy.epsilon(noise_multiplier=noise_multiplier, sample_rate=1.0,
                           steps=max(int(model.releases), 1), delta=delta)


def attack_bound(epsilon, delta):
    """The highest balanced accuracy any label attack can reach under (epsilon, delta)-label DP.

    Notes
    -----
    For every test of "``y_i = 1``" against "``y_i = 0``", DP bounds the true-positive
    rate by ``e^eps FPR + delta`` and ``1 - FPR`` by ``e^eps (1 - TPR) + delta``
    (Kairouz et al. 2015). Their average is at most ``(e^eps + delta) / (1 + e^eps)``.

    Examples
    --------
    >>> round(attack_bound(1.0, 1e-5), 3)
    0.731
    """
    epsilon = check_positive(epsilon, "epsilon", strict=False)
    delta = check_positive(delta, "delta", strict=False)
    return float(min(1.0, (np.exp(epsilon) + delta) / (1.0 + np.exp(epsilon))))
