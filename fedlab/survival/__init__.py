"""Survival analysis across hospitals: federated Kaplan-Meier, log-rank and exact Cox regression.

Time-to-event outcomes with censoring, from what each site may release:

- :mod:`.life_table`: a site's counts at risk and of events on a shared grid (or at the
  event times), their sum (optionally under secure aggregation), and small-cell merging.
- :mod:`.kaplan_meier`: the pooled Kaplan-Meier curve with Greenwood intervals, and the
  whole federated protocol (:func:`federated_kaplan_meier`).
- :mod:`.logrank`: the log-rank test across sites or groups, and stratified by site.
- :mod:`.partial_likelihood`: one site's Cox log partial likelihood, score and
  information (Breslow or Efron ties), and its baseline hazard.
- :mod:`.cox`: the exact federated Cox model (Newton-Raphson on the summed scores and
  information of the site-stratified likelihood).
- :mod:`.concordance`, :mod:`.calibration`, :mod:`.evaluation`: Harrell's and Uno's C with
  jackknife intervals, calibration at a horizon, each site's summary and their pooling.
- :mod:`.study`: the comparison ``train --time --event`` reports (:func:`compare_survival`).

The Cox model of the round loop (FedAvg and the others on the partial likelihood) is
:class:`fedlab.models.CoxPH`.
"""

from .calibration import calibration_at_horizon, observed_risk, predicted_risk
from .concordance import censoring_survival, harrell_c, uno_c
from .cox import CoxFit, CoxSite, SummedSites, fit_federated_cox, sum_terms
from .evaluation import pool_survival_metrics, site_survival_metrics
from .kaplan_meier import KaplanMeier, federated_kaplan_meier, kaplan_meier, survival_at
from .life_table import LifeTable, agree_rows, life_table, merge_small_cells, sum_tables
from .logrank import LogRankResult, LogRankTerms, logrank_terms, logrank_test
from .partial_likelihood import TIES, CoxTerms, baseline_hazard, partial_likelihood
from .study import compare_survival, pool_scores, score_site

__all__ = [
    "TIES",
    "CoxFit",
    "CoxSite",
    "CoxTerms",
    "KaplanMeier",
    "LifeTable",
    "LogRankResult",
    "LogRankTerms",
    "SummedSites",
    "agree_rows",
    "baseline_hazard",
    "calibration_at_horizon",
    "censoring_survival",
    "compare_survival",
    "federated_kaplan_meier",
    "fit_federated_cox",
    "harrell_c",
    "kaplan_meier",
    "life_table",
    "logrank_terms",
    "logrank_test",
    "merge_small_cells",
    "observed_risk",
    "partial_likelihood",
    "pool_survival_metrics",
    "pool_scores",
    "predicted_risk",
    "score_site",
    "site_survival_metrics",
    "sum_tables",
    "sum_terms",
    "survival_at",
    "uno_c",
]
