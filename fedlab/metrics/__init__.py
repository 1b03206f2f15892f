"""Evaluation of risk models, per hospital and pooled, each number with its 95 % interval.

- :mod:`fedlab.metrics.auc`: ROC AUC, DeLong's variance, the paired comparison of two AUCs.
- :mod:`fedlab.metrics.calibration`: Wilson interval, O/E, calibration slope and
  intercept, Brier score.
- :mod:`fedlab.metrics.sites`: one site's summary (:func:`site_metrics`) and the pooling
  of several (:func:`pool_site_metrics`, a random-effects meta-analysis where needed).
- :mod:`fedlab.metrics.evaluator`: the course's referee, :class:`Evaluator`.
- :mod:`fedlab.metrics.seeds`: the same comparison over several training seeds.
- :mod:`fedlab.metrics.shifted`: one model before and after a dataset shift of the same
  patients (weighted AUC, the paired bootstrap of the change).
- :mod:`fedlab.metrics.release`: what a command may print of those summaries (small cells
  suppressed, undefined values named).
"""

from fedlab.metrics.auc import auc_difference, auc_interval, delong_covariance, roc_auc
from fedlab.metrics.calibration import (
    brier_score,
    calibration_intercept,
    calibration_slope,
    observed_expected,
    wilson_interval,
)
from fedlab.metrics.evaluator import Evaluator, evaluate
from fedlab.metrics.release import release_metrics, release_results, suppression_reason
from fedlab.metrics.seeds import TRAINING_SEEDS, SeedSpread, seed_spread
from fedlab.metrics.shifted import shift_effect, weighted_auc
from fedlab.metrics.sites import pool_site_metrics, random_effects, site_metrics

__all__ = ["evaluate", "Evaluator", "roc_auc", "delong_covariance", "auc_interval",
           "auc_difference", "wilson_interval", "observed_expected", "calibration_slope",
           "calibration_intercept", "brier_score", "site_metrics", "pool_site_metrics",
           "random_effects", "seed_spread", "SeedSpread", "TRAINING_SEEDS", "release_metrics",
           "release_results", "suppression_reason", "shift_effect", "weighted_auc"]
