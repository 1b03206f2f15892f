"""Federated learning on one machine: clients that keep their records, a server, the loop.

Follows McMahan et al. 2017 (FedSGD and FedAvg); see :func:`run`. The one round loop is
:class:`RoundLoop` (in process here, over Flower's Grid in :mod:`fedlab.flower`). Every
way of running a round is a :class:`Strategy` subclass, named as in Flower where Flower
has the same algorithm; :data:`STRATEGY_NAMES` registers each by its lower-case name.
"""

from fedlab.federated.client import Client
from fedlab.federated.engine import InProcess, run, train_clients
from fedlab.federated.fednova import FedNova
from fedlab.federated.fedopt import FedAdagrad, FedAdam, FedAvgM, FedYogi
from fedlab.federated.history import History, RoundRecord
from fedlab.federated.loop import TRAINING_DEFAULTS, RoundLoop, TooFewSites, method_seed
from fedlab.federated.messages import Update, Updates
from fedlab.federated.preprocessing import FeatureSums, Standardizer, combine, feature_sums
from fedlab.federated.qffl import QFedSGD
from fedlab.federated.robust import CosineFilter, FedMedian, FedTrimmedAvg, Krum, NormBounding
from fedlab.federated.scaffold import Scaffold
from fedlab.federated.server import Server
from fedlab.federated.strategy import (
    STRATEGY_NAMES,
    FedAvg,
    FedProx,
    FedSGD,
    Strategy,
    make_strategy,
)

__all__ = ["Client", "Server", "run", "train_clients", "InProcess", "RoundLoop",
           "TooFewSites", "TRAINING_DEFAULTS", "method_seed", "History", "RoundRecord",
           "Update", "Updates", "FeatureSums", "Standardizer", "combine", "feature_sums",
           "Strategy", "FedAvg", "FedSGD", "FedProx", "FedAvgM", "FedAdam", "FedYogi",
           "FedAdagrad", "Scaffold", "FedMedian", "FedTrimmedAvg", "Krum", "FedNova",
           "QFedSGD", "NormBounding", "CosineFilter", "make_strategy", "STRATEGY_NAMES"]
