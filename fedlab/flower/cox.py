"""The exact federated Cox model on Flower: Newton's iterations, one round of messages a step.

:class:`FlowerCox` is the transport :func:`fedlab.survival.fit_federated_cox` asks for
the summed site terms: it sends the coefficients (and the federated standardizer) to
every SuperNode (``query.cox_terms``), each site answers with its log partial
likelihood, gradient and information (a number, a p-vector and a p x p matrix), and it
adds them in the sites' order. The Newton loop is the one of :mod:`fedlab.survival.cox`,
so the model equals ``train --time --event``'s ``federated Cox``.
"""

from __future__ import annotations

from dataclasses import asdict

from flwr.app import MessageType

from fedlab.federated import RoundRecord
from fedlab.federated.preprocessing import combine
from fedlab.flower import records
from fedlab.flower.serverapp import FlowerTransport, _exchange
from fedlab.flower.study import StudyError
from fedlab.survival import fit_federated_cox, sum_terms

__all__ = ["FlowerCox", "run_exact_cox"]

TASK = f"{MessageType.QUERY}.cox_terms"


class FlowerCox:
    """:func:`~fedlab.survival.fit_federated_cox`'s transport over Flower's Grid.

    Parameters
    ----------
    transport : FlowerTransport
        The study's sites (set up: names, sizes, events, nodes).
    standardizer : Standardizer or None
        The federated standardization each site applies before computing its terms.

    Notes
    -----
    Every site must answer every step: a sum with a site missing is another likelihood,
    and Newton's step on it is not the exact method's. A site that fails or does not
    answer within ``round-timeout`` stops the study (:class:`StudyError`, naming it).
    """

    def __init__(self, transport, standardizer):
        self.transport, self.standardizer = transport, standardizer
        self.names = list(transport.names)
        self.n_features = transport.n_features
        self.n = int(sum(transport.sizes))
        self.site_events = tuple(int(transport.sites[n]["events_train"]) for n in self.names)
        self.rounds = 0
        self.bytes_up = self.bytes_down = 0

    def terms(self, coef, *, ties="breslow"):
        """The sum over sites of their :class:`~fedlab.survival.CoxTerms` at ``coef``."""
        self.rounds += 1
        t = self.transport
        contents = {name: records.instructions(coef, {"ties": ties},
                                               standardizer=self.standardizer)
                    for name in self.names}
        replies, failures = _exchange(t.grid, t.sites, contents, TASK, f"cox-{self.rounds}",
                                      t.timeout)
        if failures:
            name, why = next(iter(failures.items()))
            raise StudyError(f"site {name!r} failed at Newton step {self.rounds} ({why}): the "
                             "exact federated Cox model needs every site's terms at every step")
        p = self.n_features
        self.bytes_up += len(self.names) * 8 * (1 + p + p * p)
        self.bytes_down += len(self.names) * 8 * p
        return sum_terms(records.read_cox_terms(replies[name]) for name in self.names)


def run_exact_cox(grid, cfg):
    """The study of a run config with ``fit = "exact-cox"``: the result the ServerApp writes.

    Set-up as every study (each site's name, sizes and feature sums), then
    :func:`~fedlab.survival.fit_federated_cox` over :class:`FlowerCox` (ties from the
    run's model options, ``l2`` and at most ``num-rounds`` Newton steps), then each site
    scores the model on its test patients (:func:`fedlab.survival.score_site`).

    Returns
    -------
    dict
        As :func:`fedlab.flower.serverapp.run_study`'s: ``rounds`` (one record: the final
        evaluation, after every message round), ``params`` (the coefficients, on
        standardized features), ``standardizer``, ``sites`` and ``config`` (with ``fit``,
        ``n_iter``, ``message_rounds``, ``loglik``, ``se`` and ``covariance``).
    """
    transport = FlowerTransport(grid, cfg)
    model = transport.model
    if model.outcome != "survival":
        raise StudyError(f"fit 'exact-cox' needs a Cox model and a time-to-event outcome, got "
                         f"model {model!r}")
    standardizer = None
    if bool(cfg["standardize"]):
        standardizer = combine(transport.feature_sums(), names=transport.names,
                               feature_names=transport.feature_names)
    cox = FlowerCox(transport, standardizer)
    try:
        fit = fit_federated_cox(cox, ties=model.ties, l2=float(cfg["l2"]),
                                max_iter=int(cfg["num-rounds"]))
    except ValueError as err:  # e.g. a singular summed information: the study's answer
        raise StudyError(str(err)) from None
    pooled, sites = transport.evaluate(cox.rounds, fit.coef, standardizer)
    record = RoundRecord(cox.rounds, pooled, sites, cox.bytes_up, cox.bytes_down,
                         list(transport.names))
    return {"rounds": [asdict(record)], "params": fit.coef.tolist(),
            "standardizer": None if standardizer is None else {
                "mean": standardizer.mean.tolist(), "scale": standardizer.scale.tolist()},
            "sites": {n: {k: v for k, v in s.items() if k not in ("sums", "node")}
                      for n, s in transport.sites.items()},
            "config": {"fit": "exact-cox", "method": str(cfg.get("method", "")),
                       "model": repr(model), "ties": fit.ties, "l2": fit.l2,
                       "n_iter": fit.n_iter, "message_rounds": cox.rounds,
                       "loglik": fit.loglik, "n": fit.n, "events": fit.events,
                       "se": fit.se.tolist(), "covariance": fit.covariance.tolist(),
                       "seed": int(cfg["seed"]), "exclude_site": str(cfg["exclude-site"])}}
