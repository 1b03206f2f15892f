"""Flower's own SecAgg+ for fedlab's rounds: the ServerApp learns only the weighted mean.

A round with ``secure-aggregation = true`` runs Flower's
:class:`~flwr.server.workflow.SecAggPlusWorkflow` (server) against
:func:`~flwr.client.mod.secaggplus_mod` (each ClientApp): key agreement, Shamir-shared
seeds, masked vectors, unmasking (Bell et al. 2020). Each site trains with fedlab's own
``Client.train`` and hands the mod its update ``delta_k`` (the round's vector) and its
weight ``n_k`` (records, or 1 for a plain mean). The mod scales the update by
``n_k / max_weight``, quantizes it on ``[-c, c]`` with ``2**22`` levels, masks it and
sends only the masked integers; the workflow unmasks the sum and divides by the summed
weights. The ServerApp thus gets ``sum n_k delta_k / sum n_k`` - the one vector FedAvg
needs - and never an individual update (its replies hold no plain arrays: see
``received`` in the result). The sample counts ``n_k`` are not secret in fedlab: each site
reports them at setup.

Only strategies whose aggregate is a function of that mean can run this way (FedAvg,
FedProx, FedAvgM, FedSGD, FedAdam, FedYogi, FedAdagrad); the others need the individual
updates (median, trimmed mean, Krum, SCAFFOLD's controls) or add their own noise
(DP-FedAvg) and are refused (:func:`fedlab.flower.study.check_linear`).

References
----------
Bell, Bonawitz, Gascon, Lepoint, Raykova (2020). Secure single-server aggregation with
(poly)logarithmic overhead. CCS 2020.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from flwr.app import ConfigRecord, Context, RecordDict
from flwr.client.mod import secaggplus_mod
from flwr.common import (
    Code,
    FitIns,
    FitRes,
    Parameters,
    Status,
    ndarrays_to_parameters,
    parameters_to_ndarrays,
)
from flwr.common.secure_aggregation.secaggplus_constants import RECORD_KEY_CONFIGS, Key
from flwr.compat.common import recorddict_compat as compat
from flwr.server.compat.legacy_context import LegacyContext
from flwr.server.workflow import SecAggPlusWorkflow
from flwr.server.workflow.constant import MAIN_CONFIGS_RECORD, MAIN_PARAMS_RECORD
from flwr.server.workflow.constant import Key as WorkflowKey

from fedlab.federated import Update
from fedlab.flower.study import StudyError

__all__ = ["QUANTIZATION_RANGE", "secure_round", "secure_mod", "secure_reply"]

QUANTIZATION_RANGE = 2 ** 22  # Flower's default: levels of one entry on [-c, c]
RECONSTRUCTION_THRESHOLD = 2 / 3  # of each site's neighbours (all the round's sites)


def secure_round(grid, sites, contents, server_round, *, weighted, clipping_range, timeout):
    """One round of training through SecAgg+: ``(mean Update or None, sites, received)``.

    ``contents`` maps each chosen site to its train message (fedlab's instructions);
    the returned :class:`~fedlab.federated.Update` holds the unmasked weighted mean of the
    vectors of ``sites`` (those whose masked vector arrived) and their summed weight
    (``None`` when the protocol halted: too few sites). ``received`` counts what the ServerApp got
    back: masked vectors and plain (unmasked) array entries, the latter always 0.
    """
    if len(contents) < 2:
        raise StudyError(f"round {server_round}: secure aggregation needs at least 2 sites, "
                         f"got {sorted(contents)}")
    by_node = {sites[name]["node"]: name for name in contents}
    weights = {name: sites[name]["n_train"] if weighted else 1 for name in contents}
    for content in contents.values():
        content["secure"] = ConfigRecord({"weighted": bool(weighted),
                                          "clipping-range": float(clipping_range)})
    aggregator = _MeanCatcher()
    context = LegacyContext(Context(run_id=0, node_id=0, node_config={}, state=RecordDict(),
                                    run_config={}), strategy=aggregator)
    context.state.config_records[MAIN_CONFIGS_RECORD] = ConfigRecord(
        {WorkflowKey.CURRENT_ROUND: int(server_round)})
    context.state.array_records[MAIN_PARAMS_RECORD] = compat.parameters_to_arrayrecord(
        ndarrays_to_parameters([]), keep_input=True)
    aggregator.proxies = [SimpleNamespace(node_id=node) for node in by_node]
    workflow = _Workflow({node: contents[name] for node, name in by_node.items()},
                         num_shares=1.0, reconstruction_threshold=RECONSTRUCTION_THRESHOLD,
                         max_weight=float(max(weights.values())),
                         clipping_range=float(clipping_range),
                         quantization_range=QUANTIZATION_RANGE, timeout=timeout)
    recorder = _Recorder(grid)
    workflow(recorder, context)
    if aggregator.mean is None:
        return None, [], recorder.received
    kept = [name for name in contents if name in {by_node[n] for n in aggregator.nodes}]
    update = Update("secure-sum", aggregator.mean, int(sum(weights[n] for n in kept)))
    return update, kept, recorder.received


class _Workflow(SecAggPlusWorkflow):
    """Flower's workflow, sending fedlab's own train messages in its masking stage."""

    def __init__(self, contents, **options):
        super().__init__(**options)
        self.contents = contents

    def setup_stage(self, grid, context, state):
        """Flower's setup; then the train message of each site replaces the legacy FitIns."""
        ok = super().setup_stage(grid, context, state)
        state.nid_to_fitins = {node: self.contents[node] for node in state.nid_to_fitins}
        return ok


class _MeanCatcher:
    """The legacy-strategy hooks SecAggPlusWorkflow calls: choose the nodes, keep the mean."""

    proxies, mean, nodes = (), None, ()

    def configure_fit(self, server_round, parameters, client_manager):
        return [(proxy, FitIns(Parameters([], ""), {})) for proxy in self.proxies]

    def aggregate_fit(self, server_round, results, failures):
        """``results[k][1].parameters`` is the unmasked mean, the same for every site."""
        if results:
            [mean] = parameters_to_ndarrays(results[0][1].parameters)
            self.mean, self.nodes = np.asarray(mean, dtype=float), [p.node_id for p, _ in results]
        return None, {}


class _Recorder:
    """The Grid as the workflow sees it, counting what the ServerApp receives."""

    def __init__(self, grid):
        self.grid = grid
        self.received = {"masked_vectors": 0, "plain_array_entries": 0}

    def send_and_receive(self, messages, *, timeout=None):
        replies = list(self.grid.send_and_receive(messages, timeout=timeout))
        for msg in replies:
            if msg.has_error():
                continue
            for record in msg.content.array_records.values():
                self.received["plain_array_entries"] += sum(
                    int(np.prod(a.shape)) for a in record.values())
            configs = msg.content.config_records.get(RECORD_KEY_CONFIGS, {})
            self.received["masked_vectors"] += Key.MASKED_PARAMETERS in configs
        return replies


def secure_mod(msg, context, call_next):
    """``secaggplus_mod`` for the train messages of a secure round, the others unchanged."""
    if RECORD_KEY_CONFIGS in msg.content.config_records:
        return secaggplus_mod(msg, context, call_next)
    return call_next(msg, context)


def secure_reply(update, settings):
    """The FitRes-shaped reply ``secaggplus_mod`` masks: the vector and its weight only.

    Raises
    ------
    ValueError
        When an entry of the update lies outside ``[-c, c]`` (Flower would clip it and
        the mean would be wrong): the message names the run-config key to raise.
    """
    c = float(settings["clipping-range"])
    largest = float(np.max(np.abs(update.vector))) if update.vector.size else 0.0
    if not largest <= c:
        raise ValueError(f"an update entry of {largest:.3g} lies outside the secure-aggregation "
                         f"range [-{c:g}, {c:g}]: raise secagg-clipping-range in the run config")
    weight = int(update.n_samples) if settings["weighted"] else 1
    fitres = FitRes(Status(Code.OK, ""), ndarrays_to_parameters([update.vector]), weight, {})
    return compat.fitres_to_recorddict(fitres, keep_input=True)
