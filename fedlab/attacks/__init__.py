"""Attacks on federated learning: what updates leak, and what a bad or malicious site can do.

``inversion`` rebuilds a patient's record from a one-record gradient or update (and shows
what a batch average gives away); ``membership`` tells whether a patient was in a
model's training set from the model's loss on the record (Yeom et al. 2018; Carlini et
al. 2022). ``faults`` makes and spots faulty exports from per-site sums; ``poisoning``
turns an honest hospital into a malicious one (:func:`malicious`). What a defence costs
each honest site is measured with :mod:`fedlab.metrics` (DeLong intervals).
"""

from .faults import (
    MG_DL_PER_MMOL_L,
    duplicated_records,
    flag_unit_errors,
    flipped_outcome,
    local_duplicates,
    outcome_contrast,
    site_means,
    unit_error,
)
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
from .poisoning import ATTACKS, MaliciousClient, little_is_enough_z, malicious

__all__ = [
    "ATTACKS",
    "MG_DL_PER_MMOL_L",
    "MaliciousClient",
    "MembershipAttack",
    "batch_inversion_error",
    "batch_leak",
    "design_matrices",
    "duplicated_records",
    "expand_features",
    "flag_unit_errors",
    "flipped_outcome",
    "gradient_from_update",
    "infer_label",
    "little_is_enough_z",
    "local_duplicates",
    "loss_threshold_attack",
    "malicious",
    "membership_scores",
    "outcome_contrast",
    "per_record_loss",
    "reconstruct_record",
    "reconstruction_error",
    "roc_curve",
    "site_means",
    "tpr_at_fpr",
    "unit_error",
]
