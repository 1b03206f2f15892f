"""The survival dashboard of lesson 11: cut a site's follow-up, change the sites, pick a method.

The hospitals' training records (standardized with the federated mean and standard
deviation) keep their event times; a site's follow-up can be ended early (every patient
still followed then is censored there). The left panel shows each site's Kaplan-Meier
curve and the pooled one from the sites' counts; the right panel the chosen method's log
hazard ratios against the exact stratified Cox fit on the same records, with its 95 %
intervals.
"""

from __future__ import annotations

import io
import time

import ipywidgets as W
import numpy as np
from IPython.display import display
from matplotlib import image as mpimg
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from fedlab import data, federated
from fedlab.models import CoxPH
from fedlab.plots.style import color
from fedlab.survival import CoxSite, federated_kaplan_meier, fit_federated_cox
from fedlab.widgets._projector import box_layout, control_layout, enlarge_text

__all__ = ["METHODS", "SurvivalDashboard", "survival_dashboard"]

METHODS = ("exact (Newton)", "FedSGD, 20 rounds", "FedAvg, 10 local steps, 20 rounds",
           "averaged local fits")
"""The ways of fitting the Cox model the dashboard offers."""

ROUNDS, LOCAL_STEPS, FEDSGD_LR, FEDAVG_LR = 20, 10, 3.0, 1.0
HR_LIMITS = (-1.5, 1.5)
"""The hazard-ratio panel's fixed axis (log scale per SD): it is drawn once."""
FULL = 16.0
"""The follow-up slider's top: no site followed anyone longer, so nothing is cut."""


