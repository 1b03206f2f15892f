"""Lesson 04b's dashboard: heterogeneity strength x algorithm x local steps -> curves and sites."""

from __future__ import annotations

import io
import time

import ipywidgets as W
import numpy as np
from IPython.display import display
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from fedlab import data, federated
from fedlab.baselines import method_strategy
from fedlab.drift import STRATEGY_SETTINGS, rounds_to_target
from fedlab.federated.preprocessing import combine
from fedlab.metrics import Evaluator, site_metrics
from fedlab.models import logistic
from fedlab.plots.style import color
from fedlab.widgets._projector import box_layout, control_layout, enlarge_text

__all__ = ["HeterogeneityDashboard", "heterogeneity_dashboard", "CONCEPT_DIRECTIONS"]

CONCEPT_DIRECTIONS = {"metro_university": 0.0, "hillcrest_rural": 1.0,
                      "riverside_community": -0.5, "lakeview_general": 0.5,
                      "rosewood_womens": -1.0}
"""How each hospital's log-odds of an event move per unit of heterogeneity strength."""

STRENGTHS = tuple(np.round(np.arange(0.0, 2.01, 0.25), 2))
TOLERANCE = 0.01


class HeterogeneityDashboard:
    """Controls that re-run one strategy on more or less heterogeneous hospitals.

    ``strength`` moves each hospital's outcome model (a concept shift, train and test
    alike: :data:`CONCEPT_DIRECTIONS`); ``algorithm`` picks a strategy with lesson 04b's
    settings (:data:`fedlab.drift.STRATEGY_SETTINGS`); ``local_epochs`` sets the local
    work per round. Three panels: the pooled training loss per round against the pooled
    optimum, and each hospital's AUC and O/E (observed / expected events) with 95 %
    intervals, for the final global model. Shifted records, standardized data and the
    pooled optimum are cached per strength; a change re-runs 20 rounds and redraws.

    Parameters
    ----------
    hospitals : sequence of Hospital, optional
        Defaults to :func:`fedlab.data.load_hospitals` (slugs name the directions).
    instructor : bool, default=False
        A larger figure with larger text and full-width controls, for projecting in class.
    random_state : int, default=0
    lr, batch_size, l2, rounds : training settings (fixed)

    Attributes
    ----------
    history : History
    last_seconds : float
        Wall time of the last update (training, metrics and drawing).
    """

    def __init__(self, hospitals=None, *, instructor=False, random_state=0, lr=0.2,
                 batch_size=256, l2=1e-3, rounds=20):
        self.hospitals = list(hospitals or data.load_hospitals())
        self.instructor = bool(instructor)
        self.random_state = random_state
        self.settings = {"lr": lr, "batch_size": batch_size, "l2": l2, "rounds": rounds}
        self._cache = {}
        self.history, self._previous, self.last_seconds = None, None, float("nan")
        style = {"description_width": "130px"}
        wide = control_layout(instructor, "460px")
        self.strength = W.SelectionSlider(options=STRENGTHS, value=1.0,
                                          description="heterogeneity", style=style,
                                          layout=wide, continuous_update=False)
        self.algorithm = W.Dropdown(options=list(STRATEGY_SETTINGS), value="fedavg",
                                    description="algorithm", style=style, layout=wide)
        self.local_epochs = W.IntSlider(1, min=1, max=10, description="local epochs E",
                                        style=style, layout=wide, continuous_update=False)
        self.status = W.HTML()
        self.image = W.Image(format="png")
        for control in (self.strength, self.algorithm, self.local_epochs):
            control.observe(self.update, names="value")
        self.widget = W.VBox([self.strength, self.algorithm, self.local_epochs, self.status,
                              self.image], layout=box_layout(instructor))
        self._build_figure()
        if instructor:
            enlarge_text(self.fig)
        self.update()

    def federation(self, strength):
        """Clients, the pooled-training referee, test sets and pooled optimum for ``strength``."""
        if strength not in self._cache:
            rng = np.random.default_rng(self.random_state)
            sites = []
            for h in self.hospitals:
                move = strength * CONCEPT_DIRECTIONS.get(h.slug, 0.0)
                sites.append([data.shift_concept(s, strength=move, random_state=rng)
                              for s in (h.train, h.test)])
            scaler = combine([federated.feature_sums(tr.X) for tr, _ in sites])
            train = [(scaler.transform(tr.X), tr.y) for tr, _ in sites]
            X = np.vstack([x for x, _ in train])
            y = np.concatenate([t for _, t in train])
            optimum = logistic.loss(logistic.fit(X, y, l2=self.settings["l2"]), X, y)
            tests = {h.name: (scaler.transform(te.X), te.y)
                     for h, (_, te) in zip(self.hospitals, sites)}
            self._cache[strength] = (train, Evaluator({"pooled training records": (X, y)}),
                                     tests, optimum)
        return self._cache[strength]

    def update(self, change=None):
        """Re-run the chosen strategy and redraw (called on every change)."""
        start = time.perf_counter()
        train, referee, tests, optimum = self.federation(self.strength.value)
        clients = [federated.Client(X, y, name=h.name) for (X, y), h in
                   zip(train, self.hospitals)]
        history = federated.run(
            clients, strategy=method_strategy(self.algorithm.value, lr=self.settings["lr"]),
            rounds=self.settings["rounds"], local_epochs=self.local_epochs.value,
            batch_size=self.settings["batch_size"], lr=self.settings["lr"],
            l2=self.settings["l2"], standardize=False, test_sets=referee,
            random_state=federated.method_seed(self.random_state, self.algorithm.value))
        self._previous, self.history = self.history, history
        sites = {name: site_metrics(y, logistic.predict_proba(history.params, X))
                 for name, (X, y) in tests.items()}
        finding = self.finding(history, sites, optimum)
        self._draw(history, sites, optimum, finding)
        self.status.value = (f"{self.algorithm.value}, E = {self.local_epochs.value}, "
                             f"heterogeneity {self.strength.value:g}: {finding}")
        self.last_seconds = time.perf_counter() - start

    def finding(self, history, sites, optimum):
        """One sentence: how close the run came to the pooled optimum, and the worst site."""
        caught = rounds_to_target(history, optimum + TOLERANCE)
        rounds = self.settings["rounds"]
        if caught is not None:
            loss = f"within {TOLERANCE} of the pooled optimum from round {caught} on"
        else:
            gap = history.metric("loss")[-1] - optimum
            loss = f"after {rounds} rounds still {gap:.3f} above the pooled optimum"
        worst = min(sites, key=lambda n: sites[n]["auc"])
        return f"{loss}; worst site AUC {sites[worst]['auc']:.2f} ({worst.split()[0]})"

    def _build_figure(self):
        """Axes, labels and artists, made once; an update only sets their data."""
        size = (13.5, 5.2) if self.instructor else (11, 4.2)  # 1,296 x 499 or 1,056 x 403 px
        self.fig = Figure(figsize=size, dpi=96)
        FigureCanvasAgg(self.fig)
        loss_ax, auc_ax, oe_ax = self.axes = self.fig.subplots(
            1, 3, gridspec_kw={"width_ratios": [1.2, 1, 1]})
        self.fig.subplots_adjust(left=0.065, right=0.985, bottom=0.15, top=0.86, wspace=0.4)
        self._lines = {
            "previous": loss_ax.plot([], [], color="#999999", lw=1.5,
                                     label="before the last change")[0],
            "now": loss_ax.plot([], [], color=color(0), lw=2, label="this run")[0],
            "target": loss_ax.axhline(0, color=color(3), ls="--", lw=1,
                                      label=f"pooled optimum + {TOLERANCE}"),
        }
        loss_ax.set_xlim(0, self.settings["rounds"])
        loss_ax.set_xlabel("communication round")
        loss_ax.set_ylabel("pooled training log loss")
        loss_ax.legend(fontsize=8, loc="upper right")
        rows = np.arange(len(self.hospitals))
        names = [h.name.split()[0] for h in self.hospitals]
        for ax, metric, ref, limits in ((auc_ax, "auc", 0.5, (0.4, 1.0)),
                                        (oe_ax, "oe", 1.0, (0.25, 4.0))):
            self._lines[metric] = ax.plot(np.full(len(rows), ref), rows, "o",
                                          color=color(2))[0]
            self._lines[metric + "_ci"] = ax.hlines(rows, ref, ref, color=color(2), lw=2)
            ax.axvline(ref, color="#999999", ls=":", lw=1)
            ax.set_yticks(rows, names, fontsize=9)
            ax.set_ylim(len(rows) - 0.5, -0.5)
            if metric == "oe":
                ax.set_xscale("log")
                ax.set_xticks([0.25, 0.5, 1, 2, 4], ["1/4", "1/2", "1", "2", "4"])
                ax.set_xticks([], minor=True)      # no minor labels over the major ones
            ax.set_xlim(*limits)
        auc_ax.set_xlabel("AUC at the site (95 % CI)")
        oe_ax.set_xlabel("observed / expected events (95 % CI)")
        self._title = self.fig.suptitle("", fontsize=11)

    def _draw(self, history, sites, optimum, finding):
        lines = self._lines
        self._title.set_text(finding[0].upper() + finding[1:])
        previous = self._previous.metric("loss") if self._previous is not None else []
        lines["previous"].set_data(np.arange(len(previous)), previous)
        loss = history.metric("loss")
        lines["now"].set_data(np.arange(len(loss)), loss)
        lines["target"].set_ydata([optimum + TOLERANCE] * 2)
        self.axes[0].set_ylim(optimum - 0.01, optimum + 0.15)
        rows = np.arange(len(sites))
        for metric, low, high in (("auc", 0.4, 1.0), ("oe", 0.25, 4.0)):
            values = np.array([[m[metric], *m[f"{metric}_ci"]] for m in sites.values()],
                              dtype=float)
            values = np.clip(np.nan_to_num(values, nan=low), low, high)
            lines[metric].set_xdata(values[:, 0])
            lines[metric + "_ci"].set_segments(
                [[(lo, r), (hi, r)] for r, lo, hi in zip(rows, values[:, 1], values[:, 2])])
        buffer = io.BytesIO()
        self.fig.savefig(buffer, format="png")
        self.image.value = buffer.getvalue()

    def _ipython_display_(self):
        display(self.widget)


def heterogeneity_dashboard(hospitals=None, *, instructor=False, random_state=0):
    """Show the heterogeneity dashboard (larger with ``instructor=True``) and return it
    (assign it to avoid a second view)."""
    dashboard = HeterogeneityDashboard(hospitals, instructor=instructor,
                                       random_state=random_state)
    display(dashboard.widget)
    return dashboard
