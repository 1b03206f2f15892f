"""The robust-aggregation dashboard of lesson 08: attackers x attack x defence, live.

Choose how many of the clients are malicious (of the five hospitals, or of 50 clients
made by splitting each hospital in ten), what they send, and the server's rule; the
dashboard re-runs :func:`fedlab.federated.run` and draws the pooled learning curve and
the final AUC at each hospital with its 95 % DeLong interval, against clean FedAvg. A
defence is judged by what the attack aims at: the pooled AUC for the attacks that aim at
every patient, and the smokers' mean predicted risk for the backdoor, which aims at them.
"""

from __future__ import annotations

import io
import time
from functools import lru_cache

import ipywidgets as W
import numpy as np
from IPython.display import display
from matplotlib import image as mpimg
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from fedlab import data, federated
from fedlab.attacks import malicious
from fedlab.federated import (
    Client,
    CosineFilter,
    FedAvg,
    FedMedian,
    FedTrimmedAvg,
    Krum,
    NormBounding,
)
from fedlab.federated.robust import tolerated_attackers
from fedlab.metrics import Evaluator, auc_difference
from fedlab.plots.style import color
from fedlab.widgets._projector import box_layout, control_layout, enlarge_text

__all__ = ["RobustnessDashboard", "robustness_dashboard", "DEFENCES", "ATTACK_SETTINGS",
           "make_clients"]

POPULATIONS = {"5 hospitals": 1, "50 clients": 10}
"""Population name -> clients per hospital."""

ATTACK_SETTINGS = {
    "sign flip x10": ("sign_flip", {"scale": 10.0}),
    "label flip": ("label_flip", {}),
    "model replacement x10": ("model_replacement", {"boost": 10.0}),
    "Gaussian noise": ("gaussian", {"std": 1.0}),
    "a little is enough": ("little", {"z": 1.0, "n_shards": 3}),
    "backdoor (smokers)": ("backdoor", {"boost": 5.0}),
}
"""The dashboard's attacks: label -> (attack name, parameters)."""

DEFENCES = {
    "FedAvg (no defence)": lambda f: FedAvg(),
    "median": lambda f: FedMedian(),
    "trimmed mean 20 %": lambda f: FedTrimmedAvg(beta=0.2),
    "Krum": lambda f: Krum(num_malicious=f),
    "Multi-Krum": lambda f: Krum(num_malicious=f, num_to_keep=3),
    "norm bounding": lambda f: NormBounding(clip_norm=0.5),
    "cosine filter": lambda f: CosineFilter(),
}
"""The dashboard's defences: label -> builder taking the number of attackers Krum assumes."""

ATTACKER_ORDER = (2, 3, 1, 4, 0)
"""Which hospitals turn malicious first (Riverside, Lakeview, Hillcrest, Rosewood, Metro)."""


def make_clients(hospitals, population, n_malicious, attack, params, *, random_state=0):
    """The run's clients: honest ones, and ``n_malicious`` wrapped by :func:`malicious`.

    With ``"50 clients"`` each hospital's training records are split into ten clients
    (IID within the hospital) and the attackers are a seeded random choice.
    """
    per = POPULATIONS[population]
    clients = []
    for h in hospitals:
        if per == 1:
            clients.append(Client.from_hospital(h))
            continue
        parts = np.array_split(np.random.default_rng(random_state).permutation(h.n_train), per)
        clients += [Client(h.X_train[p], h.y_train[p], name=f"{h.name} {k + 1}")
                    for k, p in enumerate(parts)]
    if per == 1:
        bad = list(ATTACKER_ORDER[:n_malicious])
    else:
        bad = np.random.default_rng(random_state).permutation(len(clients))[:n_malicious]
    if attack == "backdoor":
        smoker = list(hospitals[0].feature_names).index("smoker")
        params = {**params, "target": lambda X: X[:, smoker] == 1}
    for i in bad:
        if attack == "backdoor" and not (clients[i].records()[0][:, smoker] == 1).any():
            continue  # a client without smokers has nothing to poison
        clients[i] = malicious(clients[i], attack, **params)
    return clients


