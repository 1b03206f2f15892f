"""Flower's own SecAgg+ for fedlab's rounds: the ServerApp learns only sums.

A round with ``secure-aggregation = true`` runs Flower's
:class:`~flwr.server.workflow.SecAggPlusWorkflow` (server) against
:func:`~flwr.client.mod.secaggplus_mod` (each ClientApp): key agreement, Shamir-shared
seeds, masked vectors, unmasking (Bell et al. 2020). Each site trains with fedlab's own
``Client.train``, computes the strategy's summands from its update (FedAvg:
``n_k delta_k`` and ``n_k``; SCAFFOLD adds ``n_k Delta c_k``; FedNova its per-step
update and steps; see :attr:`fedlab.federated.Strategy.summed_arrays`), checks that they
are finite (else it leaves the round, and the server names it refused), divides them by
public scales and hands the mod one vector of weight 1. The mod quantizes it on
``[-c, c]`` with ``2**22`` levels, masks it and sends only the masked integers; the
workflow unmasks the mean over the sites that stayed, which times their number and the
scales is each sum. The ServerApp never sees an individual update (its replies hold no
plain arrays: see ``received`` in the result). Nor does it see a site's size, event
count or feature sums: before round 1 :func:`secure_totals` sums them exactly
(:mod:`fedlab.flower.totals`), so the scales rest on the total number of training
records, a bound on any one site's.

A strategy that needs each update (median, trimmed mean, Krum, the cosine filter,
DP-FedAvg's server-side clipping) declares ``summed_arrays = None`` and is refused
before any process starts.

References
----------
Bell, Bonawitz, Gascon, Lepoint, Raykova (2020). Secure single-server aggregation with
(poly)logarithmic overhead. CCS 2020.
"""

from __future__ import annotations

import json
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

__all__ = ["QUANTIZATION_RANGE", "EXACT_CLIPPING_RANGE", "secure_round", "secure_totals",
           "masked_total", "secure_mod", "secure_reply", "totals_reply"]

QUANTIZATION_RANGE = 2 ** 22  # Flower's default: levels of one entry on [-c, c]
EXACT_CLIPPING_RANGE = 2.0 ** 21  # grid step 1: an integer entry is quantized exactly
RECONSTRUCTION_THRESHOLD = 2 / 3  # of each site's neighbours (all the round's sites)


def secure_round(grid, sites, contents, server_round, *, strategy, clipping_range, timeout,
                 largest_site):
    """One round of training through SecAgg+: ``(sums or None, sites, received, failures)``.

    ``contents`` maps each chosen site to its train message (fedlab's instructions).
    Each site computes the strategy's :meth:`~fedlab.federated.Strategy.summands` from
    its own update, divides each by its public scale
    (:meth:`~fedlab.federated.Strategy.summand_scales`, from ``largest_site``: a bound on
    any site's number of training records, the total over the sites, since each site's
    own is secret) and masks them as one vector of weight 1; the workflow unmasks their
    mean over the sites whose masked vector arrived, which times their number and the
    scales is each summand's sum. ``None`` when the protocol halted (too few sites).
    ``received`` counts what the ServerApp got back: masked vectors and plain (unmasked)
    array entries, the latter always 0; ``failures`` names each site that reported an
    error (e.g. a non-finite update, which a site checks before masking) and why.
    """
    first = next(iter(contents.values()))
    config = {"epochs": int(first["config"]["epochs"]),
              "batch_size": int(first["config"]["batch_size"]) or None}
    scales = strategy.summand_scales([int(largest_site)], config)
    for content in contents.values():
        content["secure"] = ConfigRecord({"scales": json.dumps(scales),
                                          "clipping-range": float(clipping_range)})
    total, kept, received, failures = masked_total(grid, sites, contents, server_round,
                                                   clipping_range=clipping_range,
                                                   timeout=timeout)
    if total is None:
        return None, [], received, failures
    sums, start = {}, 0
    for name, shape in _summand_shapes(strategy, len(first["arrays"]["params"].numpy())).items():
        size = int(np.prod(shape))
        sums[name] = total[start:start + size].reshape(shape) * scales[name]
        start += size
    return sums, kept, received, failures


