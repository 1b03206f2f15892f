"""The federated-averaging dashboard of lesson 03b: move a slider, watch FedAvg train."""

from __future__ import annotations

import time

import ipywidgets as W
import numpy as np
from IPython.display import display

from fedlab import baselines, data, federated
from fedlab._validation import InvalidParameterError
from fedlab.federated.preprocessing import combine
from fedlab.metrics import Evaluator
from fedlab.plots.live import LiveLearningCurves
from fedlab.widgets._projector import box_layout, control_layout

__all__ = ["FedAvgDashboard", "fedavg_dashboard"]

PARTITIONS = {
    "the five hospitals": None,
    "IID (records shuffled evenly)": "iid",
    "quantity skew (unequal sizes)": "quantity",
    "label skew (unequal prevalence)": "label",
}
"""Dropdown label -> how the pooled training records are split into clients."""

LEARNING_RATES = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
TOLERANCE = 0.01
"""A run has "caught up" once its test log loss is within this of the centralized model's."""

GROW_EVERY = 0.25
"""Seconds between drawings of a run still training: a slow setting grows on screen."""


class FedAvgDashboard:
    """Sliders that re-run FedAvg on the hospitals and redraw its learning curves.

    Controls: how the records are split into clients (``partition``), ``n_clients``,
    ``local_epochs``, ``rounds``, ``client_fraction``, the averaging rule (``aggregate``)
    and ``learning_rate``. Two panels show the pooled test AUC and test log loss per round
    against the centralized model (ceiling) and the average hospital alone (floor).

    Everything that does not depend on the controls (standardized records, the test set,
    the centralized and single-hospital baselines, each split into clients) is computed
    once and cached, and the figure is drawn on one persistent canvas, so a change only
    re-runs FedAvg (every client at once, by :func:`fedlab.federated.run`'s vectorized
    executor) and redraws. The previous run stays on the plot in grey, so the effect of
    the last change is visible. A run that takes longer than :data:`GROW_EVERY` seconds
    is drawn as it trains, so the curve grows instead of the figure freezing.

    Parameters
    ----------
    hospitals : sequence of Hospital, optional
        Defaults to :func:`fedlab.data.load_hospitals`.
    instructor : bool, default=False
        Full-width layout with a larger figure and larger text, for projecting in class.
    random_state : int, default=0
    lr : float, default=0.03
        Initial client learning rate (one of :data:`LEARNING_RATES`). At 0.1 FedAvg is
        at the ceiling after one or two rounds on the hospitals; 0.03 shows the curves.
    batch_size : int, default=32
    l2 : float, default=1e-3

    Attributes
    ----------
    history : History
        The last run.
    last_seconds : float
        Wall time of the last update (training and drawing).
    last_timings : dict
        ``{"train": s, "draw": s, "first_frame": s or None, "frames": n}`` of the last
        update (``first_frame``: when a growing curve was first drawn).
    """

    def __init__(self, hospitals=None, *, instructor=False, random_state=0, lr=0.03,
                 batch_size=32, l2=baselines.DEFAULTS["l2"]):
        hospitals = list(hospitals or data.load_hospitals())
        if lr not in LEARNING_RATES:
            raise InvalidParameterError(f"lr must be one of {LEARNING_RATES}, got {lr!r}")
        self.hospitals, self.random_state = hospitals, random_state
        self.instructor = bool(instructor)
        self.settings = {"batch_size": batch_size, "l2": l2}
        scaler = combine([federated.feature_sums(h.X_train) for h in hospitals])
        self._train = [(scaler.transform(h.X_train), h.y_train) for h in hospitals]
        self._X = np.vstack([X for X, _ in self._train])
        self._y = np.concatenate([y for _, y in self._train])
        X_test = np.vstack([scaler.transform(h.X_test) for h in hospitals])
        y_test = np.concatenate([h.y_test for h in hospitals])
        self.evaluator = Evaluator({"all hospitals": (X_test, y_test)})
        self.baselines = _baselines(hospitals, l2)
        self._clients = {}  # the clients of each split, made once
        self.history = self._previous = None
        self.last_seconds, self.last_timings = float("nan"), {}
        self._busy = False

        style = {"description_width": "140px"}
        wide = control_layout(instructor, "480px")
        self.partition = W.Dropdown(options=list(PARTITIONS), description="clients are",
                                    style=style, layout=wide)
        self.n_clients = W.IntSlider(len(hospitals), min=1, max=50,
                                     description="number of clients", style=style,
                                     layout=wide, continuous_update=False)
        self.local_epochs = W.IntSlider(1, min=1, max=10, description="local epochs E",
                                        style=style, layout=wide, continuous_update=False)
        self.rounds = W.IntSlider(20, min=1, max=50, description="rounds", style=style,
                                  layout=wide, continuous_update=False)
        self.client_fraction = W.FloatSlider(1.0, min=0.1, max=1.0, step=0.1,
                                             description="client fraction C", style=style,
                                             layout=wide, continuous_update=False)
        self.aggregate = W.ToggleButtons(options=[("weighted by size", "weighted"),
                                                  ("plain mean", "mean")],
                                         description="average",
                                         style={**style, "button_width": "160px"},
                                         layout=wide)
        self.aggregate.add_class("widget-inline-hbox")  # label beside the buttons, as above
        self.learning_rate = W.SelectionSlider(options=LEARNING_RATES, value=lr,
                                               description="learning rate", style=style,
                                               layout=wide, continuous_update=False)
        self.progress = W.IntProgress(0, min=0, max=1, description="training",
                                      style=style, layout=wide)
        self.status = W.HTML(layout=W.Layout(width="100%"))
        self.output = W.Output(layout=W.Layout(width="100%"))
        self.controls = [self.partition, self.n_clients, self.local_epochs, self.rounds,
                         self.client_fraction, self.aggregate, self.learning_rate]
        for control in self.controls:
            control.observe(self.update, names="value")
        self.widget = W.VBox([*self.controls, self.progress, self.status, self.output],
                             layout=box_layout(instructor))
        self._figure = LiveLearningCurves(large=instructor, tolerance=TOLERANCE)
        self.update()

    # -- what the controls mean ---------------------------------------------------------
    def clients(self):
        """The clients for the current controls (partitions are cached per scheme and size)."""
        scheme = PARTITIONS[self.partition.value]
        key = None if scheme is None else (scheme, self.n_clients.value)
        if key not in self._clients:
            if scheme is None:
                self._clients[key] = [federated.Client(X, y, name=h.name)
                                      for (X, y), h in zip(self._train, self.hospitals)]
            else:
                parts = _partition(scheme, self.n_clients.value, self._y, self.random_state)
                self._clients[key] = [
                    federated.Client(self._X[idx], self._y[idx], name=f"client {k + 1}")
                    for k, idx in enumerate(parts)]
        return self._clients[key]

    def describe(self):
        """The current settings in words (shown under the sliders)."""
        scheme = PARTITIONS[self.partition.value]
        who = "the 5 hospitals" if scheme is None and len(self.hospitals) == 5 else (
            f"{len(self.hospitals)} hospitals" if scheme is None
            else f"{self.n_clients.value} clients, {self.partition.value.split(' (')[0]}")
        rule = "weighted mean" if self.aggregate.value == "weighted" else "plain mean"
        return (f"{who} · E = {self.local_epochs.value} · C = {self.client_fraction.value:.1f}"
                f" · {rule} · lr {self.learning_rate.value:g} · batch "
                f"{self.settings['batch_size']}")

    # -- one change ---------------------------------------------------------------------
    def update(self, change=None):
        """Re-run FedAvg with the current controls and redraw (called on every change)."""
        if self._busy:  # a control set by _sync_partition below; the outer call runs
            return
        start = time.perf_counter()
        self._busy = True
        try:
            self._sync_partition()
            rounds = self.rounds.value
            self.progress.max, self.progress.value = rounds, 0
            self._growing = {"records": [], "drawn": start, "first": None,
                             "rounds": rounds, "frames": 0}
            method = f"fedavg ({self.aggregate.value})"
            history = federated.run(
                self.clients(), rounds=rounds, local_epochs=self.local_epochs.value,
                strategy=federated.FedAvg(fraction_train=self.client_fraction.value,
                                          weighted=self.aggregate.value == "weighted"),
                lr=self.learning_rate.value, standardize=False, test_sets=self.evaluator,
                callback=self._tick, random_state=federated.method_seed(self.random_state,
                                                                        method),
                **self.settings)
        finally:
            self._busy = False
        trained = time.perf_counter()
        if self.history is not None:
            self._previous = self.history
        self.history = history
        caught = _caught_up(history, self.baselines["loss"])
        self._show(self._figure.draw(history, self._previous, self.baselines, caught))
        self.status.value = self._status(history, caught)
        self.last_timings = {"train": trained - start, "draw": time.perf_counter() - trained,
                             "first_frame": (self._growing["first"] - start
                                             if self._growing["first"] else None),
                             "frames": self._growing["frames"] + 1}
        self.last_seconds = time.perf_counter() - start

    def _tick(self, record):
        if record.round % 5 == 0 or record.round == self.progress.max:
            self.progress.value = record.round
        growing = self._growing
        growing["records"].append(record)
        now = time.perf_counter()
        if 0 < record.round < growing["rounds"] and now - growing["drawn"] > GROW_EVERY:
            partial = federated.History(list(growing["records"]))
            self._show(self._figure.draw(partial, self.history, self.baselines, None,
                                         rounds=growing["rounds"]))
            growing["drawn"] = time.perf_counter()
            growing["first"] = growing["first"] or growing["drawn"]
            growing["frames"] += 1

    def _show(self, png):
        self.output.outputs = ({"output_type": "display_data", "metadata": {},
                                "data": {"image/png": png, "text/plain":
                                         "<FedAvg learning curves (PNG)>"}},)

    def _status(self, history, caught):
        final = history.final
        when = (f"within {TOLERANCE} of it from round <b>{caught}</b> on"
                if caught is not None else f"not yet within {TOLERANCE} of it")
        kb = history.bytes()[-1] / 1e3
        return (f"<div style='line-height:1.5'>{self.describe()}<br>"
                f"final test AUC <b>{final.pooled['auc']:.3f}</b> "
                f"(centralized {self.baselines['auc']:.3f}) · test log loss "
                f"<b>{final.pooled['loss']:.3f}</b> (centralized "
                f"{self.baselines['loss']:.3f}), {when}<br>"
                f"{len(final.participants)} client{'s' if len(final.participants) != 1 else ''}"
                f" in the last round · {kb:,.1f} kB on the wire in all</div>")

    def _sync_partition(self):
        hospitals_mode = PARTITIONS[self.partition.value] is None
        self.n_clients.disabled = hospitals_mode
        if hospitals_mode and self.n_clients.value != len(self.hospitals):
            self.n_clients.value = len(self.hospitals)  # the slider shows the real count

    def _ipython_display_(self):
        display(self.widget)