class RobustnessDashboard:
    """Population, number of attackers, attack and defence -> learning curve, per-site AUC.

    The per-site AUCs carry their 95 % DeLong intervals (:meth:`Evaluator.report
    <fedlab.metrics.Evaluator.report>`); the title says the defence "holds" when the paired
    DeLong interval of its pooled AUC minus clean FedAvg's reaches 0 or above
    (:func:`fedlab.metrics.auc_difference`), else "bends" (pooled AUC still >= 0.7) or
    "breaks". Against the backdoor, which leaves the pooled AUC almost alone, the verdict
    rests on the test smokers' mean predicted risk minus clean FedAvg's (the same patients
    under two models: a paired 95 % interval): it "holds" when that interval reaches 0,
    else it "lets the backdoor through".

    Parameters
    ----------
    hospitals : sequence of Hospital, optional
        Defaults to :func:`fedlab.data.load_hospitals`.
    rounds : int, default=20
    instructor : bool, default=False
        A larger figure, for projecting in class.
    random_state : int, default=0

    Attributes
    ----------
    history : History
        The last run.
    last_seconds : float
        Wall time of the last change (training and drawing).
    """

    def __init__(self, hospitals=None, *, rounds=20, instructor=False, random_state=0):
        self.hospitals = list(hospitals or data.load_hospitals())
        self.rounds, self.random_state = rounds, random_state
        self.evaluator = Evaluator(self.hospitals)
        self.sites = [h.name for h in self.hospitals]
        self.history = None
        self.last_seconds = float("nan")
        style = {"description_width": "150px"}
        self.instructor = bool(instructor)
        wide = control_layout(instructor, "460px")
        self.population = W.ToggleButtons(options=list(POPULATIONS), description="clients",
                                          style=style, layout=wide)
        self.n_malicious = W.IntSlider(value=1, min=0, max=4, description="malicious clients",
                                       style=style, layout=wide, continuous_update=False)
        self.attack = W.Dropdown(options=list(ATTACK_SETTINGS), description="attack",
                                 style=style, layout=wide)
        self.defence = W.Dropdown(options=list(DEFENCES), description="defence (server)",
                                  style=style, layout=wide)
        self.controls = [self.population, self.n_malicious, self.attack, self.defence]
        for control in self.controls:
            control.observe(self.update, names="value")
        self.status = W.HTML()
        self.image = W.Image(format="png")
        self._build_figure((12, 5.2) if instructor else (10, 4.4))
        if instructor:
            enlarge_text(self.figure)
        self.widget = W.VBox([*self.controls, self.status, self.image],
                             layout=box_layout(instructor))
        self.update()

    def run(self, population, n_malicious, attack_label, defence_label):
        """The :class:`~fedlab.federated.History` of one setting (cached)."""
        return _run(self, population, n_malicious, attack_label, defence_label)

    def clean(self, population):
        """Clean FedAvg's run on ``population`` (the reference drawn in grey)."""
        return self.run(population, 0, next(iter(ATTACK_SETTINGS)), "FedAvg (no defence)")

    def update(self, change=None):
        """Re-run with the current controls and redraw (called on every change)."""
        start = time.perf_counter()
        n_clients = len(self.hospitals) * POPULATIONS[self.population.value]
        limit = n_clients - 1
        if self.n_malicious.max != limit:
            self.n_malicious.unobserve(self.update, names="value")
            self.n_malicious.max = limit
            self.n_malicious.observe(self.update, names="value")
        self.history = self.run(self.population.value, self.n_malicious.value,
                                self.attack.value, self.defence.value)
        self._redraw(n_clients)
        self.last_seconds = time.perf_counter() - start

    def _build_figure(self, figsize):
        self.figure = Figure(figsize=figsize, dpi=80)
        self.canvas = FigureCanvasAgg(self.figure)
        self.ax_curve, self.ax_sites = self.figure.subplots(1, 2, width_ratios=(1.2, 1))
        # legends sit below the panels, so they never cover a curve, a bar or an interval
        self.figure.subplots_adjust(left=0.07, right=0.98, bottom=0.3, top=0.84, wspace=0.45)
        (self.line,) = self.ax_curve.plot([], [], color=color(3), lw=2, label="this run",
                                          animated=True)
        (self.line_clean,) = self.ax_curve.plot([], [], color="grey", lw=1.5, ls="--",
                                                label="FedAvg, no attack", animated=True)
        self.ax_curve.axhline(0.5, color="grey", ls=":", lw=1, label="guessing (0.5)")
        self.ax_curve.set_ylim(0.0, 0.9)
        self.ax_curve.set_xlim(0, self.rounds)
        self.ax_curve.set_xlabel("communication round")
        self.ax_curve.set_ylabel("test ROC AUC (all hospitals)")
        self.ax_curve.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2),
                             ncol=3, frameon=False)
        y = np.arange(len(self.sites))
        self.bars = self.ax_sites.barh(y, np.zeros(len(y)), color=color(0), height=0.6)
        (self.ticks_clean,) = self.ax_sites.plot([], [], "|", color="black", ms=18, mew=2,
                                                 label="FedAvg, no attack", animated=True)
        self.intervals = LineCollection([], colors="black", linewidths=1.5, animated=True,
                                        label="95 % CI (DeLong)")
        self.ax_sites.add_collection(self.intervals)
        for bar in self.bars:
            bar.set_animated(True)
        self.ax_sites.set_yticks(y, [s.split(" ")[0] for s in self.sites])
        self.ax_sites.invert_yaxis()
        self.ax_sites.set_xlim(0.0, 1.0)
        self.ax_sites.axvline(0.5, color="grey", ls=":", lw=1)
        self.ax_sites.set_xlabel("final test ROC AUC at each hospital (95 % CI)")
        self.ax_sites.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2),
                             ncol=2, frameon=False)
        for ax in (self.ax_curve, self.ax_sites):
            ax.grid(alpha=0.3)
        self.title = self.figure.suptitle(" ", fontsize=11)
        self.title.set_animated(True)
        self.canvas.draw()
        self._background = self.canvas.copy_from_bbox(self.figure.bbox)

    def _redraw(self, n_clients):
        clean = self.clean(self.population.value)
        auc = np.nan_to_num(self.history.metric("auc"), nan=0.5)
        clean_auc = clean.metric("auc")
        self.canvas.restore_region(self._background)
        self.line.set_data(np.arange(len(auc)), auc)
        self.line_clean.set_data(np.arange(len(clean_auc)), clean_auc)
        pooled, sites = self.evaluator.report(self.history.params, self.history.standardizer)
        for bar, s in zip(self.bars, self.sites):
            bar.set_width(np.nan_to_num(sites[s]["auc"], nan=0.5))
        self.intervals.set_segments([[(lo, k), (hi, k)] for k, s in enumerate(self.sites)
                                     for lo, hi in [sites[s]["auc_ci"]]])
        self.ticks_clean.set_data([clean.final.sites[s]["auc"] for s in self.sites],
                                  np.arange(len(self.sites)))
        m = self.n_malicious.value
        versus = self._versus_clean(clean)
        backdoor = ATTACK_SETTINGS[self.attack.value][0] == "backdoor"
        if backdoor:
            shift = self._smokers_shift(clean)
            verdict = "holds" if shift[2] >= 0 else "lets the backdoor through"
            finding = f"smokers' risk {shift[0]:+.3f} against clean FedAvg"
        else:
            verdict = ("holds" if versus["ci"][1] >= 0 else "bends" if auc[-1] >= 0.7
                       else "breaks")
            finding = f"pooled AUC {auc[-1]:.3f}, clean FedAvg {clean_auc[-1]:.3f}"
        self.title.set_text(f"{self.defence.value} {verdict} with {m} of {n_clients} clients "
                            f"malicious, attack: {self.attack.value}\n{finding}")
        for artist in (self.line, self.line_clean):
            self.ax_curve.draw_artist(artist)
        for artist in (*self.bars, self.intervals, self.ticks_clean):
            self.ax_sites.draw_artist(artist)
        self.figure.draw_artist(self.title)
        buffer = io.BytesIO()
        mpimg.imsave(buffer, np.asarray(self.canvas.buffer_rgba()), format="png",
                     pil_kwargs={"compress_level": 1})
        self.image.value = buffer.getvalue()
        strategy = DEFENCES[self.defence.value](self._krum_f(n_clients, m))
        tolerated = tolerated_attackers(strategy, n_clients)
        note = ("" if m <= tolerated else
                f" &nbsp;\u00b7&nbsp; <b>{m} {'attacker exceeds' if m == 1 else 'attackers exceed'}"
                f" the {tolerated} this rule provably tolerates (under i.i.d. honest "
                "clients)</b>")
        low, high = pooled["auc_ci"]
        d_low, d_high = versus["ci"]
        self.status.value = (f"pooled AUC <b>{auc[-1]:.3f}</b> [{low:.3f}, {high:.3f}], minus "
                             f"clean FedAvg's {versus['difference']:+.3f} [{d_low:+.3f}, "
                             f"{d_high:+.3f}] (paired DeLong, 95 %)"
                             + (f"; smokers' mean predicted risk minus clean FedAvg's "
                                f"{shift[0]:+.3f} [{shift[1]:+.3f}, {shift[2]:+.3f}] (paired, "
                                "95 %)" if backdoor else "")
                             + f" &nbsp;\u00b7&nbsp; {strategy!r}{note}")

    def _versus_clean(self, clean):
        """Paired DeLong comparison of this run's pooled test AUC with clean FedAvg's."""
        this = self.evaluator.predictions(self.history.params, self.history.standardizer)
        y = np.concatenate([y for y, _ in this.values()])
        risk = np.concatenate([p for _, p in this.values()])
        reference = np.concatenate([p for _, p in self.evaluator.predictions(
            clean.params, clean.standardizer).values()])
        return auc_difference(y, risk, reference)

    def _smokers_shift(self, clean):
        """Test smokers' mean predicted risk, this run minus clean FedAvg: (shift, low, high).

        The same smokers under two models, so the interval is that of the paired differences
        (mean +- 1.96 standard errors).
        """
        smoker = list(self.hospitals[0].feature_names).index("smoker")
        smokers = np.concatenate([h.X_test[:, smoker] == 1 for h in self.hospitals])
        this, ref = (np.concatenate([p for _, p in self.evaluator.predictions(
            run.params, run.standardizer).values()])[smokers] for run in (self.history, clean))
        shift = this - ref
        half = 1.96 * shift.std(ddof=1) / np.sqrt(len(shift))
        return float(shift.mean()), float(shift.mean() - half), float(shift.mean() + half)

    @staticmethod
    def _krum_f(n_clients, m):
        """The ``f`` Krum assumes: the true number of attackers, capped by ``n >= 2f + 3``."""
        return max(0, min(m, (n_clients - 3) // 2))

    def _ipython_display_(self):
        display(self.widget)


@lru_cache(maxsize=256)
def _run(dashboard, population, n_malicious, attack_label, defence_label):
    attack, params = ATTACK_SETTINGS[attack_label]
    n_clients = len(dashboard.hospitals) * POPULATIONS[population]
    clients = make_clients(dashboard.hospitals, population, n_malicious, attack, params,
                           random_state=dashboard.random_state)
    strategy = DEFENCES[defence_label](dashboard._krum_f(n_clients, n_malicious))
    return federated.run(clients, strategy=strategy, rounds=dashboard.rounds, l2=1e-3,
                         test_sets=dashboard.evaluator,
                         random_state=federated.method_seed(dashboard.random_state,
                                                            defence_label))


def robustness_dashboard(hospitals=None, *, instructor=False, random_state=0):
    """Show the robust-aggregation dashboard (larger with ``instructor=True``) and return it."""
    dashboard = RobustnessDashboard(hospitals, instructor=instructor, random_state=random_state)
    display(dashboard.widget)
    return dashboard