def secure_totals(grid, sites, contents, *, timeout):
    """A secure sum of the sites' setup digits (:mod:`fedlab.flower.totals`), exactly.

    ``contents`` maps every site to a train message holding a ``"secure-setup"`` record;
    each site answers with its digits (:func:`fedlab.flower.totals.setup_summands` or
    :func:`~fedlab.flower.totals.spread_summands`), integers that SecAgg+ quantizes
    without rounding at clipping range ``2**21``. Returns ``(digit sums, received)``.

    Raises
    ------
    StudyError
        When a site failed or left the protocol: every site's totals are needed.
    """
    total, kept, received, failures = masked_total(grid, sites, contents, 0,
                                                   clipping_range=EXACT_CLIPPING_RANGE,
                                                   timeout=timeout)
    missing = [name for name in contents if name not in kept]
    if total is None or missing:
        why = "; ".join(f"{n}: {failures.get(n, 'left the secure aggregation')}"
                        for n in missing or contents)
        raise StudyError(f"the secure sum of the sites' sizes and feature sums failed ({why})")
    return np.rint(total), received


def masked_total(grid, sites, contents, server_round, *, clipping_range, timeout):
    """SecAgg+ over ``contents``: ``(sum of the masked vectors or None, sites, received,
    failures)``; each site's vector is masked with weight 1 on ``[-c, c]``."""
    if len(contents) < 2:
        raise StudyError(f"round {server_round}: secure aggregation needs at least 2 sites, "
                         f"got {sorted(contents)}")
    by_node = {sites[name]["node"]: name for name in contents}
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
                         max_weight=1.0, clipping_range=float(clipping_range),
                         quantization_range=QUANTIZATION_RANGE, timeout=timeout)
    recorder = _Recorder(grid)
    workflow(recorder, context)
    failures = {by_node[node]: why for node, why in recorder.errors.items() if node in by_node}
    if aggregator.mean is None:
        return None, [], recorder.received, failures
    kept = [name for name in contents if name in {by_node[n] for n in aggregator.nodes}]
    return aggregator.mean * len(kept), kept, recorder.received, failures


def _summand_shapes(strategy, n_params):
    """The shape of each of the strategy's summands, from a reply of zeros."""
    probe = Update("probe", np.zeros(n_params), 1, {"loss": 1.0, "local_steps": 1},
                   {name: np.zeros(n_params) for name in strategy.reply_arrays})
    summands = strategy.summands(probe)
    return {name: np.shape(summands[name]) for name in strategy.summed_arrays}


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
        self.errors = {}  # node -> the reason a site gave for leaving the protocol

    def send_and_receive(self, messages, *, timeout=None):
        replies = list(self.grid.send_and_receive(messages, timeout=timeout))
        for msg in replies:
            if msg.has_error():
                self.errors.setdefault(msg.metadata.src_node_id, _reason(msg.error.reason))
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


def secure_reply(update, settings, strategy):
    """The FitRes-shaped reply ``secaggplus_mod`` masks: the site's scaled summands only.

    Raises
    ------
    ValueError
        When a summand holds NaN or infinity ("non-finite update": the site leaves the
        round before masking, and the server names it as refused), or an entry lies
        outside ``[-c, c]`` (Flower would clip it and the sums would be wrong): the
        message names the run-config key to raise.
    """
    summands = strategy.summands(update)
    scales = json.loads(settings["scales"])
    vector = np.concatenate([np.ravel(summands[k]) / scales[k] for k in strategy.summed_arrays])
    if not np.isfinite(vector).all():
        raise ValueError(f"non-finite update (NaN or infinity in the summands of site "
                         f"{update.client!r}): it leaves the round before masking")
    c = float(settings["clipping-range"])
    largest = float(np.max(np.abs(vector))) if vector.size else 0.0
    if not largest <= c:
        raise ValueError(f"an update entry of {largest:.3g} lies outside the secure-aggregation "
                         f"range [-{c:g}, {c:g}]: raise secagg-clipping-range in the run config")
    fitres = FitRes(Status(Code.OK, ""), ndarrays_to_parameters([vector]), 1, {})
    return compat.fitres_to_recorddict(fitres, keep_input=True)


def _reason(text):
    """The reason a site gave, from its error text (a refused update starts "non-finite")."""
    text = str(text)
    marker = "non-finite update"
    return text[text.index(marker):] if marker in text else text


def totals_reply(vector):
    """The FitRes-shaped reply ``secaggplus_mod`` masks: a site's setup digits, exactly."""
    fitres = FitRes(Status(Code.OK, ""), ndarrays_to_parameters([np.asarray(vector, float)]),
                    1, {})
    return compat.fitres_to_recorddict(fitres, keep_input=True)
