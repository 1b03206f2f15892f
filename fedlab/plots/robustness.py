"""Figures of lesson 08: site sums that give a faulty export away, attacks x defences, costs."""

from __future__ import annotations

import numpy as np

from fedlab.plots.style import color, new_axes

__all__ = ["site_mean_ratios", "defence_grid", "price_of_robustness"]


def site_mean_ratios(means, sites, features, *, flagged=None, factor=2.0, ax=None,
                     title=None):
    """Each site's mean of each feature divided by the median across sites (log scale).

    Parameters
    ----------
    means : array-like of shape (n_sites, n_features)
        From :func:`fedlab.attacks.site_means`.
    sites : sequence of str
    features : sequence of str
    flagged : array-like of bool of shape (n_sites, n_features), optional
        Ringed in red (e.g. :func:`fedlab.attacks.flag_unit_errors`).
    factor : float, default=2.0
        The flagging band drawn around 1.
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib Axes
    """
    means = np.asarray(means, dtype=float)
    ratio = means / np.nanmedian(means, axis=0)
    ax = new_axes(ax, figsize=(8, 4))
    x = np.arange(len(features))
    for k, site in enumerate(sites):
        ax.plot(x + 0.1 * (k - len(sites) / 2), ratio[k], "o", color=color(k), label=site)
    if flagged is not None:
        bad = np.asarray(flagged, dtype=bool)
        rows, cols = np.nonzero(bad)
        ax.plot(cols + 0.1 * (rows - len(sites) / 2), ratio[rows, cols], "o", ms=14,
                mfc="none", mec=color(3), mew=2, label="flagged")
    ax.axhspan(1 / factor, factor, color="grey", alpha=0.15,
               label=f"within {factor:g}x of the median site")
    ax.set_yscale("log")
    ax.set_xticks(x, features, rotation=45, ha="right")
    ax.set_ylabel("site mean / median of the sites' means (log scale)")
    ax.legend(fontsize=8, loc="lower left")
    ax.grid(alpha=0.3, axis="y")
    ax.set_title(title or "A unit error sits far outside the range real sites differ by",
                 fontsize=11)
    return ax


def defence_grid(table, *, floor=None, ax=None, title=None):
    """Pooled test AUC of every defence (columns) under every attack (rows), as a heat map.

    Parameters
    ----------
    table : dict of str to dict of str to float
        ``{attack: {defence: auc}}``.
    floor : float, optional
        Cells below it are marked with an asterisk (worse than a hospital alone), and a
        footnote under the map says so, whatever the title.
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib Axes
    """
    attacks = list(table)
    defences = list(next(iter(table.values())))
    values = np.array([[table[a][d] for d in defences] for a in attacks])
    ax = new_axes(ax, figsize=(1.3 * len(defences) + 2, 0.55 * len(attacks) + 2.3))
    image = ax.imshow(values, cmap="cividis", vmin=0.3, vmax=0.85, aspect="auto")
    for i in range(len(attacks)):
        for j in range(len(defences)):
            mark = "*" if floor is not None and values[i, j] < floor else ""
            ax.text(j, i, f"{values[i, j]:.3f}{mark}", ha="center", va="center", fontsize=9,
                    color="white" if values[i, j] < 0.6 else "black")
    ax.set_xticks(range(len(defences)), defences, rotation=30, ha="right")
    ax.set_yticks(range(len(attacks)), attacks)
    xlabel = "defence (server's aggregation rule)"
    if floor is not None and (values < floor).any():  # the footnote, whatever the title
        xlabel += f"\n* below the single-site floor ({floor:.3f}): worse than a hospital alone"
    ax.set_xlabel(xlabel)
    ax.set_ylabel("attack by one hospital")
    ax.figure.colorbar(image, ax=ax, label="pooled test ROC AUC")
    ax.set_title(title or "Pooled AUC of each defence under each attack", fontsize=11)
    return ax


def price_of_robustness(differences, *, ax=None, title=None):
    """Per site, a defence's AUC minus FedAvg's on clean data, with paired 95 % intervals.

    Parameters
    ----------
    differences : dict of str to dict of str to dict
        ``{defence: {site: comparison}}``, each ``comparison`` a
        :func:`fedlab.metrics.auc_difference` of the defence's and FedAvg's predicted risks
        for the site's test patients (keys ``difference`` and ``ci``: a paired DeLong
        interval).
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib Axes
    """
    defences = list(differences)
    sites = list(next(iter(differences.values())))
    ax = new_axes(ax, figsize=(8, 4.5))
    width = 0.8 / len(defences)
    y = np.arange(len(sites))
    for k, name in enumerate(defences):
        d = np.array([(differences[name][s]["difference"], *differences[name][s]["ci"])
                      for s in sites])
        offset = y + (k - (len(defences) - 1) / 2) * width
        ax.errorbar(d[:, 0], offset, xerr=[d[:, 0] - d[:, 1], d[:, 2] - d[:, 0]], fmt="o",
                    color=color(k), capsize=3, label=name)
    ax.axvline(0, color="black", lw=1)
    ax.set_yticks(y, sites)
    ax.invert_yaxis()
    ax.set_xlabel("test AUC of the defence minus FedAvg's, both without attack "
                  "(paired DeLong 95 % CI)")
    # outside the axes: inside, the legend would cover some site's interval
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False,
              title="defence", title_fontsize=8)
    ax.grid(alpha=0.3, axis="x")
    ax.set_title(title or "What each defence costs an honest site (no attack at all)",
                 fontsize=11)
    return ax