class SurvivalDashboard:
    """Controls for a site's end of follow-up, the number of sites and the method.

    Parameters
    ----------
    hospitals : sequence of Hospital, optional
        With a survival outcome; defaults to ``fedlab.data.load_hospitals(outcome="survival")``.
    instructor : bool, default=False
        A larger figure and full-width controls, for projecting in class.

    Attributes
    ----------
    follow_up : dict of str to float
        Each site's end of follow-up in years (``FULL``: as recorded).
    exact, estimate : ndarray of shape (n_features,)
        The exact fit's and the chosen method's log hazard ratios.
    se : ndarray of shape (n_features,)
        The exact fit's standard errors.
    last_seconds : float
        Wall time of the last change (fitting and drawing).
    """

    def __init__(self, hospitals=None, *, instructor=False):
        hospitals = list(hospitals or data.load_hospitals(outcome="survival"))
        self.names = [h.name.split()[0] for h in hospitals]
        self.features = hospitals[0].feature_names
        scaler = federated.combine([federated.feature_sums(h.X_train) for h in hospitals])
        self._records = [(scaler.transform(h.X_train), h.time_train, h.y_train.astype(int))
                         for h in hospitals]
        self.follow_up = dict.fromkeys(self.names, FULL)
        self._cache = {}
        self.last_seconds = float("nan")

        style = {"description_width": "170px"}
        self.instructor = bool(instructor)
        wide = control_layout(instructor, "480px")
        self.site = W.Dropdown(options=self.names, value=self.names[1], style=style,
                               description="site whose follow-up ends", layout=wide)
        self.end = W.FloatSlider(value=FULL, min=2.0, max=FULL, step=0.5, style=style,
                                 description="its end of follow-up (years)", layout=wide,
                                 continuous_update=False)
        self.n_sites = W.IntSlider(value=len(hospitals), min=1, max=len(hospitals),
                                   style=style, description="number of sites", layout=wide,
                                   continuous_update=False)
        self.method = W.Dropdown(options=METHODS, value=METHODS[2], style=style,
                                 description="method", layout=wide)
        self.site.observe(self._show_site, names="value")
        for control in (self.end, self.n_sites, self.method):
            control.observe(self.update, names="value")
        self.status = W.HTML()
        self.image = W.Image(format="png")
        self._build_figure((12, 4.8) if instructor else (10, 4))
        if instructor:
            enlarge_text(self.figure)
        box = box_layout(instructor)
        self.widget = W.VBox([self.site, self.end, self.n_sites, self.method, self.status,
                              self.image], layout=box)
        self.update()

    def _show_site(self, change):
        """Choosing a site shows its end of follow-up (without refitting)."""
        self.end.unobserve(self.update, names="value")
        self.end.value = self.follow_up[self.site.value]
        self.end.observe(self.update, names="value")

    def update(self, change=None):
        """Apply the controls, fit with the chosen method and redraw."""
        start = time.perf_counter()
        self.follow_up[self.site.value] = float(self.end.value)
        sites = self._sites()
        key = (tuple(self.follow_up[n] for n in self.names[:len(sites)]), len(sites))
        if key not in self._cache:
            fit = fit_federated_cox([CoxSite(X, t, e) for X, t, e in sites])
            km = federated_kaplan_meier([(t, e) for _, t, e in sites], None, min_cell=None)
            own = [federated_kaplan_meier([(t, e)], None, min_cell=None) if e.any() else None
                   for _, t, e in sites]
            self._cache[key] = {"fit": fit, "km": km, "own": own}
        cached = self._cache[key]
        fit = cached["fit"]
        method = self.method.value
        if method not in cached:
            cached[method] = _estimate(method, sites, fit)
        self.exact, self.se = fit.coef, fit.se
        self.estimate, self._left_out = cached[method]
        self._redraw(cached, sites)
        self.last_seconds = time.perf_counter() - start

    def _sites(self):
        """The participating sites' records, each cut at its end of follow-up."""
        out = []
        for name, (X, t, e) in zip(self.names[:self.n_sites.value], self._records):
            end = self.follow_up[name]
            out.append((X, np.minimum(t, end), (e * (t <= end)).astype(int)))
        return out

    def _build_figure(self, figsize):
        """Axes, labels and legends drawn once; the curves and points are blitted over them."""
        self.figure = Figure(figsize=figsize, dpi=80)
        self.canvas = FigureCanvasAgg(self.figure)
        self.ax_km, self.ax_hr = self.figure.subplots(1, 2,
                                                      gridspec_kw={"width_ratios": (1.4, 1)})
        self.figure.subplots_adjust(left=0.06, right=0.98, bottom=0.12, top=0.9, wspace=0.35)
        ax = self.ax_km
        self.site_lines = [ax.plot([], [], color=color(k), lw=1, alpha=0.8, label=name,
                                   drawstyle="steps-post")[0]
                           for k, name in enumerate(self.names)]
        self.pooled_line = ax.plot([], [], color="black", lw=2, label="pooled (sites' counts)",
                                   drawstyle="steps-post")[0]
        ax.set_xlim(0, FULL)
        ax.set_ylim(0.6, 1.0)
        ax.set_xlabel("years since the baseline visit")
        ax.set_ylabel("event-free (share of patients)")
        ax.legend(fontsize=7, loc="lower left")
        ax = self.ax_hr
        rows = np.arange(len(self.features))
        self.intervals = LineCollection([], colors=[color(0)], lw=1.5)
        ax.add_collection(self.intervals)
        self.exact_points = ax.plot([], [], "s", color=color(0), ms=4,
                                    label="exact fit (95 % CI)")[0]
        self.method_points = ax.plot([], [], "o", color=color(3), ms=5, mfc="none", mew=1.5,
                                     label="chosen method")[0]
        ax.axvline(0, color="grey", lw=0.8, ls=":")
        ax.set_yticks(rows, self.features, fontsize=8)
        ax.set_ylim(len(rows) - 0.5, -0.5)
        ax.set_xlim(*HR_LIMITS)
        ax.set_xlabel("log hazard ratio per SD (clipped to the axis)")
        ax.legend(fontsize=7, loc="lower right")
        for ax in (self.ax_km, self.ax_hr):
            ax.grid(alpha=0.3)
        self.titles = [ax.set_title(" ", fontsize=10) for ax in (self.ax_km, self.ax_hr)]
        self._moving = [*self.site_lines, self.pooled_line, self.intervals, self.exact_points,
                        self.method_points, *self.titles]
        for artist in self._moving:
            artist.set_animated(True)
        self.canvas.draw()
        self._background = self.canvas.copy_from_bbox(self.figure.bbox)

    def _redraw(self, cached, sites):
        for k, line in enumerate(self.site_lines):
            curve = cached["own"][k] if k < len(sites) else None
            line.set_data(*(([0.0, *curve.times], [1.0, *curve.survival]) if curve is not None
                            else ([], [])))
        pooled = cached["km"]
        self.pooled_line.set_data([0.0, *pooled.times], [1.0, *pooled.survival])
        followed = sum(int(np.sum(t >= 10)) for _, t, _ in sites)
        n = sum(len(t) for _, t, _ in sites)
        self.titles[0].set_text(f"{n:,} patients at {len(sites)} site(s); {followed:,} "
                                "followed to 10 y")
        rows = np.arange(len(self.features))
        low, high = (np.clip(self.exact + s * 1.96 * self.se, *HR_LIMITS) for s in (-1, 1))
        self.intervals.set_segments([[(a, r), (b, r)] for a, b, r in zip(low, high, rows)])
        self.exact_points.set_data(np.clip(self.exact, *HR_LIMITS), rows)
        self.method_points.set_data(np.clip(self.estimate, *HR_LIMITS), rows)
        apart = float(np.max(np.abs(self.estimate - self.exact) / self.se))
        self.titles[1].set_text(f"{self.method.value}: up to {apart:.2f} SE from exact")
        self.canvas.restore_region(self._background)
        for artist in self._moving:
            artist.axes.draw_artist(artist)
        buffer = io.BytesIO()
        mpimg.imsave(buffer, np.asarray(self.canvas.buffer_rgba()), format="png",
                     pil_kwargs={"compress_level": 1})  # fast: the PNG is sent, not stored
        self.image.value = buffer.getvalue()
        cut = [f"{n} at {self.follow_up[n]:g} y" for n in self.names[:len(sites)]
               if self.follow_up[n] < FULL]
        self.status.value = (f"follow-up ended early: {', '.join(cut) or 'none'} "
                             f"&nbsp;\u00b7&nbsp; {pooled.events.sum():,} events "
                             f"&nbsp;\u00b7&nbsp; exact fit in {cached['fit'].n_iter} rounds"
                             + (f" &nbsp;\u00b7&nbsp; {self._left_out} site(s) without a fit "
                                "of their own left out of the average"
                                if self._left_out else ""))

    def _ipython_display_(self):
        display(self.widget)


