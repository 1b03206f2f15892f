"""One look for every figure: colour-blind-safe colours (Okabe & Ito 2008) and labelled axes."""

from __future__ import annotations

import matplotlib.pyplot as plt

__all__ = ["PALETTE", "color", "new_axes"]

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
           "#000000")
"""The Okabe-Ito palette, distinguishable with every common colour-vision deficiency."""


def color(index):
    """The ``index``-th colour of :data:`PALETTE` (cycling)."""
    return PALETTE[index % len(PALETTE)]


def new_axes(ax=None, *, figsize=(7, 4)):
    """Return ``ax``, or the axes of a new figure of size ``figsize``."""
    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax
