"""Learning curves a dashboard redraws live: the static parts rendered once, the curves blitted.

Blitting as in matplotlib's "Faster rendering by using blitting" guide: the axes, labels
and legend are drawn once and kept as a background image; each update pastes it back,
draws only the animated artists (curves and titles) on it and encodes a PNG.
"""

from __future__ import annotations

import base64
import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from PIL import Image

from fedlab.plots.style import color

__all__ = ["LiveLearningCurves"]


class LiveLearningCurves:
    """Test AUC and log loss per round in one persistent two-panel figure, redrawn by blitting.

    The axes, ticks, labels, reference lines and legends change only with the axis
    limits (chosen in coarse steps), so they are rendered once per set of limits and kept
    as a background; an update pastes the background, draws the curves and the titles on
    it and encodes a PNG (a full matplotlib draw of this figure costs about 0.2 s, mostly
    text; an update about 25 ms).

    Parameters
    ----------
    large : bool
        A larger figure with larger text, for projecting in class.
    tolerance : float
        How close to the centralized loss counts as caught up (named in the title).
    """

    def __init__(self, *, large, tolerance):
        size, font = ((13.0, 5.2), 13) if large else ((9.5, 4.2), 10)
        self.font, self.tolerance = font, tolerance
        self.fig = Figure(figsize=size, dpi=100)
        FigureCanvasAgg(self.fig)
        self.fig.subplots_adjust(left=0.075, right=0.985, bottom=0.25, top=0.9, wspace=0.22)
        self.auc_ax, self.loss_ax = self.fig.subplots(1, 2)
        self.lines = {}
        for name, ax in (("auc", self.auc_ax), ("loss", self.loss_ax)):
            self.lines[name, "previous"], = ax.plot([], [], color="#999999", lw=1.5,
                                                    label="before the last change")
            self.lines[name, "now"], = ax.plot([], [], color=color(0), lw=2.2,
                                               label="this run")
            ax.set_xlabel("communication round", fontsize=font)
            ax.tick_params(labelsize=font - 1)
            ax.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
            ax.grid(alpha=0.3)
            for artist in (*[self.lines[name, k] for k in ("previous", "now")], ax.title):
                artist.set_animated(True)  # drawn on top of the background each update
        self.auc_ax.set_ylabel("test ROC AUC (all hospitals)", fontsize=font)
        self.loss_ax.set_ylabel("test log loss (all hospitals)", fontsize=font)
        self._levels_drawn = False
        self._backgrounds = {}  # axis limits -> rendered background (at most 8)

    def draw(self, history, previous, levels, caught, *, rounds=None):
        """Update the curves and titles; return the PNG, base64-encoded.

        ``history`` is this run and ``previous`` the one before (or None); ``levels`` holds
        the centralized ``"auc"`` and ``"loss"`` and the single-hospital ``"floor"``;
        ``caught`` is the round from which the loss stays within ``tolerance`` (or None).
        ``rounds``: the rounds the run will have when it is still growing (fixes the
        round axis, so the curve grows into it).
        """
        planned = rounds
        if not self._levels_drawn:
            self._draw_levels(levels)
        runs = [history] if previous is None else [history, previous]
        for run, kind in zip(runs, ("now", "previous")):
            rounds = np.arange(len(run.rounds))
            # round 0 is the all-zero model, whose AUC (0.5, all ties) means nothing
            self.lines["auc", kind].set_data(rounds[1:], run.metric("auc")[1:])
            self.lines["loss", kind].set_data(rounds, run.metric("loss"))
        auc = history.metric("auc")
        self.auc_ax.set_title(f"AUC {auc[-1]:.3f} after {len(auc) - 1} round"
                              f"{'s' if len(auc) != 2 else ''} (centralized "
                              f"{levels['auc']:.3f})", fontsize=self.font + 1)
        self.loss_ax.set_title(
            f"Loss within {self.tolerance} of centralized from round {caught} on"
            if caught is not None else
            f"Loss not yet within {self.tolerance} of centralized", fontsize=self.font + 1)

        canvas = self.fig.canvas
        limits = self._limits_for(runs, levels, planned)
        for ax in (self.auc_ax, self.loss_ax):
            ax.set_xlim(*limits[0])
        self.auc_ax.set_ylim(*limits[1])
        self.loss_ax.set_ylim(*limits[2])
        if limits in self._backgrounds:
            canvas.restore_region(self._backgrounds[limits])
        else:
            canvas.draw()  # everything but the animated artists
            if len(self._backgrounds) >= 8:
                self._backgrounds.pop(next(iter(self._backgrounds)))
            self._backgrounds[limits] = canvas.copy_from_bbox(self.fig.bbox)
        for ax, name in ((self.auc_ax, "auc"), (self.loss_ax, "loss")):
            for kind in ("previous", "now"):
                ax.draw_artist(self.lines[name, kind])
            ax.draw_artist(ax.title)
        image = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(),
                                 "raw", "RGBA", 0, 1).convert("RGB")
        buffer = io.BytesIO()
        image.save(buffer, format="png", compress_level=1)
        return base64.b64encode(buffer.getvalue()).decode("ascii")

    @staticmethod
    def _limits_for(runs, levels, rounds=None):
        """Axis limits in coarse steps, so most changes reuse the cached background."""
        last = max([len(run.rounds) - 1 for run in runs] + [rounds or 0])
        x = (0, 10 if last <= 10 else 20 if last <= 20 else 50)
        lowest = min([levels["floor"] - 0.02, 0.70]
                     + [float(np.min(run.metric("auc")[1:])) for run in runs if run.rounds[1:]])
        auc = (max(0.0, np.floor(lowest * 20) / 20), 0.83)
        highest = max(float(np.max(run.metric("loss"))) for run in runs)
        loss = (levels["loss"] - 0.015,
                0.72 if highest < 0.70 else min(2.0, np.ceil((highest + 0.02) * 10) / 10))
        return x, auc, loss

    def _draw_levels(self, levels):
        self.auc_ax.axhline(levels["auc"], color=color(1), ls="--", lw=1.5,
                            label="centralized (ceiling)")
        self.auc_ax.axhline(levels["floor"], color=color(3), ls=":", lw=1.8,
                            label="one hospital alone, average (floor)")
        self.loss_ax.axhline(levels["loss"], color=color(1), ls="--", lw=1.5,
                             label="centralized (ceiling)")
        # one legend under both panels, where no curve can hide behind it
        handles, labels = self.auc_ax.get_legend_handles_labels()
        order = [1, 0, 2, 3]  # this run, before the last change, ceiling, floor
        self.fig.legend([handles[i] for i in order], [labels[i] for i in order],
                        loc="lower center", ncol=4, frameon=False, fontsize=self.font - 1)
        self._levels_drawn = True
