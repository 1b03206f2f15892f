"""Figures of the hospitals' records: how the sites differ (Li et al. 2022's non-IID taxonomy).

Every function takes the hospitals (``Hospital`` objects, or ``Site`` objects for one
table each), describes all of a hospital's records (train and test together) and returns
the matplotlib Axes it drew on. Each hospital keeps its colour in every figure.
"""

from __future__ import annotations

import matplotlib
import numpy as np

from fedlab._validation import InvalidParameterError
from fedlab.data import SCHEMA, framingham_risk
from fedlab.metrics import wilson_interval
from fedlab.plots.style import color, new_axes

__all__ = ["site_sizes", "prevalence_by_site", "age_by_site", "sex_ratio_by_site",
           "site_vs_others", "missing_by_site", "risk_by_sbp"]

# matplotlib 3.10 replaced boxplot's vert=False by orientation="horizontal"
_HORIZONTAL = ({"orientation": "horizontal"}
               if tuple(int(p) for p in matplotlib.__version__.split(".")[:2]) >= (3, 10)
               else {"vert": False})
_DISPLAY = {"sbp": "SBP", "hdl": "HDL", "bmi": "BMI", "hba1c": "HbA1c",
            "total_chol": "total cholesterol"}


def site_sizes(hospitals, *, ax=None):
    """Horizontal bars: records per hospital, training and test split stacked.

    Parameters
    ----------
    hospitals : sequence of Hospital or Site
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    sites = _sites(hospitals)
    ax = new_axes(ax, figsize=(7, 0.45 * len(sites) + 1.4))
    names = [s["label"] for s in sites]
    train = np.array([s["n_train"] for s in sites])
    test = np.array([s["n"] - s["n_train"] for s in sites])
    ax.barh(names, train, color=[s["color"] for s in sites], label="training records")
    ax.barh(names, test, left=train, color=[s["color"] for s in sites], alpha=0.45,
            label="test records (lighter)")
    for y, total in enumerate(train + test):
        ax.text(total, y, f" {total:,}", va="center", fontsize=9)
    ax.set_xlim(0, 1.15 * max(train + test))
    _hospital_rows(ax, "patients (records)")
    small, large = min(train + test), max(train + test)
    ax.set_title(f"The hospitals differ {large / max(small, 1):.0f}-fold in size: "
                 f"{small:,} to {large:,} patients (quantity skew)", fontsize=11)
    return ax


def prevalence_by_site(hospitals, *, ax=None):
    """Horizontal bars: share of patients with an event (label 1) at each hospital.

    Each bar carries its Wilson 95 % interval and the site's numbers of events and
    patients; a dashed line marks the share over all hospitals' records pooled. The title
    claims a difference only when the highest and lowest sites' intervals do not overlap.

    Returns
    -------
    matplotlib Axes
    """
    sites = _sites(hospitals)
    ax = new_axes(ax, figsize=(7, 0.45 * len(sites) + 1.4))
    events = np.array([int(s["y"].sum()) for s in sites])
    n = np.array([len(s["y"]) for s in sites])
    rates = 100 * events / n
    low_ci, high_ci = (100 * np.asarray(b) for b in wilson_interval(events, n))
    ax.barh([s["label"] for s in sites], rates, color=[s["color"] for s in sites])
    ax.errorbar(rates, np.arange(len(sites)), xerr=np.vstack([rates - low_ci, high_ci - rates]),
                color="black", lw=1, capsize=3, ls="none", label="95 % interval (Wilson)")
    for y, (rate, top, e, m) in enumerate(zip(rates, high_ci, events, n)):
        ax.text(top + 0.3, y, f"{rate:.1f} % ({e} of {m:,})", va="center", fontsize=9,
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
    pooled = 100 * np.concatenate([s["y"] for s in sites]).mean()
    ax.axvline(pooled, color=color(7), ls="--", lw=1.5,
               label=f"all hospitals pooled: {pooled:.1f} %")
    ax.set_xlim(0, 1.45 * high_ci.max())
    _hospital_rows(ax, "patients with a cardiovascular event within 10 years (%)")
    low, high = np.argmin(rates), np.argmax(rates)
    apart = high_ci[low] < low_ci[high]
    ax.set_title(f"Event rates run from {rates[low]:.0f} % ({sites[low]['label']}) to "
                 f"{rates[high]:.0f} % ({sites[high]['label']})"
                 + (": label skew, intervals apart" if apart else
                    ", but their intervals overlap"), fontsize=11)
    return ax


def age_by_site(hospitals, *, ax=None):
    """Box plots of age, one per hospital, with each hospital's mean as a diamond.

    Returns
    -------
    matplotlib Axes
    """
    sites = _sites(hospitals)
    ax = new_axes(ax, figsize=(8, 0.5 * len(sites) + 1.4))
    ages = [_column(s, "age") for s in sites]
    ages = [a[~np.isnan(a)] for a in ages]
    box = ax.boxplot(ages, **_HORIZONTAL, widths=0.6, patch_artist=True, showfliers=False,
                     medianprops={"color": "black"})
    for patch, s in zip(box["boxes"], sites):
        patch.set_facecolor(s["color"])
        patch.set_alpha(0.7)
    means = np.array([a.mean() for a in ages])
    ax.scatter(means, np.arange(1, len(sites) + 1), marker="D", color="black", s=25,
               zorder=3, label="mean")
    ax.set_yticks(np.arange(1, len(sites) + 1), [s["label"] for s in sites])
    _hospital_rows(ax, "age at the baseline visit (years)")
    old, young = np.argmax(means), np.argmin(means)
    ax.set_title(f"{sites[old]['label']}'s patients are the oldest (mean {means[old]:.0f}), "
                 f"{sites[young]['label']}'s the youngest (mean {means[young]:.0f})",
                 fontsize=11)
    return ax


def sex_ratio_by_site(hospitals, *, ax=None):
    """Stacked horizontal bars: share of women and of men at each hospital.

    Returns
    -------
    matplotlib Axes
    """
    sites = _sites(hospitals)
    ax = new_axes(ax, figsize=(7, 0.45 * len(sites) + 1.4))
    names = [s["label"] for s in sites]
    male = np.array([100 * np.nanmean(_column(s, "sex")) for s in sites])
    ax.barh(names, 100 - male, color=color(4), label="women")
    ax.barh(names, male, left=100 - male, color=color(5), label="men")
    for y, m in enumerate(male):
        ax.text(2, y, f"{100 - m:.0f} % women", va="center", fontsize=9)
    ax.axvline(50, color=color(7), ls=":", lw=1)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("share of the hospital's patients (%)")
    ax.set_ylabel("hospital")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, fontsize=9)
    odd = int(np.argmax(np.abs(male - 50)))
    ax.set_title(f"{sites[odd]['label']}'s patients are {100 - male[odd]:.0f} % women; "
                 "the others are close to half and half", fontsize=11)
    return ax


def site_vs_others(hospitals, feature="sbp", *, site="riverside_community", bins=30,
                   ax=None):
    """Histograms of one feature: one hospital against all the other hospitals pooled.

    Parameters
    ----------
    hospitals : sequence of Hospital or Site
    feature : str, default="sbp"
        A column name, e.g. ``"sbp"`` or ``"hdl"``.
    site : str, default="riverside_community"
        The hospital to single out: its slug, its name or the first word of its name.
    bins : int, default=30
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    ValueError
        If no hospital matches ``site``.
    """
    sites = _sites(hospitals)
    match = [k for k, s in enumerate(sites) if site in (s["slug"], s["name"], s["label"])]
    if not match:
        raise InvalidParameterError(f"site must name one of the hospitals "
                         f"{[s['slug'] or s['name'] for s in sites]}, got {site!r}")
    k = match[0]
    one = _column(sites[k], feature)
    others = np.concatenate([_column(s, feature) for j, s in enumerate(sites) if j != k])
    one, others = one[~np.isnan(one)], others[~np.isnan(others)]
    ax = new_axes(ax, figsize=(8, 4))
    edges = np.histogram_bin_edges(np.concatenate([one, others]), bins=bins)
    unit = SCHEMA[feature].unit if feature in SCHEMA else ""
    ax.hist(others, bins=edges, density=True, color=color(7), alpha=0.35,
            label=f"the other {len(sites) - 1} hospitals")
    ax.hist(one, bins=edges, density=True, histtype="step", lw=2.5, color=sites[k]["color"],
            label=sites[k]["label"])
    for values, c, style in ((others, color(7), ":"), (one, sites[k]["color"], "--")):
        ax.axvline(values.mean(), color=c, ls=style, lw=2)
    difference = one.mean() - others.mean()
    ax.set_xlabel(f"{_DISPLAY.get(feature, feature)} as recorded ({unit})" if unit
                  else feature)
    ax.set_ylabel(f"density (share of patients per {unit})" if unit else "density")
    ax.legend(fontsize=9, title="dashed/dotted lines: means", title_fontsize=8)
    ax.grid(alpha=0.3)
    name = _DISPLAY.get(feature, feature)
    means = f"({one.mean():.0f} vs {others.mean():.0f})"
    if round(abs(difference)) == 0:
        finding = f"is centred where the other hospitals' is {means}"
    else:
        direction = "above" if difference > 0 else "below"
        finding = (f"runs {abs(difference):.0f} {unit} {direction} the other "
                   f"hospitals' {means}")
    ax.set_title(f"{sites[k]['label']}'s recorded {name} {finding}", fontsize=11)
    return ax


def missing_by_site(hospitals, *, ax=None):
    """Heat map: percentage of missing values per hospital (rows) and column (columns).

    Returns
    -------
    matplotlib Axes
    """
    sites = _sites(hospitals)
    names = sites[0]["features"]
    share = np.array([100 * np.isnan(s["X"]).mean(axis=0) for s in sites])
    ax = new_axes(ax, figsize=(9, 0.45 * len(sites) + 1.8))
    ax.imshow(share, cmap="Blues", vmin=0, vmax=max(share.max(), 1.0), aspect="auto")
    for (i, j), value in np.ndenumerate(share):
        ax.text(j, i, f"{value:.0f} %" if value else "0", ha="center", va="center",
                fontsize=8, color="white" if value > 0.6 * share.max() else
                "black" if value > 0 else "0.6")
    ax.set_xticks(np.arange(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(np.arange(len(sites)), [s["label"] for s in sites])
    ax.set_xlabel("column of the records (in each cell: % of the hospital's records "
                  "missing it)")
    ax.set_ylabel("hospital")
    if share.max() == 0:
        title = "No hospital has a missing value"
    else:
        i, j = np.unravel_index(np.argmax(share), share.shape)
        gaps = int((share > 0).sum())
        column = _DISPLAY.get(names[j], names[j])
        title = (f"{sites[i]['label']} is missing {column} in {share[i, j]:.0f} % of its "
                 f"records" + ("; every other cell is complete" if gaps == 1 else ""))
    ax.set_title(title, fontsize=11)
    return ax


def risk_by_sbp(*, age=61, total_chol=180, hdl=47, smoker=1, diabetes=0, shift_mmhg=10,
                ax=None):
    """Framingham 10-year risk against systolic blood pressure, for a woman and a man.

    The defaults are the paper's worked example (a 61-year-old woman, total cholesterol
    180 mg/dL, HDL 47 mg/dL, smoker, no diabetes, untreated). Two markers show her risk
    at 124 mmHg and ``shift_mmhg`` higher: what a device that reads high would suggest.

    Returns
    -------
    matplotlib Axes
    """
    ax = new_axes(ax, figsize=(7, 4))
    sbp = np.linspace(100, 180, 161)
    ones = np.ones_like(sbp)
    for sex, label in ((0, "woman"), (1, "man")):
        risk = framingham_risk(age * ones, sex * ones, total_chol * ones, hdl * ones, sbp,
                               0 * ones, smoker * ones, diabetes * ones)
        ax.plot(sbp, 100 * risk, color=color(4 if sex == 0 else 5), lw=2.5, label=label)
    true_sbp = 124
    marks = framingham_risk([age] * 2, [0] * 2, [total_chol] * 2, [hdl] * 2,
                            [true_sbp, true_sbp + shift_mmhg], [0] * 2, [smoker] * 2,
                            [diabetes] * 2)
    ax.plot([true_sbp, true_sbp + shift_mmhg], 100 * marks, "o", color="black", zorder=3,
            label=f"the woman at {true_sbp} and {true_sbp + shift_mmhg} mmHg")
    ax.set_xlabel("systolic blood pressure (mmHg)")
    ax.set_ylabel("10-year cardiovascular risk (%)")
    ax.set_ylim(bottom=0)
    smokes = "smoker" if smoker else "non-smoker"
    diabetic = ", diabetes" if diabetes else ""
    ax.legend(fontsize=9, loc="upper left", title_fontsize=9,
              title=f"{age} years, {smokes}{diabetic}, untreated BP,\n"
                    f"total cholesterol {total_chol}, HDL {hdl} mg/dL")
    ax.grid(alpha=0.3)
    ax.set_title(f"{shift_mmhg} mmHg more SBP raises her risk from {100 * marks[0]:.1f} % "
                 f"to {100 * marks[1]:.1f} %", fontsize=11)
    return ax


def _hospital_rows(ax, xlabel):
    """Frame a figure of one row per hospital: the first on top, a legend, vertical grid."""
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_ylabel("hospital")
    ax.legend(loc="lower right", fontsize=9)
    ax.grid(axis="x", alpha=0.3)


def _sites(hospitals):
    """Each hospital's records (train and test stacked) with its label and colour."""
    hospitals = list(hospitals)
    if not hospitals:
        raise InvalidParameterError("hospitals must hold at least one Hospital or Site, got none")
    for h in hospitals:
        if not (hasattr(h, "X_train") or hasattr(h, "X")):
            raise InvalidParameterError(f"hospitals must hold Hospital or Site objects, got "
                            f"{type(h).__name__}")
    first_words = [h.name.split()[0] if h.name.split() else h.name for h in hospitals]
    unique = len(set(first_words)) == len(first_words)
    sites = []
    for k, h in enumerate(hospitals):
        if hasattr(h, "X_train"):
            X, y = np.vstack([h.X_train, h.X_test]), np.concatenate([h.y_train, h.y_test])
            n_train = len(h.y_train)
        else:
            X, y, n_train = np.asarray(h.X, dtype=float), np.asarray(h.y), len(h.y)
        sites.append({"name": h.name, "slug": getattr(h, "slug", ""), "X": X, "y": y,
                      "n": len(y), "n_train": n_train, "features": tuple(h.feature_names),
                      "label": first_words[k] if unique else h.name, "color": color(k)})
    return sites


def _column(site, feature):
    if feature not in site["features"]:
        raise InvalidParameterError(f"no feature named {feature!r}; features are "
                                    f"{site['features']}")
    return site["X"][:, site["features"].index(feature)]
