"""Federated learning on one machine: clients that keep their records, a server, the loop.

Follows McMahan et al. 2017 (FedSGD and FedAvg); see :func:`run`.
"""

from fedlab.federated.client import Client
from fedlab.federated.engine import run
from fedlab.federated.history import History, RoundRecord
from fedlab.federated.messages import Update
from fedlab.federated.preprocessing import FeatureSums, Standardizer, combine, feature_sums
from fedlab.federated.server import Server

__all__ = ["Client", "Server", "run", "History", "RoundRecord", "Update", "FeatureSums",
           "Standardizer", "combine", "feature_sums"]
