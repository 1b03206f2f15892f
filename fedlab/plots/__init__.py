"""Matplotlib figures for the course, one module per topic; colour-blind-safe colours."""

from fedlab.plots.style import PALETTE, color, new_axes
from fedlab.plots.training import learning_curves, method_comparison

__all__ = ["PALETTE", "color", "new_axes", "learning_curves", "method_comparison"]
