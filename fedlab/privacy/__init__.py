"""Differential privacy for FL: clipping, Gaussian noise and accounting (Abadi et al. 2016).

``mechanisms`` clips and adds calibrated noise, ``renyi`` holds the Rényi DP maths of the
sampled Gaussian mechanism, and ``accounting`` turns noise, sampling rate and steps into
an (epsilon, delta) budget. DP-SGD and DP-FedAvg training build on these.
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
from .mechanisms import (
    add_gaussian_noise,
    classic_gaussian_sigma,
    clip_by_l2_norm,
    gaussian_epsilon,
    gaussian_mechanism,
)

__all__ = [
    "DEFAULT_ORDERS",
    "PLD_DISCRETIZATION",
    "PrivacyAccountant",
    "add_gaussian_noise",
    "classic_gaussian_sigma",
    "clip_by_l2_norm",
    "epsilon",
    "gaussian_epsilon",
    "gaussian_mechanism",
    "noise_multiplier_for",
    "rdp",
    "rdp_to_epsilon",
]
