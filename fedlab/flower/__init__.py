"""fedlab's clients and strategies as real processes on Flower (optional extra ``flower``).

Lesson 10's engine: :class:`Federation` starts Flower's Deployment Engine on localhost
(one SuperLink, one SuperNode per site, each reading only its own CSV) and runs studies
on it with a fedlab :class:`~fedlab.federated.Strategy`; :func:`launch` does one study
from start to teardown. The Flower App itself is :mod:`fedlab.flower.clientapp` and
:mod:`fedlab.flower.serverapp` (both import ``flwr``; this module does not, so that a
missing Flower gives one clear message: install ``pip install -e ".[flower]"``).
``secure_aggregation=True`` runs the rounds through Flower's SecAgg+
(:mod:`fedlab.flower.secure`): the ServerApp learns only the weighted mean update.

References
----------
Beutel et al. (2020). Flower: a friendly federated learning research framework.
arXiv:2007.14390.
"""

from fedlab.flower.federation import Federation, FlowerNotInstalled, free_port, launch, require_flwr
from fedlab.flower.study import StudyError, StudyRound, history_from_result, rounds_below_quorum

__all__ = ["Federation", "launch", "require_flwr", "FlowerNotInstalled", "free_port",
           "StudyError", "StudyRound", "history_from_result", "rounds_below_quorum"]
