"""Figures of privacy: noisy answers, attacks and their ROC curves, budgets and trade-offs."""

from __future__ import annotations

import numpy as np

from fedlab.plots.style import color, new_axes

__all__ = [
    "noisy_answers",
    "batch_weights",
    "reconstruction_vs_noise",
    "membership_roc",
    "membership_losses",
    "epsilon_per_round",
    "rdp_curve",
    "privacy_utility",
]


def noisy_answers(answers, true_values, *, noise_std=None, ax=None, title=None,
                  xlabel="answer (number of patients)"):
    """Histograms of many noisy releases of a query, with the true answers marked.

    Parameters
    ----------
    answers : array-like of shape (n_releases,), or dict of str to such arrays
        Repeated noisy answers; a dict compares neighbouring datasets (e.g. with and
        without one patient), drawn over each other on the same bins.
    true_values : float, or dict of str to float
        The exact answer of each dataset (same keys as ``answers``), a vertical line.
    noise_std : float, optional
        Shades one noise standard deviation either side of the first true answer.
    ax : matplotlib Axes, optional
    title : str, optional
        Defaults to the spread of the answers in words.
    xlabel : str

    Returns
    -------
    matplotlib Axes
    """
    if not isinstance(answers, dict):
        answers, true_values = {"noisy answers": answers}, {"true answer": true_values}
    answers = {k: np.asarray(v, dtype=float) for k, v in answers.items()}
    ax = new_axes(ax)
    everything = np.concatenate(list(answers.values()))
    bins = np.linspace(everything.min(), everything.max(), 41)
    for k, (label, values) in enumerate(answers.items()):
        ax.hist(values, bins=bins, color=color(k), alpha=0.55 if len(answers) > 1 else 0.8,
                label=label)
    for k, (label, value) in enumerate(true_values.items()):
        ax.axvline(value, color=color(k) if len(answers) > 1 else color(3), lw=2, ls="--",
                   label=f"{label}: {value:g}")
    if noise_std is not None:
        centre = next(iter(true_values.values()))
        ax.axvspan(centre - noise_std, centre + noise_std, color=color(6), alpha=0.15,
                   label="\u00b1 one noise standard deviation")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("number of releases")
    ax.legend(fontsize=8)
    spread = float(np.std(next(iter(answers.values()))))
    ax.set_title(title or f"Each release is off by about {spread:.1f}: one patient more or "
                          "less is lost in the noise", fontsize=11)
    return ax


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


def epsilon_per_round(curves, *, ax=None, title=None, target=None,
                      xlabel="communication round"):
    """Privacy spent (epsilon) after each round, for one or several settings.

    Parameters
    ----------
    curves : dict of str to array-like, or History
        Epsilon after each round (round 0 first), e.g. ``history.epsilons``.
    ax : matplotlib Axes, optional
    title : str, optional
    target : float, optional
        A budget drawn as a dashed line.
    xlabel : str, default="communication round"
        What one step is (a round, or a DP-SGD step).

    Returns
    -------
    matplotlib Axes
    """
    if hasattr(curves, "epsilons"):
        curves = {"privacy spent": curves.epsilons}
    ax = new_axes(ax)
    last = {}
    for k, (label, eps) in enumerate(curves.items()):
        eps = np.nan_to_num(np.asarray(eps, dtype=float), nan=0.0)
        ax.plot(np.arange(len(eps)), eps, color=color(k), lw=2, label=label)
        last[label] = eps[-1]
    if target is not None:
        ax.axhline(target, color=color(3), ls="--", lw=1.5, label=f"budget \u03b5 = {target:g}")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("\u03b5 spent so far (\u03b4 fixed)")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=9)
    ax.grid(alpha=0.3)
    rounds = max(len(np.asarray(v)) for v in curves.values()) - 1
    ax.set_title(title or f"Every step spends privacy: \u03b5 = {max(last.values()):.2f} "
                          f"after {rounds} steps", fontsize=11)
    return ax


def rdp_curve(orders, curves, *, ax=None, title=None):
    """Rényi DP against the order alpha, for one or several mechanisms.

    Parameters
    ----------
    orders : array-like of shape (n_orders,)
    curves : dict of str to array-like of shape (n_orders,)
        RDP values, e.g. from :func:`fedlab.privacy.rdp`.
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib Axes
    """
    orders = np.asarray(orders, dtype=float)
    ax = new_axes(ax)
    for k, (label, values) in enumerate(curves.items()):
        ax.plot(orders, np.asarray(values, dtype=float), color=color(k), lw=2, label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("Rényi order \u03b1")
    ax.set_ylabel("Rényi DP \u03b5(\u03b1) (nats)")
    ax.legend(fontsize=9)
    ax.grid(alpha=0.3, which="both")
    ax.set_title(title or "Subsampling lowers the whole RDP curve; composition adds curves",
                 fontsize=11)
    return ax


def privacy_utility(results, *, ceiling=None, ax=None, title=None, ylabel=None):
    """Model quality against the privacy budget epsilon, one line per setting.

    Parameters
    ----------
    results : dict of str to (epsilons, scores)
        For each setting, the epsilons it was run at and the score (e.g. test AUC)
        each gave.
    ceiling : float, optional
        The non-private score, drawn as a dashed line.
    ax : matplotlib Axes, optional
    title : str, optional
    ylabel : str, optional

    Returns
    -------
    matplotlib Axes
    """
    ax = new_axes(ax)
    for k, (label, (eps, scores)) in enumerate(results.items()):
        ax.plot(np.asarray(eps, dtype=float), np.asarray(scores, dtype=float), color=color(k),
                lw=2, marker="o", label=label)
    if ceiling is not None:
        ax.axhline(ceiling, color=color(len(results)), ls="--", lw=1.5,
                   label=f"no privacy ({ceiling:.3f})")
    ax.axhline(0.5, color="grey", ls=":", lw=1, label="guessing (0.5)")
    ax.set_xscale("log")
    budgets = sorted({float(e) for eps, _ in results.values() for e in eps})
    ax.set_xticks(budgets, [f"{e:g}" for e in budgets])
    ax.minorticks_off()
    ax.set_xlabel("privacy budget \u03b5 (log scale; smaller = more private)")
    ax.set_ylabel(ylabel or "test ROC AUC (all hospitals' test sets)")
    ax.legend(fontsize=9, loc="lower right")
    ax.grid(alpha=0.3, which="both")
    ax.set_title(title or "More privacy costs accuracy, how much depends on who is protected",
                 fontsize=11)
    return ax
