"""The federated k-means dashboard of lesson 09: move k, the noise, the number of sites.

The hospitals' training records (seven clinical variables, standardized with the
federated mean and standard deviation) are dealt at random to the chosen number of
sites; :class:`fedlab.kmeans.FederatedKMeans` clusters them, and the dashboard draws the
clusters in the plane of the first two principal axes (themselves from the federated
correlation matrix) next to pooled k-means, with both inertias.
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
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_limits

from fedlab import data, federated
from fedlab.analytics import DataSite, federated_corr
from fedlab.federated.preprocessing import combine
from fedlab.kmeans import FederatedKMeans
from fedlab.plots.style import PALETTE, color
from fedlab.widgets._projector import box_layout, control_layout, enlarge_text

__all__ = ["KMeansDashboard", "kmeans_dashboard", "PHENOTYPE_COLUMNS"]

PHENOTYPE_COLUMNS = ("age", "bmi", "sbp", "total_chol", "hdl", "glucose", "hba1c")
"""The clinical variables the phenotypes are found on."""

SITE_COUNTS = (1, 2, 3, 5, 10, 20, 50)
MAX_K = 8
CLIP_NORM = 3.0
"""Records are clipped to this norm (in standard deviations) when noise is on."""
NOISY_ROUNDS = 10
"""With noise the centres never settle, so a noisy run is this many rounds."""


class KMeansDashboard:
    """Sliders for k, the noise multiplier and the number of sites; clusters and inertia.

    Everything that does not depend on the controls is computed once: the standardized
    records, their 2-D projection, pooled k-means for each k. Each split into sites and
    its noise-free federated run are cached, so a change runs at most one noisy
    federated k-means and redraws.

    Parameters
    ----------
    hospitals : sequence of Hospital, optional
        Defaults to :func:`fedlab.data.load_hospitals`.
    instructor : bool, default=False
        A larger figure and full-width sliders, for projecting in class.
    random_state : int, default=0
        Seeds the split into sites, the starts and the noise.
    delta : float, default=1e-5

    Attributes
    ----------
    model : FederatedKMeans
        The last federated run.
    inertia, pooled_inertia : float
        Inertia of the federated centres and of pooled k-means on all the records.
    last_seconds : float
        Wall time of the last change (clustering and drawing).
    """

    def __init__(self, hospitals=None, *, instructor=False, random_state=0, delta=1e-5):
        hospitals = list(hospitals or data.load_hospitals())
        self.random_state, self.delta = random_state, delta
        names = hospitals[0].feature_names
        columns = [names.index(c) for c in PHENOTYPE_COLUMNS]
        raw = [h.X_train[:, columns] for h in hospitals]
        scaler = combine([federated.feature_sums(X) for X in raw])
        self._X = np.vstack([scaler.transform(X) for X in raw])
        corr = federated_corr([DataSite(X, PHENOTYPE_COLUMNS, name=h.name)
                               for X, h in zip(raw, hospitals)])
        _, vectors = np.linalg.eigh(np.nan_to_num(corr))
        self._axes = vectors[:, ::-1][:, :2]  # the two principal axes of largest variance
        self._points = self._X @ self._axes
        self._pooled, self._runs = {}, {}
        self.model = None
        self.inertia = self.pooled_inertia = float("nan")
        self.last_seconds = float("nan")

        style = {"description_width": "150px"}
        self.instructor = bool(instructor)
        wide = control_layout(instructor, "460px")
        self.k = W.IntSlider(value=4, min=2, max=MAX_K, description="clusters k", style=style,
                             layout=wide, continuous_update=False)
        self.noise_multiplier = W.FloatSlider(value=0.0, min=0.0, max=3.0, step=0.25,
                                              description="noise multiplier \u03c3",
                                              style=style, layout=wide,
                                              continuous_update=False)
        self.n_sites = W.SelectionSlider(options=list(SITE_COUNTS), value=5,
                                         description="number of sites", style=style,
                                         layout=wide, continuous_update=False)
        self.controls = [self.k, self.noise_multiplier, self.n_sites]
        for control in self.controls:
            control.observe(self.update, names="value")
        self.status = W.HTML()
        self.image = W.Image(format="png")
        self._build_figure((12, 4.8) if instructor else (9.5, 3.9))
        if instructor:
            enlarge_text(self.figure)
        box = box_layout(instructor)
        self.widget = W.VBox([*self.controls, self.status, self.image], layout=box)
        self.update()

    def update(self, change=None):
        """Re-run federated k-means with the current controls and redraw."""
        start = time.perf_counter()
        k, sigma, n_sites = self.k.value, float(self.noise_multiplier.value), self.n_sites.value
        sites = _split(len(self._X), n_sites, self.random_state)
        plain = self._plain(k, n_sites)
        if sigma == 0:
            self.model = plain
        else:
            self.model = FederatedKMeans(
                k, init=plain.init_centers_, max_iter=NOISY_ROUNDS, tol=0.0,
                noise_multiplier=sigma, clip_norm=CLIP_NORM, delta=self.delta,
                random_state=self.random_state).fit([self._X[p] for p in sites])
        pooled = self._pooled_kmeans(k)
        labels, d2 = _nearest(self._X, self.model.cluster_centers_)
        self.inertia, self.pooled_inertia = float(d2.sum()), float(pooled.inertia_)
        self._redraw(labels, pooled)
        self.last_seconds = time.perf_counter() - start

    def _plain(self, k, n_sites):
        """The noise-free federated run for (k, n_sites), cached across changes."""
        if (k, n_sites) not in self._runs:
            sites = _split(len(self._X), n_sites, self.random_state)
            self._runs[k, n_sites] = FederatedKMeans(k, random_state=self.random_state).fit(
                [self._X[p] for p in sites])
        return self._runs[k, n_sites]

    def _pooled_kmeans(self, k):
        """scikit-learn's k-means on the pooled records (best of 4 starts), cached per k."""
        if k not in self._pooled:
            # one thread: OpenMP's spinning threads are slow on a busy 2-core machine
            with threadpool_limits(limits=1, user_api="openmp"):
                self._pooled[k] = KMeans(k, n_init=4, random_state=self.random_state).fit(
                    self._X)
        return self._pooled[k]

    def _build_figure(self, figsize):
        """Axes, labels and legend drawn once; what changes is drawn over them (blitting)."""
        self.figure = Figure(figsize=figsize, dpi=80)
        self.canvas = FigureCanvasAgg(self.figure)
        self.ax_map, self.ax_bar = self.figure.subplots(
            1, 2, gridspec_kw={"width_ratios": (2.2, 1)})
        self.figure.subplots_adjust(left=0.06, right=0.98, bottom=0.13, top=0.9, wspace=0.3)
        self.dots = self.ax_map.scatter(*self._points.T, s=3, alpha=0.35, linewidths=0,
                                        animated=True)
        self.crosses = self.ax_map.scatter([], [], marker="X", s=130, edgecolors="black",
                                           lw=1.2, animated=True)
        self.circles = self.ax_map.scatter([], [], marker="o", s=150, facecolors="none",
                                           edgecolors="black", lw=1.5, animated=True)
        self.ax_map.scatter([], [], marker="X", s=130, c="grey", edgecolors="black",
                            lw=1.2, label="federated centres")
        self.ax_map.scatter([], [], marker="o", s=150, facecolors="none", edgecolors="black",
                            lw=1.5, label="pooled k-means centres")
        self.ax_map.legend(fontsize=8, loc="lower right")
        low, high = self._points.min(axis=0), self._points.max(axis=0)
        self.ax_map.set_xlim(low[0] - 0.3, high[0] + 0.3)
        self.ax_map.set_ylim(low[1] - 0.3, high[1] + 0.3)
        self.ax_map.set_xlabel("first principal axis (federated correlation matrix)")
        self.ax_map.set_ylabel("second principal axis")
        self.bars = self.ax_bar.barh([0, 1], [0, 0], color=[color(1), color(0)])
        self.ax_bar.set_yticks([0, 1], ["pooled\nk-means", "federated"])
        self.ax_bar.set_xlabel("inertia (squared distances, SD\u00b2)")
        # the scale is fixed, so the axes never need redrawing: the widest bar is k = 2
        self.ax_bar.set_xlim(0, 1.4 * self._pooled_kmeans(2).inertia_)
        self.bar_text = [self.ax_bar.text(0, y, "", va="center", fontsize=9) for y in (0, 1)]
        self.titles = [ax.set_title(" ", fontsize=11) for ax in (self.ax_map, self.ax_bar)]
        for ax in (self.ax_map, self.ax_bar):
            ax.grid(alpha=0.3)
        self._moving = [self.dots, self.crosses, self.circles, *self.bars, *self.bar_text,
                        *self.titles]
        for artist in self._moving:
            artist.set_animated(True)
        self.canvas.draw()
        self._background = self.canvas.copy_from_bbox(self.figure.bbox)

    def _redraw(self, labels, pooled):
        colours = np.array([to_rgba(c) for c in PALETTE])
        self.dots.set_facecolors(colours[labels % len(PALETTE)])
        centres = self.model.cluster_centers_ @ self._axes
        self.crosses.set_offsets(centres)
        self.crosses.set_facecolors(colours[np.arange(len(centres)) % len(PALETTE)])
        self.circles.set_offsets(pooled.cluster_centers_ @ self._axes)
        values = (self.pooled_inertia, self.inertia)
        for bar, text, value in zip(self.bars, self.bar_text, values):
            bar.set_width(value)
            text.set_position((value, bar.get_y() + bar.get_height() / 2))
            text.set_text(f" {value:,.0f}")
        excess = 100 * (self.inertia / self.pooled_inertia - 1)
        sigma = float(self.noise_multiplier.value)
        self.titles[0].set_text(f"k = {self.k.value} clusters of {len(self._X):,} patients "
                                f"at {self.n_sites.value} site(s)")
        self.titles[1].set_text(f"federated: {excess:+.1f} % inertia")
        self.canvas.restore_region(self._background)
        for artist in self._moving:
            artist.axes.draw_artist(artist)
        buffer = io.BytesIO()
        mpimg.imsave(buffer, np.asarray(self.canvas.buffer_rgba()), format="png",
                     pil_kwargs={"compress_level": 1})  # fast: the PNG is sent, not stored
        self.image.value = buffer.getvalue()
        privacy = ("no noise: \u03b5 = \u221e" if sigma == 0 else
                   f"\u03b5 = <b>{self.model.epsilon_:.3g}</b> (\u03b4 = {self.delta:g}) per "
                   f"site for {self.model.n_iter_} noisy rounds, records clipped to norm "
                   f"{CLIP_NORM:g}")
        self.status.value = (
            f"inertia: federated <b>{self.inertia:,.0f}</b>, pooled k-means "
            f"{self.pooled_inertia:,.0f} ({excess:+.1f} %) &nbsp;\u00b7&nbsp; {privacy} "
            f"&nbsp;\u00b7&nbsp; {self.model.n_iter_} rounds, "
            f"{int(self.model.bytes_sent_.max()):,} bytes from the busiest site")

    def _ipython_display_(self):
        display(self.widget)


def kmeans_dashboard(hospitals=None, *, instructor=False, random_state=0):
    """Show the federated k-means dashboard (larger with ``instructor=True``) and return it."""
    dashboard = KMeansDashboard(hospitals, instructor=instructor, random_state=random_state)
    display(dashboard.widget)
    return dashboard


@lru_cache(maxsize=16)
def _split(n_records, n_sites, random_state):
    return tuple(data.partition_iid(n_records, n_sites, random_state=random_state))


def _nearest(X, centres):
    d2 = ((X[:, None, :] - centres[None]) ** 2).sum(axis=2)
    labels = d2.argmin(axis=1)
    return labels, d2[np.arange(len(X)), labels]
