"""Matplotlib figures for the course, one module per topic; colour-blind-safe colours."""

from fedlab.plots.attacks import (
    batch_weights,
    membership_losses,
    membership_roc,
    reconstruction_vs_noise,
)
from fedlab.plots.data import (
    age_by_site,
    missing_by_site,
    prevalence_by_site,
    risk_by_sbp,
    sex_ratio_by_site,
    site_sizes,
    site_vs_others,
)
from fedlab.plots.evaluation import (
    calibration_diagram,
    calibration_table,
    roc_curves,
    site_auc_bars,
)
from fedlab.plots.forest import site_forest
from fedlab.plots.heterogeneity import shift_effects, site_intervals
from fedlab.plots.privacy import epsilon_per_round, noisy_answers, privacy_utility, rdp_curve
from fedlab.plots.robustness import defence_grid, price_of_robustness, site_mean_ratios
from fedlab.plots.secagg import masked_vs_raw, noise_under_dropouts, protocol_cost_curves
from fedlab.plots.style import PALETTE, color, new_axes
from fedlab.plots.training import learning_curves, method_comparison

__all__ = ["PALETTE", "color", "new_axes", "learning_curves", "method_comparison",
           "roc_curves", "calibration_diagram", "calibration_table", "site_auc_bars",
           "site_forest",
           "masked_vs_raw", "noise_under_dropouts", "protocol_cost_curves",
           "site_sizes", "prevalence_by_site", "age_by_site", "sex_ratio_by_site",
           "site_vs_others", "missing_by_site", "risk_by_sbp", "noisy_answers",
           "batch_weights", "reconstruction_vs_noise", "membership_roc", "membership_losses",
           "epsilon_per_round", "rdp_curve", "privacy_utility", "site_intervals",
           "shift_effects", "site_mean_ratios", "defence_grid", "price_of_robustness"]
