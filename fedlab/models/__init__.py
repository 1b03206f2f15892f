"""Models of the course on a flat parameter vector, behind one protocol (:class:`Model`).

- :mod:`fedlab.models.base`: :class:`Model`, the protocol and its default local SGD.
- :mod:`fedlab.models.logistic`: :class:`LogisticRegression` and its functions
  (``sigmoid``, ``loss``, ``gradient``, ``per_example_gradients``, ``sgd``, ``fit``).
- :mod:`fedlab.models.mlp`: :class:`MLP`, a network with one hidden layer.
- :mod:`fedlab.models.cox`: :class:`CoxPH`, Cox regression of a time to event.

:func:`make_model` builds a model from its name (:data:`MODEL_NAMES`).
"""

from fedlab._validation import InvalidParameterError
from fedlab.models import logistic
from fedlab.models.base import Model
from fedlab.models.cox import CoxPH
from fedlab.models.logistic import LogisticRegression
from fedlab.models.mlp import MLP

MODEL_NAMES = {cls.name: cls for cls in (LogisticRegression, MLP, CoxPH)}
"""Every model class by its ``name`` (the registry of :func:`make_model`)."""


def make_model(name, **params):
    """The model called ``name`` (a key of :data:`MODEL_NAMES`), built with ``params``.

    Raises
    ------
    InvalidParameterError
        For an unknown name, or a parameter the model does not take.

    Examples
    --------
    >>> make_model("mlp", hidden=4)
    MLP(hidden=4, activation='tanh')
    >>> make_model("logistic")
    LogisticRegression()
    """
    if name not in MODEL_NAMES:
        raise InvalidParameterError(
            f"model must be one of {sorted(MODEL_NAMES)}, got {name!r}")
    cls = MODEL_NAMES[name]
    unknown = sorted(set(params) - set(cls._param_names()))
    if unknown:
        raise InvalidParameterError(
            f"model {name!r} takes {cls._param_names() or 'no parameters'}, got "
            f"{', '.join(unknown)}")
    return cls(**params)


__all__ = ["Model", "LogisticRegression", "MLP", "CoxPH", "make_model", "MODEL_NAMES",
           "logistic"]
