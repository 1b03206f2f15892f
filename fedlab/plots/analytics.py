"""Figures of federated analytics (lesson 09): histograms by site, correlations, phenotypes.

Each function draws what the server holds (per-site counts, federated statistics,
cluster centres) and returns the matplotlib Axes it drew on.
"""

from __future__ import annotations

import numpy as np

from fedlab.plots.style import color, new_axes

__all__ = ["histogram_by_site", "correlation_heatmap", "phenotype_profiles",
           "cluster_composition"]


def histogram_by_site(counts, edges, site_names, *, ax=None, title=None, xlabel="value",
                      unit=None):
    """Stacked bars: each site's answer to a histogram query, adding up to the pooled one.

    Bins of equal width are drawn as counts. Bins of unequal width are drawn as densities,
    patients per ``unit`` of the x axis (a bar's area is then its count), so that a wide bin
    does not look more crowded than it is.

    Parameters
    ----------
    counts : array-like of shape (n_sites, n_bins)
        Each site's counts per bin.
    edges : array-like of shape (n_bins + 1,)
    site_names : sequence of str
    ax : matplotlib Axes, optional
    title : str, optional
    xlabel : str, default="value"
    unit : str, optional
        The x axis's unit, for the density's label ("patients per year"); default "unit".

    Returns
    -------
    matplotlib Axes
    """
    counts = np.asarray(counts, dtype=float)
    edges = np.asarray(edges, dtype=float)
    widths = np.diff(edges)
    density = not np.allclose(widths, widths[0])
    heights = counts / widths if density else counts
    ax = new_axes(ax, figsize=(8, 4))
    bottom = np.zeros(counts.shape[1])
    for k, (row, name) in enumerate(zip(heights, site_names)):
        ax.bar(edges[:-1], row, width=widths, bottom=bottom, align="edge",
               color=color(k), edgecolor="white", lw=0.5, label=name)
        bottom += row
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"patients per {unit or 'unit'} (bins of unequal width)" if density
                  else "patients (records)")
    ax.legend(fontsize=8)
    ax.set_title(title or f"The server adds the sites' bins: {int(counts.sum()):,} patients, "
                          "no record moved", fontsize=11)
    return ax


def correlation_heatmap(corr, names, *, ax=None, title=None):
    """A correlation matrix as a blue (negative) to orange (positive) grid, values written in.

    Parameters
    ----------
    corr : array-like of shape (n, n)
    names : sequence of str
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib Axes
    """
    corr = np.asarray(corr, dtype=float)
    ax = new_axes(ax, figsize=(0.6 * len(names) + 2.5, 0.55 * len(names) + 1.5))
    image = ax.imshow(corr, cmap="PuOr_r", vmin=-1, vmax=1)
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    for i in range(len(names)):
        for j in range(len(names)):
            ax.text(j, i, f"{corr[i, j]:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if abs(corr[i, j]) > 0.6 else "black")
    ax.figure.colorbar(image, ax=ax, label="Pearson correlation", shrink=0.8)
    off = np.abs(corr - np.eye(len(names)))
    i, j = np.unravel_index(np.nanargmax(off), off.shape)
    ax.set_title(title or f"Strongest pair: {names[i]} and {names[j]} "
                          f"(r = {corr[i, j]:.2f})", fontsize=11)
    return ax


def phenotype_profiles(centres, feature_names, *, labels=None, values=None, ax=None,
                       title=None):
    """Cluster centres as a heat map in standard deviations from the mean of all patients.

    Parameters
    ----------
    centres : array-like of shape (n_clusters, n_features)
        Standardized centres (0 = the average patient).
    feature_names : sequence of str
    labels : sequence of str, optional
        A name for each cluster (a phenotype); default "cluster 0", ...
    values : array-like of shape (n_clusters, n_features), optional
        The centres in the features' own units, written in the cells.
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib Axes
    """
    centres = np.asarray(centres, dtype=float)
    k, d = centres.shape
    labels = labels or [f"cluster {j}" for j in range(k)]
    ax = new_axes(ax, figsize=(0.9 * d + 3, 0.55 * k + 1.6))
    limit = max(1.0, float(np.abs(centres).max()))
    image = ax.imshow(centres, cmap="PuOr_r", vmin=-limit, vmax=limit, aspect="auto")
    ax.set_xticks(range(d), feature_names, rotation=30, ha="right")
    ax.set_yticks(range(k), labels)
    shown = centres if values is None else np.asarray(values, dtype=float)
    for i in range(k):
        for j in range(d):
            ax.text(j, i, f"{shown[i, j]:.3g}", ha="center", va="center", fontsize=8,
                    color="white" if abs(centres[i, j]) > 0.6 * limit else "black")
    ax.figure.colorbar(image, ax=ax, label="standard deviations from the mean", shrink=0.8)
    ax.set_title(title or "Each phenotype is a centre: orange above the average patient, "
                          "purple below", fontsize=11)
    return ax


def cluster_composition(counts, site_names, *, labels=None, ax=None, title=None):
    """Horizontal stacked bars: which sites each cluster's patients come from (in %).

    The title names the site most over-represented in a cluster (among cells of at
    least 5 patients), against its share of all patients.

    Parameters
    ----------
    counts : array-like of shape (n_sites, n_clusters)
        Patients of each cluster at each site.
    site_names : sequence of str
    labels : sequence of str, optional
        A name for each cluster.
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib Axes
    """
    counts = np.asarray(counts, dtype=float)
    k = counts.shape[1]
    labels = labels or [f"cluster {j}" for j in range(k)]
    share = 100 * counts / np.maximum(counts.sum(axis=0), 1)
    ax = new_axes(ax, figsize=(8, 0.5 * k + 1.8))
    left = np.zeros(k)
    for s, (row, name) in enumerate(zip(share, site_names)):
        ax.barh(labels, row, left=left, color=color(s), label=name)
        left += row
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("share of the cluster's patients (%)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    overall = 100 * counts.sum(axis=1) / counts.sum()
    ratio = share / np.maximum(overall, 1e-12)[:, None]
    s, j = np.unravel_index(np.argmax(np.where(counts >= 5, ratio, 0)), ratio.shape)
    ax.set_title(title or f"{site_names[s]}: {share[s, j]:.0f} % of '{labels[j]}', "
                          f"{overall[s]:.0f} % of all patients", fontsize=11)
    return ax
