"""Progress of a federated run, as a callback that draws a tqdm bar (terminal or notebook)."""

from __future__ import annotations

__all__ = ["progress_callback"]


def progress_callback(progress, rounds):
    """A callback that advances a progress bar by one round per record, or ``None``.

    Parameters
    ----------
    progress : bool or str
        ``False``: no bar; ``True`` or a label: a bar (tqdm's, which draws itself in a
        terminal or a notebook), closed after the last round.
    rounds : int

    Returns
    -------
    callable or None
        Called with each :class:`~fedlab.federated.RoundRecord`; shows the pooled AUC.
    """
    if not progress or rounds == 0:
        return None
    from tqdm.auto import tqdm

    label = progress if isinstance(progress, str) else "rounds"
    bar = tqdm(total=rounds, desc=label, unit="round", leave=True)

    def advance(record):
        if record.round == 0:
            return
        auc = record.pooled.get("auc")
        if auc is not None:
            bar.set_postfix_str(f"AUC {auc:.3f}", refresh=False)
        bar.update(1)
        if record.round == rounds:
            bar.close()

    return advance
