"""Differential privacy for FL: clipping, Gaussian noise and accounting (Abadi et al. 2016).

``mechanisms`` clips and adds calibrated noise, ``renyi`` holds the Rényi DP maths of the
sampled Gaussian mechanism, and ``accounting`` turns noise, sampling rate and steps into
an (epsilon, delta) budget. ``dpsgd`` trains with record-level DP inside one hospital
(DP-SGD, also as a federated client), ``dpsgd_strategy`` makes it a strategy (``DPSGD``,
``"dpsgd"`` by name), ``dpfedavg`` aggregates with client-level DP (``DPFedAvg``,
``"dpfedavg"``).
"""

from .accounting import (
    DEFAULT_ORDERS,
    PLD_DISCRETIZATION,
    PrivacyAccountant,
    epsilon,
    noise_multiplier_for,
    rdp,
    rdp_to_epsilon,
)
from .dpfedavg import DPFedAvg
from .dpsgd import DPSGDClient, dp_sgd
from .dpsgd_strategy import DPSGD
from .mechanisms import (
    add_gaussian_noise,
    classic_gaussian_sigma,
    clip_by_l2_norm,
    gaussian_epsilon,
    gaussian_mechanism,
    noisy_clipped_sum,
)

__all__ = [
    "DEFAULT_ORDERS",
    "DPFedAvg",
    "DPSGD",
    "DPSGDClient",
    "PLD_DISCRETIZATION",
    "PrivacyAccountant",
    "add_gaussian_noise",
    "classic_gaussian_sigma",
    "clip_by_l2_norm",
    "noisy_clipped_sum",
    "dp_sgd",
    "epsilon",
    "gaussian_epsilon",
    "gaussian_mechanism",
    "noise_multiplier_for",
    "rdp",
    "rdp_to_epsilon",
]
