"""What ``instructor=True`` does to every dashboard: full width and larger text, for a projector."""

from __future__ import annotations

import ipywidgets as W
from matplotlib.font_manager import FontProperties
from matplotlib.text import Text

__all__ = ["TEXT_SCALE", "control_layout", "box_layout", "enlarge_text"]

TEXT_SCALE = 1.3
"""How much larger every text of a dashboard's figure is in instructor mode (10 pt -> 13 pt)."""


def control_layout(instructor, width):
    """A control's layout: the whole width in instructor mode, else ``width`` (e.g. ``"460px"``)."""
    return W.Layout(width="100%" if instructor else width)


def box_layout(instructor):
    """The layout of a dashboard's outer box: the whole width in instructor mode."""
    return W.Layout(width="100%") if instructor else W.Layout()


def enlarge_text(figure, scale=TEXT_SCALE):
    """Make every text of ``figure`` ``scale`` times larger, tick labels included.

    Call it once the figure is built: titles, axis labels, legends and texts made so far
    grow, and each axis's tick labels (also those matplotlib makes later) take the larger
    size. Returns ``figure``.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> fig = Figure()
    >>> ax = fig.subplots()
    >>> label = ax.set_xlabel("round", fontsize=10)
    >>> _ = enlarge_text(fig)
    >>> label.get_fontsize()
    13.0
    """
    ticks = set()
    for ax in figure.axes:
        for axis in (ax.xaxis, ax.yaxis):
            found = axis.get_major_ticks() + axis.get_minor_ticks()
            ticks.update(id(t) for tick in found for t in (tick.label1, tick.label2))
            size = (found[0].label1.get_fontsize() if found else
                    FontProperties(size=axis.get_tick_params().get("labelsize")).get_size())
            axis.set_tick_params(which="both", labelsize=size * scale)
    for text in figure.findobj(Text):
        if id(text) not in ticks:
            text.set_fontsize(text.get_fontsize() * scale)
    return figure
