"""Interactive ipywidgets dashboards built on :mod:`fedlab.plots`, one module per lesson.

Every dashboard takes ``instructor=False``; ``instructor=True`` shows it full width with
larger text, for the projector (:mod:`fedlab.widgets._projector`).
"""

from fedlab.widgets.analytics import KMeansDashboard, kmeans_dashboard
from fedlab.widgets.fedavg import FedAvgDashboard, fedavg_dashboard
from fedlab.widgets.heterogeneity import HeterogeneityDashboard, heterogeneity_dashboard
from fedlab.widgets.privacy import DPFedAvgDashboard, dp_fedavg_dashboard
from fedlab.widgets.robustness import RobustnessDashboard, robustness_dashboard
from fedlab.widgets.survival import SurvivalDashboard, survival_dashboard

__all__ = ["FedAvgDashboard", "fedavg_dashboard", "DPFedAvgDashboard", "dp_fedavg_dashboard",
           "HeterogeneityDashboard", "heterogeneity_dashboard", "KMeansDashboard",
           "kmeans_dashboard", "RobustnessDashboard", "robustness_dashboard", "SurvivalDashboard",
           "survival_dashboard"]
