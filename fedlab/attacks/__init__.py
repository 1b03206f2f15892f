"""Attacks that show what model updates and models leak: gradient inversion, membership inference.

``inversion`` rebuilds a patient's record from a one-record gradient or update (and shows
what a batch average gives away); ``membership`` tells whether a patient was in a
model's training set from the model's loss on the record (Yeom et al. 2018; Carlini et
al. 2022).
"""

from .inversion import (
    batch_inversion_error,
    batch_leak,
    gradient_from_update,
    infer_label,
    reconstruct_record,
    reconstruction_error,
)
from .membership import (
    MembershipAttack,
    design_matrices,
    expand_features,
    loss_threshold_attack,
    membership_scores,
    per_record_loss,
    roc_curve,
    tpr_at_fpr,
)

__all__ = [
    "MembershipAttack",
    "batch_inversion_error",
    "batch_leak",
    "design_matrices",
    "expand_features",
    "gradient_from_update",
    "infer_label",
    "loss_threshold_attack",
    "membership_scores",
    "per_record_loss",
    "reconstruct_record",
    "reconstruction_error",
    "roc_curve",
    "tpr_at_fpr",
]
