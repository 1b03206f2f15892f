"""The DP-FedAvg dashboard of lesson 06b: move the noise, the clipping, the clients, see the cost.

The hospitals' training records are pooled and re-split into many clients (clinicians'
devices), as in McMahan et al. (2018); DP-FedAvg trains across them while the dashboard
draws the test AUC and the epsilon spent after every round.
"""

from __future__ import annotations

import io
import time

import ipywidgets as W
import numpy as np
from IPython.display import display
from matplotlib import image as mpimg
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from fedlab import data, federated
from fedlab.federated.preprocessing import combine
from fedlab.metrics import Evaluator
from fedlab.models import logistic
from fedlab.plots.style import color
from fedlab.privacy import DPFedAvg
from fedlab.widgets._projector import box_layout, control_layout, enlarge_text

__all__ = ["DPFedAvgDashboard", "dp_fedavg_dashboard"]

CLIENT_COUNTS = (5, 10, 20, 50, 100, 200, 500, 1000)
EPS_RANGE = (0.01, 1000.0)  # the epsilon axis is fixed, so its background never changes


class DPFedAvgDashboard:
    """Sliders for the noise multiplier, clipping norm, number of clients, sampling rate, rounds.

    Everything that does not depend on the controls is computed once: the standardized
    records, the pooled test set, the centralized ceiling, each split into clients, the
    figure's background and (inside :mod:`fedlab.privacy`) the RDP curve of each noise
    level. A change re-runs DP-FedAvg (:func:`simulate_dp_fedavg`, the same models as
    :func:`fedlab.federated.run`) and redraws only the curves.

    Parameters
    ----------
    hospitals : sequence of Hospital, optional
        Defaults to :func:`fedlab.data.load_hospitals`.
    instructor : bool, default=False
        A larger figure and full-width sliders, for projecting in class.
    random_state : int, default=0
        Seeds the split into clients, the client sampling and the noise.
    lr : float, default=0.5
        Client learning rate (one full-batch local step per round).
    delta : float, default=1e-5

    Attributes
    ----------
    auc, epsilons : ndarray of shape (rounds + 1,)
        Test AUC and epsilon spent after each round of the last run.
    last_seconds : float
        Wall time of the last change (training and drawing).
    """

    def __init__(self, hospitals=None, *, instructor=False, random_state=0, lr=0.5,
                 delta=1e-5):
        hospitals = list(hospitals or data.load_hospitals())
        self.random_state, self.delta, self.lr = random_state, delta, lr
        scaler = combine([federated.feature_sums(h.X_train) for h in hospitals])
        self._X = np.vstack([scaler.transform(h.X_train) for h in hospitals])
        self._y = np.concatenate([h.y_train for h in hospitals])
        self._test = (np.vstack([scaler.transform(h.X_test) for h in hospitals]),
                      np.concatenate([h.y_test for h in hospitals]))
        self._referee = Evaluator({"all hospitals": self._test})
        self.ceiling = self._referee(logistic.fit(self._X, self._y, l2=1e-3))[0]["auc"]
        self._client_cache = {}
        self.auc = self.epsilons = None
        self.last_seconds = float("nan")

        style = {"description_width": "170px"}
        self.instructor = bool(instructor)
        wide = control_layout(instructor, "480px")

        def slider(kind, value, description, **kw):
            return kind(value=value, description=description, style=style, layout=wide,
                        continuous_update=False, **kw)

        self.noise_multiplier = slider(W.FloatSlider, 1.0, "noise multiplier \u03c3",
                                       min=0.0, max=5.0, step=0.1)
        self.clip_norm = slider(W.FloatLogSlider, 0.5, "clipping norm C", base=10,
                                min=-2, max=1, step=0.1)
        self.n_clients = slider(W.SelectionSlider, 500, "number of clients K",
                                options=list(CLIENT_COUNTS))
        self.sample_rate = slider(W.FloatLogSlider, 0.05, "sampling rate q", base=10,
                                  min=-2, max=0, step=0.1)
        self.rounds = slider(W.IntSlider, 30, "rounds", min=1, max=100)
        self.controls = [self.noise_multiplier, self.clip_norm, self.n_clients,
                         self.sample_rate, self.rounds]
        for control in self.controls:
            control.observe(self.update, names="value")
        self.status = W.HTML()
        self.image = W.Image(format="png")
        self._build_figure((12, 4.5) if instructor else (9, 3.6))
        if instructor:
            enlarge_text(self.figure)
        box = box_layout(instructor)
        self.widget = W.VBox([*self.controls, self.status, self.image], layout=box)
        self.update()

    def strategy(self):
        """A fresh :class:`~fedlab.privacy.DPFedAvg` with the current controls."""
        return DPFedAvg(noise_multiplier=float(self.noise_multiplier.value),
                        clip_norm=float(self.clip_norm.value),
                        sample_rate=float(self.sample_rate.value), delta=self.delta,
                        n_params=self._X.shape[1] + 1)

    def update(self, change=None):
        """Re-run DP-FedAvg with the current controls and redraw (called on every change)."""
        start = time.perf_counter()
        strategy = self.strategy()
        history = federated.run(
            self._clients(self.n_clients.value), strategy=strategy, rounds=self.rounds.value,
            local_epochs=1, batch_size=None, lr=self.lr, standardize=False,
            test_sets=self._referee,
            random_state=federated.method_seed(self.random_state, "dpfedavg"))
        self.auc = history.metric("auc")
        self.epsilons = np.where(np.isnan(history.epsilons), 0.0, history.epsilons)
        self._redraw(strategy)
        self.last_seconds = time.perf_counter() - start

    def _clients(self, n_clients):
        """The pooled records split IID into ``n_clients`` devices (cached per count)."""
        if n_clients not in self._client_cache:
            parts = data.partition_iid(len(self._y), n_clients,
                                       random_state=self.random_state)
            self._client_cache[n_clients] = [
                federated.Client(self._X[p], self._y[p], name=f"device {k + 1}")
                for k, p in enumerate(parts)]
        return self._client_cache[n_clients]

    def _build_figure(self, figsize):
        self.figure = Figure(figsize=figsize, dpi=80)
        self.canvas = FigureCanvasAgg(self.figure)
        self.ax_auc, self.ax_eps = self.figure.subplots(1, 2)
        self.figure.subplots_adjust(left=0.07, right=0.98, bottom=0.14, top=0.9, wspace=0.22)
        (self.line_auc,) = self.ax_auc.plot([], [], color=color(0), lw=2, label="DP-FedAvg",
                                            animated=True)
        self.ax_auc.axhline(self.ceiling, color=color(1), ls="--", lw=1.5,
                            label=f"pooled records, no privacy ({self.ceiling:.3f})")
        self.ax_auc.axhline(0.5, color="grey", ls=":", lw=1, label="guessing (0.5)")
        self.ax_auc.set_ylim(0.3, 0.9)
        self.ax_auc.set_xlabel("communication round")
        self.ax_auc.set_ylabel("test ROC AUC (all hospitals)")
        self.ax_auc.legend(fontsize=8, loc="lower right")
        (self.line_eps,) = self.ax_eps.plot([], [], color=color(3), lw=2, animated=True)
        self.ax_eps.set_yscale("log")
        self.ax_eps.set_ylim(*EPS_RANGE)
        self.ax_eps.set_xlabel("communication round")
        self.ax_eps.set_ylabel(f"\u03b5 spent so far (\u03b4 = {self.delta:g}, log scale)")
        for ax in (self.ax_auc, self.ax_eps):
            ax.grid(alpha=0.3)
        self.title_auc = self.ax_auc.set_title(" ", fontsize=10)
        self.title_eps = self.ax_eps.set_title(" ", fontsize=10)
        for artist in (self.title_auc, self.title_eps):
            artist.set_animated(True)
        self._background_rounds = None

    def _background(self, rounds):
        """The static part of the figure (axes, labels, legend), redrawn when rounds change."""
        if rounds != self._background_rounds:
            for ax in (self.ax_auc, self.ax_eps):
                ax.set_xlim(0, max(1, rounds))
            self.canvas.draw()
            self._background_image = self.canvas.copy_from_bbox(self.figure.bbox)
            self._background_rounds = rounds
        return self._background_image

    def _redraw(self, strategy):
        rounds = np.arange(len(self.auc))
        self.canvas.restore_region(self._background(rounds[-1]))
        auc = np.nan_to_num(self.auc, nan=0.5)
        eps = np.clip(self.epsilons, *EPS_RANGE)
        self.line_auc.set_data(rounds, auc)
        self.line_eps.set_data(rounds[1:], eps[1:])
        final_auc, final_eps = auc[-1], self.epsilons[-1]
        expected = strategy.sample_rate * self.n_clients.value
        verdict = "works" if final_auc >= self.ceiling - 0.03 else (
            "struggles" if final_auc >= 0.65 else "fails")
        self.title_auc.set_text(f"DP-FedAvg {verdict} with {self.n_clients.value} clients: "
                                f"AUC {final_auc:.3f}")
        eps_text = "\u221e (no noise)" if not np.isfinite(final_eps) else f"{final_eps:.3g}"
        self.title_eps.set_text(f"\u03b5 = {eps_text} after {rounds[-1]} rounds")
        for ax, artists in ((self.ax_auc, (self.line_auc, self.title_auc)),
                            (self.ax_eps, (self.line_eps, self.title_eps))):
            for artist in artists:
                ax.draw_artist(artist)
        buffer = io.BytesIO()
        mpimg.imsave(buffer, np.asarray(self.canvas.buffer_rgba()), format="png",
                     pil_kwargs={"compress_level": 1})  # fast: the PNG is sent, not stored
        self.image.value = buffer.getvalue()
        noise_on_mean = strategy.noise_std / expected
        self.status.value = (
            f"\u03b5 spent <b>{eps_text}</b> (\u03b4 = {self.delta:g}) &nbsp;\u00b7&nbsp; "
            f"final test AUC <b>{final_auc:.3f}</b> &nbsp;\u00b7&nbsp; {expected:.3g} "
            f"clients per round on average &nbsp;\u00b7&nbsp; noise std on the average "
            f"update {noise_on_mean:.3g} (each clipped update has norm \u2264 "
            f"{strategy.clip_norm:.3g})")

    def _ipython_display_(self):
        display(self.widget)


def dp_fedavg_dashboard(hospitals=None, *, instructor=False, random_state=0):
    """Show the DP-FedAvg dashboard (larger with ``instructor=True``) and return it."""
    dashboard = DPFedAvgDashboard(hospitals, instructor=instructor, random_state=random_state)
    display(dashboard.widget)
    return dashboard
