"""The federated-averaging dashboard of lesson 03: move a slider, watch FedAvg train."""

from __future__ import annotations

import time
from functools import lru_cache

import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display

from fedlab import baselines, data, federated
from fedlab.federated.preprocessing import combine
from fedlab.metrics import Evaluator
from fedlab.plots import learning_curves

__all__ = ["FedAvgDashboard", "fedavg_dashboard"]

PARTITIONS = {
    "the five hospitals": None,
    "IID (records shuffled evenly)": "iid",
    "quantity skew (unequal sizes)": "quantity",
    "label skew (unequal prevalence)": "label",
}


class FedAvgDashboard:
    """Sliders for clients, local epochs, rounds, client fraction and the averaging rule.

    Everything that does not depend on the controls (standardized records, test sets,
    the centralized and single-hospital baselines, each partition) is computed once and
    cached, so a change only re-runs FedAvg and redraws.

    Parameters
    ----------
    hospitals : sequence of Hospital, optional
        Defaults to :func:`fedlab.data.load_hospitals`.
    instructor : bool, default=False
        Full-width layout with a larger figure, for projecting in class.
    random_state : int, default=0
    """

    def __init__(self, hospitals=None, *, instructor=False, random_state=0, lr=0.1,
                 batch_size=32, l2=baselines.DEFAULTS["l2"]):
        hospitals = list(hospitals or data.load_hospitals())
        self.hospitals, self.random_state = hospitals, random_state
        self.settings = {"lr": lr, "batch_size": batch_size, "l2": l2}
        scaler = combine([federated.feature_sums(h.X_train) for h in hospitals])
        self._train = [(scaler.transform(h.X_train), h.y_train) for h in hospitals]
        self._X = np.vstack([X for X, _ in self._train])
        self._y = np.concatenate([y for _, y in self._train])
        X_test = np.vstack([scaler.transform(h.X_test) for h in hospitals])
        y_test = np.concatenate([h.y_test for h in hospitals])
        self.evaluator = Evaluator({"all hospitals": (X_test, y_test)})
        self.baselines = _baselines(hospitals, l2)
        self.last_seconds = float("nan")

        style = {"description_width": "150px"}
        wide = W.Layout(width="95%" if instructor else "460px")
        self.partition = W.Dropdown(options=list(PARTITIONS), description="clients are",
                                    style=style, layout=wide)
        self.n_clients = W.IntSlider(5, min=1, max=50, description="number of clients",
                                     style=style, layout=wide, continuous_update=False)
        self.local_epochs = W.IntSlider(1, min=1, max=10, description="local epochs",
                                        style=style, layout=wide, continuous_update=False)
        self.rounds = W.IntSlider(20, min=1, max=50, description="rounds", style=style,
                                  layout=wide, continuous_update=False)
        self.client_fraction = W.FloatSlider(1.0, min=0.1, max=1.0, step=0.1,
                                             description="client fraction C", style=style,
                                             layout=wide, continuous_update=False)
        self.aggregate = W.ToggleButtons(options=[("weighted by size", "weighted"),
                                                  ("plain mean", "mean")],
                                         description="average", style=style)
        self.progress = W.IntProgress(0, min=0, max=1, description="training",
                                      style=style, layout=wide)
        self.status = W.HTML()
        self.output = W.Output()
        self.figsize = (12, 5) if instructor else (7.5, 4)
        self.controls = [self.partition, self.n_clients, self.local_epochs, self.rounds,
                         self.client_fraction, self.aggregate]
        for control in self.controls:
            control.observe(self.update, names="value")
        box = W.Layout(width="100%") if instructor else W.Layout()
        self.widget = W.VBox([*self.controls, self.progress, self.status, self.output],
                             layout=box)
        self._sync_partition()
        self.update()

    def clients(self):
        """The clients for the current controls (cached per partition and size)."""
        scheme = PARTITIONS[self.partition.value]
        parts = _partition(scheme, self.n_clients.value, len(self._y),
                           tuple(self._y.astype(int)), self.random_state)
        if scheme is None:
            return [federated.Client(X, y, name=h.name)
                    for (X, y), h in zip(self._train, self.hospitals)]
        return [federated.Client(self._X[idx], self._y[idx], name=f"client {k + 1}")
                for k, idx in enumerate(parts)]

    def update(self, change=None):
        """Re-run FedAvg with the current controls and redraw (called on every change)."""
        start = time.perf_counter()
        self._sync_partition()
        rounds = self.rounds.value
        self.progress.max, self.progress.value = rounds, 0
        history = federated.run(
            self.clients(), rounds=rounds, local_epochs=self.local_epochs.value,
            client_fraction=self.client_fraction.value, aggregate=self.aggregate.value,
            standardize=False, test_sets=self.evaluator,
            callback=lambda r: setattr(self.progress, "value", r.round),
            random_state=self.random_state, **self.settings)
        self.history = history
        fig, ax = plt.subplots(figsize=self.figsize, layout="constrained")
        learning_curves({f"FedAvg ({self.aggregate.value} mean)": history},
                        baselines=self.baselines, ax=ax)
        ax.set_ylim(0.45, max(self.baselines.values()) + 0.05)
        with self.output:
            self.output.clear_output(wait=True)
            display(fig)
        plt.close(fig)
        megabytes = history.bytes()[-1] / 1e6
        self.status.value = (f"final test AUC <b>{history.final.pooled['auc']:.3f}</b> &nbsp; "
                             f"· {len(history.rounds[-1].participants) or 0} clients in the "
                             f"last round · {megabytes:.2f} MB on the wire")
        self.last_seconds = time.perf_counter() - start

    def _sync_partition(self):
        self.n_clients.disabled = PARTITIONS[self.partition.value] is None

    def _ipython_display_(self):
        display(self.widget)


def fedavg_dashboard(hospitals=None, *, instructor=False, random_state=0):
    """Show the FedAvg dashboard (full width with ``instructor=True``) and return it."""
    dashboard = FedAvgDashboard(hospitals, instructor=instructor, random_state=random_state)
    display(dashboard.widget)
    return dashboard


@lru_cache(maxsize=256)
def _partition(scheme, n_clients, n_records, labels, random_state):
    """Index arrays of each client's records (cached: re-splitting is part of a change)."""
    if scheme is None:
        return None
    if scheme == "iid":
        return data.partition_iid(n_records, n_clients, random_state=random_state)
    if scheme == "quantity":
        return data.partition_quantity_skew(n_records, n_clients, alpha=0.5,
                                            random_state=random_state)
    return data.partition_label_skew(np.array(labels), n_clients, alpha=0.5,
                                     random_state=random_state)


def _baselines(hospitals, l2):
    """The ceiling (pooled records) and the floor (average hospital alone), on pooled test."""
    referee = Evaluator(hospitals)  # raw test sets: each model brings its own standardizer
    ceiling = referee(*baselines.centralized(hospitals, l2=l2))[0]["auc"]
    floor = np.mean([referee(*baselines.single_site(h, l2=l2))[0]["auc"] for h in hospitals])
    return {"centralized (ceiling)": ceiling, "one hospital alone, average (floor)": float(floor)}
