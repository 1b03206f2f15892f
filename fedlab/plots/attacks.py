"""Figures of attacks (lesson 05): what a batch leaks, reconstruction vs noise, membership ROC."""

from __future__ import annotations

import numpy as np

from fedlab.plots.style import color, new_axes

__all__ = [
    "batch_weights",
    "reconstruction_vs_noise",
    "membership_roc",
    "membership_losses",
]


def batch_weights(weights, y, *, ax=None, title=None):
    """Bars of the weight of each record in what a batch gradient leaks, coloured by label.

    Parameters
    ----------
    weights : array-like of shape (batch_size,)
        From :func:`fedlab.attacks.batch_leak`.
    y : array-like of shape (batch_size,)
        The records' labels.
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib Axes
    """
    weights, y = np.asarray(weights, dtype=float), np.asarray(y)
    ax = new_axes(ax)
    index = np.arange(len(weights))
    for k, (label, mask) in enumerate((("no event (y = 0)", y == 0),
                                       ("cardiovascular event (y = 1)", y == 1))):
        ax.bar(index[mask], weights[mask], color=color(k), label=label)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xlabel("patient in the batch")
    ax.set_ylabel("weight in the leaked record (sums to 1)")
    ax.legend(fontsize=9)
    ax.set_title(title or "The leaked 'record' weighs each patient by the model's error on "
                          "them", fontsize=11)
    return ax


def reconstruction_vs_noise(noise_multipliers, errors, *, ax=None, title=None):
    """Median reconstruction error (and quartiles) against the DP noise multiplier.

    Parameters
    ----------
    noise_multipliers : array-like of shape (n_levels,)
    errors : array-like of shape (n_levels, n_records)
        Per-record errors, e.g. from :func:`fedlab.attacks.reconstruction_error`.
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib Axes
    """
    sigmas = np.asarray(noise_multipliers, dtype=float)
    errors = np.asarray(errors, dtype=float)
    q1, med, q3 = np.quantile(errors, [0.25, 0.5, 0.75], axis=1)
    ax = new_axes(ax)
    ax.fill_between(sigmas, q1, q3, color=color(0), alpha=0.25, label="middle half of records")
    ax.plot(sigmas, med, color=color(0), lw=2, marker="o", label="median record")
    ax.axhline(1.0, color=color(3), ls="--", lw=1.5,
               label="error of guessing the average patient (about 1)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("noise multiplier \u03c3 (noise std / clipping norm, log scale)")
    ax.set_ylabel("reconstruction error (RMS, standard deviations)")
    ax.legend(fontsize=9)
    ax.grid(alpha=0.3, which="both")
    ax.set_title(title or "Clipping alone leaves the record exact; noise turns it into a guess",
                 fontsize=11)
    return ax


def membership_roc(attacks, *, log=True, dp_bound=None, ax=None, title=None):
    """ROC curves of membership-inference attacks, with chance and the 1 % FPR marked.

    Parameters
    ----------
    attacks : MembershipAttack or dict of str to MembershipAttack
        One attack, or several labelled ones (e.g. without and with DP).
    log : bool, default=True
        Log-log axes, as Carlini et al. (2022) recommend: the low-FPR corner is what
        matters (exposing a few patients with near certainty).
    dp_bound : tuple (epsilon, delta), optional
        Draws the most any attack can achieve against an (epsilon, delta)-DP model:
        ``TPR <= min(e^eps FPR + delta, 1 - e^-eps (1 - delta - FPR))`` (Kairouz, Oh &
        Viswanath 2015).
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib Axes
    """
    if not isinstance(attacks, dict):
        attacks = {"loss-threshold attack": attacks}
    ax = new_axes(ax, figsize=(6, 5))
    floor = 1e-3
    for k, (label, attack) in enumerate(attacks.items()):
        ax.plot(np.maximum(attack.fpr, floor), np.maximum(attack.tpr, floor), color=color(k),
                lw=2, label=f"{label}: AUC {attack.auc:.2f}, TPR {attack.tpr_at_fpr:.1%} "
                            f"at {attack.target_fpr:.0%} FPR")
        ax.plot(attack.target_fpr, max(attack.tpr_at_fpr, floor), "o", color=color(k), ms=7)
    grid = np.geomspace(floor, 1, 200)
    ax.plot(grid, grid, color="grey", ls=":", lw=1.5, label="chance (guessing)")
    if dp_bound is not None:
        eps, delta = dp_bound
        bound = np.minimum(np.exp(eps) * grid + delta,
                           1 - np.exp(-eps) * (1 - delta - grid))
        ax.plot(grid, np.minimum(bound, 1.0), color=color(5), ls="-.", lw=1.5,
                label=f"the most any attack can do at \u03b5 = {eps:.2g}")
    target = next(iter(attacks.values())).target_fpr
    ax.axvline(target, color=color(3), ls="--", lw=1, label=f"{target:.0%} false positives")
    if log:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(floor, 1)
        ax.set_ylim(floor, 1.05)
    ax.set_xlabel("false-positive rate (non-members called members)")
    ax.set_ylabel("true-positive rate (members found)")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3, which="both")
    first = next(iter(attacks.values()))
    ax.set_title(title or f"The attack finds members better than chance "
                          f"(AUC {first.auc:.2f})", fontsize=11)
    return ax


def membership_losses(attack, *, ax=None, title=None):
    """Histograms of the loss of members and of non-members (log scale), from one attack.

    Parameters
    ----------
    attack : MembershipAttack
        Its scores are minus the losses.
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib Axes
    """
    members, others = -attack.member_scores, -attack.non_member_scores
    floor = 1e-8  # losses below this are drawn in the first bin
    both = np.maximum(np.r_[members, others], floor)
    bins = np.geomspace(both.min(), both.max(), 41)
    ax = new_axes(ax)
    for k, (label, losses) in enumerate((("training patients (members)", members),
                                         ("new patients (non-members)", others))):
        ax.hist(np.maximum(losses, floor), bins=bins, color=color(k), alpha=0.6,
                weights=np.full(len(losses), 1 / len(losses)),
                label=f"{label}: median {np.median(losses):.2g}")
    ax.set_xscale("log")
    ax.set_xlabel("log loss of the patient's record under the model (log scale)")
    ax.set_ylabel("fraction of the group")
    ax.legend(fontsize=9)
    ax.set_title(title or "Members sit at a lower loss than non-members: that is the leak",
                 fontsize=11)
    return ax
