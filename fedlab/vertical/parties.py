"""The parties of a vertical study, and the model they hold between them in blocks.

In vertical federated learning every party holds *different columns* of the *same*
patients (after linkage, row ``i`` is the same patient everywhere). One party, the label
holder, also holds the outcome. Each party keeps its own block of the weights; the
label holder also keeps the intercept. A prediction needs every party: each computes
its partial linear predictor ``X_k w_k`` and the label holder adds them up.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fedlab._validation import InvalidParameterError
from fedlab.federated.preprocessing import combine, feature_sums
from fedlab.models.logistic import sigmoid

__all__ = ["Party", "VerticalModel", "check_parties"]


@dataclass(frozen=True)
class Party:
    """One institution's columns of the linked patients.

    Parameters
    ----------
    name : str
    X : array-like of shape (n_patients, n_features)
        Its records of the linked patients, in the agreed row order (``nan`` = missing).
    feature_names : sequence of str
    y : array-like of shape (n_patients,), optional
        The 0/1 outcome, held by exactly one party of a study (the label holder).

    Examples
    --------
    >>> Party("registry", [[1.0], [2.0]], ["events"], y=[0, 1]).is_label_holder
    True
    """

    name: str
    X: np.ndarray
    feature_names: tuple
    y: np.ndarray | None = None

    def __post_init__(self):
        X = np.asarray(self.X, dtype=float)
        if X.ndim != 2:
            raise InvalidParameterError(
                f"party {self.name!r}: X must be 2-D (n_patients, n_features), got shape "
                f"{X.shape}")
        names = tuple(str(f) for f in self.feature_names)
        if len(names) != X.shape[1]:
            raise InvalidParameterError(
                f"party {self.name!r}: {len(names)} feature names for {X.shape[1]} columns")
        if np.isinf(X).any():
            raise InvalidParameterError(f"party {self.name!r}: X holds an infinite value")
        object.__setattr__(self, "X", X)
        object.__setattr__(self, "feature_names", names)
        if self.y is not None:
            y = np.asarray(self.y, dtype=float)
            if y.shape != (len(X),) or not np.isin(y, (0.0, 1.0)).all():
                raise InvalidParameterError(
                    f"party {self.name!r}: y must be {len(X)} values, each 0 or 1")
            object.__setattr__(self, "y", y)

    @property
    def is_label_holder(self):
        return self.y is not None

    @property
    def n_patients(self):
        return len(self.X)


@dataclass
class VerticalModel:
    """A logistic regression held in blocks: each party's weights stay with that party.

    Attributes
    ----------
    names : list of str
        The parties, in the study's order.
    label_holder : str
    standardizers : dict of str to Standardizer
        Each party's own standardization of its columns (fitted on its training rows).
    weights : dict of str to ndarray of shape (n_features_k,)
        Each party's block, on its standardized columns.
    bias : float
        The intercept, held by the label holder.
    feature_names : dict of str to tuple of str
    nbytes_per_step : list of int
        Bytes of every message of each step (partial predictors, residuals, and the
        gradient messages of an encrypted run).
    releases : int
        The most times one patient's residual was sent (for the privacy accounting).
    transcript : dict of str to list of (ndarray, ndarray)
        With ``record=True``: what each party other than the label holder received at
        each step, ``(rows, residuals)`` (ciphertexts, as Python ints, when encrypted).
    """

    names: list
    label_holder: str
    standardizers: dict
    weights: dict
    bias: float = 0.0
    feature_names: dict = field(default_factory=dict)
    nbytes_per_step: list = field(default_factory=list)
    releases: int = 0
    transcript: dict = field(default_factory=dict)

    @property
    def params(self):
        """Every block in the parties' order, then the intercept (the joined table's layout)."""
        return np.concatenate([*(self.weights[n] for n in self.names), [self.bias]])

    @property
    def steps(self):
        return len(self.nbytes_per_step)

    def coefficients(self):
        """``{feature: weight}`` per standard deviation of the feature, every party's."""
        return {f: float(w) for n in self.names
                for f, w in zip(self.feature_names[n], self.weights[n])}

    def decision_function(self, blocks):
        """The linear predictor: each party's partial predictor, summed by the label holder.

        Parameters
        ----------
        blocks : dict of str to array-like of shape (n_patients, n_features_k)
            Every party's raw records of the same patients (e.g. the test patients).

        Returns
        -------
        ndarray of shape (n_patients,)
        """
        missing = [n for n in self.names if n not in blocks]
        if missing:
            raise InvalidParameterError(f"blocks lacks the records of parties {missing}")
        parts = [self.standardizers[n].transform(blocks[n]) @ self.weights[n]
                 for n in self.names]
        if len({len(p) for p in parts}) != 1:
            raise InvalidParameterError(
                "every party's block must hold the same patients (rows), got "
                f"{[len(p) for p in parts]}")
        return np.sum(parts, axis=0) + self.bias

    def predict_proba(self, blocks):
        """Predicted risk of the outcome, ``sigmoid(sum_k X_k w_k + b)``."""
        return sigmoid(self.decision_function(blocks))


def check_parties(parties):
    """Return ``(parties, label holder's name)`` after checking the study is well formed."""
    parties = list(parties)
    if len(parties) < 2 or not all(isinstance(p, Party) for p in parties):
        raise InvalidParameterError(
            f"parties must be at least two Party objects, got {len(parties)}")
    names = [p.name for p in parties]
    if len(set(names)) != len(names):
        raise InvalidParameterError(f"parties must have distinct names, got {names}")
    holders = [p.name for p in parties if p.is_label_holder]
    if len(holders) != 1:
        raise InvalidParameterError(
            f"exactly one party must hold the labels (y), got {holders or 'none'}")
    sizes = {p.name: p.n_patients for p in parties}
    if len(set(sizes.values())) != 1:
        raise InvalidParameterError(
            f"every party must hold the same linked patients, got row counts {sizes}")
    seen = {}
    for p in parties:
        for f in p.feature_names:
            if f in seen:
                raise InvalidParameterError(
                    f"column {f!r} is held by parties {seen[f]!r} and {p.name!r}; each "
                    "column must belong to one party")
            seen[f] = p.name
    return parties, holders[0]


def standardize_each(parties):
    """Each party's own standardizer and standardized columns (nothing leaves a party)."""
    standardizers = {p.name: combine([feature_sums(p.X, site=p.name,
                                                   feature_names=p.feature_names)],
                                     names=[p.name], feature_names=p.feature_names)
                     for p in parties}
    return standardizers, {p.name: standardizers[p.name].transform(p.X) for p in parties}