def survival_dashboard(hospitals=None, *, instructor=False):
    """Show the survival dashboard (larger with ``instructor=True``) and return it."""
    dashboard = SurvivalDashboard(hospitals, instructor=instructor)
    display(dashboard.widget)
    return dashboard


def _estimate(method, sites, fit):
    """The chosen method's coefficients, and how many sites it had to leave out."""
    if method == METHODS[0]:
        return fit.coef, 0
    sizes = np.array([len(t) for _, t, _ in sites], dtype=float)
    if method == METHODS[3]:
        local, weights = [], []
        for (X, t, e), size in zip(sites, sizes):
            try:
                local.append(fit_federated_cox([CoxSite(X, t, e)]).coef)
                weights.append(size)
            except ValueError:  # no event, or a singular fit: this site has no own fit
                continue
        return np.average(local, axis=0, weights=weights), len(sites) - len(local)
    steps, lr = (1, FEDSGD_LR) if method == METHODS[1] else (LOCAL_STEPS, FEDAVG_LR)
    model, coef = CoxPH(), np.zeros(len(fit.coef))
    outcomes = [np.column_stack([t, e]) for _, t, e in sites]
    for _ in range(ROUNDS):
        coef = np.average([model.local_train(coef, X, y, epochs=steps, lr=lr)
                           for (X, _, _), y in zip(sites, outcomes)], axis=0, weights=sizes)
    return coef, 0
