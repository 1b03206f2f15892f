"""The federated k-means dashboard of lesson 09: move k, the noise, the number of sites.

The hospitals' training records (seven clinical variables, standardized with the
federated mean and standard deviation) are dealt at random to the chosen number of
sites; :class:`fedlab.kmeans.FederatedKMeans` clusters them, and the dashboard draws the
clusters in the plane of the first two principal axes (themselves from the federated
correlation matrix) next to pooled k-means, and how much inertia the federated centres
add to pooled k-means's. With noise on, that extra inertia is split in two: what the
clipping of the records and the 10-round cap cost with no noise at all, and what the noise
adds on top; the status line gives the noise's standard deviation in the server's totals,
which grows with the square root of the number of sites.
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
from fedlab.privacy import clip_by_l2_norm
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
EXCESS_RANGE = (-1.0, 20.0)
"""The extra-inertia axis (% above pooled k-means), fixed so that redraws are blitted."""


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
    excess : dict
        Inertia above pooled k-means's, in %: ``"exact"`` (federated, no noise),
        ``"clipped"`` (records clipped, 10 rounds, no noise; NaN when the noise is off) and
        ``"federated"`` (the run shown).
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
        self._pooled, self._runs, self._clipped_runs = {}, {}, {}
        self.model = None
        self.inertia = self.pooled_inertia = float("nan")
        self.excess = {}
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
        plain = self._plain(k, n_sites)
        self.model = plain if sigma == 0 else self._noisy(k, sigma, n_sites, self.random_state)
        pooled = self._pooled_kmeans(k)
        labels, d2 = _nearest(self._X, self.model.cluster_centers_)
        self.inertia, self.pooled_inertia = float(d2.sum()), float(pooled.inertia_)
        self.excess = {"exact": self._excess(plain), "federated": self._excess(self.model),
                       "clipped": (float("nan") if sigma == 0
                                   else self._excess(self._clipped(k, n_sites)))}
        self._redraw(labels, pooled)
        self.last_seconds = time.perf_counter() - start

    def _plain(self, k, n_sites):
        """The noise-free federated run for (k, n_sites), cached across changes."""
        if (k, n_sites) not in self._runs:
            sites = _split(len(self._X), n_sites, self.random_state)
            self._runs[k, n_sites] = FederatedKMeans(k, random_state=self.random_state).fit(
                [self._X[p] for p in sites])
        return self._runs[k, n_sites]

    def noise_cost(self, draws=5):
        """What the noise costs at the current settings, over several noise draws.

        Parameters
        ----------
        draws : int, default=5
            Noisy runs, seeded ``random_state``, ``random_state + 1``, ...

        Returns
        -------
        dict
            Inertia above pooled k-means's, in %: ``"clipped"`` (records clipped, 10
            rounds, no noise) and ``"noisy"`` (an array, one entry per draw); ``"noise_sd"``,
            the standard deviation of the noise in each of the server's totals.

        Raises
        ------
        InvalidParameterError
            If the noise is off (nothing to cost) or ``draws`` is not a positive integer.
        """
        from fedlab._validation import InvalidParameterError, check_int

        check_int(draws, "draws", minimum=1)
        k, sigma, n_sites = self.k.value, float(self.noise_multiplier.value), self.n_sites.value
        if sigma == 0:
            raise InvalidParameterError("noise_cost needs the noise on: set "
                                        "noise_multiplier above 0, got 0")
        noisy = [self._excess(self._noisy(k, sigma, n_sites, self.random_state + j))
                 for j in range(draws)]
        return {"clipped": self._excess(self._clipped(k, n_sites)), "noisy": np.array(noisy),
                "noise_sd": _noise_sd(sigma, n_sites)}

    def _noisy(self, k, sigma, n_sites, seed):
        sites = _split(len(self._X), n_sites, self.random_state)
        return FederatedKMeans(
            k, init=self._plain(k, n_sites).init_centers_, max_iter=NOISY_ROUNDS, tol=0.0,
            noise_multiplier=sigma, clip_norm=CLIP_NORM, delta=self.delta,
            random_state=seed).fit([self._X[p] for p in sites])

    def _clipped(self, k, n_sites):
        """What noise demands before any noise: clipped records, 10 rounds (cached)."""
        if (k, n_sites) not in self._clipped_runs:
            sites = _split(len(self._X), n_sites, self.random_state)
            self._clipped_runs[k, n_sites] = FederatedKMeans(
                k, init=self._plain(k, n_sites).init_centers_, max_iter=NOISY_ROUNDS,
                tol=0.0).fit([clip_by_l2_norm(self._X[p], CLIP_NORM) for p in sites])
        return self._clipped_runs[k, n_sites]

    def _excess(self, model):
        """Inertia of ``model``'s centres on every record, in % above pooled k-means's."""
        inertia = _nearest(self._X, model.cluster_centers_)[1].sum()
        return float(100 * (inertia / self._pooled_kmeans(model.n_clusters).inertia_ - 1))

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
            1, 2, gridspec_kw={"width_ratios": (1.9, 1)})
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
        rows = (2, 1, 0)  # exact, clipped, noisy: from top to bottom
        self.bars = self.ax_bar.barh(rows, [0, 0, 0], color=[color(0), "0.6", "0.6"])
        self.noise_bar = self.ax_bar.barh([0], [0], color=color(3), hatch="//",
                                          edgecolor="white")[0]
        self.ax_bar.set_yticks(rows, ["federated,\nno noise", "clipped,\n10 rounds",
                                      "clipped, 10\nrounds, noise"])
        self.ax_bar.set_xlabel("inertia above pooled k-means (%)")
        self.ax_bar.axvline(0, color="black", lw=0.8)
        # the scale is fixed, so the axes never need redrawing
        self.ax_bar.set_xlim(*EXCESS_RANGE)
        self.bar_text = [self.ax_bar.text(0, y, "", va="center", fontsize=9) for y in rows]
        self.titles = [ax.set_title(" ", fontsize=size)
                       for ax, size in ((self.ax_map, 11), (self.ax_bar, 10))]
        for ax in (self.ax_map, self.ax_bar):
            ax.grid(alpha=0.3)
        self._moving = [self.dots, self.crosses, self.circles, *self.bars, self.noise_bar,
                        *self.bar_text, *self.titles]
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
        sigma = float(self.noise_multiplier.value)
        exact, clipped, shown = (self.excess[key] for key in ("exact", "clipped", "federated"))
        low, high = EXCESS_RANGE
        values = (exact, clipped, shown if sigma > 0 else float("nan"))
        for bar, text, value in zip(self.bars, self.bar_text, values):
            on = value == value  # NaN: the noise is off, no clipped run
            bar.set_width(min(max(value, low), high) if on else 0.0)
            text.set_position((min(max(value, 0.0), 0.8 * high) if on else 0.0,
                               bar.get_y() + 0.4))
            text.set_text(f" {value:+.1f} %" if on else " (noise off)")
        # the noisy bar: the clipping's part in grey, the noise's part hatched on top of it
        noise = round(shown - clipped, 1) + 0.0 if sigma > 0 else 0.0  # no "-0.0"
        self.bars[2].set_width(min(max(clipped, low), high) if sigma > 0 else 0.0)
        self.noise_bar.set_x(min(max(clipped, low), high) if sigma > 0 else 0.0)
        self.noise_bar.set_width(noise)
        self.titles[0].set_text(f"k = {self.k.value} clusters of {len(self._X):,} patients "
                                f"at {self.n_sites.value} site(s)")
        self.titles[1].set_text(
            f"no noise: federated = pooled ({exact:+.1f} %)" if sigma == 0 else
            f"clipping + cap {clipped:+.1f} %, noise {noise:+.1f} %")
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
                   f"{CLIP_NORM:g}; noise SD in each of the server's totals "
                   f"{_noise_sd(sigma, self.n_sites.value):.1f} (\u03c3 \u221a(C\u00b2 + 1) "
                   f"\u221a{self.n_sites.value} sites)")
        self.status.value = (
            f"inertia: federated <b>{self.inertia:,.0f}</b>, pooled k-means "
            f"{self.pooled_inertia:,.0f} ({shown:+.1f} %) &nbsp;\u00b7&nbsp; {privacy} "
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


def _noise_sd(sigma, n_sites):
    """The noise's SD in a total: each site adds sigma * sqrt(C**2 + 1), independently."""
    return sigma * np.sqrt(CLIP_NORM**2 + 1) * np.sqrt(n_sites)


def _nearest(X, centres):
    d2 = ((X[:, None, :] - centres[None]) ** 2).sum(axis=2)
    labels = d2.argmin(axis=1)
    return labels, d2[np.arange(len(X)), labels]
