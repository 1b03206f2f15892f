"""Figures of secure aggregation: what the server sees, what it costs, where the noise goes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from fedlab.plots.style import color, new_axes

__all__ = ["masked_vs_raw", "noise_under_dropouts", "protocol_cost_curves"]


def masked_vs_raw(encoded, masked, *, bits, bins=64, axes=None):
    """Histograms of an encoded update and of its masked version, on the whole ring.

    Parameters
    ----------
    encoded : array-like of shape (dim,)
        A client's update after :func:`fedlab.secagg.encode`: ring elements.
    masked : array-like of shape (dim,)
        The same update as the server receives it (``server_view.masked_inputs[u]``).
    bits : int
        Width of the ring Z_{2^bits}.
    bins : int, default=64
    axes : pair of matplotlib Axes, optional

    Returns
    -------
    pair of matplotlib Axes
    """
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained", sharey=True)
    size = float(2**bits)
    edges = np.linspace(0.0, 1.0, bins + 1)
    panels = [(encoded, "the update, encoded (what the client holds)", 1),
              (masked, "the masked update (what the server receives)", 0)]
    for ax, (values, label, k) in zip(axes, panels):
        fractions = np.asarray(values, dtype=np.float64) / size
        weights = np.full(fractions.shape, 100.0 / max(fractions.size, 1))
        ax.hist(fractions, bins=edges, weights=weights, color=color(k), alpha=0.85)
        ax.axhline(100.0 / bins, color=color(7), ls="--", lw=1.5,
                   label="uniform on the ring")
        ax.set_xlim(0, 1)
        ax.set_xlabel(f"ring element / 2^{bits} (position in the ring)")
        ax.set_title(label, fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("share of the entries (%)")
    axes[1].legend(loc="upper right", fontsize=9)
    axes[0].figure.suptitle("Masked, the update is indistinguishable from uniform noise: "
                            "its shape is gone", fontsize=11)
    return axes


def protocol_cost_curves(cost, *, axes=None):
    """Bytes per client and seconds per round against the number of clients.

    Parameters
    ----------
    cost : dict
        What :func:`fedlab.secagg.protocol_cost` returns.
    axes : pair of matplotlib Axes, optional

    Returns
    -------
    pair of matplotlib Axes
    """
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    n = np.asarray(cost["n_clients"])
    left, right = axes
    left.plot(n, cost["bytes_up"] / 1e3, "o-", color=color(0), lw=2, label="sent per client")
    left.plot(n, cost["bytes_down"] / 1e3, "s-", color=color(1), lw=2,
              label="received per client")
    left.axhline(cost["masked_bytes"] / 1e3, color=color(2), ls="--", lw=1.5,
                 label="the masked vector alone")
    left.axhline(cost["plain_bytes"] / 1e3, color=color(7), ls=":", lw=1.5,
                 label="a plain float64 update")
    left.set_ylabel("kilobytes per client per round")
    left.set_title("Each client's traffic grows linearly with the clients\n"
                   "(a key and two shares per peer)", fontsize=10)
    seconds = np.asarray(cost["seconds"], dtype=float)
    right.plot(n, seconds, "o-", color=color(3), lw=2, label="measured (this machine)")
    if len(n) >= 3:  # a quadratic through the origin, fitted by least squares
        a = float(np.sum(seconds * n**2) / np.sum(n.astype(float) ** 4))
        grid = np.linspace(0, n.max(), 100)
        right.plot(grid, a * grid**2, color=color(7), ls="--", lw=1.5,
                   label="quadratic in the clients")
    right.set_ylabel("seconds per round, all parties (s)")
    right.set_title("The round's total work grows quadratically\n"
                    "(every pair of clients agrees a key and a mask)", fontsize=10)
    for ax in axes:
        ax.set_xlabel("clients in the round")
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=9)
        ax.grid(alpha=0.3)
    return axes


def noise_under_dropouts(n_clients, threshold, noise_std=1.0, *, ax=None):
    """Noise left in a distributed-DP sum as clients drop out before masking.

    Each of ``n_clients`` adds a share of the noise; a client who drops out before
    masking takes its share away. Two lines: shares sized for all ``n_clients``
    (the sum falls below ``noise_std`` at the first dropout) and shares sized for the
    ``threshold`` (never below ``noise_std`` while the round can finish).

    Returns
    -------
    matplotlib Axes
    """
    ax = new_axes(ax, figsize=(6.5, 3.8))
    dropped = np.arange(0, n_clients - threshold + 1)
    left = n_clients - dropped
    for k, (label, expected) in enumerate(
            [(f"each adds std / sqrt({n_clients}) (all clients)", n_clients),
             (f"each adds std / sqrt({threshold}) (threshold)", threshold)]):
        ax.plot(dropped, noise_std * np.sqrt(left / expected), "o-", color=color(k), lw=2,
                label=label)
    ax.axhline(noise_std, color=color(7), ls="--", lw=1.5,
               label="noise the accountant assumes")
    ax.set_xticks(dropped)
    ax.set_xlabel("clients that dropped out before masking")
    ax.set_ylabel("std of the noise in the sum (units of the update)")
    ax.legend(fontsize=9, loc="lower left")
    ax.grid(alpha=0.3)
    ax.set_title("Dropouts take noise away; sizing the shares for the threshold keeps "
                 "enough", fontsize=10)
    return ax