def fedavg_dashboard(hospitals=None, *, instructor=False, random_state=0):
    """Show the FedAvg dashboard (full width with ``instructor=True``) and return it.

    Assign the result (``dashboard = fedavg_dashboard()``) so that it is not shown twice.
    """
    dashboard = FedAvgDashboard(hospitals, instructor=instructor, random_state=random_state)
    display(dashboard.widget)
    return dashboard


def _caught_up(history, level):
    """The round from which the test loss stays within :data:`TOLERANCE` of ``level``.

    ``None`` when the last round is not within it. Staying matters: with a large learning
    rate the loss can touch the level once and bounce away again.
    """
    above = np.flatnonzero(history.metric("loss") > level + TOLERANCE)
    first = int(above[-1]) + 1 if len(above) else 0
    return first if first < len(history.rounds) else None


def _partition(scheme, n_clients, labels, random_state):
    """Index arrays of each client's records."""
    if scheme == "iid":
        return data.partition_iid(len(labels), n_clients, random_state=random_state)
    if scheme == "quantity":
        return data.partition_quantity_skew(len(labels), n_clients, alpha=0.5,
                                            random_state=random_state)
    return data.partition_label_skew(labels.astype(int), n_clients, alpha=0.5,
                                     random_state=random_state)


def _baselines(hospitals, l2):
    """Ceiling (pooled records: AUC and log loss) and floor (average hospital alone: AUC).

    All scored on the pooled test set of every hospital.
    """
    referee = Evaluator(hospitals)  # raw test sets: each model brings its own standardizer
    ceiling = referee(*baselines.centralized(hospitals, l2=l2))[0]
    floor = np.mean([referee(*baselines.single_site(h, l2=l2))[0]["auc"] for h in hospitals])
    return {"auc": ceiling["auc"], "loss": ceiling["loss"], "floor": float(floor)}
