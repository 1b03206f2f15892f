"""Figures of differential privacy (lessons 06a/06b): noisy answers, RDP curves, budgets."""

from __future__ import annotations

import numpy as np

from fedlab.plots.style import color, new_axes

__all__ = [
    "noisy_answers",
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
    ax.set_title(title or "Composition adds curves; subsampling lowers them at small orders",
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
